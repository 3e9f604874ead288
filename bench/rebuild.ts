/**
 * rebuild: projection rebuild from zero. The store holds N generated citizens (default 100 000 ≈ 2.2 M
 * events; filled with appendBatch, not timed), then the read models are built from zero two ways:
 * - `new Projector({ store, target: new SqliteReadModel({ projection, configFingerprint }) }).start()`:
 *   the base projections (timeline, citizens, responsibilities, handovers), timed to the caught-up point;
 * - as the product does it: `startTracker` on the folder with no read models projects everything it wires
 *   today (base projections + derived read models) before it listens. Its time minus a restart's (read
 *   models current) is the rebuild; the derived read models cost the difference to the first case.
 *
 * Where the time goes (base projections), two ways:
 * - during the timed rebuild, the target is wrapped to time `applyBatch` (projectEvent + SQLite writes +
 *   the batch transaction); the rest of the wall time is the store side (SELECT, JSON.parse, building
 *   StoredEvents) and scheduling;
 * - a split pass over a sample of the same events times each stage alone: the raw SELECT (rows only),
 *   `readAll` (rows + JSON.parse + StoredEvent), `projectEvent` alone, and `applyBatch` into a fresh read
 *   model; SQLite writes ≈ applyBatch − projectEvent.
 * The tracker's read models stay in the dataset folder for citizen-query.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { join } from 'node:path';
import { freshDir, now, rate, removeDir, summarize, type Benchmark, type Metric } from './harness.ts';
import { baseReadModelOptions, demoUnits, ensureEventStore, ensureTrackerReadModel, removeReadModel, startBenchTracker } from './dataset.ts';
import { Projector, SqliteEventStore, SqliteReadModel, projectEvent, type ProjectionTarget, type StoredEvent } from './workspace.ts';

const TARGET_EVENTS_PER_SECOND = 300_000;
/** The projector's default batch size (the tracker uses the default). */
const BATCH = 2_000;
const SEGMENT = 100_000;

