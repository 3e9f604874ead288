import { DEMO_UNITS_FILE, loadUnitsFile } from '@tracker/domain';
import { describe, expect, it } from 'vitest';
import { deliverLate } from './deliverLate.ts';
import { generateCitizens } from './generateCitizens.ts';

const units = loadUnitsFile(DEMO_UNITS_FILE);
const citizens = [...generateCitizens({ seed: 99, citizens: 60, units, now: new Date('2025-06-15T10:00:00+02:00') })];
const events = citizens.flatMap((c) => c.events);
const inOrder = events
  .map((e, i) => ({ e, i, at: Date.parse(e.occurredAt) }))
  .sort((a, b) => a.at - b.at || a.i - b.i)
  .map((x) => x.e);

describe('deliverLate', () => {
  it('delivers everything once, in occurredAt order when nothing is late', () => {
    const arrival = deliverLate(citizens, { seed: 1, lateShare: 0, maxDelaySteps: 5 });
    expect(arrival).toEqual(inOrder);
  });

  it('is deterministic for a seed, accepts events as well as citizens, and returns a permutation', () => {
    const options = { seed: 5, lateShare: 0.2, maxDelaySteps: 30 };
    const a = deliverLate(citizens, options);
    expect(deliverLate(events, options)).toEqual(a);
    expect(deliverLate(citizens, { ...options, seed: 6 })).not.toEqual(a);
    expect(a.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('lets a share arrive late, each overtaken by at most maxDelaySteps later events', () => {
    const maxDelaySteps = 25;
    const arrival = deliverLate(citizens, { seed: 7, lateShare: 0.1, maxDelaySteps });
    const orderIndex = new Map(inOrder.map((e, i) => [e.id, i]));
    let late = 0;
    let outOfOrderWithinCitizen = 0;
    const lastSeen = new Map<string, number>();
    arrival.forEach((e, position) => {
      const index = orderIndex.get(e.id)!;
      // events that occurred after e but arrived before it
      const overtakers = arrival.slice(0, position).filter((x) => orderIndex.get(x.id)! > index).length;
      expect(overtakers).toBeLessThanOrEqual(maxDelaySteps);
      if (overtakers > 0) late++;
      const previous = lastSeen.get(e.citizenId);
      if (previous !== undefined && previous > index) outOfOrderWithinCitizen++;
      lastSeen.set(e.citizenId, Math.max(previous ?? -1, index));
    });
    expect(late / arrival.length).toBeGreaterThan(0.05);
    expect(late / arrival.length).toBeLessThan(0.15);
    expect(outOfOrderWithinCitizen).toBeGreaterThan(0);
  });

  it('can send some events twice, the copy after the original', () => {
    const arrival = deliverLate(citizens, { seed: 8, lateShare: 0.05, maxDelaySteps: 10, duplicateShare: 0.05 });
    expect(arrival.length).toBeGreaterThan(events.length);
    const firstAt = new Map<string, number>();
    arrival.forEach((e, i) => {
      if (!firstAt.has(e.id)) firstAt.set(e.id, i);
    });
    expect(firstAt.size).toBe(events.length);
  });

  it('refuses nonsensical options', () => {
    expect(() => deliverLate(events, { seed: 1, lateShare: 2, maxDelaySteps: 3 })).toThrow(RangeError);
    expect(() => deliverLate(events, { seed: 1, lateShare: 0.1, maxDelaySteps: 0 })).toThrow(RangeError);
  });
});
