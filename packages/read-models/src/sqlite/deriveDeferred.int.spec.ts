/**
 * The deferred derivation of a catch-up on SQLite (`deriveDeferred`), which takes shortcuts when it
 * rebuilds from zero (no DELETEs into empty tables, indexes built at the end, a chunk's histories
 * read in one query): its rows must be exactly the rows incremental processing
 * writes, each citizen's once, and the indexes must be there whenever anything can query.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_UNITS_FILE, ManualClock, loadPolicies, loadUnitsFile, type StoredEvent } from '@tracker/domain';
import { SqliteEventStore } from '@tracker/event-store';
import { deliverLate, generateCitizens } from '@tracker/generator';
import type { CitizenDerivation, DerivedRow } from '../derived.ts';
import { createFlowDerivation } from '../flows/flowDerivation.ts';
import { deadlineDerivation } from '../deadlines/deadlineDerivation.ts';
import { gapsDerivation } from '../gaps/gapsDerivation.ts';
import { StoredEventFactory } from '../testing/storedEvents.ts';
import { SqliteReadModel } from './sqliteReadModel.ts';

const units = loadUnitsFile(DEMO_UNITS_FILE);
const policies = loadPolicies(undefined);
const handoverAcceptanceDue = policies.dueFunction('overdragelse-accept', { amount: 10, unit: 'workingDays' });
const relativeAnswerDue = policies.dueFunction('paarorende-svar', { amount: 10, unit: 'workingDays' });
const projection = { units, handoverAcceptanceDue };
const NOW = new Date('2026-06-01T12:00:00+02:00');

/** What the tracker derives. */
const trackerDerivations = (): CitizenDerivation[] => [
  gapsDerivation({ units, handoverAcceptanceDue, relativeAnswerDue }),
  createFlowDerivation(units),
  deadlineDerivation({ policies, units }),
];

const open = (derived: readonly CitizenDerivation[]) => new SqliteReadModel({ file: ':memory:', projection, configFingerprint: 'derive-deferred', derived });

const derivedTables = (derived: readonly CitizenDerivation[]) => derived.flatMap((d) => d.tables.map((t) => t.name));

/** Every row of every derived table, in a total order (all columns). */
function allDerivedRows(model: SqliteReadModel, derived: readonly CitizenDerivation[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const table of derived.flatMap((d) => d.tables)) {
    const columns = ['citizen_id', ...Object.keys(table.columns)];
    out[table.name] = model.database.prepare(`SELECT ${columns.join(', ')} FROM ${table.name} ORDER BY ${columns.join(', ')}`).all();
  }
  return out;
}

