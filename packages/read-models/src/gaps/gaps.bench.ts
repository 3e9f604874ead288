/**
 * Benchmark: open gaps for one unit at asOf, over a generated kommune (default 100 000 citizens).
 *
 *   npx tsx packages/read-models/src/gaps/gaps.bench.ts [--citizens 100000] [--dir /tmp/tracker-gaps-bench] [--rounds 300] [--rebuild]
 *
 * Builds the read models once (SqliteReadModel.applyBatch with the gaps derivation, exactly what the
 * projector does, in batches of ~2 000 events) into `--dir`, reused by later runs with the same
 * options; then times the gaps queries the way the API asks them (count + first page of 50), every
 * unit in turn, and prints p50/p95/p99/max. Target (issue 4): open gaps for one unit p99 ≤ 20 ms.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_UNITS_FILE, GAP_KINDS, WorkingDayCalendar, loadUnitsFile, type StoredEvent } from '@tracker/domain';
import { generateCitizens } from '@tracker/generator';
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import type { GapFilter } from './gapQueries.ts';
import { gapsDerivation } from './gapsDerivation.ts';
import { SqliteGapQueries } from './sqliteGapQueries.ts';
import { ALL_UNITS } from '@tracker/security';

/** Results go to stdout (the lint rule keeps console.log out of package sources). */
const print = (line: string): void => void process.stdout.write(`${line}\n`);

const { values } = parseArgs({
  options: {
    citizens: { type: 'string', default: '100000' },
    dir: { type: 'string', default: '/tmp/tracker-gaps-bench' },
    rounds: { type: 'string', default: '300' },
    seed: { type: 'string', default: '7' },
    rebuild: { type: 'boolean', default: false },
  },
});
const citizens = Number(values.citizens);
const rounds = Number(values.rounds);
const seed = Number(values.seed);
const NOW = new Date('2026-06-01T12:00:00+02:00');
const units = loadUnitsFile(DEMO_UNITS_FILE);
const hverdage = new WorkingDayCalendar();
const policies = { handoverAcceptanceDue: (ms: number) => hverdage.addWorkingDays(ms, 10), relativeAnswerDue: (ms: number) => hverdage.addWorkingDays(ms, 10) };

mkdirSync(values.dir, { recursive: true });
const file = join(values.dir, `read-models-${seed}-${citizens}.sqlite`);
const fresh = values.rebuild || !existsSync(file);
if (fresh) for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });

const readModel = new SqliteReadModel({
  file,
  projection: { units, handoverAcceptanceDue: policies.handoverAcceptanceDue },
  configFingerprint: 'gaps-bench',
  derived: [gapsDerivation({ units, ...policies })],
});

if (fresh) {
  print(`building read models for ${citizens} generated citizens (seed ${seed}) in ${file} …`);
  const started = performance.now();
  const recordedAt = NOW.toISOString();
  let position = 0;
  let events = 0;
  let batch: StoredEvent[] = [];
  for (const citizen of generateCitizens({ seed, citizens, units, now: NOW })) {
    citizen.events.forEach((e, streamVersion) => batch.push({ ...e, recordedAt, streamVersion, globalPosition: ++position } as StoredEvent));
    if (batch.length >= 2_000) {
      readModel.applyBatch(batch);
      events += batch.length;
      batch = [];
    }
  }
  readModel.applyBatch(batch);
  events += batch.length;
  const seconds = (performance.now() - started) / 1000;
  print(`built: ${events} events in ${seconds.toFixed(1)} s (${Math.round(events / seconds)} events/s, gaps derived per touched citizen)`);
}

const db = readModel.database;
const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
print(`rows: gaps ${count('SELECT count(*) AS n FROM gaps')} (${count('SELECT count(*) AS n FROM gaps WHERE is_primary = 1')} gaps), anomalies ${count('SELECT count(*) AS n FROM citizen_anomalies')}, relatives facts ${count('SELECT count(*) AS n FROM citizen_relatives')}`);

const queries = new SqliteGapQueries(db);
const asOfNow = NOW.getTime();
const asOfYearAgo = asOfNow - 365 * 86_400_000;

interface Stats {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  n: number;
}
const stats = (samples: number[]): Stats => {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99), max: s.at(-1)!, n: s.length };
};

async function time(name: string, filters: GapFilter[]): Promise<void> {
  // Warm up once per filter (statement preparation, page cache), then measure `rounds` passes.
  for (const f of filters) await queries.gaps(f, { first: 50, offset: 0 }, ALL_UNITS);
  const samples: number[] = [];
  let maxTotal = 0;
  for (let r = 0; r < rounds; r++) {
    for (const f of filters) {
      const t0 = performance.now();
      const page = await queries.gaps(f, { first: 50, offset: 0 }, ALL_UNITS);
      samples.push(performance.now() - t0);
      maxTotal = Math.max(maxTotal, page.totalCount);
    }
  }
  const s = stats(samples);
  print(
    `${name.padEnd(52)} p50 ${s.p50.toFixed(2).padStart(6)} ms  p95 ${s.p95.toFixed(2).padStart(6)} ms  p99 ${s.p99.toFixed(2).padStart(6)} ms  max ${s.max.toFixed(2).padStart(6)} ms  (${s.n} queries, up to ${maxTotal} matches)`,
  );
}

const unitIds = units.units.map((u) => u.id);
print(`\nqueries: count + first page of 50, ${rounds} rounds over ${unitIds.length} units`);
await time('open gaps for one unit, asOf now', unitIds.map((unitId) => ({ unitId, open: true, asOf: asOfNow })));
await time('open overdue gaps for one unit, asOf now', unitIds.map((unitId) => ({ unitId, open: true, overdue: true, asOf: asOfNow })));
await time('open gaps of one kind for one unit, asOf now', unitIds.flatMap((unitId) => GAP_KINDS.map((kind) => ({ unitId, kind, open: true, asOf: asOfNow }))));
await time('open gaps for one unit, asOf a year ago', unitIds.map((unitId) => ({ unitId, open: true, asOf: asOfYearAgo })));
await time('open gaps, all units, asOf now', [{ open: true, asOf: asOfNow }]);

const ids = Array.from({ length: 1000 }, (_, i) => `c-gen-${String(Math.floor((i * citizens) / 1000)).padStart(6, '0')}`);
const citizenSamples: number[] = [];
for (const id of ids) {
  const t0 = performance.now();
  await queries.citizenGaps(id, asOfNow, {}, ALL_UNITS);
  await queries.relatives(id, asOfNow, ALL_UNITS);
  await queries.anomalies(id, asOfNow, ALL_UNITS);
  citizenSamples.push(performance.now() - t0);
}
const c = stats(citizenSamples);
print(`${"one citizen's gaps + relatives + anomalies".padEnd(52)} p50 ${c.p50.toFixed(2).padStart(6)} ms  p95 ${c.p95.toFixed(2).padStart(6)} ms  p99 ${c.p99.toFixed(2).padStart(6)} ms  max ${c.max.toFixed(2).padStart(6)} ms  (${c.n} citizens)`);

const t0 = performance.now();
const counts = await queries.anomalyCounts(asOfNow, { scope: ALL_UNITS });
print(`${'anomalyCounts(now)'.padEnd(52)} ${(performance.now() - t0).toFixed(2)} ms (${counts.length} cells)`);
readModel.close();
