/**
 * The event store on PostgreSQL (`pg`), for distributed mode: several processes may append and read.
 *
 * Global positions in commit order — the lost-event pitfall. A SQL event store that numbers events from
 * a sequence lets two transactions commit in the other order than they took their numbers: T1 takes 7,
 * T2 takes 8 and commits, a reader sees 8 and moves its checkpoint there, T1 commits 7 — which that
 * reader never reads. Here every append takes one transaction-level advisory lock (per schema) before it
 * numbers its events, and holds it until COMMIT: positions are `max(global_position) + 1 …` read under
 * the lock, so the next append can only number its events after this one's are committed and visible.
 * Positions therefore grow in commit order, and a reader that sees position p also sees every position
 * below p: "read after my checkpoint" can never skip an event. (PostgreSQL makes a transaction visible
 * before it releases its locks, so the waiter's fresh READ COMMITTED snapshot includes its predecessor.)
 * A rolled-back append numbers nothing, so positions are dense too.
 *
 * The alternative that keeps appends concurrent — a bigserial plus a `pg_current_xact_id()` column, with
 * readers stopping below `pg_snapshot_xmin(pg_current_snapshot())` (Marten, Emmett) — reads in
 * (transaction id, position) order, where positions are not monotonic; it needs a two-part checkpoint,
 * and the port's checkpoint is one number. The price of the lock is that appends to one store serialise
 * on commit (one WAL flush each); ingestion batches many events into one appendBatch, and one append is
 * one round trip (`append_events`, a PL/pgSQL function doing the checks, numbering and inserts
 * set-based under the lock), so the lock is held for one statement plus the commit.
 *
 * Idempotency: `event_id` is unique; an id already stored (in any stream) or repeated within a request is
 * reported as a duplicate. Expected versions are checked under the same lock. Subscribers are woken by
 * NOTIFY (sent at commit by `append_events`) and by appends of this process, and poll as a fallback.
 *
 * Error messages never carry event data: database errors are reported by SQLSTATE and constraint name.
 */
import pg from 'pg';
import { systemClock, type Clock, type StoredEvent, type TransitionEvent } from '@tracker/domain';
import {
  WrongExpectedVersionError,
  type AppendBatchResult,
  type AppendToStreamResult,
  type BatchHandler,
  type EventStore,
  type ExpectedVersion,
  type ReadAllOptions,
  type SubscribeToAllOptions,
} from '../eventStore.ts';
import { EventStoreClosedError } from '../errors.ts';
import { checkCitizenId, checkMaxCount, checkSubscribeOptions, expectedAsNumber, prepareEvents, storedFrom, type PreparedEvent } from '../preparedEvents.ts';
import { PullSubscription, type ObservableSubscription } from '../pullSubscription.ts';

export interface PostgresEventStoreOptions {
  /** `postgres://user@host:port/database`; or give `pool`. */
  connectionString?: string;
  /** A pool owned by the caller (not ended by `close()`); its connections must use READ COMMITTED. */
  pool?: pg.Pool;
  /** Schema holding the store's tables (created if missing); default `public`. */
  schema?: string;
  /** Source of `recordedAt`; defaults to the system clock. */
  clock?: Clock;
  /** How often an idle subscription reads even without a notification; default 1000 ms. */
  pollIntervalMs?: number;
  /** Pool size when the store creates the pool; default 10. */
  maxConnections?: number;
}

/** A database failure, named by SQLSTATE and constraint only (the server's text may quote values). */
export class PostgresEventStoreError extends Error {
  constructor(
    what: string,
    readonly code: string | undefined,
    readonly constraint: string | undefined,
  ) {
    super(`the database refused to ${what} (SQLSTATE ${code ?? 'unknown'}${constraint ? `, constraint ${constraint}` : ''})`);
    this.name = 'PostgresEventStoreError';
  }
}

const DEFAULT_BATCH_SIZE = 500;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;
/** First key of the two-key advisory locks of this store ('TR'); the second is the schema's hash. */
const LOCK_CLASS = 0x5452;
/** Raised by append_events when the expected version does not match; DETAIL holds the actual version. */
const WRONG_EXPECTED_VERSION = 'TRWEV';

const COLUMNS = 'global_position, event_id, citizen_id, stream_version, type, occurred_at, source, data, recorded_at';

