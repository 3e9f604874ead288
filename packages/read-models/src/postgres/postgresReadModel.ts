/**
 * The read models on PostgreSQL, for distributed mode: the same projection (`projectEvent`) and the same
 * derived tables (`CitizenDerivation`) as the embedded SQLite adapter, written earliest-wins with
 * `INSERT … ON CONFLICT … DO UPDATE … WHERE <the new value stands earlier in the world>`, and the
 * `ReadModelQueries` port answered with statuses derived at `asOf`.
 *
 * A batch's writes and its checkpoint commit in ONE transaction: a crash (a killed process, a lost
 * connection, a failing derivation) rolls the whole batch back with the checkpoint, so the projector
 * resumes from the previous checkpoint and applies every event of the batch exactly once — none twice,
 * none skipped. (Earliest-wins writes would make a second application harmless anyway; the single
 * transaction is what keeps half a batch from ever being visible.)
 *
 * Writes are set-based: each kind of change is one `INSERT … SELECT FROM unnest(…)` per batch. A
 * statement may not update one row twice, so changes to the same row within a batch are first reduced
 * to the earliest — the same result earliest-wins gives one by one — and rows are written in key order,
 * so two projector instances writing overlapping rows cannot deadlock.
 *
 * Text keys use the "C" collation: ordering (pages of handovers) is byte-wise, the same as SQLite's.
 *
 * Each batch also writes the alert scheduler's change feed (alerts/postgresAlertFeed.ts): a row per
 * (citizen, position) it newly applied, in the same transaction, so the scheduler learns exactly which
 * events arrived whatever order projector instances commit in. A reset records which positions its
 * replay brings back, so a rebuild is not mistaken for news.
 */
import pg from 'pg';
import type { HandoverStatus, StoredEvent } from '@tracker/domain';
import { citizenScopeSql, type DataScope } from '@tracker/security';
import { ALERT_FEED_TABLE, alertFeedDdl, replayForReset, storeReplay } from '../alerts/postgresAlertFeed.ts';
import type { CellValue, CitizenDerivation, DerivedRow, DerivedTable } from '../derived.ts';
import { projectEvent, type ProjectionContext, type ReadModelChange, type WorldPosition } from '../projections/projectEvent.ts';
import { HISTORY_COLUMNS, storedEventOf, type HistoryRow } from '../projections/history.ts';
import type { ProjectionTarget } from '../projector.ts';
import type { CitizenView, HandoverFilter, HandoverView, Page, PageRequest, ReadModelQueries, Responsibility, TimelineEntry } from '../queries.ts';

/**
 * The shape of the tables this adapter writes; part of the fingerprint, and of the Kafka projector's
 * identity, so a change rebuilds. 2: citizen_units (the data scope), and `personal` no longer copied
 * into the timeline's data. 3: derived text columns compare byte-wise (COLLATE "C").
 */
export const POSTGRES_READ_MODEL_VERSION = 3;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/**
 * Advisory lock class for creating and dropping this schema's tables ('RM'). The alert scheduler holds
 * it shared while it reads the derived tables, so a reset waits for its check instead of deadlocking.
 */
export const LOCK_CLASS = 0x524d;
const RESOLUTIONS = ['accepted', 'rejected', 'completed', 'cancelled'] as const;

/** int8 (bigint, count(*)) as a JS number: instants in ms and positions are far below 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PostgresReadModelOptions {
  /** `postgres://user@host:port/database`; or give `pool`. */
  connectionString?: string;
  /** A pool owned by the caller (not ended by `close()`). */
  pool?: pg.Pool;
  /** Schema holding the read-model tables (created if missing); default `public`. */
  schema?: string;
  projection: ProjectionContext;
  /** Identifies the configuration the stored read models were built with (units, policies). */
  configFingerprint: string;
  /** Read models derived from each touched citizen's whole history after every batch. */
  derived?: readonly CitizenDerivation[];
  /**
   * Name of this projector's checkpoint (default `checkpoint`): projectors that share a schema but
   * read different sources keep their own.
   */
  checkpointName?: string;
}

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
  overdue: boolean;
}

