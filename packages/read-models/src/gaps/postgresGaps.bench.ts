/**
 * Benchmark: the gaps queries on PostgreSQL (distributed mode), over a generated kommune.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx packages/read-models/src/gaps/postgresGaps.bench.ts [--citizens 5000] [--rounds 50] [--keep]
 *
 * Builds the read models into a fresh schema (PostgresReadModel.applyBatch with the gaps derivation,
 * what the projector does, in batches of ~2 000 events), ANALYZEs them, then times the queries the
 * way the API asks them (count + first page of 50), every unit in turn, and prints p50/p95/p99/max
 * and the plan of one unit's open gaps. The schema is dropped afterwards unless --keep.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { DEMO_UNITS_FILE, WorkingDayCalendar, loadUnitsFile, type StoredEvent } from '@tracker/domain';
import { dropSchema, freshSchemaName } from '@tracker/event-store/testing';
import { generateCitizens } from '@tracker/generator';
import { ALL_UNITS, type DataScope } from '@tracker/security';
import { PostgresReadModel } from '../postgres/postgresReadModel.ts';
import type { GapFilter } from './gapQueries.ts';
import { gapsDerivation } from './gapsDerivation.ts';
import { PostgresGapQueries } from './postgresGapQueries.ts';

/** Results go to stdout (the lint rule keeps console.log out of package sources). */
const print = (line: string): void => void process.stdout.write(`${line}\n`);

const { values } = parseArgs({
  options: {
    citizens: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '50' },
    seed: { type: 'string', default: '7' },
    keep: { type: 'boolean', default: false },
  },
});
const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL: set it to the PostgreSQL server to benchmark on');
const citizens = Number(values.citizens);
const rounds = Number(values.rounds);
const seed = Number(values.seed);
const NOW = new Date('2026-06-01T12:00:00+02:00');
const units = loadUnitsFile(DEMO_UNITS_FILE);
const hverdage = new WorkingDayCalendar();
const policies = { handoverAcceptanceDue: (ms: number) => hverdage.addWorkingDays(ms, 10), relativeAnswerDue: (ms: number) => hverdage.addWorkingDays(ms, 10) };

const schema = freshSchemaName();
const pool = new pg.Pool({ connectionString: url, max: 4 });
const readModel = await PostgresReadModel.open({
  pool,
  schema,
  projection: { units, handoverAcceptanceDue: policies.handoverAcceptanceDue },
  configFingerprint: 'gaps-bench',
  derived: [gapsDerivation({ units, ...policies })],
});