interface EventRow {
  global_position: string;
  event_id: string;
  citizen_id: string;
  stream_version: number;
  type: string;
  occurred_at: string;
  source: string | null;
  data: unknown;
  recorded_at: Date;
}

interface AppendRow {
  indexes: number[];
  versions: number[];
  positions: string[];
  version_before: number | null;
}

/** Migration i takes the schema from version i to i + 1. Append new steps; never edit a shipped one. */
function migrations(s: string): string[] {
  const q = `"${s}"`;
  return [
    // 0 → 1
    `CREATE TABLE ${q}.events (
       global_position bigint      PRIMARY KEY,
       event_id        text        NOT NULL UNIQUE,
       citizen_id      text        NOT NULL,
       stream_version  integer     NOT NULL,
       type            text        NOT NULL,
       occurred_at     text        NOT NULL, -- as sent, offset kept (ISO 8601)
       source          text,
       data            jsonb       NOT NULL,
       recorded_at     timestamptz NOT NULL,
       UNIQUE (citizen_id, stream_version)
     );
     -- The UNIQUE constraints give the indexes reading needs: (citizen_id, stream_version) serves readStream
     -- and the stream version, event_id the idempotency check; readAll and the head walk the primary key.

     CREATE FUNCTION ${q}.append_events(
       p_stream text, p_expected integer,
       p_ids text[], p_citizens text[], p_types text[], p_occurred text[], p_sources text[], p_data text[],
       p_recorded timestamptz,
       OUT indexes integer[], OUT versions integer[], OUT positions bigint[], OUT version_before integer)
     LANGUAGE plpgsql AS $fn$
     DECLARE
       v_head bigint;
     BEGIN
       -- Each statement below must see what the previous lock holder committed: a fresh snapshot per
       -- statement, which only READ COMMITTED gives.
       IF current_setting('transaction_isolation') <> 'read committed' THEN
         RAISE EXCEPTION 'appends need READ COMMITTED isolation' USING ERRCODE = 'TRISO';
       END IF;
       -- Held to COMMIT: positions are numbered in commit order (see postgresEventStore.ts).
       PERFORM pg_advisory_xact_lock(${LOCK_CLASS}, hashtext('${s}'));
       SELECT coalesce(max(global_position), 0) INTO v_head FROM ${q}.events;
       indexes := '{}'; versions := '{}'; positions := '{}';

       IF p_stream IS NOT NULL THEN
         SELECT coalesce(max(e.stream_version), -1) INTO version_before FROM ${q}.events e WHERE e.citizen_id = p_stream;
         IF p_expected IS NOT NULL AND p_expected <> version_before THEN
           -- An idempotent retry (every event already stored) succeeds whatever version it expected.
           IF cardinality(p_ids) > 0 AND NOT EXISTS (
             SELECT 1 FROM unnest(p_ids) AS x(id) WHERE NOT EXISTS (SELECT 1 FROM ${q}.events e WHERE e.event_id = x.id)
           ) THEN
             RETURN;
           END IF;
           RAISE EXCEPTION 'wrong expected version' USING ERRCODE = '${WRONG_EXPECTED_VERSION}', DETAIL = version_before::text;
         END IF;
       END IF;

       WITH input AS (
         SELECT t.* FROM unnest(p_ids, p_citizens, p_types, p_occurred, p_sources, p_data)
           WITH ORDINALITY AS t(event_id, citizen_id, type, occurred_at, source, data, i)
       ), fresh AS (
         -- the first occurrence of each id not stored yet
         SELECT DISTINCT ON (input.event_id) input.* FROM input
         WHERE NOT EXISTS (SELECT 1 FROM ${q}.events e WHERE e.event_id = input.event_id)
         ORDER BY input.event_id, input.i
       ), numbered AS (
         SELECT f.*, row_number() OVER (ORDER BY f.i) AS n, row_number() OVER (PARTITION BY f.citizen_id ORDER BY f.i) AS k
         FROM fresh f
       ), placed AS (
         SELECT nb.*, v_head + nb.n AS global_position,
                (coalesce((SELECT max(e.stream_version) FROM ${q}.events e WHERE e.citizen_id = nb.citizen_id), -1) + nb.k)::integer AS stream_version
         FROM numbered nb
       ), inserted AS (
         INSERT INTO ${q}.events (${COLUMNS})
         SELECT global_position, event_id, citizen_id, stream_version, type, occurred_at, source, data::jsonb, p_recorded FROM placed
       )
       SELECT coalesce(array_agg(i::integer ORDER BY n), '{}'), coalesce(array_agg(stream_version ORDER BY n), '{}'),
              coalesce(array_agg(global_position ORDER BY n), '{}')
       INTO indexes, versions, positions
       FROM placed;

       IF cardinality(positions) > 0 THEN
         -- Delivered at COMMIT, to the listeners of this schema's channel.
         PERFORM pg_notify('tracker_events_${s}', positions[cardinality(positions)]::text);
       END IF;
     END
     $fn$;`,
  ];
}

