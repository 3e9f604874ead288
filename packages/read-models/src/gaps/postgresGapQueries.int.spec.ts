/**
 * The gaps read model on PostgreSQL (DATABASE_URL, else testcontainers, else skipped with the reason):
 * the adapter contract (gapQueriesContract.ts) on a PostgresReadModel in this file's own schema, once
 * as PostgresReadModel creates the tables and once with their text columns in a linguistic collation
 * (what a database whose default is not "C" gives them); then what only PostgreSQL shows — the same
 * answers as SQLite for generated histories delivered late, bound values, the plan of a unit's open gaps.
 */
import pg from 'pg';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { GAP_KINDS, ManualClock, instantMs, type StoredEvent } from '@tracker/domain';
import { SqliteEventStore } from '@tracker/event-store';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { deliverLate, generateCitizens } from '@tracker/generator';
import { ALL_UNITS, type DataScope } from '@tracker/security';
import { PostgresReadModel } from '../postgres/postgresReadModel.ts';
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import type { GapFilter, GapQueries } from './gapQueries.ts';
import { gapQueriesContract, gapReadModelOptions, type GapReadModelOptions, type GapQueriesUnderTest } from './gapQueriesContract.ts';
import { ANOMALIES_TABLE, GAPS_TABLE, RELATIVES_TABLE } from './gapsDerivation.ts';
import { PostgresGapQueries } from './postgresGapQueries.ts';
import { SqliteGapQueries } from './sqliteGapQueries.ts';

const database = await testDatabase();
if (database.skipped !== undefined) reportSkipped('PostgresGapQueries tests', database.skipped);
const url = database.url ?? '';
const schema = freshSchemaName();
const pool = database.skipped === undefined ? new pg.Pool({ connectionString: url, max: 4 }) : undefined;

afterAll(async () => {
  if (database.skipped !== undefined) return;
  await pool!.end();
  await dropSchema(url, schema);
  await database.stop();
});

/** A linguistic collation: orders 'c-a' before 'c-B' and '_' before letters, unlike "C". */
const LINGUISTIC = 'en-x-icu';
const linguistic =
  database.skipped === undefined &&
  (await pool!.query<{ n: string }>('SELECT count(*) AS n FROM pg_collation WHERE collname = $1', [LINGUISTIC])).rows[0]!.n !== '0';

/** The read model in this file's schema, emptied (reset drops and creates the tables again). */
async function emptyReadModel(options: GapReadModelOptions): Promise<PostgresReadModel> {
  const model = await PostgresReadModel.open({ pool: pool!, schema, ...options });
  await model.reset();
  return model;
}

const underTest = (model: PostgresReadModel): GapQueriesUnderTest => ({
  apply: (events) => model.applyBatch(events),
  queries: new PostgresGapQueries(model),
  close: () => model.close(),
});

const suite = database.skipped === undefined ? describe : describe.skip;

