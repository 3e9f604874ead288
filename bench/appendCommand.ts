/**
 * append-command: single-event appends, durable (SqliteEventStore: WAL, synchronous FULL, group commit)
 * in a file on the real disk.
 *
 * - command path: `handleCitizenCommand` → readStream, fold with the citizen decider, decide, append
 *   with the version read. As the GraphQL mutations run it (packages/api/src/graphql/commands.ts) it has
 *   a `CitizenStateCache` (folded states by version: a command reads only the events since); it is also
 *   measured without one, i.e. reading and folding the whole stream every time.
 * - raw path: `appendToStream` of a ready event with the expected version the writer already knows
 *   (no read, no decide), so the command path's own cost is visible.
 *
 * Every writer owns its citizens (no version conflicts between writers): it registers a citizen, then
 * opens and closes cases alternately, and moves on to a new citizen after `streamLength` events, so a
 * stream holds streamLength / 2 events on average while it is being written (the generated population
 * averages ~22 events per citizen). One more case runs the command path on long streams (up to 200
 * events) because its cost grows with the stream: there are no snapshots.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { diskWriteBytes, freshDir, now, rate, removeDir, runWriters, summarize, type Benchmark, type Metric, type Target, type WriterLoopResult } from './harness.ts';
import { demoUnits, generated } from './dataset.ts';
import { CitizenStateCache, SqliteEventStore, handleCitizenCommand, systemClock, type CitizenCommand, type TransitionEvent } from './workspace.ts';

const UNIT = '0751-bf-myndighed';
const TARGET_ONE_WRITER: Target = { cmp: '>=', value: 5_000 };
const TARGET_64_WRITERS: Target = { cmp: '>=', value: 100_000 };

/** The i-th command of writer w: register, then open/close cases alternately; a new citizen every streamLength. */
export function commandOf(w: number, i: number, streamLength: number): { citizenId: string; step: number; command: CitizenCommand } {
  const k = Math.floor(i / streamLength);
  const step = i % streamLength;
  const citizenId = `c-bench-w${w}-${k}`;
  if (step === 0) return { citizenId, step, command: { type: 'RegisterCitizen', data: { birthDate: '2008-05-01', municipality: '0751', disability: false } } };
  const caseId = `sag-${w}-${k}-${Math.ceil(step / 2)}`;
  return step % 2 === 1
    ? { citizenId, step, command: { type: 'OpenCase', data: { caseId, unitId: UNIT } } }
    : { citizenId, step, command: { type: 'CloseCase', data: { caseId } } };
}

/** The event the command would record, built directly (the raw path). */
export function eventOf(citizenId: string, command: CitizenCommand): TransitionEvent {
  const typeOf = { RegisterCitizen: 'CitizenRegistered', OpenCase: 'CaseOpened', CloseCase: 'CaseClosed' } as const;
  return {
    id: randomUUID(),
    citizenId,
    occurredAt: new Date().toISOString(),
    source: 'bench',
    type: typeOf[command.type as keyof typeof typeOf],
    data: command.data,
  } as TransitionEvent;
}

export interface AppendCase {
  label: string;
  path: 'command' | 'raw';
  writers: number;
  streamLength: number;
  target?: Target;
  /** Generated citizens' events appended (appendBatch) before measuring: a store with history. */
  prefillEvents?: number;
  /** Command path without a CitizenStateCache (default: with one, as the GraphQL mutations wire it). */
  noStateCache?: boolean;
}


