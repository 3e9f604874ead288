/**
 * The generated population the rebuild, citizen-query and emmett benchmarks share: N citizens from
 * `generateEvents` on the demo units (≈22 events per citizen), filled into a SqliteEventStore with
 * appendBatch in large batches (not timed by the benchmarks' targets), kept in the run folder so a later
 * benchmark of the same run reuses it.
 *
 * Two read-model configurations:
 * - the tracker's own, whatever `startTracker` wires today (projections + derived read models): built by
 *   starting the real tracker on the data folder, so the benchmark never drifts from the product;
 * - the base projections alone (`SqliteReadModel` with a projection context and no derivations): a stable
 *   configuration for the stage split and the Emmett comparison.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { now, rate } from './harness.ts';
import {
  DEMO_UNITS_FILE,
  SqliteEventStore,
  WorkingDayCalendar,
  createLogger,
  generateEvents,
  loadConfig,
  loadUnitsFile,
  startTracker,
  type ProjectionContext,
  type RunningTracker,
  type TransitionEvent,
  type UnitDirectory,
} from './workspace.ts';

/** The data scope of a coordinator who may see every unit (what development authentication grants). */
export const ALL_UNITS = { allUnits: true } as const;

export const DATASET_SEED = 7;
export const DATASET_ID_PREFIX = 'bench';
/** The generator's "now": fixed, so every run stores the same histories. */
export const DATASET_NOW = new Date('2026-03-02T12:00:00+01:00');
const FILL_BATCH = 20_000;

/** The handover-acceptance service level the tracker defaults to (10 hverdage). */
const HANDOVER_ACCEPTANCE_WORKING_DAYS = 10;

export const demoUnits = (): UnitDirectory => loadUnitsFile(DEMO_UNITS_FILE);

/** Options of a SqliteReadModel with the base projections only (timeline, citizens, responsibilities, handovers). */
export function baseReadModelOptions(units: UnitDirectory): { projection: ProjectionContext; configFingerprint: string } {
  const calendar = new WorkingDayCalendar();
  return {
    projection: { units, handoverAcceptanceDue: (ms) => calendar.addWorkingDays(ms, HANDOVER_ACCEPTANCE_WORKING_DAYS) },
    configFingerprint: createHash('sha256').update(JSON.stringify({ bench: 'base projections', units: units.units, HANDOVER_ACCEPTANCE_WORKING_DAYS })).digest('hex'),
  };
}

export const citizenIdOf = (index: number): string => `c-${DATASET_ID_PREFIX}-${String(index).padStart(6, '0')}`;

export interface Dataset {
  dir: string;
  citizens: number;
  /** events.sqlite and read-models.sqlite (the names startTracker uses) live in dir. */
  eventsFile: string;
  readModelFile: string;
  events: number;
  fillMs: number;
}

export function generated(citizens: number, units: UnitDirectory, startIndex = 0): Generator<TransitionEvent> {
  return generateEvents({ seed: DATASET_SEED, citizens, units, now: DATASET_NOW, idPrefix: DATASET_ID_PREFIX, startIndex });
}

/** The event store of `citizens` generated citizens, filled once per run (appendBatch of 20 000). */
export async function ensureEventStore(runDir: string, citizens: number, log: (m: string) => void): Promise<Dataset> {
  const dir = join(runDir, `dataset-${citizens}`);
  const eventsFile = join(dir, 'events.sqlite');
  const readModelFile = join(dir, 'read-models.sqlite');
  const marker = join(dir, 'events.ready.json');
  if (existsSync(marker)) {
    const { events, fillMs } = JSON.parse(readFileSync(marker, 'utf8')) as { events: number; fillMs: number };
    return { dir, citizens, eventsFile, readModelFile, events, fillMs };
  }
  rmSync(dir, { recursive: true, force: true });
  log(`filling the event store with ${citizens} generated citizens …`);
  const store = await SqliteEventStore.open({ file: eventsFile });
  const t0 = now();
  let events = 0;
  try {
    let chunk: TransitionEvent[] = [];
    for (const event of generated(citizens, demoUnits())) {
      chunk.push(event);
      if (chunk.length === FILL_BATCH) {
        events += (await store.appendBatch(chunk)).appended.length;
        chunk = [];
      }
    }
    if (chunk.length > 0) events += (await store.appendBatch(chunk)).appended.length;
  } finally {
    await store.close();
  }
  const fillMs = now() - t0;
  log(`filled ${events} events in ${(fillMs / 1000).toFixed(1)} s (${rate(events, fillMs).toFixed(0)} events/s, generation included)`);
  writeFileSync(marker, JSON.stringify({ events, fillMs }));
  return { dir, citizens, eventsFile, readModelFile, events, fillMs };
}

const readModelMarker = (dataset: Dataset) => join(dataset.dir, 'read-models.ready');

export function removeReadModel(dataset: Dataset): void {
  rmSync(readModelMarker(dataset), { force: true });
  for (const suffix of ['', '-wal', '-shm']) rmSync(dataset.readModelFile + suffix, { force: true });
}

/**
 * The tracker's read models of the dataset, built the way the product builds them: `startTracker` on the
 * folder projects from zero before it listens. Returns how long that start took (0 when already built).
 */
export async function ensureTrackerReadModel(dataset: Dataset, log: (m: string) => void): Promise<number> {
  if (existsSync(readModelMarker(dataset))) return 0;
  removeReadModel(dataset);
  log('starting the tracker on the dataset: it projects the read models from zero …');
  const t0 = now();
  const tracker = await startBenchTracker(dataset.dir);
  const ms = now() - t0;
  await tracker.close();
  writeFileSync(readModelMarker(dataset), '');
  log(`tracker start with a rebuild: ${(ms / 1000).toFixed(1)} s`);
  return ms;
}

/**
 * The real tracker (`startTracker`, as `pnpm start` runs it) on a data folder: demo off, any free port,
 * logging at the default level `info` into a sink (the lines are built and serialised as in production,
 * then dropped, so the benchmark output stays readable).
 */
export async function startBenchTracker(dataDir: string, logLevel: 'info' | 'warn' = 'info'): Promise<RunningTracker> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, DEMO: 'off', LOG_LEVEL: logLevel });
  const logger = createLogger({ level: config.logLevel, service: 'tracker-bench', destination: { write: () => {} } });
  return startTracker({ config, logger });
}
