/**
 * Deadline alerts: every state change of a clock worth telling someone about — AT_RISK, BREACHED,
 * MET_LATE (domain `alertTransitions`) — published exactly once, at its instant, even when no event
 * arrives then.
 *
 * How it stays exactly-once across restarts (an outbox in the read-model database):
 * - Each new alert is recorded in `deadline_alerts`, unique per citizen, clock and kind, so recording
 *   it again is a no-op; the scheduler's watermarks are written in the same transaction. Only after the
 *   commit are the new alerts handed to the live listeners. A crash before the commit records nothing
 *   (the next run finds the same changes again); after it, they are never recorded again.
 * - Which clocks may have changed is found through two watermarks, never by scanning everything:
 *   time — clocks with an instant (at-risk, due, stop, appearance) in (checked until, now];
 *   data — clocks whose defining events arrived since (`source_position` newer than the last seen):
 *   that is how a late event that moves a clock into the past is noticed. A past AT_RISK or BREACHED
 *   is news only when the clock's start arrived since, a past MET_LATE when its start or stop did; a
 *   clock merely re-derived because of an unrelated event keeps its positions, so its past is not news.
 * - On the very first start the watermarks are set to now and the current position: the history
 *   already in the store is not alerted. A change of policies rebuilds the clocks at their old
 *   positions, so a new policy alerts from then on, not for the past.
 * - A late event may reveal a change that happened long ago (a backfill from a case system). Those
 *   older than `lateDiscoveryHorizonMs` are recorded as not published: no flood of stale alerts. So is
 *   an AT_RISK that is no longer current when it is found (the clock was met or breached since, e.g.
 *   while the process was down): the BREACHED that superseded it is what is news.
 * - Idle checks write nothing; the watermarks are persisted with alerts and at least every
 *   `persistEveryMs`. After a restart the window since the last persisted watermark is checked again,
 *   which finds only alerts already recorded (no-ops) or ones not yet recorded (never lost).
 *
 * One scheduler per read-model database. The outbox is the alert stream: `alertsAfter(sequence)`
 * reads it in order, so a Kafka relay (transitions.alerts.v1, key = citizenId) can publish it with its
 * own stored offset, and a subscriber can replay what it missed.
 */
import type Database from 'better-sqlite3';
import type { Clock } from '@tracker/domain';
import { DEADLINE_CLOCKS_TABLE } from './deadlineDerivation.ts';
import { alertTransitions, deadlineStatusAt, type DeadlineAlertKind } from '@tracker/domain';
import { systemTimers, type TimerHandle, type Timers } from './timers.ts';

export interface DeadlineAlert {
  /** Position in the alert stream: increasing (with gaps where an alert was recorded unpublished). */
  sequence: number;
  kind: DeadlineAlertKind;
  citizenId: string;
  clockId: string;
  policy: string;
  unitId: string | null;
  /** When the change happened (the at-risk, due or stop instant). */
  atMs: number;
  /** When the scheduler noticed it. */
  detectedMs: number;
  startedMs: number;
  dueMs: number;
  atRiskMs: number;
  stoppedMs: number | null;
}

export type DeadlineAlertListener = (alert: DeadlineAlert) => void;

/** What a live subscriber needs: the GraphQL feed depends on this, not on the scheduler. */
export interface DeadlineAlertSource {
  subscribe(listener: DeadlineAlertListener): () => void;
  alertsAfter(sequence: number, limit?: number): DeadlineAlert[];
}

export interface DeadlineAlertSchedulerOptions {
  /** The read-model database holding `deadline_clocks` (SqliteReadModel.database). */
  database: Database.Database;
  clock: Clock;
  timers?: Timers;
  /** Longest wait between checks, for clocks changed by new events; default 1 s. */
  pollIntervalMs?: number;
  /** Changes discovered later than this after they happened are recorded but not published; default 7 days. */
  lateDiscoveryHorizonMs?: number;
  /** Longest time between writes of the watermarks while idle; default 1 minute. */
  persistEveryMs?: number;
  onError?: (error: unknown) => void;
}

const ALERTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS deadline_alerts (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  citizen_id TEXT NOT NULL, clock_id TEXT NOT NULL, kind TEXT NOT NULL,
  policy TEXT NOT NULL, unit_id TEXT,
  at_ms INTEGER NOT NULL, detected_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL, due_ms INTEGER NOT NULL, at_risk_ms INTEGER NOT NULL, stopped_ms INTEGER,
  -- 0: discovered too late to be news (see lateDiscoveryHorizonMs); kept so it is never published later
  published INTEGER NOT NULL,
  UNIQUE (citizen_id, clock_id, kind)
);
CREATE TABLE IF NOT EXISTS deadline_alert_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

const KIND_ORDER: Record<DeadlineAlertKind, number> = { AT_RISK: 0, BREACHED: 1, MET_LATE: 2 };
const DAY = 86_400_000;
const T = DEADLINE_CLOCKS_TABLE;
const ROW = `citizen_id, clock_id, policy, unit_id, started_ms, due_ms, at_risk_ms, stopped_ms, visible_from_ms, visible_until_ms, start_position, source_position`;

interface ClockRow {
  citizen_id: string;
  clock_id: string;
  policy: string;
  unit_id: string | null;
  started_ms: number;
  due_ms: number;
  at_risk_ms: number;
  stopped_ms: number | null;
  visible_from_ms: number;
  visible_until_ms: number | null;
  start_position: number;
  source_position: number;
}

interface Watermarks {
  /** Every change up to this instant has been recorded. */
  checkedUntil: number;
  /** Every clock defined by events up to this position has been looked at. */
  seenPosition: number;
  /** The checkedUntil last written to the database. */
  persistedUntil: number;
}

interface AlertRow {
  sequence: number;
  kind: DeadlineAlertKind;
  citizen_id: string;
  clock_id: string;
  policy: string;
  unit_id: string | null;
  at_ms: number;
  detected_ms: number;
  started_ms: number;
  due_ms: number;
  at_risk_ms: number;
  stopped_ms: number | null;
}

const toAlert = (r: AlertRow): DeadlineAlert => ({
  sequence: r.sequence,
  kind: r.kind,
  citizenId: r.citizen_id,
  clockId: r.clock_id,
  policy: r.policy,
  unitId: r.unit_id,
  atMs: r.at_ms,
  detectedMs: r.detected_ms,
  startedMs: r.started_ms,
  dueMs: r.due_ms,
  atRiskMs: r.at_risk_ms,
  stoppedMs: r.stopped_ms,
});

export class DeadlineAlertScheduler implements DeadlineAlertSource {
  readonly #db: Database.Database;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #pollMs: number;
  readonly #horizonMs: number;
  readonly #persistEveryMs: number;
  #watermarks: Watermarks | undefined;
  readonly #onError: (error: unknown) => void;
  readonly #listeners = new Set<DeadlineAlertListener>();
  readonly #s;
  #timer: TimerHandle | undefined;
  #running = false;

