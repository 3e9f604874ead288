/**
 * Working days (hverdage) and deadline arithmetic in Europe/Copenhagen.
 *
 * A hverdag is Monday–Friday that is neither a Danish public holiday (holidays.ts) nor a configured
 * closed day (default: Grundlovsdag 5 June, juleaftensdag 24 December, nytårsaftensdag 31 December).
 *
 * END-OF-DAY CHOICE: a deadline "at the end of day X" is the instant of the local midnight that starts
 * day X + 1. Due instants are therefore EXCLUSIVE: the clock is met if stopped strictly before the due
 * instant, and breached at the due instant itself (`at >= due`). E.g. end of Friday 2025-04-25 is
 * 2025-04-26T00:00:00+02:00 (= 2025-04-25T22:00:00Z). There is no "23:59:59.999" anywhere.
 *
 * See docs/calendar.md.
 */
import {
  addCopenhagenDays,
  addCopenhagenMonths,
  daysInMonth,
  epochDayFromCivil,
  epochDayOfDate,
  formatEpochDay,
  isLeapYear,
  isoWeekdayOfEpochDay,
  localEpochDay,
  MS_PER_HOUR,
  startOfLocalEpochDay,
  yearOfEpochDay,
  type LocalDateString,
} from './copenhagen.ts';
import { danishPublicHolidays } from './holidays.ts';

/** Default closed days: Grundlovsdag, juleaftensdag, nytårsaftensdag (every year). */
export const DEFAULT_CLOSED_DAYS: readonly string[] = Object.freeze(['06-05', '12-24', '12-31']);

export interface WorkingDayCalendarOptions {
  /**
   * Days on which the administration is closed, in addition to weekends and public holidays:
   * 'MM-DD' = that date every year ('02-29' only in leap years), 'YYYY-MM-DD' = that one date.
   * Replaces (does not extend) DEFAULT_CLOSED_DAYS when given; [] means no closed days.
   */
  closedDays?: readonly string[];
}

export type CalendarDurationUnit = 'hours' | 'days' | 'workingDays' | 'weeks' | 'months';

/** A duration as policies store it, e.g. { amount: 10, unit: 'workingDays' }. */
export interface CalendarDuration {
  amount: number;
  unit: CalendarDurationUnit;
}

export const CALENDAR_DURATION_UNITS: readonly CalendarDurationUnit[] = Object.freeze(['hours', 'days', 'workingDays', 'weeks', 'months']);

interface YearTable {
  /** epoch day of 1 January */
  first: number;
  /** 1 = working day, per day of year (index 0 = 1 January) */
  working: Uint8Array;
  /** cum[i] = number of working days among indexes 0..i */
  cum: Uint16Array;
  total: number;
}

const assertInteger = (n: number, what: string): void => {
  if (!Number.isInteger(n)) throw new RangeError(`${what} must be an integer, got ${n}`);
};
const assertFinite = (n: number, what: string): void => {
  if (!Number.isFinite(n)) throw new RangeError(`${what} must be a finite number, got ${n}`);
};

function parseMonthDay(s: string): [number, number] | undefined {
  const m = /^(\d{2})-(\d{2})$/.exec(s);
  if (!m) return undefined;
  const month = Number(m[1]);
  const day = Number(m[2]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(2000, month)) return undefined;
  return [month, day];
}

export class WorkingDayCalendar {
  readonly #annualClosed: ReadonlyArray<readonly [number, number]>;
  readonly #oneOffClosed: ReadonlySet<number>;
  readonly #years = new Map<number, YearTable>();
  /** The closed days this calendar was configured with (normalised copy). */
  readonly closedDays: readonly string[];

  constructor(options: WorkingDayCalendarOptions = {}) {
    const closed = options.closedDays ?? DEFAULT_CLOSED_DAYS;
    const annual: Array<readonly [number, number]> = [];
    const oneOff = new Set<number>();
    for (const entry of closed) {
      if (typeof entry === 'string' && entry.length === 5) {
        const md = parseMonthDay(entry);
        if (md) {
          annual.push(md);
          continue;
        }
      } else if (typeof entry === 'string' && entry.length === 10) {
        try {
          oneOff.add(epochDayOfDate(entry));
          continue;
        } catch {
          // fall through to the error below
        }
      }
      throw new RangeError(`closed day must be 'MM-DD' or 'YYYY-MM-DD', got ${JSON.stringify(entry)}`);
    }
    this.#annualClosed = annual;
    this.#oneOffClosed = oneOff;
    this.closedDays = Object.freeze([...closed]);
  }

