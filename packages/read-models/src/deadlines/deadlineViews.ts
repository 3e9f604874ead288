/**
 * What the deadline query adapters (SQLite, PostgreSQL) share beyond their SQL dialects, so their
 * answers cannot diverge: the status rule as a CASE over the stored instants, rows → views (instants
 * in Copenhagen time), the at-risk spans that bound the worklist's index walk, and the compliance
 * cells built from the counted rows (lateness in the policy's unit, percentiles, small-cell suppression).
 */
import {
  AT_RISK_SPAN_YEARS,
  atRiskSpanBound,
  DEADLINE_STATUSES,
  formatDeadlineInstant,
  latenessOf,
  type DeadlinePolicySet,
  type DeadlineStatus,
  type LatenessUnit,
} from '@tracker/domain';
import type { ComplianceCell, ComplianceView, DeadlineKey, DeadlineView } from './deadlineQueries.ts';
import type { DeadlineClockRow } from './deadlineDerivation.ts';

/** domain.md §6: manager aggregates suppress small cells. */
export const MIN_CITIZENS_PER_CELL = 5;

/**
 * A clock's status at `asOf` (a placeholder: `:asOf`, `$1`) from its stored instants; mirrors
 * deadlineStatusAt. The same text is valid SQLite and PostgreSQL.
 */
export const deadlineStatusSql = (asOf: string): string => `CASE
  WHEN stopped_ms <= ${asOf} THEN CASE WHEN stopped_ms < due_ms THEN 'MET' ELSE 'BREACHED' END
  WHEN due_ms <= ${asOf} THEN 'BREACHED'
  WHEN at_risk_ms <= ${asOf} THEN 'AT_RISK'
  ELSE 'PENDING' END`;

/** A clock as the list queries select it: the stop only when it had happened by asOf. */
export type ClockRow = Omit<DeadlineClockRow, 'visible_from_ms' | 'visible_until_ms' | 'start_position' | 'source_position'> & { status: DeadlineStatus };

export function toDeadlineView(r: ClockRow): DeadlineView {
  return {
    id: `${r.citizen_id}/${r.clock_id}`,
    clockId: r.clock_id,
    policy: r.policy,
    citizenId: r.citizen_id,
    unitId: r.unit_id,
    startedAt: formatDeadlineInstant(r.started_ms),
    dueAt: formatDeadlineInstant(r.due_ms),
    atRiskAt: formatDeadlineInstant(r.at_risk_ms),
    stoppedAt: r.stopped_ms === null ? null : formatDeadlineInstant(r.stopped_ms),
    status: r.status,
  };
}

/** A node of a keyset page: the view and where the next page starts. */
export const toDeadlineNode = (r: ClockRow): DeadlineView & { key: DeadlineKey } => ({
  ...toDeadlineView(r),
  key: { dueMs: r.due_ms, citizenId: r.citizen_id, clockId: r.clock_id },
});

/** Nearest-rank percentile of sorted values (p in (0, 1]). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/** A status filter from outside: one of the four, or a clear error. */
export function checkDeadlineStatus(status: DeadlineStatus): DeadlineStatus {
  if (!DEADLINE_STATUSES.includes(status)) throw new RangeError('unknown deadline status');
  return status;
}

/**
 * Per policy, how long before its due instant an AT_RISK clock can be (see atRiskSpanBound): an
 * AT_RISK clock at asOf is due within (asOf, asOf + span], so the worklist reads a short stretch of a
 * due-ordered index. The bounds hold only for asOf within the years they are measured for.
 */
export class AtRiskSpans {
  readonly perPolicy: readonly { policy: string; span: number }[];
  readonly #from = Date.UTC(AT_RISK_SPAN_YEARS.from, 0, 2);
  readonly #to = Date.UTC(AT_RISK_SPAN_YEARS.to, 11, 1);

  constructor(policies: DeadlinePolicySet) {
    this.perPolicy = policies.policies.map((p) => ({ policy: p.id, span: atRiskSpanBound(p, policies.calendar) }));
  }

