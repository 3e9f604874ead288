/**
 * Properties of the gap rules over generated histories (pure; the generator lives beside the read
 * models, so these tests do too):
 * - time travel equals truncation: the gaps computed from the whole history and restricted to asOf
 *   equal those computed from only the facts that had occurred by asOf — the assumption that lets the
 *   read model store intervals once and answer any asOf (derived.ts);
 * - anomalies: exactly the contradictions the generator injects are found, and none in clean histories.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  analyseCitizen,
  anomaliesAsOf,
  DEMO_UNITS_FILE,
  gapsAsOf,
  instantMs,
  loadUnitsFile,
  relativesAsOf,
  WorkingDayCalendar,
  type StreamAnomalyKind,
  type GapRules,
} from '@tracker/domain';
import { generateCitizens, type GeneratedCitizen } from '@tracker/generator';

const units = loadUnitsFile(DEMO_UNITS_FILE);
const hverdage = new WorkingDayCalendar();
const rules: GapRules = {
  sectorOf: (id) => units.sectorOf(id),
  handoverAcceptanceDue: (ms) => hverdage.addWorkingDays(ms, 10),
  relativeAnswerDue: (ms) => hverdage.addWorkingDays(ms, 10),
};
const NOW = new Date('2026-06-01T12:00:00+02:00');

const INJECTED: Record<NonNullable<GeneratedCitizen['anomalies']>[number]['kind'], StreamAnomalyKind> = {
  'acceptance-without-initiation': 'HANDOVER_NOT_INITIATED',
  'close-unopened-case': 'CASE_NOT_OPEN',
  'duplicate-initiation': 'HANDOVER_INITIATED_TWICE',
};

describe('gap rules over generated histories', () => {
  it('time travel equals truncation: gaps at asOf depend only on facts that had occurred by asOf', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom(0, 0.3),
        (seed, fractions, anomalyRate) => {
          for (const citizen of generateCitizens({ seed, citizens: 6, units, now: NOW, anomalyRate })) {
            const whole = analyseCitizen(citizen.events, rules);
            const first = instantMs(citizen.events[0]!.occurredAt);
            const span = NOW.getTime() + 3 * 365 * 86_400_000 - first;
            for (const f of fractions) {
              const asOf = Math.floor(first - 1 + f * span);
              const known = citizen.events.filter((e) => instantMs(e.occurredAt) <= asOf);
              const truncated = analyseCitizen(known, rules);
              expect(gapsAsOf(whole.gaps, asOf)).toEqual(gapsAsOf(truncated.gaps, asOf));
              expect(anomaliesAsOf(whole.anomalies, asOf)).toEqual(anomaliesAsOf(truncated.anomalies, asOf));
              expect(relativesAsOf(whole.relativeFacts, asOf)).toEqual(relativesAsOf(truncated.relativeFacts, asOf));
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('finds every contradiction the generator injects, and nothing in consistent histories', () => {
    let injected = 0;
    for (const citizen of generateCitizens({ seed: 11, citizens: 1500, units, now: NOW, anomalyRate: 0.5 })) {
      const found = analyseCitizen(citizen.events, rules).anomalies.map((a) => `${a.kind}@${a.eventId}`);
      const expected = (citizen.anomalies ?? []).map((a) => `${INJECTED[a.kind]}@${a.eventId}`);
      injected += expected.length;
      expect(found).toEqual(expected);
    }
    expect(injected).toBeGreaterThan(500);
  });

  it('gives every gap kind on a generated population', () => {
    const kinds = new Map<string, number>();
    for (const citizen of generateCitizens({ seed: 3, citizens: 3000, units, now: NOW })) {
      for (const gap of analyseCitizen(citizen.events, rules).gaps) kinds.set(gap.kind, (kinds.get(gap.kind) ?? 0) + 1);
    }
    expect([...kinds.keys()].sort()).toEqual(['AGE_CLIFF', 'HANDOVER_PENDING', 'HANDOVER_REJECTED', 'PING_PONG', 'RELATIVE_UNANSWERED', 'REPRESENTATION_LOST', 'UNCOVERED']);
  });
});
