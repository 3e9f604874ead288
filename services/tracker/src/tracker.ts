/**
 * Wires the embedded tracker: SQLite event store → projector → SQLite read models → fastify with
 * ingestion, GraphQL and health. One file per step downstream; this one only connects them.
 *
 * Security (docs/security.md): every request is authenticated (authPlugin, in front of everything but
 * the probes) and rate-limited per client; every append goes through the encrypting store, so
 * `CitizenRegistered.personal` reaches the event store only as ciphertext under the citizen's key
 * (keys in DATA_DIR/keys.sqlite, wrapped by PERSONAL_DATA_KEK); every read of a citizen is in the
 * access log (DATA_DIR/access-log.sqlite) before it is answered; security headers on every answer.
 */
import { mkdirSync } from 'node:fs';
import type { FastifyRequest } from 'fastify';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { DEMO_UNITS_FILE, loadPolicies, loadUnitsFile, systemClock, type Clock } from '@tracker/domain';
import { SqliteEventStore } from '@tracker/event-store';
import {
  AlertScheduler,
  Projector,
  SqliteAlertStore,
  SqliteDeadlineQueries,
  SqliteGapQueries,
  SqliteReadModel,
  SqliteTransitionExports,
  createFlowDerivation,
  deadlineDerivation,
  gapsDerivation,
  sqliteFlowQueries,
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
  ingestionPlugin,
  loadPersistedOperations,
  privacyExtension,
  securityHeadersPlugin,
} from '@tracker/api';
import type { TrackerConfig } from '@tracker/platform';
import {
  createAuthenticator,
  developmentKeyEncryptionKey,
  PersonalDataProtector,
  SqliteAccessLog,
  SqliteKeyStore,
  type Authenticator,
} from '@tracker/security';
import { loadDemoKommune } from './demo.ts';

/** The files of the data folder besides the event store and the read models. */
export const KEY_STORE_FILE = 'keys.sqlite';
export const ACCESS_LOG_FILE = 'access-log.sqlite';

/**
 * GraphiQL's page (outside production) is static HTML a browser loads by address, so without a token;
 * it executes nothing itself — its requests carry the token entered in it, and GraphQL refuses a
 * request without a principal.
 */
const isGraphiqlPage = (request: FastifyRequest): boolean =>
  request.method === 'GET' && request.routeOptions.url === GRAPHQL_PATH && !request.url.includes('?') && (request.headers.accept ?? '').includes('text/html');


export interface StartTrackerOptions {
  config: TrackerConfig;
  /** A pino logger (createLogger from @tracker/platform). */
  logger: FastifyBaseLogger;
  clock?: Clock;
  /** Replaces the one made from `config.auth.settings` (tests with a local identity provider's keys). */
  authenticator?: Authenticator;
}

export interface RunningTracker {
  app: FastifyInstance;
  /** Base URL, e.g. http://127.0.0.1:4000 */
  url: string;
  /** The event store itself (reads, stats); appends go through the encrypting store inside. */
  store: SqliteEventStore;
  projector: Projector;
  accessLog: SqliteAccessLog;
  personalData: PersonalDataProtector;
  /** Finishes in-flight requests, stops projecting and flushes the store. */
  close(): Promise<void>;
}

