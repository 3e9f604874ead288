/**
 * The embedded event store: one SQLite file (better-sqlite3), WAL journal, `synchronous = FULL`, so an
 * append is acknowledged only after its commit has been fsynced and survives a power loss.
 *
 * Group commit. One fsync costs far more than the work of an append, so appends are not committed one by
 * one: `appendToStream` / `appendBatch` put a prepared request on a queue, and the first request of a
 * tick schedules a flush with `setImmediate`. The flush runs every queued request in ONE transaction (one
 * fsync), each request inside its own SAVEPOINT: a request that fails (a WrongExpectedVersionError, a
 * constraint, …) is rolled back to its savepoint and only its promise rejects; the others commit. Promises
 * settle only after COMMIT has returned; all events of one group share one `recordedAt`.
 *
 * Why `setImmediate` and not a microtask: the check phase runs after the poll phase, so every append
 * started by the I/O callbacks of one loop iteration (HTTP requests, Kafka messages) lands in the same
 * group. A microtask flush runs right after the first callback and commits it alone. Measured with 64
 * writers whose appends each follow a timer/I-O hop: microtask → groups of 1 (~5.9k events/s),
 * setImmediate → groups of ~63 (~19k events/s); with plain `await` loops both give groups of 64, and a
 * lone sequential writer showed no measurable difference (one extra loop turn is ~µs next to an fsync).
 * The flush itself is synchronous (better-sqlite3), so nothing can join a group while it commits; the
 * appends that arrive meanwhile wait in the event loop and form the next group.
 *
 * Positions. `global_position` is the rowid (INTEGER PRIMARY KEY without AUTOINCREMENT): there is one
 * writing connection and nothing is ever deleted, so positions are dense and increase in commit order;
 * a rolled-back savepoint leaves no hole. `stream_version` is 0-based and unique per citizen.
 *
 * Subscriptions are notified in-process after each commit and read what is new from the table, so a
 * subscriber never sees a gap, a repeat, or an uncommitted event. See `SqliteSubscription` for the
 * semantics of a failing handler.
 *
 * Error messages never carry event data (it may hold personal data): only indexes, counts and versions.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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
import { PullSubscription, type ObservableSubscription } from '../pullSubscription.ts';
import { expectedAsNumber, prepareEvents, storedFrom, type PreparedEvent } from '../preparedEvents.ts';

export interface SqliteEventStoreOptions {
  /** Path of the database file (its folder is created if missing), or `':memory:'`. */
  file: string;
  /** Source of `recordedAt`; defaults to the system clock. */
  clock?: Clock;
}

/** Counters for metrics and for checking that group commit groups. */
export interface SqliteEventStoreStats {
  /** Transactions committed (= fsyncs of the WAL for a file database). */
  commits: number;
  /** Append requests (appendToStream / appendBatch) that succeeded. */
  appendsCommitted: number;
  /** Append requests that were rejected (version conflict, invalid input, I/O error …). */
  appendsFailed: number;
  /** Events written (duplicates are not counted). */
  eventsCommitted: number;
  /** The most append requests committed by one transaction. */
  largestGroup: number;
}

/** A subscription of the SQLite store (the port's `Subscription` with `done`). */
export type SqliteSubscription = ObservableSubscription;

const DEFAULT_BATCH_SIZE = 500;

/** Migration i takes the schema from version i to i + 1. Append new steps; never edit a shipped one. */
const MIGRATIONS: readonly string[] = [
  // 0 → 1
  `CREATE TABLE IF NOT EXISTS events (
     global_position INTEGER PRIMARY KEY,
     event_id        TEXT    NOT NULL UNIQUE,
     citizen_id      TEXT    NOT NULL,
     stream_version  INTEGER NOT NULL,
     type            TEXT    NOT NULL,
     occurred_at     TEXT    NOT NULL,
     source          TEXT,
     data            TEXT    NOT NULL,
     recorded_at     TEXT    NOT NULL,
     UNIQUE (citizen_id, stream_version)
   ) STRICT;`,
  // The UNIQUE constraints create the indexes reading needs: (citizen_id, stream_version) serves
  // readStream and the stream-version lookup, event_id the idempotency check; readAll walks the rowid.
];

/** Schema version kept in `PRAGMA user_version`. */
export const SQLITE_EVENT_STORE_SCHEMA_VERSION = MIGRATIONS.length;

interface EventRow {
  global_position: number;
  event_id: string;
  citizen_id: string;
  stream_version: number;
  type: string;
  occurred_at: string;
  source: string | null;
  data: string;
  recorded_at: string;
}

