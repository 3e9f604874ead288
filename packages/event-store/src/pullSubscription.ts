/**
 * The catch-up subscription of the SQL stores (SQLite, PostgreSQL): it reads what is after its position,
 * hands it to the handler, and when nothing is new waits for a wake-up (a commit in this process, a
 * NOTIFY from another) or, with a poll interval, at most that long — so a lost notification delays
 * delivery, never stops it. (SQLite has one writer, this process: its commits always wake it, no poll.)
 *
 * Correct only over a store whose readers never see positions out of order (positions are assigned in
 * commit order): then "after my last position" can never skip an event committed later.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { StoredEvent } from '@tracker/domain';
import type { BatchHandler, Subscription } from './eventStore.ts';
import { SubscriptionStoppedError } from './errors.ts';

export interface PullSubscriptionParams {
  after: number;
  batchSize: number;
  /** Longest wait for a wake-up before reading again; none: wait for the wake-up (a store with one writer). */
  pollIntervalMs?: number;
  handler: BatchHandler;
  /**
   * The head position (`caughtUp` resolves once everything up to it is delivered): a number taken when
   * the subscription was made, or read when it starts.
   */
  head: number | (() => Promise<number>);
  read(after: number, limit: number): StoredEvent[] | Promise<StoredEvent[]>;
  ended(subscription: PullSubscription): void;
}

/** Adds `done` to the port's `Subscription`. */
export interface ObservableSubscription extends Subscription {
  /**
   * Settles when the subscription has ended: resolves after `stop()` or the store's `close()`, rejects
   * with the handler's (or the database's) error when delivery failed; no batch after the failed one is
   * delivered, so the consumer resumes from its own checkpoint. Marked as handled.
   */
  readonly done: Promise<void>;
}

export class PullSubscription implements ObservableSubscription {
  readonly caughtUp: Promise<void>;
  readonly done: Promise<void>;
  readonly #params: PullSubscriptionParams;
  readonly #loop: Promise<void>;
  #resolveCaughtUp!: () => void;
  #rejectCaughtUp!: (error: unknown) => void;
  #caughtUpSettled = false;
  #stopped = false;
  /** Set by a wake-up; cleared before each read, so a wake-up during a read is never lost. */
  #signalled = false;
  #wake: (() => void) | undefined;

  constructor(params: PullSubscriptionParams) {
    this.#params = params;
    this.caughtUp = new Promise<void>((resolve, reject) => {
      this.#resolveCaughtUp = resolve;
      this.#rejectCaughtUp = reject;
    });
    this.caughtUp.catch(() => {}); // handled: the error is also on `done`
    let resolveDone!: () => void;
    let rejectDone!: (error: unknown) => void;
    this.done = new Promise<void>((resolve, reject) => {
      resolveDone = resolve;
      rejectDone = reject;
    });
    this.done.catch(() => {});
    // Start on a later tick: the handler never runs inside subscribeToAll.
    this.#loop = nextTurn().then(() => this.#run()).then(resolveDone, rejectDone);
  }

  /** Something may have been committed: read again now. */
  notify(): void {
    this.#signalled = true;
    const wake = this.#wake;
    if (wake) {
      this.#wake = undefined;
      wake();
    }
  }

  stop(): Promise<void> {
    this.#stopped = true;
    this.notify();
    return this.#loop.then(
      () => undefined,
      () => undefined,
    );
  }

  #settleCaughtUp(error?: unknown): void {
    if (this.#caughtUpSettled) return;
    this.#caughtUpSettled = true;
    if (error === undefined) this.#resolveCaughtUp();
    else this.#rejectCaughtUp(error);
  }

  #sleep(): Promise<void> {
    const pollIntervalMs = this.#params.pollIntervalMs;
    return new Promise<void>((resolve) => {
      if (pollIntervalMs === undefined) {
        this.#wake = resolve;
        return;
      }
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, pollIntervalMs);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    const { batchSize, handler, read } = this.#params;
    let position = this.#params.after;
    try {
      const head = this.#params.head;
      const target = typeof head === 'number' ? head : await head();
      if (position >= target) this.#settleCaughtUp();
      while (!this.#stopped) {
        this.#signalled = false;
        const batch = await read(position, batchSize);
        if (this.#stopped) break;
        if (batch.length === 0) {
          // Nothing committed after the position (readers see positions in commit order): caught up.
          this.#settleCaughtUp();
          if (!this.#signalled && !this.#stopped) await this.#sleep();
          continue;
        }
        await handler(batch);
        position = batch[batch.length - 1]!.globalPosition;
        if (position >= target) this.#settleCaughtUp();
        // A full batch means a backlog: let I/O (and SQLite's append flush) run between batches.
        if (batch.length === batchSize) await nextTurn();
      }
      this.#settleCaughtUp(new SubscriptionStoppedError());
    } catch (error) {
      this.#stopped = true;
      this.#settleCaughtUp(error);
      throw error;
    } finally {
      this.#params.ended(this);
    }
  }
}
