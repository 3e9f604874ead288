/**
 * A full XES (and OCEL) export of 100k generated citizens in bounded memory (issue 4): the document is
 * streamed through a Node stream into a sink, as the HTTP endpoint streams it into a socket, while
 * the process's memory is sampled.
 *
 *   npx tsx --expose-gc packages/read-models/src/exports/exports.bench.ts [citizens=100000] [--slow] [--validate] [--ocel]
 *
 * --slow     the sink takes each chunk on a later turn of the event loop (a slow client): memory must
 *            stay flat all the same, because the export only reads on when the sink asks.
 * --validate writes the XES to a temp file and validates it with `xmllint --stream --schema`.
 * --ocel     also exports OCEL 2.0 JSON.
 * The population is shared with flows.bench.ts (built once, kept in the temp folder).
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BENCH_NOW, benchPopulation } from '../flows/benchPopulation.ts';
import { SqliteTransitionExports, type ExportStream } from './sqliteTransitionExports.ts';
import { ALL_UNITS } from '@tracker/security';

const args = process.argv.slice(2);
const citizens = Number(args.find((a) => /^\d+$/.test(a)) ?? 100_000);
const slow = args.includes('--slow');
const out = (line: string) => process.stdout.write(`${line}\n`);
const MB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const gc = (globalThis as { gc?: () => void }).gc;

const population = benchPopulation({ citizens });
out(`population: ${population.citizens} citizens, ${population.events} events`);
const exports = new SqliteTransitionExports(population.model, { units: population.units });

async function run(name: string, stream: () => ExportStream, file?: string): Promise<void> {
  gc?.();
  const baseline = process.memoryUsage();
  let peakRss = baseline.rss;
  let peakHeap = baseline.heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const sampler = setInterval(sample, 20);
  let bytes = 0;
  let chunks = 0;
  const sink = file
    ? createWriteStream(file)
    : new Writable({
        write(chunk: Buffer, _encoding, callback) {
          bytes += chunk.byteLength;
          chunks++;
          if (chunks % 64 === 0) sample();
          if (slow) setImmediate(callback);
          else callback();
        },
      });
  const started = performance.now();
  const document = stream();
  await pipeline(Readable.from(document, { objectMode: false, highWaterMark: 64 * 1024 }), sink);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  sample();
  if (file) bytes = statSync(file).size;
  out(
    `${name.padEnd(22)} ${MB(bytes).padStart(10)} in ${seconds.toFixed(1)} s (${MB(bytes / seconds)}/s)  ` +
      `heap: baseline ${MB(baseline.heapUsed)}, peak ${MB(peakHeap)} (+${MB(peakHeap - baseline.heapUsed)})  ` +
      `rss: baseline ${MB(baseline.rss)}, peak ${MB(peakRss)} (+${MB(peakRss - baseline.rss)})`,
  );
}

const all = { toMs: BENCH_NOW.getTime() };
if (!gc) out('(run with --expose-gc for a clean baseline)');
await run(`XES${slow ? ', slow sink' : ''}`, () => exports.xes(all, ALL_UNITS));
if (args.includes('--ocel')) await run(`OCEL${slow ? ', slow sink' : ''}`, () => exports.ocel(all, ALL_UNITS));
await run('XES, one unit', () => exports.xes({ ...all, unitId: '0751-voksen-handicap' }, ALL_UNITS));
if (args.includes('--validate')) {
  const file = join(tmpdir(), 'tracker-bench', `export-${citizens}.xes`);
  await run('XES to a file', () => exports.xes(all, ALL_UNITS), file);
  const xsd = new URL('../../../../../shared/reference/xes-ieee-1849-2016-namespaced.xsd', import.meta.url).pathname;
  const started = performance.now();
  const result = spawnSync('xmllint', ['--noout', '--stream', '--schema', xsd, file], { encoding: 'utf8' });
  out(`xmllint --stream --schema: ${result.status === 0 ? 'valid' : `INVALID (${result.stderr.slice(0, 300)})`} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  rmSync(file, { force: true });
}
population.model.close();
