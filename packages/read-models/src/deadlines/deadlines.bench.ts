/**
 * Deadline benchmark (issue 3): every clock of N generated citizens evaluated as of one instant
 * (target ≤ 1 s for 100 000 citizens on 2 cores), and the at-risk worklist of one unit (p99 ≤ 20 ms).
 *
 *   npx tsx packages/read-models/src/deadlines/deadlines.bench.ts [citizens=100000] [--json]
 *
 * Steps, each timed:
 * 1. generate the citizens' histories (@tracker/generator, demo kommune, deterministic);
 * 2. derive their clocks (clocksOf: what the projector does per touched citizen);
 * 3. store the rows in a read-model database on disk (SqliteReadModel's tables and indexes);
 * 4. evaluate every clock as of one instant — in SQL (status per row, counted), and in memory;
 * 5. the at-risk worklist of each unit at many instants, and a few other queries: latency percentiles.
 *
 * `runDeadlineBenchmark` returns the numbers, so `pnpm bench` can run it through a thin adapter.
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEMO_UNITS_FILE, loadUnitsFile } from '@tracker/domain';
import { generateCitizens } from '@tracker/generator';
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import { clockRow, DEADLINE_CLOCKS_TABLE, deadlineClocksTable, deadlineDerivation } from './deadlineDerivation.ts';
import { clocksOf, DEADLINE_STATUSES, deadlineStatusAt, loadPolicies, type DeadlineStatus } from '@tracker/domain';
import { SqliteDeadlineQueries } from './sqliteDeadlineQueries.ts';
import { ALL_UNITS } from '@tracker/security';

export interface DeadlineBenchOptions {
  citizens: number;
  seed?: number;
  /** The instant everything is evaluated at (and the generator's now). */
  now?: Date;
  /** Worklist queries per unit. */
  worklistRuns?: number;
  log?: (line: string) => void;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface DeadlineBenchResult {
  citizens: number;
  events: number;
  clocks: number;
  ms: {
    generate: number;
    derive: number;
    store: number;
    /** Every clock's status at one instant, in SQL over the stored rows (the read model's way). */
    evaluateSql: number;
    /** The same in memory over derived clocks. */
    evaluateMemory: number;
    /** Derive and evaluate from the histories, as one pass. */
    deriveAndEvaluate: number;
  };
  statusCounts: Record<DeadlineStatus, number>;
  /** atRiskDeadlines(unitId, asOf, first: 50) over every unit and several instants, in ms. */
  worklist: LatencySummary;
  /** deadlines(unitId, status: AT_RISK, first: 50) and deadlineCompliance(unitId, one year), in ms. */
  deadlinesPage: LatencySummary;
  compliance: LatencySummary;
}

const summarize = (values: number[]): LatencySummary => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN };
};

const time = <T>(fn: () => T): { ms: number; value: T } => {
  const start = performance.now();
  const value = fn();
  return { ms: performance.now() - start, value };
};

