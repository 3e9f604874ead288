/**
 * Ages in Europe/Copenhagen: a citizen reaches an age at local midnight (00:00 Copenhagen time)
 * starting the anniversary date.
 *
 * Anniversary date of (years, months) from a birth date:
 * - same day of month, `years * 12 + months` months later;
 * - 29 February birthdays, whole years (months % 12 === 0) into a non-leap year: 1 March. OUR
 *   DOCUMENTED CHOICE — the person completes the year only when 28 February has fully passed (the
 *   common reading in Danish administrative practice, e.g. for 18 years / majority);
 * - otherwise a day that does not exist in the target month is clamped to the month's last day:
 *   17½ from 31 August is the last day of February (29 February in leap years, else 28 February).
 *   (So 29 Feb + 17½ = 29 August; 30/31 Aug + 17½ = 28/29 Feb.)
 */
import {
  civilFromEpochDay,
  daysInMonth,
  epochDayFromCivil,
  formatEpochDay,
  isLeapYear,
  localEpochDay,
  parseCivilDate,
  startOfLocalEpochDay,
  type LocalDateString,
} from './copenhagen.ts';

export interface Age {
  /** completed years */
  years: number;
  /** completed months beyond the years, 0–11 */
  months: number;
}

function anniversaryEpochDay(by: number, bm: number, bd: number, totalMonths: number): number {
  const m0 = bm - 1 + totalMonths;
  const year = by + Math.floor(m0 / 12);
  const month = m0 - Math.floor(m0 / 12) * 12 + 1;
  if (bm === 2 && bd === 29 && month === 2 && !isLeapYear(year)) return epochDayFromCivil(year, 3, 1);
  return epochDayFromCivil(year, month, Math.min(bd, daysInMonth(year, month)));
}

function totalMonthsOf(years: number, months: number): number {
  if (!Number.isInteger(years) || !Number.isInteger(months)) {
    throw new RangeError(`years and months must be integers, got ${years} and ${months}`);
  }
  return years * 12 + months;
}

/** The local date 'YYYY-MM-DD' on which a person born on birthDate reaches years + months. */
export function birthdayDate(birthDate: LocalDateString, years: number, months = 0): LocalDateString {
  const b = parseCivilDate(birthDate);
  return formatEpochDay(anniversaryEpochDay(b.year, b.month, b.day, totalMonthsOf(years, months)));
}

/**
 * The instant (local midnight, Europe/Copenhagen) at which a person born on birthDate reaches the age
 * years + months, e.g. birthdayInstant(b, 18), birthdayInstant(b, 17, 6) for 17½.
 */
export function birthdayInstant(birthDate: LocalDateString, years: number, months = 0): number {
  const b = parseCivilDate(birthDate);
  return startOfLocalEpochDay(anniversaryEpochDay(b.year, b.month, b.day, totalMonthsOf(years, months)));
}

/**
 * Completed years and months at an instant (its Copenhagen local date), consistent with
 * birthdayInstant: ageAt(b, t) >= (y, m) exactly when t >= birthdayInstant(b, y, m).
 * Before the birth date the result is negative (floored, e.g. one day before birth = { years: -1,
 * months: 11 }).
 */
export function ageAt(birthDate: LocalDateString, instantMs: number): Age {
  const b = parseCivilDate(birthDate);
  const today = localEpochDay(instantMs);
  const t = civilFromEpochDay(today);
  let total = (t.year - b.year) * 12 + (t.month - b.month);
  if (today < anniversaryEpochDay(b.year, b.month, b.day, total)) total -= 1;
  const years = Math.floor(total / 12);
  return { years, months: total - years * 12 };
}
