/**
 * emmett: the append-command and rebuild workloads on Emmett's SQLite event store
 * (@event-driven-io/emmett-sqlite 0.38.5, node-sqlite3) next to ours, measured in the same process one
 * after the other; ratios are ours / theirs.
 *
 * Durability: Emmett opens its connections with `PRAGMA journal_mode = WAL` and leaves `synchronous` at
 * SQLite's default, FULL (node-sqlite3 is built without SQLITE_DEFAULT_SYNCHRONOUS), which is durable
 * against power loss like ours; the benchmark reads both pragmas back from an Emmett connection and
 * reports them. `getSQLiteEventStore({ fileName })` opens a connection for every operation and closes it
 * afterwards (the last close of a WAL database checkpoints it), and shares that one connection between
 * concurrent calls: concurrent appends on one store fail (SQLITE_MISUSE: database closed under them), and
 * 64 stores on one file fail with SQLITE_BUSY. So the 64-writer comparison runs:
 * - probes of those two configurations (error counts, bounded in time);
 * - the 64 writers serialised by an in-process mutex on one store: the durable configuration that works;
 * - Emmett's lower-level exported `appendToStream(connection, …)` on one long-lived connection, with the
 *   mutex (durable) and without it (its nested-transaction counter then folds concurrent appends into one
 *   open transaction: appends are acknowledged before COMMIT, i.e. NOT durable; the probe measures how
 *   many acknowledged events another connection could not see yet).
 *
 * Rebuild: the same generated citizens in both stores (Emmett's filled from ours, in global order, so
 * positions match), folded into the same read model (our SqliteReadModel, base projections), read
 * through Emmett's consumer API (a processor, pulling 2 000 per batch without pauses), through its
 * `readMessagesBatch`, and read alone without folding.
 */
import { join } from 'node:path';
import { CommandHandler, type Event, type ReadEvent } from '@event-driven-io/emmett';
import {
  appendToStream as emmettAppendToStream,
  createEventStoreSchema,
  getSQLiteEventStore,
  readMessagesBatch,
  sqliteConnection,
  type SQLiteEventStore,
  type SQLiteReadEventMetadata,
} from '@event-driven-io/emmett-sqlite';
import { commandOf, eventOf, measureOurAppends, type AppendCase } from './appendCommand.ts';
import { freshDir, now, rate, removeDir, runWriters, sleep, type Benchmark, type Metric, type WriterLoopResult } from './harness.ts';
import { ALL_UNITS, baseReadModelOptions, demoUnits, ensureEventStore, type Dataset } from './dataset.ts';
import { Projector, SqliteEventStore, SqliteReadModel, citizenDecider, type CitizenState, type StoredEvent } from './workspace.ts';

type EmEvent = Event<string, Record<string, unknown>, Record<string, unknown>>;
type EmReadEvent = ReadEvent<EmEvent, SQLiteReadEventMetadata>;

const STREAM_LENGTH = 20;
/** Emmett's consumer writes a checkpoint per message (≈5k events/s here): it reads only this many. */
const CONSUMER_EVENTS = 40_000;
const BATCH = 2_000;

/** Emmett's connection code `console.log`s every failed transaction; the probes fail thousands. */
const quietly = async <T>(fn: () => Promise<T>): Promise<T> => {
  const log = console.log;
  console.log = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
  }
};

function mutex(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>) => {
    const next = tail.then(fn, fn);
    tail = next.catch(() => undefined);
    return next;
  };
}

const emEventOf = (w: number, i: number) => {
  const { citizenId, step, command } = commandOf(w, i, STREAM_LENGTH);
  const e = eventOf(citizenId, command);
  return { citizenId, step, event: { type: e.type, data: e.data as Record<string, unknown>, metadata: { messageId: e.id, occurredAt: e.occurredAt, source: 'bench' } } as EmEvent };
};

const handle = CommandHandler<CitizenState, EmEvent>({
  evolve: (state, event) => citizenDecider.evolve(state, event as never),
  initialState: citizenDecider.initialState,
});

function appendMetric(label: string, r: WriterLoopResult, extra: Record<string, number | string> = {}): Metric {
  const errors = Object.entries(r.errors);
  return {
    case: label,
    value: r.eventsPerSecond,
    unit: 'events/s',
    dist: r.latencyMs,
    distLabel: 'latency ms',
    extra: {
      ...extra,
      ...(errors.length ? { errors: errors.map(([k, n]) => `${n}× ${k}`).join('; ') } : {}),
      ...(r.abandoned ? { 'appends still pending at the end (abandoned)': r.abandoned } : {}),
    },
  };
}