  /** Whether the per-policy spans bound the AT_RISK clocks at asOf. */
  applyAt(asOf: number): boolean {
    return asOf >= this.#from && asOf <= this.#to && this.perPolicy.length > 0;
  }

  /** The longest at-risk span of a policy (or of all), when asOf lies in the years it is measured for. */
  longest(policy: string | undefined, asOf: number): number | undefined {
    if (asOf < this.#from || asOf > this.#to) return undefined;
    const spans = this.perPolicy.filter((s) => policy === undefined || s.policy === policy).map((s) => s.span);
    return spans.length ? Math.max(...spans) : undefined;
  }
}

/** One (unit, policy, month index) of the compliance view, counted in SQL. */
export interface ComplianceCountRow {
  unit_id: string | null;
  policy: string;
  /** Index into the requested months. */
  m: number;
  citizens: number;
  met: number;
  breached: number;
  pending: number;
}

/** A clock BREACHED at asOf, for its lateness (hverdage need the calendar, so not in SQL). */
export interface BreachedClockRow {
  unit_id: string | null;
  policy: string;
  m: number;
  due_ms: number;
  /** The stop, when it had happened by asOf. */
  stopped_ms: number | null;
}

export interface ComplianceInputs {
  months: readonly { month: string }[];
  counts: readonly ComplianceCountRow[];
  breached: readonly BreachedClockRow[];
  policies: DeadlinePolicySet;
  minCitizensPerCell: number;
  asOf: number;
}

/**
 * The compliance view from the counted cells and the breached clocks: lateness in the policy's unit
 * (stopped late: at the stop; still running: at asOf), median and p90, cells under the minimum
 * suppressed; ordered by unit, policy and month.
 */
export function complianceView({ months, counts, breached, policies, minCitizensPerCell, asOf }: ComplianceInputs): ComplianceView {
  const key = (unitId: string | null, policy: string, m: number) => `${unitId ?? ''}\u0000${policy}\u0000${m}`;
  const unitOf = (policy: string): LatenessUnit => policies.get(policy)?.latenessUnit ?? 'days';
  const lateness = new Map<string, number[]>();
  for (const r of breached) {
    const k = key(r.unit_id, r.policy, r.m);
    let list = lateness.get(k);
    if (!list) lateness.set(k, (list = []));
    list.push(latenessOf(r.due_ms, r.stopped_ms ?? asOf, unitOf(r.policy), policies.calendar));
  }
  const cells: ComplianceCell[] = [...counts]
    .sort((a, b) => (a.unit_id ?? '').localeCompare(b.unit_id ?? '') || a.policy.localeCompare(b.policy) || a.m - b.m)
    .map((c) => {
      const base = { unitId: c.unit_id, policy: c.policy, month: months[c.m]!.month, latenessUnit: unitOf(c.policy) };
      if (c.citizens < minCitizensPerCell) {
        return { ...base, suppressed: true, citizens: null, met: null, breached: null, pending: null, shareOnTime: null, medianLateness: null, p90Lateness: null };
      }
      const sorted = (lateness.get(key(c.unit_id, c.policy, c.m)) ?? []).sort((x, y) => x - y);
      const decided = c.met + c.breached;
      return {
        ...base,
        suppressed: false,
        citizens: c.citizens,
        met: c.met,
        breached: c.breached,
        pending: c.pending,
        shareOnTime: decided === 0 ? null : c.met / decided,
        medianLateness: percentile(sorted, 0.5),
        p90Lateness: percentile(sorted, 0.9),
      };
    });
  return { minCitizensPerCell, cells };
}

/** Counts per status, every status present. */
export function statusCountsOf(rows: readonly { status: DeadlineStatus; n: number }[]): Record<DeadlineStatus, number> {
  const counts = { PENDING: 0, AT_RISK: 0, MET: 0, BREACHED: 0 };
  for (const r of rows) counts[r.status] = r.n;
  return counts;
}