/** One case on a fresh SqliteEventStore file: runs the writers, closes and removes the store. */
export async function measureOurAppends(c: AppendCase, { runDir, warmupMs, measureMs }: { runDir: string; warmupMs: number; measureMs: number }): Promise<Metric> {
  const dir = freshDir(runDir, 'append');
  const store = await SqliteEventStore.open({ file: join(dir, 'events.sqlite') });
  let result: WriterLoopResult;
  let stats: ReturnType<SqliteEventStore['stats']>;
  let stats0 = store.stats();
  let io0 = diskWriteBytes();
  try {
    if (c.prefillEvents) {
      let chunk: TransitionEvent[] = [];
      for (const event of generated(Math.ceil(c.prefillEvents / 22), demoUnits())) {
        chunk.push(event);
        if (chunk.length === 20_000) {
          await store.appendBatch(chunk);
          chunk = [];
        }
      }
      if (chunk.length) await store.appendBatch(chunk);
      stats0 = store.stats();
      io0 = diskWriteBytes();
    }
    const context = { store, clock: systemClock, source: 'bench', ...(c.noStateCache ? {} : { states: new CitizenStateCache() }) };
    result = await runWriters({
      writers: c.writers,
      warmupMs,
      measureMs,
      op:
        c.path === 'command'
          ? async (w, i) => {
              const { citizenId, command } = commandOf(w, i, c.streamLength);
              return (await handleCitizenCommand(context, citizenId, command)).length;
            }
          : async (w, i) => {
              const { citizenId, step, command } = commandOf(w, i, c.streamLength);
              const expectedVersion = step === 0 ? 'no_stream' : step - 1;
              return (await store.appendToStream(citizenId, [eventOf(citizenId, command)], { expectedVersion })).appended.length;
            },
    });
  } finally {
    stats = store.stats();
    await store.close();
    removeDir(dir);
  }
  const io = diskWriteBytes() - io0;
  const errors = Object.entries(result.errors);
  return {
    case: c.label,
    value: result.eventsPerSecond,
    unit: 'events/s',
    dist: result.latencyMs,
    distLabel: 'latency ms',
    ...(c.target ? { target: c.target } : {}),
    extra: {
      'window events/s p10': result.windowRates.p10,
      'window p50': result.windowRates.p50,
      'window p90': result.windowRates.p90,
      'commits/s': (stats.commits - stats0.commits) / ((result.elapsedMs + warmupMs) / 1000),
      'appends per commit (mean)': ((stats.appendsCommitted - stats0.appendsCommitted) / Math.max(1, stats.commits - stats0.commits)).toFixed(1),
      'largest group': stats.largestGroup,
      'disk bytes written per event': Number.isFinite(io) ? Math.round(io / Math.max(1, stats.eventsCommitted - stats0.eventsCommitted)) : 'n/a',
      ...(errors.length ? { errors: errors.map(([k, n]) => `${n}× ${k}`).join('; ') } : {}),
    },
  };
}


