/**
 * Keeps the read models up to date: a catch-up subscription to the store from the read models'
 * checkpoint. Callers that just appended can wait for their position (read-your-writes).
 */
import type { StoredEvent } from '@tracker/domain';
import type { EventStore, Subscription } from '@tracker/event-store';

/** A read-model store the projector writes into; batch and checkpoint commit together. */
export interface ProjectionTarget {
  /** With `deferDerivations`, per-citizen derivations may wait for `deriveDeferred` (catch-up). */
  applyBatch(events: readonly StoredEvent[], options?: { deferDerivations?: boolean }): void | Promise<void>;
  /** Replays the derivations deferred during catch-up, each citizen once. */
  deriveDeferred?(): unknown;
  checkpoint(): Promise<number>;
  reset(): void | Promise<void>;
  /** The stored read models were built with another configuration or schema. */
  readonly needsRebuild: boolean;
}

export interface ProjectorOptions {
  store: EventStore;
  target: ProjectionTarget;
  batchSize?: number;
  /** Called when applying a batch fails; the projector stops (its readiness then fails). */
  onError?: (error: unknown) => void;
}

interface Waiter {
  position: number;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class Projector {
  readonly #store: EventStore;
  readonly #target: ProjectionTarget;
  readonly #batchSize: number;
  readonly #onError: (error: unknown) => void;
  #subscription: Subscription | undefined;
  #position = 0;
  #waiters: Waiter[] = [];
  #failed: Error | undefined;

  constructor({ store, target, batchSize = 2_000, onError = () => {} }: ProjectorOptions) {
    this.#store = store;
    this.#target = target;
    this.#batchSize = batchSize;
    this.#onError = onError;
  }

  /** Starts projecting; resolves once the read models have caught up with the store. */
  async start(): Promise<void> {
    if (this.#target.needsRebuild) await this.#target.reset();
    this.#position = await this.#target.checkpoint();
    this.#failed = undefined;
    // While catching up, a citizen spread over many batches would be derived again after each one;
    // deferring derives every citizen once, after the last batch of the catch-up.
    const catchUpEnd = this.#target.deriveDeferred ? await this.#store.headPosition() : 0;
    this.#subscription = this.#store.subscribeToAll({ after: this.#position, batchSize: this.#batchSize }, async (events) => {
      try {
        await this.#target.applyBatch(events, { deferDerivations: events[events.length - 1]!.globalPosition <= catchUpEnd });
      } catch (error) {
        this.#fail(error);
        throw error;
      }
      this.#position = events[events.length - 1]!.globalPosition;
      this.#release();
    });
    await this.#subscription.caughtUp;
    // Also replays citizens left marked by a catch-up that a crash interrupted.
    await this.#target.deriveDeferred?.();
  }

  /** Drops the read models and replays the whole store into them. */
  async rebuild(): Promise<void> {
    await this.stop();
    await this.#target.reset();
    await this.start();
  }

  async stop(): Promise<void> {
    const subscription = this.#subscription;
    this.#subscription = undefined;
    await subscription?.stop();
  }

  /** The last global position applied to the read models. */
  position(): number {
    return this.#position;
  }

  get healthy(): boolean {
    return this.#subscription !== undefined && this.#failed === undefined;
  }

  /** Resolves when the read models include the given global position. */
  waitFor(position: number, { timeoutMs = 5_000 }: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#position >= position) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { position, resolve, reject, timer: undefined };
      waiter.timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`read models did not reach position ${position} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiter.timer.unref?.();
      this.#waiters.push(waiter);
    });
  }

  #release(): void {
    const [ready, waiting] = partition(this.#waiters, (w) => w.position <= this.#position);
    this.#waiters = waiting;
    for (const w of ready) {
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  #fail(error: unknown): void {
    this.#failed = error instanceof Error ? error : new Error(String(error));
    this.#onError(error);
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.reject(this.#failed);
    }
    this.#waiters = [];
  }
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
