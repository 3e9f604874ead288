import { describe, expect, it } from 'vitest';
import { epochDayOfDate, isoWeekdayOfEpochDay } from './copenhagen.ts';
import { danishPublicHolidayName, danishPublicHolidays, easterSunday, isDanishPublicHoliday } from './holidays.ts';

describe('Easter Sunday (anonymous Gregorian computus)', () => {
  it.each([
    [1818, '1818-03-22'],
    [1943, '1943-04-25'],
    [2000, '2000-04-23'],
    [2008, '2008-03-23'],
    [2011, '2011-04-24'],
    [2019, '2019-04-21'],
    [2020, '2020-04-12'],
    [2021, '2021-04-04'],
    [2022, '2022-04-17'],
    [2023, '2023-04-09'],
    [2024, '2024-03-31'],
    [2025, '2025-04-20'],
    [2026, '2026-04-05'],
    [2027, '2027-03-28'],
    [2028, '2028-04-16'],
    [2029, '2029-04-01'],
    [2030, '2030-04-21'],
    [2038, '2038-04-25'],
  ])('%i: %s', (year, date) => {
    expect(easterSunday(year)).toBe(date);
  });

  it('is always a Sunday between 22 March and 25 April (1583–4099)', () => {
    const bad: number[] = [];
    for (let y = 1583; y <= 4099; y++) {
      const e = easterSunday(y);
      const md = e.slice(5);
      if (isoWeekdayOfEpochDay(epochDayOfDate(e)) !== 7 || md < '03-22' || md > '04-25') bad.push(y);
    }
    expect(bad).toEqual([]);
  });
});

describe('Danish public holidays', () => {
  it('lists 2025 in date order', () => {
    expect(danishPublicHolidays(2025).map((h) => `${h.date} ${h.name}`)).toEqual([
      '2025-01-01 Nytårsdag',
      '2025-04-17 Skærtorsdag',
      '2025-04-18 Langfredag',
      '2025-04-20 Påskedag',
      '2025-04-21 2. påskedag',
      '2025-05-29 Kristi himmelfartsdag',
      '2025-06-08 Pinsedag',
      '2025-06-09 2. pinsedag',
      '2025-12-25 Juledag',
      '2025-12-26 2. juledag',
    ]);
  });

  it('has Store bededag up to and including 2023, not from 2024', () => {
    expect(danishPublicHolidayName('2023-05-05')).toBe('Store bededag');
    expect(danishPublicHolidays(2023)).toHaveLength(11);
    expect(danishPublicHolidayName('2022-05-13')).toBe('Store bededag');
    expect(isDanishPublicHoliday('2024-04-26')).toBe(false); // would have been Store bededag
    expect(danishPublicHolidays(2024).map((h) => h.name)).not.toContain('Store bededag');
    expect(danishPublicHolidays(2024)).toHaveLength(10);
  });

  it('does not count Grundlovsdag, 24 and 31 December as public holidays (they are closed days)', () => {
    expect(isDanishPublicHoliday('2025-06-05')).toBe(false);
    expect(isDanishPublicHoliday('2025-12-24')).toBe(false);
    expect(isDanishPublicHoliday('2025-12-31')).toBe(false);
    expect(isDanishPublicHoliday('2026-01-01')).toBe(true);
  });

  it('caches per year (same frozen array)', () => {
    expect(danishPublicHolidays(2026)).toBe(danishPublicHolidays(2026));
    expect(Object.isFrozen(danishPublicHolidays(2026))).toBe(true);
    expect(danishPublicHolidays(2026).find((h) => h.name === 'Kristi himmelfartsdag')?.date).toBe('2026-05-14');
  });
});
