/**
 * A deadline clock's status at an instant, and the instants that decide it (domain.md §5):
 *
 * - MET: stopped strictly before its due instant (and the stop had happened by `asOf`);
 * - BREACHED: stopped at or after the due instant, or not stopped by `asOf` ≥ due. A breach shows at
 *   the due instant itself, with no event needed (due instants are exclusive bounds, docs/calendar.md);
 * - AT_RISK: running, and at least the policy's threshold (default 75 %) of the time is used;
 * - PENDING: running, less used.
 *
 * Every status is a function of three stored instants (atRisk, due, stopped) and `asOf`, so the read
 * model computes it in SQL with the same rules (see sqliteDeadlineQueries.ts).
 */
import { epochDayFromCivil, localEpochDay, startOfLocalEpochDay, MS_PER_DAY, MS_PER_HOUR } from '../calendar/copenhagen.ts';
import type { WorkingDayCalendar } from '../calendar/workingDayCalendar.ts';
import type { DeadlineLimit, LatenessUnit } from './policies.ts';

export const DEADLINE_STATUSES = ['PENDING', 'AT_RISK', 'MET', 'BREACHED'] as const;
export type DeadlineStatus = (typeof DEADLINE_STATUSES)[number];

/** The instants a status depends on (epoch ms). */
export interface ClockInstants {
  dueAt: number;
  atRiskAt: number;
  /** The first stop; counts only from its instant on. */
  stoppedAt: number | null;
}

/** The status at `asOf` of a clock that exists then (see `isVisibleAt`). */
export function deadlineStatusAt(clock: ClockInstants, asOf: number): DeadlineStatus {
  if (clock.stoppedAt !== null && clock.stoppedAt <= asOf) return clock.stoppedAt < clock.dueAt ? 'MET' : 'BREACHED';
  if (asOf >= clock.dueAt) return 'BREACHED';
  if (asOf >= clock.atRiskAt) return 'AT_RISK';
  return 'PENDING';
}

/** Whether a stop came at or after the due instant: breached, "met late" for alerts. */
export const stoppedLate = (clock: ClockInstants): boolean => clock.stoppedAt !== null && clock.stoppedAt >= clock.dueAt;

/**
 * The first instant at which at least `threshold` of the clock's time is used.
 *
 * - hverdage: time is counted in hverdage, not in hours: a clock of N hverdage started on day d uses
 *   the N hverdage after d, each from its local midnight to the next (23 or 25 h on DST days), and
 *   nothing on weekends, holidays and closed days. 75 % of 10 hverdage is reached at noon of the 8th
 *   hverdag (7½ used); 75 % of 6 at noon of the 5th.
 * - every other limit (hours, days, weeks, months, a due age): the share of the absolute time between
 *   start and due.
 * Rounded up to the millisecond, never after the due instant.
 */
export function atRiskInstant(startedAt: number, dueAt: number, limit: DeadlineLimit, threshold: number, calendar: WorkingDayCalendar): number {
  if (dueAt <= startedAt) return dueAt;
  if (limit.kind === 'duration' && limit.unit === 'workingDays' && limit.amount > 0) {
    const used = threshold * limit.amount;
    const whole = Math.floor(used);
    const fraction = used - whole;
    const startDay = localEpochDay(startedAt);
    if (fraction === 0) {
      // Reached at the end of the whole-th hverdag.
      return Math.min(dueAt, startOfLocalEpochDay(calendar.nthWorkingEpochDayAfter(startDay, whole) + 1));
    }
    const day = calendar.nthWorkingEpochDayAfter(startDay, whole + 1);
    const dayStart = startOfLocalEpochDay(day);
    const dayLength = startOfLocalEpochDay(day + 1) - dayStart;
    return Math.min(dueAt, dayStart + Math.ceil(fraction * dayLength));
  }
  return Math.min(dueAt, startedAt + Math.ceil(threshold * (dueAt - startedAt)));
}

/**
 * How late an instant is relative to a due instant, in a policy's lateness unit; 0 before due.
 * - hours: absolute hours (fractional);
 * - workingDays: hverdage begun since the due instant (WorkingDayCalendar#workingDaysLate): a clock due
 *   at the end of Friday is 0 late over the weekend and 1 from Monday 00:00;
 * - days: absolute 24-hour days (fractional).
 */
export function latenessOf(dueAt: number, at: number, unit: LatenessUnit, calendar: WorkingDayCalendar): number {
  if (at < dueAt) return 0;
  switch (unit) {
    case 'hours':
      return (at - dueAt) / MS_PER_HOUR;
    case 'workingDays':
      return calendar.workingDaysLate(dueAt, at);
    case 'days':
      return (at - dueAt) / MS_PER_DAY;
  }
}

