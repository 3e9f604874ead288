import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import { AccessLogClosedError, AccessLogEntryError, type AccessLog, type AccessRecord } from './accessLog.ts';
import { SqliteAccessLog } from './sqliteAccessLog.ts';

const read = (over: Partial<AccessRecord> = {}): AccessRecord => ({
  actor: 'sub-employee-17',
  actorRole: 'coordinator',
  citizenId: 'c-42',
  operation: 'query.citizen',
  purpose: 'visitationsmøde',
  ...over,
});

describe('SqliteAccessLog', () => {
  let dir: string;
  let file: string;
  let clock: ManualClock;
  let log: SqliteAccessLog;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tracker-audit-'));
    file = join(dir, 'access-log.sqlite');
    clock = new ManualClock('2025-03-03T08:00:00Z');
    log = new SqliteAccessLog({ file, clock });
  });
  afterEach(async () => {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a request of insight lists dates, operations and purposes — not who looked', async () => {
    await log.record(read());
    clock.advance(3600_000);
    await log.record(read({ actor: 'sub-employee-99', actorRole: 'administrator', operation: 'query.handovers', purpose: undefined }));
    await log.record(read({ citizenId: 'c-43' }));
    const lookups = await log.lookupsOf('c-42');
    expect(lookups).toEqual([
      { at: '2025-03-03T08:00:00.000Z', operation: 'query.citizen', purpose: 'visitationsmøde' },
      { at: '2025-03-03T09:00:00.000Z', operation: 'query.handovers', purpose: null },
    ]);
    const text = JSON.stringify(lookups);
    expect(text).not.toContain('sub-employee');
    expect(text).not.toContain('coordinator');
  });

  it('entries for an investigation carry the actors', async () => {
    await log.recordAll([read(), read({ citizenId: 'c-43', actor: 'sub-other' })]);
    expect(await log.entries({ actor: 'sub-other' })).toEqual([
      { seq: 2, at: '2025-03-03T08:00:00.000Z', actor: 'sub-other', actorRole: 'coordinator', citizenId: 'c-43', operation: 'query.citizen', purpose: 'visitationsmøde' },
    ]);
    expect(await log.entries({ from: '2025-03-04T00:00:00Z' })).toEqual([]);
    await expect(log.entries({ from: 'yesterday' })).rejects.toThrow(AccessLogEntryError);
  });

  it('the API offers no way to change or remove an entry', () => {
    const methods = Object.getOwnPropertyNames(SqliteAccessLog.prototype);
    for (const name of methods) expect(name).not.toMatch(/update|delete|remove|erase|purge|truncate|edit|clear/i);
    const port: (keyof AccessLog)[] = ['record', 'recordAll', 'lookupsOf', 'entries', 'flush', 'close'];
    expect(port).toHaveLength(6);
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

  it('whoever drops the triggers still cannot edit or remove an entry unnoticed (hash chain)', async () => {
    for (let i = 0; i < 5; i++) await log.record(read({ citizenId: `c-${i}` }));
    await expect(log.verify()).resolves.toEqual({ ok: true, entries: 5 });
    await log.close();

    const intruder = new Database(file);
    intruder.exec('DROP TRIGGER access_log_no_update; DROP TRIGGER access_log_no_delete;');
    intruder.prepare("UPDATE access_log SET actor = 'someone-else' WHERE seq = 3").run();
    intruder.close();
    log = new SqliteAccessLog({ file, clock });
    await expect(log.verify()).resolves.toEqual({ ok: false, entries: 2, firstBrokenSeq: 3 });
    await log.close();

    const remover = new Database(file);
    remover.prepare("UPDATE access_log SET actor = 'sub-employee-17' WHERE seq = 3").run();
    remover.prepare('DELETE FROM access_log WHERE seq = 2').run();
    remover.close();
    log = new SqliteAccessLog({ file, clock });
    await expect(log.verify()).resolves.toEqual({ ok: false, entries: 1, firstBrokenSeq: 2 });
  });

  it('group commit: many concurrent reads, one transaction', async () => {
    await Promise.all(Array.from({ length: 500 }, (_, i) => log.record(read({ citizenId: `c-${i}` }))));
    expect(log.stats).toEqual({ commits: 1, entries: 500, largestGroup: 500 });
    await expect(log.verify()).resolves.toEqual({ ok: true, entries: 500 });
  });

  it('close flushes what was recorded but not yet written; later records are refused', async () => {
    const pending = Array.from({ length: 50 }, (_, i) => log.record(read({ citizenId: `c-${i}` })));
    await log.close();
    await Promise.all(pending);
    await expect(log.record(read())).rejects.toThrow(AccessLogClosedError);

    log = new SqliteAccessLog({ file, clock });
    expect(await log.entries({ limit: 10_000 })).toHaveLength(50);
    // The chain continues across a restart.
    await log.record(read());
    await expect(log.verify()).resolves.toEqual({ ok: true, entries: 51 });
  });

  it('refuses entries that would put a CPR number or garbage into the log, naming the field only', async () => {
    const cases: [Partial<AccessRecord>, string][] = [
      [{ citizenId: '010190-1234' }, 'citizenId'],
      [{ citizenId: '0101901234' }, 'citizenId'],
      [{ purpose: 'sag vedr. 010190-1234' }, 'purpose'],
      [{ purpose: 'x'.repeat(501) }, 'purpose'],
      [{ actor: '' }, 'actor'],
      [{ actorRole: 'root' as never }, 'actorRole'],
      [{ operation: 'query citizen; drop' }, 'operation'],
    ];
    for (const [over, field] of cases) {
      const error = await log.record(read(over)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AccessLogEntryError);
      expect(error).toMatchObject({ field });
      expect((error as Error).message).not.toContain('010190');
    }
    // A refused entry in a batch refuses the batch: nothing half-logged.
    await expect(log.recordAll([read(), read({ citizenId: '0101901234' })])).rejects.toThrow(AccessLogEntryError);
    expect(await log.entries()).toEqual([]);
    await expect(log.lookupsOf('010190-1234')).rejects.toThrow(AccessLogEntryError);
  });

  it('`at` comes from the log’s clock when recorded, not when flushed', async () => {
    const first = log.record(read());
    clock.advance(60_000);
    await first;
    expect((await log.entries())[0]!.at).toBe('2025-03-03T08:00:00.000Z');
  });
});
