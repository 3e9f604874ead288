/**
 * The alert scheduler's store on the embedded SQLite read-model database (SqliteReadModel.database):
 * the outbox and watermarks in tables beside the read models, the deadline clocks and gaps those
 * hold (whichever of the two derivations the read model has).
 *
 * One projector writes the database, in global-position order, so "arrived since the last check" is
 * "a position newer than the last one seen": the data watermark is a position, read before the rows
 * and written with the alerts. One scheduler per database.
 */
import type Database from 'better-sqlite3';
import { DEADLINE_CLOCKS_TABLE } from '../deadlines/deadlineDerivation.ts';
import { GAPS_TABLE } from '../gaps/gapsDerivation.ts';
import type { AlertCheck, AlertStore } from './alertScheduler.ts';
import type { NewAlert } from './alertDecisions.ts';
import type { RecordedAlert } from './alertRecords.ts';
import {
  CLOCK_COLUMNS,
  CLOCK_INSTANTS,
  clockCandidate,
  GAP_COLUMNS,
  GAP_INSTANTS,
  gapCandidate,
  OUTBOX_COLUMNS,
  OUTBOX_TABLE,
  outboxCells,
  recordedAlertOf,
  sequenced,
  STATE_TABLE,
  type ClockRow,
  type GapRow,
  type OutboxRow,
} from './outboxRows.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${OUTBOX_TABLE} (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  about TEXT NOT NULL, citizen_id TEXT NOT NULL, subject_id TEXT NOT NULL, kind TEXT NOT NULL,
  at_ms INTEGER NOT NULL, detected_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL,
  due_ms INTEGER, at_risk_ms INTEGER, stopped_ms INTEGER, ended_ms INTEGER,
  policy TEXT, unit_id TEXT, gap_kind TEXT, from_unit_id TEXT, to_unit_id TEXT, relative_id TEXT,
  -- 0: discovered too late to be news (or superseded); kept so it is never published later
  published INTEGER NOT NULL,
  UNIQUE (about, citizen_id, subject_id, kind)
);
CREATE TABLE IF NOT EXISTS ${STATE_TABLE} (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

/**
 * Databases written before gap alerts kept deadline alerts in `deadline_alerts` and the watermarks in
 * `deadline_alert_state`: moved over once, sequence numbers kept, so subscribers' and relays'
 * positions in the stream stay valid.
 */
function migrateDeadlineOutbox(db: Database.Database): void {
  const has = (name: string) => db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
  if (!has('deadline_alerts') && !has('deadline_alert_state')) return;
  db.transaction(() => {
    if (has('deadline_alerts')) {
      db.exec(`INSERT OR IGNORE INTO ${OUTBOX_TABLE} (sequence, about, citizen_id, subject_id, kind, at_ms, detected_ms, started_ms, due_ms, at_risk_ms, stopped_ms, policy, unit_id, published)
               SELECT sequence, 'deadline', citizen_id, clock_id, kind, at_ms, detected_ms, started_ms, due_ms, at_risk_ms, stopped_ms, policy, unit_id, published FROM deadline_alerts;
               DROP TABLE deadline_alerts`);
    }
    if (has('deadline_alert_state')) {
      db.exec(`INSERT OR REPLACE INTO ${STATE_TABLE} (name, value) SELECT name, value FROM deadline_alert_state; DROP TABLE deadline_alert_state`);
    }
  }).immediate();
}

export class SqliteAlertStore implements AlertStore {
  readonly #db: Database.Database;
  readonly #s;
  /** The last position whose rows were looked at (as read with the rows, ahead of the stored one). */
  #seen: number | undefined;

  /** `database`: the read-model database (SqliteReadModel.database), opened with the deadline and/or gaps derivation. */
  constructor(database: Database.Database) {
    this.#db = database;
    database.exec(SCHEMA);
    migrateDeadlineOutbox(database);
    const exists = (table: string) => database.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table) !== undefined;
    const clocks = exists(DEADLINE_CLOCKS_TABLE);
    const gaps = exists(GAPS_TABLE);
    if (!clocks && !gaps) throw new Error(`the read-model database has neither ${DEADLINE_CLOCKS_TABLE} nor ${GAPS_TABLE}: open it with the deadline or gaps derivation`);
    const C = DEADLINE_CLOCKS_TABLE;
    const G = GAPS_TABLE;
    const inWindow = (column: string) => `${column} > :from AND ${column} <= :to`;
    const none = <R>() => ({ all: (): R[] => [], get: () => undefined });
    this.#s = {
      state: database.prepare<[string], { value: number }>(`SELECT value FROM ${STATE_TABLE} WHERE name = ?`),
      setState: database.prepare<[string, number]>(`INSERT OR REPLACE INTO ${STATE_TABLE} (name, value) VALUES (?, ?)`),
      maxPosition: database.prepare<[], { p: number | null }>(
        `SELECT max(p) AS p FROM (${[clocks ? `SELECT max(source_position) AS p FROM ${C}` : '', gaps ? `SELECT max(end_position) AS p FROM ${G}` : ''].filter(Boolean).join(' UNION ALL ')})`,
      ),
      clocksByTime: clocks
        ? database.prepare<{ from: number; to: number }, ClockRow>(CLOCK_INSTANTS.map((c) => `SELECT ${CLOCK_COLUMNS} FROM ${C} WHERE ${inWindow(c)}`).join(' UNION '))
        : none<ClockRow>(),
      clocksByPosition: clocks ? database.prepare<[number], ClockRow>(`SELECT ${CLOCK_COLUMNS} FROM ${C} WHERE source_position > ?`) : none<ClockRow>(),
      gapsByTime: gaps
        ? database.prepare<{ from: number; to: number }, GapRow>(GAP_INSTANTS.map((c) => `SELECT ${GAP_COLUMNS} FROM ${G} WHERE is_primary = 1 AND ${inWindow(c)}`).join(' UNION '))
        : none<GapRow>(),
      gapsByPosition: gaps ? database.prepare<[number], GapRow>(`SELECT ${GAP_COLUMNS} FROM ${G} WHERE end_position > ? AND is_primary = 1`) : none<GapRow>(),
      anyInWindow: database.prepare<{ from: number; to: number }, { busy: number }>(
        `SELECT ${[
          ...(clocks ? CLOCK_INSTANTS.map((c) => `EXISTS (SELECT 1 FROM ${C} WHERE ${inWindow(c)})`) : []),
          ...(gaps ? GAP_INSTANTS.map((c) => `EXISTS (SELECT 1 FROM ${G} WHERE is_primary = 1 AND ${inWindow(c)})`) : []),
        ].join(' OR ')} AS busy`,
      ),
      next: [
        ...(clocks ? CLOCK_INSTANTS.map((c) => `SELECT min(${c}) AS t FROM ${C} WHERE ${c} > :now`) : []),
        ...(gaps ? GAP_INSTANTS.map((c) => `SELECT min(${c}) AS t FROM ${G} WHERE is_primary = 1 AND ${c} > :now`) : []),
      ].map((sql) => database.prepare<{ now: number }, { t: number | null }>(sql)),
      insert: database.prepare(
        `INSERT INTO ${OUTBOX_TABLE} (${OUTBOX_COLUMNS.join(', ')}) VALUES (${OUTBOX_COLUMNS.map((c) => `@${c}`).join(', ')})
         ON CONFLICT (about, citizen_id, subject_id, kind) DO NOTHING`,
      ),
      after: database.prepare<[number, number], OutboxRow>(
        `SELECT sequence, ${OUTBOX_COLUMNS.filter((c) => c !== 'published').join(', ')} FROM ${OUTBOX_TABLE} WHERE sequence > ? AND published = 1 ORDER BY sequence LIMIT ?`,
      ),
      last: database.prepare<[], { s: number | null }>(`SELECT max(sequence) AS s FROM ${OUTBOX_TABLE} WHERE published = 1`),
    };
  }

  async quiet(from: number, to: number): Promise<boolean> {
    const s = this.#s;
    if ((s.maxPosition.get()?.p ?? 0) > this.#seenPosition()) return false;
    return to <= from || s.anyInWindow.get({ from, to })?.busy !== 1;
  }

  #seenPosition(): number {
    return this.#seen ?? this.#s.state.get('source_position')?.value ?? 0;
  }

  async check<T>(work: (check: AlertCheck) => Promise<T>): Promise<T> {
    const s = this.#s;
    const db = this.#db;
    const seen = this.#seenPosition();
    let seenNow = seen;
    const writeWatermarks = (checkedUntil: number) => {
      s.setState.run('checked_until_ms', checkedUntil);
      s.setState.run('source_position', seenNow);
    };
    const check: AlertCheck = {
      checkedUntil: async () => s.state.get('checked_until_ms')?.value,
      startFresh: async (now) => {
        seenNow = s.maxPosition.get()?.p ?? 0;
        db.transaction(() => writeWatermarks(now)).immediate();
      },
      candidates: async (from, to) => {
        // The position first: rows a batch commits after it are found by the next check.
        seenNow = Math.max(seen, s.maxPosition.get()?.p ?? 0);
        const window = { from, to };
        const changed = seenNow > seen;
        return {
          clocks: [...(to > from ? s.clocksByTime.all(window) : []), ...(changed ? s.clocksByPosition.all(seen) : [])].map(clockCandidate),
          gaps: [...(to > from ? s.gapsByTime.all(window) : []), ...(changed ? s.gapsByPosition.all(seen) : [])].map(gapCandidate),
          news: (_citizenId, position) => position > seen,
        };
      },
      record: async (alerts: readonly NewAlert[], checkedUntil) => {
        const published: RecordedAlert[] = [];
        db.transaction(() => {
          for (const alert of alerts) {
            const cells = outboxCells(alert);
            const result = s.insert.run({ ...cells, published: cells.published ? 1 : 0 });
            if (result.changes === 1 && alert.publish) published.push(sequenced(alert, Number(result.lastInsertRowid)));
          }
          writeWatermarks(checkedUntil);
        }).immediate();
        return published;
      },
    };
    const result = await work(check);
    this.#seen = seenNow;
    return result;
  }

  async alertsAfter(sequence: number, limit: number): Promise<RecordedAlert[]> {
    return this.#s.after.all(sequence, limit).map(recordedAlertOf);
  }

  async lastSequence(): Promise<number> {
    return this.#s.last.get()?.s ?? 0;
  }

  async nextInstant(now: number): Promise<number | null> {
    let next: number | null = null;
    for (const statement of this.#s.next) {
      const t = statement.get({ now })?.t ?? null;
      if (t !== null && (next === null || t < next)) next = t;
    }
    return next;
  }
}