export async function startTracker({ config, logger, clock = systemClock, authenticator: givenAuthenticator }: StartTrackerOptions): Promise<RunningTracker> {
  const units = loadUnitsFile(config.unitsFile ?? DEMO_UNITS_FILE);
  const policies = loadPolicies(config.policiesFile);
  const persistedOperations = config.persistedOperationsFile === undefined ? undefined : loadPersistedOperations(config.persistedOperationsFile);
  // Development mode announces itself here, loudly; it is refused with NODE_ENV=production.
  const authenticator = givenAuthenticator ?? createAuthenticator(config.auth.settings, { logger, nodeEnv: config.nodeEnv });
  mkdirSync(config.dataDir, { recursive: true });

  // Personal data at rest: keys in their own file, wrapped by the KEK from configuration (a generated
  // key file beside the data only outside production, for the demo).
  const kek =
    'kek' in config.personalData ? config.personalData.kek : developmentKeyEncryptionKey(config.personalData.developmentKeyFile, { nodeEnv: config.nodeEnv });
  if (!('kek' in config.personalData)) logger.warn({ security: true }, 'PERSONAL_DATA_KEK is not set: using a development key kept in the data folder (never in production)');
  const keyStore = new SqliteKeyStore(join(config.dataDir, KEY_STORE_FILE));
  let personalData: PersonalDataProtector;
  try {
    // During a KEK rotation keys wrapped by the previous KEK stay readable (docs/security.md §7).
    personalData = await PersonalDataProtector.open({ kek, previousKek: 'kek' in config.personalData ? config.personalData.previousKek : undefined, store: keyStore, clock });
  } catch (error) {
    await keyStore.close();
    throw error;
  }
  const accessLog = new SqliteAccessLog({ file: join(config.dataDir, ACCESS_LOG_FILE), clock });

  const eventStore = await SqliteEventStore.open({ file: join(config.dataDir, 'events.sqlite'), clock });
  // Every append path (ingestion, commands, the demo loader) goes through this: personal is encrypted first.
  const store = encryptingEventStore(eventStore, personalData);
  // The local service levels of domain.md §5 (10 hverdage) unless the kommune's policies say otherwise.
  const handoverAcceptanceDue = policies.dueFunction('overdragelse-accept', { amount: 10, unit: 'workingDays' });
  const relativeAnswerDue = policies.dueFunction('paarorende-svar', { amount: 10, unit: 'workingDays' });
  const readModel = new SqliteReadModel({
    file: join(config.dataDir, 'read-models.sqlite'),
    projection: { units, handoverAcceptanceDue },
    derived: [gapsDerivation({ units, handoverAcceptanceDue, relativeAnswerDue }), createFlowDerivation(units), deadlineDerivation({ policies, units })],
    // Unit names feed the timeline summaries and the policies feed due instants: a change rebuilds.
    configFingerprint: createHash('sha256').update(JSON.stringify({ units: units.units, policies: policies.fingerprint })).digest('hex'),
  });
  const projector = new Projector({
    store: eventStore,
    target: readModel,
    onError: (error) => logger.error({ err: error }, 'projection failed; the read models stop at their checkpoint'),
  });

  try {
    if (config.demo && (await store.headPosition()) === 0) {
      const loaded = await loadDemoKommune({ store, units, clock, citizens: config.demoCitizens });
      logger.info({ citizens: loaded.citizens, events: loaded.events }, 'loaded the demo kommune into the empty data folder');
    }
    await projector.start();
    logger.info({ position: projector.position() }, 'read models are up to date');
  } catch (error) {
    await projector.stop();
    await eventStore.close();
    readModel.close();
    await accessLog.close();
    await keyStore.close();
    throw error;
  }

  // Started after the catch-up, so history already in the store is not alerted on a first start.
  const deadlineQueries = new SqliteDeadlineQueries(readModel.database, policies);
  // Deadline and gap alerts, one stream (the GraphQL feed passes the deadline ones).
  const alertScheduler = new AlertScheduler({
    store: new SqliteAlertStore(readModel.database),
    clock,
    onError: (err) => logger.error({ err }, 'alert check failed; retrying at the next check'),
  });
  const alertFeed = new DeadlineAlertFeed(alertScheduler);
  await alertScheduler.start();

  const production = config.nodeEnv === 'production';
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    // Lets close() wait for in-flight requests instead of cutting them off.
    forceCloseConnections: 'idle',
    requestIdHeader: 'x-request-id',
  });
  // During shutdown, answers to in-flight requests close their connection, so keep-alive clients do
  // not hold the server open until their idle timeout.
  let closing = false;
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  // Open alert streams would keep the server from closing.
  app.addHook('preClose', async () => alertFeed.endStreams());
  await app.register(securityHeadersPlugin, { graphiql: !production });
  // In front of every route: a valid token (or development mode), and requests per client limited.
  await app.register(authPlugin, {
    authenticator,
    rateLimit: config.rateLimitPerMinute > 0 ? { max: config.rateLimitPerMinute, timeWindowMs: 60_000 } : false,
    ...(production ? {} : { allowAnonymous: isGraphiqlPage }),
  });
  await app.register(healthPlugin, {
    checks: {
      eventStore: async () => (await eventStore.headPosition()) >= 0,
      readModels: () => projector.healthy,
      // With real tokens, the identity provider's keys must be reachable: otherwise no request can be served.
      ...(authenticator.mode === 'oidc' ? { identityProvider: async () => (await authenticator.warmUp(), true) } : {}),
    },
  });
  await app.register(ingestionPlugin, {
    store,
    units,
    bodyLimitBytes: config.bodyLimitBytes,
    maxEventsPerRequest: config.maxEventsPerRequest,
  });
  await app.register(graphqlPlugin, {
    queries: readModel,
    store,
    projector,
    units,
    clock,
    production,
    accessLog,
    personalData,
    ...(persistedOperations ? { persistedOperations: { operations: persistedOperations, only: config.persistedOperationsOnly } } : {}),
    extensions: [
      gapsGraphqlExtension(new SqliteGapQueries(readModel.database)),
      flowsExtension({ flows: sqliteFlowQueries(readModel, { units }) }),
      deadlinesExtension({ queries: deadlineQueries, policies, alerts: alertFeed }),
      privacyExtension(),
    ],
  });
  await app.register(exportsPlugin, { exports: new SqliteTransitionExports(readModel, { units }), units, clock, accessLog });

  const address = await app.listen({ port: config.port, host: config.host });
  const url = address.replace('[::1]', 'localhost');

  return {
    app,
    url,
    store: eventStore,
    projector,
    accessLog,
    personalData,
    async close() {
      closing = true;
      await app.close();
      await alertScheduler.stop();
      alertFeed.close();
      await projector.stop();
      await eventStore.close();
      readModel.close();
      // After the HTTP server: every read answered was logged; what is queued is flushed now.
      await accessLog.close();
      await keyStore.close();
    },
  };
}