export function runDeadlineBenchmark({ citizens, seed = 20_251, now = new Date('2026-06-01T12:00:00+02:00'), worklistRuns = 200, log = () => {} }: DeadlineBenchOptions): DeadlineBenchResult {
  const units = loadUnitsFile(DEMO_UNITS_FILE);
  const policies = loadPolicies(undefined);
  const asOf = now.getTime();

  log(`generating ${citizens} citizens …`);
  const generated = time(() => [...generateCitizens({ seed, citizens, units, now })]);
  const histories = generated.value.map((c) => c.events.map((e, i) => ({ ...e, globalPosition: i + 1 })));
  const events = histories.reduce((n, h) => n + h.length, 0);

  log(`deriving clocks from ${events} events …`);
  const derived = time(() => histories.map((h) => clocksOf(h, policies, units)));
  const clocks = derived.value.flat();

  // Every clock at one instant, in memory: visibility and status.
  const evaluateMemory = time(() => {
    const counts = { PENDING: 0, AT_RISK: 0, MET: 0, BREACHED: 0 };
    for (const c of clocks) if (c.visibleFrom <= asOf && (c.visibleUntil === null || asOf < c.visibleUntil)) counts[deadlineStatusAt(c, asOf)]++;
    return counts;
  });
  const deriveAndEvaluate = time(() => {
    let n = 0;
    for (const h of histories) for (const c of clocksOf(h, policies, units)) if (c.visibleFrom <= asOf && (c.visibleUntil === null || asOf < c.visibleUntil) && deadlineStatusAt(c, asOf)) n++;
    return n;
  });

  const dir = mkdtempSync(join(tmpdir(), 'deadline-bench-'));
  try {
    const readModel = new SqliteReadModel({
      file: join(dir, 'read-models.sqlite'),
      projection: { units, handoverAcceptanceDue: (ms) => policies.calendar.addWorkingDays(ms, 10) },
      configFingerprint: 'bench',
      derived: [deadlineDerivation({ policies, units })],
    });
    const db = readModel.database;
    log(`storing ${clocks.length} clock rows …`);
    const columns = Object.keys(deadlineClocksTable.columns);
    const insert = db.prepare(`INSERT INTO ${DEADLINE_CLOCKS_TABLE} (citizen_id, ${columns.join(', ')}) VALUES (?, ${columns.map(() => '?').join(', ')})`);
    const stored = time(() =>
      db.transaction(() => {
        for (const c of clocks) {
          const row = clockRow(c);
          insert.run(c.citizenId, ...columns.map((k) => row[k] ?? null));
        }
      })(),
    );
    db.exec('ANALYZE');
    const queries = new SqliteDeadlineQueries(db, policies);

    queries.statusCounts(asOf); // warm the page cache once, as a running server would be
    const evaluateSql = time(() => queries.statusCounts(asOf));

    log('querying …');
    const unitIds = units.units.map((u) => u.id);
    const instants = Array.from({ length: 10 }, (_, i) => asOf - i * 37 * 86_400_000);
    const worklist: number[] = [];
    const page: number[] = [];
    const compliance: number[] = [];
    for (let run = 0; run < worklistRuns; run++) {
      const at = instants[run % instants.length]!;
      for (const unitId of unitIds) {
        worklist.push(time(() => queries.atRiskSync(unitId, at, 50, ALL_UNITS)).ms);
        if (run % 10 === 0) page.push(time(() => queries.deadlinesSync({ asOf: at, unitId, status: 'AT_RISK' }, { first: 50 }, ALL_UNITS)).ms);
        if (run % 20 === 0) compliance.push(time(() => queries.complianceSync({ unitId, fromMonth: '2025-06', toMonth: '2026-05', asOf: at }, ALL_UNITS)).ms);
      }
    }
    readModel.close();
    const counts = evaluateSql.value;
    for (const s of DEADLINE_STATUSES) if (counts[s] !== evaluateMemory.value[s]) throw new Error(`SQL and memory disagree on ${s}`);
    return {
      citizens,
      events,
      clocks: clocks.length,
      ms: {
        generate: generated.ms,
        derive: derived.ms,
        store: stored.ms,
        evaluateSql: evaluateSql.ms,
        evaluateMemory: evaluateMemory.ms,
        deriveAndEvaluate: deriveAndEvaluate.ms,
      },
      statusCounts: counts,
      worklist: summarize(worklist),
      deadlinesPage: summarize(page),
      compliance: summarize(compliance),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isMain) {
  const citizens = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 100_000);
  const result = runDeadlineBenchmark({ citizens, log: (line) => process.stderr.write(`${line}\n`) });
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
        `evaluate all (SQL)  ${f(result.ms.evaluateSql)} ms   target ≤ 1000 ms`,
        `evaluate all (mem)  ${f(result.ms.evaluateMemory)} ms`,
        `derive + evaluate   ${f(result.ms.deriveAndEvaluate)} ms`,
        `statuses            ${JSON.stringify(result.statusCounts)}`,
        `at-risk worklist    ${l(result.worklist)}   target p99 ≤ 20 ms`,
        `deadlines page      ${l(result.deadlinesPage)}`,
        `compliance (1 year) ${l(result.compliance)}`,
        '',
      ].join('\n'),
    );
  }
}
