/**
 * The alert relay: the alert scheduler's outbox (@tracker/read-models, the alert stream in sequence
 * order) onto `transitions.alerts.v1` through an `AlertPublisher`, with no loss across crashes.
 *
 * How (the event relay's way, eventRelay.ts):
 * - It reads the published alerts after its offset, a page at a time, maps them to the Kafka contract
 *   (`trackerAlertOf`) and hands a page to `publish`, awaited before the next.
 * - Only after `publish` resolved — Kafka acked every alert of the page — does the offset move, in
 *   PostgreSQL (`relay_checkpoints`, under the relay's name, never backwards). A crash in between
 *   publishes the page again after restart: at-least-once, and a repeat carries the same CloudEvents
 *   ids (derived from what each alert is about), so consumers drop it.
 * - One relay at a time holds the lease (relayLease.ts); others stand by, so relays can run on
 *   several hosts without interleaving one citizen's alerts.
 * - Any failure (Kafka unreachable, the database gone, the lease lost) ends the run: after a pause
 *   the relay starts again from the stored offset. When the outbox has nothing new it waits a poll
 *   interval (on the injected timers) and looks again.
 */
import type { Logger } from 'pino';
import { systemTimers, type AlertOutbox, type TimerHandle, type Timers } from '@tracker/read-models';
import type { RelayLease } from '../postgres/relayLease.ts';
import type { RelayLeases } from '../relay/eventRelay.ts';
import { trackerAlertOf, type AlertPublisher } from './alertPublisher.ts';

export interface AlertOutboxRelayOptions {
  /** The alert stream: the scheduler's outbox (PostgresAlertStore; AlertScheduler and SqliteAlertStore have the same `alertsAfter`). */
  outbox: Pick<AlertOutbox, 'alertsAfter'>;
  publisher: AlertPublisher;
  /** Lease and offset: e.g. `new PostgresRelayLeases(pool, schema, 'alerts')`. */
  leases: RelayLeases;
  logger: Logger;
  /** Most alerts per publish (and per offset write); default 500. */
  batchSize?: number;
  /** Wait before looking at the outbox again when it had nothing new; default 1000 ms. */
  pollIntervalMs?: number;
  /** Pause before trying again after a failure, and between attempts to get the lease; default 2000 ms. */
  retryDelayMs?: number;
  timers?: Timers;
}

export type AlertRelayState = 'starting' | 'standby' | 'relaying' | 'retrying' | 'stopped';

export class AlertOutboxRelay {
  readonly #options: Required<Omit<AlertOutboxRelayOptions, 'logger'>> & { logger: Logger };
  #state: AlertRelayState = 'starting';
  #offset = 0;
  #published = 0;
  #lastError: unknown;
  #stopped = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: AlertOutboxRelayOptions) {
    this.#options = { batchSize: 500, pollIntervalMs: 1_000, retryDelayMs: 2_000, timers: systemTimers, ...options };
    if (!Number.isSafeInteger(this.#options.batchSize) || this.#options.batchSize < 1) throw new TypeError('batchSize must be a positive integer');
  }

  get state(): AlertRelayState {
    return this.#state;
  }

  /** The last sequence number this relay has seen acked by Kafka (0 before it relayed anything). */
  get offset(): number {
    return this.#offset;
  }

  /** Alerts this relay has published since it started (repeats after a retry included). */
  get published(): number {
    return this.#published;
  }

  /** The failure that made the relay retry last, until it relays again. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /** Starts relaying in the background (standing by while another relay holds the lease). */
  start(): void {
    this.#stopped = false;
    this.#loop ??= this.#run();
  }

  /** Stops relaying: waits for the page in flight (its acks and offset), then gives the lease back. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
    this.#state = 'stopped';
  }

  /**
   * Publishes everything after the stored offset once, holding the lease meanwhile; resolves with how
   * many alerts were published. Rejects when another relay holds the lease, or on any failure.
   */
  async drain(): Promise<number> {
    const lease = await this.#options.leases.tryAcquire();
    if (lease === undefined) throw new Error('another relay holds the alert relay lease');
    try {
      return await this.#pass(lease, await lease.checkpoint());
    } finally {
      await lease.release();
    }
  }

  async #run(): Promise<void> {
    const { logger, retryDelayMs, pollIntervalMs } = this.#options;
    while (!this.#stopped) {
      let lease: RelayLease | undefined;
      try {
        lease = await this.#options.leases.tryAcquire();
      } catch (error) {
        this.#fail(error, 'could not ask for the alert relay lease');
        await this.#pause(retryDelayMs);
        continue;
      }
      if (lease === undefined) {
        if (this.#state !== 'standby') logger.info('another alert relay holds the lease; standing by');
        this.#state = 'standby';
        this.#lastError = undefined;
        await this.#pause(retryDelayMs);
        continue;
      }
      try {
        let lost = false;
        void lease.lost.then(() => {
          lost = true;
          this.#wake?.();
        });
        let offset = await lease.checkpoint();
        logger.info({ offset }, 'alert relay holds the lease; publishing from its offset');
        this.#state = 'relaying';
        this.#lastError = undefined;
        while (!this.#stopped) {
          if (lost) throw new Error('the alert relay lease was lost (its database connection ended)');
          const published = await this.#pass(lease, offset);
          offset = this.#offset;
          if (published === 0) await this.#pause(pollIntervalMs);
        }
      } catch (error) {
        this.#fail(error, 'relaying alerts failed; starting again from the offset');
      } finally {
        await lease.release();
      }
      if (!this.#stopped && this.#state === 'retrying') await this.#pause(retryDelayMs);
    }
  }

  /** Publishes pages after `offset` until the outbox has no more; returns how many. */
  async #pass(lease: RelayLease, offset: number): Promise<number> {
    const { outbox, publisher, batchSize, logger } = this.#options;
    this.#offset = offset;
    let count = 0;
    for (;;) {
      if (this.#stopped) return count;
      const page = await outbox.alertsAfter(this.#offset, batchSize);
      if (page.length === 0) return count;
      await publisher.publish(page.map(trackerAlertOf));
      // Only now: a crash before this line publishes the page again, under the same ids.
      const last = page[page.length - 1]!.sequence;
      await lease.advance(last, []);
      this.#offset = last;
      this.#published += page.length;
      count += page.length;
      if (logger.isLevelEnabled('debug')) logger.debug({ alerts: page.length, offset: last }, 'alerts published');
    }
  }

  #fail(error: unknown, message: string): void {
    this.#lastError = error;
    this.#state = 'retrying';
    this.#options.logger.error({ err: error, offset: this.#offset }, message);
  }

  #pause(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      const done = () => {
        if (timer !== undefined) this.#options.timers.clearTimeout(timer);
        timer = undefined;
        this.#wake = undefined;
        resolve();
      };
      timer = this.#options.timers.setTimeout(done, ms);
      this.#wake = done;
    });
  }
}
