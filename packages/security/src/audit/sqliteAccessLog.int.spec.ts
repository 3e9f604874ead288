/**
 * The SQLite access log: the AccessLog contract on a file, then what only SQLite shows — its triggers
 * against SQL from another connection, INSERT OR REPLACE included.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import { accessLogContract, accessRead as read } from './accessLogContract.ts';
import { AccessLogNotFoundError } from './accessLog.ts';
import { SqliteAccessLog } from './sqliteAccessLog.ts';

accessLogContract('SQLite (file)', async (clock) => {
  const dir = mkdtempSync(join(tmpdir(), 'tracker-audit-'));
  const file = join(dir, 'access-log.sqlite');
  const intruder = (sql: (db: Database.Database) => void) => {
    const db = new Database(file);
    try {
      // Whoever can write the file can drop the triggers.
      db.exec('DROP TRIGGER IF EXISTS access_log_no_update; DROP TRIGGER IF EXISTS access_log_no_delete;');
      sql(db);
    } finally {
      db.close();
    }
  };
  return {
    log: new SqliteAccessLog({ file, clock }),
    reopen: async () => new SqliteAccessLog({ file, clock }),
    tamperActor: async (seq, actor) => intruder((db) => db.prepare('UPDATE access_log SET actor = ? WHERE seq = ?').run(actor, seq)),
    tamperRemove: async (seq) => intruder((db) => db.prepare('DELETE FROM access_log WHERE seq = ?').run(seq)),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('SqliteAccessLog', () => {
  let dir: string;
  let file: string;
  let log: SqliteAccessLog;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tracker-audit-'));
    file = join(dir, 'access-log.sqlite');
    log = new SqliteAccessLog({ file, clock: new ManualClock('2025-03-03T08:00:00Z') });
  });
  afterEach(async () => {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('even SQL from another connection cannot update, delete or replace an entry', async () => {
    await log.record(read());
    const intruder = new Database(file);
    try {
      expect(() => intruder.prepare("UPDATE access_log SET actor = 'someone-else'").run()).toThrow(/append-only/);
      expect(() => intruder.prepare('DELETE FROM access_log').run()).toThrow(/append-only/);
      expect(() => intruder.prepare('DELETE FROM access_log WHERE seq = 1').run()).toThrow(/append-only/);
      expect(() =>
        intruder
          .prepare("INSERT OR REPLACE INTO access_log (seq, at, actor, actor_role, citizen_id, operation, purpose, hash) VALUES (1, 'x', 'x', 'x', 'x', 'x', NULL, x'00')")
          .run(),
      ).toThrow(/append-only/);
      expect(() =>
        intruder.prepare("INSERT INTO access_log (at, actor, actor_role, citizen_id, operation, purpose, hash) VALUES ('x', 'x', 'x', 'x', 'x', NULL, x'00')").run(),
      ).toThrow(/append-only/);
    } finally {
      intruder.close();
    }
    expect(await log.entries()).toHaveLength(1);
    await expect(log.verify()).resolves.toEqual({ ok: true, entries: 1 });
  });

  it('with create: false, a missing file is refused and not made; an existing log opens', async () => {
    const missing = join(dir, 'none', 'access-log.sqlite');
    expect(() => new SqliteAccessLog({ file: missing, create: false })).toThrow(AccessLogNotFoundError);
    expect(existsSync(join(dir, 'none'))).toBe(false);
    await log.record(read());
    const again = new SqliteAccessLog({ file, create: false });
    try {
      expect(await again.entries()).toHaveLength(1);
    } finally {
      await again.close();
    }
  });
});
