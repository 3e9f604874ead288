/**
 * The projector of distributed mode: a Kafka consumer group on `transitions.events.v1` that applies
 * batches to the PostgreSQL read models. The topic is partitioned by citizen, so several instances in
 * one group share the work and each citizen's events are applied by one instance at a time, in order.
 *
 * Delivery is at-least-once, and that is enough: the read models are written earliest-wins and are
 * idempotent per event (the timeline is keyed by the event's place in the world, derived rows are
 * recomputed from the citizen's whole history), so applying an event twice — a relay duplicate, a
 * batch repeated after a crash or a rebalance — leaves exactly what applying it once leaves.
 * Order: a batch's writes commit in one transaction (PostgresReadModel.applyBatch) and only then is
 * the partition's offset committed to Kafka. A crash between the two repeats the batch.
 *
 * Checkpoints: each partition has its own read-model checkpoint (`kafka:<topic>:<partition>`, the last
 * global position applied from it, written in the batch's transaction), so instances never contend for
 * one row; Kafka's committed offsets say where to resume.
 *
 * Rebuilds: the group id carries a generation kept in the read models (`meta` key `kafka_projector`).
 * When the read models need a rebuild — their configuration or a derivation changed, or they were made
 * by something else — the first instance to start resets them and moves to the next generation: a new
 * group, which reads the topic from its beginning (the events topic keeps everything: topics.ts). Stop
 * all projector instances of the old configuration first; instances of one configuration agree on the
 * generation, whichever starts first.
 */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { StoredEvent } from '@tracker/domain';
import { PostgresReadModel } from '@tracker/read-models';
import { CloudEventFormatError, parseTransitionCloudEvent } from '../cloudEvents/transitionCloudEvent.ts';
import { ConsumerHealth } from '../kafka/clientHealth.ts';
import { readModelIdentity, type TrackerReadModelOptions } from './readModelSetup.ts';

export interface KafkaProjectorOptions {
  kafka: Kafka;
  /** The events topic. */
  topic: string;
  /** Group ids are `<groupPrefix>.g<generation>`, e.g. `tracker-projector.g1`. */
  groupPrefix: string;
  /** The pool the read models use (not ended by the projector). */
  pool: pg.Pool;
  /** Schema of the read models. */
  schema: string;
  readModel: TrackerReadModelOptions;
  logger: Logger;
  /** Most events per read-model transaction; default 1000. */
  batchSize?: number;
  /** Partitions applied at once by this instance; default 3. */
  partitionsConsumedConcurrently?: number;
}

/** Advisory lock class for deciding a rebuild ('KP'), so only one instance resets the read models. */
const SETUP_LOCK_CLASS = 0x4b50;
const META_KEY = 'kafka_projector';

interface ProjectorMeta {
  generation: number;
  identity: string;
}

export class KafkaProjector {
  readonly #options: KafkaProjectorOptions;
  readonly #models = new Map<number, Promise<PostgresReadModel>>();
  #consumer: Consumer | undefined;
  #health: ConsumerHealth | undefined;
  #groupId: string | undefined;
  #applied = 0;
  #skipped = 0;

  constructor(options: KafkaProjectorOptions) {
    this.#options = options;
  }

  /** Readiness: joined the group and not crashed. */
  get ready(): boolean {
    return this.#health?.ready === true;
  }

  get groupId(): string | undefined {
    return this.#groupId;
  }

