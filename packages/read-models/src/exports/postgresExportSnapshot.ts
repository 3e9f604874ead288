/**
 * Reading the PostgreSQL timeline for an export, citizen by citizen, in bounded memory and from one
 * consistent snapshot — what exportSnapshot.ts does on SQLite, with the same selection of citizens.
 *
 * The snapshot is one dedicated pooled client holding a `REPEATABLE READ READ ONLY` transaction: its
 * first statement fixes the snapshot, and every read of the export after it (OCEL's two passes over
 * the citizens, then the relatives) sees the world as it stood then, while the projector keeps
 * committing batches. An exported snapshot (`pg_export_snapshot()`) would only pay off for several
 * connections reading one snapshot in parallel; an export reads sequentially, and the exporting
 * transaction would have to stay open all the same. Holding the transaction keeps VACUUM from removing
 * rows that died after it began, for as long as the export runs: one reason exports run few at a time.
 *
 * Citizens are paged by id (keyset, `citizen_id > $after`), a page's histories read in one query;
 * relatives come through a server-side cursor, fetched a batch at a time.
 */
import type pg from 'pg';
import { citizenScopeSql } from '@tracker/security';
import type { DataScope } from '../queries.ts';
import { historiesOf, type CitizenHistory, type ExportFilter, type RawEvent } from './exportSnapshot.ts';

const EARLIEST = -8.64e15;
const RELATIVES_PER_FETCH = 1_000;

/**
 * The selection of citizens as SQL over `timeline t` in `schema`, its parameters appended to `values`
 * (numbered after those already there); only citizens in the scope. The same selection as SQLite's
 * `citizenSelection`, with jsonb operators where SQLite uses json_each/json_extract: the timeline keeps
 * each event's data as JSON text, cast here only for the rows whose type carries the unit in its data.
 */
export function postgresCitizenSelection(filter: ExportFilter, scope: DataScope, schema: string, values: unknown[]): string {
  const param = (value: unknown) => `$${values.push(value)}`;
  const q = `"${schema}"`;
  const toMs = param(filter.toMs);
  const where = [`t.occurred_ms >= ${param(filter.fromMs ?? EARLIEST)}`, `t.occurred_ms < ${toMs}`];
  const inScope = citizenScopeSql(scope, { citizenColumn: 't.citizen_id', involvementTable: `${schema}.citizen_units` }, 'postgres', values.length + 1);
  values.push(...inScope.params);
  where.push(inScope.sql);
  if (filter.citizenIds !== undefined) where.push(`t.citizen_id = ANY(${param([...filter.citizenIds])}::text[])`);
  if (filter.unitId !== undefined) {
    const unitId = param(filter.unitId);
    where.push(`(t.unit_id = ${unitId}
      OR (t.type = 'HandoverInitiated' AND t.data::jsonb ->> 'toUnitId' = ${unitId})
      OR (t.type = 'MeetingHeld' AND t.data::jsonb -> 'unitIds' ? ${unitId}))`);
  }
  // A birth date not starting with a year selects no cohort (as SQLite's CAST to 0 does), rather than failing the export.
  const birthYear = `CASE WHEN c.birth_date ~ '^[0-9]{4}' THEN substr(c.birth_date, 1, 4)::integer END`;
  const cohort: string[] = [];
  if (filter.municipality !== undefined) cohort.push(`c.municipality = ${param(filter.municipality)}`);
  if (filter.birthYearFrom !== undefined) cohort.push(`${birthYear} >= ${param(filter.birthYearFrom)}`);
  if (filter.birthYearTo !== undefined) cohort.push(`${birthYear} <= ${param(filter.birthYearTo)}`);
  if (cohort.length > 0) {
    // The cohort is what the tracker knew by the end of the export: a registration before it.
    where.push(`EXISTS (SELECT 1 FROM ${q}.citizens c WHERE c.citizen_id = t.citizen_id AND c.registered_ms < ${toMs} AND ${cohort.join(' AND ')})`);
  }
  return where.join(' AND ');
}


