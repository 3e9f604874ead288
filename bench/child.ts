/**
 * Runs benchmarks in a process forked by run.ts and sends each result back over IPC as it completes.
 * A full run forks one process per benchmark, so each starts with a cold heap and no leftovers (open
 * databases, timers, JIT state) of another; `--quick` runs them all in one process to save start-ups.
 */
import type { BenchContext, BenchResult, Benchmark } from './harness.ts';
import { BENCHMARKS, type BenchmarkName } from './registry.ts';

const [names, contextJson] = process.argv.slice(2) as [string, string];
const context = JSON.parse(contextJson) as Omit<BenchContext, 'log'>;

const send = (result: BenchResult) => new Promise<void>((resolve) => process.send!(result, () => resolve()));

for (const name of names.split(',') as BenchmarkName[]) {
  const started = performance.now();
  const log = (message: string) => process.stderr.write(`[${name} +${((performance.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
  let result: BenchResult;
  try {
    const run: Benchmark = (await BENCHMARKS[name]()).default;
    const out = await run({ ...context, log });
    result = { name, ...out, wallMs: performance.now() - started };
  } catch (error) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`failed: ${text}`);
    result = { name, metrics: [], notes: [], wallMs: performance.now() - started, error: text };
  }
  await send(result);
}
process.exit(0);
