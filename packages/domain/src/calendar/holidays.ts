/**
 * Danish public holidays (helligdage), computed from Easter Sunday. Pure, cached per year.
 *
 * Nytårsdag (1 Jan), Skærtorsdag (Easter − 3), Langfredag (Easter − 2), Påskedag (Easter),
 * 2. påskedag (Easter + 1), Store bededag (Easter + 26, the 4th Friday after Easter — only up to and
 * including 2023; abolished as a holiday from 2024), Kristi himmelfartsdag (Easter + 39),
 * Pinsedag (Easter + 49), 2. pinsedag (Easter + 50), Juledag (25 Dec), 2. juledag (26 Dec).
 *
 * Grundlovsdag, juleaftensdag and nytårsaftensdag are NOT public holidays; they are closed days,
 * configured on the WorkingDayCalendar.
 */
import { epochDayFromCivil, epochDayOfDate, formatEpochDay, yearOfEpochDay, type LocalDateString } from './copenhagen.ts';

/** Last year in which Store bededag was a public holiday. */
export const LAST_STORE_BEDEDAG_YEAR = 2023;

export type DanishHolidayName =
  | 'Nytårsdag'
  | 'Skærtorsdag'
  | 'Langfredag'
  | 'Påskedag'
  | '2. påskedag'
  | 'Store bededag'
  | 'Kristi himmelfartsdag'
  | 'Pinsedag'
  | '2. pinsedag'
  | 'Juledag'
  | '2. juledag';

export interface DanishHoliday {
  /** 'YYYY-MM-DD' */
  date: LocalDateString;
  /** days since 1970-01-01 */
  epochDay: number;
  name: DanishHolidayName;
}

/**
 * Easter Sunday of a Gregorian year (anonymous Gregorian computus, Meeus/Jones/Butcher).
 * Returns month (3 or 4) and day.
 */
export function easterSundayOf(year: number): { month: number; day: number } {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return { month, day };
}

/** Easter Sunday of a year, 'YYYY-MM-DD'. */
export function easterSunday(year: number): LocalDateString {
  const { month, day } = easterSundayOf(year);
  return formatEpochDay(epochDayFromCivil(year, month, day));
}

interface YearHolidays {
  list: readonly DanishHoliday[];
  days: ReadonlySet<number>;
}

const cache = new Map<number, YearHolidays>();

function computeYear(year: number): YearHolidays {
  const { month, day } = easterSundayOf(year);
  const easter = epochDayFromCivil(year, month, day);
  const entries: Array<[number, DanishHolidayName]> = [
    [epochDayFromCivil(year, 1, 1), 'Nytårsdag'],
    [easter - 3, 'Skærtorsdag'],
    [easter - 2, 'Langfredag'],
    [easter, 'Påskedag'],
    [easter + 1, '2. påskedag'],
  ];
  if (year <= LAST_STORE_BEDEDAG_YEAR) entries.push([easter + 26, 'Store bededag']);
  entries.push(
    [easter + 39, 'Kristi himmelfartsdag'],
    [easter + 49, 'Pinsedag'],
    [easter + 50, '2. pinsedag'],
    [epochDayFromCivil(year, 12, 25), 'Juledag'],
    [epochDayFromCivil(year, 12, 26), '2. juledag'],
  );
  const list = Object.freeze(entries.map(([epochDay, name]) => Object.freeze({ date: formatEpochDay(epochDay), epochDay, name })));
  return { list, days: new Set(entries.map(([d]) => d)) };
}

function yearHolidays(year: number): YearHolidays {
  let y = cache.get(year);
  if (y === undefined) {
    y = computeYear(year);
    cache.set(year, y);
  }
  return y;
}

/** The Danish public holidays of a year, in date order (cached; the array is frozen). */
export function danishPublicHolidays(year: number): readonly DanishHoliday[] {
  if (!Number.isInteger(year)) throw new RangeError(`year must be an integer, got ${year}`);
  return yearHolidays(year).list;
}

/** Whether an epoch day is a Danish public holiday. */
export function isDanishPublicHolidayEpochDay(epochDay: number): boolean {
  return yearHolidays(yearOfEpochDay(epochDay)).days.has(epochDay);
}

/** Whether a local date 'YYYY-MM-DD' is a Danish public holiday. Throws RangeError on a bad date. */
export function isDanishPublicHoliday(date: LocalDateString): boolean {
  return isDanishPublicHolidayEpochDay(epochDayOfDate(date));
}

/** The name of the Danish public holiday on a local date 'YYYY-MM-DD', or undefined. */
export function danishPublicHolidayName(date: LocalDateString): DanishHolidayName | undefined {
  const epochDay = epochDayOfDate(date);
  const y = yearHolidays(yearOfEpochDay(epochDay));
  if (!y.days.has(epochDay)) return undefined;
  return y.list.find((h) => h.epochDay === epochDay)?.name;
}
