/**
 * The relay service: every stored event onto `transitions.events.v1` (EventRelay). Run two for
 * availability: one relays, the other stands by (ready) and takes over when the first goes away.
 * Its HTTP server answers the probes only.
 */
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { healthPlugin } from '@tracker/api';
import {
  CorrelationLog,
  EventRelay,
  PostgresRelayLeases,
  ProducerHealth,
  createOrderedProducer,
  databaseAnswers,
  ensureMessagingTables,
  openEventStore,
  openKafka,
  openPool,
  serviceServerOptions,
  type RunningService,
  type ServiceConfig,
} from '@tracker/messaging';

/** Correlation ids of events never published (refused requests) or published twice are forgotten after a day. */
const CORRELATION_RETENTION_MS = 24 * 3_600_000;
const PRUNE_EVERY_MS = 10 * 60_000;

export interface RunningRelayService extends RunningService {
  relay: EventRelay;
}

export async function startRelayService(config: ServiceConfig, logger: Logger, options: { retryDelayMs?: number } = {}): Promise<RunningRelayService> {
  const cleanup: (() => Promise<unknown>)[] = [];
  const undo = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  };
  try {
    const store = await openEventStore(config);
    cleanup.push(() => store.close());
    const pool = openPool(config, 4);
    cleanup.push(() => pool.end());
    await ensureMessagingTables(pool, config.eventStoreSchema);
    const { kafka, topics } = await openKafka(config, logger);
    const producer = createOrderedProducer(kafka);
    const producerHealth = new ProducerHealth(producer);
    await producer.connect();
    cleanup.push(() => producer.disconnect());

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
    cleanup.push(() => relay.stop());

    const correlations = new CorrelationLog(pool, config.eventStoreSchema);
    const pruning = setInterval(() => {
      correlations.prune(CORRELATION_RETENTION_MS).catch((error: unknown) => logger.warn({ err: error }, 'could not prune old correlation ids'));
    }, PRUNE_EVERY_MS);
    pruning.unref();
    cleanup.push(async () => clearInterval(pruning));

    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, ...serviceServerOptions(config.bodyLimitBytes) });
    cleanup.push(() => app.close());
    await app.register(healthPlugin, {
      checks: {
        eventStore: async () => (await store.headPosition()) >= 0,
        database: databaseAnswers(pool),
        kafka: () => producerHealth.ready,
        // Relaying, or standing by while another relay holds the lease; not while failing and retrying.
        relay: () => relay.state === 'relaying' || relay.state === 'standby',
      },
    });
    const address = await app.listen({ port: config.port, host: config.host });
    return { relay, url: address.replace('[::1]', 'localhost'), close: undo };
  } catch (error) {
    await undo();
    throw error;
  }
}