interface StreamAppend {
  kind: 'stream';
  citizenId: string;
  /** -1 for 'no_stream'; undefined for 'any'. */
  expected: number | undefined;
  expectedAsGiven: ExpectedVersion;
  events: PreparedEvent[];
  resolve(result: AppendToStreamResult): void;
  reject(error: unknown): void;
  result?: AppendToStreamResult;
  error?: unknown;
  failed?: boolean;
}

interface BatchAppend {
  kind: 'batch';
  events: PreparedEvent[];
  resolve(result: AppendBatchResult): void;
  reject(error: unknown): void;
  result?: AppendBatchResult;
  error?: unknown;
  failed?: boolean;
}

type PendingAppend = StreamAppend | BatchAppend;

const COLUMNS = 'global_position, event_id, citizen_id, stream_version, type, occurred_at, source, data, recorded_at';

function toStoredEvent(row: EventRow): StoredEvent {
  const event = {
    id: row.event_id,
    type: row.type,
    citizenId: row.citizen_id,
    occurredAt: row.occurred_at,
  } as Record<string, unknown>;
  if (row.source !== null) event.source = row.source;
  event.data = JSON.parse(row.data);
  event.recordedAt = row.recorded_at;
  event.streamVersion = row.stream_version;
  event.globalPosition = row.global_position;
  return event as unknown as StoredEvent;
}

function limitOf(maxCount: number | undefined): number {
  if (maxCount === undefined) return -1; // SQLite: no limit
  if (!Number.isSafeInteger(maxCount) || maxCount < 0) throw new TypeError('maxCount must be a non-negative integer');
  return maxCount;
}

export class SqliteEventStore implements EventStore {
  /** Opens (creating or migrating if needed) the store in `options.file`. */
  static async open(options: SqliteEventStoreOptions): Promise<SqliteEventStore> {
    return new SqliteEventStore(options);
  }

  readonly #db: Database.Database;
  readonly #clock: Clock;

  readonly #insert: Database.Statement<[string, string, number, string, string, string | null, string, string]>;
  readonly #streamVersion: Database.Statement<[string], number>;
  readonly #exists: Database.Statement<[string], number>;
  readonly #readStream: Database.Statement<[string, number, number], EventRow>;
  readonly #readAll: Database.Statement<[number, number], EventRow>;
  readonly #head: Database.Statement<[], number>;
  /** At top level BEGIN IMMEDIATE … COMMIT; inside the group transaction a SAVEPOINT. */
  readonly #applyOne: Database.Transaction<(append: PendingAppend, recordedAt: string) => void>;
  readonly #applyGroup: Database.Transaction<(appends: PendingAppend[], recordedAt: string) => void>;

  #queue: PendingAppend[] = [];
  #flushHandle: NodeJS.Immediate | undefined;
  readonly #subscriptions = new Set<PullSubscription>();
  #closing: Promise<void> | undefined;
  #closed = false;
  readonly #stats: SqliteEventStoreStats = { commits: 0, appendsCommitted: 0, appendsFailed: 0, eventsCommitted: 0, largestGroup: 0 };

