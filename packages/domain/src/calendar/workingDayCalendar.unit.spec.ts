import { describe, expect, it } from 'vitest';
import { copenhagenDate, epochDayFromCivil, formatEpochDay } from './copenhagen.ts';
import { DEFAULT_CLOSED_DAYS, WorkingDayCalendar, defaultWorkingDayCalendar } from './workingDayCalendar.ts';

const t = (iso: string): number => Date.parse(iso);
const cal = new WorkingDayCalendar();

describe('isWorkingDay', () => {
  it.each([
    ['2025-04-10', true], // Thursday
    ['2025-04-12', false], // Saturday
    ['2025-04-13', false], // Sunday
    ['2025-04-17', false], // Skærtorsdag
    ['2025-04-18', false], // Langfredag
    ['2025-04-21', false], // 2. påskedag
    ['2025-04-22', true],
    ['2025-05-29', false], // Kristi himmelfartsdag
    ['2025-05-30', true], // the Friday after is a hverdag unless configured closed
    ['2025-06-05', false], // Grundlovsdag (default closed day)
    ['2025-06-09', false], // 2. pinsedag
    ['2025-12-24', false], // closed
    ['2025-12-25', false],
    ['2025-12-26', false],
    ['2025-12-29', true],
    ['2025-12-31', false], // closed
    ['2026-01-01', false],
    ['2026-01-02', true],
    ['2023-05-05', false], // Store bededag 2023
    ['2024-04-26', true], // no Store bededag from 2024
  ])('%s -> %s', (date, expected) => {
    expect(cal.isWorkingDay(date)).toBe(expected);
  });

  it('uses the configured closed days instead of the defaults', () => {
    expect(DEFAULT_CLOSED_DAYS).toEqual(['06-05', '12-24', '12-31']);
    const open = new WorkingDayCalendar({ closedDays: [] });
    expect(open.isWorkingDay('2025-06-05')).toBe(true);
    expect(open.isWorkingDay('2025-12-24')).toBe(true);
    const custom = new WorkingDayCalendar({ closedDays: ['12-24', '2025-05-30', '02-29'] });
    expect(custom.isWorkingDay('2025-05-30')).toBe(false);
    expect(custom.isWorkingDay('2026-05-15')).toBe(true);
    expect(custom.isWorkingDay('2025-06-05')).toBe(true);
    expect(custom.isWorkingDay('2028-02-29')).toBe(false); // Tuesday, closed in leap years
    expect(custom.isWorkingDay('2027-03-01')).toBe(true);
  });

  it.each(['6-5', '13-01', '02-30', '2025-02-29', 'xmas'])('rejects closed day %j', (bad) => {
    expect(() => new WorkingDayCalendar({ closedDays: [bad] })).toThrow(RangeError);
  });
});

