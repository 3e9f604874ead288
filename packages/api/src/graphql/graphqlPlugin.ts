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
 * - in production: no GraphiQL, no introspection, no "Did you mean" suggestions;
 * - security (docs/security.md): every root field authorised against the policy before execution
 *   (authorization.ts; the principal comes from authPlugin's `request.principal`), subscriptions
 *   ended when their token expires, and token, depth, cost and alias limits (hardening.ts), plus
 *   persisted operations when configured. Reads of citizens are appended to `accessLog` by the
 *   resolvers before they answer.
 */
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { createYoga, type Plugin, type YogaLogger } from 'graphql-yoga';
import type { Clock, UnitDirectory } from '@tracker/domain';
import type { EventStore } from '@tracker/event-store';
import type { ReadModelQueries } from '@tracker/read-models';
import type { AccessLog, PersonalDataProtector } from '@tracker/security';
import { trackerContext, useAuthorization, useStreamDeadline } from './authorization.ts';
import { useQueryLimits, usePersistedOperationMap, type GraphqlLimits, type PersistedOperations } from './hardening.ts';
import { MASKED_ERRORS } from './errors.ts';
import { EventHub, type LiveEventFeed } from './eventHub.ts';
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
  /**
   * Where subscriptions' live events come from; default a subscription to `store` from its head. In
   * distributed mode, a feed from Kafka (@tracker/messaging `KafkaLiveEvents`), so every replica
   * streams every event. The plugin starts it at registration and stops it when the server closes.
   */
  liveEvents?: LiveEventFeed;
  /** Where every read of a citizen is recorded before it is answered (required: no unlogged reads). */
  accessLog: AccessLog;
  /** Decrypts `Citizen.personalData` and erases keys (`erasePersonalData`); without it both are unavailable. */
  personalData?: PersonalDataProtector;
  /** Depth, cost, alias and token limits (hardening.ts defaults). */
  limits?: Partial<GraphqlLimits>;
  /** The dashboard's persisted operations, and whether only they may run. */
  persistedOperations?: PersistedOperations;
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
  if (!options.accessLog || typeof options.accessLog.recordAll !== 'function') throw new TypeError('graphqlPlugin: options.accessLog is required');
  if (options.persistedOperations) plugins.push(usePersistedOperationMap(options.persistedOperations));
  plugins.push(...useQueryLimits(options.limits), useAuthorization() as Plugin, useStreamDeadline() as Plugin);

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
    // The principal (from authPlugin), the stated purpose and, once authorised, the grants.
    context: trackerContext,
  });

  await hub.start(options.liveEvents ?? options.store);
  // Open SSE streams would keep the server from closing: end them first, then the live feed.
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
