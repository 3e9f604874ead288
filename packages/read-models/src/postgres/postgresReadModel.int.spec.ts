/**
 * The PostgreSQL read models against a real server (DATABASE_URL, else testcontainers, else skipped with
 * the reason): the read-model contract shared with SQLite, then crash safety — a batch that fails after
 * half of it was written leaves nothing behind and does not move the checkpoint, so the projector,
 * restarted, applies every event exactly once.
 */
import pg from 'pg';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, instantMs, type StoredEvent, type TransitionEvent } from '@tracker/domain';
import { SqliteEventStore } from '@tracker/event-store';
import { deliverLate, generateCitizens } from '@tracker/generator';
// Relative imports until @tracker/event-store exports the PostgreSQL adapter and its test helper.
import { PostgresEventStore } from '@tracker/event-store';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { contractProjection, readModelContract } from '../contract/readModelContract.ts';
import type { CitizenDerivation } from '../derived.ts';
import { Projector } from '../projector.ts';
import { StoredEventFactory } from '../testing/storedEvents.ts';
import type { ReadModelQueries } from '../queries.ts';
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import { PostgresReadModel } from './postgresReadModel.ts';
import { ALL_UNITS } from '@tracker/security';

const database = await testDatabase();
if (database.skipped !== undefined) reportSkipped('PostgresReadModel tests', database.skipped);
const url = database.url ?? '';
const schemas: string[] = [];
const newSchema = () => {
  const schema = freshSchemaName();
  schemas.push(schema);
  return schema;
};

afterAll(async () => {
  if (database.skipped !== undefined) return;
  for (const s of schemas) await dropSchema(url, s);
  await database.stop();
});

const suite = database.skipped !== undefined ? describe.skip : describe;