try {
  print(`building read models for ${citizens} generated citizens (seed ${seed}) in schema ${schema} …`);
  const started = performance.now();
  const recordedAt = NOW.toISOString();
  let position = 0;
  let events = 0;
  let batch: StoredEvent[] = [];
  for (const citizen of generateCitizens({ seed, citizens, units, now: NOW })) {
    citizen.events.forEach((e, streamVersion) => batch.push({ ...e, recordedAt, streamVersion, globalPosition: ++position } as StoredEvent));
    if (batch.length >= 2_000) {
      await readModel.applyBatch(batch);
      events += batch.length;
      batch = [];
    }
  }
  await readModel.applyBatch(batch);
  events += batch.length;
  const seconds = (performance.now() - started) / 1000;
  print(`built: ${events} events in ${seconds.toFixed(1)} s (${Math.round(events / seconds)} events/s)`);
  await readModel.query(`ANALYZE "${schema}".gaps`);
  await readModel.query(`ANALYZE "${schema}".citizen_anomalies`);
  await readModel.query(`ANALYZE "${schema}".citizen_relatives`);
  await readModel.query(`ANALYZE "${schema}".citizen_units`);

  const count = async (sql: string) => (await readModel.query<{ n: number }>(sql))[0]!.n;
  print(
    `rows: gaps ${await count(`SELECT count(*) AS n FROM "${schema}".gaps`)} (${await count(`SELECT count(*) AS n FROM "${schema}".gaps WHERE is_primary = 1`)} gaps), anomalies ${await count(`SELECT count(*) AS n FROM "${schema}".citizen_anomalies`)}`,
  );

  const statements: { text: string; values: unknown[] }[] = [];
  const queries = new PostgresGapQueries({
    schema,
    query: (text, values = []) => {
      statements.push({ text, values });
      return readModel.query(text, values);
    },
  });
  const asOfNow = NOW.getTime();
  const asOfYearAgo = asOfNow - 365 * 86_400_000;

  const stats = (samples: number[]) => {
    const s = [...samples].sort((a, b) => a - b);
    const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
    return { p50: q(0.5), p95: q(0.95), p99: q(0.99), max: s.at(-1)!, n: s.length };
  };
  const report = (name: string, samples: number[], extra: string) => {
    const s = stats(samples);
    print(
      `${name.padEnd(52)} p50 ${s.p50.toFixed(2).padStart(6)} ms  p95 ${s.p95.toFixed(2).padStart(6)} ms  p99 ${s.p99.toFixed(2).padStart(6)} ms  max ${s.max.toFixed(2).padStart(6)} ms  (${s.n} ${extra})`,
    );
  };

  const time = async (name: string, filters: GapFilter[], scope: DataScope = ALL_UNITS) => {
    for (const f of filters) await queries.gaps(f, { first: 50, offset: 0 }, scope); // warm-up
    const samples: number[] = [];
    let maxTotal = 0;
    for (let r = 0; r < rounds; r++) {
      for (const f of filters) {
        const t0 = performance.now();
        const page = await queries.gaps(f, { first: 50, offset: 0 }, scope);
        samples.push(performance.now() - t0);
        maxTotal = Math.max(maxTotal, page.totalCount);
      }
    }
    report(name, samples, `queries, up to ${maxTotal} matches`);
  };

  const unitIds = units.units.map((u) => u.id);
  print(`\nqueries: count + first page of 50, ${rounds} rounds over ${unitIds.length} units`);
  await time('open gaps for one unit, asOf now', unitIds.map((unitId) => ({ unitId, open: true, asOf: asOfNow })));
  await time('open overdue gaps for one unit, asOf now', unitIds.map((unitId) => ({ unitId, open: true, overdue: true, asOf: asOfNow })));
  await time('open gaps for one unit, asOf a year ago', unitIds.map((unitId) => ({ unitId, open: true, asOf: asOfYearAgo })));
  await time('open gaps, all units, asOf now', [{ open: true, asOf: asOfNow }]);
  const twoUnits: DataScope = { allUnits: false, units: ['0751-jobcenter', '0751-voksen-handicap'] };
  await time('open gaps for one unit, scope of two units', unitIds.map((unitId) => ({ unitId, open: true, asOf: asOfNow })), twoUnits);

  const ids = Array.from({ length: Math.min(500, citizens) }, (_, i) => `c-gen-${String(Math.floor((i * citizens) / Math.min(500, citizens))).padStart(6, '0')}`);
  const citizenSamples: number[] = [];
  for (const id of ids) {
    const t0 = performance.now();
    await queries.citizenGaps(id, asOfNow, {}, ALL_UNITS);
    await queries.relatives(id, asOfNow, ALL_UNITS);
    await queries.anomalies(id, asOfNow, ALL_UNITS);
    citizenSamples.push(performance.now() - t0);
  }
  report("one citizen's gaps + relatives + anomalies", citizenSamples, 'citizens');

  // The plan of the busiest unit's open gaps, as the server ran it.
  statements.length = 0;
  await queries.gaps({ unitId: '0751-jobcenter', open: true, asOf: asOfNow }, { first: 50, offset: 0 }, ALL_UNITS);
  const { text, values: planValues } = statements[0]!;
  const plan = await readModel.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${text}`, planValues);
  print(`\nplan of the open gaps of 0751-jobcenter:\n${plan.map((r) => r['QUERY PLAN']).join('\n')}`);
} finally {
  await readModel.close();
  await pool.end();
  if (!values.keep) await dropSchema(url, schema);
}
