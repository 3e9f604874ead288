/**
 * Reading the SQLite timeline for an export, citizen by citizen, in bounded memory and from one
 * consistent snapshot (docs/exports.md, "Streaming"); postgresExportSnapshot.ts does the same on
 * PostgreSQL. The filter and history types here are shared by both.
 *
 * Each export opens its own read-only connection to the read-model file and holds one read
 * transaction: in WAL mode that is a snapshot, so the projector keeps writing while the export reads
 * the world as it stood when the export began, and two passes (OCEL's events, then its objects) see the
 * same citizens. Citizens are paged by id (keyset), a page's histories read in one query; nothing
 * outlives its page but the cursor.
 */
import Database from 'better-sqlite3';
import { citizenScopeSqliteNamed } from '@tracker/security';
import type { DataScope } from '../queries.ts';
import type { TimelineRow } from './exportEvents.ts';

/** Which citizens and events an export holds. Instants are epoch ms. */
export interface ExportFilter {
  /** Events that occurred at or after this instant; none: from the beginning. */
  fromMs?: number;
  /** Events that occurred before this instant (exclusive). */
  toMs: number;
  /** Citizens with an event in the period that names this unit (either side of a handover, any meeting unit). */
  unitId?: string;
  /** Citizens registered in this kommune (4-digit code). */
  municipality?: string;
  /** Citizens born in these years (inclusive). */
  birthYearFrom?: number;
  birthYearTo?: number;
  /**
   * Only these citizens (of those the rest selects): the API first lists and logs the citizens an
   * export discloses (`TransitionExports.citizenIds`), then exports exactly those.
   */
  citizenIds?: readonly string[];
}

export interface CitizenHistory {
  citizenId: string;
  /** All the citizen's events before the filter's end, in world order; the exporter keeps the period's. */
  events: TimelineRow[];
}

const EARLIEST = -8.64e15;

/** One timeline row as both snapshots read it (array row mode). */
export type RawEvent = [citizenId: string, eventId: string, type: string, occurredMs: number, data: string];

/** A page's rows, ordered by citizen and then in world order, as one history per citizen. */
export function* historiesOf(rows: Iterable<RawEvent>): Generator<CitizenHistory, void, undefined> {
  let current: CitizenHistory | undefined;
  for (const [citizenId, eventId, type, occurredMs, data] of rows) {
    if (current?.citizenId !== citizenId) {
      if (current) yield current;
      current = { citizenId, events: [] };
    }
    current.events.push({ citizenId, eventId, type, occurredMs, data });
  }
  if (current) yield current;
}

/** The selection of citizens as SQL over `timeline t`, with its named parameters; only citizens in the scope. */
export function citizenSelection(filter: ExportFilter, scope: DataScope): { where: string; params: Record<string, string | number> } {
  const inScope = citizenScopeSqliteNamed(scope, { citizenColumn: 't.citizen_id' });
  const where = ['t.occurred_ms >= @fromMs', 't.occurred_ms < @toMs', inScope.sql];
  const params: Record<string, string | number> = { fromMs: filter.fromMs ?? EARLIEST, toMs: filter.toMs, ...inScope.params };
  if (filter.citizenIds !== undefined) {
    params.citizenIds = JSON.stringify(filter.citizenIds);
    where.push('t.citizen_id IN (SELECT value FROM json_each(@citizenIds))');
  }
  if (filter.unitId !== undefined) {
    params.unitId = filter.unitId;
    where.push(`(t.unit_id = @unitId
      OR (t.type = 'HandoverInitiated' AND json_extract(t.data, '$.toUnitId') = @unitId)
      OR (t.type = 'MeetingHeld' AND EXISTS (SELECT 1 FROM json_each(t.data, '$.unitIds') WHERE value = @unitId)))`);
  }
  const cohort: string[] = [];
  if (filter.municipality !== undefined) {
    params.municipality = filter.municipality;
    cohort.push('c.municipality = @municipality');
  }
  if (filter.birthYearFrom !== undefined) {
    params.birthYearFrom = filter.birthYearFrom;
    cohort.push('CAST(substr(c.birth_date, 1, 4) AS INTEGER) >= @birthYearFrom');
  }
  if (filter.birthYearTo !== undefined) {
    params.birthYearTo = filter.birthYearTo;
    cohort.push('CAST(substr(c.birth_date, 1, 4) AS INTEGER) <= @birthYearTo');
  }
  if (cohort.length > 0) {
    // The cohort is what the tracker knew by the end of the export: a registration before it.
    where.push(`EXISTS (SELECT 1 FROM citizens c WHERE c.citizen_id = t.citizen_id AND c.registered_ms < @toMs AND ${cohort.join(' AND ')})`);
  }
  return { where: where.join(' AND '), params };
}

