/**
 * The access log in its own SQLite file (e.g. DATA_DIR/access-log.sqlite).
 *
 * Append-only three times over:
 * - the API (AccessLog) has no update or delete;
 * - triggers RAISE on UPDATE and DELETE, and on an INSERT that does not append (INSERT OR REPLACE of an
 *   existing row would otherwise delete it without firing the DELETE trigger), so no SQL through any
 *   connection can alter an entry while the triggers stand;
 * - every entry carries a SHA-256 hash chained over the previous entry's hash, so whoever can drop the
 *   triggers (write access to the file) still cannot edit, remove or reorder entries unnoticed:
 *   `verify()` finds the first broken link. (Anchoring the head hash outside the file, so a full rewrite
 *   of the chain is caught too, is planned: docs/security.md.)
 *
 * Group commit, like the event store: `record` queues the entry and the first record of a loop turn
 * schedules a flush with `setImmediate`; the flush writes everything queued in one transaction — one
 * fsync (WAL, synchronous = FULL) for all reads of that turn — and then settles their promises.
 * `close()` flushes what is queued before closing, so a shutdown loses nothing that was recorded.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { systemClock, type Clock } from '@tracker/domain';
import type { Role } from '../auth/principal.ts';
import {
  AccessLogClosedError,
  AccessLogEntryError,
  AccessLogNotFoundError,
  checkCitizenId,
  ERASURE_OPERATION,
  type AccessLog,
  type AccessLogEntry,
  type AccessRecord,
  type EntriesFilter,
  type Lookup,
  type RecordedErasure,
} from './accessLog.ts';
import { chainHash, GENESIS, type ChainVerification } from './hashChain.ts';
import { GroupCommitQueue } from './groupCommit.ts';

export type { ChainVerification } from './hashChain.ts';

const APPEND_ONLY = 'the access log is append-only';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE access_log (
     seq        INTEGER PRIMARY KEY,
     at         TEXT NOT NULL,
     actor      TEXT NOT NULL,
     actor_role TEXT NOT NULL,
     citizen_id TEXT NOT NULL,
     operation  TEXT NOT NULL,
     purpose    TEXT,
     hash       BLOB NOT NULL
   ) STRICT;
   CREATE INDEX access_log_by_citizen ON access_log (citizen_id, seq);
   CREATE INDEX access_log_by_actor ON access_log (actor, seq);
   CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY}'); END;
   CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY}'); END;
   CREATE TRIGGER access_log_only_appends BEFORE INSERT ON access_log
     WHEN NEW.seq IS NULL OR NEW.seq <= COALESCE((SELECT MAX(seq) FROM access_log), 0)
     BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY}'); END;`,
];

interface Row {
  seq: number;
  at: string;
  actor: string;
  actor_role: string;
  citizen_id: string;
  operation: string;
  purpose: string | null;
  hash: Buffer;
}


export interface SqliteAccessLogOptions {
  /** The database file (its folder is created), or ':memory:'. */
  file: string;
  /** Stamps `at`. */
  clock?: Clock;
  /** False: a missing file is refused with AccessLogNotFoundError instead of being created. Default true. */
  create?: boolean;
}

export interface SqliteAccessLogStats {
  /** Transactions committed (= fsyncs). */
  commits: number;
  entries: number;
  /** Most entries written by one commit. */
  largestGroup: number;
}

export class SqliteAccessLog implements AccessLog {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #queue: GroupCommitQueue;
  #closed = false;
  #lastSeq = 0;
  #lastHash: Buffer = GENESIS;
  readonly #stats: SqliteAccessLogStats = { commits: 0, entries: 0, largestGroup: 0 };

