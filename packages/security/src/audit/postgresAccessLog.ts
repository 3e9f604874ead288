/**
 * The access log on PostgreSQL, for distributed mode: one table shared by every API replica, one hash
 * chain across all of them (the same chain format as the SQLite log: hashChain.ts).
 *
 * Append-only three times over, as in the SQLite log:
 * - the API (AccessLog) has no update or delete;
 * - a statement trigger refuses UPDATE, DELETE and TRUNCATE (and so INSERT … ON CONFLICT DO UPDATE), and
 *   a statement trigger after INSERT refuses rows that do not continue the sequence (no gaps, nothing
 *   slipped in before existing entries) — whatever the number of rows a statement touches;
 * - the hash chain lets `verify()` find the first changed, removed or reordered entry even after
 *   someone with the rights dropped or disabled the triggers.
 * Triggers bind only roles that cannot alter the table: the tables must be owned by a role no service
 * logs in as (e.g. NOLOGIN `tracker_audit_owner`, which runs the migration), and the API replicas'
 * role is granted USAGE on the schema and SELECT, INSERT on `access_log` (SELECT on
 * `access_log_schema`) — nothing else. The owner and superusers can still disable the triggers; the
 * chain is what catches them (docs/security.md §8; anchoring the head outside the database is planned).
 *
 * One chain across replicas: each group commit takes a transaction-level advisory lock (per schema)
 * before it reads the chain's head and holds it until COMMIT, so the next writer — in this process or
 * another replica — reads the head only after this group is committed and visible (READ COMMITTED, a
 * fresh snapshot per statement). Sequence numbers are therefore dense and the chain never forks.
 * Advisory locks need no privilege, so the API role stays at SELECT and INSERT.
 *
 * Group commit: `record` queues the entry and the first record of a loop turn schedules a flush with
 * `setImmediate`; a flush writes everything queued in one transaction (one WAL flush, with
 * synchronous_commit forced on so "resolved" means durable) and then settles the callers' promises.
 * While a group is being committed the next one gathers, so one replica has at most one transaction
 * open. `close()` flushes what is queued before releasing the connections.
 *
 * Errors from the database are reported by SQLSTATE only (the server's text may quote values).
 */
import pg from 'pg';
import { migrateSchema } from '../postgres/schemaMigrations.ts';
import { systemClock, type Clock } from '@tracker/domain';
import type { Role } from '../auth/principal.ts';
import {
  AccessLogClosedError,
  ERASURE_OPERATION,
  AccessLogEntryError,
  AccessLogNotFoundError,
  checkCitizenId,
  type AccessLog,
  type AccessLogEntry,
  type AccessRecord,
  type EntriesFilter,
  type Lookup,
  type RecordedErasure,
} from './accessLog.ts';
import { chainHash, GENESIS, type ChainedEntry, type ChainVerification } from './hashChain.ts';
import { GroupCommitQueue, type PendingRecord } from './groupCommit.ts';

export interface PostgresAccessLogOptions {
  /** `postgres://user@host:port/database`; or give `pool`. */
  connectionString?: string;
  /** A pool owned by the caller (not ended by `close()`). */
  pool?: pg.Pool;
  /** Schema of the log's tables (created if missing); default `tracker_audit`. */
  schema?: string;
  /** Stamps `at`. */
  clock?: Clock;
  /** Pool size when the log creates the pool; default 4 (one group commit at a time, plus reads). */
  maxConnections?: number;
  /** False: a schema without the log's tables is refused with AccessLogNotFoundError instead of being created. Default true. */
  create?: boolean;
}

export interface PostgresAccessLogStats {
  /** Transactions committed by this instance (= WAL flushes). */
  commits: number;
  entries: number;
  /** Most entries written by one commit. */
  largestGroup: number;
}

/** A database failure, named by SQLSTATE only. */
export class PostgresAccessLogError extends Error {
  constructor(
    what: string,
    readonly code: string | undefined,
  ) {
    super(`the database refused to ${what} in the access log (SQLSTATE ${code ?? 'unknown'})`);
    this.name = 'PostgresAccessLogError';
  }
}

export const DEFAULT_ACCESS_LOG_SCHEMA = 'tracker_audit';
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;
/** First key of this log's two-key advisory locks ('TA'); the second is the schema's hash. */
const CHAIN_LOCK = 0x5441;
const MIGRATION_LOCK = CHAIN_LOCK + 1;
/** Raised by the triggers. */
const APPEND_ONLY_STATE = 'TRAOL';
const VERIFY_PAGE = 5_000;

