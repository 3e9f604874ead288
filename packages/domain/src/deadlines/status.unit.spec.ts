import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WorkingDayCalendar } from '../calendar/workingDayCalendar.ts';
import { formatDeadlineInstant, parseInstant } from './instants.ts';
import { loadPolicies } from './policies.ts';
import { alertTransitions, atRiskInstant, atRiskSpanBound, deadlineStatusAt, latenessOf } from './status.ts';

const calendar = new WorkingDayCalendar();
const ms = (iso: string) => Date.parse(iso);
const H = 3_600_000;

describe('status at an instant', () => {
  const clock = { atRiskAt: 75, dueAt: 100, stoppedAt: null };
  it('is PENDING, AT_RISK, then BREACHED at the due instant', () => {
    expect(deadlineStatusAt(clock, 74)).toBe('PENDING');
    expect(deadlineStatusAt(clock, 75)).toBe('AT_RISK');
    expect(deadlineStatusAt(clock, 99)).toBe('AT_RISK');
    expect(deadlineStatusAt(clock, 100)).toBe('BREACHED');
  });
  it('counts a stop only from its instant, MET before due, BREACHED at or after', () => {
    expect(deadlineStatusAt({ ...clock, stoppedAt: 99 }, 98)).toBe('AT_RISK');
    expect(deadlineStatusAt({ ...clock, stoppedAt: 99 }, 99)).toBe('MET');
    expect(deadlineStatusAt({ ...clock, stoppedAt: 99 }, 1_000)).toBe('MET');
    expect(deadlineStatusAt({ ...clock, stoppedAt: 100 }, 1_000)).toBe('BREACHED');
    expect(deadlineStatusAt({ ...clock, stoppedAt: 50 }, 60)).toBe('MET');
  });
});

describe('the at-risk instant', () => {
  it('is a share of absolute time for hours, days, weeks, months and ages', () => {
    const start = ms('2025-03-29T12:00:00+01:00');
    const due = start + 24 * H;
    expect(atRiskInstant(start, due, { kind: 'duration', amount: 24, unit: 'hours' }, 0.75, calendar)).toBe(start + 18 * H);
    expect(atRiskInstant(start, due, { kind: 'age', age: { years: 18, months: 0 } }, 0.5, calendar)).toBe(start + 12 * H);
  });

  it('counts hverdage as whole local days, 23 or 25 hours long across DST', () => {
    const start = ms('2025-10-23T10:00:00+02:00'); // Thu; Fri 24, Mon 27 (after the change), …
    const limit = { kind: 'duration', amount: 2, unit: 'workingDays' } as const;
    const due = calendar.addWorkingDays(start, 2);
    expect(formatDeadlineInstant(due)).toBe('2025-10-28T00:00:00+01:00');
    // 1.5 of 2: noon of Monday 27 October
    expect(formatDeadlineInstant(atRiskInstant(start, due, limit, 0.75, calendar))).toBe('2025-10-27T12:00:00+01:00');
    // exactly 1 of 2: the end of Friday, Saturday 00:00
    expect(formatDeadlineInstant(atRiskInstant(start, due, limit, 0.5, calendar))).toBe('2025-10-25T00:00:00+02:00');
    // on the 25-hour Sunday itself no hverdag is used; a Sunday start counts from Monday
    const sunday = ms('2025-10-26T12:00:00+01:00');
    expect(formatDeadlineInstant(atRiskInstant(sunday, calendar.addWorkingDays(sunday, 1), { ...limit, amount: 1 }, 0.5, calendar))).toBe('2025-10-27T12:00:00+01:00');
  });

  it('never comes after the due instant', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: ms('2000-01-01T00:00:00Z'), max: ms('2040-01-01T00:00:00Z') }),
        fc.integer({ min: 0, max: 60 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (start, n, threshold) => {
          const limit = { kind: 'duration', amount: n, unit: 'workingDays' } as const;
          const due = calendar.addWorkingDays(start, n);
          const risk = atRiskInstant(start, due, limit, threshold, calendar);
          expect(risk).toBeLessThanOrEqual(due);
          expect(risk).toBeGreaterThanOrEqual(start);
          if (threshold === 1) expect(risk).toBe(due);
        },
      ),
    );
  });
});

