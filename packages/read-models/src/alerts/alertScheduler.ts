/**
 * Deadline and gap alerts: every state change worth telling someone about — a clock AT_RISK, BREACHED
 * or MET_LATE (domain `alertTransitions`), a gap OPENED, OVERDUE or CLOSED (`gapTransitions`) —
 * recorded exactly once, at its instant, even when no event arrives then. The decisions are pure
 * (alertDecisions.ts); a store port (`AlertStore`) holds the rows and the outbox: SQLite in embedded
 * mode (sqliteAlertStore.ts), PostgreSQL in distributed mode (postgresAlertStore.ts).
 *
 * How it stays exactly-once across restarts (an outbox beside the read models):
 * - Each new alert is recorded in the outbox, unique per citizen, subject (clock or gap) and kind, so
 *   recording it again is a no-op; the scheduler's watermarks are written in the same transaction.
 *   Only after the commit are the new alerts handed to the live listeners. A crash before the commit
 *   records nothing (the next check finds the same changes again); after it, they are never recorded
 *   again.
 * - Which rows may have changed is found through two watermarks, never by scanning everything:
 *   time — rows with an instant (at-risk, due, stop, start, end, appearance) in (checked until, now];
 *   data — rows whose events arrived since the last check: that is how a late event that moves a
 *   change into the past is noticed. The store decides what "arrived since" means: on SQLite the
 *   global positions grow in commit order, so it is "newer than the last position seen"; on
 *   PostgreSQL, where projector instances commit in any order, it is the change feed the read model
 *   writes in each batch's transaction, consumed in the check's.
 * - On the very first start the watermarks are set to now and to what the store holds: the history
 *   already there is not alerted. A rebuild of the read models re-derives rows at their old positions,
 *   so it alerts nothing it would not have alerted anyway.
 * - Changes discovered later than `lateDiscoveryHorizonMs` after they happened are recorded as not
 *   published: no flood of stale alerts. So is an AT_RISK already superseded when found.
 * - Idle checks write nothing; the time watermark is persisted with alerts and at least every
 *   `persistEveryMs`. After a restart the window since the last persisted watermark is checked again,
 *   which finds only alerts already recorded (no-ops) or ones not yet recorded (never lost).
 *
 * The outbox is the alert stream: `alertsAfter(sequence)` reads the published alerts in order, so a
 * Kafka relay (transitions.alerts.v1) publishes it with its own stored offset, and a subscriber
 * replays what it missed.
 */
import type { Clock } from '@tracker/domain';
import { systemTimers, type TimerHandle, type Timers } from '../deadlines/timers.ts';
import { newAlerts, type AlertCandidates, type NewAlert } from './alertDecisions.ts';
import type { AlertListener, AlertSource, RecordedAlert } from './alertRecords.ts';

const DAY = 86_400_000;

/** One check's view of a store: what it reads and what it records commit together. */
export interface AlertCheck {
  /** The persisted time watermark; undefined before the very first start. */
  checkedUntil(): Promise<number | undefined>;
  /** The very first start: `now` is checked, and whatever the store holds is history, not news. */
  startFresh(now: number): Promise<void>;
  /**
   * The rows that may have changed: with an instant in (from, to], or whose events arrived since the
   * last check. `rebuilding` while the read models are being rebuilt: check again later.
   */
  candidates(from: number, to: number): Promise<AlertCandidates | 'rebuilding'>;
  /** Records the alerts (those recorded before are left alone) and the time watermark; returns the newly recorded published ones. */
  record(alerts: readonly NewAlert[], checkedUntil: number): Promise<RecordedAlert[]>;
}

/** Where the scheduler's rows, outbox and watermarks live. */
export interface AlertStore {
  /** Runs one check; everything it reads and records is one unit of work. */
  check<T>(work: (check: AlertCheck) => Promise<T>): Promise<T>;
  /** Published alerts after a sequence number, in order. */
  alertsAfter(sequence: number, limit: number): Promise<RecordedAlert[]>;
  /** The last published sequence number (0 when none). */
  lastSequence(): Promise<number>;
  /** The earliest instant after `now` at which a stored row changes state by time alone, if any. */
  nextInstant(now: number): Promise<number | null>;
  /**
   * Optional, cheap: true when a check over (from, to] would find nothing — no row with an instant in
   * it, no event arrived, no rebuild under way — so an idle check costs one query, and no transaction.
   */
  quiet?(from: number, to: number): Promise<boolean>;
}

export interface AlertSchedulerOptions {
  store: AlertStore;
  clock: Clock;
  timers?: Timers;
  /** Longest wait between checks, for rows changed by new events; default 1 s. */
  pollIntervalMs?: number;
  /** Changes discovered later than this after they happened are recorded but not published; default 7 days. */
  lateDiscoveryHorizonMs?: number;
  /** Longest time between writes of the time watermark while idle; default 1 minute. */
  persistEveryMs?: number;
  onError?: (error: unknown) => void;
}

interface Watermarks {
  /** Every change up to this instant has been recorded. */
  checkedUntil: number;
  /** The checkedUntil last written to the store. */
  persistedUntil: number;
}

interface Outcome {
  marks: Watermarks;
  published: RecordedAlert[];
  more: boolean;
  rebuilding: boolean;
  /** Nothing could have changed: the next instant known from before still holds. */
  quiet: boolean;
}

