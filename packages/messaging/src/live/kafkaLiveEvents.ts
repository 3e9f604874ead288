/**
 * Live events for the GraphQL subscriptions of an API replica, fed from `transitions.events.v1`, so
 * every replica streams every event — whichever instance stored it. (Embedded, the hub subscribes to
 * the local store instead.) Shaped as the GraphQL plugin's `liveEvents` feed: start(deliver), stop().
 *
 * Each replica reads the whole topic in a consumer group of its own — a fresh group id per start
 * (`<groupPrefix>.<host>.<random>`), reading from the latest offsets, committing nothing. A subscription
 * streams what is stored from the moment of subscribing, so a restarted replica has nothing to catch
 * up on, and groups that commit nothing leave no offsets behind once they are gone.
 *
 * `start` resolves once the replica's consumer has joined and fetched from the latest offsets, so an
 * event stored after that reaches it. Relay duplicates (same id) are passed on once: the ids of the
 * last few thousand events are remembered.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { StoredEvent } from '@tracker/domain';
import { CloudEventFormatError, parseTransitionCloudEvent } from '../cloudEvents/transitionCloudEvent.ts';
import { ConsumerHealth } from '../kafka/clientHealth.ts';

export interface KafkaLiveEventsOptions {
  kafka: Kafka;
  topic: string;
  /** e.g. `tracker-api-live`; the host name and a random suffix are added. */
  groupPrefix: string;
  logger: Logger;
  /** Longest wait for the consumer to be in place; default 30 s. */
  startTimeoutMs?: number;
}

const REMEMBERED_IDS = 10_000;

export class KafkaLiveEvents {
  readonly #options: KafkaLiveEventsOptions;
  readonly groupId: string;
  #consumer: Consumer | undefined;
  #health: ConsumerHealth | undefined;
  readonly #seen = new Set<string>();

  constructor(options: KafkaLiveEventsOptions) {
    this.#options = options;
    const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 60);
    this.groupId = `${options.groupPrefix}.${host}.${randomBytes(4).toString('hex')}`;
  }

  get ready(): boolean {
    return this.#health?.ready === true;
  }

  async start(deliver: (events: readonly StoredEvent[]) => void): Promise<void> {
    const { kafka, topic, logger, startTimeoutMs = 30_000 } = this.#options;
    // Short fetch waits: low latency for live events, and a first fetch (see below) that returns promptly.
    const consumer = kafka.consumer({ groupId: this.groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
    this.#consumer = consumer;
    this.#health = new ConsumerHealth(consumer);
    // In place = joined, and a fetch has completed (so the latest offsets have been looked up).
    let fetched!: () => void;
    const firstFetch = new Promise<void>((resolve) => (fetched = resolve));
    const removeFetchListener = consumer.on(consumer.events.FETCH, () => fetched());
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const events: StoredEvent[] = [];
        for (const message of batch.messages) {
          try {
            const { event } = parseTransitionCloudEvent(message.value);
            if (this.#remember(event.id)) events.push(event);
          } catch (error) {
            if (!(error instanceof CloudEventFormatError)) throw error;
            logger.error({ err: error, partition: batch.partition, offset: message.offset }, 'skipped a message that is not a transition CloudEvent');
          }
        }
        if (events.length > 0) deliver(events);
      },
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all([this.#health.joined(startTimeoutMs), firstFetch]),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the live event feed was not in place within ${startTimeoutMs} ms`)), startTimeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      removeFetchListener();
    }
    logger.info({ groupId: this.groupId, topic }, 'live events fed from Kafka');
  }

  /** True the first time an id is seen (among the last REMEMBERED_IDS). */
  #remember(id: string): boolean {
    if (this.#seen.has(id)) return false;
    this.#seen.add(id);
    if (this.#seen.size > REMEMBERED_IDS) this.#seen.delete(this.#seen.values().next().value!);
    return true;
  }

  async stop(): Promise<void> {
    const consumer = this.#consumer;
    this.#consumer = undefined;
    await consumer?.disconnect();
  }
}
