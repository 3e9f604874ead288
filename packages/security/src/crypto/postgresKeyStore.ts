/**
 * The key store on PostgreSQL, for distributed mode: one schema (KEY_STORE_SCHEMA, default
 * `tracker_keys`) shared by every ingest and API process, apart from the event store so it can have
 * its own backup policy.
 *
 * One row per citizen in `citizen_keys`: either the wrapped key (active) or only the instant of its
 * erasure (erased). Keeping both states in one row makes the primary key the point where concurrent
 * callers meet, without locks of our own: the first `insertIfAbsent` wins (the others' ON CONFLICT
 * waits for it, then does nothing and reads the winner's key); an erasure either finds no row and
 * inserts the erased state — after which no key can be inserted — or turns the active row into the
 * erased state. A key inserted concurrently with an erasure is therefore erased too, never left behind.
 *
 * No caching, on purpose: `PersonalDataProtector` asks the store on every encrypt and decrypt, so an
 * erasure committed by one process is seen by the next call of every other process (ingest included);
 * there is nothing to invalidate. The price is one round trip per call (docs/security.md §7).
 *
 * Erasure leaves no bytes behind in the table's files — as far as PostgreSQL allows:
 * - the UPDATE that clears the key makes it unreadable by any SQL at once, but MVCC keeps the old row
 *   version in the heap page; plain VACUUM only marks it free and compacts the page without zeroing,
 *   so the bytes of a row that was last on its page, or the front of a row the compaction only partly
 *   covered, stay in the page's free space (postgresKeyStore.int.spec.ts). PostgreSQL has no
 *   `secure_delete`;
 * - so erasure rewrites the table with VACUUM FULL: live rows are copied into a new file and the old
 *   file is truncated to zero length at commit (unlinked at the next checkpoint). The table is hash-
 *   partitioned (16 partitions) so only the citizen's partition is rewritten and locked;
 * - VACUUM FULL copies a deleted row version that some transaction could still see (a snapshot older
 *   than the erasure: a long report, a pg_dump under way, a standby with hot_standby_feedback). So the
 *   rewrite waits until no session, prepared transaction or replication slot of the database holds a
 *   snapshot or transaction id older than the erasure, at most `scrubWaitMs` (default 30 s); if one still
 *   does, erase throws KeyStoreScrubError after the key is already unreadable — retrying erase finishes it.
 * What the database cannot reach: the write-ahead log (the INSERT of the key and full-page images hold
 * its bytes until the segments are recycled and overwritten; archived WAL and base backups keep them
 * for their retention), filesystem free blocks, and backups — wrapped keys all, useless without the
 * KEK, which never enters the database. They are covered by the backup policy and by re-applying
 * `erasures()` after a restore (docs/security.md §7).
 *
 * KEK rotation (`rewrapKey`, `rebindKeyEncryptionKey`): a rewrap is an UPDATE that compares the whole
 * stored key in its WHERE clause; under READ COMMITTED it waits for a concurrent erasure's UPDATE of the
 * row and then re-checks the clause against the erased row, which no longer matches — the erasure wins.
 * The rebind locks the table against writes while it counts the keys not yet under the new KEK, so no
 * key under the old one slips in between; then it rewrites every partition as an erasure rewrites one,
 * because each rewrap left the key's old version, wrapped by the old KEK, in the heap.
 *
 * Roles: VACUUM FULL needs the table's owner (or, from PostgreSQL 17, MAINTAIN), so the role of the
 * process that erases (the API) owns the key-store schema, and rotates; ingest needs only USAGE on it
 * and SELECT, INSERT on `citizen_keys` and `key_store_meta` (SELECT on `key_store_schema`).
 *
 * Connections: a key must be on disk before the ciphertext it made is appended elsewhere, so the pool
 * this store creates forces `synchronous_commit = on`; and READ COMMITTED, under which a racing
 * INSERT … ON CONFLICT waits for the winner and yields (under REPEATABLE READ it fails with a
 * serialization error instead). A caller-supplied pool must do the same.
 *
 * Errors from the database are reported by SQLSTATE only.
 */
