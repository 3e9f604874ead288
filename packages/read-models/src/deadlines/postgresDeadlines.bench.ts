/**
 * Deadline benchmark on PostgreSQL (distributed mode), the counterpart of deadlines.bench.ts: every
 * clock of N generated citizens evaluated as of one instant in SQL, and the at-risk worklist of every
 * unit at many instants (targets as on SQLite: ≤ 1 s for all clocks, worklist p99 ≤ 20 ms).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
 *     npx tsx packages/read-models/src/deadlines/postgresDeadlines.bench.ts [citizens=30000] [--json]
 *
 * Steps: generate the histories (deterministic), derive the clocks (clocksOf), store them in a fresh
 * schema made by PostgresReadModel (its tables and indexes) with bulk inserts — and the citizens'
 * units, for the scoped queries — ANALYZE, then time PostgresDeadlineQueries through a pool, as the
 * api service would call it: statusCounts (all clocks, several runs), atRisk per unit and instant with
 * all units and with one unit's scope, a deadlines page and a year of compliance. The schema is dropped.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { clocksOf, DEADLINE_STATUSES, deadlineStatusAt, DEMO_UNITS_FILE, loadPolicies, loadUnitsFile, unitIdsOf, type DeadlineStatus } from '@tracker/domain';
import { dropSchema, freshSchemaName } from '@tracker/event-store/testing';
import { generateCitizens } from '@tracker/generator';
import { ALL_UNITS, type DataScope } from '@tracker/security';
import { PostgresReadModel } from '../postgres/postgresReadModel.ts';
import { clockRow, DEADLINE_CLOCKS_TABLE, deadlineClocksTable, deadlineDerivation } from './deadlineDerivation.ts';
import type { LatencySummary } from './deadlines.bench.ts';
import { PostgresDeadlineQueries } from './postgresDeadlineQueries.ts';

export interface PostgresDeadlineBenchOptions {
  url: string;
  citizens: number;
  seed?: number;
  now?: Date;
  /** Worklist rounds (each: every unit at one of ten instants). */
  worklistRuns?: number;
  log?: (line: string) => void;
}

export interface PostgresDeadlineBenchResult {
  citizens: number;
  events: number;
  clocks: number;
  ms: { generate: number; derive: number; store: number };
  /** Every clock's status at one instant, in SQL (statusCounts), after one warm-up run. */
  evaluateSql: LatencySummary;
  statusCounts: Record<DeadlineStatus, number>;
  /** atRisk(unitId, asOf, first: 50) over every unit and ten instants, all units in scope. */
  worklist: LatencySummary;
  /** The same with a coordinator's scope of that one unit (the citizen scope subquery). */
  worklistScoped: LatencySummary;
  /** deadlines(unitId, status: AT_RISK, first: 50). */
  deadlinesPage: LatencySummary;
  /** compliance(unitId, one year). */
  compliance: LatencySummary;
}

const summarize = (values: number[]): LatencySummary => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN };
};

