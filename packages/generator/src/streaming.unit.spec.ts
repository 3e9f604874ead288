import { DEMO_UNITS_FILE, loadUnitsFile } from '@tracker/domain';
import { describe, expect, it } from 'vitest';
import { generateCitizens } from './index.ts';

// A file of its own: a fresh worker heap, so this measures streaming, not the garbage of other tests.
describe('generateCitizens at benchmark scale', () => {
  it('streams 100k citizens (over a million events) without keeping them', () => {
    const units = loadUnitsFile(DEMO_UNITS_FILE);
    let citizens = 0;
    let events = 0;
    for (const c of generateCitizens({ seed: 7, citizens: 100_000, units, now: new Date('2025-06-15T10:00:00+02:00'), idPrefix: 'bench' })) {
      citizens++;
      events += c.events.length;
    }
    expect(citizens).toBe(100_000);
    expect(events).toBeGreaterThan(1_000_000);
  });
});
