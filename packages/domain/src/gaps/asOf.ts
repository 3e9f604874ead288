/**
 * Gaps, relatives and anomalies as the world stood at `asOf` (design.md: time travel). These are the
 * reference semantics; read-model adapters answer the same in their query language (e.g. SQL over
 * stored intervals) and are tested against these functions.
 *
 * - A gap exists at asOf if it started at or before asOf; it is open if it had not ended by then.
 * - durationDays runs from the start to the end, or to asOf while open, in Copenhagen calendar days:
 *   10 March 10:00 to 9 April 10:00 is 30 days although summer time began in between (29.96 days of
 *   24 h) — the way a caseworker counts.
 * - overdue: the due instant has passed at asOf and the gap was not ended before it. The due instant
 *   is the first instant of being late (ended exactly at it is late), and a gap that ended late stays
 *   overdue for a manager looking back — the same rule as handovers' `overdue` (docs/decisions.md).
 */
import { copenhagenOffsetMs, formatEpochDay, MS_PER_DAY } from '../calendar/copenhagen.ts';
import type { Anomaly, Gap, RelativeFact } from './model.ts';

export interface GapAsOf extends Gap {
  /** The end if it came at or before asOf, else null. */
  endedMs: number | null;
  open: boolean;
  overdue: boolean;
  durationDays: number;
}

/** The gap as it stood at asOf, or undefined when it had not started then. */
export function gapAsOf(gap: Gap, asOfMs: number): GapAsOf | undefined {
  if (gap.startedMs > asOfMs) return undefined;
  const endedMs = gap.endedMs !== null && gap.endedMs <= asOfMs ? gap.endedMs : null;
  return {
    ...gap,
    endedMs,
    open: endedMs === null,
    overdue: isOverdue(gap, asOfMs),
    durationDays: copenhagenDaysBetween(gap.startedMs, endedMs ?? asOfMs),
  };
}

/** Days between two instants on Copenhagen wall clocks (a day is 23 or 25 hours across a DST change). */
export function copenhagenDaysBetween(fromMs: number, toMs: number): number {
  // Never negative: in the autumn's repeated hour a later instant can read an earlier wall time.
  return Math.max(0, toMs + copenhagenOffsetMs(toMs) - (fromMs + copenhagenOffsetMs(fromMs))) / MS_PER_DAY;
}

/** Judged at asOf: due has passed and the gap did not end before it (ending at due is late). */
export function isOverdue(gap: Pick<Gap, 'dueMs' | 'endedMs'>, asOfMs: number): boolean {
  return gap.dueMs !== null && gap.dueMs <= asOfMs && (gap.endedMs === null || gap.endedMs >= gap.dueMs);
}

/** The gaps that existed at asOf, in order of start. */
export function gapsAsOf(gaps: readonly Gap[], asOfMs: number): GapAsOf[] {
  const out: GapAsOf[] = [];
  for (const gap of gaps) {
    const g = gapAsOf(gap, asOfMs);
    if (g) out.push(g);
  }
  return out;
}

export interface RelativeAsOf {
  relativeId: string;
  relation: string;
  /** Custody (forældremyndighed) as linked; it ends when the citizen turns 18. */
  custody: boolean;
  /** The latest representation basis granted by asOf (fuldmagt, vaergemaal, samtykke), else null. */
  representation: string | null;
  /** When the relative was first linked. */
  linkedMs: number;
  /** When the current representation was granted. */
  representationMs: number | null;
}

/** The relatives linked by asOf, in order of first linking; the latest link sets relation and custody. */
export function relativesAsOf(facts: readonly RelativeFact[], asOfMs: number): RelativeAsOf[] {
  const byId = new Map<string, RelativeAsOf>();
  const representation = new Map<string, { basis: string; ms: number }>();
  for (const fact of [...facts].sort((a, b) => a.ms - b.ms)) {
    if (fact.ms > asOfMs) continue;
    if (fact.kind === 'representation') {
      representation.set(fact.relativeId, { basis: fact.basis, ms: fact.ms });
      continue;
    }
    const custody = fact.custody && (fact.custodyEndsMs === null || asOfMs < fact.custodyEndsMs);
    const known = byId.get(fact.relativeId);
    byId.set(fact.relativeId, { relativeId: fact.relativeId, relation: fact.relation, custody, representation: null, linkedMs: known?.linkedMs ?? fact.ms, representationMs: null });
  }
  return [...byId.values()].map((r) => {
    const granted = representation.get(r.relativeId);
    return granted ? { ...r, representation: granted.basis, representationMs: granted.ms } : r;
  });
}

/** The anomalies that had occurred by asOf. */
export function anomaliesAsOf(anomalies: readonly Anomaly[], asOfMs: number): Anomaly[] {
  return anomalies.filter((a) => a.occurredMs <= asOfMs);
}

const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/**
 * An instant as ISO 8601 in Copenhagen local time with its offset, e.g. '2025-05-01T00:00:00+02:00'
 * (milliseconds only when there are any): what a caseworker reads, and a valid DateTime.
 */
export function formatCopenhagenInstant(ms: number): string {
  const offset = copenhagenOffsetMs(ms);
  const wall = ms + offset;
  const day = Math.floor(wall / MS_PER_DAY);
  let rest = wall - day * MS_PER_DAY;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  const fraction = millis === 0 ? '' : `.${String(millis).padStart(3, '0')}`;
  return `${formatEpochDay(day)}T${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}${fraction}${offset === 3_600_000 ? '+01:00' : '+02:00'}`;
}
