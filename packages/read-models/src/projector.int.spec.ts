import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { DEMO_UNITS_FILE, ManualClock, loadUnitsFile, type TransitionEvent } from '@tracker/domain';
import { SqliteEventStore } from '@tracker/event-store';
import { Projector } from './projector.ts';
import { SqliteReadModel } from './sqlite/sqliteReadModel.ts';
import type { CitizenDerivation } from './derived.ts';

const units = loadUnitsFile(DEMO_UNITS_FILE);
const projection = { units, handoverAcceptanceDue: (ms: number) => ms + 86_400_000 };
const clock = new ManualClock('2026-01-01T00:00:00Z');

const contact = (citizenId: string, day: number): TransitionEvent => ({
  id: randomUUID(),
  type: 'ContactReceived',
  citizenId,
  occurredAt: `2025-01-${String(day).padStart(2, '0')}T10:00:00+01:00`,
  data: { contactId: `kt-${day}`, unitId: '0751-modtagelse', from: 'citizen' },
});

/** Counts how often each citizen is derived, and stores how many events it saw. */
function countingDerivation() {
  const derivedTimes = new Map<string, number>();
  const derivation: CitizenDerivation = {
    name: 'counting',
    version: 1,
    tables: [{ name: 'event_counts', columns: { events: 'integer' } }],
    derive: (citizenId, history) => {
      derivedTimes.set(citizenId, (derivedTimes.get(citizenId) ?? 0) + 1);
      return { event_counts: [{ events: history.length }] };
    },
  };
  return { derivation, derivedTimes };
}

const counts = (model: SqliteReadModel) => model.database.prepare('SELECT citizen_id, events FROM event_counts ORDER BY citizen_id').all();

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('Projector', () => {
  it('derives each citizen once after catching up, then every live batch at once', async () => {
    const store = await SqliteEventStore.open({ file: ':memory:', clock });
    // Interleaved, so every citizen is spread over several batches of two.
    await store.appendBatch([1, 2, 3, 4, 5].flatMap((day) => ['c-a', 'c-b', 'c-c'].map((c) => contact(c, day))));
    const { derivation, derivedTimes } = countingDerivation();
    const model = new SqliteReadModel({ file: ':memory:', projection, configFingerprint: 'p', derived: [derivation] });
    const projector = new Projector({ store, target: model, batchSize: 2 });
    cleanups.push(async () => (await projector.stop(), await store.close(), model.close()));

    await projector.start();
    expect(Object.fromEntries(derivedTimes)).toEqual({ 'c-a': 1, 'c-b': 1, 'c-c': 1 });
    expect(counts(model)).toEqual([
      { citizen_id: 'c-a', events: 5 },
      { citizen_id: 'c-b', events: 5 },
      { citizen_id: 'c-c', events: 5 },
    ]);

    const { appended } = await store.appendBatch([contact('c-b', 6)]);
    await projector.waitFor(appended[0]!.globalPosition);
    expect(derivedTimes.get('c-b')).toBe(2);
    expect(counts(model)[1]).toEqual({ citizen_id: 'c-b', events: 6 });
  });

  it('finishes the derivations of a catch-up that was interrupted', async () => {
    const store = await SqliteEventStore.open({ file: ':memory:', clock });
    await store.appendBatch([contact('c-d', 1), contact('c-d', 2)]);
    const { derivation } = countingDerivation();
    const model = new SqliteReadModel({ file: ':memory:', projection, configFingerprint: 'p', derived: [derivation] });
    cleanups.push(async () => (await store.close(), model.close()));

    // A catch-up that stopped after its batches, before replaying the deferred derivations.
    model.applyBatch(await store.readAll(), { deferDerivations: true });
    expect(counts(model)).toEqual([]);

    const projector = new Projector({ store, target: model });
    await projector.start();
    await projector.stop();
    expect(counts(model)).toEqual([{ citizen_id: 'c-d', events: 2 }]);
  });
});
