import { describe, expect, it } from 'vitest';
import { ageAt, birthdayDate, birthdayInstant } from './age.ts';
import { epochDayFromCivil, formatEpochDay } from './copenhagen.ts';

const t = (iso: string): number => Date.parse(iso);

describe('birthdayInstant', () => {
  it('is local midnight in Copenhagen (CET in winter, CEST in summer)', () => {
    expect(birthdayInstant('2009-01-15', 16)).toBe(t('2025-01-15T00:00:00+01:00'));
    expect(birthdayInstant('2009-07-15', 16)).toBe(t('2025-07-15T00:00:00+02:00'));
    expect(birthdayInstant('2009-07-15', 16)).toBe(t('2025-07-14T22:00:00Z'));
    expect(birthdayInstant('2007-03-30', 18)).toBe(t('2025-03-30T00:00:00+01:00')); // DST day: midnight is still CET
    expect(birthdayInstant('2007-10-26', 18)).toBe(t('2025-10-26T00:00:00+02:00'));
  });

  it('29 February birthdays: 1 March in non-leap years (our documented choice), 29 February in leap years', () => {
    expect(birthdayDate('2008-02-29', 16)).toBe('2024-02-29');
    expect(birthdayDate('2008-02-29', 17)).toBe('2025-03-01');
    expect(birthdayDate('2008-02-29', 18)).toBe('2026-03-01');
    expect(birthdayInstant('2008-02-29', 18)).toBe(t('2026-03-01T00:00:00+01:00'));
    expect(birthdayDate('2008-02-29', 17, 6)).toBe('2025-08-29');
    expect(birthdayDate('2008-02-29', 0, 12)).toBe('2009-03-01');
  });

  it('17½ from month-ends clamps to the last day of February', () => {
    expect(birthdayDate('2008-08-31', 17, 6)).toBe('2026-02-28');
    expect(birthdayDate('2006-08-31', 17, 6)).toBe('2024-02-29');
    expect(birthdayDate('2007-08-30', 17, 6)).toBe('2025-02-28');
    expect(birthdayDate('2007-08-29', 17, 6)).toBe('2025-02-28');
    expect(birthdayDate('2007-12-31', 17, 6)).toBe('2025-06-30');
    expect(birthdayDate('2007-05-31', 17, 6)).toBe('2024-11-30');
    expect(birthdayInstant('2006-08-31', 17, 6)).toBe(t('2024-02-29T00:00:00+01:00'));
  });

  it('rejects bad input', () => {
    expect(() => birthdayInstant('2008-02-30', 18)).toThrow(RangeError);
    expect(() => birthdayInstant('2008-02-01', 17.5)).toThrow(RangeError);
  });
});

describe('ageAt', () => {
  it('counts completed years and months at the Copenhagen local date', () => {
    expect(ageAt('2009-07-15', t('2025-07-14T21:59:59.999Z'))).toEqual({ years: 15, months: 11 });
    expect(ageAt('2009-07-15', t('2025-07-14T22:00:00Z'))).toEqual({ years: 16, months: 0 });
    expect(ageAt('2008-08-31', t('2026-02-27T12:00:00+01:00'))).toEqual({ years: 17, months: 5 });
    expect(ageAt('2008-08-31', t('2026-02-28T00:00:00+01:00'))).toEqual({ years: 17, months: 6 });
    expect(ageAt('2008-02-29', t('2026-02-28T23:59:59+01:00'))).toEqual({ years: 17, months: 11 });
    expect(ageAt('2008-02-29', t('2026-03-01T00:00:00+01:00'))).toEqual({ years: 18, months: 0 });
    expect(ageAt('2008-02-29', t('2026-03-28T12:00:00+01:00'))).toEqual({ years: 18, months: 0 });
    expect(ageAt('2008-02-29', t('2026-03-29T12:00:00+02:00'))).toEqual({ years: 18, months: 1 });
    expect(ageAt('2008-02-29', t('2008-02-29T00:00:00+01:00'))).toEqual({ years: 0, months: 0 });
    expect(ageAt('2008-02-29', t('2008-02-28T12:00:00+01:00'))).toEqual({ years: -1, months: 11 });
  });

  it('is consistent with birthdayInstant for every birth date 1996–2012 at 16, 17, 17½ and 18', () => {
    const bad: string[] = [];
    for (let d = epochDayFromCivil(1996, 1, 1); d <= epochDayFromCivil(2012, 12, 31); d++) {
      const b = formatEpochDay(d);
      for (const [y, m] of [[16, 0], [17, 0], [17, 6], [18, 0]] as const) {
        const at = birthdayInstant(b, y, m);
        const now = ageAt(b, at);
        const before = ageAt(b, at - 1);
        if (now.years * 12 + now.months !== y * 12 + m || before.years * 12 + before.months !== y * 12 + m - 1) bad.push(`${b} ${y}/${m}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
