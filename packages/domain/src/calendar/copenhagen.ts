/**
 * Europe/Copenhagen time, rule-based (no Intl, no Date-string parsing) because it runs on hot paths.
 *
 * Model:
 * - standard time is CET (UTC+01:00), summer time is CEST (UTC+02:00);
 * - from 1996 (EU rule): summer time from the last Sunday of March 01:00 UTC to the last Sunday of
 *   October 01:00 UTC;
 * - 1981–1995: last Sunday of March to the last Sunday of September (01:00 UTC);
 * - 1980: 6 April to 28 September (01:00 UTC);
 * - before 1980: no summer time modelled (the 1916 and 1940–1949 summer times are ignored; they are
 *   irrelevant to the instants this system handles).
 * This matches the IANA database (tzdata 2025c) for every instant from 1950 on; a test checks it
 * against Intl.
 *
 * Local dates are handled as "epoch days" (days since 1970-01-01 in the proleptic Gregorian
 * calendar), and formatted as 'YYYY-MM-DD' only at the edges.
 */

export const COPENHAGEN_TIME_ZONE = 'Europe/Copenhagen';

export const MS_PER_MINUTE = 60_000;
export const MS_PER_HOUR = 3_600_000;
export const MS_PER_DAY = 86_400_000;

const CET_OFFSET_MS = MS_PER_HOUR;
const CEST_OFFSET_MS = 2 * MS_PER_HOUR;

/** A local calendar date in Copenhagen, 'YYYY-MM-DD'. */
export type LocalDateString = string;

/** Local wall-clock parts of an instant in Copenhagen. */
export interface CopenhagenLocalParts {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  /** ISO weekday: 1 = Monday … 7 = Sunday */
  weekday: number;
  /** UTC offset in effect, in minutes (60 or 120) */
  offsetMinutes: number;
}

// ---------------------------------------------------------------------------------------------
// Civil (proleptic Gregorian) date arithmetic on epoch days — H. Hinnant's algorithms.
// ---------------------------------------------------------------------------------------------

/** Epoch day (days since 1970-01-01) of a civil date. month is 1–12. No validation. */
export function epochDayFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Year of an epoch day (cheaper than civilFromEpochDay when only the year is needed). */
export function yearOfEpochDay(epochDay: number): number {
  const z = epochDay + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  // March-based year: days from 1 January (doy >= 306) belong to the next civil year.
  return yoe + era * 400 + (doy >= 306 ? 1 : 0);
}