/** The indexes on the derived tables, by table. */
function derivedIndexes(model: SqliteReadModel, derived: readonly CitizenDerivation[]): string[] {
  return model.database
    .prepare<string[], string>(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN (${derivedTables(derived).map(() => '?').join(', ')}) ORDER BY name`)
    .pluck(true)
    .all(...derivedTables(derived));
}

async function storedHistories(seed: number, citizens: number): Promise<StoredEvent[]> {
  const generated = [...generateCitizens({ seed, citizens, units, now: NOW, anomalyRate: 0.5 })];
  const store = await SqliteEventStore.open({ file: ':memory:', clock: new ManualClock(NOW) });
  try {
    // Late and duplicated deliveries spread each citizen over many batches, out of world order.
    await store.appendBatch(deliverLate(generated, { seed, lateShare: 0.4, maxDelaySteps: 40, duplicateShare: 0.1 }));
    return await store.readAll({ after: 0, maxCount: 1_000_000 });
  } finally {
    await store.close();
  }
}

const batches = <T>(items: readonly T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** One row per event of the citizen, so a citizen's rows written twice would show. */
function eventsTable(fail: (citizenId: string) => boolean = () => false): CitizenDerivation {
  return {
    name: 'events-per-citizen',
    version: 1,
    tables: [{ name: 'citizen_events', columns: { event_id: 'text', position: 'integer', type: 'text' }, indexes: [['position'], ['type', 'position']] }],
    derive: (citizenId, history) => {
      if (fail(citizenId)) throw new Error('derivation failed (test)');
      return { citizen_events: history.map((e): DerivedRow => ({ event_id: e.id, position: e.globalPosition, type: e.type })) };
    },
  };
}

describe('SQLite deferred derivation (catch-up and rebuild)', () => {
  it('writes exactly the rows incremental processing writes, for generated histories and the tracker derivations', async () => {
    for (const seed of [3, 17]) {
      const events = await storedHistories(seed, 12);
      const derived = trackerDerivations();
      const incremental = open(derived);
      const rebuilt = open(derived);
      try {
        for (const batch of batches(events, 7)) incremental.applyBatch(batch);
        for (const batch of batches(events, 7)) rebuilt.applyBatch(batch, { deferDerivations: true });
        // Small chunks: several transactions, each reading its citizens' histories in one query.
        expect(rebuilt.deriveDeferred(5)).toBe(12);
        const expected = allDerivedRows(incremental, derived);
        expect(Object.values(expected).some((rows) => rows.length > 0)).toBe(true);
        expect(allDerivedRows(rebuilt, derived)).toEqual(expected);
        expect(derivedIndexes(rebuilt, derived)).toEqual(derivedIndexes(incremental, derived));
      } finally {
        incremental.close();
        rebuilt.close();
      }
    }
  });

  it('never writes a citizen’s rows twice when the citizen is derived twice in one catch-up', () => {
    const make = new StoredEventFactory();
    const derived = [eventsTable()];
    const model = open(derived);
    try {
      const first = [make.event('c-1', 'CaseOpened', '2025-02-01T10:00:00+01:00', { caseId: 'k', unitId: '0751-ppr' }), make.event('c-2', 'CaseOpened', '2025-02-01T10:00:00+01:00', { caseId: 'k', unitId: '0751-ppr' })];
      model.applyBatch(first, { deferDerivations: true });
      // A batch after the catch-up's end derives c-1 at once, while c-1 is still marked from before.
      const live = make.event('c-1', 'CaseClosed', '2025-03-01T10:00:00+01:00', { caseId: 'k' });
      model.applyBatch([live]);
      expect(model.deriveDeferred()).toBe(2);
      // And a second catch-up (a restart) marks and derives c-1 again.
      const late = make.event('c-1', 'NotificationReceived', '2025-01-01T10:00:00+01:00', { notificationId: 'n', unitId: '0751-modtagelse', notifier: 'private' });
      model.applyBatch([late], { deferDerivations: true });
      expect(model.deriveDeferred()).toBe(1);
      expect(model.database.prepare('SELECT citizen_id, event_id FROM citizen_events ORDER BY position').all()).toEqual([
        { citizen_id: 'c-1', event_id: first[0]!.id },
        { citizen_id: 'c-2', event_id: first[1]!.id },
        { citizen_id: 'c-1', event_id: live.id },
        { citizen_id: 'c-1', event_id: late.id },
      ]);
    } finally {
      model.close();
    }
  });

  it('resumes a catch-up whose derivation failed half-way without duplicates, its indexes in place', () => {
    const make = new StoredEventFactory();
    let failing = true;
    const derived = [eventsTable((citizenId) => failing && citizenId === 'c-3')];
    const model = open(derived);
    try {
      const indexes = derivedIndexes(model, derived);
      expect(indexes).toEqual(['citizen_events_by_citizen', 'citizen_events_by_position', 'citizen_events_by_type_position']);
      const events = ['c-1', 'c-2', 'c-3', 'c-4'].map((id) => make.event(id, 'CaseOpened', '2025-02-01T10:00:00+01:00', { caseId: 'k', unitId: '0751-ppr' }));
      model.applyBatch(events, { deferDerivations: true });
      // Chunks of two: c-1 and c-2 commit, then c-3 fails.
      expect(() => model.deriveDeferred(2)).toThrow('derivation failed (test)');
      expect(derivedIndexes(model, derived)).toEqual(indexes);
      expect(model.database.prepare('SELECT citizen_id FROM citizen_events ORDER BY citizen_id').pluck(true).all()).toEqual(['c-1', 'c-2']);
      failing = false;
      expect(model.deriveDeferred(2)).toBe(2);
      expect(model.database.prepare('SELECT citizen_id FROM citizen_events ORDER BY citizen_id').pluck(true).all()).toEqual(['c-1', 'c-2', 'c-3', 'c-4']);
      expect(derivedIndexes(model, derived)).toEqual(indexes);
    } finally {
      model.close();
    }
  });

  it('creates missing derived indexes when opened (a crash between dropping and building them)', () => {
    const derived = [eventsTable()];
    const dir = mkdtempSync(join(tmpdir(), 'derive-deferred-'));
    try {
      const file = join(dir, 'read-models.sqlite');
      const first = new SqliteReadModel({ file, projection, configFingerprint: 'derive-deferred', derived });
      const indexes = derivedIndexes(first, derived);
      for (const name of indexes) first.database.exec(`DROP INDEX ${name}`);
      expect(derivedIndexes(first, derived)).toEqual([]);
      first.close();
      const reopened = new SqliteReadModel({ file, projection, configFingerprint: 'derive-deferred', derived });
      expect(derivedIndexes(reopened, derived)).toEqual(indexes);
      reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a chunk size it cannot query in one statement, naming the field', () => {
    const model = open([eventsTable()]);
    try {
      for (const chunk of [0, 1.5, 100_000]) expect(() => model.deriveDeferred(chunk)).toThrow(/chunk must be a whole number of citizens from 1 to 16384/);
    } finally {
      model.close();
    }
  });

  it('writes a citizen’s many rows of many columns, rebuilding and replacing', () => {
    const columns = Object.fromEntries(Array.from({ length: 700 }, (_, i) => [`c${i}`, 'integer' as const]));
    const wide: CitizenDerivation = {
      name: 'wide',
      version: 1,
      tables: [{ name: 'wide_rows', columns }],
      // 130 rows × 701 parameters: more than one INSERT's worth, in both the rebuild and the replace path.
      derive: (_citizenId, history) => ({ wide_rows: Array.from({ length: 130 }, (_, row) => Object.fromEntries(Object.keys(columns).map((c, i) => [c, i === 0 ? row : history.length]))) }),
    };
    const make = new StoredEventFactory();
    const model = open([wide]);
    try {
      model.applyBatch([make.event('c-1', 'CaseOpened', '2025-02-01T10:00:00+01:00', { caseId: 'k', unitId: '0751-ppr' })], { deferDerivations: true });
      model.deriveDeferred();
      model.applyBatch([make.event('c-1', 'CaseClosed', '2025-03-01T10:00:00+01:00', { caseId: 'k' })]);
      const stored = model.database.prepare('SELECT count(*) AS rows, count(DISTINCT c0) AS distinct_rows, min(c699) AS low, max(c699) AS high FROM wide_rows').get();
      expect(stored).toEqual({ rows: 130, distinct_rows: 130, low: 2, high: 2 });
    } finally {
      model.close();
    }
  });
});