/** Times applyBatch and records the rate of every SEGMENT events. */
class TimedTarget implements ProjectionTarget {
  applyMs = 0;
  events = 0;
  batches = 0;
  readonly segmentRates: number[] = [];
  #segmentStart = now();
  #segmentEvents = 0;
  constructor(readonly inner: SqliteReadModel) {}
  get needsRebuild(): boolean {
    return this.inner.needsRebuild;
  }
  applyBatch(events: readonly StoredEvent[], options?: { deferDerivations?: boolean }): void {
    const t0 = now();
    this.inner.applyBatch(events, options);
    const t1 = now();
    this.applyMs += t1 - t0;
    this.events += events.length;
    this.batches++;
    this.#segmentEvents += events.length;
    if (this.#segmentEvents >= SEGMENT) {
      this.segmentRates.push(rate(this.#segmentEvents, t1 - this.#segmentStart));
      this.#segmentStart = t1;
      this.#segmentEvents = 0;
    }
  }
  deriveDeferred(): unknown {
    return this.inner.deriveDeferred();
  }
  checkpoint(): Promise<number> {
    return this.inner.checkpoint();
  }
  reset(): void {
    this.inner.reset();
  }
}

interface Split {
  events: number;
  selectMs: number;
  readAllMs: number;
  projectMs: number;
  applyMs: number;
  changes: number;
}

/** Each stage alone over the first `sample` events (fresh read model in a temp folder). */
async function splitPass(eventsFile: string, sample: number, dir: string): Promise<Split> {
  // The store's own connection has no public raw read; the same SELECT on a second connection gives the
  // cost of the rows alone (better-sqlite3 from the event-store package, which depends on it).
  const Database = createRequire(new URL('../packages/event-store/package.json', import.meta.url))('better-sqlite3') as typeof BetterSqlite3;
  const raw = new Database(eventsFile, { readonly: true });
  const select = raw.prepare(
    'SELECT global_position, event_id, citizen_id, stream_version, type, occurred_at, source, data, recorded_at FROM events WHERE global_position > ? ORDER BY global_position LIMIT ?',
  );
  const store = await SqliteEventStore.open({ file: eventsFile });
  const { projection, configFingerprint } = baseReadModelOptions(demoUnits());
  const readModel = new SqliteReadModel({ file: join(dir, 'split-read-models.sqlite'), projection, configFingerprint });
  const split: Split = { events: 0, selectMs: 0, readAllMs: 0, projectMs: 0, applyMs: 0, changes: 0 };
  try {
    let after = 0;
    while (split.events < sample) {
      const limit = Math.min(BATCH, sample - split.events);
      let t = now();
      const rows = select.all(after, limit) as unknown[];
      split.selectMs += now() - t;
      t = now();
      const batch = await store.readAll({ after, maxCount: limit });
      split.readAllMs += now() - t;
      if (batch.length === 0 || rows.length !== batch.length) break;
      t = now();
      for (const event of batch) split.changes += projectEvent(event, projection).length;
      split.projectMs += now() - t;
      t = now();
      readModel.applyBatch(batch);
      split.applyMs += now() - t;
      split.events += batch.length;
      after = batch[batch.length - 1]!.globalPosition;
    }
  } finally {
    raw.close();
    readModel.close();
    await store.close();
  }
  return split;
}

const run: Benchmark = async ({ quick, citizens, runDir, log }) => {
  const dataset = await ensureEventStore(runDir, citizens, log);

  // 1. Base projections: Projector + SqliteReadModel (no derived read models), into a fresh file.
  const baseDir = freshDir(runDir, 'rebuild-base');
  const store = await SqliteEventStore.open({ file: dataset.eventsFile });
  const readModel = new SqliteReadModel({ file: join(baseDir, 'read-models.sqlite'), ...baseReadModelOptions(demoUnits()) });
  const target = new TimedTarget(readModel);
  const projector = new Projector({ store, target, batchSize: BATCH });
  log(`rebuilding ${dataset.events} events (base projections) …`);
  const t0 = now();
  let rebuildMs: number;
  try {
    await projector.start();
    rebuildMs = now() - t0;
  } finally {
    await projector.stop();
    await store.close();
    readModel.close();
    removeDir(baseDir);
  }
  if (target.events !== dataset.events) throw new Error(`projected ${target.events} events, the store holds ${dataset.events}`);
  const eventsPerSecond = rate(target.events, rebuildMs);
  const storeSideMs = rebuildMs - target.applyMs;
  log(`base projections: ${eventsPerSecond.toFixed(0)} events/s (${(rebuildMs / 1000).toFixed(1)} s); applyBatch ${((100 * target.applyMs) / rebuildMs).toFixed(0)} %`);

  // 2. As the product rebuilds: startTracker projecting from zero, minus a restart with nothing to do.
  removeReadModel(dataset);
  const withRebuildMs = await ensureTrackerReadModel(dataset, log);
  const t1 = now();
  await (await startBenchTracker(dataset.dir)).close();
  const restartMs = now() - t1;
  const trackerRebuildMs = withRebuildMs - restartMs;
  log(`tracker: ${rate(dataset.events, trackerRebuildMs).toFixed(0)} events/s (${(trackerRebuildMs / 1000).toFixed(1)} s; restart ${(restartMs / 1000).toFixed(1)} s)`);

  const sample = Math.min(dataset.events, quick ? 50_000 : 300_000);
  const dir = freshDir(runDir, 'split');
  let split: Split;
  try {
    log(`split pass over ${sample} events …`);
    split = await splitPass(dataset.eventsFile, sample, dir);
  } finally {
    removeDir(dir);
  }
  const us = (ms: number) => (1000 * ms) / split.events;
  const parseMs = split.readAllMs - split.selectMs;
  const writeMs = split.applyMs - split.projectMs;
  const stageTotal = split.readAllMs + split.applyMs;
  const share = (ms: number) => `${((100 * ms) / stageTotal).toFixed(0)} %`;

  const metrics: Metric[] = [
    {
      case: `as the tracker rebuilds (projections + derived read models), ${dataset.citizens} citizens`,
      value: rate(dataset.events, trackerRebuildMs),
      unit: 'events/s',
      target: { cmp: '>=', value: TARGET_EVENTS_PER_SECOND },
      extra: {
        events: dataset.events,
        seconds: trackerRebuildMs / 1000,
        'startTracker with the rebuild': `${(withRebuildMs / 1000).toFixed(1)} s`,
        'restart with current read models': `${(restartMs / 1000).toFixed(1)} s`,
        'derived read models add': `${((1000 * (trackerRebuildMs - rebuildMs)) / dataset.events).toFixed(1)} µs/event`,
      },
    },
    {
      case: `Projector.start() from zero, base projections, ${dataset.citizens} citizens`,
      value: eventsPerSecond,
      unit: 'events/s',
      dist: summarize(target.segmentRates),
      distLabel: `events/s per ${SEGMENT / 1000}k`,
      target: { cmp: '>=', value: TARGET_EVENTS_PER_SECOND },
      extra: {
        events: target.events,
        seconds: rebuildMs / 1000,
        'applyBatch (project + write)': `${((100 * target.applyMs) / rebuildMs).toFixed(0)} %`,
        'store side (read + parse + scheduling)': `${((100 * storeSideMs) / rebuildMs).toFixed(0)} %`,
        'fill (appendBatch 20k, generation included, untimed)': `${rate(dataset.events, dataset.fillMs).toFixed(0)} events/s`,
      },
    },
    {
      case: `split over ${split.events} events: µs per event`,
      value: us(stageTotal),
      unit: 'µs/event',
      extra: {
        'SELECT rows': `${us(split.selectMs).toFixed(2)} µs (${share(split.selectMs)})`,
        'JSON.parse + StoredEvent': `${us(parseMs).toFixed(2)} µs (${share(parseMs)})`,
        projectEvent: `${us(split.projectMs).toFixed(2)} µs (${share(split.projectMs)})`,
        'SQLite writes (applyBatch − projectEvent)': `${us(writeMs).toFixed(2)} µs (${share(writeMs)})`,
        'changes per event': (split.changes / split.events).toFixed(2),
        'ceiling if only the store side remained': `${rate(split.events, split.readAllMs).toFixed(0)} events/s`,
        'ceiling if only projectEvent + writes remained': `${rate(split.events, split.applyMs).toFixed(0)} events/s`,
      },
    },
  ];
  return {
    metrics,
    notes: [
      `batch size ${BATCH} (the projector's default, as the tracker runs it); read models: WAL, synchronous NORMAL, one transaction per batch`,
      'the split pass runs each stage alone on the same events, in one process and one thread like the projector',
    ],
  };
};

export default run;