suite(`gaps read model on PostgreSQL${database.skipped !== undefined ? ` (${database.skipped})` : ''}`, () => {
  gapQueriesContract('PostgreSQL', async (options) => underTest(await emptyReadModel(options)));

  (linguistic ? describe : describe.skip)(`text columns in the ${LINGUISTIC} collation${linguistic ? '' : ' (not installed on this server)'}`, () => {
    gapQueriesContract(`PostgreSQL, text columns in ${LINGUISTIC}`, async (options) => {
      const model = await emptyReadModel(options);
      const columns = await model.query<{ table_name: string; column_name: string }>(
        `SELECT table_name, column_name FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = ANY($2::text[]) AND data_type = 'text' AND column_name <> 'citizen_id' ORDER BY table_name, ordinal_position`,
        [schema, [GAPS_TABLE, RELATIVES_TABLE, ANOMALIES_TABLE]],
      );
      for (const c of columns) await model.query(`ALTER TABLE "${schema}".${c.table_name} ALTER COLUMN ${c.column_name} TYPE text COLLATE "${LINGUISTIC}"`);
      return underTest(model);
    });
  });

  it('answers exactly as SQLite for generated histories delivered late, in any batching', async () => {
    const NOW = new Date('2026-06-01T12:00:00+02:00');
    const unitIds = gapReadModelOptions.projection.units.units.map((u) => u.id);
    const scopes: DataScope[] = [ALL_UNITS, { allUnits: false, units: ['0751-ungeenhed'] }, { allUnits: false, units: ['0751-jobcenter', '0751-bf-myndighed', '0751-voksen-handicap'] }];
    /** Everything the API can ask, for every citizen, at instants spread over the histories. */
    const answers = async (queries: GapQueries, ids: string[], instants: number[]) => {
      const out: unknown[] = [];
      for (const asOf of instants) {
        for (const scope of scopes) {
          const filters: GapFilter[] = [
            { asOf },
            { asOf, open: true },
            { asOf, open: false },
            { asOf, overdue: true },
            { asOf, open: true, overdue: false },
            ...GAP_KINDS.map((kind) => ({ asOf, kind })),
            ...unitIds.flatMap((unitId) => [{ asOf, unitId }, { asOf, unitId, open: true }]),
          ];
          for (const filter of filters) out.push(await queries.gaps(filter, { first: 10_000, offset: 0 }, scope), await queries.gaps(filter, { first: 2, offset: 1 }, scope));
          out.push(await queries.anomalyCounts(asOf, { scope }), await queries.anomalyCounts(asOf, { scope, sources: ['dubu', 'sbsys'], minCitizens: 2 }));
          for (const id of ids) {
            out.push(await queries.citizenGaps(id, asOf, {}, scope), await queries.citizenGaps(id, asOf, { open: true }, scope));
            out.push(await queries.relatives(id, asOf, scope), await queries.anomalies(id, asOf, scope));
          }
        }
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
          const citizens = [...generateCitizens({ seed: p.seed, citizens: p.citizens, units: gapReadModelOptions.projection.units, now: NOW, anomalyRate: p.anomalyRate })];
          const arrival = deliverLate(citizens, { seed: p.seed, lateShare: p.lateShare, maxDelaySteps: 30, duplicateShare: p.duplicateShare });
          const store = await SqliteEventStore.open({ file: ':memory:', clock: new ManualClock(NOW) });
          await store.appendBatch(arrival);
          const stored: StoredEvent[] = await store.readAll();
          await store.close();

          const sqlite = new SqliteReadModel({ file: ':memory:', ...gapReadModelOptions });
          const postgres = await emptyReadModel(gapReadModelOptions);
          try {
            for (let i = 0; i < stored.length; i += p.chunk) {
              sqlite.applyBatch(stored.slice(i, i + p.chunk));
              await postgres.applyBatch(stored.slice(i, i + p.chunk));
            }
            const times = [...new Set(stored.map((e) => instantMs(e.occurredAt)))].sort((a, b) => a - b);
            const instants = [times[0]! - 1, ...[0.5, 0.9].map((q) => times[Math.floor(q * (times.length - 1))]!), NOW.getTime()];
            const ids = citizens.map((c) => c.citizenId);
            expect(await answers(new PostgresGapQueries(postgres), ids, instants)).toEqual(await answers(new SqliteGapQueries(sqlite.database), ids, instants));
          } finally {
            sqlite.close();
            await postgres.close();
          }
        },
      ),
      { numRuns: 8 },
    );
  });

  it('binds every value: ids and scope units with quotes are data, not SQL', async () => {
    const model = await emptyReadModel(gapReadModelOptions);
    try {
      const queries = new PostgresGapQueries(model);
      const sneaky = "x' OR '1'='1";
      const asOf = Date.parse('2026-01-01T00:00:00Z');
      const scope: DataScope = { allUnits: false, units: [sneaky] };
      expect(await queries.gaps({ unitId: sneaky, asOf }, { first: 10, offset: 0 }, scope)).toEqual({ nodes: [], totalCount: 0, hasNextPage: false });
      expect(await queries.citizenGaps(sneaky, asOf, {}, scope)).toEqual([]);
      expect(await queries.relatives(sneaky, asOf, scope)).toEqual([]);
      expect(await queries.anomalies(sneaky, asOf, scope)).toEqual([]);
      expect(await queries.anomalyCounts(asOf, { scope, sources: [sneaky] })).toEqual([]);
    } finally {
      await model.close();
    }
  });

  it('refuses a schema name it would have to quote', () => {
    const query = async () => [];
    expect(() => new PostgresGapQueries({ schema: 'a"; DROP TABLE x; --', query })).toThrow(/^schema: /);
    expect(() => new PostgresGapQueries({ schema: 'Upper', query })).toThrow(TypeError);
  });

  it("a unit's open gaps are counted and paged through the unit index: unit, until and start are all index conditions", async () => {
    const model = await emptyReadModel(gapReadModelOptions);
    const client = await pool!.connect();
    try {
      const statements: { text: string; values: unknown[] }[] = [];
      const spy = new PostgresGapQueries({
        schema: model.schema,
        query: (text, values = []) => {
          statements.push({ text, values });
          return model.query(text, values);
        },
      });
      await spy.gaps({ unitId: '0751-voksen-handicap', open: true, asOf: Date.parse('2026-01-01T00:00:00Z') }, { first: 50, offset: 0 }, ALL_UNITS);
      const [{ text, values }] = statements as [{ text: string; values: unknown[] }];
      // The tables are empty, so the planner would scan them; forbid that to see what the indexes allow.
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      await client.query('SET LOCAL enable_bitmapscan = off');
      const plan = (await client.query<{ 'QUERY PLAN': string }>({ text: `EXPLAIN ${text}`, values })).rows.map((r) => r['QUERY PLAN']).join('\n');
      await client.query('ROLLBACK');
      const conditions = [...plan.matchAll(/Index (?:Only )?Scan using gaps_by_unit_id_until_ms\w* on gaps\w*.*\n\s*Index Cond: (.*)/g)].map((m) => m[1]);
      // The count (until_ms > asOf), the open-ended arm (until_ms = "never") and the arm ending after asOf.
      expect(conditions, plan).toHaveLength(3);
      for (const condition of conditions) expect(condition).toMatch(/^\(\(unit_id = .*\) AND \(until_ms [=>] .*\) AND \(started_ms <= .*\)\)$/);
      expect(conditions.filter((c) => /until_ms = '8640000000000000'/.test(c!))).toHaveLength(1);
      expect(plan).not.toMatch(/Filter: /); // nothing is read from the table to be thrown away
    } finally {
      client.release();
      await model.close();
    }
  });
});