async function appends(runDir: string, quick: boolean, log: (m: string) => void): Promise<{ metrics: Metric[]; notes: string[] }> {
  const warmupMs = quick ? 200 : 800;
  const measureMs = quick ? 700 : 3_000;
  const metrics: Metric[] = [];
  const notes: string[] = [];
  const ours = new Map<string, number>();

  for (const c of [
    { label: 'ours: command path, 1 writer', path: 'command', writers: 1, streamLength: STREAM_LENGTH },
    { label: 'ours: raw appendToStream, 1 writer', path: 'raw', writers: 1, streamLength: STREAM_LENGTH },
    { label: 'ours: command path, 64 writers', path: 'command', writers: 64, streamLength: STREAM_LENGTH },
    { label: 'ours: raw appendToStream, 64 writers', path: 'raw', writers: 64, streamLength: STREAM_LENGTH },
  ] satisfies AppendCase[]) {
    const m = await measureOurAppends(c, { runDir, warmupMs, measureMs });
    ours.set(c.label.replace('ours: ', ''), m.value);
    metrics.push({ ...m, extra: {} });
    log(`${c.label}: ${m.value.toFixed(0)} events/s`);
  }

  const dir = freshDir(runDir, 'emmett-append');
  const file = (name: string) => join(dir, `${name}.sqlite`);
  try {
    // Durability as Emmett configures it, read back from one of its connections.
    const probe = sqliteConnection({ fileName: file('pragmas') });
    const [sync] = await probe.query<{ synchronous: number }>('PRAGMA synchronous');
    const [journal] = await probe.query<{ journal_mode: string }>('PRAGMA journal_mode');
    probe.close();
    const syncName = ['OFF', 'NORMAL', 'FULL', 'EXTRA'][sync?.synchronous ?? -1] ?? String(sync?.synchronous);
    notes.push(
      "ours: command path = handleCitizenCommand with a CitizenStateCache, as the GraphQL mutations run it; Emmett's CommandHandler (aggregateStream + decide + appendToStream) reads the whole stream each time (append-command shows ours without the cache too)",
    );
    notes.push(`Emmett's connection: journal_mode=${journal?.journal_mode}, synchronous=${syncName} (SQLite default; Emmett sets only journal_mode) — durable against power loss, like ours (WAL + FULL)`);

    const store = (name: string): SQLiteEventStore => getSQLiteEventStore({ fileName: file(name) });
    const theirs = new Map<string, number>();
    const timed = async (label: string, writers: number, op: (w: number, i: number) => Promise<number>, key?: string, extra?: Record<string, number | string>) => {
      const r = await quietly(() => runWriters({ writers, warmupMs, measureMs, op }));
      if (key) theirs.set(key, r.eventsPerSecond);
      metrics.push(appendMetric(`Emmett: ${label}`, r, extra));
      log(`Emmett ${label}: ${r.eventsPerSecond.toFixed(0)} events/s${Object.keys(r.errors).length ? `, errors ${JSON.stringify(r.errors)}` : ''}`);
      return r;
    };

    const commandStore = store('command-1');
    await timed('CommandHandler (our decider), 1 writer', 1, async (w, i) => {
      const { citizenId, command } = commandOf(w, i, STREAM_LENGTH);
      const result = await handle(commandStore, citizenId, (state) =>
        citizenDecider.decide(command, state).map((e) => ({ ...e, metadata: { messageId: crypto.randomUUID(), occurredAt: new Date().toISOString(), source: 'bench' } }) as EmEvent),
      );
      return result.newEvents.length;
    }, 'command path, 1 writer');

    const rawStore = store('raw-1');
    await timed('appendToStream, 1 writer', 1, async (w, i) => {
      const { citizenId, step, event } = emEventOf(w, i);
      await rawStore.appendToStream(citizenId, [event], { expectedStreamVersion: BigInt(step) });
      return 1;
    }, 'raw appendToStream, 1 writer');

    const commandLock = mutex();
    const command64 = store('command-64');
    await timed('CommandHandler, 64 writers serialised by a mutex (one store)', 64, (w, i) =>
      commandLock(async () => {
        const { citizenId, command } = commandOf(w, i, STREAM_LENGTH);
        const result = await handle(command64, citizenId, (state) =>
          citizenDecider.decide(command, state).map((e) => ({ ...e, metadata: { messageId: crypto.randomUUID(), occurredAt: new Date().toISOString(), source: 'bench' } }) as EmEvent),
        );
        return result.newEvents.length;
      }),
    'command path, 64 writers');

    const rawLock = mutex();
    const raw64 = store('raw-64');
    await timed('appendToStream, 64 writers serialised by a mutex (one store)', 64, (w, i) =>
      rawLock(async () => {
        const { citizenId, step, event } = emEventOf(w, i);
        await raw64.appendToStream(citizenId, [event], { expectedStreamVersion: BigInt(step) });
        return 1;
      }),
    'raw appendToStream, 64 writers');

    // Emmett's storage code without the per-operation open/close: one long-lived connection.
    const longLived = sqliteConnection({ fileName: file('long-lived') });
    await createEventStoreSchema(longLived);
    const longLock = mutex();
    await timed('appendToStream(connection) on one long-lived connection, 64 writers + mutex', 64, (w, i) =>
      longLock(async () => {
        const { citizenId, step, event } = emEventOf(w, i);
        const r = await emmettAppendToStream(longLived, citizenId, 'c', [event], { expectedStreamVersion: BigInt(step) });
        if (!r.success) throw new Error('version conflict');
        return 1;
      }),
    );

    // The same without the mutex: how far acknowledgements run ahead of COMMIT.
    const visible = sqliteConnection({ fileName: file('long-lived') });
    let acked = 0;
    let maxUnseen = 0;
    let polling = true;
    const [{ n: before } = { n: 0 }] = await visible.query<{ n: number }>('SELECT count(*) AS n FROM emt_messages');
    const poller = (async () => {
      while (polling) {
        const ackedNow = acked;
        const [{ n } = { n: 0 }] = await visible.query<{ n: number }>('SELECT count(*) AS n FROM emt_messages');
        maxUnseen = Math.max(maxUnseen, ackedNow - (n - before));
        await sleep(5);
      }
    })();
    const offset = 1_000_000; // other citizens than the mutex case
    await timed('appendToStream(connection), long-lived connection, 64 writers, no mutex — NOT durable', 64, async (w, i) => {
      const { citizenId, step, event } = emEventOf(w + offset, i);
      const r = await emmettAppendToStream(longLived, citizenId, 'c', [event], { expectedStreamVersion: BigInt(step) });
      if (!r.success) throw new Error('version conflict');
      acked++;
      return 1;
    }, undefined, {});
    polling = false;
    await poller;
    metrics[metrics.length - 1]!.extra = { ...metrics[metrics.length - 1]!.extra, 'acknowledged but not yet visible to another connection (max)': maxUnseen };
    notes.push(
      `no mutex on one long-lived connection: up to ${maxUnseen} acknowledged appends were not committed yet (Emmett's withTransaction nests concurrent calls into one open transaction that commits only when none is in flight) — fast, but an acknowledged append can be lost`,
    );
    visible.close();
    longLived.close();

    for (const key of ['command path, 1 writer', 'raw appendToStream, 1 writer', 'command path, 64 writers', 'raw appendToStream, 64 writers']) {
      const o = ours.get(key)!;
      const t = theirs.get(key)!;
      metrics.push({ case: `ratio ours/Emmett: ${key}`, value: o / t, unit: '×', extra: { ours: o, Emmett: t } });
    }
  } finally {
    removeDir(dir);
  }
  return { metrics, notes };
}

