/**
 * The small shared harness of `pnpm bench`: the result shape, percentiles, the machine description,
 * temp folders on the real disk, a duration-bounded concurrent-writer loop and the table printer.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = resolve(BENCH_DIR, '..');

// ------------------------------------------------------------------ result shape

export interface Summary {
  n: number;
  min: number;
  p10: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface Target {
  cmp: '>=' | '<=';
  value: number;
  /** Which number of the metric the target applies to (default: `value`). */
  on?: 'value' | 'p99' | 'p50';
}

export interface Metric {
  /** What was measured, e.g. "command path, 64 writers". */
  case: string;
  /** The headline number (a throughput or a latency), in `unit`. */
  value: number;
  unit: string;
  /** A distribution behind the headline: per-request latencies or per-window rates. */
  dist?: Summary;
  /** What `dist` holds, e.g. "latency ms" or "window events/s". */
  distLabel?: string;
  target?: Target;
  /** Secondary numbers (commits, group sizes, split of time, …). */
  extra?: Record<string, number | string>;
}

export interface BenchResult {
  name: string;
  metrics: Metric[];
  notes: string[];
  wallMs: number;
  /** Set when a benchmark failed; the others still run. */
  error?: string;
}

export interface BenchContext {
  quick: boolean;
  /** Population of the rebuild and citizen-query benchmarks. */
  citizens: number;
  /** Folder for this run's temp files on the real disk (removed by run.ts at the end). */
  runDir: string;
  /** Progress lines go to stderr, so stdout carries only results. */
  log(message: string): void;
}

export type Benchmark = (context: BenchContext) => Promise<Omit<BenchResult, 'name' | 'wallMs'>>;

export function met(metric: Metric): boolean | undefined {
  const t = metric.target;
  if (!t) return undefined;
  const on = t.on ?? 'value';
  const actual = on === 'value' ? metric.value : metric.dist?.[on];
  if (actual === undefined) return undefined;
  return t.cmp === '>=' ? actual >= t.value : actual <= t.value;
}

// ------------------------------------------------------------------ statistics

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p10: percentile(sorted, 10),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

export const now = (): number => performance.now();

/** Times an async function once, in ms. */
export async function time<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = now();
  const value = await fn();
  return { ms: now() - t0, value };
}

export const rate = (count: number, ms: number): number => (ms > 0 ? (count * 1000) / ms : 0);

// ------------------------------------------------------------------ concurrent writers

export interface WriterLoopOptions {
  writers: number;
  warmupMs: number;
  measureMs: number;
  /** Width of a throughput window (the distribution of rates); default 250 ms. */
  windowMs?: number;
  /** One operation of writer `w` (its `i`-th); resolves with the number of events it stored. */
  op(writer: number, i: number): Promise<number>;
  /** After the measured interval, stop waiting for operations still in flight after this long. */
  drainTimeoutMs?: number;
}

export interface WriterLoopResult {
  events: number;
  ops: number;
  elapsedMs: number;
  eventsPerSecond: number;
  latencyMs: Summary;
  windowRates: Summary;
  errors: Record<string, number>;
  /** Operations still in flight when the drain timeout gave up on them. */
  abandoned: number;
}

/**
 * Runs `writers` concurrent loops of `op`: `warmupMs` unmeasured, then `measureMs` measured. Only
 * operations that complete inside the measured interval count; latency is per operation.
 */
export async function runWriters({ writers, warmupMs, measureMs, windowMs = 250, op, drainTimeoutMs }: WriterLoopOptions): Promise<WriterLoopResult> {
  let measuring = false;
  let stopped = false;
  let events = 0;
  let ops = 0;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const windows: number[] = [];

  let inFlight = 0;
  const loop = async (w: number) => {
    for (let i = 0; !stopped; i++) {
      const t0 = now();
      inFlight++;
      try {
        const n = await op(w, i);
        if (measuring && !stopped) {
          latencies.push(now() - t0);
          events += n;
          ops++;
        }
      } catch (error) {
        const key = error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 120) : String(error);
        errors[key] = (errors[key] ?? 0) + 1;
        if (Object.values(errors).reduce((a, b) => a + b, 0) > 10_000) stopped = true;
      } finally {
        inFlight--;
      }
    }
  };
  const running = Array.from({ length: writers }, (_, w) => loop(w));

  await sleep(warmupMs);
  measuring = true;
  const start = now();
  let lastT = start;
  let lastEvents = 0;
  const ticker = setInterval(() => {
    const t = now();
    windows.push(rate(events - lastEvents, t - lastT));
    lastT = t;
    lastEvents = events;
  }, windowMs);
  await sleep(measureMs);
  stopped = true;
  const elapsedMs = now() - start;
  clearInterval(ticker);
  const counted = events;
  const drained = Promise.all(running);
  await (drainTimeoutMs === undefined ? drained : Promise.race([drained, sleep(drainTimeoutMs)]));
  return {
    events: counted,
    ops,
    elapsedMs,
    eventsPerSecond: rate(counted, elapsedMs),
    latencyMs: summarize(latencies),
    windowRates: summarize(windows),
    errors,
    abandoned: inFlight,
  };
}