/** Schema version this software writes. */
export const POSTGRES_EVENT_STORE_SCHEMA_VERSION = migrations('x').length;

function toStoredEvent(row: EventRow): StoredEvent {
  const event = { id: row.event_id, type: row.type, citizenId: row.citizen_id, occurredAt: row.occurred_at } as Record<string, unknown>;
  if (row.source !== null) event.source = row.source;
  event.data = row.data;
  event.recordedAt = row.recorded_at.toISOString();
  event.streamVersion = row.stream_version;
  event.globalPosition = Number(row.global_position);
  return event as unknown as StoredEvent;
}

/** The database's error without its text (which may quote values); our own errors pass through. */
function databaseError(what: string, error: unknown): unknown {
  if (error instanceof pg.DatabaseError) return new PostgresEventStoreError(what, error.code, error.constraint);
  return error;
}

export class PostgresEventStore implements EventStore {
  /** Connects, creates the schema and tables if missing (or migrates them), and returns the store. */
  static async open(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
    const schema = options.schema ?? 'public';
    if (!SCHEMA_NAME.test(schema)) throw new TypeError('schema must be a lower-case SQL identifier of at most 48 characters');
    const ownsPool = options.pool === undefined;
    if (ownsPool && !options.connectionString) throw new TypeError('give connectionString or pool');
    const pool =
      options.pool ??
      new pg.Pool({
        connectionString: options.connectionString,
        max: options.maxConnections ?? 10,
        // Appends rely on READ COMMITTED (a fresh snapshot per statement), whatever the server's default.
        options: '-c default_transaction_isolation=read\\ committed',
      });
    if (ownsPool) pool.on('error', () => {}); // an idle client's connection died; the pool replaces it
    try {
      await migrate(pool, schema);
    } catch (error) {
      if (ownsPool) await pool.end();
      throw error;
    }
    return new PostgresEventStore(pool, ownsPool, schema, options.clock ?? systemClock, options.pollIntervalMs ?? 1_000);
  }

  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #schema: string;
  readonly #clock: Clock;
  readonly #pollIntervalMs: number;
  readonly #sql: { append: string; readStream: string; readAll: string; head: string };
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #subscriptions = new Set<PullSubscription>();
  #listener: Listener | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;