/** Migration i takes the schema from version i to i + 1. Append new steps; never edit a shipped one. */
function migrations(s: string): string[] {
  const q = `"${s}"`;
  return [
    `CREATE TABLE ${q}.access_log (
       seq        bigint      PRIMARY KEY,
       at         timestamptz NOT NULL,
       actor      text        NOT NULL,
       actor_role text        NOT NULL,
       citizen_id text        NOT NULL,
       operation  text        NOT NULL,
       purpose    text,
       hash       bytea       NOT NULL
     );
     CREATE INDEX access_log_by_citizen ON ${q}.access_log (citizen_id, seq);
     CREATE INDEX access_log_by_actor ON ${q}.access_log (actor, seq);

     CREATE FUNCTION ${q}.access_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
     BEGIN
       RAISE EXCEPTION 'the access log is append-only' USING ERRCODE = '${APPEND_ONLY_STATE}';
     END
     $fn$;
     -- Statement level: refuses even an UPDATE or DELETE that matches no row, and TRUNCATE, which row
     -- triggers never see.
     CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ${q}.access_log
       FOR EACH STATEMENT EXECUTE FUNCTION ${q}.access_log_refuse_change();

     -- After the statement, over all its rows at once (a multi-row INSERT visits rows in no promised
     -- order): they must be dense and follow the last entry before them, with none after them.
     CREATE FUNCTION ${q}.access_log_check_append() RETURNS trigger LANGUAGE plpgsql AS $fn$
     DECLARE
       v_first bigint; v_last bigint; v_count bigint; v_before bigint;
     BEGIN
       SELECT min(seq), max(seq), count(*) INTO v_first, v_last, v_count FROM appended;
       IF v_count = 0 THEN RETURN NULL; END IF;
       SELECT coalesce(max(seq), 0) INTO v_before FROM ${q}.access_log WHERE seq < v_first;
       IF v_last - v_first + 1 <> v_count OR v_first <> v_before + 1
          OR EXISTS (SELECT 1 FROM ${q}.access_log WHERE seq > v_last) THEN
         RAISE EXCEPTION 'the access log is append-only: entries must continue the sequence' USING ERRCODE = '${APPEND_ONLY_STATE}';
       END IF;
       RETURN NULL;
     END
     $fn$;
     CREATE TRIGGER access_log_only_appends AFTER INSERT ON ${q}.access_log
       REFERENCING NEW TABLE AS appended FOR EACH STATEMENT EXECUTE FUNCTION ${q}.access_log_check_append();`,
  ];
}

export const POSTGRES_ACCESS_LOG_SCHEMA_VERSION = migrations('x').length;

interface Row {
  seq: string;
  at: Date;
  actor: string;
  actor_role: string;
  citizen_id: string;
  operation: string;
  purpose: string | null;
}