describe('addWorkingDays (due at the end of the N-th hverdag after the start date)', () => {
  it('overdragelse-accept: 10 hverdage from Thursday 2025-04-10 10:00+02:00 across Easter', () => {
    const start = t('2025-04-10T10:00:00+02:00');
    expect(cal.nthWorkingDayAfter('2025-04-10', 10)).toBe('2025-04-29');
    // end of Tuesday 29 April = local midnight starting 30 April
    expect(cal.addWorkingDays(start, 10)).toBe(t('2025-04-30T00:00:00+02:00'));
    expect(cal.addDuration(start, { amount: 10, unit: 'workingDays' })).toBe(t('2025-04-29T22:00:00Z'));
  });

  it('underretning-kvittering: 6 hverdage from Wednesday 2025-06-04 across Grundlovsdag and 2. pinsedag', () => {
    // Thu 5 closed, Fri 6 (1), Mon 9 holiday, Tue 10 (2) … Mon 16 (6)
    expect(cal.addWorkingDays(t('2025-06-04T14:00:00+02:00'), 6)).toBe(t('2025-06-17T00:00:00+02:00'));
  });

  it('the time of day on the start date does not matter; the local date does', () => {
    const due = t('2025-04-30T00:00:00+02:00');
    expect(cal.addWorkingDays(t('2025-04-10T00:00:00+02:00'), 10)).toBe(due);
    expect(cal.addWorkingDays(t('2025-04-10T23:59:59.999+02:00'), 10)).toBe(due);
    // 2025-04-10T22:30Z is already Friday 11 April in Copenhagen
    expect(cal.addWorkingDays(t('2025-04-10T22:30:00Z'), 10)).toBe(t('2025-05-01T00:00:00+02:00'));
  });

  it('starts on a Saturday or a holiday: counting begins with the next hverdag', () => {
    expect(cal.addWorkingDays(t('2025-05-03T10:00:00+02:00'), 1)).toBe(t('2025-05-06T00:00:00+02:00')); // Sat -> end of Mon 5 May
    for (const d of ['2025-04-17', '2025-04-18', '2025-04-19', '2025-04-20', '2025-04-21']) {
      expect(cal.nthWorkingDayAfter(d, 1)).toBe('2025-04-22');
    }
    expect(cal.addWorkingDays(t('2025-04-18T09:00:00+02:00'), 1)).toBe(t('2025-04-23T00:00:00+02:00')); // Langfredag
  });

  it('Easter week: Skærtorsdag to 2. påskedag are skipped', () => {
    expect(cal.nthWorkingDayAfter('2025-04-16', 1)).toBe('2025-04-22');
    expect(cal.nthWorkingDayAfter('2026-04-01', 1)).toBe('2026-04-07'); // Easter 2026: 2–6 April
    expect(cal.nthWorkingDayAfter('2024-03-27', 1)).toBe('2024-04-02'); // Easter 2024: 28 March–1 April
  });

  it('Christmas and New Year: 24, 25, 26, 31 December and 1 January are skipped', () => {
    // Tue 23 Dec 2025: Mon 29 (1), Tue 30 (2), Fri 2 Jan (3)
    expect(cal.addWorkingDays(t('2025-12-23T10:00:00+01:00'), 3)).toBe(t('2026-01-03T00:00:00+01:00'));
    expect(cal.nthWorkingDayAfter('2024-12-20', 3)).toBe('2024-12-30'); // Mon 23, Fri 27, Mon 30
    expect(cal.nthWorkingDayAfter('2024-12-20', 4)).toBe('2025-01-02');
  });

  it('crosses DST: started the Friday before the last Sunday of March / October', () => {
    // 2025-03-30 is the 23-hour day; due is local midnight in CEST
    expect(cal.addWorkingDays(t('2025-03-28T15:00:00+01:00'), 1)).toBe(t('2025-04-01T00:00:00+02:00'));
    expect(cal.addWorkingDays(t('2025-03-28T15:00:00+01:00'), 1)).toBe(t('2025-03-31T22:00:00Z'));
    // 2025-10-26 is the 25-hour day; due is local midnight in CET
    expect(cal.addWorkingDays(t('2025-10-24T15:00:00+02:00'), 1)).toBe(t('2025-10-28T00:00:00+01:00'));
    expect(cal.addWorkingDays(t('2025-10-24T15:00:00+02:00'), 1)).toBe(t('2025-10-27T23:00:00Z'));
  });

  it('n = 0 is the end of the start date; negative or fractional n is refused', () => {
    expect(cal.addWorkingDays(t('2025-04-12T10:00:00+02:00'), 0)).toBe(t('2025-04-13T00:00:00+02:00'));
    expect(() => cal.addWorkingDays(0, -1)).toThrow(RangeError);
    expect(() => cal.addWorkingDays(0, 1.5)).toThrow(RangeError);
  });

  it('handles long spans across years (Gentofte: 90 hverdage) and agrees with a day-by-day count', () => {
    const start = t('2025-11-20T09:00:00+01:00');
    const due = cal.addWorkingDays(start, 90);
    let d = epochDayFromCivil(2025, 11, 20);
    for (let k = 0; k < 90; ) if (cal.isWorkingEpochDay(++d)) k++;
    expect(copenhagenDate(due - 1)).toBe(formatEpochDay(d));
    for (const n of [250, 251, 1000]) {
      const end = cal.nthWorkingEpochDayAfter(epochDayFromCivil(2024, 12, 30), n);
      expect(cal.workingEpochDaysBetween(epochDayFromCivil(2024, 12, 30), end)).toBe(n);
      expect(cal.isWorkingEpochDay(end)).toBe(true);
    }
  });
});

