/**
 * Timers as a port, so the alert scheduler is driven by an injected clock in tests (contributing.md:
 * time comes from a Clock, never from sleeping).
 */
import type { ManualClock } from '@tracker/domain';

export type TimerHandle = unknown;

export interface Timers {
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Node's timers, unref'd: a pending alert check never keeps the process alive. */
export const systemTimers: Timers = {
  setTimeout(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    timer.unref?.();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Pending {
  id: number;
  at: number;
  callback: () => void;
}

/**
 * Timers on a ManualClock: nothing fires until the test moves time with `advance`/`advanceTo`, which
 * runs every timer that falls due on the way, in order, with the clock set to each one's instant.
 */
export class ManualTimers implements Timers {
  readonly #clock: ManualClock;
  #pending: Pending[] = [];
  #next = 1;

  constructor(clock: ManualClock) {
    this.#clock = clock;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
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

  /** Moves the clock to `instant`, firing due timers in order on the way. */
  advanceTo(instant: Date | string | number): void {
    const target = typeof instant === 'number' ? instant : new Date(instant).getTime();
    for (;;) {
      const due = this.#pending.filter((p) => p.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#pending = this.#pending.filter((p) => p !== due);
      if (due.at > this.#clock.now().getTime()) this.#clock.set(new Date(due.at));
      due.callback();
    }
    if (target > this.#clock.now().getTime()) this.#clock.set(new Date(target));
  }

  advance(ms: number): void {
    this.advanceTo(this.#clock.now().getTime() + ms);
  }
}
