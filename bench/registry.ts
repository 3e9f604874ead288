/** The benchmarks, in the order `pnpm bench` runs them. Each module's default export is a `Benchmark`. */
import type { Benchmark } from './harness.ts';

type Module = Promise<{ default: Benchmark }>;

export const BENCHMARKS = {
  fsync: (): Module => import('./fsync.ts'),
  'append-command': (): Module => import('./appendCommand.ts'),
  'ingest-http': (): Module => import('./ingestHttp.ts'),
  rebuild: (): Module => import('./rebuild.ts'),
  'citizen-query': (): Module => import('./citizenQuery.ts'),
  emmett: (): Module => import('./emmett.ts'),
} as const;

export type BenchmarkName = keyof typeof BENCHMARKS;

export const BENCHMARK_NAMES = Object.keys(BENCHMARKS) as BenchmarkName[];

export const isBenchmarkName = (name: string): name is BenchmarkName => Object.hasOwn(BENCHMARKS, name);