export class PostgresAccessLog implements AccessLog {
  /** Connects, creates the schema and tables if missing (or migrates them), and returns the log. */
  static async open(options: PostgresAccessLogOptions): Promise<PostgresAccessLog> {
    const schema = options.schema ?? DEFAULT_ACCESS_LOG_SCHEMA;
    if (!SCHEMA_NAME.test(schema)) throw new TypeError('schema must be a lower-case SQL identifier (a–z, 0–9, _) of at most 48 characters');
    const ownsPool = options.pool === undefined;
    if (ownsPool && !options.connectionString) throw new TypeError('give connectionString or pool');
    const pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 4, application_name: 'tracker-access-log' });
    if (ownsPool) pool.on('error', () => {}); // an idle client's connection died; the pool replaces it
    try {
      await migrate(pool, schema, options.create ?? true);
    } catch (error) {
      if (ownsPool) await pool.end();
      throw databaseError('create its tables', error);
    }
    return new PostgresAccessLog(pool, ownsPool, schema, options.clock ?? systemClock);
  }

  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #sql: { head: string; insert: string; lookups: string; erasures: string; page: string; table: string };
  readonly #queue: GroupCommitQueue;
  /** The running drain (one group commit at a time); undefined when idle. */
  #draining: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #stats: PostgresAccessLogStats = { commits: 0, entries: 0, largestGroup: 0 };

  private constructor(pool: pg.Pool, ownsPool: boolean, schema: string, clock: Clock) {
    this.#pool = pool;
    this.#ownsPool = ownsPool;
    this.#queue = new GroupCommitQueue(clock, () => void this.#drain());
    const q = `"${schema}"`;
    const columns = 'seq, at, actor, actor_role, citizen_id, operation, purpose';
    this.#sql = {
      // One round trip: the transaction, durability, the chain lock (held to COMMIT), then the head read
      // under it. The schema is validated, so its hash can be inlined.
      head: `BEGIN ISOLATION LEVEL READ COMMITTED;
             SET LOCAL synchronous_commit = on;
             SELECT pg_advisory_xact_lock(${CHAIN_LOCK}, hashtext('${schema}'));
             SELECT seq, hash FROM ${q}.access_log ORDER BY seq DESC LIMIT 1;`,
      insert: `INSERT INTO ${q}.access_log (${columns}, hash)
               SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[])`,
      lookups: `SELECT at, operation, purpose FROM ${q}.access_log WHERE citizen_id = $1 ORDER BY seq`,
      // A scan of the log: erasures are listed rarely (after a key-store restore), so no index is kept for them.
      erasures: `SELECT citizen_id, min(at) AS erased_at FROM ${q}.access_log WHERE operation = $1 GROUP BY citizen_id ORDER BY min(seq)`,
      page: `SELECT ${columns}, hash FROM ${q}.access_log WHERE seq > $1 ORDER BY seq LIMIT ${VERIFY_PAGE}`,
      table: `${q}.access_log`,
    };
  }

  get stats(): Readonly<PostgresAccessLogStats> {
    return { ...this.#stats };
  }

  record(entry: AccessRecord): Promise<void> {
    return this.recordAll([entry]);
  }

  recordAll(entries: readonly AccessRecord[]): Promise<void> {
    if (this.#closing) return Promise.reject(new AccessLogClosedError());
    return this.#queue.add(entries);
  }

  /** Commits queued groups one after another until the queue is empty; joins the drain under way. */
  #drain(): Promise<void> {
    if (this.#draining) return this.#draining;
    if (this.#queue.size === 0) return Promise.resolve();
    // The queue is not empty, so the loop awaits a commit before its `finally` clears #draining.
    this.#draining = (async () => {
      try {
        while (this.#queue.size > 0) await this.#commit(this.#queue.take());
      } finally {
        this.#draining = undefined;
      }
    })();
    return this.#draining;
  }

  /** Writes one group in one transaction, chained on the head read under the lock; settles its promises. */
  async #commit(group: PendingRecord[]): Promise<void> {
    let written = 0;
    let client: pg.PoolClient | undefined;
    let broken = false;
    try {
      client = await this.#pool.connect();
      const results = (await client.query(this.#sql.head)) as unknown as pg.QueryResult<{ seq: string; hash: Buffer }>[];
      const head = results[results.length - 1]!.rows[0];
      let seq = head === undefined ? 0 : Number(head.seq);
      let hash = head?.hash ?? GENESIS;
      const columns: unknown[][] = [[], [], [], [], [], [], [], []];
      for (const pending of group) {
        for (const row of pending.rows) {
          seq += 1;
          hash = chainHash(hash, { ...row, seq });
          [seq, row.at, row.actor, row.actor_role, row.citizen_id, row.operation, row.purpose, hash].forEach((value, i) => columns[i]!.push(value));
          written += 1;
        }
      }
      await client.query(this.#sql.insert, columns);
      await client.query('COMMIT');
    } catch (error) {
      // Nothing of the group was written (one transaction).
      if (client) await client.query('ROLLBACK').catch(() => (broken = true));
      const reported = databaseError('append', error);
      for (const pending of group) pending.reject(reported);
      return;
    } finally {
      // A connection that cannot even roll back is dropped, not returned to the pool.
      client?.release(broken);
    }
    this.#stats.commits += 1;
    this.#stats.entries += written;
    this.#stats.largestGroup = Math.max(this.#stats.largestGroup, written);
    for (const pending of group) pending.resolve();
  }

  async flush(): Promise<void> {
    if (this.#closed) return;
    await this.#drain();
  }

  async lookupsOf(citizenId: string): Promise<Lookup[]> {
    checkCitizenId(citizenId);
    this.#readable();
    await this.#drain();
    const rows = await this.#query<Pick<Row, 'at' | 'operation' | 'purpose'>>('read lookups', this.#sql.lookups, [citizenId]);
    return rows.map((r) => ({ at: r.at.toISOString(), operation: r.operation, purpose: r.purpose }));
  }

  async erasures(): Promise<RecordedErasure[]> {
    this.#readable();
    await this.#drain();
    const rows = await this.#query<{ citizen_id: string; erased_at: Date }>('read erasures', this.#sql.erasures, [ERASURE_OPERATION]);
    return rows.map((r) => ({ citizenId: r.citizen_id, erasedAt: r.erased_at.toISOString() }));
  }

  async entries(filter: EntriesFilter = {}): Promise<AccessLogEntry[]> {
    this.#readable();
    const where: string[] = [];
    const params: unknown[] = [];
    const bind = (value: unknown) => `$${params.push(value)}`;
    if (filter.citizenId !== undefined) {
      checkCitizenId(filter.citizenId);
      where.push(`citizen_id = ${bind(filter.citizenId)}`);
    }
    if (filter.actor !== undefined) where.push(`actor = ${bind(filter.actor)}`);
    for (const [field, op] of [
      ['from', '>='],
      ['to', '<='],
    ] as const) {
      const value = filter[field];
      if (value === undefined) continue;
      const ms = Date.parse(value);
      if (Number.isNaN(ms)) throw new AccessLogEntryError(field, 'must be an ISO 8601 instant');
      where.push(`at ${op} ${bind(new Date(ms).toISOString())}`);
    }
    if (filter.afterSeq !== undefined) {
      if (!Number.isSafeInteger(filter.afterSeq)) throw new AccessLogEntryError('afterSeq', 'must be a whole number');
      where.push(`seq > ${bind(filter.afterSeq)}`);
    }
    const limit = Math.min(Math.max(1, Math.trunc(filter.limit ?? 1000)), 10_000);
    await this.#drain();
    const rows = await this.#query<Row>(
      'read entries',
      `SELECT seq, at, actor, actor_role, citizen_id, operation, purpose FROM ${this.#sql.table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ${bind(limit)}`,
      params,
    );
    return rows.map((r) => ({
      seq: Number(r.seq),
      at: r.at.toISOString(),
      actor: r.actor,
      actorRole: r.actor_role as Role,
      citizenId: r.citizen_id,
      operation: r.operation,
      purpose: r.purpose,
    }));
  }

  /** Walks the hash chain from the first entry, page by page: a changed, removed or reordered entry breaks it. */
  async verify(): Promise<ChainVerification> {
    this.#readable();
    await this.#drain();
    let previous: Buffer = GENESIS;
    let expectedSeq = 1;
    let count = 0;
    for (;;) {
      const page = await this.#query<Row & { hash: Buffer }>('verify', this.#sql.page, [expectedSeq - 1]);
      for (const row of page) {
        const entry: ChainedEntry = { ...row, seq: Number(row.seq), at: row.at.toISOString() };
        if (entry.seq !== expectedSeq || !chainHash(previous, entry).equals(row.hash)) return { ok: false, entries: count, firstBrokenSeq: expectedSeq };
        previous = row.hash;
        expectedSeq += 1;
        count += 1;
      }
      if (page.length < VERIFY_PAGE) return { ok: true, entries: count };
    }
  }

  async #query<T extends pg.QueryResultRow>(what: string, sql: string, params: unknown[]): Promise<T[]> {
    try {
      return (await this.#pool.query<T>(sql, params)).rows;
    } catch (error) {
      throw databaseError(what, error);
    }
  }

  #readable(): void {
    if (this.#closed) throw new AccessLogClosedError();
  }

  /** Refuses new records at once, commits everything queued, then releases the connections. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#drain();
      this.#closed = true;
      if (this.#ownsPool) await this.#pool.end();
    })();
    return this.#closing;
  }
}

function databaseError(what: string, error: unknown): unknown {
  if (error instanceof pg.DatabaseError) return new PostgresAccessLogError(what, error.code);
  return error;
}

/** Creates the schema and tables if missing (unless `create` is false), one process at a time. */
function migrate(pool: pg.Pool, schema: string, create: boolean): Promise<void> {
  const steps = migrations(schema);
  return migrateSchema(pool, { schema, versionTable: 'access_log_schema', lockClass: MIGRATION_LOCK, steps, what: 'access log', create, notFound: () => new AccessLogNotFoundError(`in schema ${schema}`) });
}
