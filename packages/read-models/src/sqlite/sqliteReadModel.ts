/**
 * The embedded read models on SQLite: the projections' changes written "earliest wins", and the
 * ReadModelQueries port answered with statuses derived at `asOf`. A batch's changes and its
 * checkpoint commit in one transaction, so a crash never applies an event twice or skips one.
 */
import Database from 'better-sqlite3';
import type { HandoverStatus, StoredEvent } from '@tracker/domain';
import { citizenScopeSqliteNamed, type DataScope } from '@tracker/security';
import type { CitizenDerivation } from '../derived.ts';
import { projectEvent, type ProjectionContext, type ReadModelChange } from '../projections/projectEvent.ts';
import { HISTORY_COLUMNS, storedEventOf, type HistoryRow } from '../projections/history.ts';
import { DerivedTableWriter } from './derivedTableWriter.ts';
import type { CitizenView, HandoverFilter, HandoverView, Page, PageRequest, ReadModelQueries, Responsibility, TimelineEntry } from '../queries.ts';

// 3: citizen_units (the data scope), and `personal` no longer copied into the timeline's data.
const SCHEMA_VERSION = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timeline (
  citizen_id TEXT NOT NULL, occurred_ms INTEGER NOT NULL, position INTEGER NOT NULL,
  event_id TEXT NOT NULL, type TEXT NOT NULL, occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL,
  unit_id TEXT, summary TEXT NOT NULL,
  -- the event itself, so derived read models can replay a citizen's history in world order
  stream_version INTEGER NOT NULL, source TEXT, data TEXT NOT NULL,
  PRIMARY KEY (citizen_id, occurred_ms, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS citizens (
  citizen_id TEXT PRIMARY KEY, birth_date TEXT NOT NULL, municipality TEXT NOT NULL, disability INTEGER NOT NULL,
  registered_ms INTEGER NOT NULL, registered_pos INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS responsibilities (
  citizen_id TEXT NOT NULL, case_id TEXT NOT NULL, unit_id TEXT,
  opened_ms INTEGER, opened_at TEXT, opened_pos INTEGER,
  closed_ms INTEGER, closed_at TEXT, closed_pos INTEGER,
  PRIMARY KEY (citizen_id, case_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS handovers (
  citizen_id TEXT NOT NULL, handover_id TEXT NOT NULL,
  from_unit_id TEXT, to_unit_id TEXT, kind TEXT,
  initiated_ms INTEGER, initiated_at TEXT, initiated_pos INTEGER, due_ms INTEGER,
  accepted_ms INTEGER, accepted_at TEXT, accepted_pos INTEGER,
  rejected_ms INTEGER, rejected_at TEXT, rejected_pos INTEGER,
  completed_ms INTEGER, completed_at TEXT, completed_pos INTEGER,
  cancelled_ms INTEGER, cancelled_at TEXT, cancelled_pos INTEGER,
  PRIMARY KEY (citizen_id, handover_id)
);
-- every unit ever involved with a citizen (unitIdsOf over their events): the coordinators' data scope
CREATE TABLE IF NOT EXISTS citizen_units (
  citizen_id TEXT NOT NULL, unit_id TEXT NOT NULL, PRIMARY KEY (citizen_id, unit_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS citizen_units_by_unit ON citizen_units (unit_id, citizen_id);
-- citizens whose derived read models wait for a replay (catch-up defers them: derive each once)
CREATE TABLE IF NOT EXISTS derivations_pending (citizen_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS handovers_by_initiation ON handovers (initiated_ms);
CREATE INDEX IF NOT EXISTS handovers_by_from_unit ON handovers (from_unit_id, initiated_ms);
CREATE INDEX IF NOT EXISTS handovers_by_to_unit ON handovers (to_unit_id, initiated_ms);
`;

/** "Earliest wins": the stored value is replaced only by one that stands earlier in the world. */
const earlier = (col: string) =>
  `${col}_ms IS NULL OR excluded.${col}_ms < ${col}_ms OR (excluded.${col}_ms = ${col}_ms AND excluded.${col}_pos < ${col}_pos)`;

/** Citizens per deferred-derivation transaction at most: their ids are one query's parameters (≤ 32766). */
const MAX_CHUNK = 16_384;

const RESOLUTIONS = ['accepted', 'rejected', 'completed', 'cancelled'] as const;

interface HandoverRow {
  citizen_id: string;
  handover_id: string;
  from_unit_id: string;
  to_unit_id: string;
  kind: string;
  initiated_at: string;
  due_ms: number;
  status: HandoverStatus;
  resolved_at: string | null;
  overdue: 0 | 1;
}

export interface SqliteReadModelOptions {
  file: string;
  projection: ProjectionContext;
  /** Identifies the configuration the stored read models were built with (units, policies). */
  configFingerprint: string;
  /** Read models derived from each touched citizen's whole history after every batch. */
  derived?: readonly CitizenDerivation[];
}

export class SqliteReadModel implements ReadModelQueries {
  readonly #db: Database.Database;
  readonly #projection: ProjectionContext;
  readonly #apply: Record<ReadModelChange['kind'], (change: never) => void>;
  readonly #statements;
  readonly #scopedStatements = new Map<string, Database.Statement>();
  /** `#historyRows` by the size of its IN list. */
  readonly #historiesOf = new Map<number, Database.Statement<string[], HistoryRow>>();
  readonly #derived: readonly { derivation: CitizenDerivation; tables: Map<string, DerivedTableWriter> }[];
  /** True when the stored read models were built with another configuration or schema: rebuild. */
  readonly needsRebuild: boolean;

  constructor({ file, projection, configFingerprint, derived = [] }: SqliteReadModelOptions) {
    this.#projection = projection;
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    // Read models are derived and rebuildable; consistency after a crash is what matters, and WAL
    // with NORMAL keeps each batch-and-checkpoint transaction atomic.
    this.#db.pragma('synchronous = NORMAL');
    // Derived tables carry many indexes; a larger page cache keeps them hot while projecting
    // (measured: storing 513k deadline clocks took about half the time with it).
    this.#db.pragma('cache_size = -131072');
    this.#db.exec(SCHEMA);
    let reshaped = false;
    for (const table of derived.flatMap((d) => d.tables)) {
      // A derivation whose columns changed (with its version) gets its new shape, then its rows again.
      const columns = this.#db.prepare<[string], string>('SELECT name FROM pragma_table_info(?)').pluck(true).all(table.name);
      if (columns.length > 0 && columns.join() !== ['citizen_id', ...Object.keys(table.columns)].join()) {
        this.#db.exec(`DROP TABLE ${table.name}`);
        reshaped = true;
      }
    }
    // The writers create the derived tables (again, when reshaped) and their indexes.
    this.#derived = derived.map((derivation) => ({
      derivation,
      tables: new Map(derivation.tables.map((t) => [t.name, new DerivedTableWriter(this.#db, t)])),
    }));
    const meta = this.#db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
    const fingerprint = [SCHEMA_VERSION, ...derived.map((d) => `${d.name}@${d.version}`), configFingerprint].join(':');
    const stored = meta.get('fingerprint')?.value;
    this.needsRebuild = reshaped || (stored !== undefined && stored !== fingerprint);
    this.#db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run('fingerprint', fingerprint);

    const db = this.#db;
    const insertTimeline = db.prepare(
      `INSERT OR IGNORE INTO timeline (citizen_id, occurred_ms, position, event_id, type, occurred_at, recorded_at, unit_id, summary, stream_version, source, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const registerCitizen = db.prepare(
      `INSERT INTO citizens (citizen_id, birth_date, municipality, disability, registered_ms, registered_pos)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (citizen_id) DO UPDATE SET birth_date = excluded.birth_date, municipality = excluded.municipality,
         disability = excluded.disability, registered_ms = excluded.registered_ms, registered_pos = excluded.registered_pos
       WHERE ${earlier('registered')}`,
    );
    const openCase = db.prepare(
      `INSERT INTO responsibilities (citizen_id, case_id, unit_id, opened_ms, opened_at, opened_pos)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (citizen_id, case_id) DO UPDATE SET unit_id = excluded.unit_id, opened_ms = excluded.opened_ms,
         opened_at = excluded.opened_at, opened_pos = excluded.opened_pos
       WHERE ${earlier('opened')}`,
    );
    const closeCase = db.prepare(
      `INSERT INTO responsibilities (citizen_id, case_id, closed_ms, closed_at, closed_pos)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (citizen_id, case_id) DO UPDATE SET closed_ms = excluded.closed_ms, closed_at = excluded.closed_at,
         closed_pos = excluded.closed_pos
       WHERE ${earlier('closed')}`,
    );
    const initiateHandover = db.prepare(
      `INSERT INTO handovers (citizen_id, handover_id, from_unit_id, to_unit_id, kind, initiated_ms, initiated_at, initiated_pos, due_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (citizen_id, handover_id) DO UPDATE SET from_unit_id = excluded.from_unit_id, to_unit_id = excluded.to_unit_id,
         kind = excluded.kind, initiated_ms = excluded.initiated_ms, initiated_at = excluded.initiated_at,
         initiated_pos = excluded.initiated_pos, due_ms = excluded.due_ms
       WHERE ${earlier('initiated')}`,
    );
    const resolveHandover = Object.fromEntries(
      RESOLUTIONS.map((r) => [
        r,
        db.prepare(
          `INSERT INTO handovers (citizen_id, handover_id, ${r}_ms, ${r}_at, ${r}_pos) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (citizen_id, handover_id) DO UPDATE SET ${r}_ms = excluded.${r}_ms, ${r}_at = excluded.${r}_at, ${r}_pos = excluded.${r}_pos
           WHERE ${earlier(r)}`,
        ),
      ]),
    );
    const setCheckpoint = db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('checkpoint', ?)`);
    const involveUnit = db.prepare<[string, string]>('INSERT OR IGNORE INTO citizen_units (citizen_id, unit_id) VALUES (?, ?)');

    type Change<K extends ReadModelChange['kind']> = Extract<ReadModelChange, { kind: K }>;
    // Positional parameters in the statements' column order: binding named ones from the change objects
    // cost a third of a timeline insert, 11–13 % of a rebuild (docs/benchmarks.md). Absent: an explicit null.
    this.#apply = {
      timelineEntry: (c: Change<'timelineEntry'>) =>
        insertTimeline.run(c.citizenId, c.ms, c.position, c.eventId, c.type, c.at, c.recordedAt, c.unitId ?? null, c.summary, c.streamVersion, c.source ?? null, c.data),
      citizenRegistered: (c: Change<'citizenRegistered'>) => registerCitizen.run(c.citizenId, c.birthDate, c.municipality, c.disability ? 1 : 0, c.ms, c.position),
      caseOpened: (c: Change<'caseOpened'>) => openCase.run(c.citizenId, c.caseId, c.unitId, c.ms, c.at, c.position),
      caseClosed: (c: Change<'caseClosed'>) => closeCase.run(c.citizenId, c.caseId, c.ms, c.at, c.position),
      handoverInitiated: (c: Change<'handoverInitiated'>) =>
        initiateHandover.run(c.citizenId, c.handoverId, c.fromUnitId, c.toUnitId, c.handoverKind, c.ms, c.at, c.position, c.dueMs),
      handoverResolved: (c: Change<'handoverResolved'>) => resolveHandover[c.resolution]!.run(c.citizenId, c.handoverId, c.ms, c.at, c.position),
      citizenUnits: (c: Change<'citizenUnits'>) => {
        for (const unitId of c.unitIds) involveUnit.run(c.citizenId, unitId);
      },
    } as Record<ReadModelChange['kind'], (change: never) => void>;

    this.#statements = {
      setCheckpoint,
      checkpoint: db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'checkpoint'`),
      citizen: db.prepare<[string], { birth_date: string; municipality: string; registered_ms: number }>(
        'SELECT birth_date, municipality, registered_ms FROM citizens WHERE citizen_id = ?',
      ),
      markPending: db.prepare<[string]>('INSERT OR IGNORE INTO derivations_pending (citizen_id) VALUES (?)'),
      unmarkPending: db.prepare<[string]>('DELETE FROM derivations_pending WHERE citizen_id = ?'),
      pending: db.prepare<[number], { citizen_id: string }>('SELECT citizen_id FROM derivations_pending LIMIT ?'),
      citizenUnits: db.prepare<[string], string>('SELECT unit_id FROM citizen_units WHERE citizen_id = ? ORDER BY unit_id').pluck(true),
      history: db.prepare<[string], HistoryRow>(
        `SELECT ${HISTORY_COLUMNS}
         FROM timeline WHERE citizen_id = ? ORDER BY occurred_ms, position`,
      ),
    };
  }

  /** The database, for the derived models' query adapters in this package. */
  get database(): Database.Database {
    return this.#db;
  }

  /** All of a citizen's events in world order (occurredAt, then global position). */
  history(citizenId: string): StoredEvent[] {
    return this.#statements.history.all(citizenId).map(storedEventOf);
  }

  /**
   * The timeline rows of several citizens in one query, grouped by citizen, each in world order: a
   * chunk of deferred derivations reads its histories at once instead of one query per citizen.
   */
  #historyRows(citizenIds: readonly string[]): Map<string, HistoryRow[]> {
    // The IN list padded (with a repeated id) to a power of two: a few statements serve every size.
    let size = 1;
    while (size < citizenIds.length) size *= 2;
    let statement = this.#historiesOf.get(size);
    if (!statement) {
      statement = this.#db.prepare<string[], HistoryRow>(
        `SELECT ${HISTORY_COLUMNS}
         FROM timeline WHERE citizen_id IN (${Array.from({ length: size }, () => '?').join(', ')}) ORDER BY citizen_id, occurred_ms, position`,
      );
      this.#historiesOf.set(size, statement);
    }
    const params = citizenIds.concat(Array.from({ length: size - citizenIds.length }, () => citizenIds[0]!));
    const rows = new Map<string, HistoryRow[]>();
    for (const row of statement.all(...params)) {
      const citizenRows = rows.get(row.citizen_id);
      if (citizenRows) citizenRows.push(row);
      else rows.set(row.citizen_id, [row]);
    }
    return rows;
  }

  /**
   * Projects and writes a batch of events and moves the checkpoint, atomically. Derived read models of
   * the touched citizens are replaced in the same transaction — or, with `deferDerivations` (catch-up
   * and rebuild), the citizens are only marked, and `deriveDeferred` replays each of them once.
   */
  applyBatch(events: readonly StoredEvent[], { deferDerivations = false }: { deferDerivations?: boolean } = {}): void {
    if (events.length === 0) return;
    this.#db.transaction(() => {
      const touched = new Set<string>();
      for (const event of events) {
        for (const change of projectEvent(event, this.#projection)) this.#apply[change.kind](change as never);
        touched.add(event.citizenId);
      }
      if (this.#derived.length > 0) {
        if (deferDerivations) for (const citizenId of touched) this.#statements.markPending.run(citizenId);
        else for (const citizenId of touched) this.#derive(citizenId, this.history(citizenId));
      }
      this.#statements.setCheckpoint.run(String(events[events.length - 1]!.globalPosition));
    })();
  }

  /**
   * Derives every citizen marked by deferred batches, a chunk per transaction; returns how many. A
   * chunk's histories are read in one query; memory holds the timeline rows of one chunk's citizens.
   *
   * A derived table that is empty when this starts (a rebuild from zero) holds no row of any marked
   * citizen, and each citizen is derived once here (unmarked in the chunk's transaction, and nothing
   * else writes until this returns): its rows are inserted without a DELETE, and its indexes are built
   * once at the end instead of maintained on every insert. They are built again before this returns,
   * even when a derivation throws, so no query ever runs without them (this is synchronous, and opening
   * the read model creates any that a crash left missing).
   */
  deriveDeferred(chunk = 500): number {
    if (!Number.isInteger(chunk) || chunk < 1 || chunk > MAX_CHUNK) {
      throw new RangeError(`deriveDeferred: chunk must be a whole number of citizens from 1 to ${MAX_CHUNK} (one query's parameters), got ${chunk}`);
    }
    let citizens = this.#statements.pending.all(chunk).map((r) => r.citizen_id);
    if (citizens.length === 0) return 0;
    const empty = new Set([...this.#writers()].filter((w) => w.isEmpty()));
    this.#db.transaction(() => {
      for (const writer of empty) writer.dropIndexes();
    })();
    let derived = 0;
    try {
      while (citizens.length > 0) {
        this.#db.transaction(() => {
          // Memory: the raw timeline rows of one chunk's citizens, and one citizen's parsed history.
          const rows = this.#historyRows(citizens);
          for (const citizenId of citizens) {
            this.#derive(citizenId, (rows.get(citizenId) ?? []).map(storedEventOf), empty);
            this.#statements.unmarkPending.run(citizenId);
          }
        })();
        derived += citizens.length;
        citizens = this.#statements.pending.all(chunk).map((r) => r.citizen_id);
      }
    } finally {
      this.#db.transaction(() => {
        for (const writer of empty) writer.createIndexes();
      })();
    }
    return derived;
  }

  /** Replaces the citizen's derived rows; `knownEmpty` tables hold none of them (no DELETE needed). */
  #derive(citizenId: string, history: readonly StoredEvent[], knownEmpty: ReadonlySet<DerivedTableWriter> = new Set()): void {
    for (const { derivation, tables } of this.#derived) {
      const rows = derivation.derive(citizenId, history);
      for (const [name, writer] of tables) writer.replace(citizenId, rows[name] ?? [], { knownEmpty: knownEmpty.has(writer) });
    }
  }

  *#writers(): Iterable<DerivedTableWriter> {
    for (const { tables } of this.#derived) yield* tables.values();
  }

  /** Forgets every read model, so the projector replays the store from position 0. */
  reset(): void {
    this.#db.transaction(() => {
      for (const table of ['timeline', 'citizens', 'responsibilities', 'handovers', 'citizen_units', 'derivations_pending', ...this.#derived.flatMap((d) => [...d.tables.keys()])]) {
        this.#db.exec(`DELETE FROM ${table}`);
      }
      this.#db.prepare(`DELETE FROM meta WHERE key = 'checkpoint'`).run();
    })();
  }

  checkpointSync(): number {
    return Number(this.#statements.checkpoint.get()?.value ?? 0);
  }

  async checkpoint(): Promise<number> {
    return this.checkpointSync();
  }

  /**
   * A statement with the scope ANDed into it, prepared once per SQL text: `sql` receives the scope's
   * condition over `citizen_id` (always true for administrators, so their queries are unchanged).
   */
  #scoped(scope: DataScope, sql: (condition: string) => string): { statement: Database.Statement; params: Record<string, string> } {
    const condition = citizenScopeSqliteNamed(scope, { citizenColumn: 'citizen_id' });
    const text = sql(condition.sql);
    let statement = this.#scopedStatements.get(text);
    if (!statement) {
      statement = this.#db.prepare(text);
      this.#scopedStatements.set(text, statement);
    }
    return { statement, params: condition.params };
  }

  async citizen(citizenId: string, asOf: number, scope: DataScope): Promise<CitizenView | null> {
    const first = this.#scoped(scope, (inScope) => `SELECT min(occurred_ms) AS ms FROM timeline WHERE citizen_id = @citizenId AND ${inScope}`);
    const firstSeen = (first.statement.get({ ...first.params, citizenId }) as { ms: number | null } | undefined)?.ms;
    if (firstSeen == null || firstSeen > asOf) return null;
    const row = this.#statements.citizen.get(citizenId);
    const known = row !== undefined && row.registered_ms <= asOf;
    return { id: citizenId, birthDate: known ? row.birth_date : null, municipality: known ? row.municipality : null };
  }

  async timeline(citizenId: string, asOf: number, scope: DataScope): Promise<TimelineEntry[]> {
    const { statement, params } = this.#scoped(
      scope,
      (inScope) => `SELECT event_id, type, occurred_at, recorded_at, unit_id, summary FROM timeline
         WHERE citizen_id = @citizenId AND occurred_ms <= @asOf AND ${inScope} ORDER BY occurred_ms, position`,
    );
    const rows = statement.all({ ...params, citizenId, asOf }) as { event_id: string; type: string; occurred_at: string; recorded_at: string; unit_id: string | null; summary: string }[];
    return rows.map((r) => ({
      eventId: r.event_id,
      type: r.type,
      occurredAt: r.occurred_at,
      recordedAt: r.recorded_at,
      unitId: r.unit_id,
      summary: r.summary,
    }));
  }

  async responsibilities(citizenId: string, asOf: number, scope: DataScope): Promise<Responsibility[]> {
    const { statement, params } = this.#scoped(
      scope,
      (inScope) => `SELECT case_id, unit_id, opened_at, CASE WHEN closed_ms <= @asOf THEN closed_at END AS closed_at
         FROM responsibilities WHERE citizen_id = @citizenId AND opened_ms <= @asOf AND ${inScope} ORDER BY opened_ms, opened_pos`,
    );
    const rows = statement.all({ ...params, citizenId, asOf }) as { case_id: string; unit_id: string; opened_at: string; closed_at: string | null }[];
    return rows.map((r) => ({
      caseId: r.case_id,
      unitId: r.unit_id,
      openedAt: r.opened_at,
      closedAt: r.closed_at,
    }));
  }

  async citizenHandovers(citizenId: string, asOf: number, scope: DataScope): Promise<HandoverView[]> {
    const { statement, params } = this.#scoped(scope, (inScope) => `${handoverQuery(`AND citizen_id = :citizenId AND ${inScope}`)} ORDER BY initiated_ms, handover_id`);
    return (statement.all({ ...params, citizenId, asOf }) as HandoverRow[]).map(toHandoverView);
  }

  async citizenUnits(citizenId: string): Promise<string[]> {
    return this.citizenUnitsSync(citizenId);
  }

  /** `citizenUnits`, synchronously (live-stream filters decide per event). */
  citizenUnitsSync(citizenId: string): string[] {
    return this.#statements.citizenUnits.all(citizenId) as string[];
  }

  async handovers(filter: HandoverFilter, page: PageRequest, scope: DataScope): Promise<Page<HandoverView>> {
    const condition = citizenScopeSqliteNamed(scope, { citizenColumn: 'citizen_id' });
    const where: string[] = [`AND ${condition.sql}`];
    const params: Record<string, unknown> = { asOf: filter.asOf, ...condition.params };
    if (filter.unitId !== undefined) {
      where.push('AND (from_unit_id = :unitId OR to_unit_id = :unitId)');
      params.unitId = filter.unitId;
    }
    const outer: string[] = [];
    if (filter.status !== undefined) {
      outer.push('status = :status');
      params.status = filter.status;
    }
    if (filter.overdue !== undefined) {
      outer.push('overdue = :overdue');
      params.overdue = filter.overdue ? 1 : 0;
    }
    const base = `SELECT * FROM (${handoverQuery(where.join(' '))}) ${outer.length ? `WHERE ${outer.join(' AND ')}` : ''}`;
    const totalCount = (this.#db.prepare(`SELECT count(*) AS n FROM (${base})`).get(params) as { n: number }).n;
    const rows = this.#db
      .prepare(`${base} ORDER BY initiated_ms, citizen_id, handover_id LIMIT :limit OFFSET :offset`)
      .all({ ...params, limit: page.first + 1, offset: page.offset }) as HandoverRow[];
    return { nodes: rows.slice(0, page.first).map(toHandoverView), totalCount, hasNextPage: rows.length > page.first };
  }

  close(): void {
    this.#db.close();
  }
}

function handoverQuery(filter: string): string {
  return `
  SELECT citizen_id, handover_id, from_unit_id, to_unit_id, kind, initiated_ms, initiated_at, due_ms, status,
         CASE resolved_raw WHEN a THEN accepted_at WHEN r THEN rejected_at WHEN ca THEN cancelled_at WHEN co THEN completed_at END AS resolved_at,
         CASE WHEN :asOf >= due_ms AND (resolved_raw IS NULL OR resolved_raw >= due_ms) THEN 1 ELSE 0 END AS overdue
  FROM (
    SELECT h.*,
      CASE max(coalesce(a, -9e15), coalesce(r, -9e15), coalesce(co, -9e15), coalesce(ca, -9e15))
        WHEN -9e15 THEN 'PENDING' WHEN ca THEN 'CANCELLED' WHEN co THEN 'COMPLETED' WHEN r THEN 'REJECTED' ELSE 'ACCEPTED' END AS status,
      coalesce(nullif(min(coalesce(a, 9e15), coalesce(r, 9e15), coalesce(ca, 9e15)), 9e15), co) AS resolved_raw
    FROM (
      SELECT *,
        CASE WHEN accepted_ms <= :asOf THEN accepted_ms END AS a,
        CASE WHEN rejected_ms <= :asOf THEN rejected_ms END AS r,
        CASE WHEN completed_ms <= :asOf THEN completed_ms END AS co,
        CASE WHEN cancelled_ms <= :asOf THEN cancelled_ms END AS ca
      FROM handovers WHERE initiated_ms <= :asOf ${filter}
    ) h
  )`;
}

const toHandoverView = (r: HandoverRow): HandoverView => ({
  id: r.handover_id,
  citizenId: r.citizen_id,
  fromUnitId: r.from_unit_id,
  toUnitId: r.to_unit_id,
  kind: r.kind,
  status: r.status,
  initiatedAt: r.initiated_at,
  resolvedAt: r.resolved_at,
  dueAt: new Date(r.due_ms).toISOString(),
  overdue: r.overdue === 1,
});
