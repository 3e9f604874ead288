/**
 * Alerts on the embedded SQLite read models, on a manual clock and manual timers (nothing sleeps):
 * the alert scheduler's contract (each change published once, at its instant; a restart neither loses
 * nor repeats one; late events alerted when they arrive), then what is SQLite's own — the scheduler
 * under its embedded name, and a database written before gap alerts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import { SqliteEventStore } from '@tracker/event-store';
import { SqliteAlertStore } from '../alerts/sqliteAlertStore.ts';
import { alertSchedulerContract, brief, fact, POLL, projectedBed, readModelSetup, RECEPTION, T0 } from '../alerts/alertSchedulerContract.ts';
import type { RecordedAlert } from '../alerts/alertRecords.ts';
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import { DeadlineAlertScheduler } from './alertScheduler.ts';
import { ManualTimers } from './timers.ts';

alertSchedulerContract('SQLite', {
  place: async (dir) => join(dir, 'read-models.sqlite'),
  async open({ place, events, watched, policies }) {
    const readModel = new SqliteReadModel({ file: place, ...readModelSetup(watched, policies) });
    const database = readModel.database;
    return projectedBed(events, readModel, {
      store: new SqliteAlertStore(database),
      recorded: async () => database.prepare('SELECT citizen_id, kind, published FROM alert_outbox ORDER BY sequence').all() as never,
      close: async () => readModel.close(),
    });
  },
});

describe('alert scheduler on SQLite: the embedded tracker', () => {
  let dir: string;
  let clock: ManualClock;
  let store: SqliteEventStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deadline-alerts-'));
    clock = new ManualClock(T0);
    store = await SqliteEventStore.open({ file: join(dir, 'events.sqlite'), clock });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs as DeadlineAlertScheduler over the read-model database, deadlines and gaps alike', async () => {
    const readModel = new SqliteReadModel({ file: join(dir, 'read-models.sqlite'), ...readModelSetup('both') });
    const bed = await projectedBed(store, readModel, { store: new SqliteAlertStore(readModel.database), recorded: async () => [], close: async () => readModel.close() });
    const timers = new ManualTimers(clock);
    const scheduler = new DeadlineAlertScheduler({ database: readModel.database, clock, timers, pollIntervalMs: POLL });
    const delivered: RecordedAlert[] = [];
    scheduler.subscribe((a) => delivered.push(a));
    try {
      await scheduler.start();
      await bed.append([fact('c-1', 'NotificationReceived', T0, { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' })]);
      await bed.append([fact('c-1', 'ContactReceived', T0, { contactId: 'k1', unitId: RECEPTION, from: 'relative' })]);
      await timers.advanceTo('2025-03-04T09:00:00+01:00');
      expect(delivered.map((a) => `${a.about} ${brief(a)}`)).toEqual([
        'gap OPENED RELATIVE_UNANSWERED:k1 at 2025-03-03T09:00:00+01:00 seen 2025-03-03T09:01:00+01:00',
        'deadline AT_RISK underretning-24h:n1 at 2025-03-04T03:00:00+01:00 seen 2025-03-04T03:00:00+01:00',
        'deadline BREACHED underretning-24h:n1 at 2025-03-04T09:00:00+01:00 seen 2025-03-04T09:00:00+01:00',
      ]);
    } finally {
      await scheduler.stop();
      await bed.close();
    }
  });

  it('takes over a database written before gap alerts: its deadline alerts and watermarks, sequence numbers kept', async () => {
    const file = join(dir, 'read-models.sqlite');
    new SqliteReadModel({ file, ...readModelSetup('deadlines') }).close();
    const old = new Database(file);
    old.exec(`
      CREATE TABLE deadline_alerts (
        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
        citizen_id TEXT NOT NULL, clock_id TEXT NOT NULL, kind TEXT NOT NULL,
        policy TEXT NOT NULL, unit_id TEXT,
        at_ms INTEGER NOT NULL, detected_ms INTEGER NOT NULL,
        started_ms INTEGER NOT NULL, due_ms INTEGER NOT NULL, at_risk_ms INTEGER NOT NULL, stopped_ms INTEGER,
        published INTEGER NOT NULL,
        UNIQUE (citizen_id, clock_id, kind));
      CREATE TABLE deadline_alert_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO deadline_alerts VALUES (7, 'c-1', 'underretning-24h:n1', 'AT_RISK', 'underretning-24h', '${RECEPTION}', 100, 100, 10, 110, 100, NULL, 1);
      INSERT INTO deadline_alerts VALUES (8, 'c-1', 'underretning-24h:n1', 'BREACHED', 'underretning-24h', '${RECEPTION}', 110, 110, 10, 110, 100, NULL, 1);
      INSERT INTO deadline_alert_state VALUES ('checked_until_ms', 120), ('source_position', 3);`);
    old.close();

    const readModel = new SqliteReadModel({ file, ...readModelSetup('deadlines') });
    try {
      const outbox = new SqliteAlertStore(readModel.database);
      expect((await outbox.alertsAfter(0, 10)).map((a) => [a.sequence, a.about, a.kind, a.citizenId])).toEqual([
        [7, 'deadline', 'AT_RISK', 'c-1'],
        [8, 'deadline', 'BREACHED', 'c-1'],
      ]);
      expect(await outbox.check((check) => check.checkedUntil())).toBe(120);
      const tables = readModel.database.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'deadline_alert%'`).all();
      expect(tables).toEqual([]);
      // The sequence goes on after the moved alerts.
      const [next] = await outbox.check((check) =>
        check.record(
          [{ about: 'deadline', kind: 'MET_LATE', citizenId: 'c-1', clockId: 'underretning-24h:n1', policy: 'underretning-24h', unitId: RECEPTION, atMs: 130, detectedMs: 130, startedMs: 10, dueMs: 110, atRiskMs: 100, stoppedMs: 130, publish: true }],
          130,
        ),
      );
      expect(next?.sequence).toBe(9);
    } finally {
      readModel.close();
    }
  });

  it('gives an SQLite read model whose derived table changed shape its new columns, and asks for a rebuild', async () => {
    const file = join(dir, 'read-models.sqlite');
    const old = new SqliteReadModel({ file, ...readModelSetup('gaps') });
    // As written by version 1 of the gaps derivation: no positions.
    old.database.exec('DROP INDEX gaps_by_end_position; ALTER TABLE gaps DROP COLUMN end_position; ALTER TABLE gaps DROP COLUMN start_position');
    old.close();
    const reopened = new SqliteReadModel({ file, ...readModelSetup('gaps') });
    try {
      expect(reopened.needsRebuild).toBe(true);
      const columns = reopened.database.prepare(`SELECT name FROM pragma_table_info('gaps')`).pluck().all();
      expect(columns).toContain('end_position');
    } finally {
      reopened.close();
    }
  });
});
