/**
 * The API service: GraphQL on the PostgreSQL read models (no ingestion — that is the ingest service).
 * Queries read the read models; coordinator commands append to the event store and answer once the
 * projector has applied their events (ReadModelWatcher); subscriptions stream every event from Kafka,
 * whichever replica or service stored it (KafkaLiveEvents).
 *
 * Security as in the embedded tracker (docs/security.md): every request authenticated (authPlugin),
 * security headers, every read of a citizen in the access log before it is answered. The access log is
 * this replica's own hash-chained file in DATA_DIR until a shared (PostgreSQL) access log exists: with
 * several replicas, the access log is the union of their files (one volume per replica).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { DEMO_UNITS_FILE, loadPolicies, loadUnitsFile, systemClock, type Clock } from '@tracker/domain';
import { PostgresReadModel } from '@tracker/read-models';
import { authPlugin, GRAPHQL_PATH, graphqlPlugin, healthPlugin, securityHeadersPlugin } from '@tracker/api';
import { createAuthenticator, SqliteAccessLog, type Authenticator } from '@tracker/security';
import {
  KafkaLiveEvents,
  REQUEST_ID_HEADER,
  ReadModelWatcher,
  databaseAnswers,
  openEventStore,
  openKafka,
  openPool,
  serviceServerOptions,
  trackerReadModelOptions,
  type RunningService,
  type ServiceConfig,
} from '@tracker/messaging';

export interface RunningApiService extends RunningService {
  app: FastifyInstance;
}

/** The replica's access log, in DATA_DIR. */
export const ACCESS_LOG_FILE = 'access-log.sqlite';

/** GraphiQL's static page (outside production) loads without a token; its requests carry one (as tracker.ts). */
const isGraphiqlPage = (request: FastifyRequest): boolean =>
  request.method === 'GET' && request.routeOptions.url === GRAPHQL_PATH && !request.url.includes('?') && (request.headers.accept ?? '').includes('text/html');

export interface ApiServiceOptions {
  clock?: Clock;
  /** Replaces the one made from the configuration (tests with a local identity provider). */
  authenticator?: Authenticator;
}

export async function startApiService(config: ServiceConfig, logger: Logger, options: ApiServiceOptions = {}): Promise<RunningApiService> {
  const units = loadUnitsFile(config.unitsFile ?? DEMO_UNITS_FILE);
  const clock = options.clock ?? systemClock;
  const production = config.nodeEnv === 'production';
  // Development mode announces itself here, loudly; it is refused with NODE_ENV=production.
  const authenticator = options.authenticator ?? createAuthenticator(config.auth.settings, { logger, nodeEnv: config.nodeEnv });
  const cleanup: (() => Promise<unknown>)[] = [];
  const undo = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  };
  try {
    const pool = openPool(config, 10);
    cleanup.push(() => pool.end());
    // Opened with the projector's options: it records the same configuration fingerprint.
    const readModel = await PostgresReadModel.open({ pool, schema: config.readModelSchema, ...trackerReadModelOptions(units, loadPolicies(config.policiesFile)) });
    const store = await openEventStore(config);
    cleanup.push(() => store.close());
    mkdirSync(config.dataDir, { recursive: true });
    const accessLog = new SqliteAccessLog({ file: join(config.dataDir, ACCESS_LOG_FILE), clock });
    cleanup.push(() => accessLog.close());
    const { kafka, topics } = await openKafka(config, logger);
    const liveEvents = new KafkaLiveEvents({
      kafka,
      topic: topics.events,
      groupPrefix: `${config.kafka.topicPrefix}tracker-api-live`,
      logger: logger.child({ component: 'live-events' }),
    });
    // The GraphQL plugin stops it when the app closes; this covers a start that fails before that.
    cleanup.push(() => liveEvents.stop());

    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, ...serviceServerOptions(config.bodyLimitBytes) });
    cleanup.push(() => app.close());
    let closing = false;
    app.addHook('onSend', async (request, reply) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      if (closing) reply.header('connection', 'close');
    });
    await app.register(securityHeadersPlugin, { graphiql: !production });
    await app.register(authPlugin, {
      authenticator,
      rateLimit: config.rateLimitPerMinute > 0 ? { max: config.rateLimitPerMinute, timeWindowMs: 60_000 } : false,
      ...(production ? {} : { allowAnonymous: isGraphiqlPage }),
    });
    await app.register(healthPlugin, {
      checks: {
        database: databaseAnswers(pool),
        eventStore: async () => (await store.headPosition()) >= 0,
        kafka: () => liveEvents.ready,
        // With real tokens, the identity provider's keys must be reachable: otherwise no request can be served.
        ...(authenticator.mode === 'oidc' ? { identityProvider: async () => (await authenticator.warmUp(), true) } : {}),
      },
    });
    // The plugin starts the live feed now and stops it when the app closes.
    await app.register(graphqlPlugin, {
      queries: readModel,
      store,
      projector: new ReadModelWatcher({ store, readModel }),
      units,
      clock,
      production,
      accessLog,
      liveEvents,
    });
    const address = await app.listen({ port: config.port, host: config.host });
    return {
      app,
      url: address.replace('[::1]', 'localhost'),
      async close() {
        closing = true;
        await undo();
      },
    };
  } catch (error) {
    await undo();
    throw error;
  }
}
