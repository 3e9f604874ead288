/**
 * Live alerts read from an outbox that another process writes. In distributed mode the scheduler runs
 * in one service and the GraphQL APIs in others: each API polls the outbox (PostgresAlertStore) after
 * the last sequence it saw and hands every new published alert to its listeners, once, in order — the
 * same `AlertSource` the embedded tracker gets from its own scheduler.
 */
import { systemTimers, type TimerHandle, type Timers } from '../deadlines/timers.ts';
import type { AlertListener, AlertSource, RecordedAlert } from './alertRecords.ts';

export interface AlertOutbox {
  alertsAfter(sequence: number, limit: number): Promise<RecordedAlert[]>;
  lastSequence(): Promise<number>;
}

export interface OutboxAlertSourceOptions {
  outbox: AlertOutbox;
  timers?: Timers;
  /** Wait between polls; default 1 s. */
  pollIntervalMs?: number;
  /** Most alerts read per query; default 1000 (a larger backlog is read at once in further queries). */
  batchSize?: number;
  onError?: (error: unknown) => void;
}

export class OutboxAlertSource implements AlertSource {
  readonly #outbox: AlertOutbox;
  readonly #timers: Timers;
  readonly #pollMs: number;
  readonly #batchSize: number;
  readonly #onError: (error: unknown) => void;
  readonly #listeners = new Set<AlertListener>();
  #last: number | undefined;
  #timer: TimerHandle | undefined;
  #polling: Promise<unknown> = Promise.resolve();
  #running = false;

  constructor({ outbox, timers = systemTimers, pollIntervalMs = 1_000, batchSize = 1_000, onError = () => {} }: OutboxAlertSourceOptions) {
    if (!Number.isFinite(pollIntervalMs) || pollIntervalMs < 0) throw new TypeError('pollIntervalMs must be a non-negative number of milliseconds');
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new TypeError('batchSize must be a positive integer');
    this.#outbox = outbox;
    this.#timers = timers;
    this.#pollMs = pollIntervalMs;
    this.#batchSize = batchSize;
    this.#onError = onError;
  }

  subscribe(listener: AlertListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  alertsAfter(sequence: number, limit = 1_000): Promise<RecordedAlert[]> {
    return this.#outbox.alertsAfter(sequence, limit);
  }

  /** Live from the outbox's current end on (what came before is replayed with alertsAfter), then polls. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#last ??= await this.#outbox.lastSequence();
    this.#running = true;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#polling;
  }

  /** Reads what was published since the last poll and hands it to the listeners; returns it. */
  poll(): Promise<RecordedAlert[]> {
    const run = this.#polling.then(async () => {
      const last = this.#last ?? (await this.#outbox.lastSequence());
      const delivered: RecordedAlert[] = [];
      for (let after = last; ; ) {
        const page = await this.#outbox.alertsAfter(after, this.#batchSize);
        for (const alert of page) {
          delivered.push(alert);
          for (const listener of this.#listeners) {
            try {
              listener(alert);
            } catch (error) {
              this.#onError(error);
            }
          }
        }
        if (page.length > 0) after = this.#last = page[page.length - 1]!.sequence;
        else this.#last = after;
        if (page.length < this.#batchSize) return delivered;
      }
    });
    this.#polling = run.catch(() => {});
    return run;
  }

  #schedule(): void {
    this.#timer = this.#timers.setTimeout(async () => {
      this.#timer = undefined;
      try {
        await this.poll();
      } catch (error) {
        this.#onError(error);
      }
      if (this.#running) this.#schedule();
    }, this.#pollMs);
  }
}
