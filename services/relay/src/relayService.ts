/**
 * The relay service: every stored event onto `transitions.events.v1` (EventRelay), and the deadline and
 * gap alerts onto `transitions.alerts.v1`: the alert scheduler watches the PostgreSQL read models the
 * projectors write (their change feed and the clocks' and gaps' instants) and records each alert once
 * in the outbox; the alert relay publishes the outbox in order. Run two for availability: one relays,
 * the other stands by (ready) and takes over when the first goes away — for events and alerts alike
 * (the schedulers of both may run: a check takes an advisory lock, so each alert is recorded once).
 * Its HTTP server answers the probes only.
 */
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { DEMO_UNITS_FILE, loadPolicies, loadUnitsFile, systemClock, type Clock } from '@tracker/domain';
import { healthPlugin } from '@tracker/api';
import { AlertScheduler, PostgresAlertStore, PostgresReadModel } from '@tracker/read-models';
import {
  AlertOutboxRelay,
  CorrelationLog,
  EventRelay,
  KafkaAlertPublisher,
  PostgresRelayLeases,
  ProducerHealth,
  createOrderedProducer,
  databaseAnswers,
  ensureMessagingTables,
  openEventStore,
  openKafka,
  openPool,
  serviceServerOptions,
  Teardown,
  trackerReadModelOptions,
  type RunningService,
  type ServiceConfig,
} from '@tracker/messaging';

/** Correlation ids of events never published (refused requests) or published twice are forgotten after a day. */
const CORRELATION_RETENTION_MS = 24 * 3_600_000;
const PRUNE_EVERY_MS = 10 * 60_000;

export interface RunningRelayService extends RunningService {
  relay: EventRelay;
  alertScheduler: AlertScheduler;
  alertRelay: AlertOutboxRelay;
}

export interface RelayServiceOptions {
  retryDelayMs?: number;
  /** The alert scheduler's clock (tests); default the system clock. */
  clock?: Clock;
}

export async function startRelayService(config: ServiceConfig, logger: Logger, options: RelayServiceOptions = {}): Promise<RunningRelayService> {
  const teardown = new Teardown();
  try {
    const store = await openEventStore(config);
    teardown.add(() => store.close());
    const pool = openPool(config, 4);
    teardown.add(() => pool.end());
    await ensureMessagingTables(pool, config.eventStoreSchema);
    const { kafka, topics } = await openKafka(config, logger);
    const producer = createOrderedProducer(kafka);
    const producerHealth = new ProducerHealth(producer);
    await producer.connect();
    teardown.add(() => producer.disconnect());

    const relay = new EventRelay({
      store,
      producer,
      topic: topics.events,
      // One lease and checkpoint per target topic.
      leases: new PostgresRelayLeases(pool, config.eventStoreSchema, topics.events),
      source: config.cloudEventsSource,
      logger: logger.child({ component: 'relay' }),
      retryDelayMs: options.retryDelayMs,
    });
    relay.start();
    teardown.add(() => relay.stop());

    // The read models' tables exist before the scheduler reads them (opened with the projector's options:
    // the same configuration fingerprint, so opening them here never asks for a rebuild).
    const units = loadUnitsFile(config.unitsFile ?? DEMO_UNITS_FILE);
    await (await PostgresReadModel.open({ pool, schema: config.readModelSchema, ...trackerReadModelOptions(units, loadPolicies(config.policiesFile)) })).close();
    const alertStore = await PostgresAlertStore.open({ pool, schema: config.readModelSchema });
    const alertScheduler = new AlertScheduler({
      store: alertStore,
      clock: options.clock ?? systemClock,
      onError: (error) => logger.error({ err: error }, 'alert check failed; retrying at the next check'),
    });
    await alertScheduler.start();
    teardown.add(() => alertScheduler.stop());
    const alertRelay = new AlertOutboxRelay({
      outbox: alertStore,
      publisher: new KafkaAlertPublisher({ producer, topic: topics.alerts, source: config.cloudEventsSource }),
      // One lease and offset per read-model schema: its outbox is the alert stream.
      leases: new PostgresRelayLeases(pool, config.eventStoreSchema, `alerts:${config.readModelSchema}`),
      logger: logger.child({ component: 'alert-relay' }),
    });
    alertRelay.start();
    teardown.add(() => alertRelay.stop());

    const correlations = new CorrelationLog(pool, config.eventStoreSchema);
    const pruning = setInterval(() => {
      correlations.prune(CORRELATION_RETENTION_MS).catch((error: unknown) => logger.warn({ err: error }, 'could not prune old correlation ids'));
    }, PRUNE_EVERY_MS);
    pruning.unref();
    teardown.add(async () => clearInterval(pruning));

    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, ...serviceServerOptions(config.bodyLimitBytes) });
    teardown.add(() => app.close());
    await app.register(healthPlugin, {
      checks: {
        eventStore: async () => (await store.headPosition()) >= 0,
        database: databaseAnswers(pool),
        kafka: () => producerHealth.ready,
        // Relaying, or standing by while another relay holds the lease; not while failing and retrying.
        relay: () => relay.state === 'relaying' || relay.state === 'standby',
        alertRelay: () => alertRelay.state === 'relaying' || alertRelay.state === 'standby',
      },
    });
    const address = await app.listen({ port: config.port, host: config.host });
    return { relay, alertScheduler, alertRelay, url: address.replace('[::1]', 'localhost'), close: () => teardown.run() };
  } catch (error) {
    await teardown.run();
    throw error;
  }
}
