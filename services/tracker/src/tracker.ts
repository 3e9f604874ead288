/**
 * Wires the embedded tracker: SQLite event store → projector → SQLite read models → fastify with
 * ingestion, GraphQL and health. One file per step downstream; this one only connects them.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { DEMO_UNITS_FILE, loadPolicies, loadUnitsFile, systemClock, type Clock } from '@tracker/domain';
import { SqliteEventStore } from '@tracker/event-store';
import {
  DeadlineAlertScheduler,
  Projector,
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
  DeadlineAlertFeed,
  deadlinesExtension,
  exportsPlugin,
  flowsExtension,
  gapsGraphqlExtension,
  graphqlPlugin,
  healthPlugin,
  ingestionPlugin,
} from '@tracker/api';
import type { TrackerConfig } from '@tracker/platform';
import { loadDemoKommune } from './demo.ts';


export interface StartTrackerOptions {
  config: TrackerConfig;
  /** A pino logger (createLogger from @tracker/platform). */
  logger: FastifyBaseLogger;
  clock?: Clock;
}

export interface RunningTracker {
  app: FastifyInstance;
  /** Base URL, e.g. http://127.0.0.1:4000 */
  url: string;
  store: SqliteEventStore;
  projector: Projector;
  /** Finishes in-flight requests, stops projecting and flushes the store. */
  close(): Promise<void>;
}

export async function startTracker({ config, logger, clock = systemClock }: StartTrackerOptions): Promise<RunningTracker> {
  const units = loadUnitsFile(config.unitsFile ?? DEMO_UNITS_FILE);
  const policies = loadPolicies(config.policiesFile);
  mkdirSync(config.dataDir, { recursive: true });

  const store = await SqliteEventStore.open({ file: join(config.dataDir, 'events.sqlite'), clock });
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
    store,
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
    await store.close();
    readModel.close();
    throw error;
  }

  // Started after the catch-up, so history already in the store is not alerted on a first start.
  const deadlineQueries = new SqliteDeadlineQueries(readModel.database, policies);
  const alertScheduler = new DeadlineAlertScheduler({
    database: readModel.database,
    clock,
    onError: (err) => logger.error({ err }, 'deadline alert check failed; retrying at the next check'),
  });
  const alertFeed = new DeadlineAlertFeed(alertScheduler);
  alertScheduler.start();

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
  await app.register(healthPlugin, {
    checks: {
      eventStore: async () => (await store.headPosition()) >= 0,
      readModels: () => projector.healthy,
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
    extensions: [
      gapsGraphqlExtension(new SqliteGapQueries(readModel.database)),
      flowsExtension({ flows: sqliteFlowQueries(readModel, { units }) }),
      deadlinesExtension({ queries: deadlineQueries, policies, alerts: alertFeed }),
    ],
  });
  await app.register(exportsPlugin, { exports: new SqliteTransitionExports(readModel, { units }), units, clock });

  const address = await app.listen({ port: config.port, host: config.host });
  const url = address.replace('[::1]', 'localhost');

  return {
    app,
    url,
    store,
    projector,
    async close() {
      closing = true;
      await app.close();
      alertScheduler.stop();
      alertFeed.close();
      await projector.stop();
      await store.close();
      readModel.close();
    },
  };
}