  /** Events applied by this instance (repeats included), and messages skipped as malformed. */
  get counts(): { applied: number; skipped: number } {
    return { applied: this.#applied, skipped: this.#skipped };
  }

  /** Decides the generation (rebuilding if needed), joins the group and starts applying. */
  async start(): Promise<void> {
    const { kafka, topic, groupPrefix, logger, partitionsConsumedConcurrently = 3 } = this.#options;
    const generation = await this.#prepare();
    this.#groupId = `${groupPrefix}.g${generation}`;
    const consumer = kafka.consumer({ groupId: this.#groupId, allowAutoTopicCreation: false });
    this.#consumer = consumer;
    this.#health = new ConsumerHealth(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently,
      autoCommit: true,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.#applyBatch(payload),
    });
    logger.info({ groupId: this.#groupId, topic }, 'projector consuming');
  }

  /** Waits until the consumer has joined its group (for tests and start-up logs). */
  joined(timeoutMs?: number): Promise<void> {
    if (!this.#health) return Promise.reject(new Error('the projector has not started'));
    return this.#health.joined(timeoutMs);
  }

  async stop(): Promise<void> {
    await this.#consumer?.disconnect();
    const models = await Promise.allSettled(this.#models.values());
    this.#models.clear();
    for (const m of models) if (m.status === 'fulfilled') await m.value.close();
  }

  /** Opens the read models and returns the generation to consume with, resetting them first if they need it. */
  async #prepare(): Promise<number> {
    const { pool, schema, readModel, logger } = this.#options;
    const identity = readModelIdentity(readModel);
    const client = await pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [SETUP_LOCK_CLASS, schema]);
      const model = await PostgresReadModel.open({ pool, schema, ...readModel, checkpointName: `kafka:${this.#options.topic}:setup` });
      try {
        const rows = await model.query<{ value: string }>(`SELECT value FROM "${schema}".meta WHERE key = $1`, [META_KEY]);
        const stored = rows[0] ? (JSON.parse(rows[0].value) as ProjectorMeta) : undefined;
        if (stored && stored.identity === identity && !model.needsRebuild) return stored.generation;
        const generation = (stored?.generation ?? 0) + 1;
        if (stored || model.needsRebuild || (await hasRows(model, schema))) {
          logger.warn({ generation }, 'the read models were built with another configuration; rebuilding them from the events topic');
          await model.reset();
        }
        await model.query(
          `INSERT INTO "${schema}".meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
          [META_KEY, JSON.stringify({ generation, identity } satisfies ProjectorMeta)],
        );
        return generation;
      } finally {
        await model.close();
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [SETUP_LOCK_CLASS, schema]).catch(() => {});
      client.release();
    }
  }

  #modelFor(partition: number): Promise<PostgresReadModel> {
    let model = this.#models.get(partition);
    if (!model) {
      const { pool, schema, readModel, topic } = this.#options;
      model = PostgresReadModel.open({ pool, schema, ...readModel, checkpointName: `kafka:${topic}:${partition}` });
      model.catch(() => this.#models.delete(partition));
      this.#models.set(partition, model);
    }
    return model;
  }

  async #applyBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { logger, batchSize = 1_000 } = this.#options;
    const model = await this.#modelFor(batch.partition);
    const debug = logger.isLevelEnabled('debug');
    for (let start = 0; start < batch.messages.length; start += batchSize) {
      if (!isRunning() || isStale()) return; // a rebalance: the rest goes to whoever owns the partition now
      const chunk = batch.messages.slice(start, start + batchSize);
      const events: StoredEvent[] = [];
      for (const message of chunk) {
        try {
          const { event, correlationId } = parseTransitionCloudEvent(message.value);
          events.push(event);
          if (debug) logger.debug({ eventId: event.id, correlationId, partition: batch.partition, offset: message.offset }, 'event received');
        } catch (error) {
          if (!(error instanceof CloudEventFormatError)) throw error;
          this.#skipped++;
          logger.error({ err: error, partition: batch.partition, offset: message.offset }, 'skipped a message that is not a transition CloudEvent');
        }
      }
      if (events.length > 0) await model.applyBatch(events);
      this.#applied += events.length;
      resolveOffset(chunk[chunk.length - 1]!.offset);
      await commitOffsetsIfNecessary();
      await heartbeat();
      if (debug) logger.debug({ partition: batch.partition, events: events.length, lastOffset: chunk[chunk.length - 1]!.offset }, 'batch applied');
    }
  }
}

async function hasRows(model: PostgresReadModel, schema: string): Promise<boolean> {
  const rows = await model.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM "${schema}".timeline) AS any`);
  return rows[0]?.any === true;
}