/** Civil date of an epoch day. */
export function civilFromEpochDay(epochDay: number): { year: number; month: number; day: number } {
  const z = epochDay + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** ISO weekday of an epoch day: 1 = Monday … 7 = Sunday (1970-01-01 was a Thursday). */
export function isoWeekdayOfEpochDay(epochDay: number): number {
  const w = (((epochDay + 3) % 7) + 7) % 7; // 0 = Monday
  return w + 1;
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** Number of days in a month (month 1–12). */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return MONTH_DAYS[month - 1] ?? Number.NaN;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad4 = (n: number): string => (n < 0 ? `-${pad4(-n)}` : n < 1000 ? `${n}`.padStart(4, '0') : `${n}`);

/** 'YYYY-MM-DD' of a civil date. */
export function formatCivilDate(year: number, month: number, day: number): LocalDateString {
  return `${pad4(year)}-${pad2(month)}-${pad2(day)}`;
}

/** 'YYYY-MM-DD' of an epoch day. */
export function formatEpochDay(epochDay: number): LocalDateString {
  const c = civilFromEpochDay(epochDay);
  return formatCivilDate(c.year, c.month, c.day);
}

const digit = (s: string, i: number): number => {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : Number.NaN;
};

/**
 * Parses a strict 'YYYY-MM-DD' (a real date) into { year, month, day }.
 * Throws RangeError on anything else.
 */
export function parseCivilDate(date: string): { year: number; month: number; day: number } {
  if (typeof date === 'string' && date.length === 10 && date.charCodeAt(4) === 45 && date.charCodeAt(7) === 45) {
    const year = digit(date, 0) * 1000 + digit(date, 1) * 100 + digit(date, 2) * 10 + digit(date, 3);
    const month = digit(date, 5) * 10 + digit(date, 6);
    const day = digit(date, 8) * 10 + digit(date, 9);
    if (month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)) return { year, month, day };
  }
  throw new RangeError(`not a valid date YYYY-MM-DD: ${JSON.stringify(date)}`);
}

/** Epoch day of a strict 'YYYY-MM-DD'. Throws RangeError if invalid. */
export function epochDayOfDate(date: LocalDateString): number {
  const { year, month, day } = parseCivilDate(date);
  return epochDayFromCivil(year, month, day);
}

// ---------------------------------------------------------------------------------------------
// Summer time and offsets
// ---------------------------------------------------------------------------------------------

/** Epoch day of the last Sunday of a month. */
function lastSundayOfMonth(year: number, month: number): number {
  const last = epochDayFromCivil(year, month, daysInMonth(year, month));
  return last - (isoWeekdayOfEpochDay(last) % 7); // Sunday (7) -> 0 back
}

const CACHE_FIRST_YEAR = 1900;
const CACHE_LAST_YEAR = 2299;
// [start, end) of summer time per year in UTC ms; NaN = not computed, start === end = none.
const summerStart = new Float64Array(CACHE_LAST_YEAR - CACHE_FIRST_YEAR + 1).fill(Number.NaN);
const summerEnd = new Float64Array(CACHE_LAST_YEAR - CACHE_FIRST_YEAR + 1).fill(Number.NaN);

function computeSummerTime(year: number): [number, number] {
  if (year < 1980) return [0, 0];
  if (year === 1980) return [epochDayFromCivil(1980, 4, 6) * MS_PER_DAY + MS_PER_HOUR, epochDayFromCivil(1980, 9, 28) * MS_PER_DAY + MS_PER_HOUR];
  const start = lastSundayOfMonth(year, 3) * MS_PER_DAY + MS_PER_HOUR;
  const end = lastSundayOfMonth(year, year <= 1995 ? 9 : 10) * MS_PER_DAY + MS_PER_HOUR;
  return [start, end];
}

/**
 * Summer time (CEST) of a year as the UTC instants [startMs, endMs), or null if the year has none
 * in this model.
 */
export function summerTimeOf(year: number): { startMs: number; endMs: number } | null {
  const [startMs, endMs] = computeSummerTime(year);
  return startMs === endMs ? null : { startMs, endMs };
}

function offsetForUtcYear(year: number, ms: number): number {
  const i = year - CACHE_FIRST_YEAR;
  if (i >= 0 && i < summerStart.length) {
    let start = summerStart[i]!;
    if (start !== start) {
      const [s, e] = computeSummerTime(year);
      summerStart[i] = start = s;
      summerEnd[i] = e;
    }
    return ms >= start && ms < summerEnd[i]! ? CEST_OFFSET_MS : CET_OFFSET_MS;
  }
  const [s, e] = computeSummerTime(year);
  return ms >= s && ms < e ? CEST_OFFSET_MS : CET_OFFSET_MS;
}

/** UTC offset of Europe/Copenhagen at an instant, in milliseconds (3 600 000 or 7 200 000). */
export function copenhagenOffsetMs(instantMs: number): number {
  // Transitions are in March–October, so the UTC year equals the local year wherever it matters.
  return offsetForUtcYear(yearOfEpochDay(Math.floor(instantMs / MS_PER_DAY)), instantMs);
}

/** Local wall-clock time of an instant as "epoch ms of the same wall time in UTC". */
function localWallMs(instantMs: number): number {
  return instantMs + copenhagenOffsetMs(instantMs);
}

/** The Copenhagen local date of an instant, as an epoch day. */
export function localEpochDay(instantMs: number): number {
  return Math.floor(localWallMs(instantMs) / MS_PER_DAY);
}

/** The Copenhagen local date of an instant, 'YYYY-MM-DD'. */
export function copenhagenDate(instantMs: number): LocalDateString {
  return formatEpochDay(localEpochDay(instantMs));
}

/** The Copenhagen local wall-clock parts of an instant. */
export function copenhagenParts(instantMs: number): CopenhagenLocalParts {
  const offset = copenhagenOffsetMs(instantMs);
  const wall = instantMs + offset;
  const epochDay = Math.floor(wall / MS_PER_DAY);
  let msOfDay = wall - epochDay * MS_PER_DAY;
  const { year, month, day } = civilFromEpochDay(epochDay);
  const hour = Math.floor(msOfDay / MS_PER_HOUR);
  msOfDay -= hour * MS_PER_HOUR;
  const minute = Math.floor(msOfDay / MS_PER_MINUTE);
  msOfDay -= minute * MS_PER_MINUTE;
  const second = Math.floor(msOfDay / 1000);
  return {
    year,
    month,
    day,
    hour,
    minute,
    second,
    millisecond: msOfDay - second * 1000,
    weekday: isoWeekdayOfEpochDay(epochDay),
    offsetMinutes: offset / MS_PER_MINUTE,
  };
}

/**
 * The instant of a Copenhagen local wall time given as "wall ms" (epoch ms of that wall time read
 * as UTC). Nonexistent wall times (the spring-forward gap, 02:00–03:00 local) move forward by the
 * length of the gap (02:30 -> 03:30 CEST); ambiguous wall times (the autumn overlap, 02:00–03:00
 * local) resolve to the earlier instant (CEST). Same as Temporal's 'compatible' disambiguation.
 */
export function instantFromWallMs(wallMs: number): number {
  const asSummer = wallMs - CEST_OFFSET_MS;
  if (copenhagenOffsetMs(asSummer) === CEST_OFFSET_MS) return asSummer; // valid in CEST (earlier if ambiguous)
  const asWinter = wallMs - CET_OFFSET_MS;
  if (copenhagenOffsetMs(asWinter) === CET_OFFSET_MS) return asWinter;
  // In the gap: use the offset in effect before the transition (CET), which lands after it.
  return asWinter;
}

/**
 * The instant of a Copenhagen local date and wall time (month 1–12). See instantFromWallMs for
 * DST gaps and overlaps. Out-of-range fields are not validated here.
 */
export function copenhagenInstant(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, millisecond = 0): number {
  const wall = epochDayFromCivil(year, month, day) * MS_PER_DAY + hour * MS_PER_HOUR + minute * MS_PER_MINUTE + second * 1000 + millisecond;
  return instantFromWallMs(wall);
}

/**
 * The instant of local midnight (00:00) starting a local date given as an epoch day.
 * Midnight always exists and is unambiguous in Copenhagen (transitions happen at 02:00/03:00 local),
 * so the offset is the one in effect at the previous UTC midnight-ish instant.
 */
export function startOfLocalEpochDay(epochDay: number): number {
  const wall = epochDay * MS_PER_DAY;
  // Offset at (wall - 1 h) UTC = 23:00 or 00:00 local: never inside a transition window.
  return wall - copenhagenOffsetMs(wall - CET_OFFSET_MS);
}

/** The instant of local midnight (00:00 Copenhagen) starting a local date 'YYYY-MM-DD'. */
export function startOfCopenhagenDate(date: LocalDateString): number {
  return startOfLocalEpochDay(epochDayOfDate(date));
}

/** The instant of local midnight starting the local day that contains an instant. */
export function startOfCopenhagenDay(instantMs: number): number {
  return startOfLocalEpochDay(localEpochDay(instantMs));
}

/**
 * The end of the local day that contains an instant: the instant of the next local midnight
 * (exclusive end — the day is [start, end)).
 */
export function endOfCopenhagenDay(instantMs: number): number {
  return startOfLocalEpochDay(localEpochDay(instantMs) + 1);
}

/** Length of a local date in hours: 24, or 23 / 25 on the summer-time transition days. */
export function hoursInCopenhagenDate(date: LocalDateString): number {
  const d = epochDayOfDate(date);
  return (startOfLocalEpochDay(d + 1) - startOfLocalEpochDay(d)) / MS_PER_HOUR;
}

const assertInteger = (n: number, what: string): void => {
  if (!Number.isInteger(n)) throw new RangeError(`${what} must be an integer, got ${n}`);
};

/**
 * Adds n local calendar days (n may be negative) keeping the local wall-clock time; a wall time that
 * does not exist on the target day moves forward (see instantFromWallMs).
 */
export function addCopenhagenDays(instantMs: number, n: number): number {
  assertInteger(n, 'days');
  return instantFromWallMs(localWallMs(instantMs) + n * MS_PER_DAY);
}

/**
 * Adds n calendar months (n may be negative): same local day of month, clamped to the target month's
 * last day, same local wall-clock time (moved forward if it does not exist on the target day).
 */
export function addCopenhagenMonths(instantMs: number, n: number): number {
  assertInteger(n, 'months');
  const wall = localWallMs(instantMs);
  const epochDay = Math.floor(wall / MS_PER_DAY);
  const timeOfDay = wall - epochDay * MS_PER_DAY;
  const { year, month, day } = civilFromEpochDay(epochDay);
  const m0 = month - 1 + n;
  const targetYear = year + Math.floor(m0 / 12);
  const targetMonth = m0 - Math.floor(m0 / 12) * 12 + 1;
  const targetDay = Math.min(day, daysInMonth(targetYear, targetMonth));
  return instantFromWallMs(epochDayFromCivil(targetYear, targetMonth, targetDay) * MS_PER_DAY + timeOfDay);
}