/** The `db.pragma('name = value')` settings of SqliteEventStore's constructor (WAL, checkpoint interval …). */
function storePragmas(): string[] {
  const source = readFileSync(new URL('../packages/event-store/src/sqlite/sqliteEventStore.ts', import.meta.url), 'utf8');
  const pragmas = [...source.matchAll(/db\.pragma\('([a-z_]+ = [^']+)'/g)].map((m) => m[1]!);
  return pragmas.length > 0 ? pragmas : ['journal_mode = WAL', 'synchronous = FULL'];
}

/**
 * The storage ceiling: the statements the store runs for an append (SAVEPOINT, stream-version SELECT,
 * INSERT, RELEASE), `group` appends per transaction, straight on better-sqlite3 with no JavaScript around
 * them beyond a loop, on a file created by SqliteEventStore (its schema) with its connection pragmas. With synchronous FULL this is
 * what SQLite + the disk allow; with OFF (not durable) the difference is what the WAL sync costs.
 */
export async function sqliteCeiling(runDir: string, group: number, synchronous: 'FULL' | 'OFF', warmupMs: number, measureMs: number): Promise<Metric> {
  const dir = freshDir(runDir, 'ceiling');
  const file = join(dir, 'events.sqlite');
  await (await SqliteEventStore.open({ file })).close();
  const Database = createRequire(new URL('../packages/event-store/package.json', import.meta.url))('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(file);
  try {
    // The same connection settings as the store: every `db.pragma('name = value')` its constructor runs.
    for (const pragma of storePragmas()) db.pragma(pragma);
    db.pragma(`synchronous = ${synchronous}`);
    const insert = db.prepare(
      `INSERT INTO events (event_id, citizen_id, stream_version, type, occurred_at, source, data, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
    );
    const version = db.prepare<[string], number>('SELECT stream_version FROM events WHERE citizen_id = ? ORDER BY stream_version DESC LIMIT 1').pluck();
    const data = JSON.stringify({ caseId: 'sag-1', unitId: UNIT });
    const at = new Date().toISOString();
    const one = db.transaction((citizenId: string) => {
      const v = version.get(citizenId) ?? -1;
      insert.run(randomUUID(), citizenId, v + 1, 'CaseOpened', at, 'bench', data, at);
    });
    const transaction = db.transaction((g: number) => {
      for (let w = 0; w < group; w++) one(`c-bench-w${w}-${Math.floor(g / 20)}`);
    });
    const latencies: number[] = [];
    let g = 0;
    const until = now() + warmupMs;
    while (now() < until) transaction.immediate(g++);
    const t0 = now();
    while (now() - t0 < measureMs) {
      const t = now();
      transaction.immediate(g++);
      latencies.push(now() - t);
    }
    const elapsed = now() - t0;
    return {
      case: `SQLite alone: the store's statements, ${group} append${group > 1 ? 's' : ''}/transaction, synchronous ${synchronous}${synchronous === 'OFF' ? ' (not durable)' : ''}`,
      value: rate(latencies.length * group, elapsed),
      unit: 'events/s',
      dist: summarize(latencies),
      distLabel: 'transaction ms',
    };
  } finally {
    db.close();
    removeDir(dir);
  }
}

const run: Benchmark = async ({ quick, runDir, log }) => {
  const warmupMs = quick ? 200 : 1_500;
  const measureMs = quick ? 700 : 5_000;
  const cases: AppendCase[] = [
    { label: 'command path, 1 writer', path: 'command', writers: 1, streamLength: 20, target: TARGET_ONE_WRITER },
    { label: 'command path, 64 writers', path: 'command', writers: 64, streamLength: 20, target: TARGET_64_WRITERS },
    { label: 'command path without state cache, 1 writer', path: 'command', writers: 1, streamLength: 20, noStateCache: true },
    { label: 'command path without state cache, 64 writers', path: 'command', writers: 64, streamLength: 20, noStateCache: true },
    { label: 'raw appendToStream, 1 writer', path: 'raw', writers: 1, streamLength: 20 },
    { label: 'raw appendToStream, 64 writers', path: 'raw', writers: 64, streamLength: 20 },
    { label: 'command path, 64 writers, streams up to 200 events', path: 'command', writers: 64, streamLength: 200 },
    { label: 'command path without state cache, 64 writers, streams up to 200 events', path: 'command', writers: 64, streamLength: 200, noStateCache: true },
    ...(quick ? [] : [{ label: 'raw appendToStream, 64 writers, store already holding 300k events', path: 'raw', writers: 64, streamLength: 20, prefillEvents: 300_000 } as const]),
  ];
  const metrics: Metric[] = [];
  for (const c of cases) {
    const metric = await measureOurAppends(c, { runDir, warmupMs, measureMs });
    metrics.push(metric);
    log(`${c.label}: ${metric.value.toFixed(0)} events/s, p99 ${metric.dist!.p99.toFixed(2)} ms, ${metric.extra!['appends per commit (mean)']} appends/commit`);
  }
  const ceilingMs = quick ? 400 : 2_500;
  for (const [group, synchronous] of [[1, 'FULL'], [64, 'FULL'], [64, 'OFF']] as const) {
    const metric = await sqliteCeiling(runDir, group, synchronous, warmupMs / 2, ceilingMs);
    metrics.push(metric);
    log(`${metric.case}: ${metric.value.toFixed(0)} events/s`);
  }
  return {
    metrics,
    notes: [
      `each case on a fresh store file; ${warmupMs} ms warm-up, ${measureMs} ms measured; latency = one command (or append) from call to durable acknowledgement`,
      'writers own their citizens: register, then open/close cases alternately, a new citizen after 20 events (200 in the long-stream cases)',
      'command path = handleCitizenCommand with a CitizenStateCache, as the GraphQL mutations wire it; "without state cache" reads and folds the whole stream per command',
    ],
  };
};

export default run;