export const DEADLINE_ALERT_KINDS = ['AT_RISK', 'BREACHED', 'MET_LATE'] as const;
export type DeadlineAlertKind = (typeof DEADLINE_ALERT_KINDS)[number];

/** The instants a clock's alerts depend on: its status instants and the window in which it exists. */
export interface AlertableClock extends ClockInstants {
  visibleFrom: number;
  visibleUntil: number | null;
}

/**
 * The state changes of a clock worth an alert, each at the instant it happens as far as the world
 * knows (a clock that became known only after its at-risk instant turns AT_RISK when it became known):
 * - AT_RISK: the at-risk instant, if the clock was still running then and not yet due;
 * - BREACHED: the due instant, unless stopped before it;
 * - MET_LATE: the stop, when it came at or after the due instant.
 * Only changes within the window in which the clock exists count.
 */
export function alertTransitions(clock: AlertableClock): { kind: DeadlineAlertKind; at: number }[] {
  const { atRiskAt, dueAt, stoppedAt, visibleFrom } = clock;
  const until = clock.visibleUntil ?? Number.POSITIVE_INFINITY;
  const out: { kind: DeadlineAlertKind; at: number }[] = [];
  const risk = Math.max(atRiskAt, visibleFrom);
  if (risk < dueAt && risk < until && (stoppedAt === null || stoppedAt > risk)) out.push({ kind: 'AT_RISK', at: risk });
  if (stoppedAt === null || stoppedAt >= dueAt) {
    const breach = Math.max(dueAt, visibleFrom);
    if (breach < until) out.push({ kind: 'BREACHED', at: breach });
    if (stoppedAt !== null) {
      const late = Math.max(stoppedAt, visibleFrom);
      if (late < until) out.push({ kind: 'MET_LATE', at: late });
    }
  }
  return out;
}

/** The years within which `atRiskSpanBound` is exact for hverdag limits (closed days may be one-off dates). */
export const AT_RISK_SPAN_YEARS = { from: 2000, to: 2060 } as const;

const spanBounds = new WeakMap<WorkingDayCalendar, Map<string, number>>();

/**
 * An upper bound of `dueAt − atRiskAt` over every clock of a policy due within AT_RISK_SPAN_YEARS:
 * an AT_RISK clock at asOf is due within (asOf, asOf + bound], which lets the at-risk worklist read
 * a short stretch of an index instead of every later clock. Hverdag limits are measured on the
 * calendar itself (every start day of the years); the others from their longest possible duration.
 */
export function atRiskSpanBound(
  policy: { limit: DeadlineLimit; atRiskThreshold: number; start: { kind: 'event' } | { kind: 'age'; age: { years: number; months: number } } },
  calendar: WorkingDayCalendar,
): number {
  const share = 1 - policy.atRiskThreshold;
  const { limit } = policy;
  const margin = MS_PER_HOUR + 1;
  if (limit.kind === 'age') {
    const startMonths = policy.start.kind === 'age' ? policy.start.age.years * 12 + policy.start.age.months : 0;
    const months = limit.age.years * 12 + limit.age.months - startMonths;
    return Math.ceil(share * (months * 31 * MS_PER_DAY + 2 * MS_PER_DAY)) + margin;
  }
  switch (limit.unit) {
    case 'hours':
      return Math.ceil(share * limit.amount * MS_PER_HOUR) + 1;
    case 'days':
      return Math.ceil(share * limit.amount * MS_PER_DAY) + margin;
    case 'weeks':
      return Math.ceil(share * limit.amount * 7 * MS_PER_DAY) + margin;
    case 'months':
      return Math.ceil(share * limit.amount * 31 * MS_PER_DAY) + margin;
    case 'workingDays': {
      const n = limit.amount;
      if (n === 0) return MS_PER_DAY + margin;
      const key = `${n}:${policy.atRiskThreshold}`;
      let cache = spanBounds.get(calendar);
      if (!cache) spanBounds.set(calendar, (cache = new Map()));
      const known = cache.get(key);
      if (known !== undefined) return known;
      // The at-risk instant is never before the end of the k-th hverdag (the start day for k = 0).
      const k = Math.floor(policy.atRiskThreshold * n);
      const first = epochDayFromCivil(AT_RISK_SPAN_YEARS.from, 1, 1);
      const last = epochDayFromCivil(AT_RISK_SPAN_YEARS.to, 12, 31);
      let worst = 0;
      for (let d = first; d <= last; d++) {
        const dayK = k === 0 ? d : calendar.nthWorkingEpochDayAfter(d, k);
        const dayN = calendar.nthWorkingEpochDayAfter(dayK, n - k);
        worst = Math.max(worst, startOfLocalEpochDay(dayN + 1) - startOfLocalEpochDay(dayK + 1));
      }
      const bound = worst + 1;
      cache.set(key, bound);
      return bound;
    }
  }
}
