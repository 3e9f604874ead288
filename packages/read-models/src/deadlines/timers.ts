/**
 * Timers as a port, so the alert scheduler is driven by an injected clock in tests (contributing.md:
 * time comes from a Clock, never from sleeping). A callback may return a promise (an asynchronous
 * check): ManualTimers waits for it before moving on, so a test sees its effects when `advance` resolves.
 */
import type { ManualClock } from '@tracker/domain';

export type TimerHandle = unknown;

export type TimerCallback = () => void | Promise<void>;

export interface Timers {
  /** The callback must not reject: errors are its own to report. */
  setTimeout(callback: TimerCallback, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Node's timers, unref'd: a pending alert check never keeps the process alive. */
export const systemTimers: Timers = {
  setTimeout(callback, delayMs) {
    const timer = setTimeout(() => void callback(), delayMs);
    timer.unref?.();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Pending {
  id: number;
  at: number;
  callback: TimerCallback;
}

/**
 * Timers on a ManualClock: nothing fires until the test moves time with `advance`/`advanceTo`, which
 * runs every timer that falls due on the way, in order, with the clock set to each one's instant, each
 * to its end (its promise, if it returns one) before the next.
 */
export class ManualTimers implements Timers {
  readonly #clock: ManualClock;
  #pending: Pending[] = [];
  #next = 1;

  constructor(clock: ManualClock) {
    this.#clock = clock;
  }

  setTimeout(callback: TimerCallback, delayMs: number): TimerHandle {
    const id = this.#next++;
    this.#pending.push({ id, at: this.#clock.now().getTime() + Math.max(0, delayMs), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#pending = this.#pending.filter((p) => p.id !== handle);
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Moves the clock to `instant`, firing due timers in order on the way; resolves when they have run. */
  async advanceTo(instant: Date | string | number): Promise<void> {
    const target = typeof instant === 'number' ? instant : new Date(instant).getTime();
    for (;;) {
      const due = this.#pending.filter((p) => p.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#pending = this.#pending.filter((p) => p !== due);
      if (due.at > this.#clock.now().getTime()) this.#clock.set(new Date(due.at));
      await due.callback();
    }
    if (target > this.#clock.now().getTime()) this.#clock.set(new Date(target));
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.#clock.now().getTime() + ms);
  }
}
