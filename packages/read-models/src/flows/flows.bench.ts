/**
 * A year's flows over 100k generated citizens (issue 4: target ≤ 200 ms), on the embedded read models.
 *
 *   npx tsx packages/read-models/src/flows/flows.bench.ts [citizens=100000] [--rebuild]
 *
 * The population is built once (projection + flow derivation, a few minutes) and kept in the temp
 * folder; later runs only measure. Each query is run warm, 30 times; the report gives p50, p95, max.
 */
import { sqliteFlowQueries } from './sqliteFlowSource.ts';
import { BENCH_NOW, benchPopulation } from './benchPopulation.ts';
import type { FlowPeriod } from './flowQueries.ts';
import { ALL_UNITS } from '@tracker/security';

const citizens = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 100_000);
const population = benchPopulation({ citizens, rebuild: process.argv.includes('--rebuild') });
const out = (line: string) => process.stdout.write(`${line}\n`);
out(`population: ${population.citizens} citizens, ${population.events} events (${population.file})`);
if (population.buildSeconds !== null) out(`built in ${population.buildSeconds.toFixed(1)} s (projection and flow derivation)`);

const flows = sqliteFlowQueries(population.model, { units: population.units });
const year: FlowPeriod = { fromMs: Date.parse('2025-01-01T00:00:00+01:00'), toMs: Date.parse('2026-01-01T00:00:00+01:00') };
if (year.toMs > BENCH_NOW.getTime()) throw new Error('the bench period must have ended');

const handovers = population.model.database
  .prepare<[number, number], { n: number }>('SELECT count(*) AS n FROM flow_handovers WHERE initiated_ms >= ? AND initiated_ms < ?')
  .get(year.fromMs, year.toMs)!.n;
out(`handovers initiated in 2025: ${handovers}`);

async function measure(name: string, run: () => Promise<unknown[]>): Promise<void> {
  for (let i = 0; i < 3; i++) await run();
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < 30; i++) {
    const started = performance.now();
    rows = (await run()).length;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (p: number) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)]!.toFixed(1);
  out(`${name.padEnd(34)} rows ${String(rows).padStart(4)}  p50 ${at(0.5)} ms  p95 ${at(0.95)} ms  max ${at(1)} ms`);
}

await measure('flows(2025) unit → unit', () => flows.flows(year, ALL_UNITS));
await measure('flowsBySector(2025)', () => flows.flowsBySector(year, ALL_UNITS));
await measure('flowCohorts(2025)', () => flows.flowCohorts(year, {}, ALL_UNITS));
await measure('flowCohorts(2025, toSector: adult)', () => flows.flowCohorts(year, { toSector: 'adult' }, ALL_UNITS));
population.model.close();
