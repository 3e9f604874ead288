/**
 * Reads the `.cpuprofile` files `node --cpu-prof` wrote and tells where the self time went: by
 * function and by area (our packages, better-sqlite3, node internals, GC), so a profiled run
 * (`pnpm bench rebuild --cpu-prof`) points at what to optimise.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function areaOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)' || fn === '(program)') return fn;
  const pkg = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (pkg) return `@tracker/${pkg[2]}`;
  const dep = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return dep[1]!;
  if (url.startsWith('node:') || url === '') return fn.startsWith('(') ? fn : 'node / native (incl. SQLite C calls)';
  if (url.includes('/bench/')) return 'bench';
  return url;
}

export function summarizeProfile(profile: CpuProfile, top = 15): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let total = 0;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    total += us;
    const file = url.replace(/^.*\/(packages|services|bench|node_modules)\//, '$1/').replace(/^node_modules\/\.pnpm\/[^/]+\/node_modules\//, '');
    const key = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const area = areaOf(url, functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  const rows = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `    ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  return [`  busy ${(total / 1e6).toFixed(1)} s; by area:`, ...rows(byArea, 10), `  by function:`, ...rows(byFunction, top)].join('\n');
}

/** Sampled time outside `(idle)`, in µs. */
function busyMicros(profile: CpuProfile): number {
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  let us = 0;
  for (let i = 0; i < profile.samples.length; i++) if (!idle.has(profile.samples[i]!)) us += profile.timeDeltas[i] ?? 0;
  return us;
}

/** Summaries of every profile in the folder (one per process: the benchmark child). */
export function summarizeProfiles(dir: string): string {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return '  (no profile written)';
  }
  if (files.length === 0) return '  (no profile written)';
  // One file per thread; keep the busy ones (the benchmark's main thread), not e.g. the TS loader's.
  const profiles = files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile);
  const busy = profiles.map(busyMicros);
  const most = Math.max(...busy);
  return profiles
    .filter((_, i) => busy[i]! >= most / 2)
    .map((p) => summarizeProfile(p))
    .join('\n');
}