/**
 * The two ways of running 64 concurrent writers through `getSQLiteEventStore` that fail, probed for a
 * few seconds each. Run last: operations still in flight when the probe ends are abandoned (their
 * SQLite busy timeouts would otherwise add tens of seconds), and their late errors are swallowed here
 * until the benchmark process exits.
 */
async function probes(runDir: string, quick: boolean): Promise<Metric[]> {
  const dir = freshDir(runDir, 'emmett-probes');
  let leftovers = 0;
  const swallow = () => void leftovers++;
  process.on('uncaughtException', swallow);
  process.on('unhandledRejection', swallow);
  const probeMs = quick ? 500 : 2_000;
  const probe = (stores: SQLiteEventStore[]) =>
    runWriters({
      writers: 64,
      warmupMs: 0,
      measureMs: probeMs,
      drainTimeoutMs: 500,
      op: async (w, i) => {
        const { citizenId, step, event } = emEventOf(w, i);
        await stores[w % stores.length]!.appendToStream(citizenId, [event], { expectedStreamVersion: BigInt(step) });
        return 1;
      },
    });
  const metrics: Metric[] = [];
  const file = join(dir, 'probe.sqlite');
  metrics.push(appendMetric('Emmett: 64 writers on one getSQLiteEventStore, concurrent (probe)', await probe([getSQLiteEventStore({ fileName: file })])));
  if (!quick) {
    const many = Array.from({ length: 64 }, () => getSQLiteEventStore({ fileName: join(dir, 'many.sqlite') }));
    metrics.push(appendMetric('Emmett: 64 writers, one getSQLiteEventStore each, concurrent (probe)', await probe(many)));
  }
  // The directory goes with the run folder; abandoned operations may still hold its files.
  return metrics;
}