async function time<T>(fn: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

export async function runPostgresDeadlineBenchmark({
  url,
  citizens,
  seed = 20_251,
  now = new Date('2026-06-01T12:00:00+02:00'),
  worklistRuns = 40,
  log = () => {},
}: PostgresDeadlineBenchOptions): Promise<PostgresDeadlineBenchResult> {
  const units = loadUnitsFile(DEMO_UNITS_FILE);
  const policies = loadPolicies(undefined);
  const asOf = now.getTime();

  log(`generating ${citizens} citizens …`);
  const generated = await time(() => [...generateCitizens({ seed, citizens, units, now })]);
  const histories = generated.value.map((c) => c.events.map((e, i) => ({ ...e, globalPosition: i + 1 })));
  const events = histories.reduce((n, h) => n + h.length, 0);
  log(`deriving clocks from ${events} events …`);
  const derived = await time(() => histories.map((h) => clocksOf(h, policies, units)));
  const clocks = derived.value.flat();
  const involvement = [...new Set(histories.flatMap((h) => h.flatMap((e) => unitIdsOf(e).map((u) => `${e.citizenId}\u0000${u}`))))].map((k) => k.split('\u0000') as [string, string]);

  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => {});
  const schema = freshSchemaName();
  try {
    const readModel = await PostgresReadModel.open({
      pool,
      schema,
      projection: { units, handoverAcceptanceDue: (ms) => policies.calendar.addWorkingDays(ms, 10) },
      configFingerprint: 'bench',
      derived: [deadlineDerivation({ policies, units })],
    });
    log(`storing ${clocks.length} clock rows …`);
    const columns = Object.entries(deadlineClocksTable.columns);
    const casts = columns.map(([, type], i) => `$${i + 2}::${type === 'text' ? 'text' : 'bigint'}[]`);
    const stored = await time(async () => {
      for (let i = 0; i < clocks.length; i += 20_000) {
        const chunk = clocks.slice(i, i + 20_000);
        const rows = chunk.map(clockRow);
        await pool.query(
          `INSERT INTO "${schema}".${DEADLINE_CLOCKS_TABLE} (citizen_id, ${columns.map(([name]) => name).join(', ')}) SELECT * FROM unnest($1::text[], ${casts.join(', ')})`,
          [chunk.map((c) => c.citizenId), ...columns.map(([name]) => rows.map((r) => r[name] ?? null))],
        );
      }
      for (let i = 0; i < involvement.length; i += 50_000) {
        const chunk = involvement.slice(i, i + 50_000);
        await pool.query(`INSERT INTO "${schema}".citizen_units (citizen_id, unit_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, [
          chunk.map(([c]) => c),
          chunk.map(([, u]) => u),
        ]);
      }
    });
    await pool.query(`ANALYZE "${schema}".${DEADLINE_CLOCKS_TABLE}`);
    await pool.query(`ANALYZE "${schema}".citizen_units`);
    const queries = new PostgresDeadlineQueries(readModel, policies);

    log('evaluating every clock …');
    const statusCounts = await queries.statusCounts(asOf); // warm the buffer cache once, as a running server would be
    const evaluate: number[] = [];
    for (let i = 0; i < 5; i++) evaluate.push((await time(() => queries.statusCounts(asOf))).ms);
    const inMemory = { PENDING: 0, AT_RISK: 0, MET: 0, BREACHED: 0 };
    for (const c of clocks) if (c.visibleFrom <= asOf && (c.visibleUntil === null || asOf < c.visibleUntil)) inMemory[deadlineStatusAt(c, asOf)]++;
    for (const s of DEADLINE_STATUSES) if (statusCounts[s] !== inMemory[s]) throw new Error(`SQL and memory disagree on ${s}`);

    log('querying …');
    const unitIds = units.units.map((u) => u.id);
    const instants = Array.from({ length: 10 }, (_, i) => asOf - i * 37 * 86_400_000);
    const worklist: number[] = [];
    const worklistScoped: number[] = [];
    const page: number[] = [];
    const compliance: number[] = [];
    for (let run = 0; run < worklistRuns; run++) {
      const at = instants[run % instants.length]!;
      for (const unitId of unitIds) {
        const scope: DataScope = { allUnits: false, units: [unitId] };
        worklist.push((await time(() => queries.atRisk(unitId, at, 50, ALL_UNITS))).ms);
        worklistScoped.push((await time(() => queries.atRisk(unitId, at, 50, scope))).ms);
        if (run % 4 === 0) page.push((await time(() => queries.deadlines({ asOf: at, unitId, status: 'AT_RISK' }, { first: 50 }, ALL_UNITS))).ms);
        if (run % 8 === 0) compliance.push((await time(() => queries.compliance({ unitId, fromMonth: '2025-06', toMonth: '2026-05', asOf: at }, ALL_UNITS))).ms);
      }
    }
    return {
      citizens,
      events,
      clocks: clocks.length,
      ms: { generate: generated.ms, derive: derived.ms, store: stored.ms },
      evaluateSql: summarize(evaluate),
      statusCounts,
      worklist: summarize(worklist),
      worklistScoped: summarize(worklistScoped),
      deadlinesPage: summarize(page),
      compliance: summarize(compliance),
    };
  } finally {
    await pool.end();
    await dropSchema(url, schema);
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isMain) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('DATABASE_URL must name the PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/test\n');
    process.exit(2);
  }
  const citizens = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 30_000);
  const result = await runPostgresDeadlineBenchmark({ url, citizens, log: (line) => process.stderr.write(`${line}\n`) });
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const f = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
    const l = (s: LatencySummary) => `p50 ${f(s.p50)} ms, p90 ${f(s.p90)} ms, p99 ${f(s.p99)} ms, max ${f(s.max)} ms (n=${s.n})`;
    process.stdout.write(
      [
        `citizens ${result.citizens}, events ${result.events}, clocks ${result.clocks}`,
        `generate            ${f(result.ms.generate)} ms`,
        `derive clocks       ${f(result.ms.derive)} ms`,
        `store rows          ${f(result.ms.store)} ms`,
        `evaluate all (SQL)  ${l(result.evaluateSql)}   target ≤ 1000 ms`,
        `statuses            ${JSON.stringify(result.statusCounts)}`,
        `at-risk worklist    ${l(result.worklist)}   target p99 ≤ 20 ms`,
        `  scoped to unit    ${l(result.worklistScoped)}`,
        `deadlines page      ${l(result.deadlinesPage)}`,
        `compliance (1 year) ${l(result.compliance)}`,
        '',
      ].join('\n'),
    );
  }
}