  constructor({
    database,
    clock,
    timers = systemTimers,
    pollIntervalMs = 1_000,
    lateDiscoveryHorizonMs = 7 * DAY,
    persistEveryMs = 60_000,
    onError = () => {},
  }: DeadlineAlertSchedulerOptions) {
    this.#db = database;
    this.#clock = clock;
    this.#timers = timers;
    this.#pollMs = pollIntervalMs;
    this.#horizonMs = lateDiscoveryHorizonMs;
    this.#persistEveryMs = persistEveryMs;
    this.#onError = onError;
    database.exec(ALERTS_SCHEMA);
    const range = (column: string) => `SELECT ${ROW} FROM ${T} WHERE ${column} > :from AND ${column} <= :to`;
    const next = (column: string) => `SELECT min(${column}) AS t FROM ${T} WHERE ${column} > :now`;
    this.#s = {
      state: database.prepare<[string], { value: number }>('SELECT value FROM deadline_alert_state WHERE name = ?'),
      setState: database.prepare<[string, number]>('INSERT OR REPLACE INTO deadline_alert_state (name, value) VALUES (?, ?)'),
      maxPosition: database.prepare<[], { p: number | null }>(`SELECT max(source_position) AS p FROM ${T}`),
      byTime: database.prepare<{ from: number; to: number }, ClockRow>(
        [range('at_risk_ms'), range('due_ms'), range('stopped_ms'), range('visible_from_ms')].join(' UNION '),
      ),
      byPosition: database.prepare<[number], ClockRow>(`SELECT ${ROW} FROM ${T} WHERE source_position > ?`),
      next: ['at_risk_ms', 'due_ms', 'stopped_ms', 'visible_from_ms'].map((c) => database.prepare<{ now: number }, { t: number | null }>(next(c))),
      insert: database.prepare(
        `INSERT INTO deadline_alerts (citizen_id, clock_id, kind, policy, unit_id, at_ms, detected_ms, started_ms, due_ms, at_risk_ms, stopped_ms, published)
         VALUES (@citizenId, @clockId, @kind, @policy, @unitId, @atMs, @detectedMs, @startedMs, @dueMs, @atRiskMs, @stoppedMs, @published)
         ON CONFLICT (citizen_id, clock_id, kind) DO NOTHING`,
      ),
      after: database.prepare<[number, number], AlertRow>(
        `SELECT sequence, kind, citizen_id, clock_id, policy, unit_id, at_ms, detected_ms, started_ms, due_ms, at_risk_ms, stopped_ms
         FROM deadline_alerts WHERE sequence > ? AND published = 1 ORDER BY sequence LIMIT ?`,
      ),
      last: database.prepare<[], { s: number | null }>('SELECT max(sequence) AS s FROM deadline_alerts WHERE published = 1'),
    };
  }

  /** Live alerts from now on; returns the unsubscribe function. */
  subscribe(listener: DeadlineAlertListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Published alerts after a sequence number, in order: the durable stream (replay, Kafka relay). */
  alertsAfter(sequence: number, limit = 1_000): DeadlineAlert[] {
    return this.#s.after.all(sequence, limit).map(toAlert);
  }

  /** The last published sequence number (0 when none). */
  get lastSequence(): number {
    return this.#s.last.get()?.s ?? 0;
  }

  /** Checks now, then keeps checking: at each next at-risk/due instant, and at least every poll interval. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#check();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    try {
      this.tick();
    } catch (error) {
      this.#onError(error);
    }
    if (!this.#running) return;
    const now = this.#clock.now().getTime();
    let next: number | null = null;
    for (const s of this.#s.next) {
      const t = s.get({ now })?.t ?? null;
      if (t !== null && (next === null || t < next)) next = t;
    }
    const delay = next === null ? this.#pollMs : Math.min(this.#pollMs, Math.max(0, next - now));
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.#check();
    }, delay);
  }

  /**
   * One check at the clock's now: records every new alert and hands the published ones to the
   * listeners, in the order they happened. Returns them.
   */
  tick(): DeadlineAlert[] {
    const now = this.#clock.now().getTime();
    const marks = this.#watermarks ?? this.#readWatermarks();
    const maxPosition = this.#s.maxPosition.get()?.p ?? 0;
    if (marks === undefined) {
      // First start: what is already in the store is history, not news.
      this.#db.transaction(() => this.#writeWatermarks(now, maxPosition)).immediate();
      this.#watermarks = { checkedUntil: now, seenPosition: maxPosition, persistedUntil: now };
      return [];
    }
    this.#watermarks = marks;
    if (now <= marks.checkedUntil && maxPosition <= marks.seenPosition) return [];
    const { checkedUntil, seenPosition } = marks;

    const candidates = new Map<string, ClockRow>();
    const add = (row: ClockRow) => candidates.set(`${row.citizen_id}\u0000${row.clock_id}\u0000${row.visible_from_ms}`, row);
    if (now > checkedUntil) for (const row of this.#s.byTime.all({ from: checkedUntil, to: now })) add(row);
    if (maxPosition > seenPosition) for (const row of this.#s.byPosition.all(seenPosition)) add(row);

    const found: (Omit<DeadlineAlert, 'sequence'> & { publish: boolean })[] = [];
    for (const row of candidates.values()) {
      // AT_RISK and BREACHED are news when the clock's start arrived since; MET_LATE when its start or stop did.
      const startIsNews = row.start_position > seenPosition;
      const stopIsNews = row.source_position > seenPosition;
      const current = deadlineStatusAt({ atRiskAt: row.at_risk_ms, dueAt: row.due_ms, stoppedAt: row.stopped_ms }, now);
      const transitions = alertTransitions({
        atRiskAt: row.at_risk_ms,
        dueAt: row.due_ms,
        stoppedAt: row.stopped_ms,
        visibleFrom: row.visible_from_ms,
        visibleUntil: row.visible_until_ms,
      });
      for (const { kind, at } of transitions) {
        if (at > now) continue;
        // Already past at the last check: news only if the events it depends on just arrived.
        if (at <= checkedUntil && !(kind === 'MET_LATE' ? stopIsNews : startIsNews)) continue;
        found.push({
          kind,
          citizenId: row.citizen_id,
          clockId: row.clock_id,
          policy: row.policy,
          unitId: row.unit_id,
          atMs: at,
          detectedMs: now,
          startedMs: row.started_ms,
          dueMs: row.due_ms,
          atRiskMs: row.at_risk_ms,
          stoppedMs: row.stopped_ms,
          // Not news: long past when discovered, or an AT_RISK already superseded (met or breached since).
          publish: !(at <= checkedUntil && at < now - this.#horizonMs) && !(kind === 'AT_RISK' && current !== 'AT_RISK'),
        });
      }
    }
    found.sort((a, b) => a.atMs - b.atMs || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.citizenId.localeCompare(b.citizenId) || a.clockId.localeCompare(b.clockId));

    const checked = Math.max(now, checkedUntil);
    const seen = Math.max(maxPosition, seenPosition);
    const published: DeadlineAlert[] = [];
    if (found.length > 0 || checked - marks.persistedUntil >= this.#persistEveryMs) {
      this.#db
        .transaction(() => {
          for (const { publish, ...alert } of found) {
            const result = this.#s.insert.run({ ...alert, published: publish ? 1 : 0 });
            if (result.changes === 1 && publish) published.push({ ...alert, sequence: Number(result.lastInsertRowid) });
          }
          this.#writeWatermarks(checked, seen);
        })
        .immediate();
      this.#watermarks = { checkedUntil: checked, seenPosition: seen, persistedUntil: checked };
    } else {
      this.#watermarks = { checkedUntil: checked, seenPosition: seen, persistedUntil: marks.persistedUntil };
    }

    for (const alert of published) {
      for (const listener of this.#listeners) {
        try {
          listener(alert);
        } catch (error) {
          this.#onError(error);
        }
      }
    }
    return published;
  }

  #readWatermarks(): Watermarks | undefined {
    const checkedUntil = this.#s.state.get('checked_until_ms')?.value;
    const seenPosition = this.#s.state.get('source_position')?.value;
    if (checkedUntil === undefined || seenPosition === undefined) return undefined;
    return { checkedUntil, seenPosition, persistedUntil: checkedUntil };
  }

  #writeWatermarks(checkedUntil: number, seenPosition: number): void {
    this.#s.setState.run('checked_until_ms', checkedUntil);
    this.#s.setState.run('source_position', seenPosition);
  }
}