suite(`PostgreSQL read models${database.skipped !== undefined ? ` (${database.skipped})` : ''}`, () => {
  readModelContract('PostgreSQL', {
    place: async () => newSchema(),
    open: (schema, options) => PostgresReadModel.open({ connectionString: url, schema, ...options }),
    close: (model) => model.close(),
    derivedRows: (model, table, columns) => model.query(`SELECT ${columns.join(', ')} FROM "${model.schema}".${table} ORDER BY citizen_id`),
  });

  describe('crash safety: a batch and its checkpoint commit together', () => {
    let schema: string;
    let sql: pg.Client;
    const asOf = Date.parse('2030-01-01T00:00:00Z');

    beforeEach(async () => {
      schema = newSchema();
      sql = new pg.Client({ connectionString: url });
      await sql.connect();
    });
    afterEach(async () => {
      await sql.end();
    });

    /** Makes the database fail the handover writes of one citizen: they come after the timeline, citizen and case writes. */
    const poisonHandoversOf = async (citizenId: string) => {
      await sql.query(`CREATE OR REPLACE FUNCTION "${schema}".crash() RETURNS trigger LANGUAGE plpgsql AS $$
                       BEGIN RAISE EXCEPTION 'simulated crash in the middle of a batch'; END $$`);
      await sql.query(`CREATE TRIGGER crash BEFORE INSERT ON "${schema}".handovers FOR EACH ROW
                       WHEN (NEW.citizen_id = '${citizenId}') EXECUTE FUNCTION "${schema}".crash()`);
    };
    const heal = () => sql.query(`DROP TRIGGER crash ON "${schema}".handovers`);
    const count = async (table: string) => Number((await sql.query(`SELECT count(*) AS n FROM "${schema}".${table}`)).rows[0].n);

    function batchOf(make: StoredEventFactory, citizens: string[]): StoredEvent[] {
      return citizens.flatMap((c, i) => [
        make.event(c, 'CitizenRegistered', `2020-0${i + 1}-01T09:00:00+01:00`, { birthDate: '2007-01-01', municipality: '0751', disability: true }),
        make.event(c, 'CaseOpened', `2021-0${i + 1}-04T10:00:00+01:00`, { caseId: 'k1', unitId: '0751-ungeenhed' }),
        make.event(c, 'HandoverInitiated', `2024-0${i + 1}-02T10:00:00+01:00`, { handoverId: 'h1', fromUnitId: '0751-ungeenhed', toUnitId: '0751-jobcenter', kind: 'age' }),
      ]);
    }

    it('a failure after half a batch is written leaves none of it and keeps the checkpoint; applying it again applies each event once', async () => {
      const make = new StoredEventFactory();
      const model = await PostgresReadModel.open({ connectionString: url, schema, projection: contractProjection, configFingerprint: 't' });
      try {
        const first = batchOf(make, ['c-1']);
        await model.applyBatch(first);
        expect(await model.checkpoint()).toBe(3);

        await poisonHandoversOf('c-3');
        const second = batchOf(make, ['c-2', 'c-3', 'c-4']);
        await expect(model.applyBatch(second)).rejects.toThrow(/simulated crash/);
        expect(await model.checkpoint()).toBe(3);
        expect(await count('timeline')).toBe(3); // the second batch's timeline, citizens and cases were written, then rolled back
        expect(await count('citizens')).toBe(1);
        expect(await count('responsibilities')).toBe(1);
        expect(await model.citizen('c-2', asOf, ALL_UNITS)).toBeNull();

        await heal();
        await model.applyBatch(second); // what the restarted projector does: resume after the checkpoint
        expect(await model.checkpoint()).toBe(12);
        const ids = (await sql.query<{ event_id: string }>(`SELECT event_id FROM "${schema}".timeline ORDER BY position`)).rows.map((r) => r.event_id);
        expect(ids).toEqual([...first, ...second].map((e) => e.id)); // each event exactly once
        expect(await count('handovers')).toBe(4);
        expect(await model.citizenHandovers('c-3', asOf, ALL_UNITS)).toMatchObject([{ id: 'h1', status: 'PENDING', overdue: true }]);
      } finally {
        await model.close();
      }
    });

    it('a derivation that throws rolls back the batch too', async () => {
      const make = new StoredEventFactory();
      let failFor: string | undefined = 'c-2';
      const counting: CitizenDerivation = {
        name: 'counting',
        version: 1,
        tables: [{ name: 'event_counts', columns: { events: 'integer' } }],
        derive: (citizenId, history) => {
          if (citizenId === failFor) throw new Error('derivation failed');
          return { event_counts: [{ events: history.length }] };
        },
      };
      const model = await PostgresReadModel.open({ connectionString: url, schema, projection: contractProjection, configFingerprint: 't', derived: [counting] });
      try {
        const batch = batchOf(make, ['c-1', 'c-2']);
        await expect(model.applyBatch(batch)).rejects.toThrow('derivation failed');
        expect(await model.checkpoint()).toBe(0);
        expect(await count('timeline')).toBe(0);
        failFor = undefined;
        await model.applyBatch(batch);
        expect(await model.query(`SELECT citizen_id, events FROM "${schema}".event_counts ORDER BY citizen_id`)).toEqual([
          { citizen_id: 'c-1', events: 3 },
          { citizen_id: 'c-2', events: 3 },
        ]);
      } finally {
        await model.close();
      }
    });

    it('a projector on the PostgreSQL event store that crashes mid-way resumes after restart: every event once, as a clean rebuild', async () => {
      const store = await PostgresEventStore.open({ connectionString: url, schema: newSchema(), clock: new ManualClock('2026-01-01T00:00:00Z') });
      const citizens = Array.from({ length: 12 }, (_, i) => `c-${i}`);
      const events: TransitionEvent[] = citizens.flatMap((c) =>
        batchOf(new StoredEventFactory(), [c]).map(({ id, type, citizenId, occurredAt, data }) => ({ id, type, citizenId, occurredAt, data }) as TransitionEvent),
      );
      await store.appendBatch(events);

      const open = (s: string) => PostgresReadModel.open({ connectionString: url, schema: s, projection: contractProjection, configFingerprint: 't' });
      const crashing = await open(schema);
      await poisonHandoversOf('c-7');
      const failures: unknown[] = [];
      const first = new Projector({ store, target: crashing, batchSize: 5, onError: (e) => failures.push(e) });
      await expect(first.start()).rejects.toThrow(/simulated crash/);
      await first.stop();
      await crashing.close();
      expect(failures).toHaveLength(1);
      const reopened = await open(schema);
      const stoppedAt = await reopened.checkpoint();
      await reopened.close();
      expect(stoppedAt).toBeGreaterThan(0);
      expect(stoppedAt).toBeLessThan(events.length);
      expect(await count('timeline')).toBe(stoppedAt); // exactly the committed batches

      await heal();
      const restarted = await open(schema);
      const second = new Projector({ store, target: restarted, batchSize: 5 });
      await second.start();
      await second.stop();
      expect(await restarted.checkpoint()).toBe(await store.headPosition());
      const projected = (await sql.query<{ event_id: string }>(`SELECT event_id FROM "${schema}".timeline ORDER BY position`)).rows.map((r) => r.event_id);
      expect(projected).toEqual(events.map((e) => e.id));

      const clean = await open(newSchema());
      const rebuild = new Projector({ store, target: clean, batchSize: 1_000 });
      await rebuild.start();
      await rebuild.stop();
      for (const c of citizens) {
        expect(await restarted.timeline(c, asOf, ALL_UNITS)).toEqual(await clean.timeline(c, asOf, ALL_UNITS));
        expect(await restarted.citizenHandovers(c, asOf, ALL_UNITS)).toEqual(await clean.citizenHandovers(c, asOf, ALL_UNITS));
        expect(await restarted.responsibilities(c, asOf, ALL_UNITS)).toEqual(await clean.responsibilities(c, asOf, ALL_UNITS));
      }
      expect(await restarted.handovers({ asOf }, { first: 100, offset: 0 }, ALL_UNITS)).toEqual(await clean.handovers({ asOf }, { first: 100, offset: 0 }, ALL_UNITS));
      await Promise.all([restarted.close(), clean.close(), store.close()]);
    });
  });

  it('answers exactly as the SQLite read models for generated histories delivered late, in any batching', async () => {
    const NOW = new Date('2026-06-01T12:00:00+02:00');
    /** Everything the API can ask, for every citizen, at instants spread over the histories. */
    const answers = async (queries: ReadModelQueries, ids: string[], instants: number[]) => {
      const out: unknown[] = [];
      for (const asOf of instants) {
        out.push(await queries.handovers({ asOf }, { first: 10_000, offset: 0 }, ALL_UNITS), await queries.handovers({ asOf, overdue: true }, { first: 3, offset: 1 }, ALL_UNITS));
        for (const id of ids) out.push(await queries.citizen(id, asOf, ALL_UNITS), await queries.timeline(id, asOf, ALL_UNITS), await queries.responsibilities(id, asOf, ALL_UNITS), await queries.citizenHandovers(id, asOf, ALL_UNITS));
      }
      return out;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          citizens: fc.integer({ min: 1, max: 6 }),
          lateShare: fc.double({ min: 0, max: 0.7, noNaN: true }),
          duplicateShare: fc.double({ min: 0, max: 0.2, noNaN: true }),
          anomalyRate: fc.constantFrom(0, 0.5, 1),
          chunk: fc.integer({ min: 1, max: 40 }),
        }),
        async (p) => {
          const citizens = [...generateCitizens({ seed: p.seed, citizens: p.citizens, units: contractProjection.units, now: NOW, anomalyRate: p.anomalyRate })];
          const arrival = deliverLate(citizens, { seed: p.seed, lateShare: p.lateShare, maxDelaySteps: 30, duplicateShare: p.duplicateShare });
          const store = await SqliteEventStore.open({ file: ':memory:', clock: new ManualClock(NOW) });
          await store.appendBatch(arrival);
          const stored = await store.readAll();
          await store.close();

          const sqlite = new SqliteReadModel({ file: ':memory:', projection: contractProjection, configFingerprint: 'p' });
          const postgres = await PostgresReadModel.open({ connectionString: url, schema: newSchema(), projection: contractProjection, configFingerprint: 'p' });
          try {
            for (let i = 0; i < stored.length; i += p.chunk) {
              sqlite.applyBatch(stored.slice(i, i + p.chunk));
              await postgres.applyBatch(stored.slice(i, i + p.chunk));
            }
            const times = [...new Set(stored.map((e) => instantMs(e.occurredAt)))].sort((a, b) => a - b);
            const instants = [times[0]! - 1, ...[0.25, 0.5, 0.75].map((q) => times[Math.floor(q * (times.length - 1))]!), NOW.getTime()];
            const ids = citizens.map((c) => c.citizenId);
            expect(await postgres.checkpoint()).toBe(await sqlite.checkpoint());
            expect(await answers(postgres, ids, instants)).toEqual(await answers(sqlite, ids, instants));
          } finally {
            sqlite.close();
            await postgres.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('refuses a schema name that is not a plain identifier and derived tables with unsafe names', async () => {
    await expect(PostgresReadModel.open({ connectionString: url, schema: 'a;b', projection: contractProjection, configFingerprint: 't' })).rejects.toThrow(TypeError);
    const bad: CitizenDerivation = { name: 'bad', version: 1, tables: [{ name: 'x; drop', columns: {} }], derive: () => ({}) };
    await expect(
      PostgresReadModel.open({ connectionString: url, schema: newSchema(), projection: contractProjection, configFingerprint: 't', derived: [bad] }),
    ).rejects.toThrow(TypeError);
  });
});