describe('exactly-at-due semantics and working days between', () => {
  const start = t('2025-04-10T10:00:00+02:00');
  const due = cal.addWorkingDays(start, 10); // 2025-04-30T00:00+02:00

  it('the due instant is exclusive: the last millisecond before it is still on time', () => {
    expect(copenhagenDate(due - 1)).toBe('2025-04-29');
    expect(copenhagenDate(due)).toBe('2025-04-30');
    expect(due - 1 < due).toBe(true); // a stop at due - 1 is MET, a stop at due is BREACHED
    expect(cal.workingDaysLate(due, due - 1)).toBe(0);
    expect(cal.workingDaysLate(due, due)).toBe(1); // Wednesday 30 April has begun
    expect(cal.workingDaysLate(due, t('2025-05-02T12:00:00+02:00'))).toBe(3);
  });

  it('counts hverdage D with localDate(a) < D <= localDate(b), signed', () => {
    expect(cal.workingDaysBetween(start, due - 1)).toBe(10);
    expect(cal.workingDaysBetween(start, start)).toBe(0);
    expect(cal.workingDaysBetween(start, t('2025-04-10T23:00:00+02:00'))).toBe(0);
    expect(cal.workingDaysBetween(start, t('2025-04-11T00:00:00+02:00'))).toBe(1);
    expect(cal.workingDaysBetween(start, t('2025-04-22T08:00:00+02:00'))).toBe(5);
    expect(cal.workingDaysBetween(t('2025-04-22T08:00:00+02:00'), start)).toBe(-5);
    expect(cal.workingDaysBetween(t('2025-12-23T10:00:00+01:00'), t('2026-01-02T10:00:00+01:00'))).toBe(3);
  });

  it('lateness after a weekend due: 0 on Saturday/Sunday, 1 on Monday', () => {
    const fridayDue = cal.addWorkingDays(t('2025-05-08T10:00:00+02:00'), 1); // end of Friday 9 May
    expect(fridayDue).toBe(t('2025-05-10T00:00:00+02:00'));
    expect(cal.workingDaysLate(fridayDue, t('2025-05-10T10:00:00+02:00'))).toBe(0);
    expect(cal.workingDaysLate(fridayDue, t('2025-05-11T23:59:00+02:00'))).toBe(0);
    expect(cal.workingDaysLate(fridayDue, t('2025-05-12T00:00:00+02:00'))).toBe(1);
  });

  it('round-trips: workingDaysBetween(s, addWorkingDays(s, n) - 1) === n for every start day of 2024–2026', () => {
    const bad: string[] = [];
    for (let d = epochDayFromCivil(2024, 1, 1); d <= epochDayFromCivil(2026, 12, 31); d++) {
      const s = t(`${formatEpochDay(d)}T12:00:00+01:00`);
      for (const n of [1, 6, 10, 90]) {
        const due = cal.addWorkingDays(s, n);
        if (cal.workingDaysBetween(s, due - 1) !== n || !cal.isWorkingDay(copenhagenDate(due - 1))) bad.push(`${formatEpochDay(d)}+${n}`);
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('calendar units', () => {
  it('addHours is absolute: 24 h across a DST change is not the same wall time', () => {
    expect(cal.addHours(t('2025-03-29T12:00:00+01:00'), 24)).toBe(t('2025-03-30T13:00:00+02:00'));
    expect(cal.addDuration(t('2025-10-25T12:00:00+02:00'), { amount: 24, unit: 'hours' })).toBe(t('2025-10-26T11:00:00+01:00'));
  });

  it('addCalendarDays and addWeeks keep the local wall time', () => {
    expect(cal.addCalendarDays(t('2025-03-28T10:00:00+01:00'), 3)).toBe(t('2025-03-31T10:00:00+02:00'));
    expect(cal.addWeeks(t('2025-03-20T10:00:00+01:00'), 12)).toBe(t('2025-06-12T10:00:00+02:00'));
    expect(cal.addDuration(t('2025-10-20T10:00:00+02:00'), { amount: 1, unit: 'weeks' })).toBe(t('2025-10-27T10:00:00+01:00'));
    expect(cal.addDuration(t('2025-10-20T10:00:00+02:00'), { amount: 7, unit: 'days' })).toBe(t('2025-10-27T10:00:00+01:00'));
  });

  it('bfu-4-maaneder: 4 months from 2025-10-31 lands on 28 February 2026, same wall time', () => {
    expect(cal.addMonths(t('2025-10-31T09:00:00+01:00'), 4)).toBe(t('2026-02-28T09:00:00+01:00'));
    expect(cal.addDuration(t('2025-10-31T09:00:00+01:00'), { amount: 4, unit: 'months' })).toBe(t('2026-02-28T08:00:00Z'));
    expect(cal.addMonths(t('2027-10-31T09:00:00+01:00'), 4)).toBe(t('2028-02-29T09:00:00+01:00'));
  });

  it('month-end clamping: 31 January + 1 month = 28/29 February', () => {
    expect(cal.addMonths(t('2025-01-31T10:00:00+01:00'), 1)).toBe(t('2025-02-28T10:00:00+01:00'));
    expect(cal.addMonths(t('2024-01-31T10:00:00+01:00'), 1)).toBe(t('2024-02-29T10:00:00+01:00'));
    expect(cal.addMonths(t('2025-05-31T10:00:00+02:00'), 1)).toBe(t('2025-06-30T10:00:00+02:00'));
  });

  it('refuses unknown units', () => {
    expect(() => cal.addDuration(0, { amount: 1, unit: 'fortnights' as never })).toThrow(RangeError);
  });

  it('the shared default calendar uses the default closed days', () => {
    expect(defaultWorkingDayCalendar.closedDays).toEqual(DEFAULT_CLOSED_DAYS);
    expect(defaultWorkingDayCalendar.isWorkingDay('2025-06-05')).toBe(false);
  });
});