  private constructor(pool: pg.Pool, ownsPool: boolean, schema: string, clock: Clock, pollIntervalMs: number) {
    this.#pool = pool;
    this.#ownsPool = ownsPool;
    this.#schema = schema;
    this.#clock = clock;
    this.#pollIntervalMs = pollIntervalMs;
    const q = `"${schema}"`;
    this.#sql = {
      append: `SELECT indexes, versions, positions, version_before FROM ${q}.append_events($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      readStream: `SELECT ${COLUMNS} FROM ${q}.events WHERE citizen_id = $1 AND stream_version >= $2 ORDER BY stream_version LIMIT $3`,
      readAll: `SELECT ${COLUMNS} FROM ${q}.events WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
      head: `SELECT coalesce(max(global_position), 0) AS head FROM ${q}.events`,
    };
  }

  /** The schema this store lives in. */
  get schema(): string {
    return this.#schema;
  }

  // ---------------------------------------------------------------- appends

  appendToStream(citizenId: string, events: readonly TransitionEvent[], options?: { expectedVersion?: ExpectedVersion }): Promise<AppendToStreamResult> {
    return this.#track(async () => {
      checkCitizenId(citizenId);
      const expectedAsGiven = options?.expectedVersion ?? 'any';
      const expected = expectedAsNumber(expectedAsGiven);
      const prepared = prepareEvents(events, citizenId);
      const recordedAt = this.#clock.now().toISOString();
      let row: AppendRow;
      try {
        row = await this.#append(citizenId, expected ?? null, prepared, recordedAt);
      } catch (error) {
        if (error instanceof pg.DatabaseError && error.code === WRONG_EXPECTED_VERSION) {
          throw new WrongExpectedVersionError(citizenId, expectedAsGiven, Number(error.detail));
        }
        throw databaseError('append', error);
      }
      const { appended, duplicates } = this.#result(prepared, row, recordedAt);
      return { appended, duplicates, nextExpectedVersion: appended.length > 0 ? appended[appended.length - 1]!.streamVersion : row.version_before! };
    });
  }

  appendBatch(events: readonly TransitionEvent[]): Promise<AppendBatchResult> {
    return this.#track(async () => {
      const prepared = prepareEvents(events, undefined);
      const recordedAt = this.#clock.now().toISOString();
      let row: AppendRow;
      try {
        row = await this.#append(null, null, prepared, recordedAt);
      } catch (error) {
        throw databaseError('append', error);
      }
      return this.#result(prepared, row, recordedAt);
    });
  }

  /** Runs an append unless the store is closing, and lets `close()` wait for it. */
  #track<T>(append: () => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new EventStoreClosedError());
    const running = append();
    this.#inFlight.add(running);
    const forget = () => this.#inFlight.delete(running);
    running.then(forget, forget);
    return running;
  }

  async #append(stream: string | null, expected: number | null, events: PreparedEvent[], recordedAt: string): Promise<AppendRow> {
    const result = await this.#pool.query<AppendRow>(this.#sql.append, [
      stream,
      expected,
      events.map((e) => e.id),
      events.map((e) => e.citizenId),
      events.map((e) => e.type),
      events.map((e) => e.occurredAt),
      events.map((e) => e.source),
      events.map((e) => e.json),
      recordedAt,
    ]);
    const row = result.rows[0]!;
    if (row.positions.length > 0) for (const s of this.#subscriptions) s.notify();
    return row;
  }

  #result(prepared: PreparedEvent[], row: AppendRow, recordedAt: string): AppendBatchResult {
    const appended: StoredEvent[] = [];
    const stored = new Set<number>();
    row.indexes.forEach((oneBased, j) => {
      const i = oneBased - 1;
      stored.add(i);
      appended.push(storedFrom(prepared[i]!, recordedAt, row.versions[j]!, Number(row.positions[j])));
    });
    const duplicates = prepared.filter((_, i) => !stored.has(i)).map((e) => e.id);
    return { appended, duplicates };
  }

  // ---------------------------------------------------------------- reads

  async readStream(citizenId: string, options: { fromVersion?: number; maxCount?: number } = {}): Promise<StoredEvent[]> {
    this.#assertReadable();
    const from = options.fromVersion ?? 0;
    if (!Number.isSafeInteger(from)) throw new TypeError('fromVersion must be an integer');
    checkMaxCount(options.maxCount);
    return this.#query('read a stream', this.#sql.readStream, [citizenId, from, options.maxCount ?? null]);
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    this.#assertReadable();
    const after = options.after ?? 0;
    if (!Number.isSafeInteger(after)) throw new TypeError('after must be an integer');
    checkMaxCount(options.maxCount);
    return this.#readAll(after, options.maxCount ?? null);
  }

  #readAll(after: number, limit: number | null): Promise<StoredEvent[]> {
    return this.#query('read all streams', this.#sql.readAll, [after, limit]);
  }

  async #query(what: string, sql: string, params: unknown[]): Promise<StoredEvent[]> {
    try {
      return (await this.#pool.query<EventRow>(sql, params)).rows.map(toStoredEvent);
    } catch (error) {
      throw databaseError(what, error);
    }
  }

  async headPosition(): Promise<number> {
    this.#assertReadable();
    return this.#head();
  }

  async #head(): Promise<number> {
    try {
      return Number((await this.#pool.query<{ head: string }>(this.#sql.head)).rows[0]!.head);
    } catch (error) {
      throw databaseError('read the head position', error);
    }
  }

  /** Reads stay possible while `close()` drains (subscription handlers may read); not after. */
  #assertReadable(): void {
    if (this.#closed) throw new EventStoreClosedError();
  }

  // ---------------------------------------------------------------- subscriptions

  /**
   * Catch-up then live delivery, in global order, in batches of at most `batchSize` (default 500). The
   * handler never runs concurrently with itself and is first called on a later tick. Live events are
   * picked up at once for appends of this process, on NOTIFY for other processes' appends, and at the
   * latest after `pollIntervalMs`. Throws `EventStoreClosedError` synchronously once `close()` was called.
   */
  subscribeToAll(options: SubscribeToAllOptions, handler: BatchHandler): ObservableSubscription {
    if (this.#closing) throw new EventStoreClosedError();
    const after = options.after;
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    checkSubscribeOptions(after, batchSize);
    this.#listener ??= new Listener(this.#pool, `tracker_events_${this.#schema}`, () => {
      for (const s of this.#subscriptions) s.notify();
    });
    const subscription = new PullSubscription({
      after,
      batchSize,
      pollIntervalMs: this.#pollIntervalMs,
      handler,
      head: () => this.#head(),
      read: (from, limit) => this.#readAll(from, limit),
      ended: (s) => this.#subscriptions.delete(s),
    });
    this.#subscriptions.add(subscription);
    return subscription;
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Lets the appends already under way commit, stops every subscription (waiting for running handlers),
   * then releases the connections. New appends and subscriptions are refused from the moment it is
   * called; reads keep working until it resolves. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
    await Promise.all([...this.#subscriptions].map((s) => s.stop()));
    this.#closed = true;
    await this.#listener?.close();
    if (this.#ownsPool) await this.#pool.end();
  }
}

/** Creates the schema if missing and applies the migrations it lacks, one process at a time. */
async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  const steps = migrations(schema);
  const q = `"${schema}"`;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Two services starting at once must not both migrate: the second waits, then finds it done.
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS + 1, schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${q}.event_store_schema (version integer NOT NULL)`);
    const found = await client.query<{ version: number }>(`SELECT version FROM ${q}.event_store_schema`);
    const version = found.rows[0]?.version ?? 0;
    if (version > steps.length) {
      throw new Error(`the event store schema has version ${version}, newer than this software supports (${steps.length})`);
    }
    for (let v = version; v < steps.length; v++) await client.query(steps[v]!);
    if (found.rows.length === 0) await client.query(`INSERT INTO ${q}.event_store_schema (version) VALUES ($1)`, [steps.length]);
    else await client.query(`UPDATE ${q}.event_store_schema SET version = $1`, [steps.length]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * One LISTEN connection per store, shared by its subscriptions. When it breaks it reconnects with a
 * growing delay; meanwhile (and always) subscriptions poll, so a lost notification only delays delivery.
 */
class Listener {
  readonly #pool: pg.Pool;
  readonly #channel: string;
  readonly #onNotify: () => void;
  #client: pg.PoolClient | undefined;
  #closed = false;
  #retryMs = 100;
  #retryTimer: NodeJS.Timeout | undefined;
  #connecting: Promise<void>;

  constructor(pool: pg.Pool, channel: string, onNotify: () => void) {
    this.#pool = pool;
    this.#channel = channel;
    this.#onNotify = onNotify;
    this.#connecting = this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      client.on('notification', (message) => {
        if (message.channel === this.#channel) this.#onNotify();
      });
      client.on('error', () => this.#lost(client!));
      await client.query(`LISTEN "${this.#channel}"`);
      if (this.#closed) {
        client.release(true);
        return;
      }
      this.#client = client;
      this.#retryMs = 100;
      this.#onNotify(); // anything committed while not listening is read now
    } catch {
      if (client) client.release(true);
      this.#retry();
    }
  }

  #lost(client: pg.PoolClient): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.release(true);
    this.#retry();
  }

  #retry(): void {
    if (this.#closed || this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connecting = this.#connect();
    }, this.#retryMs);
    this.#retryTimer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, 5_000);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    await this.#connecting;
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      await client.query(`UNLISTEN "${this.#channel}"`).catch(() => {});
      client.release(true);
    }
  }
}