describe('lateness', () => {
  const due = ms('2025-04-26T00:00:00+02:00'); // end of Friday 25 April
  it('counts hverdage begun since due: 0 over the weekend, 1 from Monday', () => {
    expect(latenessOf(due, due - 1, 'workingDays', calendar)).toBe(0);
    expect(latenessOf(due, ms('2025-04-27T12:00:00+02:00'), 'workingDays', calendar)).toBe(0);
    expect(latenessOf(due, ms('2025-04-28T00:00:00+02:00'), 'workingDays', calendar)).toBe(1);
    expect(latenessOf(due, ms('2025-04-29T09:00:00+02:00'), 'workingDays', calendar)).toBe(2);
  });
  it('in hours and 24-hour days', () => {
    expect(latenessOf(due, due + 90 * 60_000, 'hours', calendar)).toBe(1.5);
    expect(latenessOf(due, due + 36 * H, 'days', calendar)).toBe(1.5);
    expect(latenessOf(due, due - H, 'days', calendar)).toBe(0);
  });
});

describe('alert transitions', () => {
  const base = { atRiskAt: 75, dueAt: 100, stoppedAt: null, visibleFrom: 0, visibleUntil: null };
  it('AT_RISK then BREACHED for a clock never stopped', () => {
    expect(alertTransitions(base)).toEqual([
      { kind: 'AT_RISK', at: 75 },
      { kind: 'BREACHED', at: 100 },
    ]);
  });
  it('nothing after a stop in time; only AT_RISK when stopped after it', () => {
    expect(alertTransitions({ ...base, stoppedAt: 50 })).toEqual([]);
    expect(alertTransitions({ ...base, stoppedAt: 75 })).toEqual([]);
    expect(alertTransitions({ ...base, stoppedAt: 80 })).toEqual([{ kind: 'AT_RISK', at: 75 }]);
  });
  it('BREACHED and MET_LATE for a stop at or after due', () => {
    expect(alertTransitions({ ...base, stoppedAt: 100 })).toEqual([
      { kind: 'AT_RISK', at: 75 },
      { kind: 'BREACHED', at: 100 },
      { kind: 'MET_LATE', at: 100 },
    ]);
  });
  it('a clock known only late changes when it becomes known, and only within its window', () => {
    expect(alertTransitions({ ...base, visibleFrom: 90 })).toEqual([
      { kind: 'AT_RISK', at: 90 },
      { kind: 'BREACHED', at: 100 },
    ]);
    expect(alertTransitions({ ...base, visibleFrom: 120 })).toEqual([{ kind: 'BREACHED', at: 120 }]);
    expect(alertTransitions({ ...base, visibleFrom: 0, visibleUntil: 80 })).toEqual([{ kind: 'AT_RISK', at: 75 }]);
  });
});

describe('instants', () => {
  it('parse like Date.parse for every catalog shape', () => {
    for (const iso of ['2025-03-01T09:30:00+01:00', '2025-03-01T09:30+01:00', '2025-03-01T08:30:00Z', '2025-03-01T08:30:00.123Z', '2025-03-01T08:30:00.5-03:30', '1999-12-31T23:59:59.999+14:00']) {
      expect(parseInstant(iso)).toBe(Date.parse(iso));
    }
    fc.assert(
      fc.property(fc.date({ min: new Date('1950-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }), (d) => {
        expect(parseInstant(d.toISOString())).toBe(d.getTime());
        expect(parseInstant(formatDeadlineInstant(d.getTime()))).toBe(d.getTime());
      }),
    );
  });
  it('format in Copenhagen local time with the offset in force', () => {
    expect(formatDeadlineInstant(ms('2025-04-29T22:00:00Z'))).toBe('2025-04-30T00:00:00+02:00');
    expect(formatDeadlineInstant(ms('2025-01-01T00:00:00.250Z'))).toBe('2025-01-01T01:00:00.250+01:00');
  });
});

describe('the at-risk span bound', () => {
  const policies = loadPolicies(undefined);
  it('bounds due − at-risk for every default policy and any start in the measured years', () => {
    const bounds = new Map(policies.policies.map((p) => [p.id, atRiskSpanBound(p, policies.calendar)]));
    // 10 hverdage at 75 %: the last 3 hverdage; at Christmas 2007 from the end of Fri 21 December
    // (24, 25, 26, 31 December and 1 January closed) to the end of Wed 2 January: 12 days.
    expect(bounds.get('overdragelse-accept')).toBe(12 * 86_400_000 + 1);
    expect(bounds.get('underretning-24h')).toBe(6 * H + 1);
    fc.assert(
      fc.property(
        fc.constantFrom(...policies.policies.filter((p) => p.limit.kind === 'duration')),
        fc.integer({ min: ms('2000-01-01T00:00:00Z'), max: ms('2060-06-01T00:00:00Z') }),
        (policy, start) => {
          const limit = policy.limit as { kind: 'duration'; amount: number; unit: 'hours' | 'days' | 'workingDays' | 'weeks' | 'months' };
          const due = policies.calendar.addDuration(start, limit);
          const risk = atRiskInstant(start, due, limit, policy.atRiskThreshold, policies.calendar);
          expect(due - risk).toBeLessThanOrEqual(bounds.get(policy.id)!);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
