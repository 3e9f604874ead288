/**
 * The embedded key store: its own SQLite file (e.g. DATA_DIR/keys.sqlite), apart from the event store,
 * so it can have its own backup policy — the whole point of crypto-shredding is that the keys can be
 * destroyed while the events are kept.
 *
 * Erasure leaves no bytes behind:
 * - `secure_delete = ON`: SQLite overwrites deleted content (and freed pages) with zeros instead of
 *   leaving it in free space of the page or the file;
 * - after the delete commits, `wal_checkpoint(TRUNCATE)` copies the zeroed pages into the main file
 *   and truncates the write-ahead log, whose older frames still held the page with the key.
 * The test (cryptoShredding.int.spec.ts) scans the files for the wrapped key's bytes after erasure.
 * What this cannot reach (filesystem journals, SSD wear-levelling, backups) is in docs/security.md.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
   CREATE TABLE data_keys (
     citizen_id TEXT PRIMARY KEY,
     kid        TEXT NOT NULL,
     kek_id     TEXT NOT NULL,
     wrapped    BLOB NOT NULL,
     created_at TEXT NOT NULL
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE erasures (
     citizen_id TEXT PRIMARY KEY,
     erased_at  TEXT NOT NULL
   ) STRICT, WITHOUT ROWID;`,
];

interface KeyRow {
  kid: string;
  kek_id: string;
  wrapped: Buffer;
  created_at: string;
}

export class SqliteKeyStore implements CitizenKeyStore {
  readonly #db: Database.Database;
  readonly #find: Database.Statement<[string], KeyRow>;
  readonly #erasedAt: Database.Statement<[string], { erased_at: string }>;
  #closed = false;

  /**
   * `file` is created (with its folder) when missing — unless `create` is false (tools that work on an
   * existing store: KeyStoreNotFoundError); `':memory:'` for tests that do not look at files.
   */
  constructor(
    readonly file: string,
    options: { create?: boolean } = {},
  ) {
    if (options.create === false && file !== ':memory:' && !existsSync(file)) throw new KeyStoreNotFoundError(`in ${file}`);
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file);
    // Owner-only, like a key file: the write-ahead log and shared memory files SQLite creates take this mode too.
    if (file !== ':memory:') chmodSync(file, 0o600);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    // Per connection, so set on every open: deleted keys are overwritten, not left in free space.
    this.#db.pragma('secure_delete = ON');
    this.#migrate();
    this.#find = this.#db.prepare('SELECT kid, kek_id, wrapped, created_at FROM data_keys WHERE citizen_id = ?');
    this.#erasedAt = this.#db.prepare('SELECT erased_at FROM erasures WHERE citizen_id = ?');
  }

  #migrate(): void {
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    for (let i = version; i < MIGRATIONS.length; i++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[i]!);
        this.#db.pragma(`user_version = ${i + 1}`);
      })();
    }
  }

  #open(): Database.Database {
    if (this.#closed) throw new Error('the key store is closed');
    return this.#db;
  }

  async bindKeyEncryptionKey(kekId: string): Promise<string> {
    const db = this.#open();
    db.prepare("INSERT INTO meta (key, value) VALUES ('kek_id', ?) ON CONFLICT (key) DO NOTHING").run(kekId);
    return (db.prepare("SELECT value FROM meta WHERE key = 'kek_id'").pluck().get() as string);
  }

  async find(citizenId: string): Promise<StoredDataKey> {
    this.#open();
    return this.#state(citizenId);
  }

  #state(citizenId: string): StoredDataKey {
    const row = this.#find.get(citizenId);
    if (row) {
      return { state: 'active', key: { kid: row.kid, kekId: row.kek_id, wrapped: new Uint8Array(row.wrapped), createdAt: row.created_at } };
    }
    const erased = this.#erasedAt.get(citizenId);
    return erased ? { state: 'erased', erasedAt: erased.erased_at } : { state: 'absent' };
  }

  async insertIfAbsent(citizenId: string, key: WrappedDataKey): Promise<StoredDataKey> {
    const db = this.#open();
    return db.transaction(() => {
      const current = this.#state(citizenId);
      if (current.state !== 'absent') return current;
      db.prepare('INSERT INTO data_keys (citizen_id, kid, kek_id, wrapped, created_at) VALUES (?, ?, ?, ?, ?)').run(
        citizenId,
        key.kid,
        key.kekId,
        Buffer.from(key.wrapped),
        key.createdAt,
      );
      return this.#state(citizenId);
    }).immediate();
  }

  async erase(citizenId: string, erasedAt: string): Promise<{ erased: boolean }> {
    const db = this.#open();
    const erased = db.transaction(() => {
      const { changes } = db.prepare('DELETE FROM data_keys WHERE citizen_id = ?').run(citizenId);
      db.prepare('INSERT INTO erasures (citizen_id, erased_at) VALUES (?, ?) ON CONFLICT (citizen_id) DO NOTHING').run(citizenId, erasedAt);
      return changes > 0;
    }).immediate();
    this.#truncateLog();
    return { erased };
  }

  /** Moves the zeroed pages into the main file and empties the write-ahead log, which still holds the key's old page. */
  #truncateLog(
    failure = 'the key was erased, but the key store log could not be truncated because another reader is active; retry the erasure',
  ): void {
    if (this.file === ':memory:') return;
    const [result] = this.#db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
    // Another connection (a backup tool, say) holds a read lock: the change is committed, but old frames may remain until the next checkpoint.
    if (!result || result.busy !== 0) throw new Error(failure);
  }

  async erasures(): Promise<{ citizenId: string; erasedAt: string }[]> {
    const rows = this.#open().prepare('SELECT citizen_id, erased_at FROM erasures ORDER BY erased_at, citizen_id').all() as { citizen_id: string; erased_at: string }[];
    return rows.map((r) => ({ citizenId: r.citizen_id, erasedAt: r.erased_at }));
  }

  async activeKeys(page: ActiveKeysPage): Promise<ActiveDataKey[]> {
    const db = this.#open();
    checkActiveKeysPage(page);
    // Citizen ids are never empty, so '' precedes them all; TEXT compares bytewise (BINARY), as the primary key is ordered.
    const rows = db
      .prepare(
        `SELECT citizen_id, kid, kek_id, wrapped, created_at FROM data_keys
         WHERE citizen_id > ? AND (? IS NULL OR kek_id <> ?) ORDER BY citizen_id LIMIT ?`,
      )
      .all(page.after ?? '', page.notWrappedBy ?? null, page.notWrappedBy ?? null, page.limit) as (KeyRow & { citizen_id: string })[];
    return rows.map((r) => ({ citizenId: r.citizen_id, key: { kid: r.kid, kekId: r.kek_id, wrapped: new Uint8Array(r.wrapped), createdAt: r.created_at } }));
  }

  async countActiveKeys(): Promise<{ kekId: string; keys: number }[]> {
    const rows = this.#open().prepare('SELECT kek_id, count(*) AS keys FROM data_keys GROUP BY kek_id ORDER BY kek_id').all() as { kek_id: string; keys: number }[];
    return rows.map((r) => ({ kekId: r.kek_id, keys: r.keys }));
  }

  async rewrapKey(citizenId: string, expected: WrappedDataKey, rewrapped: RewrappedDataKey): Promise<boolean> {
    const db = this.#open();
    checkRewrapped(expected, rewrapped);
    // One statement: the comparison and the write are atomic. An erased citizen has no row left to match.
    const { changes } = db
      .prepare('UPDATE data_keys SET kek_id = ?, wrapped = ? WHERE citizen_id = ? AND kid = ? AND kek_id = ? AND wrapped = ?')
      .run(rewrapped.kekId, Buffer.from(rewrapped.wrapped), citizenId, expected.kid, expected.kekId, Buffer.from(expected.wrapped));
    return changes === 1;
  }

  async rebindKeyEncryptionKey(from: string, to: string): Promise<void> {
    const db = this.#open();
    db.transaction(() => {
      const bound = db.prepare("SELECT value FROM meta WHERE key = 'kek_id'").pluck().get() as string | undefined;
      if (bound === to) return;
      if (bound !== from) throw new KeyEncryptionKeyMismatchError({ previousConfigured: true });
      const remaining = db.prepare('SELECT count(*) FROM data_keys WHERE kek_id <> ?').pluck().get(to) as number;
      if (remaining > 0) throw new KeyRotationIncompleteError(remaining);
      db.prepare("UPDATE meta SET value = ? WHERE key = 'kek_id'").run(to);
    }).immediate();
    // The rewrapped rows' old versions were zeroed in the pages (secure_delete); the log still holds the old pages.
    this.#truncateLog('the key store was rebound, but its log could not be truncated because another reader is active: the keys wrapped by the old key-encryption key may remain in it until the next checkpoint; run the rotation again');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.file !== ':memory:') this.#db.pragma('wal_checkpoint(TRUNCATE)');
    this.#db.close();
  }
}