export class PostgresExportSnapshot {
  /** Takes a client from the pool and begins the snapshot. */
  static async open(pool: pg.Pool, schema: string, filter: ExportFilter, pageSize: number, scope: DataScope): Promise<PostgresExportSnapshot> {
    const client = await pool.connect();
    // A checked-out client has no error listener of the pool's: a connection lost while the export
    // waits for its reader would otherwise be an uncaught 'error' and end the process. Noted here, it
    // fails the next read, and with it the stream.
    let lost: Error | undefined;
    const onError = (error: Error) => (lost = error);
    client.on('error', onError);
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The first statement of the transaction takes its snapshot: the export reads the world as of now.
      await client.query('SELECT 1');
    } catch (error) {
      client.off('error', onError);
      client.release(true);
      throw error;
    }
    return new PostgresExportSnapshot(client, schema, filter, pageSize, scope, () => {
      client.off('error', onError);
      return lost !== undefined;
    });
  }

  readonly #client: pg.PoolClient;
  /** Stops listening for a lost connection; says whether it was lost. */
  readonly #detach: () => boolean;
  readonly #q: string;
  readonly #filter: ExportFilter;
  readonly #pageSize: number;
  readonly #selection: string;
  readonly #values: unknown[] = [];
  #cursors = 0;
  #closed = false;

  private constructor(client: pg.PoolClient, schema: string, filter: ExportFilter, pageSize: number, scope: DataScope, detach: () => boolean) {
    this.#client = client;
    this.#detach = detach;
    this.#q = `"${schema}"`;
    this.#filter = filter;
    this.#pageSize = pageSize;
    this.#selection = postgresCitizenSelection(filter, scope, schema, this.#values);
  }

  /** The selected citizens' histories, citizen by citizen in id order; a page at a time. */
  async *citizens(): AsyncGenerator<CitizenHistory, void, undefined> {
    const after = `$${this.#values.length + 1}`;
    const limit = `$${this.#values.length + 2}`;
    const page = `SELECT DISTINCT t.citizen_id FROM ${this.#q}.timeline t WHERE t.citizen_id > ${after} AND ${this.#selection}
                  ORDER BY t.citizen_id LIMIT ${limit}`;
    // occurred_ms as float8: a JS number without a bigint parser (instants are far below 2^53).
    const histories = `SELECT citizen_id, event_id, type, occurred_ms::float8, data FROM ${this.#q}.timeline
                       WHERE citizen_id = ANY($1::text[]) AND occurred_ms < $2 ORDER BY citizen_id, occurred_ms, position`;
    let lastId = '';
    for (;;) {
      const { rows: idRows } = await this.#client.query<[string]>({ text: page, values: [...this.#values, lastId, this.#pageSize], rowMode: 'array' });
      if (idRows.length === 0) return;
      const ids = idRows.map(([id]) => id);
      const { rows } = await this.#client.query<RawEvent>({ text: histories, values: [ids, this.#filter.toMs], rowMode: 'array' });
      yield* historiesOf(rows);
      lastId = ids[ids.length - 1]!;
      if (ids.length < this.#pageSize) return;
    }
  }

  /**
   * The ids of the relatives the selected citizens' events name before the end, each once, in id
   * order (bytewise, as SQLite orders them): relatives may be shared (siblings), so they are
   * deduplicated by PostgreSQL and fetched through a cursor, never gathered in memory.
   */
  async *relativeIds(): AsyncGenerator<string, void, undefined> {
    const cursor = `export_relatives_${++this.#cursors}`;
    const toMs = `$${this.#values.length + 1}`;
    await this.#client.query(
      `DECLARE ${cursor} NO SCROLL CURSOR FOR
       SELECT DISTINCT (data::jsonb ->> 'relativeId') COLLATE "C" AS relative_id FROM ${this.#q}.timeline
       WHERE type IN ('RelativeLinked', 'RepresentationGranted', 'ContactReceived') AND occurred_ms < ${toMs}
         AND citizen_id IN (SELECT t.citizen_id FROM ${this.#q}.timeline t WHERE ${this.#selection})
         AND data::jsonb ->> 'relativeId' IS NOT NULL
       ORDER BY relative_id`,
      [...this.#values, this.#filter.toMs],
    );
    for (;;) {
      const { rows } = await this.#client.query<[string]>({ text: `FETCH FORWARD ${RELATIVES_PER_FETCH} FROM ${cursor}`, rowMode: 'array' });
      for (const [relativeId] of rows) yield relativeId;
      if (rows.length < RELATIVES_PER_FETCH) break;
    }
    // Left open only when the reader stops early: the end of the transaction closes it then.
    await this.#client.query(`CLOSE ${cursor}`);
  }

  /** Ends the transaction and gives the client back (or drops it, when it cannot be ended cleanly). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    let broken = false;
    await this.#client.query('ROLLBACK').catch(() => (broken = true));
    if (this.#detach()) broken = true;
    this.#client.release(broken);
  }
}