  #table(year: number): YearTable {
    let t = this.#years.get(year);
    if (t !== undefined) return t;
    const first = epochDayFromCivil(year, 1, 1);
    const length = isLeapYear(year) ? 366 : 365;
    const working = new Uint8Array(length);
    // Weekdays: 1 January's ISO weekday, then step.
    let wd = isoWeekdayOfEpochDay(first);
    for (let i = 0; i < length; i++) {
      working[i] = wd <= 5 ? 1 : 0;
      wd = wd === 7 ? 1 : wd + 1;
    }
    for (const h of danishPublicHolidays(year)) working[h.epochDay - first] = 0;
    for (const [month, day] of this.#annualClosed) {
      if (day <= daysInMonth(year, month)) working[epochDayFromCivil(year, month, day) - first] = 0;
    }
    for (const d of this.#oneOffClosed) {
      if (d >= first && d < first + length) working[d - first] = 0;
    }
    const cum = new Uint16Array(length);
    let total = 0;
    for (let i = 0; i < length; i++) {
      total += working[i]!;
      cum[i] = total;
    }
    t = { first, working, cum, total };
    this.#years.set(year, t);
    return t;
  }

  /** Working days among the days of its year up to and including epochDay. */
  #cumThrough(epochDay: number): { year: number; count: number } {
    const year = yearOfEpochDay(epochDay);
    const t = this.#table(year);
    return { year, count: t.cum[epochDay - t.first]! };
  }

  /** Whether an epoch day (days since 1970-01-01) is a hverdag. */
  isWorkingEpochDay(epochDay: number): boolean {
    const t = this.#table(yearOfEpochDay(epochDay));
    return t.working[epochDay - t.first] === 1;
  }

  /** Whether a local date 'YYYY-MM-DD' is a hverdag (Mon–Fri, not a public holiday, not closed). */
  isWorkingDay(localDate: LocalDateString): boolean {
    return this.isWorkingEpochDay(epochDayOfDate(localDate));
  }

  /**
   * The epoch day of the n-th hverdag strictly after epochDay (n >= 1); epochDay itself for n = 0.
   */
  nthWorkingEpochDayAfter(epochDay: number, n: number): number {
    assertInteger(n, 'working days');
    if (n < 0) throw new RangeError(`working days must be >= 0, got ${n}`);
    if (n === 0) return epochDay;
    let year = yearOfEpochDay(epochDay);
    let t = this.#table(year);
    let i = epochDay - t.first; // scan from index i + 1
    let remaining = n;
    let rest = t.total - t.cum[i]!; // hverdage after index i in this year
    const lastYear = year + 10_000; // guards a configuration that closes every weekday
    while (rest < remaining) {
      // skip the rest of this year (and whole years) using the per-year totals
      remaining -= rest;
      year += 1;
      if (year > lastYear) throw new RangeError('no hverdage found: the calendar closes every weekday');
      t = this.#table(year);
      i = -1;
      rest = t.total;
    }
    for (let j = i + 1; ; j++) {
      if (t.working[j] === 1 && --remaining === 0) return t.first + j;
    }
  }

  /**
   * The local date of the n-th hverdag after a local date (the last day a clock of n hverdage
   * started on that date may be stopped). n = 0 returns the date itself.
   */
  nthWorkingDayAfter(localDate: LocalDateString, n: number): LocalDateString {
    return formatEpochDay(this.nthWorkingEpochDayAfter(epochDayOfDate(localDate), n));
  }

  /**
   * Due instant of a clock of n hverdage started at startMs: "a clock started on day d with N
   * hverdage is due at the end of the N-th hverdag after d", where d is the Copenhagen local date of
   * startMs (whether or not d is itself a hverdag; the time of day on d does not matter). The end of a
   * day is the next local midnight, so the returned instant is an exclusive bound: stopped at
   * t < due is met, t >= due is breached. n = 0 gives the end of d. n must be an integer >= 0.
   */
  addWorkingDays(startMs: number, n: number): number {
    return startOfLocalEpochDay(this.nthWorkingEpochDayAfter(localEpochDay(startMs), n) + 1);
  }

  /**
   * Signed number of hverdage D with localDate(a) < D <= localDate(b) (negated when b is before a).
   * The time of day is ignored; only local dates count. Properties:
   * - for a clock of n hverdage started at s, at any instant t of the n-th hverdag after localDate(s),
   *   workingDaysBetween(s, t) === n;
   * - lateness in hverdage of a stop at t: max(0, workingDaysBetween(s, t) - n), which equals
   *   workingDaysLate(addWorkingDays(s, n), t).
   */
  workingDaysBetween(aMs: number, bMs: number): number {
    const da = localEpochDay(aMs);
    const db = localEpochDay(bMs);
    return this.workingEpochDaysBetween(da, db);
  }

  /** Signed number of hverdage D with a < D <= b, on epoch days. */
  workingEpochDaysBetween(a: number, b: number): number {
    if (a === b) return 0;
    if (b < a) return -this.workingEpochDaysBetween(b, a);
    const ca = this.#cumThrough(a);
    const cb = this.#cumThrough(b);
    let count = cb.count - ca.count;
    for (let y = ca.year; y < cb.year; y++) count += this.#table(y).total;
    return count;
  }

  /**
   * Lateness in hverdage of an instant relative to an end-of-day due instant (as returned by
   * addWorkingDays): 0 before the due instant; otherwise the number of hverdage that have begun from
   * the due instant up to and including atMs's local date, i.e. workingDaysBetween(dueMs - 1, atMs).
   * Example: due end of Friday (Saturday 00:00) — Saturday or Sunday: 0; any time Monday: 1.
   */
  workingDaysLate(dueMs: number, atMs: number): number {
    if (atMs < dueMs) return 0;
    return Math.max(0, this.workingDaysBetween(dueMs - 1, atMs));
  }

  /** Absolute hours (n may be fractional or negative): startMs + n h. DST does not matter. */
  addHours(startMs: number, n: number): number {
    assertFinite(n, 'hours');
    return startMs + n * MS_PER_HOUR;
  }

  /**
   * n local calendar days later (negative = earlier), same local wall-clock time; a wall time that
   * does not exist that day (spring-forward gap) moves forward by the gap (02:30 -> 03:30), an
   * ambiguous one (autumn overlap) takes the earlier instant.
   */
  addCalendarDays(startMs: number, n: number): number {
    return addCopenhagenDays(startMs, n);
  }

  /** n local weeks = 7n local calendar days, same wall time (see addCalendarDays). */
  addWeeks(startMs: number, n: number): number {
    assertInteger(n, 'weeks');
    return addCopenhagenDays(startMs, 7 * n);
  }

  /**
   * n months later: same local day of month, clamped to the target month's last day
   * (31 January + 1 month = 28/29 February), same local wall-clock time (moved forward if it does
   * not exist on that day; earlier instant if ambiguous).
   */
  addMonths(startMs: number, n: number): number {
    return addCopenhagenMonths(startMs, n);
  }

  /** Generic form used by policies-as-data. */
  addDuration(startMs: number, duration: CalendarDuration): number {
    const { amount, unit } = duration;
    switch (unit) {
      case 'hours':
        return this.addHours(startMs, amount);
      case 'days':
        return this.addCalendarDays(startMs, amount);
      case 'workingDays':
        return this.addWorkingDays(startMs, amount);
      case 'weeks':
        return this.addWeeks(startMs, amount);
      case 'months':
        return this.addMonths(startMs, amount);
      default: {
        const never: never = unit;
        throw new RangeError(`unknown duration unit ${JSON.stringify(never)}`);
      }
    }
  }
}

/** A shared calendar with the default closed days. */
export const defaultWorkingDayCalendar = new WorkingDayCalendar();
