/**
 * The deadline queries on PostgreSQL against a real server (DATABASE_URL, else testcontainers, else
 * skipped with the reason): the deadline query contract SQLite passes, the test beds in fresh schemas
 * dropped afterwards; then the same answers as SQLite, query by query, for the same events; and what
 * only this adapter has to refuse.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { DEADLINE_STATUSES, loadPolicies } from '@tracker/domain';
import { generateCitizens } from '@tracker/generator';
import { ALL_UNITS, type DataScope } from '@tracker/security';
import type { DeadlineQueries } from './deadlineQueries.ts';
import { deadlineQueriesContract } from './deadlineQueriesContract.ts';
import { PostgresDeadlineQueries } from './postgresDeadlineQueries.ts';
import { CHILD, DAY, RECEPTION, YOUTH, deadlineTestbed, postgresDeadlineTestbeds, units, type DeadlineBed, type DeadlineTestbed, type PostgresDeadlineTestbed, type TestbedOptions } from './testing.ts';

const database = await testDatabase();
const { skipped } = database;
if (skipped !== undefined) reportSkipped('PostgresDeadlineQueries tests', skipped);
const url = database.url ?? '';
// One pool for the file's test beds; they work in fresh schemas, reused (emptied) from one bed to
// the next and dropped after all. Commits do not wait for the WAL flush: nothing here depends on
// durability, and the late-delivery property commits up to one batch per event (3x faster).
const pool = skipped === undefined ? new pg.Pool({ connectionString: url, max: 4, options: '-c synchronous_commit=off' }) : undefined;
pool?.on('error', () => {});
const beds = pool ? postgresDeadlineTestbeds({ url, pool }) : undefined;
const testbed = (options: TestbedOptions = {}) => beds!.testbed(options);

afterAll(async () => {
  if (skipped !== undefined) return;
  await beds?.dispose();
  await pool?.end();
  await database.stop();
});

(skipped === undefined ? describe : describe.skip)(`PostgresDeadlineQueries${skipped !== undefined ? ` (${skipped})` : ''}`, () => {
  deadlineQueriesContract('PostgreSQL', { testbed });

  describe('the same answers as SQLite', () => {
    let sqlite: DeadlineTestbed | undefined;
    let postgres: PostgresDeadlineTestbed | undefined;
    afterAll(async () => {
      await postgres?.close(); // before the store's owner closes it
      await sqlite?.close();
    });

    it('answers every query exactly as the SQLite adapter does, for the same events', async () => {
      const now = new Date('2026-06-01T12:00:00+02:00');
      const citizens = [...generateCitizens({ seed: 11, citizens: 120, units, now, maxAge: 22, anomalyRate: 0.2 })];
      sqlite = await deadlineTestbed({ now });
      postgres = await testbed({ now, store: sqlite.store });
      await sqlite.append(citizens.flatMap((c) => c.events));
      await postgres.projector.waitFor(await sqlite.store.headPosition());
      const beds: DeadlineBed[] = [sqlite, postgres];
      const both = async <T>(ask: (q: DeadlineQueries, bed: DeadlineBed) => Promise<T>) => {
        const [a, b] = (await Promise.all(beds.map((bed) => ask(bed.queries, bed)))) as [T, T];
        expect(b).toEqual(a);
        return a;
      };
      const unitIds = units.units.map((u) => u.id);
      const scopes: DataScope[] = [ALL_UNITS, { allUnits: false, units: [CHILD] }, { allUnits: false, units: [RECEPTION, YOUTH] }];
      let answered = 0;
      for (const asOf of [now.getTime() - 700 * DAY, now.getTime() - 45 * DAY, now.getTime() - 3 * DAY, now.getTime()]) {
        expect(await postgres.queries.statusCounts(asOf)).toEqual(sqlite.queries.statusCounts(asOf));
        for (const scope of scopes) {
          answered += (await both((q) => q.deadlines({ asOf }, { first: 10_000 }, scope))).totalCount;
          for (const status of DEADLINE_STATUSES) {
            const first = await both((q) => q.deadlines({ asOf, status }, { first: 3 }, scope));
            if (first.hasNextPage) await both((q) => q.deadlines({ asOf, status }, { first: 3, after: first.nodes.at(-1)!.key }, scope));
          }
          for (const unitId of unitIds) {
            answered += (await both((q) => q.atRisk(unitId, asOf, 50, scope))).length;
            await both((q) => q.deadlines({ asOf, unitId, policy: 'paarorende-svar' }, { first: 20 }, scope));
          }
          for (const c of citizens.slice(0, 20)) await both((q) => q.citizenDeadlines(c.citizenId, asOf, scope));
          for (const minCitizensPerCell of [1, 5]) {
            const view = await both((_, bed) => bed.queriesWith({ minCitizensPerCell }).compliance({ fromMonth: '2019-01', toMonth: '2026-12', asOf }, scope));
            answered += view.cells.length;
          }
        }
      }
      expect(answered).toBeGreaterThan(1000);
    });
  });

  describe('bad input', () => {
    let bed: PostgresDeadlineTestbed | undefined;
    afterAll(async () => bed?.close());

    it('refuses a schema that is not a plain identifier, before any SQL', () => {
      const query = async () => [];
      expect(() => new PostgresDeadlineQueries({ schema: 'x"; DROP TABLE y; --', query }, loadPolicies(undefined))).toThrow(/schema must be a lower-case SQL identifier/);
    });

    it('names the field when an instant or a page size is not an integer', async () => {
      bed = await testbed();
      const q = bed.queries;
      await expect(q.deadlines({ asOf: Number.NaN }, { first: 10 }, ALL_UNITS)).rejects.toThrow(/^asOf must be an integer instant/);
      await expect(q.deadlines({ asOf: 0 }, { first: -1 }, ALL_UNITS)).rejects.toThrow(/^first must be a non-negative integer/);
      await expect(q.deadlines({ asOf: 0 }, { first: 1, after: { dueMs: 1.5, citizenId: 'c', clockId: 'k' } }, ALL_UNITS)).rejects.toThrow(/^after\.dueMs must be an integer/);
      await expect(q.atRisk('u', 0.5, 10, ALL_UNITS)).rejects.toThrow(/^asOf must be an integer/);
      await expect(q.citizenDeadlines('c', Number.POSITIVE_INFINITY, ALL_UNITS)).rejects.toThrow(/^asOf must be an integer/);
      await expect(q.deadlines({ asOf: 0, status: 'LATE' as never }, { first: 1 }, ALL_UNITS)).rejects.toThrow(/unknown deadline status/);
      await expect(q.compliance({ fromMonth: '2025-13', toMonth: '2026-01', asOf: 0 }, ALL_UNITS)).rejects.toThrow(/month must be 'YYYY-MM'/);
    });
  });
});

