/**
 * GraphQL at `/graphql` (design.md, "Public contracts"): the last step of the one-way flow, read
 * models → API out, plus the coordinator commands and live events.
 *
 * One encapsulated fastify plugin (NOT wrapped with fastify-plugin): its yoga instance, event hub and
 * hooks belong to this scope only, and nothing here is a module-level singleton — two registrations
 * are two independent endpoints. graphql-yoga runs on fastify's request and reply (GET, POST, and
 * subscriptions as Server-Sent Events, yoga's default); behaviour is added as envelop plugins:
 * - error masking (errors.ts): expected errors carry a code, anything else is "Unexpected error.";
 * - value-free input errors (inputErrorsPlugin.ts): bad input names the argument, never echoes it;
 * - in production: no GraphiQL, no introspection, no "Did you mean" suggestions.
 */
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { createYoga, type Plugin, type YogaLogger } from 'graphql-yoga';
import type { Clock, UnitDirectory } from '@tracker/domain';
import type { EventStore } from '@tracker/event-store';
import type { ReadModelQueries } from '@tracker/read-models';
import { MASKED_ERRORS } from './errors.ts';
import { EventHub } from './eventHub.ts';
import { useValueFreeInputErrors } from './inputErrorsPlugin.ts';
import { useDisableIntrospection } from './introspectionPlugin.ts';
import { createTrackerSchema, type GraphqlExtension } from './schema.ts';

export const GRAPHQL_PATH = '/graphql';

export interface GraphqlPluginOptions {
  queries: ReadModelQueries;
  store: EventStore;
  /** Read-your-writes: resolves once the read models include the given global position. */
  projector: { waitFor(position: number): Promise<void> };
  units: UnitDirectory;
  /** `asOf` defaults to its now; commands record their events at its now unless given `occurredAt`. */
  clock: Clock;
  /** No GraphiQL, no introspection, no field suggestions. */
  production: boolean;
  /** Defaults to the fastify instance's logger. */
  logger?: FastifyBaseLogger;
  /** Features' parts of the schema (gaps, deadlines …). */
  extensions?: readonly GraphqlExtension[];
}

type ServerContext = { req: FastifyRequest; reply: FastifyReply };

function yogaLogger(logger: FastifyBaseLogger): YogaLogger {
  return {
    debug: (...args) => args.forEach((arg) => logger.debug(arg)),
    info: (...args) => args.forEach((arg) => logger.info(arg)),
    warn: (...args) => args.forEach((arg) => logger.warn(arg)),
    error: (...args) => args.forEach((arg) => logger.error(arg)),
  };
}

export const graphqlPlugin: FastifyPluginAsync<GraphqlPluginOptions> = async (fastify, options) => {
  const { production } = options;
  const logger = options.logger ?? fastify.log;
  const hub = new EventHub();

  const plugins: Plugin[] = [useValueFreeInputErrors({ hideSuggestions: production })];
  if (production) plugins.push(useDisableIntrospection());

  const yoga = createYoga<ServerContext>({
    schema: createTrackerSchema({ ...options, hub, logger }, options.extensions),
    graphqlEndpoint: `${fastify.prefix}${GRAPHQL_PATH}`,
    graphiql: !production,
    landingPage: false,
    maskedErrors: MASKED_ERRORS,
    logging: yogaLogger(logger),
    // Cross-origin policy belongs to the server as a whole, not to one endpoint.
    cors: false,
    multipart: false,
    plugins,
  });

  await hub.start(options.store);
  // Open SSE streams would keep the server from closing: end them first, then the store subscription.
  fastify.addHook('preClose', async () => hub.endStreams());
  fastify.addHook('onClose', async () => {
    await hub.close();
    await yoga.dispose();
  });

  fastify.route({
    url: GRAPHQL_PATH,
    method: ['GET', 'POST'],
    // yoga answers with a fetch Response; fastify sends it (status, headers, streamed body).
    handler: (req, reply) => yoga.handleNodeRequestAndResponse(req, reply, { req, reply }),
  });
};