  constructor(options: SqliteAccessLogOptions) {
    if (options.create === false && options.file !== ':memory:' && !existsSync(options.file)) throw new AccessLogNotFoundError(`in ${options.file}`);
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.#db = new Database(options.file);
    // Owner-only, like a key file: the write-ahead log and shared memory files SQLite creates take this mode too.
    if (options.file !== ':memory:') chmodSync(options.file, 0o600);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#queue = new GroupCommitQueue(options.clock ?? systemClock, () => this.#flushNow());
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    for (let i = version; i < MIGRATIONS.length; i++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[i]!);
        this.#db.pragma(`user_version = ${i + 1}`);
      })();
    }
    this.#insert = this.#db.prepare(
      'INSERT INTO access_log (seq, at, actor, actor_role, citizen_id, operation, purpose, hash) VALUES (@seq, @at, @actor, @actor_role, @citizen_id, @operation, @purpose, @hash)',
    );
    this.#loadHead();
  }

  #loadHead(): void {
    const head = this.#db.prepare('SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: Buffer } | undefined;
    this.#lastSeq = head?.seq ?? 0;
    this.#lastHash = head?.hash ?? GENESIS;
  }

  get stats(): Readonly<SqliteAccessLogStats> {
    return { ...this.#stats };
  }

  record(entry: AccessRecord): Promise<void> {
    return this.recordAll([entry]);
  }

  recordAll(entries: readonly AccessRecord[]): Promise<void> {
    if (this.#closed) return Promise.reject(new AccessLogClosedError());
    return this.#queue.add(entries);
  }


  /** Writes every queued entry in one transaction, then settles the callers' promises. Synchronous. */
  #flushNow(): void {
    if (this.#queue.size === 0) return;
    const group = this.#queue.take();
    let written = 0;
    try {
      this.#db.transaction(() => {
        let seq = this.#lastSeq;
        let hash = this.#lastHash;
        for (const pending of group) {
          for (const row of pending.rows) {
            seq += 1;
            const full = { ...row, seq };
            hash = chainHash(hash, full);
            this.#insert.run({ ...full, hash });
            written += 1;
          }
        }
        this.#lastSeq = seq;
        this.#lastHash = hash;
      }).immediate();
    } catch (error) {
      // Nothing of the group was written (one transaction); the head is reread in case it moved.
      this.#loadHead();
      for (const pending of group) pending.reject(error);
      return;
    }
    this.#stats.commits += 1;
    this.#stats.entries += written;
    this.#stats.largestGroup = Math.max(this.#stats.largestGroup, written);
    for (const pending of group) pending.resolve();
  }

  async flush(): Promise<void> {
    if (this.#closed) return;
    this.#flushNow();
  }

  async lookupsOf(citizenId: string): Promise<Lookup[]> {
    checkCitizenId(citizenId);
    this.#readable();
    this.#flushNow();
    return this.#db.prepare('SELECT at, operation, purpose FROM access_log WHERE citizen_id = ? ORDER BY seq').all(citizenId) as Lookup[];
  }

  async erasures(): Promise<RecordedErasure[]> {
    this.#readable();
    this.#flushNow();
    // A scan of the log: erasures are listed rarely (after a key-store restore), so no index is kept for them.
    return this.#db
      .prepare('SELECT citizen_id AS citizenId, MIN(at) AS erasedAt FROM access_log WHERE operation = ? GROUP BY citizen_id ORDER BY MIN(seq)')
      .all(ERASURE_OPERATION) as RecordedErasure[];
  }

  async entries(filter: EntriesFilter = {}): Promise<AccessLogEntry[]> {
    this.#readable();
    this.#flushNow();
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.citizenId !== undefined) {
      checkCitizenId(filter.citizenId);
      where.push('citizen_id = ?');
      params.push(filter.citizenId);
    }
    if (filter.actor !== undefined) {
      where.push('actor = ?');
      params.push(filter.actor);
    }
    for (const [field, op] of [
      ['from', '>='],
      ['to', '<='],
    ] as const) {
      const value = filter[field];
      if (value === undefined) continue;
      const ms = Date.parse(value);
      if (Number.isNaN(ms)) throw new AccessLogEntryError(field, 'must be an ISO 8601 instant');
      where.push(`at ${op} ?`);
      params.push(new Date(ms).toISOString());
    }
    if (filter.afterSeq !== undefined) {
      where.push('seq > ?');
      params.push(filter.afterSeq);
    }
    const limit = Math.min(Math.max(1, Math.trunc(filter.limit ?? 1000)), 10_000);
    const rows = this.#db
      .prepare(`SELECT seq, at, actor, actor_role, citizen_id, operation, purpose FROM access_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ${limit}`)
      .all(...params) as Omit<Row, 'hash'>[];
    return rows.map((r) => ({ seq: r.seq, at: r.at, actor: r.actor, actorRole: r.actor_role as Role, citizenId: r.citizen_id, operation: r.operation, purpose: r.purpose }));
  }

  /** Walks the hash chain from the first entry: a changed, removed or reordered entry breaks it. */
  async verify(): Promise<ChainVerification> {
    this.#readable();
    this.#flushNow();
    let previous: Buffer = GENESIS;
    let expectedSeq = 1;
    let count = 0;
    for (const row of this.#db.prepare('SELECT seq, at, actor, actor_role, citizen_id, operation, purpose, hash FROM access_log ORDER BY seq').iterate() as IterableIterator<Row>) {
      const { hash, ...rest } = row;
      if (row.seq !== expectedSeq || !chainHash(previous, rest).equals(hash)) return { ok: false, entries: count, firstBrokenSeq: expectedSeq };
      previous = hash;
      expectedSeq += 1;
      count += 1;
    }
    return { ok: true, entries: count };
  }

  #readable(): void {
    if (this.#closed) throw new AccessLogClosedError();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flushNow();
    this.#closed = true;
    this.#db.close();
  }
}