  private constructor({ file, clock = systemClock }: SqliteEventStoreOptions) {
    this.#clock = clock;
    const inMemory = file === ':memory:' || file === '';
    if (!inMemory && !file.startsWith('file:')) mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file, { timeout: 5_000 });
    try {
      const db = this.#db;
      const journal = db.pragma('journal_mode = WAL', { simple: true }) as string;
      if (!inMemory && journal !== 'wal') throw new Error(`the event store needs the WAL journal, but SQLite chose '${journal}'`);
      // FULL: the WAL is fsynced at every commit, so an acknowledged append survives a power loss
      // (NORMAL would only survive a process crash).
      db.pragma('synchronous = FULL');
      db.pragma('cache_size = -65536'); // 64 MiB: keeps the event_id and stream indexes hot
      // Every event dirties a random leaf of the event_id index and of the stream index, so a checkpoint
      // mostly rewrites the same hot index pages. Checkpointing every ~40 MiB of WAL instead of SQLite's
      // 4 MiB copies each hot page once where it would copy it ten times (measured: +40–50 % appends/s).
      db.pragma('wal_autocheckpoint = 10000');
      db.pragma('journal_size_limit = 67108864'); // and the WAL file is cut back to 64 MiB after a reset
      this.#migrate();

      this.#insert = db.prepare(
        `INSERT INTO events (event_id, citizen_id, stream_version, type, occurred_at, source, data, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
      );
      this.#streamVersion = db
        .prepare<[string], number>('SELECT stream_version FROM events WHERE citizen_id = ? ORDER BY stream_version DESC LIMIT 1')
        .pluck();
      this.#exists = db.prepare<[string], number>('SELECT 1 FROM events WHERE event_id = ?').pluck();
      this.#readStream = db.prepare<[string, number, number], EventRow>(
        `SELECT ${COLUMNS} FROM events WHERE citizen_id = ? AND stream_version >= ? ORDER BY stream_version LIMIT ?`,
      );
      this.#readAll = db.prepare<[number, number], EventRow>(
        `SELECT ${COLUMNS} FROM events WHERE global_position > ? ORDER BY global_position LIMIT ?`,
      );
      this.#head = db.prepare<[], number>('SELECT MAX(global_position) FROM events').pluck();

      this.#applyOne = db.transaction((append: PendingAppend, recordedAt: string) => {
        if (append.kind === 'stream') append.result = this.#applyStreamAppend(append, recordedAt);
        else append.result = this.#applyBatchAppend(append, recordedAt);
      });
      this.#applyGroup = db.transaction((appends: PendingAppend[], recordedAt: string) => {
        for (const append of appends) {
          try {
            this.#applyOne(append, recordedAt); // a SAVEPOINT: a failure rolls back this append only
          } catch (error) {
            append.failed = true;
            append.error = error;
          }
        }
      });
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  #migrate(): void {
    const db = this.#db;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SQLITE_EVENT_STORE_SCHEMA_VERSION) {
      throw new Error(
        `the event store file has schema version ${version}, newer than this software supports (${SQLITE_EVENT_STORE_SCHEMA_VERSION})`,
      );
    }
    if (version === SQLITE_EVENT_STORE_SCHEMA_VERSION) return;
    db.transaction(() => {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      let current = db.pragma('user_version', { simple: true }) as number;
      for (; current < MIGRATIONS.length; current++) db.exec(MIGRATIONS[current]!);
      db.pragma(`user_version = ${SQLITE_EVENT_STORE_SCHEMA_VERSION}`);
    }).immediate();
  }

  // ---------------------------------------------------------------- appends

  appendToStream(
    citizenId: string,
    events: readonly TransitionEvent[],
    options?: { expectedVersion?: ExpectedVersion },
  ): Promise<AppendToStreamResult> {
    if (this.#closing) return Promise.reject(new EventStoreClosedError());
    return new Promise<AppendToStreamResult>((resolve, reject) => {
      if (typeof citizenId !== 'string' || citizenId.length === 0) throw new TypeError('citizenId must be a non-empty string');
      const expectedAsGiven = options?.expectedVersion ?? 'any';
      this.#enqueue({
        kind: 'stream',
        citizenId,
        expected: expectedAsNumber(expectedAsGiven),
        expectedAsGiven,
        events: prepareEvents(events, citizenId),
        resolve,
        reject,
      });
    });
  }

  appendBatch(events: readonly TransitionEvent[]): Promise<AppendBatchResult> {
    if (this.#closing) return Promise.reject(new EventStoreClosedError());
    return new Promise<AppendBatchResult>((resolve, reject) => {
      this.#enqueue({ kind: 'batch', events: prepareEvents(events, undefined), resolve, reject });
    });
  }

  #enqueue(append: PendingAppend): void {
    this.#queue.push(append);
    this.#flushHandle ??= setImmediate(this.#flush);
  }

  /** Commits everything queued in one transaction, then settles the promises and wakes subscribers. */
  readonly #flush = (): void => {
    this.#flushHandle = undefined;
    const appends = this.#queue;
    if (appends.length === 0) return;
    this.#queue = [];
    let commitError: unknown;
    let committed = false;
    try {
      const recordedAt = this.#clock.now().toISOString();
      if (appends.length === 1) {
        try {
          this.#applyOne.immediate(appends[0]!, recordedAt);
          committed = true;
        } catch (error) {
          // Either the append failed (rolled back, nothing to commit) or COMMIT failed: same outcome.
          appends[0]!.failed = true;
          appends[0]!.error = error;
        }
      } else {
        this.#applyGroup.immediate(appends, recordedAt);
        committed = true;
      }
    } catch (error) {
      commitError = error; // the clock, BEGIN or COMMIT failed: nothing of the group is stored
    }

    let events = 0;
    let succeeded = 0;
    for (const append of appends) {
      if (!committed || append.failed) {
        this.#stats.appendsFailed++;
        append.reject(append.failed ? append.error : commitError);
      } else {
        succeeded++;
        events += append.result!.appended.length;
        (append.resolve as (result: unknown) => void)(append.result);
      }
    }
    if (committed) {
      this.#stats.commits++;
      this.#stats.appendsCommitted += succeeded;
      this.#stats.eventsCommitted += events;
      if (appends.length > this.#stats.largestGroup) this.#stats.largestGroup = appends.length;
      if (events > 0) for (const subscription of this.#subscriptions) subscription.notify();
    }
  };

  #currentVersion(citizenId: string): number {
    return this.#streamVersion.get(citizenId) ?? -1;
  }

  #applyStreamAppend(append: StreamAppend, recordedAt: string): AppendToStreamResult {
    const { citizenId, events } = append;
    let version = this.#currentVersion(citizenId);
    if (append.expected !== undefined && append.expected !== version) {
      // An idempotent retry (every event already stored) succeeds whatever version it expected.
      if (events.length > 0 && events.every((e) => this.#exists.get(e.id) !== undefined)) {
        return { appended: [], duplicates: events.map((e) => e.id), nextExpectedVersion: version };
      }
      throw new WrongExpectedVersionError(citizenId, append.expectedAsGiven, version);
    }
    const appended: StoredEvent[] = [];
    const duplicates: string[] = [];
    const insert = this.#insert;
    for (const e of events) {
      const info = insert.run(e.id, citizenId, version + 1, e.type, e.occurredAt, e.source, e.json, recordedAt);
      if (info.changes === 0) {
        duplicates.push(e.id);
      } else {
        version++;
        appended.push(storedFrom(e, recordedAt, version, info.lastInsertRowid as number));
      }
    }
    return { appended, duplicates, nextExpectedVersion: version };
  }

  #applyBatchAppend(append: BatchAppend, recordedAt: string): AppendBatchResult {
    const versions = new Map<string, number>();
    const appended: StoredEvent[] = [];
    const duplicates: string[] = [];
    const insert = this.#insert;
    for (const e of append.events) {
      let version = versions.get(e.citizenId);
      if (version === undefined) version = this.#currentVersion(e.citizenId);
      const info = insert.run(e.id, e.citizenId, version + 1, e.type, e.occurredAt, e.source, e.json, recordedAt);
      if (info.changes === 0) {
        duplicates.push(e.id);
      } else {
        version++;
        appended.push(storedFrom(e, recordedAt, version, info.lastInsertRowid as number));
      }
      versions.set(e.citizenId, version);
    }
    return { appended, duplicates };
  }

  // ---------------------------------------------------------------- reads

  async readStream(citizenId: string, options: { fromVersion?: number; maxCount?: number } = {}): Promise<StoredEvent[]> {
    this.#assertReadable();
    const from = options.fromVersion ?? 0;
    if (!Number.isSafeInteger(from)) throw new TypeError('fromVersion must be an integer');
    return this.#readStream.all(citizenId, from, limitOf(options.maxCount)).map(toStoredEvent);
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    this.#assertReadable();
    return this.#readAllSync(options.after ?? 0, limitOf(options.maxCount));
  }

  #readAllSync(after: number, limit: number): StoredEvent[] {
    if (!Number.isSafeInteger(after)) throw new TypeError('after must be an integer');
    return this.#readAll.all(after, limit).map(toStoredEvent);
  }

  async headPosition(): Promise<number> {
    this.#assertReadable();
    return this.#headSync();
  }

  #headSync(): number {
    return this.#head.get() ?? 0;
  }

  /** Reads stay possible while `close()` drains (subscription handlers may read); not after. */
  #assertReadable(): void {
    if (this.#closed) throw new EventStoreClosedError();
  }

  // ---------------------------------------------------------------- subscriptions

  /**
   * Catch-up then live delivery, in global order, in batches of at most `batchSize` (default 500). The
   * handler is never run concurrently with itself and is first called on a later tick, never inside this
   * call. Throws `EventStoreClosedError` synchronously once `close()` has been called.
   */
  subscribeToAll(options: SubscribeToAllOptions, handler: BatchHandler): SqliteSubscription {
    if (this.#closing) throw new EventStoreClosedError();
    const after = options.after;
    if (!Number.isSafeInteger(after) || after < 0) throw new TypeError('after must be a non-negative integer');
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new TypeError('batchSize must be a positive integer');
    const subscription = new PullSubscription({
      after,
      batchSize,
      head: this.#headSync(),
      handler,
      read: (from, limit) => this.#readAllSync(from, limit),
      ended: (s) => this.#subscriptions.delete(s),
    });
    this.#subscriptions.add(subscription);
    return subscription;
  }

  // ---------------------------------------------------------------- lifecycle and metrics

  /** A snapshot of the counters (for metrics and tests). */
  stats(): SqliteEventStoreStats {
    return { ...this.#stats };
  }

  /**
   * Commits the appends already queued (durably), stops every subscription (waiting for running handlers),
   * then closes the database. New appends and subscriptions are refused from the moment it is called;
   * reads keep working until it resolves. Idempotent. Every call afterwards rejects with
   * `EventStoreClosedError`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#flushHandle !== undefined) {
      clearImmediate(this.#flushHandle);
      this.#flush();
    }
    await Promise.all([...this.#subscriptions].map((s) => s.stop()));
    this.#closed = true;
    this.#db.close();
  }
}