// ------------------------------------------------------------------ rebuild

function toStored(m: EmReadEvent): StoredEvent {
  const meta = m.metadata as unknown as Record<string, unknown> & SQLiteReadEventMetadata;
  const event: Record<string, unknown> = { id: meta.messageId, type: m.type, citizenId: meta.streamName, occurredAt: meta.occurredAt };
  if (meta.source !== undefined) event.source = meta.source;
  event.data = m.data;
  event.recordedAt = meta.recordedAt;
  event.streamVersion = Number(meta.streamPosition) - 1;
  event.globalPosition = Number(meta.globalPosition);
  return event as unknown as StoredEvent;
}

/** Copies our store into an Emmett store, citizen by citizen in global order (untimed). */
async function fillEmmett(dataset: Dataset, file: string, log: (m: string) => void): Promise<number> {
  const conn = sqliteConnection({ fileName: file });
  await createEventStoreSchema(conn);
  await conn.command('PRAGMA synchronous = OFF'); // the fill only; the timed reads do not write
  const store = await SqliteEventStore.open({ file: dataset.eventsFile });
  let copied = 0;
  const t0 = now();
  try {
    let after = 0;
    let pending: StoredEvent[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      const events = pending;
      pending = [];
      const r = await emmettAppendToStream(
        conn,
        events[0]!.citizenId,
        'c',
        events.map((e) => ({ type: e.type, data: e.data, metadata: { messageId: e.id, occurredAt: e.occurredAt, source: e.source, recordedAt: e.recordedAt } }) as EmEvent),
      );
      if (!r.success) throw new Error('Emmett fill: append failed');
      copied += events.length;
    };
    for (;;) {
      const batch = await store.readAll({ after, maxCount: 20_000 });
      if (batch.length === 0) break;
      await conn.withTransaction(async () => {
        for (const e of batch) {
          if (pending.length > 0 && pending[0]!.citizenId !== e.citizenId) await flush();
          pending.push(e);
        }
      });
      after = batch[batch.length - 1]!.globalPosition;
    }
    await conn.withTransaction(flush);
  } finally {
    await store.close();
    conn.close();
  }
  log(`Emmett store filled with ${copied} events in ${((now() - t0) / 1000).toFixed(1)} s`);
  return copied;
}

const readModelFor = (dir: string, name: string) => new SqliteReadModel({ file: join(dir, `${name}.sqlite`), ...baseReadModelOptions(demoUnits()) });