import pg from 'pg';
import { inTransaction, migrateSchema } from '../postgres/schemaMigrations.ts';
import { KeyEncryptionKeyMismatchError, KeyRotationIncompleteError, KeyStoreNotFoundError } from './errors.ts';
import {
  checkActiveKeysPage,
  checkRewrapped,
  type ActiveDataKey,
  type ActiveKeysPage,
  type CitizenKeyStore,
  type RewrappedDataKey,
  type StoredDataKey,
  type WrappedDataKey,
} from './keyStore.ts';

export interface PostgresKeyStoreOptions {
  /** `postgres://user@host:port/database`; or give `pool`. */
  connectionString?: string;
  /** A pool owned by the caller (not ended by `close()`): READ COMMITTED, synchronous_commit on. */
  pool?: pg.Pool;
  /** Schema of the store's tables (created if missing); default `tracker_keys`. */
  schema?: string;
  /** Pool size when the store creates the pool; default 4. */
  maxConnections?: number;
  /** How long an erasure waits for older snapshots before its rewrite (see above); default 30 000 ms. */
  scrubWaitMs?: number;
  /**
   * False for tools that must work on an existing store (the KEK rotation): a schema without the key
   * store's tables is refused with KeyStoreNotFoundError instead of being created. Default true.
   */
  create?: boolean;
}

/** A database failure, named by SQLSTATE only (the server's text may quote values). */
export class PostgresKeyStoreError extends Error {
  constructor(
    what: string,
    readonly code: string | undefined,
  ) {
    super(`the database refused to ${what} in the key store (SQLSTATE ${code ?? 'unknown'})`);
    this.name = 'PostgresKeyStoreError';
  }
}

/**
 * The change is committed — the key is unreadable (erasure), or every key is under the new KEK and the
 * store bound to it (rotation) — but old bytes may still be in the table's files. Retrying finishes it.
 */
export class KeyStoreScrubError extends Error {
  constructor(reason: string, after: 'erasure' | 'rotation' = 'erasure') {
    super(
      after === 'erasure'
        ? `the key was erased and no SQL can read it, but its bytes could not yet be removed from the key store's files: ${reason}; retry the erasure`
        : `every key is rewrapped and the key store is bound to the new key-encryption key, but the keys wrapped by the old one could not yet be removed from the key store's files: ${reason}; run the rotation again`,
    );
    this.name = 'KeyStoreScrubError';
  }
}

export const DEFAULT_KEY_STORE_SCHEMA = 'tracker_keys';
export const KEY_PARTITIONS = 16;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;
const PARTITION_NAME = /^citizen_keys_\d{2}$/;
/** First key of this store's two-key advisory lock for migrations ('TK'); the second is the schema's hash. */
const MIGRATION_LOCK = 0x544b;
const SCRUB_POLL_MS = 50;

/** Migration i takes the schema from version i to i + 1. Append new steps; never edit a shipped one. */
function migrations(s: string): string[] {
  const q = `"${s}"`;
  const partitions = Array.from(
    { length: KEY_PARTITIONS },
    (_, i) => `CREATE TABLE ${q}.citizen_keys_${String(i).padStart(2, '0')} PARTITION OF ${q}.citizen_keys FOR VALUES WITH (MODULUS ${KEY_PARTITIONS}, REMAINDER ${i});`,
  );
  return [
    `CREATE TABLE ${q}.key_store_meta (key text PRIMARY KEY, value text NOT NULL);
     CREATE TABLE ${q}.citizen_keys (
       citizen_id text        NOT NULL PRIMARY KEY,
       kid        text,
       kek_id     text,
       wrapped    bytea,
       created_at timestamptz,
       erased_at  timestamptz,
       CONSTRAINT active_or_erased CHECK (
         (erased_at IS NULL AND kid IS NOT NULL AND kek_id IS NOT NULL AND wrapped IS NOT NULL AND created_at IS NOT NULL) OR
         (erased_at IS NOT NULL AND kid IS NULL AND kek_id IS NULL AND wrapped IS NULL AND created_at IS NULL))
     ) PARTITION BY HASH (citizen_id);
     ${partitions.join('\n     ')}
     -- Never compressed or moved to a TOAST table: the key's bytes are where the rewrite removes them.
     ALTER TABLE ${q}.citizen_keys ALTER COLUMN wrapped SET STORAGE PLAIN;`,
  ];
}

