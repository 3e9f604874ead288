/**
 * `pnpm bench [name ...] [--quick] [--citizens N] [--out FILE] [--cpu-prof]`
 *
 * Runs all (or the named) benchmarks, each in its own child process, one after the other, and prints
 * the machine and one table of results to stdout (progress goes to stderr). `--out FILE` also writes
 * the results as JSON. `--quick` uses small sizes (a smoke run, under a minute); `--citizens N` sets the
 * population of the rebuild and citizen-query benchmarks (default 100 000). `--cpu-prof` runs the
 * children under `node --cpu-prof` and prints where their CPU time went (this slows them down; the
 * numbers of a profiled run are not results). Temp files live in one folder on the real disk, removed
 * at the end. Results and their reading: docs/benchmarks.md.
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { summarizeProfiles } from './cpuProfile.ts';
import { BENCH_DIR, REPO_DIR, extrasText, machineInfo, makeRunDir, removeDir, table, type BenchContext, type BenchResult } from './harness.ts';
import { BENCHMARK_NAMES, isBenchmarkName, type BenchmarkName } from './registry.ts';

const USAGE = `usage: pnpm bench [${BENCHMARK_NAMES.join(' | ')} ...] [--quick] [--citizens N] [--out FILE] [--cpu-prof]`;

interface Args {
  names: BenchmarkName[];
  quick: boolean;
  citizens: number | undefined;
  out: string | undefined;
  cpuProf: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { names: [], quick: false, citizens: undefined, out: undefined, cpuProf: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${arg} needs a value`);
      return v;
    };
    if (arg === '--') continue;
    else if (arg === '--quick') args.quick = true;
    else if (arg === '--cpu-prof') args.cpuProf = true;
    else if (arg === '--citizens') {
      const n = Number(value());
      if (!Number.isSafeInteger(n) || n < 100) fail('--citizens must be a whole number ≥ 100');
      args.citizens = n;
    } else if (arg === '--out') args.out = resolve(value());
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (isBenchmarkName(arg)) args.names.push(arg);
    else fail(`unknown benchmark or option: ${arg}`);
  }
  if (args.names.length === 0) args.names = [...BENCHMARK_NAMES];
  else args.names = BENCHMARK_NAMES.filter((n) => args.names.includes(n)); // run order, no repeats
  return args;
}

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** A child that has not finished by then is killed (the run goes on with the next benchmark). */
const CHILD_TIMEOUT_MS = { quick: 300_000, full: 900_000 };

/** Runs the named benchmarks in one child process; a benchmark that did not report gets an error result. */
function runChild(names: BenchmarkName[], context: Omit<BenchContext, 'log'>, execArgv: string[], timeoutMs: number, onResult: (r: BenchResult) => void): Promise<BenchResult[]> {
  const profiling = execArgv.includes('--cpu-prof');
  return new Promise((resolvePromise) => {
    const started = performance.now();
    const child = fork(join(BENCH_DIR, 'child.ts'), [names.join(','), JSON.stringify(context)], {
      execArgv: [...process.execArgv, ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const results: BenchResult[] = [];
    let why: string | undefined;
    const timer = setTimeout(() => {
      why = `timed out after ${timeoutMs / 1000} s`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (message) => {
      results.push(message as BenchResult);
      onResult(message as BenchResult);
      // Everything reported: do not wait for the child to wind down (abandoned SQLite operations of the
      // Emmett probes can hold its exit for seconds) — unless it still has to write its CPU profile.
      if (results.length === names.length && !profiling) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      for (const name of names.slice(results.length)) {
        const error = why ?? `exited with ${signal ?? `code ${code}`} before reporting`;
        results.push({ name, metrics: [], notes: [], wallMs: performance.now() - started, error });
      }
      resolvePromise(results);
    });
  });
}

const args = parseArgs(process.argv.slice(2));
const runDir = makeRunDir();
let cleaned = false;
const cleanup = () => {
  if (cleaned) return;
  cleaned = true;
  removeDir(runDir);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanup();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

const machine = machineInfo(runDir);
/** The code measured: other work lands in the tree while benchmarks run, so say which. */
function codeVersion(): string {
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: REPO_DIR, encoding: 'utf8' }).trim();
    const changed = git('status', '--porcelain', '--', 'packages', 'services').split('\n').filter(Boolean).length;
    return `${git('rev-parse', '--short', 'HEAD')}${changed ? ` + ${changed} uncommitted change(s) in packages/ services/` : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}
const code = codeVersion();
const context: Omit<BenchContext, 'log'> = {
  quick: args.quick,
  citizens: args.citizens ?? (args.quick ? 5_000 : 100_000),
  runDir,
};
const startedAt = new Date().toISOString();
process.stderr.write(
  `pnpm bench ${args.names.join(' ')}${args.quick ? ' --quick' : ''} (citizens ${context.citizens}) in ${runDir}\n`,
);

const results: BenchResult[] = [];
const profiles: string[] = [];
try {
  // One process per benchmark (isolation); --quick shares one to save the start-ups.
  const groups = args.quick ? [args.names] : args.names.map((name) => [name]);
  for (const names of groups) {
    const profileDir = join(runDir, `cpu-prof-${names.join('-')}`);
    if (args.cpuProf) mkdirSync(profileDir, { recursive: true });
    const execArgv = args.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const timeoutMs = args.quick ? CHILD_TIMEOUT_MS.quick : CHILD_TIMEOUT_MS.full;
    const report = (result: BenchResult) =>
      process.stderr.write(`[${result.name}] ${result.error ? 'FAILED' : 'done'} in ${(result.wallMs / 1000).toFixed(1)} s\n`);
    results.push(...(await runChild(names, context, execArgv, timeoutMs, report)));
    if (args.cpuProf) profiles.push(`${names.join(', ')}\n${summarizeProfiles(profileDir)}`);
  }
} finally {
  cleanup();
}

const header = [
  `machine: ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.os}, load ${machine.loadAverage1m} at start`,
  `disk:    ${machine.disk.device} (${machine.disk.fsType}) mounted on ${machine.disk.mountPoint}; files in ${machine.disk.path}`,
  `code:    ${code}`,
  `run:     ${startedAt}, ${args.quick ? 'quick sizes' : 'default sizes'}, citizens ${context.citizens}${args.cpuProf ? ', PROFILED (numbers are not results)' : ''}`,
].join('\n');
console.log(`\n${header}\n\n${table(results)}\n\n${extrasText(results)}`);
if (profiles.length) console.log(`\nCPU profiles (self time):\n${profiles.join('\n')}`);
if (args.out) {
  writeFileSync(args.out, `${JSON.stringify({ startedAt, code, args: { ...args, out: undefined }, machine, results }, null, 2)}\n`);
  console.log(`\nresults written to ${args.out}`);
}
process.exitCode = results.some((r) => r.error) ? 1 : 0;