async function rebuilds(runDir: string, citizens: number, log: (m: string) => void): Promise<{ metrics: Metric[]; notes: string[] }> {
  const dataset = await ensureEventStore(runDir, citizens, log);
  const dir = freshDir(runDir, 'emmett-rebuild');
  const metrics: Metric[] = [];
  const notes: string[] = [];
  try {
    const emmettFile = join(dir, 'emmett.sqlite');
    const total = await fillEmmett(dataset, emmettFile, log);
    const results = new Map<string, number>();
    const record = (label: string, events: number, ms: number) => {
      results.set(label, rate(events, ms));
      metrics.push({ case: label, value: rate(events, ms), unit: 'events/s', extra: { events, seconds: ms / 1000 } });
      log(`${label}: ${rate(events, ms).toFixed(0)} events/s`);
    };

    // Ours: the Projector (what rebuild measures), and reading alone.
    {
      const store = await SqliteEventStore.open({ file: dataset.eventsFile });
      const readModel = readModelFor(dir, 'ours');
      const projector = new Projector({ store, target: readModel, batchSize: BATCH });
      const t0 = now();
      await projector.start();
      record('ours: Projector → read model', dataset.events, now() - t0);
      await projector.stop();
      readModel.close();
      let after = 0;
      let n = 0;
      const t1 = now();
      for (;;) {
        const batch = await store.readAll({ after, maxCount: BATCH });
        if (batch.length === 0) break;
        n += batch.length;
        after = batch[batch.length - 1]!.globalPosition;
      }
      record('ours: readAll alone', n, now() - t1);
      await store.close();
    }

    // Emmett's consumer API: a processor from the beginning, pulling 2 000 at a time without pauses. It
    // stores a checkpoint per message, so it is slow: bounded to the first CONSUMER_EVENTS events.
    const consumerEvents = Math.min(total, CONSUMER_EVENTS);
    {
      const store = getSQLiteEventStore({ fileName: emmettFile, schema: { autoMigration: 'None' } });
      const readModel = readModelFor(dir, 'emmett-consumer');
      let buffer: StoredEvent[] = [];
      let seen = 0;
      const consumer = store.consumer<EmEvent>({ pulling: { batchSize: BATCH, pullingFrequencyInMs: 0 } });
      consumer.processor<EmEvent>({
        processorId: 'bench-rebuild',
        startFrom: 'BEGINNING',
        stopAfter: (m) => Number(m.metadata.globalPosition) >= consumerEvents,
        eachMessage: (m) => {
          buffer.push(toStored(m as EmReadEvent));
          seen++;
          if (buffer.length >= BATCH) {
            readModel.applyBatch(buffer);
            buffer = [];
          }
        },
      });
      const t0 = now();
      await quietly(() => consumer.start());
      if (buffer.length) readModel.applyBatch(buffer);
      record("Emmett: consumer + processor → read model", seen, now() - t0);
      await consumer.close();
      readModel.close();
    }

    // Emmett's readMessagesBatch, folded the same way, and alone.
    {
      const conn = sqliteConnection({ fileName: emmettFile });
      const readModel = readModelFor(dir, 'emmett-batches');
      let after = 0n;
      let n = 0;
      const t0 = now();
      for (;;) {
        const { messages, currentGlobalPosition } = await readMessagesBatch<EmEvent>(conn, { after, batchSize: BATCH });
        if (messages.length === 0) break;
        readModel.applyBatch(messages.map((m) => toStored(m as EmReadEvent)));
        n += messages.length;
        after = currentGlobalPosition;
      }
      record('Emmett: readMessagesBatch → read model', n, now() - t0);
      // Same answers from both read models for a sample of citizens (positions match: same order).
      const ours = readModelFor(dir, 'ours');
      const asOf = Date.now();
      let compared = 0;
      for (let i = 0; i < Math.min(200, citizens); i += 7) {
        const id = `c-bench-${String(i).padStart(6, '0')}`;
        const [a, b] = [await ours.timeline(id, asOf, ALL_UNITS), await readModel.timeline(id, asOf, ALL_UNITS)];
        if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`read models differ for ${id}`);
        compared++;
      }
      notes.push(`the read model fed from Emmett equals ours (timelines of ${compared} citizens compared)`);
      ours.close();
      readModel.close();
      after = 0n;
      n = 0;
      const t1 = now();
      for (;;) {
        const { messages, currentGlobalPosition } = await readMessagesBatch<EmEvent>(conn, { after, batchSize: BATCH });
        if (messages.length === 0) break;
        n += messages.length;
        after = currentGlobalPosition;
      }
      record('Emmett: readMessagesBatch alone', n, now() - t1);
      conn.close();
    }

    const ratio = (label: string, a: string, b: string) => {
      const o = results.get(a)!;
      const t = results.get(b)!;
      metrics.push({ case: `ratio ours/Emmett: ${label}`, value: o / t, unit: '×', extra: { ours: o, Emmett: t } });
    };
    ratio('rebuild via its consumer API', 'ours: Projector → read model', 'Emmett: consumer + processor → read model');
    ratio('rebuild via readMessagesBatch', 'ours: Projector → read model', 'Emmett: readMessagesBatch → read model');
    ratio('reading alone', 'ours: readAll alone', 'Emmett: readMessagesBatch alone');
    notes.push(
      `rebuild comparison on ${dataset.citizens} citizens (${dataset.events} events), batches of ${BATCH}; the fold is the same read model for both; Emmett's consumer variant reads the first ${consumerEvents} events only (its rate is per event, so the ratio stands)`,
    );
  } finally {
    removeDir(dir);
  }
  return { metrics, notes };
}

const run: Benchmark = async ({ quick, citizens, runDir, log }) =>
  // Muted for the whole run: the probes leave failing Emmett operations behind (bounded drain), and each
  // failure would print its error on stdout.
  quietly(async () => {
    const a = await appends(runDir, quick, log);
    const r = await rebuilds(runDir, Math.min(citizens, quick ? 300 : 10_000), log);
    log('probing the failing concurrent configurations …');
    const p = await probes(runDir, quick);
    return { metrics: [...a.metrics, ...r.metrics, ...p], notes: [...a.notes, ...r.notes] };
  });

export default run;