export const POSTGRES_KEY_STORE_SCHEMA_VERSION = migrations('x').length;

interface KeyRow {
  kid: string | null;
  kek_id: string | null;
  wrapped: Buffer | null;
  created_at: Date | null;
  erased_at: Date | null;
}

function stateOf(row: KeyRow | undefined): StoredDataKey {
  if (row === undefined) return { state: 'absent' };
  if (row.erased_at !== null) return { state: 'erased', erasedAt: row.erased_at.toISOString() };
  return { state: 'active', key: { kid: row.kid!, kekId: row.kek_id!, wrapped: new Uint8Array(row.wrapped!), createdAt: row.created_at!.toISOString() } };
}

function checkInstant(field: string, value: unknown): string {
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw new TypeError(`${field} must be an ISO 8601 instant`);
  return new Date(value).toISOString();
}

export class PostgresKeyStore implements CitizenKeyStore {
  /** Connects, creates the schema and tables if missing (or migrates them), and returns the store. */
  static async open(options: PostgresKeyStoreOptions): Promise<PostgresKeyStore> {
    const schema = options.schema ?? DEFAULT_KEY_STORE_SCHEMA;
    if (!SCHEMA_NAME.test(schema)) throw new TypeError('schema must be a lower-case SQL identifier (a–z, 0–9, _) of at most 48 characters');
    const scrubWaitMs = options.scrubWaitMs ?? 30_000;
    if (!Number.isSafeInteger(scrubWaitMs) || scrubWaitMs < 0) throw new TypeError('scrubWaitMs must be a whole number of milliseconds, 0 or more');
    const ownsPool = options.pool === undefined;
    if (ownsPool && !options.connectionString) throw new TypeError('give connectionString or pool');
    const pool =
      options.pool ??
      new pg.Pool({
        connectionString: options.connectionString,
        max: options.maxConnections ?? 4,
        application_name: 'tracker-key-store',
        options: '-c default_transaction_isolation=read\\ committed -c synchronous_commit=on',
      });
    if (ownsPool) pool.on('error', () => {}); // an idle client's connection died; the pool replaces it
    try {
      await migrate(pool, schema, options.create ?? true);
    } catch (error) {
      if (ownsPool) await pool.end();
      throw databaseError('create its tables', error);
    }
    return new PostgresKeyStore(pool, ownsPool, schema, scrubWaitMs);
  }

  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #schema: string;
  readonly #scrubWaitMs: number;
  readonly #sql: Record<
    'bind' | 'boundKek' | 'find' | 'insert' | 'recordErasure' | 'clearKey' | 'partition' | 'erasures' | 'activeKeys' | 'countActiveKeys' | 'rewrap',
    string
  >;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  private constructor(pool: pg.Pool, ownsPool: boolean, schema: string, scrubWaitMs: number) {
    this.#pool = pool;
    this.#ownsPool = ownsPool;
    this.#schema = schema;
    this.#scrubWaitMs = scrubWaitMs;
    const q = `"${schema}"`;
    const columns = 'kid, kek_id, wrapped, created_at, erased_at';
    this.#sql = {
      bind: `INSERT INTO ${q}.key_store_meta (key, value) VALUES ('kek_id', $1) ON CONFLICT (key) DO NOTHING`,
      boundKek: `SELECT value FROM ${q}.key_store_meta WHERE key = 'kek_id'`,
      find: `SELECT ${columns} FROM ${q}.citizen_keys WHERE citizen_id = $1`,
      insert: `INSERT INTO ${q}.citizen_keys (citizen_id, kid, kek_id, wrapped, created_at) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (citizen_id) DO NOTHING RETURNING ${columns}`,
      recordErasure: `INSERT INTO ${q}.citizen_keys (citizen_id, erased_at) VALUES ($1, $2) ON CONFLICT (citizen_id) DO NOTHING`,
      clearKey: `UPDATE ${q}.citizen_keys SET kid = NULL, kek_id = NULL, wrapped = NULL, created_at = NULL, erased_at = $2
                 WHERE citizen_id = $1 AND erased_at IS NULL`,
      partition: `SELECT c.relname FROM ${q}.citizen_keys k JOIN pg_class c ON c.oid = k.tableoid WHERE k.citizen_id = $1`,
      erasures: `SELECT citizen_id, erased_at FROM ${q}.citizen_keys WHERE erased_at IS NOT NULL ORDER BY erased_at, citizen_id`,
      // The primary key's order (the database's collation) both filters and sorts: each partition's index serves the page.
      activeKeys: `SELECT citizen_id, ${columns} FROM ${q}.citizen_keys
                   WHERE erased_at IS NULL AND citizen_id > $1 AND ($2::text IS NULL OR kek_id <> $2) ORDER BY citizen_id LIMIT $3`,
      countActiveKeys: `SELECT kek_id, count(*)::int AS keys FROM ${q}.citizen_keys WHERE erased_at IS NULL GROUP BY kek_id ORDER BY kek_id`,
      rewrap: `UPDATE ${q}.citizen_keys SET kek_id = $5, wrapped = $6
               WHERE citizen_id = $1 AND erased_at IS NULL AND kid = $2 AND kek_id = $3 AND wrapped = $4`,
    };
  }

  /** The schema this store lives in. */
  get schema(): string {
    return this.#schema;
  }

  bindKeyEncryptionKey(kekId: string): Promise<string> {
    return this.#track('bind the key-encryption key', async () => {
      if (typeof kekId !== 'string' || kekId === '') throw new TypeError('kekId must be a non-empty string');
      await this.#pool.query(this.#sql.bind, [kekId]);
      return (await this.#pool.query<{ value: string }>(this.#sql.boundKek)).rows[0]!.value;
    });
  }

  find(citizenId: string): Promise<StoredDataKey> {
    return this.#track('find a key', async () => stateOf((await this.#pool.query<KeyRow>(this.#sql.find, [citizenId])).rows[0]));
  }

  insertIfAbsent(citizenId: string, key: WrappedDataKey): Promise<StoredDataKey> {
    return this.#track('store a key', async () => {
      if (!(key?.wrapped instanceof Uint8Array)) throw new TypeError('key.wrapped must be bytes');
      const createdAt = checkInstant('key.createdAt', key.createdAt);
      const inserted = await this.#pool.query<KeyRow>(this.#sql.insert, [citizenId, key.kid, key.kekId, Buffer.from(key.wrapped), createdAt]);
      if (inserted.rows.length > 0) return stateOf(inserted.rows[0]);
      // Someone was first (a key, or an erasure). ON CONFLICT waited for them to commit; this statement's
      // fresh snapshot sees what they stored.
      return stateOf((await this.#pool.query<KeyRow>(this.#sql.find, [citizenId])).rows[0]);
    });
  }

  erase(citizenId: string, erasedAt: string): Promise<{ erased: boolean }> {
    return this.#track('erase a key', async () => {
      const at = checkInstant('erasedAt', erasedAt);
      // No row: the erasure is the first thing stored for the citizen, and no key can follow it.
      if ((await this.#pool.query(this.#sql.recordErasure, [citizenId, at])).rowCount === 1) return { erased: false };
      const erased = (await this.#pool.query(this.#sql.clearKey, [citizenId, at])).rowCount === 1;
      // Also when it was erased before: an earlier erasure's rewrite may have failed.
      await this.#scrub(citizenId);
      return { erased };
    });
  }

  /** Rewrites the citizen's partition once no snapshot older than the erasure remains (see the file comment). */
  async #scrub(citizenId: string): Promise<void> {
    const partition = (await this.#pool.query<{ relname: string }>(this.#sql.partition, [citizenId])).rows[0]?.relname;
    if (partition === undefined || !PARTITION_NAME.test(partition)) throw new KeyStoreScrubError('the citizen is not in the key store');
    await this.#rewritePartitions([partition], 'erasure');
  }

  /** Rewrites the partitions (VACUUM FULL) once no snapshot older than the changes just committed remains. */
  async #rewritePartitions(partitions: readonly string[], after: 'erasure' | 'rotation'): Promise<void> {
    // Every transaction id below this was finished or running when the change had committed.
    const { threshold } = (await this.#pool.query<{ threshold: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS threshold')).rows[0]!;
    const deadline = Date.now() + this.#scrubWaitMs;
    while (await this.#olderSnapshotsRemain(threshold)) {
      if (Date.now() >= deadline) {
        throw new KeyStoreScrubError(`a transaction older than the ${after} (a long query, a backup, a standby) could still see the old row version`, after);
      }
      await new Promise((resolve) => setTimeout(resolve, SCRUB_POLL_MS));
    }
    const client = await this.#pool.connect();
    try {
      // Waiting for the table lock counts against the same budget: a long reader must not stall erasure forever.
      for (const partition of partitions) {
        await client.query(`SET lock_timeout = ${Math.max(1_000, deadline - Date.now())}`);
        await client.query(`VACUUM (FULL) "${this.#schema}"."${partition}"`);
      }
    } catch (error) {
      if (error instanceof pg.DatabaseError && error.code === '55P03') throw new KeyStoreScrubError('another session held the key table too long', after);
      throw error;
    } finally {
      await client.query('RESET lock_timeout').catch(() => {});
      client.release();
    }
  }

  /**
   * Whether a session of this database, a prepared transaction or a replication slot holds a snapshot
   * or transaction id older than `threshold` — what would make VACUUM FULL keep the old row version.
   * (`age(x) > age(t)` is `x` precedes `t`, wraparound-safe; backend_xmin is visible to every role.)
   * Conservative: a plain VACUUM elsewhere in the database, which PostgreSQL itself ignores here, counts
   * too — telling it from an ANALYZE, which does not, takes privileges the store's role need not have.
   */
  async #olderSnapshotsRemain(threshold: string): Promise<boolean> {
    const { rows } = await this.#pool.query<{ remain: boolean }>(
      `WITH t AS (SELECT age(xid($1::xid8)) AS age)
       SELECT EXISTS (SELECT 1 FROM pg_stat_activity a, t
                      WHERE a.pid <> pg_backend_pid() AND (a.datname = current_database() OR a.datname IS NULL)
                        AND (age(a.backend_xmin) > t.age OR age(a.backend_xid) > t.age))
           OR EXISTS (SELECT 1 FROM pg_prepared_xacts p, t WHERE p.database = current_database() AND age(p.transaction) > t.age)
           OR EXISTS (SELECT 1 FROM pg_replication_slots s, t WHERE age(s.xmin) > t.age) AS remain`,
      [threshold],
    );
    return rows[0]!.remain;
  }

  erasures(): Promise<{ citizenId: string; erasedAt: string }[]> {
    return this.#track('list erasures', async () => {
      const { rows } = await this.#pool.query<{ citizen_id: string; erased_at: Date }>(this.#sql.erasures);
      return rows.map((r) => ({ citizenId: r.citizen_id, erasedAt: r.erased_at.toISOString() }));
    });
  }

  activeKeys(page: ActiveKeysPage): Promise<ActiveDataKey[]> {
    return this.#track('list keys', async () => {
      checkActiveKeysPage(page);
      const { rows } = await this.#pool.query<KeyRow & { citizen_id: string }>(this.#sql.activeKeys, [page.after ?? '', page.notWrappedBy ?? null, page.limit]);
      return rows.map((row) => {
        const stored = stateOf(row);
        if (stored.state !== 'active') throw new Error('an erased key was listed as active');
        return { citizenId: row.citizen_id, key: stored.key };
      });
    });
  }

  countActiveKeys(): Promise<{ kekId: string; keys: number }[]> {
    return this.#track('count keys', async () => {
      const { rows } = await this.#pool.query<{ kek_id: string; keys: number }>(this.#sql.countActiveKeys);
      return rows.map((r) => ({ kekId: r.kek_id, keys: r.keys }));
    });
  }

  rewrapKey(citizenId: string, expected: WrappedDataKey, rewrapped: RewrappedDataKey): Promise<boolean> {
    return this.#track('rewrap a key', async () => {
      checkRewrapped(expected, rewrapped);
      const { rowCount } = await this.#pool.query(this.#sql.rewrap, [
        citizenId,
        expected.kid,
        expected.kekId,
        Buffer.from(expected.wrapped),
        rewrapped.kekId,
        Buffer.from(rewrapped.wrapped),
      ]);
      return rowCount === 1;
    });
  }

  rebindKeyEncryptionKey(from: string, to: string): Promise<void> {
    return this.#track('rebind the key-encryption key', async () => {
      if (typeof to !== 'string' || to === '') throw new TypeError('to must be a KEK id');
      const q = `"${this.#schema}"`;
      await inTransaction(this.#pool, async (client) => {
        // SHARE blocks INSERT and UPDATE (not reads) until the rebind commits: no key under the old KEK
        // can be stored between the count and the rebind.
        await client.query(`LOCK TABLE ${q}.citizen_keys IN SHARE MODE`);
        const bound = (await client.query<{ value: string }>(`SELECT value FROM ${q}.key_store_meta WHERE key = 'kek_id' FOR UPDATE`)).rows[0]?.value;
        if (bound === to) return;
        if (bound !== from) throw new KeyEncryptionKeyMismatchError({ previousConfigured: true });
        const remaining = (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${q}.citizen_keys WHERE erased_at IS NULL AND kek_id <> $1`, [to])).rows[0]!.n;
        if (remaining > 0) throw new KeyRotationIncompleteError(remaining);
        await client.query(`UPDATE ${q}.key_store_meta SET value = $1 WHERE key = 'kek_id'`, [to]);
      });
      // Each rewrap left the key's old version — wrapped by the old KEK — in its partition's file.
      await this.#rewritePartitions(Array.from({ length: KEY_PARTITIONS }, (_, i) => `citizen_keys_${String(i).padStart(2, '0')}`), 'rotation');
    });
  }

  /** Runs an operation unless the store is closing, and lets `close()` wait for it. */
  #track<T>(what: string, operation: () => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new Error('the key store is closed'));
    const running = operation().catch((error: unknown) => {
      throw databaseError(what, error);
    });
    this.#inFlight.add(running);
    const forget = () => this.#inFlight.delete(running);
    running.then(forget, forget);
    return running;
  }

  /** Lets the operations under way finish (an erasure its rewrite), then releases the connections. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      if (this.#ownsPool) await this.#pool.end();
    })();
    return this.#closing;
  }
}

function databaseError(what: string, error: unknown): unknown {
  if (error instanceof pg.DatabaseError) return new PostgresKeyStoreError(what, error.code);
  return error;
}

/** Creates the schema and tables if missing (unless `create` is false), one process at a time. */
function migrate(pool: pg.Pool, schema: string, create: boolean): Promise<void> {
  const steps = migrations(schema);
  return migrateSchema(pool, { schema, versionTable: 'key_store_schema', lockClass: MIGRATION_LOCK, steps, what: 'key store', create, notFound: () => new KeyStoreNotFoundError(`in schema ${schema}`) });
}
