/**
 * The API service: GraphQL on the PostgreSQL read models (no ingestion — that is the ingest service).
 * Queries read the read models; coordinator commands append to the event store and answer once the
 * projector has applied their events (ReadModelWatcher); subscriptions stream every event from Kafka,
 * whichever replica or service stored it (KafkaLiveEvents).
 *
 * Security as in the embedded tracker (docs/security.md): every request authenticated (authPlugin),
 * security headers, every read of a citizen in the access log before it is answered — one hash-chained
 * log in PostgreSQL shared by every replica (ACCESS_LOG_SCHEMA); personal data decrypted and erased
 * with the keys of the shared key store (KEY_STORE_SCHEMA), and commands append through the
 * encrypting store like ingestion does.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { DEMO_UNITS_FILE, loadPolicies, loadUnitsFile, systemClock, type Clock } from '@tracker/domain';
import {
  OutboxAlertSource,
  PostgresAlertStore,
  PostgresDeadlineQueries,
  PostgresGapQueries,
  PostgresReadModel,
  PostgresTransitionExports,
  postgresFlowQueries,
} from '@tracker/read-models';
import {
  authPlugin,
  DeadlineAlertFeed,
  deadlinesExtension,
  encryptingEventStore,
  exportsPlugin,
  flowsExtension,
  gapsGraphqlExtension,
  GRAPHQL_PATH,
  graphqlPlugin,
  healthPlugin,
  privacyExtension,
  securityHeadersPlugin,
} from '@tracker/api';
import { createAuthenticator, PersonalDataProtector, PostgresAccessLog, PostgresKeyStore, type Authenticator } from '@tracker/security';
import {
  KafkaLiveEvents,
  REQUEST_ID_HEADER,
  ReadModelWatcher,
  databaseAnswers,
  openEventStore,
  openKafka,
  openPool,
  serviceServerOptions,
  Teardown,
  trackerReadModelOptions,
  type RunningService,
  type ServiceConfig,
} from '@tracker/messaging';

export interface RunningApiService extends RunningService {
  app: FastifyInstance;
}

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
  const teardown = new Teardown();
  try {
    const pool = openPool(config, 10);
    teardown.add(() => pool.end());
    const policies = loadPolicies(config.policiesFile);
    // Opened with the projector's options: it records the same configuration fingerprint.
    const readModel = await PostgresReadModel.open({ pool, schema: config.readModelSchema, ...trackerReadModelOptions(units, policies) });
    // loadServiceConfig requires it for this service; the check is for callers that build a config by hand.
    if (config.personalDataKek === undefined) throw new Error('PERSONAL_DATA_KEK is required for the api service');
    const eventStore = await openEventStore(config);
    teardown.add(() => eventStore.close());
    const keyStore = await PostgresKeyStore.open({ connectionString: config.databaseUrl, schema: config.keyStoreSchema });
    teardown.add(() => keyStore.close());
    // Refused at start, with KeyEncryptionKeyMismatchError, when the key store was created under another KEK.
    // With PERSONAL_DATA_KEK_PREVIOUS (a KEK rotation under way), keys wrapped by either KEK are read.
    const personalData = await PersonalDataProtector.open({ kek: config.personalDataKek, previousKek: config.personalData.previousKek, store: keyStore, clock });
    // Commands append through this, as ingestion does: personal is encrypted first.
    const store = encryptingEventStore(eventStore, personalData);
    // Closed after the HTTP server (teardown runs in reverse): every read answered is flushed to the log.
    const accessLog = await PostgresAccessLog.open({ connectionString: config.databaseUrl, schema: config.accessLogSchema, clock });
    teardown.add(() => accessLog.close());
    // Exports hold a client for as long as they stream: a pool of their own, apart from the queries'.
    const exports = new PostgresTransitionExports(readModel, { connectionString: config.databaseUrl, units, maxConnections: 2 });
    teardown.add(() => exports.close());
    // Live deadline alerts: the relay service's scheduler records them in the read models' outbox; every
    // replica follows the outbox (and replays it for `afterSequence`).
    const alertSource = new OutboxAlertSource({
      outbox: await PostgresAlertStore.open({ pool, schema: config.readModelSchema }),
      onError: (error) => logger.warn({ err: error }, 'could not read the alert outbox; retrying'),
    });
    await alertSource.start();
    teardown.add(() => alertSource.stop());
    const alertFeed = new DeadlineAlertFeed(alertSource);
    teardown.add(async () => alertFeed.close());
    const { kafka, topics } = await openKafka(config, logger);
    const liveEvents = new KafkaLiveEvents({
      kafka,
      topic: topics.events,
      groupPrefix: `${config.kafka.topicPrefix}tracker-api-live`,
      logger: logger.child({ component: 'live-events' }),
    });
    // The GraphQL plugin stops it when the app closes; this covers a start that fails before that.
    teardown.add(() => liveEvents.stop());

    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, ...serviceServerOptions(config.bodyLimitBytes) });
    teardown.add(() => app.close());
    // Open alert streams would keep the server from closing.
    app.addHook('preClose', async () => alertFeed.endStreams());
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
        eventStore: async () => (await eventStore.headPosition()) >= 0,
        kafka: () => liveEvents.ready,
        // With real tokens, the identity provider's keys must be reachable: otherwise no request can be served.
        ...(authenticator.mode === 'oidc' ? { identityProvider: async () => (await authenticator.warmUp(), true) } : {}),
      },
    });
    // The plugin starts the live feed now and stops it when the app closes.
    await app.register(graphqlPlugin, {
      queries: readModel,
      store,
      projector: new ReadModelWatcher({ store: eventStore, readModel }),
      units,
      clock,
      production,
      accessLog,
      personalData,
      liveEvents,
      extensions: [
        gapsGraphqlExtension(new PostgresGapQueries(readModel)),
        flowsExtension({ flows: postgresFlowQueries(readModel, { units }) }),
        deadlinesExtension({ queries: new PostgresDeadlineQueries(readModel, policies), policies, alerts: alertFeed }),
        privacyExtension(),
      ],
    });
    await app.register(exportsPlugin, { exports, units, clock, accessLog });
    const address = await app.listen({ port: config.port, host: config.host });
    return {
      app,
      url: address.replace('[::1]', 'localhost'),
      async close() {
        closing = true;
        await teardown.run();
      },
    };
  } catch (error) {
    await teardown.run();
    throw error;
  }
}
