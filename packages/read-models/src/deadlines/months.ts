/**
 * Months of the compliance view, in Copenhagen: 'YYYY-MM'. A clock belongs to the month in which its
 * last allowed instant lies (due instants are exclusive, and an end-of-day due instant is the next
 * local midnight: a clock due "at the end of 31 March" belongs to March, not April).
 */
import { copenhagenDate, epochDayFromCivil, startOfLocalEpochDay } from '@tracker/domain';

export const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

const parseMonth = (month: string): { year: number; month: number } => {
  const m = MONTH.exec(month);
  if (!m) throw new RangeError("month must be 'YYYY-MM'");
  return { year: Number(m[1]), month: Number(m[2]) };
};

/** Local midnight starting the first day of a month (month may overflow: 13 = January next year). */
const startOfMonth = (year: number, month: number): number => startOfLocalEpochDay(epochDayFromCivil(year + Math.floor((month - 1) / 12), ((month - 1) % 12) + 1, 1));

/** [fromMs, toMs): from the start of `from` to the start of the month after `to`. */
export function monthRange(from: string, to: string): { fromMs: number; toMs: number; months: number } {
  const a = parseMonth(from);
  const b = parseMonth(to);
  const months = (b.year - a.year) * 12 + (b.month - a.month) + 1;
  return { fromMs: startOfMonth(a.year, a.month), toMs: startOfMonth(b.year, b.month + 1), months };
}

/**
 * The months from `from` to `to` (inclusive) with their bounds: a clock belongs to month i when
 * start < due_ms <= end.
 */
export function monthsBetween(from: string, to: string): { month: string; start: number; end: number }[] {
  const a = parseMonth(from);
  const { months } = monthRange(from, to);
  return Array.from({ length: Math.max(0, months) }, (_, i) => {
    const year = a.year + Math.floor((a.month - 1 + i) / 12);
    const month = ((a.month - 1 + i) % 12) + 1;
    return { month: `${year}-${String(month).padStart(2, '0')}`, start: startOfMonth(year, month), end: startOfMonth(year, month + 1) };
  });
}

/** The month a due instant belongs to. */
export const monthOfDue = (dueMs: number): string => copenhagenDate(dueMs - 1).slice(0, 7);