/** Bytes this process has caused to be written to storage (Linux /proc/self/io), NaN elsewhere. */
export function diskWriteBytes(): number {
  try {
    const match = /^write_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
    return match ? Number(match[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * Watches this thread while `fn` runs: event-loop delay (how late timers fire: a stall from GC, a long
 * synchronous call or the OS not scheduling us) and garbage-collection pauses.
 */
export async function watchStalls<T>(fn: () => Promise<T>): Promise<{ value: T; stalls: Record<string, string> }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let gcCount = 0;
  let gcMs = 0;
  let gcMax = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcCount++;
      gcMs += entry.duration;
      gcMax = Math.max(gcMax, entry.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  delay.enable();
  try {
    const value = await fn();
    return {
      value,
      stalls: {
        'event-loop delay p50/p99/max': `${(delay.percentile(50) / 1e6).toFixed(2)} / ${(delay.percentile(99) / 1e6).toFixed(2)} / ${(delay.max / 1e6).toFixed(1)} ms`,
        'GC pauses': `${gcCount}, ${gcMs.toFixed(0)} ms in all, longest ${gcMax.toFixed(1)} ms`,
      },
    };
  } finally {
    delay.disable();
    observer.disconnect();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------ temp folders on the real disk

const RAM_FILESYSTEMS = new Map<number, string>([
  [0x01021994, 'tmpfs'],
  [0x858458f6, 'ramfs'],
]);

/**
 * Where this run keeps its files: the OS temp folder when it is on a disk, else bench/.tmp (git-ignored):
 * durable appends measured on tmpfs would measure memory, not fsync.
 */
export function makeRunDir(): string {
  const base = RAM_FILESYSTEMS.has(statfsSync(tmpdir()).type) ? join(BENCH_DIR, '.tmp') : tmpdir();
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, 'tracker-bench-'));
}

export function freshDir(runDir: string, name: string): string {
  const dir = join(runDir, `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

// ------------------------------------------------------------------ machine

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  node: string;
  os: string;
  memoryGiB: number;
  loadAverage1m: number;
  /** The filesystem the benchmark files live on. */
  disk: { path: string; device: string; fsType: string; mountPoint: string };
}

export function machineInfo(dir: string): MachineInfo {
  const cpu = cpus();
  return {
    cores: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    node: process.version,
    os: `${process.platform} ${release()}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
    disk: { path: dir, ...mountOf(dir) },
  };
}

function mountOf(path: string): { device: string; fsType: string; mountPoint: string } {
  let best = { device: 'unknown', fsType: 'unknown', mountPoint: '' };
  try {
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [device, mountPoint, fsType] = line.split(' ');
      if (!device || !mountPoint || !fsType) continue;
      const prefix = mountPoint.endsWith('/') ? mountPoint : `${mountPoint}/`;
      if ((path === mountPoint || path.startsWith(prefix)) && mountPoint.length >= best.mountPoint.length) best = { device, fsType, mountPoint };
    }
  } catch {
    try {
      const out = execFileSync('df', ['-T', path], { encoding: 'utf8' }).trim().split('\n').at(-1)?.split(/\s+/) ?? [];
      best = { device: out[0] ?? 'unknown', fsType: out[1] ?? 'unknown', mountPoint: out[6] ?? '' };
    } catch {
      // keep unknown
    }
  }
  return best;
}

// ------------------------------------------------------------------ formatting

export function fmt(value: number, unit = ''): string {
  if (!Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  const text = value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit ? `${text} ${unit}` : text;
}

function distText(metric: Metric): string {
  const d = metric.dist;
  if (!d || d.n === 0) return '';
  return `${metric.distLabel ?? ''} n=${d.n} p50 ${fmt(d.p50)} p90 ${fmt(d.p90)} p99 ${fmt(d.p99)} max ${fmt(d.max)}`.trim();
}

function targetText(metric: Metric): string {
  const t = metric.target;
  if (!t) return '';
  const on = t.on && t.on !== 'value' ? `${t.on} ` : '';
  const ok = met(metric);
  return `${on}${t.cmp} ${fmt(t.value)} ${ok === undefined ? '' : ok ? 'MET' : 'MISSED'}`;
}

/** A plain-text table: one row per metric. */
export function table(results: readonly BenchResult[]): string {
  const rows: string[][] = [['benchmark', 'case', 'result', 'distribution', 'target']];
  for (const r of results) {
    if (r.error) rows.push([r.name, 'FAILED', r.error.split('\n')[0]!.slice(0, 100), '', '']);
    for (const m of r.metrics) rows.push([r.name, m.case, fmt(m.value, m.unit), distText(m), targetText(m)]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function extrasText(results: readonly BenchResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    const lines: string[] = [];
    for (const m of r.metrics) {
      if (!m.extra || Object.keys(m.extra).length === 0) continue;
      const parts = Object.entries(m.extra).map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`);
      lines.push(`  ${m.case}: ${parts.join(', ')}`);
    }
    for (const note of r.notes) lines.push(`  note: ${note}`);
    if (lines.length) out.push(`${r.name}\n${lines.join('\n')}`);
  }
  return out.join('\n');
}