type Change<K extends ReadModelChange['kind']> = Extract<ReadModelChange, { kind: K }>;

/** The base tables; derived tables are added from the derivations' declarations. */
function baseTables(q: string): Record<string, string> {
  return {
    timeline: `CREATE TABLE IF NOT EXISTS ${q}.timeline (
      citizen_id text COLLATE "C" NOT NULL, occurred_ms bigint NOT NULL, position bigint NOT NULL,
      event_id text NOT NULL, type text NOT NULL, occurred_at text NOT NULL, recorded_at text NOT NULL,
      unit_id text, summary text NOT NULL,
      -- the event itself, so derived read models can replay a citizen's history in world order
      stream_version integer NOT NULL, source text, data text NOT NULL,
      PRIMARY KEY (citizen_id, occurred_ms, position))`,
    citizens: `CREATE TABLE IF NOT EXISTS ${q}.citizens (
      citizen_id text COLLATE "C" PRIMARY KEY, birth_date text NOT NULL, municipality text NOT NULL, disability boolean NOT NULL,
      registered_ms bigint NOT NULL, registered_pos bigint NOT NULL)`,
    responsibilities: `CREATE TABLE IF NOT EXISTS ${q}.responsibilities (
      citizen_id text COLLATE "C" NOT NULL, case_id text COLLATE "C" NOT NULL, unit_id text,
      opened_ms bigint, opened_at text, opened_pos bigint,
      closed_ms bigint, closed_at text, closed_pos bigint,
      PRIMARY KEY (citizen_id, case_id))`,
    handovers: `CREATE TABLE IF NOT EXISTS ${q}.handovers (
      citizen_id text COLLATE "C" NOT NULL, handover_id text COLLATE "C" NOT NULL,
      from_unit_id text, to_unit_id text, kind text,
      initiated_ms bigint, initiated_at text, initiated_pos bigint, due_ms bigint,
      accepted_ms bigint, accepted_at text, accepted_pos bigint,
      rejected_ms bigint, rejected_at text, rejected_pos bigint,
      completed_ms bigint, completed_at text, completed_pos bigint,
      cancelled_ms bigint, cancelled_at text, cancelled_pos bigint,
      PRIMARY KEY (citizen_id, handover_id));
    CREATE INDEX IF NOT EXISTS handovers_by_initiation ON ${q}.handovers (initiated_ms);
    CREATE INDEX IF NOT EXISTS handovers_by_from_unit ON ${q}.handovers (from_unit_id, initiated_ms);
    CREATE INDEX IF NOT EXISTS handovers_by_to_unit ON ${q}.handovers (to_unit_id, initiated_ms)`,
    // every unit ever involved with a citizen: the coordinators' data scope
    citizen_units: `CREATE TABLE IF NOT EXISTS ${q}.citizen_units (
      citizen_id text COLLATE "C" NOT NULL, unit_id text COLLATE "C" NOT NULL, PRIMARY KEY (citizen_id, unit_id));
    CREATE INDEX IF NOT EXISTS citizen_units_by_unit ON ${q}.citizen_units (unit_id, citizen_id)`,
  };
}

const SQL_TYPE = { text: 'text', integer: 'bigint', real: 'double precision' } as const;

function derivedTableDdl(q: string, table: DerivedTable): string {
  if (!TABLE_NAME.test(table.name)) throw new TypeError('a derived table name must be a lower-case SQL identifier');
  const columns = Object.entries(table.columns).map(([name, type]) => {
    if (!TABLE_NAME.test(name)) throw new TypeError(`derived table ${table.name}: column names must be lower-case SQL identifiers`);
    // Byte-wise, as SQLite's BINARY: orderings and keyset cursors agree on both engines and indexes serve them.
    return `${name} ${SQL_TYPE[type]}${type === 'text' ? ' COLLATE "C"' : ''}`;
  });
  return [
    `CREATE TABLE IF NOT EXISTS ${q}.${table.name} (citizen_id text COLLATE "C" NOT NULL, ${columns.join(', ')})`,
    `CREATE INDEX IF NOT EXISTS ${table.name}_by_citizen ON ${q}.${table.name} (citizen_id)`,
    ...(table.indexes ?? []).map((cols) => `CREATE INDEX IF NOT EXISTS ${table.name}_by_${cols.join('_')} ON ${q}.${table.name} (${cols.join(', ')})`),
  ].join(';\n');
}