export class ExportSnapshot {
  readonly #db: Database.Database;
  readonly #filter: ExportFilter;
  readonly #selection: ReturnType<typeof citizenSelection>;
  readonly #pageSize: number;
  readonly #citizenPage: Database.Statement;
  readonly #histories: Database.Statement;
  #closed = false;

  /** Opens a read-only connection to the read-model file and begins the snapshot. */
  constructor(file: string, filter: ExportFilter, pageSize: number, scope: DataScope) {
    if (!file || file === ':memory:') throw new Error('exports read the read models from their file; an in-memory database cannot be exported');
    this.#db = new Database(file, { readonly: true, fileMustExist: true });
    this.#filter = filter;
    this.#selection = citizenSelection(filter, scope);
    this.#pageSize = pageSize;
    try {
      this.#citizenPage = this.#db
        .prepare(
          `SELECT DISTINCT t.citizen_id FROM timeline t WHERE t.citizen_id > @after AND ${this.#selection.where}
           ORDER BY t.citizen_id LIMIT @limit`,
        )
        .pluck(true);
      this.#histories = this.#db
        .prepare(
          `SELECT citizen_id, event_id, type, occurred_ms, data FROM timeline
           WHERE citizen_id IN (SELECT value FROM json_each(@ids)) AND occurred_ms < @toMs
           ORDER BY citizen_id, occurred_ms, position`,
        )
        .raw(true);
      // The first read inside the transaction fixes the snapshot for everything after it.
      this.#db.exec('BEGIN');
      this.#db.prepare('SELECT count(*) FROM meta').get();
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  /** The selected citizens' histories, citizen by citizen in id order; a page at a time. */
  async *citizens(): AsyncGenerator<CitizenHistory, void, undefined> {
    let after = '';
    for (;;) {
      const ids = this.#citizenPage.all({ ...this.#selection.params, after, limit: this.#pageSize }) as string[];
      if (ids.length === 0) return;
      yield* historiesOf(this.#histories.all({ ids: JSON.stringify(ids), toMs: this.#filter.toMs }) as RawEvent[]);
      after = ids[ids.length - 1]!;
      if (ids.length < this.#pageSize) return;
    }
  }

  /**
   * The ids of the relatives the selected citizens' events name before the end, each once, in id
   * order: relatives may be shared (siblings), so they are deduplicated by SQLite, not in memory.
   */
  async *relativeIds(): AsyncGenerator<string, void, undefined> {
    const statement = this.#db
      .prepare(
        `SELECT DISTINCT json_extract(data, '$.relativeId') AS relative_id FROM timeline
         WHERE type IN ('RelativeLinked', 'RepresentationGranted', 'ContactReceived') AND occurred_ms < @toMs
           AND citizen_id IN (SELECT t.citizen_id FROM timeline t WHERE ${this.#selection.where})
           AND relative_id IS NOT NULL
         ORDER BY relative_id`,
      )
      .pluck(true);
    // An iterator holds the connection while others run between its rows; this connection is the
    // export's own, and nothing else uses it meanwhile.
    for (const relativeId of statement.iterate(this.#selection.params) as IterableIterator<string>) yield relativeId;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
