/**
 * A full XES (and OCEL) export of 100k generated citizens in bounded memory (issue 4): the document is
 * streamed through a Node stream into a sink, as the HTTP endpoint streams it into a socket, while
 * the process's memory is sampled.
 *
 *   npx tsx --expose-gc packages/read-models/src/exports/exports.bench.ts [citizens=100000] [--slow] [--validate] [--ocel] [--postgres]
 *
 * --slow     the sink takes each chunk on a later turn of the event loop (a slow client): memory must
 *            stay flat all the same, because the export only reads on when the sink asks.
 * --validate writes the XES to a temp file and validates it with `xmllint --stream --schema`.
 * --ocel     also exports OCEL 2.0 JSON.
 * --postgres exports from PostgreSQL read models (DATABASE_URL) through PostgresTransitionExports. The
 *            population's timeline, citizens and citizen_units — all an export reads — are copied once
 *            into the schema bench_exports_<citizens>: minutes faster than projecting it all again.
 * The population is shared with flows.bench.ts (built once, kept in the temp folder).
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { ALL_UNITS } from '@tracker/security';
import { BENCH_NOW, benchPopulation, type BenchPopulation } from '../flows/benchPopulation.ts';
import { PostgresReadModel } from '../postgres/postgresReadModel.ts';
import { PostgresTransitionExports } from './postgresTransitionExports.ts';
import { SqliteTransitionExports } from './sqliteTransitionExports.ts';
import type { ExportStream, TransitionExports } from './transitionExports.ts';

const args = process.argv.slice(2);
const citizens = Number(args.find((a) => /^\d+$/.test(a)) ?? 100_000);
const slow = args.includes('--slow');
const out = (line: string) => process.stdout.write(`${line}\n`);
const MB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const gc = (globalThis as { gc?: () => void }).gc;

const population = benchPopulation({ citizens });
out(`population: ${population.citizens} citizens, ${population.events} events`);

/** The tables an export reads, as SQLite keeps them and as PostgreSQL takes them (unnest's array types). */
const COPIED_TABLES = [
  {
    name: 'timeline',
    columns: ['citizen_id', 'occurred_ms', 'position', 'event_id', 'type', 'occurred_at', 'recorded_at', 'unit_id', 'summary', 'stream_version', 'source', 'data'],
    types: ['text', 'bigint', 'bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'integer', 'text', 'text'],
  },
  {
    name: 'citizens',
    columns: ['citizen_id', 'birth_date', 'municipality', 'disability', 'registered_ms', 'registered_pos'],
    types: ['text', 'text', 'text', 'boolean', 'bigint', 'bigint'],
  },
  { name: 'citizen_units', columns: ['citizen_id', 'unit_id'], types: ['text', 'text'] },
] as const;

/** Copies the population's exported tables into `schema` (made by PostgresReadModel), in one transaction. */
async function copyToPostgres(url: string, schema: string, { model }: BenchPopulation): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    for (const table of COPIED_TABLES) {
      await client.query(`TRUNCATE "${schema}".${table.name}`);
      const insert = `INSERT INTO "${schema}".${table.name} (${table.columns.join(', ')})
                      SELECT * FROM unnest(${table.types.map((type, i) => `$${i + 1}::${type}[]`).join(', ')})`;
      const rows = model.database.prepare(`SELECT ${table.columns.join(', ')} FROM ${table.name}`).raw(true);
      let batch: unknown[][] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        const columns = table.columns.map((_, c) => batch.map((row) => (table.types[c] === 'boolean' ? row[c] === 1 : row[c])));
        batch = [];
        await client.query(insert, columns);
      };
      // The iterator holds the bench's own SQLite connection only; nothing else reads it meanwhile.
      for (const row of rows.iterate() as IterableIterator<unknown[]>) {
        batch.push(row);
        if (batch.length === 5_000) await flush();
      }
      await flush();
    }
    await client.query('COMMIT');
    for (const table of COPIED_TABLES) await client.query(`ANALYZE "${schema}".${table.name}`);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}

async function postgresExports(url: string): Promise<PostgresTransitionExports> {
  const schema = `bench_exports_${citizens}`;
  const projection = { units: population.units, handoverAcceptanceDue: (ms: number) => ms + 14 * 86_400_000 };
  const model = await PostgresReadModel.open({ connectionString: url, schema, projection, configFingerprint: 'bench' });
  try {
    const [copied] = await model.query<{ n: number }>(`SELECT count(*) AS n FROM "${schema}".timeline`);
    if (copied?.n !== population.events) {
      const started = performance.now();
      await copyToPostgres(url, schema, population);
      out(`copied into PostgreSQL schema ${schema} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await model.close();
  }
  return new PostgresTransitionExports(model, { connectionString: url, units: population.units });
}

const postgresUrl = args.includes('--postgres') ? process.env.DATABASE_URL : undefined;
if (args.includes('--postgres') && !postgresUrl) throw new Error('--postgres needs DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test');
const exports: TransitionExports & { close?: () => Promise<void> } = postgresUrl
  ? await postgresExports(postgresUrl)
  : new SqliteTransitionExports(population.model, { units: population.units });
out(`exporting from ${postgresUrl ? 'PostgreSQL' : 'SQLite'}`);

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
  const cpuStarted = process.cpuUsage();
  const document = stream();
  await pipeline(Readable.from(document, { objectMode: false, highWaterMark: 64 * 1024 }), sink);
  const seconds = (performance.now() - started) / 1000;
  // CPU time of this process: on a machine shared with other work, steadier than the wall clock.
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  clearInterval(sampler);
  sample();
  if (file) bytes = statSync(file).size;
  out(
    `${name.padEnd(22)} ${MB(bytes).padStart(10)} in ${seconds.toFixed(1)} s (${MB(bytes / seconds)}/s, cpu ${cpuSeconds.toFixed(1)} s)  ` +
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
await exports.close?.();
population.model.close();
