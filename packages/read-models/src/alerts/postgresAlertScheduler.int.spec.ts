/**
 * Alerts on the PostgreSQL read models of distributed mode, against the real server (DATABASE_URL;
 * skipped with the reason otherwise): the alert scheduler's contract, then what distributed mode adds —
 * projector instances committing in any order, rebuilds while the scheduler runs, several schedulers
 * on one schema, and APIs that read the outbox another process writes.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { ManualTimers } from '../deadlines/timers.ts';
import { PostgresReadModel } from '../postgres/postgresReadModel.ts';
import { StoredEventFactory } from '../testing/storedEvents.ts';
import type { RecordedAlert } from './alertRecords.ts';
import { AlertScheduler } from './alertScheduler.ts';
import { alertSchedulerContract, ADULT, brief, POLL, projectedBed, readModelSetup, RECEPTION, T0, YOUTH, type Watched } from './alertSchedulerContract.ts';
import { OutboxAlertSource } from './outboxAlertSource.ts';
import { PostgresAlertStore } from './postgresAlertStore.ts';

const database = await testDatabase();
if (database.skipped !== undefined) reportSkipped('PostgreSQL alert scheduler tests', database.skipped);
const url = database.url ?? '';
const pool = new pg.Pool({ connectionString: url, max: 8 });
pool.on('error', () => {});
const schemas: string[] = [];
const newSchema = () => {
  const schema = freshSchemaName();
  schemas.push(schema);
  return schema;
};

afterAll(async () => {
  if (database.skipped === undefined) {
    for (const s of schemas) await dropSchema(url, s);
    await database.stop();
  }
  await pool.end();
});

const suite = database.skipped === undefined ? describe : describe.skip;

suite(`alerts on PostgreSQL${database.skipped !== undefined ? ` (${database.skipped})` : ''}`, () => {
  alertSchedulerContract('PostgreSQL', {
    place: async () => newSchema(),
    persistEveryMs: 6 * 3_600_000,
    async open({ place, events, watched, policies }) {
      const readModel = await PostgresReadModel.open({ pool, schema: place, ...readModelSetup(watched, policies) });
      return projectedBed(events, readModel, {
        store: await PostgresAlertStore.open({ pool, schema: place }),
        recorded: () => readModel.query(`SELECT citizen_id, kind, published::int AS published FROM "${place}".alert_outbox ORDER BY sequence`),
        close: () => readModel.close(),
      });
    },
  });

  describe('distributed mode', () => {
    let clock: ManualClock;
    let timers: ManualTimers;
    let make: StoredEventFactory;
    const running: AlertScheduler[] = [];
    const models: PostgresReadModel[] = [];

    beforeEach(() => {
      clock = new ManualClock(T0);
      timers = new ManualTimers(clock);
      make = new StoredEventFactory();
    });
    afterEach(async () => {
      for (const s of running.splice(0)) await s.stop();
      for (const m of models.splice(0)) await m.close();
    });

    /** A projector instance's read models on the schema (each keeps its own checkpoint, as per partition). */
    async function projectorModel(schema: string, watched: Watched, name = 'checkpoint'): Promise<PostgresReadModel> {
      const model = await PostgresReadModel.open({ pool, schema, ...readModelSetup(watched), checkpointName: name });
      models.push(model);
      return model;
    }

    async function scheduler(schema: string, options: { start?: boolean } = {}): Promise<{ scheduler: AlertScheduler; delivered: RecordedAlert[] }> {
      const s = new AlertScheduler({ store: await PostgresAlertStore.open({ pool, schema }), clock, timers, pollIntervalMs: POLL });
      const delivered: RecordedAlert[] = [];
      s.subscribe((a) => delivered.push(a));
      running.push(s);
      if (options.start !== false) await s.start();
      return { scheduler: s, delivered };
    }

    const received = (citizenId: string, at: string, notificationId = 'n1') =>
      make.event(citizenId, 'NotificationReceived', at, { notificationId, unitId: RECEPTION, notifier: 'private' });

    it('finds an event that commits after one with a higher position (projector instances in any order)', async () => {
      const schema = newSchema();
      const partition0 = await projectorModel(schema, 'deadlines', 'kafka:p0');
      const partition1 = await projectorModel(schema, 'deadlines', 'kafka:p1');
      const { delivered } = await scheduler(schema);
      // Position 1: a notification received two days ago, never assessed — breached yesterday, news.
      const slow = received('c-x', '2025-03-01T09:00:00+01:00');
      const fast = received('c-y', '2025-03-03T08:00:00+01:00');
      await partition1.applyBatch([fast]); // position 2 commits first…
      await timers.advance(POLL); // …and is checked: "newer than position 2" would now pass position 1 by
      await partition0.applyBatch([slow]);
      await timers.advance(POLL);
      expect(delivered.map((a) => `${brief(a)} ${a.citizenId}`)).toEqual(['BREACHED underretning-24h:n1 at 2025-03-02T09:00:00+01:00 seen 2025-03-03T09:02:00+01:00 c-x']);
    });

    it('takes a rebuild for no news: waits while it runs, then alerts what fell due meanwhile, once', async () => {
      const schema = newSchema();
      const model = await projectorModel(schema, 'deadlines');
      const history = [received('c-1', '2025-02-27T09:00:00+01:00')]; // breached before the first start
      await model.applyBatch(history);
      const { scheduler: s, delivered } = await scheduler(schema);
      const live = [
        received('c-2', T0), // at risk 4 March 03:00, breached 09:00
        received('c-3', T0),
        make.event('c-3', 'NotificationAssessed', '2025-03-03T10:00:00+01:00', { notificationId: 'n1', urgent: false }), // met
      ];
      await model.applyBatch(live);
      await timers.advanceTo('2025-03-04T04:00:00+01:00');
      expect(delivered.map(brief)).toEqual(['AT_RISK underretning-24h:n1 at 2025-03-04T03:00:00+01:00 seen 2025-03-04T03:00:00+01:00']);

      await model.reset();
      // Half the replay: c-2's clock is missing, and c-3's, without its assessment, looks breached at 09:00.
      await model.applyBatch([history[0]!, live[1]!]);
      await timers.advanceTo('2025-03-04T10:00:00+01:00');
      expect(s.waitingForRebuild).toBe(true);
      expect(delivered).toHaveLength(1);

      await model.applyBatch([live[0]!, live[2]!]);
      await timers.advance(2 * POLL);
      expect(s.waitingForRebuild).toBe(false);
      expect(delivered.map((a) => `${brief(a)} ${a.citizenId}`)).toEqual([
        'AT_RISK underretning-24h:n1 at 2025-03-04T03:00:00+01:00 seen 2025-03-04T03:00:00+01:00 c-2',
        'BREACHED underretning-24h:n1 at 2025-03-04T09:00:00+01:00 seen 2025-03-04T10:02:00+01:00 c-2',
      ]);
      await timers.advance(POLL);
      expect((await s.alertsAfter(0)).map((a) => `${a.kind} ${a.citizenId}`)).toEqual(['AT_RISK c-2', 'BREACHED c-2']);
    });

    it('keeps events the scheduler had not consumed at a reset as news, and replays the rest quietly', async () => {
      const schema = newSchema();
      const model = await projectorModel(schema, 'deadlines');
      const { delivered } = await scheduler(schema);
      const seen = [received('c-1', T0), received('c-2', T0)];
      await model.applyBatch(seen);
      await timers.advance(POLL);
      // Stored after the last check, before the reset: a late notification, breached yesterday.
      const unseen = received('c-3', '2025-03-01T09:00:00+01:00');
      await model.applyBatch([unseen]);
      await model.applyBatch([unseen]); // a repeat adds nothing to the feed
      const feed = async () => (await model.query<{ position: number }>(`SELECT position FROM "${schema}".alert_feed ORDER BY position`)).map((r) => r.position);
      expect(await feed()).toEqual([unseen.globalPosition]);

      await model.reset();
      const [replay] = await model.query<{ value: string }>(`SELECT value FROM "${schema}".meta WHERE key = 'alert_replay'`);
      expect(JSON.parse(replay!.value)).toEqual({ ranges: [[seen[0]!.globalPosition, seen[1]!.globalPosition]], remaining: 2 });
      expect(await feed()).toEqual([]);

      await model.applyBatch([...seen, unseen]);
      await timers.advance(2 * POLL);
      expect(delivered.map((a) => `${brief(a)} ${a.citizenId}`)).toEqual(['BREACHED underretning-24h:n1 at 2025-03-02T09:00:00+01:00 seen 2025-03-03T09:03:00+01:00 c-3']);
    });

    it('counts replayed events a first start drops as history towards the rebuild under way', async () => {
      const schema = newSchema();
      const model = await projectorModel(schema, 'deadlines');
      const first = await scheduler(schema);
      const events = [received('c-1', '2025-03-01T09:00:00+01:00'), received('c-2', '2025-03-01T10:00:00+01:00'), received('c-3', '2025-03-01T11:00:00+01:00')];
      await model.applyBatch(events);
      await timers.advance(POLL);
      await first.scheduler.stop();
      await model.reset();
      await model.applyBatch(events.slice(0, 2));
      // A new deployment of the alerts: no watermark yet, mid-rebuild.
      await model.query(`DELETE FROM "${schema}".alert_state`);
      const { scheduler: s, delivered } = await scheduler(schema);
      const [replay] = await model.query<{ value: string }>(`SELECT value FROM "${schema}".meta WHERE key = 'alert_replay'`);
      expect(JSON.parse(replay!.value)).toMatchObject({ remaining: 1 });
      await timers.advance(POLL);
      expect(s.waitingForRebuild).toBe(true);
      await model.applyBatch(events.slice(2));
      await timers.advance(2 * POLL);
      expect(s.waitingForRebuild).toBe(false);
      expect(delivered).toEqual([]);
    });

    it('lets several schedulers share a schema: each alert recorded once, sequence numbers in commit order', async () => {
      const schema = newSchema();
      const model = await projectorModel(schema, 'both');
      const a = await scheduler(schema, { start: false });
      const b = await scheduler(schema, { start: false });
      await a.scheduler.tick(); // the first start
      const citizens = Array.from({ length: 12 }, (_, i) => `c-${String(i).padStart(2, '0')}`);
      await model.applyBatch(
        citizens.flatMap((c, i) => [
          received(c, `2025-03-0${1 + (i % 2)}T0${i % 10}:00:00+01:00`),
          make.event(c, 'HandoverInitiated', '2025-02-17T10:00:00+01:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
        ]),
      );
      for (let i = 0; i < 4; i++) {
        clock.advance(6 * 3_600_000);
        await Promise.all([a.scheduler.tick(), b.scheduler.tick(), a.scheduler.tick()]);
      }
      const both = [...a.delivered, ...b.delivered];
      const key = (x: RecordedAlert) => `${x.about} ${x.citizenId} ${x.about === 'deadline' ? x.clockId : x.gapKey} ${x.kind}`;
      expect(new Set(both.map(key)).size).toBe(both.length);
      const stream = await a.scheduler.alertsAfter(0, 10_000);
      expect(stream.map((x) => x.sequence)).toEqual(both.map((x) => x.sequence).sort((x, y) => x - y));
      expect(stream.length).toBeGreaterThanOrEqual(citizens.length * 2);
      // Each scheduler delivered its own alerts in sequence order.
      for (const { delivered } of [a, b]) expect(delivered.map((x) => x.sequence)).toEqual([...delivered.map((x) => x.sequence)].sort((x, y) => x - y));
    });

    it('feeds an API that reads the outbox another process writes: new published alerts, once, in order', async () => {
      const schema = newSchema();
      const model = await projectorModel(schema, 'deadlines');
      const { scheduler: s } = await scheduler(schema);
      await model.applyBatch([received('c-1', T0)]);
      await timers.advance(18 * 3_600_000); // AT_RISK, before the API starts
      const api = new OutboxAlertSource({ outbox: await PostgresAlertStore.open({ pool, schema }), timers, pollIntervalMs: 5 * POLL });
      const live: RecordedAlert[] = [];
      api.subscribe((a) => live.push(a));
      await api.start();
      try {
        await timers.advance(6 * 3_600_000 + 5 * POLL); // BREACHED
        expect(live.map((a) => a.kind)).toEqual(['BREACHED']);
        expect(await api.alertsAfter(0)).toEqual(await s.alertsAfter(0));
        expect(await api.poll()).toEqual([]);
      } finally {
        await api.stop();
      }
    });
  });
});
