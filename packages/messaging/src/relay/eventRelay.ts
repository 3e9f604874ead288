/**
 * The relay: every stored event onto `transitions.events.v1`, as a CloudEvent, key = citizenId, in
 * stream order per citizen, with no loss across crashes.
 *
 * How:
 * - It reads the store with the port's catch-up subscription from its checkpoint: global order, which
 *   contains every citizen's stream order.
 * - A batch is sent with one `producer.send` and awaited before the next: the producer is idempotent with
 *   one request in flight per broker, so a retry inside kafkajs can neither duplicate nor reorder, and
 *   messages of one key go to one partition (murmur2 of the key, as the Java client does).
 * - Only after Kafka acked the whole batch (acks = all) does the checkpoint move, in PostgreSQL. A crash
 *   in between re-sends the batch after restart: at-least-once. A duplicate carries the same CloudEvents
 *   `id` (the event id), so consumers drop it by id — the tracker's own consumers are idempotent anyway.
 * - One relay at a time holds the lease (relayLease.ts); others stand by, so relays can run on several
 *   hosts for availability without two of them interleaving the same positions.
 * - Any failure (Kafka unreachable, the database gone, the lease lost) ends the run: the subscription is
 *   stopped, and after a pause the relay starts again from the stored checkpoint.
 */
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { StoredEvent } from '@tracker/domain';
import type { EventStore, Subscription } from '@tracker/event-store';
import { CLOUDEVENTS_CONTENT_TYPE, toCloudEvent } from '../cloudEvents/transitionCloudEvent.ts';
import type { RelayLease } from '../postgres/relayLease.ts';

export interface RelayLeases {
  tryAcquire(): Promise<RelayLease | undefined>;
}

export interface EventRelayOptions {
  store: EventStore;
  /** Connected, made by `createOrderedProducer` (idempotent, one request in flight). */
  producer: Producer;
  topic: string;
  leases: RelayLeases;
  /** CloudEvents `source` of every message. */
  source: string;
  logger: Logger;
  /** Most events per Kafka send (and per checkpoint write); default 1000. */
  batchSize?: number;
  /** Pause before trying again after a failure, and between attempts to get the lease; default 2000 ms. */
  retryDelayMs?: number;
}

export type RelayState = 'starting' | 'standby' | 'relaying' | 'retrying' | 'stopped';

export class EventRelay {
  readonly #options: Required<Omit<EventRelayOptions, 'logger'>> & { logger: Logger };
  #state: RelayState = 'starting';
  #position = 0;
  #published = 0;
  #lastError: unknown;
  #stopped = false;
  #wakeUp: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #caughtUpWaiters: (() => void)[] = [];
  #caughtUp = false;

  constructor(options: EventRelayOptions) {
    this.#options = { batchSize: 1_000, retryDelayMs: 2_000, ...options };
    if (!Number.isSafeInteger(this.#options.batchSize) || this.#options.batchSize < 1) throw new TypeError('batchSize must be a positive integer');
  }

  /** Starts relaying in the background (standing by while another relay holds the lease). */
  start(): void {
    this.#loop ??= this.#run();
  }

  get state(): RelayState {
    return this.#state;
  }

  /** The last global position this relay has seen acked by Kafka (0 before it relayed anything). */
  get position(): number {
    return this.#position;
  }

  /** Events this relay has published since it started (duplicates after a retry included). */
  get published(): number {
    return this.#published;
  }

  /** The failure that made the relay retry last, until it relays again. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /** Resolves once this relay holds the lease and has published everything stored when it got it. */
  caughtUp(): Promise<void> {
    if (this.#caughtUp) return Promise.resolve();
    return new Promise((resolve) => this.#caughtUpWaiters.push(resolve));
  }

  /** Stops relaying: waits for the batch in flight (its acks and checkpoint), then gives the lease back. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wakeUp?.();
    await this.#loop;
    this.#state = 'stopped';
  }

  async #run(): Promise<void> {
    const { logger, retryDelayMs } = this.#options;
    while (!this.#stopped) {
      let lease: RelayLease | undefined;
      try {
        lease = await this.#options.leases.tryAcquire();
      } catch (error) {
        this.#fail(error, 'could not ask for the relay lease');
        await this.#pause(retryDelayMs);
        continue;
      }
      if (lease === undefined) {
        if (this.#state !== 'standby') logger.info('another relay holds the lease; standing by');
        this.#state = 'standby';
        this.#lastError = undefined;
        await this.#pause(retryDelayMs);
        continue;
      }
      try {
        await this.#relay(lease);
      } catch (error) {
        this.#fail(error, 'relaying failed; starting again from the checkpoint');
      } finally {
        await lease.release();
      }
      if (!this.#stopped) await this.#pause(retryDelayMs);
    }
  }

  /** Relays while the lease is held; returns when stopped, throws on any failure. */
  async #relay(lease: RelayLease): Promise<void> {
    const { store, batchSize, logger } = this.#options;
    const after = await lease.checkpoint();
    this.#position = after;
    const head = await store.headPosition();
    logger.info({ checkpoint: after, head }, 'relay holds the lease; publishing from its checkpoint');

    let failure: ((error: unknown) => void) | undefined;
    const failed = new Promise<never>((_, reject) => (failure = reject));
    failed.catch(() => {});
    let subscription: Subscription | undefined;
    try {
      subscription = store.subscribeToAll({ after, batchSize }, async (events) => {
        if (this.#stopped) return;
        try {
          await this.#publish(lease, events);
        } catch (error) {
          failure?.(error);
          throw error; // no later batch is delivered: the next run resumes from the checkpoint
        }
        if (!this.#caughtUp && this.#position >= head) this.#markCaughtUp();
      });
      subscription.caughtUp.then(
        () => this.#markCaughtUp(),
        () => {},
      );
      this.#state = 'relaying';
      this.#lastError = undefined;
      const stopped = new Promise<void>((resolve) => (this.#wakeUp = resolve));
      if (this.#stopped) return;
      await Promise.race([
        stopped,
        failed,
        lease.lost.then(() => {
          if (!this.#stopped) throw new Error('the relay lease was lost (its database connection ended)');
        }),
      ]);
    } finally {
      await subscription?.stop();
    }
  }

  async #publish(lease: RelayLease, events: readonly StoredEvent[]): Promise<void> {
    const { producer, topic, source, logger } = this.#options;
    const ids = events.map((e) => e.id);
    const correlations = await lease.correlationsOf(ids);
    await producer.send({
      topic,
      acks: -1,
      messages: events.map((event) => ({
        key: event.citizenId,
        value: JSON.stringify(toCloudEvent(event, { source, correlationId: correlations.get(event.id) })),
        headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE },
      })),
    });
    const last = events[events.length - 1]!.globalPosition;
    await lease.advance(last, ids);
    this.#position = last;
    this.#published += events.length;
    if (logger.isLevelEnabled('debug')) {
      for (const event of events) {
        logger.debug({ eventId: event.id, globalPosition: event.globalPosition, correlationId: correlations.get(event.id) }, 'event published');
      }
    }
  }

  #markCaughtUp(): void {
    if (this.#caughtUp) return;
    this.#caughtUp = true;
    for (const resolve of this.#caughtUpWaiters) resolve();
    this.#caughtUpWaiters = [];
  }

  #fail(error: unknown, message: string): void {
    this.#lastError = error;
    this.#state = 'retrying';
    this.#options.logger.error({ err: error, checkpoint: this.#position }, message);
  }

  #pause(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