/** "Earliest wins": the stored value is replaced only by one that stands earlier in the world. */
const earlier = (col: string) =>
  `t.${col}_ms IS NULL OR excluded.${col}_ms < t.${col}_ms OR (excluded.${col}_ms = t.${col}_ms AND excluded.${col}_pos < t.${col}_pos)`;

const standsEarlier = (a: WorldPosition, b: WorldPosition) => a.ms < b.ms || (a.ms === b.ms && a.position < b.position);

/** The earliest change per key, in key order: what applying them one by one earliest-wins leaves. */
function earliestByKey<C extends WorldPosition>(changes: readonly C[], key: (c: C) => string): C[] {
  const byKey = new Map<string, C>();
  for (const c of changes) {
    const k = key(c);
    const held = byKey.get(k);
    if (held === undefined || standsEarlier(c, held)) byKey.set(k, c);
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c);
}

const pairKey = (a: string, b: string) => `${a}\u0000${b}`;

export class PostgresReadModel implements ReadModelQueries, ProjectionTarget {
  /** Connects, creates the schema and tables if missing, and compares the stored fingerprint. */
  static async open(options: PostgresReadModelOptions): Promise<PostgresReadModel> {
    const schema = options.schema ?? 'public';
    if (!SCHEMA_NAME.test(schema)) throw new TypeError('schema must be a lower-case SQL identifier of at most 48 characters');
    const ownsPool = options.pool === undefined;
    if (ownsPool && !options.connectionString) throw new TypeError('give connectionString or pool');
    const pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: 10 });
    if (ownsPool) pool.on('error', () => {}); // an idle client's connection died; the pool replaces it
    const model = new PostgresReadModel(pool, ownsPool, schema, options);
    try {
      await model.#setUp();
    } catch (error) {
      if (ownsPool) await pool.end();
      throw error;
    }
    return model;
  }

  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #schema: string;
  readonly #q: string;
  readonly #projection: ProjectionContext;
  readonly #derived: readonly CitizenDerivation[];
  readonly #fingerprint: string;
  readonly #checkpointName: string;
  #needsRebuild = false;

  private constructor(pool: pg.Pool, ownsPool: boolean, schema: string, options: PostgresReadModelOptions) {
    this.#pool = pool;
    this.#ownsPool = ownsPool;
    this.#schema = schema;
    this.#q = `"${schema}"`;
    this.#projection = options.projection;
    this.#derived = options.derived ?? [];
    this.#checkpointName = options.checkpointName ?? 'checkpoint';
    this.#fingerprint = [`pg${POSTGRES_READ_MODEL_VERSION}`, ...this.#derived.map((d) => `${d.name}@${d.version}`), options.configFingerprint].join(':');
    for (const table of this.#derived.flatMap((d) => d.tables)) derivedTableDdl(this.#q, table); // validates names now
  }

  /** True when the stored read models were built with another configuration or schema: rebuild. */
  get needsRebuild(): boolean {
    return this.#needsRebuild;
  }

  /** The schema of the tables, for the derived models' query adapters. */
  get schema(): string {
    return this.#schema;
  }

  /** A query with bigint columns as numbers, for the derived models' query adapters. */
  async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return (await this.#pool.query<R>({ text, values, types: TYPES })).rows;
  }

  #ddl(): string[] {
    return [...Object.values(baseTables(this.#q)), ...this.#derived.flatMap((d) => d.tables.map((t) => derivedTableDdl(this.#q, t)))];
  }

  #tableNames(): string[] {
    return [...Object.keys(baseTables(this.#q)), ...this.#derived.flatMap((d) => d.tables.map((t) => t.name))];
  }

  async #setUp(): Promise<void> {
    await this.#transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, this.#schema]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#q}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#q}.meta (key text PRIMARY KEY, value text NOT NULL)`);
      for (const ddl of this.#ddl()) await client.query(ddl);
      // Not among the tables a reset drops: what the scheduler has not consumed yet survives it.
      await client.query(alertFeedDdl(this.#q));
      const stored = await client.query<{ value: string }>(`SELECT value FROM ${this.#q}.meta WHERE key = 'fingerprint'`);
      this.#needsRebuild = stored.rows.length > 0 && stored.rows[0]!.value !== this.#fingerprint;
      await client.query(
        `INSERT INTO ${this.#q}.meta (key, value) VALUES ('fingerprint', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [this.#fingerprint],
      );
    });
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  // ---------------------------------------------------------------- writing

  /** Projects and writes a batch of events and moves the checkpoint, in one transaction. */
  async applyBatch(events: readonly StoredEvent[]): Promise<void> {
    if (events.length === 0) return;
    const changes = new Map<ReadModelChange['kind'], ReadModelChange[]>();
    const touched = new Set<string>();
    for (const event of events) {
      for (const change of projectEvent(event, this.#projection)) {
        const list = changes.get(change.kind);
        if (list) list.push(change);
        else changes.set(change.kind, [change]);
      }
      touched.add(event.citizenId);
    }
    const of = <K extends ReadModelChange['kind']>(kind: K) => (changes.get(kind) ?? []) as Change<K>[];
    const checkpoint = events[events.length - 1]!.globalPosition;

    await this.#transaction(async (client) => {
      await this.#writeTimeline(client, of('timelineEntry'));
      await this.#writeCitizens(client, of('citizenRegistered'));
      await this.#writeCases(client, of('caseOpened'), of('caseClosed'));
      await this.#writeHandovers(client, of('handoverInitiated'), of('handoverResolved'));
      await this.#writeCitizenUnits(client, of('citizenUnits'));
      if (this.#derived.length > 0) await this.#writeDerived(client, [...touched].sort());
      await client.query(
        `INSERT INTO ${this.#q}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [this.#checkpointName, String(checkpoint)],
      );
    });
  }

  async #writeTimeline(client: pg.PoolClient, entries: Change<'timelineEntry'>[]): Promise<void> {
    if (entries.length === 0) return;
    const rows = [...entries].sort((a, b) => (a.citizenId < b.citizenId ? -1 : a.citizenId > b.citizenId ? 1 : a.ms - b.ms || a.position - b.position));
    // The events newly applied (a repeat inserts nothing) go into the alert scheduler's feed too.
    await client.query(
      `WITH applied AS (
         INSERT INTO ${this.#q}.timeline (citizen_id, occurred_ms, position, event_id, type, occurred_at, recorded_at, unit_id, summary, stream_version, source, data)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::integer[], $11::text[], $12::text[])
         ON CONFLICT (citizen_id, occurred_ms, position) DO NOTHING
         RETURNING citizen_id, position)
       INSERT INTO ${this.#q}.${ALERT_FEED_TABLE} (citizen_id, position) SELECT citizen_id, position FROM applied ON CONFLICT DO NOTHING`,
      [
        rows.map((c) => c.citizenId),
        rows.map((c) => c.ms),
        rows.map((c) => c.position),
        rows.map((c) => c.eventId),
        rows.map((c) => c.type),
        rows.map((c) => c.at),
        rows.map((c) => c.recordedAt),
        rows.map((c) => c.unitId),
        rows.map((c) => c.summary),
        rows.map((c) => c.streamVersion),
        rows.map((c) => c.source),
        rows.map((c) => c.data),
      ],
    );
  }

  async #writeCitizens(client: pg.PoolClient, registrations: Change<'citizenRegistered'>[]): Promise<void> {
    const rows = earliestByKey(registrations, (c) => c.citizenId);
    if (rows.length === 0) return;
    await client.query(
      `INSERT INTO ${this.#q}.citizens AS t (citizen_id, birth_date, municipality, disability, registered_ms, registered_pos)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::bigint[], $6::bigint[])
       ON CONFLICT (citizen_id) DO UPDATE SET birth_date = excluded.birth_date, municipality = excluded.municipality,
         disability = excluded.disability, registered_ms = excluded.registered_ms, registered_pos = excluded.registered_pos
       WHERE ${earlier('registered')}`,
      [
        rows.map((c) => c.citizenId),
        rows.map((c) => c.birthDate),
        rows.map((c) => c.municipality),
        rows.map((c) => c.disability),
        rows.map((c) => c.ms),
        rows.map((c) => c.position),
      ],
    );
  }

  async #writeCases(client: pg.PoolClient, opened: Change<'caseOpened'>[], closed: Change<'caseClosed'>[]): Promise<void> {
    const openRows = earliestByKey(opened, (c) => pairKey(c.citizenId, c.caseId));
    if (openRows.length > 0) {
      await client.query(
        `INSERT INTO ${this.#q}.responsibilities AS t (citizen_id, case_id, unit_id, opened_ms, opened_at, opened_pos)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[])
         ON CONFLICT (citizen_id, case_id) DO UPDATE SET unit_id = excluded.unit_id, opened_ms = excluded.opened_ms,
           opened_at = excluded.opened_at, opened_pos = excluded.opened_pos
         WHERE ${earlier('opened')}`,
        [
          openRows.map((c) => c.citizenId),
          openRows.map((c) => c.caseId),
          openRows.map((c) => c.unitId),
          openRows.map((c) => c.ms),
          openRows.map((c) => c.at),
          openRows.map((c) => c.position),
        ],
      );
    }
    const closeRows = earliestByKey(closed, (c) => pairKey(c.citizenId, c.caseId));
    if (closeRows.length > 0) {
      await client.query(
        `INSERT INTO ${this.#q}.responsibilities AS t (citizen_id, case_id, closed_ms, closed_at, closed_pos)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[])
         ON CONFLICT (citizen_id, case_id) DO UPDATE SET closed_ms = excluded.closed_ms, closed_at = excluded.closed_at,
           closed_pos = excluded.closed_pos
         WHERE ${earlier('closed')}`,
        [closeRows.map((c) => c.citizenId), closeRows.map((c) => c.caseId), closeRows.map((c) => c.ms), closeRows.map((c) => c.at), closeRows.map((c) => c.position)],
      );
    }
  }

  async #writeHandovers(client: pg.PoolClient, initiated: Change<'handoverInitiated'>[], resolved: Change<'handoverResolved'>[]): Promise<void> {
    const initRows = earliestByKey(initiated, (c) => pairKey(c.citizenId, c.handoverId));
    if (initRows.length > 0) {
      await client.query(
        `INSERT INTO ${this.#q}.handovers AS t (citizen_id, handover_id, from_unit_id, to_unit_id, kind, initiated_ms, initiated_at, initiated_pos, due_ms)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::bigint[], $9::bigint[])
         ON CONFLICT (citizen_id, handover_id) DO UPDATE SET from_unit_id = excluded.from_unit_id, to_unit_id = excluded.to_unit_id,
           kind = excluded.kind, initiated_ms = excluded.initiated_ms, initiated_at = excluded.initiated_at,
           initiated_pos = excluded.initiated_pos, due_ms = excluded.due_ms
         WHERE ${earlier('initiated')}`,
        [
          initRows.map((c) => c.citizenId),
          initRows.map((c) => c.handoverId),
          initRows.map((c) => c.fromUnitId),
          initRows.map((c) => c.toUnitId),
          initRows.map((c) => c.handoverKind),
          initRows.map((c) => c.ms),
          initRows.map((c) => c.at),
          initRows.map((c) => c.position),
          initRows.map((c) => c.dueMs),
        ],
      );
    }
    for (const r of RESOLUTIONS) {
      const rows = earliestByKey(
        resolved.filter((c) => c.resolution === r),
        (c) => pairKey(c.citizenId, c.handoverId),
      );
      if (rows.length === 0) continue;
      await client.query(
        `INSERT INTO ${this.#q}.handovers AS t (citizen_id, handover_id, ${r}_ms, ${r}_at, ${r}_pos)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[])
         ON CONFLICT (citizen_id, handover_id) DO UPDATE SET ${r}_ms = excluded.${r}_ms, ${r}_at = excluded.${r}_at, ${r}_pos = excluded.${r}_pos
         WHERE ${earlier(r)}`,
        [rows.map((c) => c.citizenId), rows.map((c) => c.handoverId), rows.map((c) => c.ms), rows.map((c) => c.at), rows.map((c) => c.position)],
      );
    }
  }

  async #writeCitizenUnits(client: pg.PoolClient, changes: Change<'citizenUnits'>[]): Promise<void> {
    const pairs = new Map<string, [string, string]>();
    for (const c of changes) for (const unitId of c.unitIds) pairs.set(pairKey(c.citizenId, unitId), [c.citizenId, unitId]);
    if (pairs.size === 0) return;
    // In key order, like every other write, so two projectors writing overlapping rows cannot deadlock.
    const rows = [...pairs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, pair]) => pair);
    await client.query(
      `INSERT INTO ${this.#q}.citizen_units (citizen_id, unit_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`,
      [rows.map(([citizenId]) => citizenId), rows.map(([, unitId]) => unitId)],
    );
  }

  /** Derives every touched citizen again from their whole history (this batch included) and replaces their rows. */
  async #writeDerived(client: pg.PoolClient, citizenIds: string[]): Promise<void> {
    const histories = await this.#histories(client, citizenIds);
    const rowsByTable = new Map<string, { citizenId: string; row: DerivedRow }[]>();
    for (const citizenId of citizenIds) {
      const history = histories.get(citizenId) ?? [];
      for (const derivation of this.#derived) {
        const rows = derivation.derive(citizenId, history);
        for (const table of derivation.tables) {
          const list = rowsByTable.get(table.name) ?? [];
          for (const row of rows[table.name] ?? []) list.push({ citizenId, row });
          rowsByTable.set(table.name, list);
        }
      }
    }
    for (const table of this.#derived.flatMap((d) => d.tables)) {
      await client.query(`DELETE FROM ${this.#q}.${table.name} WHERE citizen_id = ANY($1::text[])`, [citizenIds]);
      const rows = rowsByTable.get(table.name) ?? [];
      if (rows.length === 0) continue;
      const columns = Object.entries(table.columns);
      const casts = columns.map(([, type], i) => `$${i + 2}::${SQL_TYPE[type]}[]`);
      await client.query(
        `INSERT INTO ${this.#q}.${table.name} (citizen_id, ${columns.map(([name]) => name).join(', ')})
         SELECT * FROM unnest($1::text[], ${casts.join(', ')})`,
        [rows.map((r) => r.citizenId), ...columns.map(([name]) => rows.map((r) => (r.row[name] ?? null) as CellValue))],
      );
    }
  }

  async #histories(client: pg.PoolClient | pg.Pool, citizenIds: string[]): Promise<Map<string, StoredEvent[]>> {
    const { rows } = await client.query<HistoryRow>({
      text: `SELECT ${HISTORY_COLUMNS}
             FROM ${this.#q}.timeline WHERE citizen_id = ANY($1::text[]) ORDER BY citizen_id, occurred_ms, position`,
      values: [citizenIds],
      types: TYPES,
    });
    const histories = new Map<string, StoredEvent[]>();
    for (const r of rows) {
      const event = storedEventOf(r);
      const list = histories.get(r.citizen_id);
      if (list) list.push(event);
      else histories.set(r.citizen_id, [event]);
    }
    return histories;
  }

  /** All of a citizen's events in world order (occurredAt, then global position). */
  async history(citizenId: string): Promise<StoredEvent[]> {
    return (await this.#histories(this.#pool, [citizenId])).get(citizenId) ?? [];
  }

  /**
   * Forgets every read model, so the projector replays the store from position 0. The tables are
   * dropped and created again, so a derivation whose columns changed with its version gets its new shape.
   */
  async reset(): Promise<void> {
    await this.#transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, this.#schema]);
      await client.query(alertFeedDdl(this.#q));
      const replay = await replayForReset(client, this.#q);
      for (const table of this.#tableNames()) await client.query(`DROP TABLE IF EXISTS ${this.#q}.${table}`);
      for (const ddl of this.#ddl()) await client.query(ddl);
      await client.query(`DELETE FROM ${this.#q}.meta WHERE key <> 'fingerprint'`);
      await storeReplay(client, this.#q, replay);
    });
    this.#needsRebuild = false;
  }

  async checkpoint(): Promise<number> {
    const rows = await this.query<{ value: string }>(`SELECT value FROM ${this.#q}.meta WHERE key = $1`, [this.#checkpointName]);
    return Number(rows[0]?.value ?? 0);
  }

  // ---------------------------------------------------------------- queries

  /** The scope as a condition over `column`, its parameter numbered after the `taken` ones. */
  #inScope(scope: DataScope, column: string, taken: number): { sql: string; params: unknown[] } {
    return citizenScopeSql(scope, { citizenColumn: column, involvementTable: `${this.#schema}.citizen_units` }, 'postgres', taken + 1);
  }

  async citizen(citizenId: string, asOf: number, scope: DataScope): Promise<CitizenView | null> {
    const inScope = this.#inScope(scope, 'citizen_id', 1);
    const [row] = await this.query<{ first_ms: number | null; birth_date: string | null; municipality: string | null; registered_ms: number | null }>(
      `SELECT (SELECT min(occurred_ms) FROM ${this.#q}.timeline WHERE citizen_id = $1 AND ${inScope.sql}) AS first_ms, c.birth_date, c.municipality, c.registered_ms
       FROM (SELECT 1) one LEFT JOIN ${this.#q}.citizens c ON c.citizen_id = $1`,
      [citizenId, ...inScope.params],
    );
    if (!row || row.first_ms === null || row.first_ms > asOf) return null;
    const known = row.registered_ms !== null && row.registered_ms <= asOf;
    return { id: citizenId, birthDate: known ? row.birth_date : null, municipality: known ? row.municipality : null };
  }

  async timeline(citizenId: string, asOf: number, scope: DataScope): Promise<TimelineEntry[]> {
    const inScope = this.#inScope(scope, 'citizen_id', 2);
    const rows = await this.query<{ event_id: string; type: string; occurred_at: string; recorded_at: string; unit_id: string | null; summary: string }>(
      `SELECT event_id, type, occurred_at, recorded_at, unit_id, summary FROM ${this.#q}.timeline
       WHERE citizen_id = $1 AND occurred_ms <= $2 AND ${inScope.sql} ORDER BY occurred_ms, position`,
      [citizenId, asOf, ...inScope.params],
    );
    return rows.map((r) => ({ eventId: r.event_id, type: r.type, occurredAt: r.occurred_at, recordedAt: r.recorded_at, unitId: r.unit_id, summary: r.summary }));
  }

  async responsibilities(citizenId: string, asOf: number, scope: DataScope): Promise<Responsibility[]> {
    const inScope = this.#inScope(scope, 'citizen_id', 2);
    const rows = await this.query<{ case_id: string; unit_id: string; opened_at: string; closed_at: string | null }>(
      `SELECT case_id, unit_id, opened_at, CASE WHEN closed_ms <= $2 THEN closed_at END AS closed_at
       FROM ${this.#q}.responsibilities WHERE citizen_id = $1 AND opened_ms <= $2 AND ${inScope.sql} ORDER BY opened_ms, opened_pos`,
      [citizenId, asOf, ...inScope.params],
    );
    return rows.map((r) => ({ caseId: r.case_id, unitId: r.unit_id, openedAt: r.opened_at, closedAt: r.closed_at }));
  }

  async citizenHandovers(citizenId: string, asOf: number, scope: DataScope): Promise<HandoverView[]> {
    const inScope = this.#inScope(scope, 'citizen_id', 2);
    const rows = await this.query<HandoverRow>(`${this.#handoverQuery(`AND citizen_id = $2 AND ${inScope.sql}`)} ORDER BY initiated_ms, handover_id`, [
      asOf,
      citizenId,
      ...inScope.params,
    ]);
    return rows.map(toHandoverView);
  }

  async citizenUnits(citizenId: string): Promise<string[]> {
    const rows = await this.query<{ unit_id: string }>(`SELECT unit_id FROM ${this.#q}.citizen_units WHERE citizen_id = $1 ORDER BY unit_id`, [citizenId]);
    return rows.map((r) => r.unit_id);
  }

  async handovers(filter: HandoverFilter, page: PageRequest, scope: DataScope): Promise<Page<HandoverView>> {
    const values: unknown[] = [filter.asOf];
    const param = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    const inScope = this.#inScope(scope, 'citizen_id', values.length);
    values.push(...inScope.params);
    const unitFilter = filter.unitId !== undefined ? (() => {
      const p = param(filter.unitId);
      return ` AND (from_unit_id = ${p} OR to_unit_id = ${p})`;
    })() : '';
    const inner = `AND ${inScope.sql}${unitFilter}`;
    const outer: string[] = [];
    if (filter.status !== undefined) outer.push(`status = ${param(filter.status)}`);
    if (filter.overdue !== undefined) outer.push(`overdue = ${param(filter.overdue)}`);
    const base = `SELECT * FROM (${this.#handoverQuery(inner)}) h ${outer.length ? `WHERE ${outer.join(' AND ')}` : ''}`;
    const [{ n: totalCount } = { n: 0 }] = await this.query<{ n: number }>(`SELECT count(*) AS n FROM (${base}) counted`, values);
    const rows = await this.query<HandoverRow>(
      `${base} ORDER BY initiated_ms, citizen_id, handover_id LIMIT ${param(page.first + 1)} OFFSET ${param(page.offset)}`,
      values,
    );
    return { nodes: rows.slice(0, page.first).map(toHandoverView), totalCount, hasNextPage: rows.length > page.first };
  }

  /** Handovers initiated by $1 (asOf) with status, resolvedAt and overdue derived at $1. */
  #handoverQuery(filter: string): string {
    return `
    SELECT citizen_id, handover_id, from_unit_id, to_unit_id, kind, initiated_ms, initiated_at, due_ms, status,
           CASE resolved_raw WHEN a THEN accepted_at WHEN r THEN rejected_at WHEN ca THEN cancelled_at WHEN co THEN completed_at END AS resolved_at,
           ($1 >= due_ms AND (resolved_raw IS NULL OR resolved_raw >= due_ms)) AS overdue
    FROM (
      SELECT h.*,
        CASE WHEN latest IS NULL THEN 'PENDING' WHEN latest = ca THEN 'CANCELLED' WHEN latest = co THEN 'COMPLETED'
             WHEN latest = r THEN 'REJECTED' ELSE 'ACCEPTED' END AS status,
        coalesce(LEAST(a, r, ca), co) AS resolved_raw
      FROM (
        SELECT s.*, GREATEST(a, r, co, ca) AS latest FROM (
          SELECT *,
            CASE WHEN accepted_ms <= $1 THEN accepted_ms END AS a,
            CASE WHEN rejected_ms <= $1 THEN rejected_ms END AS r,
            CASE WHEN completed_ms <= $1 THEN completed_ms END AS co,
            CASE WHEN cancelled_ms <= $1 THEN cancelled_ms END AS ca
          FROM ${this.#q}.handovers WHERE initiated_ms <= $1 ${filter}
        ) s
      ) h
    ) v`;
  }

  /** Releases the connections (the pool only if the model made it). */
  async close(): Promise<void> {
    if (this.#ownsPool) await this.#pool.end();
  }
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
  overdue: r.overdue,
});