export class AlertScheduler implements AlertSource {
  readonly #store: AlertStore;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #pollMs: number;
  readonly #horizonMs: number;
  readonly #persistEveryMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #listeners = new Set<AlertListener>();
  #marks: Watermarks | undefined;
  /** The next instant of change as last asked (null: none); kept over quiet checks. */
  #next: number | null | undefined;
  #rebuilding = false;
  /** Checks run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();
  #timer: TimerHandle | undefined;
  #loop: Promise<void> | undefined;
  #running = false;

  constructor({ store, clock, timers = systemTimers, pollIntervalMs = 1_000, lateDiscoveryHorizonMs = 7 * DAY, persistEveryMs = 60_000, onError = () => {} }: AlertSchedulerOptions) {
    for (const [name, value] of Object.entries({ pollIntervalMs, lateDiscoveryHorizonMs, persistEveryMs })) {
      if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number of milliseconds`);
    }
    this.#store = store;
    this.#clock = clock;
    this.#timers = timers;
    this.#pollMs = pollIntervalMs;
    this.#horizonMs = lateDiscoveryHorizonMs;
    this.#persistEveryMs = persistEveryMs;
    this.#onError = onError;
  }

  /** Live alerts from now on; returns the unsubscribe function. */
  subscribe(listener: AlertListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Published alerts after a sequence number, in order: the durable stream (replay, Kafka relay). */
  alertsAfter(sequence: number, limit = 1_000): Promise<RecordedAlert[]> {
    return this.#store.alertsAfter(sequence, limit);
  }

  /** The last published sequence number (0 when none). */
  lastSequence(): Promise<number> {
    return this.#store.lastSequence();
  }

  /** True while the last check waited for a rebuild of the read models to finish (nothing is alerted meanwhile). */
  get waitingForRebuild(): boolean {
    return this.#rebuilding;
  }

  /**
   * Checks now, then keeps checking: at each next instant a row changes state, and at least every poll
   * interval. Resolves after the first check.
   */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.#check();
  }

  /** Stops checking; resolves once a check in progress has finished (the store may then be closed). */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#loop;
    await this.#queue;
  }

  #check(): Promise<void> {
    const loop = (async () => {
      let outcome: Outcome | undefined;
      try {
        outcome = await this.#enqueue();
      } catch (error) {
        this.#onError(error);
      }
      if (!this.#running) return;
      let delay = this.#pollMs;
      if (outcome?.more) delay = 0;
      else {
        try {
          const now = this.#clock.now().getTime();
          // Rows change only with events, and a check that saw none was quiet: the last answer holds.
          const known = this.#next;
          const stale = !outcome?.quiet || known === undefined || (known !== null && known <= now);
          const next = stale ? await this.#store.nextInstant(now) : known;
          this.#next = next;
          if (next !== null) delay = Math.min(this.#pollMs, Math.max(0, next - now));
        } catch (error) {
          this.#next = undefined;
          this.#onError(error);
        }
      }
      if (!this.#running) return;
      this.#timer = this.#timers.setTimeout(() => {
        this.#timer = undefined;
        return this.#check();
      }, delay);
    })();
    this.#loop = loop;
    return loop;
  }

  /**
   * One check at the clock's now: records every new alert and hands the published ones to the
   * listeners, in the order they happened. Returns them.
   */
  async tick(): Promise<RecordedAlert[]> {
    return (await this.#enqueue()).published;
  }

  #enqueue(): Promise<Outcome> {
    const run = this.#queue.then(() => this.#tick());
    this.#queue = run.catch(() => {});
    return run;
  }

  async #tick(): Promise<Outcome> {
    const now = this.#clock.now().getTime();
    const marks = this.#marks;
    if (marks !== undefined && this.#store.quiet !== undefined && !this.#rebuilding && now - marks.persistedUntil < this.#persistEveryMs) {
      const checked = Math.max(now, marks.checkedUntil);
      if (await this.#store.quiet(marks.checkedUntil, checked)) {
        this.#marks = { checkedUntil: checked, persistedUntil: marks.persistedUntil };
        return { marks: this.#marks, published: [], more: false, rebuilding: false, quiet: true };
      }
    }
    const outcome = await this.#store.check(async (check): Promise<Outcome> => {
      const stored = await check.checkedUntil();
      const known = this.#marks;
      if (stored === undefined && known === undefined) {
        // First start: what is already in the store is history, not news.
        await check.startFresh(now);
        return { marks: { checkedUntil: now, persistedUntil: now }, published: [], more: false, rebuilding: false, quiet: false };
      }
      // The larger of ours and the stored one: another scheduler on the same store may have moved it.
      const checkedUntil = Math.max(known?.checkedUntil ?? Number.NEGATIVE_INFINITY, stored ?? Number.NEGATIVE_INFINITY);
      const persistedUntil = Math.max(known?.persistedUntil ?? Number.NEGATIVE_INFINITY, stored ?? Number.NEGATIVE_INFINITY);
      const checked = Math.max(now, checkedUntil);
      const candidates = await check.candidates(checkedUntil, checked);
      // Rows are missing or half-derived during a rebuild: time stands still until it is complete.
      if (candidates === 'rebuilding') return { marks: { checkedUntil, persistedUntil }, published: [], more: false, rebuilding: true, quiet: false };
      const more = candidates.more ?? false;
      const found = newAlerts(candidates, { checkedUntil, now, lateDiscoveryHorizonMs: this.#horizonMs });
      if (found.length === 0 && checked - persistedUntil < this.#persistEveryMs) {
        return { marks: { checkedUntil: checked, persistedUntil }, published: [], more, rebuilding: false, quiet: false };
      }
      const published = await check.record(found, checked);
      return { marks: { checkedUntil: checked, persistedUntil: checked }, published, more, rebuilding: false, quiet: false };
    });
    // Committed: only now do the watermarks move and the listeners hear of it.
    this.#marks = outcome.marks;
    this.#rebuilding = outcome.rebuilding;
    for (const alert of outcome.published) {
      for (const listener of this.#listeners) {
        try {
          listener(alert);
        } catch (error) {
          this.#onError(error);
        }
      }
    }
    return outcome;
  }
}
