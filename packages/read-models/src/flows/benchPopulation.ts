/**
 * The benchmarks' population: generated citizens projected into SQLite read models with the flow
 * derivation, built once per (seed, citizens, now) and kept in the temp folder for later runs.
 * Not part of the package's API; used by flows.bench.ts and exports.bench.ts.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_UNITS_FILE, loadUnitsFile, type StoredEvent, type UnitDirectory } from '@tracker/domain';
import { generateCitizens } from '@tracker/generator';
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import { createFlowDerivation } from './flowDerivation.ts';

export interface BenchPopulation {
  model: SqliteReadModel;
  units: UnitDirectory;
  file: string;
  citizens: number;
  events: number;
  /** Seconds spent projecting, or null when the population was already built. */
  buildSeconds: number | null;
}

export const BENCH_NOW = new Date('2026-01-15T12:00:00+01:00');

export function benchPopulation({ citizens = 100_000, seed = 7, rebuild = false } = {}): BenchPopulation {
  const units = loadUnitsFile(DEMO_UNITS_FILE);
  const dir = join(tmpdir(), 'tracker-bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `read-models-${seed}-${citizens}-${BENCH_NOW.getTime()}.sqlite`);
  const complete = (model: SqliteReadModel) =>
    model.database.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'bench-events'`).get()?.value;
  if (rebuild || existsSync(file)) {
    if (!rebuild) {
      const model = open(file, units);
      const events = complete(model);
      if (events !== undefined) return { model, units, file, citizens, events: Number(events), buildSeconds: null };
      model.close();
    }
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  }

  const model = open(file, units);
  const started = performance.now();
  let position = 0;
  let batch: StoredEvent[] = [];
  const recordedAt = BENCH_NOW.toISOString();
  for (const citizen of generateCitizens({ seed, citizens, units, now: BENCH_NOW, idPrefix: 'bench' })) {
    citizen.events.forEach((e, i) => batch.push({ ...e, recordedAt, streamVersion: i, globalPosition: ++position } as StoredEvent));
    // The projector's batch size: a batch touches a few hundred citizens, each derived once per batch.
    if (batch.length >= 2_000) {
      model.applyBatch(batch);
      batch = [];
    }
  }
  model.applyBatch(batch);
  model.database.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('bench-events', ?)`).run(String(position));
  model.database.pragma('wal_checkpoint(TRUNCATE)');
  return { model, units, file, citizens, events: position, buildSeconds: (performance.now() - started) / 1000 };
}

function open(file: string, units: UnitDirectory): SqliteReadModel {
  return new SqliteReadModel({
    file,
    projection: { units, handoverAcceptanceDue: (ms) => ms + 14 * 86_400_000 },
    configFingerprint: 'bench',
    derived: [createFlowDerivation(units)],
  });
}
