/**
 * Instants as the generator writes them. The calendar itself (summer time, local days, hverdage) is the
 * domain's (packages/domain/src/calendar), so answers drawn "within N hverdage" are exactly the ones the
 * tracker's deadline policies count as met. Everything here works on numbers: no Intl, no Date-string
 * parsing, because a benchmark run formats millions of timestamps.
 */
import { copenhagenOffsetMs, formatEpochDay, instantFromWallMs, MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE } from '@tracker/domain';

/** Mean Gregorian year, for durations and approximate ages in years. */
export const YEAR = 365.2425 * MS_PER_DAY;

const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** ISO 8601 in Copenhagen local time with its offset, second precision: '2025-03-30T03:00:00+02:00'. */
export function formatInstant(ms: number): string {
  const offset = copenhagenOffsetMs(ms);
  const wall = ms + offset;
  const day = Math.floor(wall / MS_PER_DAY);
  let seconds = Math.floor((wall - day * MS_PER_DAY) / 1000);
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  return `${formatEpochDay(day)}T${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}${offset === MS_PER_HOUR ? '+01:00' : '+02:00'}`;
}

/**
 * The instant of a minute of a local day (epoch day). A wall time in the spring-forward gap lands an
 * hour later; an ambiguous autumn wall time resolves to summer time (the domain's rule).
 */
export function instantOf(epochDay: number, minuteOfDay: number): number {
  return instantFromWallMs(epochDay * MS_PER_DAY + minuteOfDay * MS_PER_MINUTE);
}

/** Minutes since local midnight of an instant. */
export function minuteOfDay(ms: number): number {
  const wall = ms + copenhagenOffsetMs(ms);
  return Math.floor((wall - Math.floor(wall / MS_PER_DAY) * MS_PER_DAY) / MS_PER_MINUTE);
}
