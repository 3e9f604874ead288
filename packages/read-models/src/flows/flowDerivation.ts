/**
 * One row per handover for the flow matrix (docs/flows.md): where it went, when it was answered, the
 * citizen's cohort at the transition, and from which instant it counts as *lost*.
 *
 * A per-citizen derivation (derived.ts) because "lost" and the cohort depend on the citizen's whole
 * history (cases at every unit, birth date, moves), not on one event. Rows hold instants computed from
 * the full history; the flow queries judge them at the end of the asked period. That is exact because
 * every instant stored here depends only on events at or before it (see `lostFromMs`).
 */
import {
  MS_PER_DAY,
  addCopenhagenDays,
  ageAt,
  copenhagenOffsetMs,
  instantMs,
  type StoredEvent,
  type UnitDirectory,
} from '@tracker/domain';
import type { CitizenDerivation, DerivedRow, DerivedTable } from '../derived.ts';

/** A citizen with no open case anywhere for more than this many calendar days after a handover is lost. */
export const LOST_AFTER_DAYS = 30;

/**
 * Age bands at the transition, on the lines the law draws: 15 (youth units take over), 18
 * (majority: Barnets Lov gives way to Serviceloven), 23 (the end of continued support, efterværn and
 * ungestøtte, Barnets Lov § 114).
 */
export const AGE_BANDS = ['AGE_0_14', 'AGE_15_17', 'AGE_18_22', 'AGE_23_PLUS', 'UNKNOWN'] as const;
export type AgeBand = (typeof AGE_BANDS)[number];

export function ageBandOf(years: number): Exclude<AgeBand, 'UNKNOWN'> {
  if (years < 15) return 'AGE_0_14';
  if (years < 18) return 'AGE_15_17';
  if (years < 23) return 'AGE_18_22';
  return 'AGE_23_PLUS';
}

/** Calendar days between two instants in Copenhagen, fractional: 10:00 to 10:00 a week later is 7 across DST too. */
export function calendarDaysBetween(fromMs: number, toMs: number): number {
  return (toMs + copenhagenOffsetMs(toMs) - (fromMs + copenhagenOffsetMs(fromMs))) / MS_PER_DAY;
}

/** A handover as the flow matrix sees it. Instants are epoch ms; null when it never happened. */
export interface FlowHandoverRow {
  handoverId: string;
  fromUnitId: string;
  toUnitId: string;
  kind: string;
  initiatedMs: number;
  /** The earliest of each resolution (earliest wins, as in the other read models). */
  acceptedMs: number | null;
  rejectedMs: number | null;
  completedMs: number | null;
  cancelledMs: number | null;
  /** Calendar days from initiation to the first acceptance (or completion, when never accepted). */
  daysToAccept: number | null;
  /** Age band and municipality as known at the initiation (events at or before it). */
  ageBand: AgeBand;
  municipality: string | null;
  /**
   * The handover is lost as judged at any instant after this one: the citizen's coverage lapsed during
   * the transition and had lasted exactly LOST_AFTER_DAYS days here without a case opening. Null: never.
   */
  lostFromMs: number | null;
}

export const FLOW_HANDOVERS_TABLE = {
  name: 'flow_handovers',
  columns: {
    handover_id: 'text',
    from_unit_id: 'text',
    to_unit_id: 'text',
    kind: 'text',
    initiated_ms: 'integer',
    accepted_ms: 'integer',
    rejected_ms: 'integer',
    completed_ms: 'integer',
    cancelled_ms: 'integer',
    days_to_accept: 'real',
    age_band: 'text',
    municipality: 'text',
    lost_from_ms: 'integer',
  },
  // Covering the flow queries' columns: a period is one range scan of this index, no table lookups.
  indexes: [['initiated_ms', 'citizen_id', 'from_unit_id', 'to_unit_id', 'accepted_ms', 'rejected_ms', 'completed_ms', 'cancelled_ms', 'days_to_accept', 'age_band', 'municipality', 'lost_from_ms']],
} as const satisfies DerivedTable;

interface CaseSpan {
  unitId: string | null;
  openedMs: number | null;
  closedMs: number | null;
}

type ResolutionType = 'HandoverAccepted' | 'HandoverRejected' | 'HandoverCompleted' | 'HandoverCancelled';
const RESOLUTION_FIELD = {
  HandoverAccepted: 'acceptedMs',
  HandoverRejected: 'rejectedMs',
  HandoverCompleted: 'completedMs',
  HandoverCancelled: 'cancelledMs',
} as const satisfies Record<ResolutionType, keyof FlowHandoverRow>;

type Initiated = Omit<FlowHandoverRow, 'daysToAccept' | 'lostFromMs'>;

/**
 * The flow rows of one citizen, from all their events in world order (occurredAt, then global
 * position). Pure. Repeated facts: the earliest counts. Resolutions of a handover never initiated are
 * anomalies (listed elsewhere) and make no row: they belong to no edge and no period.
 */
export function deriveFlowHandovers(history: readonly StoredEvent[], units: UnitDirectory): FlowHandoverRow[] {
  const cases = new Map<string, CaseSpan>();
  const handovers = new Map<string, Initiated>();
  // Collected per handover id while walking: a resolution may stand before its initiation in the world.
  const resolutions = new Map<string, { type: ResolutionType; ms: number }[]>();
  let birthDate: string | null = null;
  let municipality: string | null = null;
  const earliest = (current: number | null, ms: number) => current ?? ms;

  for (const event of history) {
    const ms = instantMs(event.occurredAt);
    switch (event.type) {
      case 'CitizenRegistered':
        if (birthDate === null) {
          birthDate = event.data.birthDate;
          municipality ??= event.data.municipality;
        }
        break;
      case 'CitizenMoved':
        municipality = event.data.toMunicipality;
        break;
      case 'CaseOpened': {
        const span = cases.get(event.data.caseId) ?? { unitId: null, openedMs: null, closedMs: null };
        if (span.openedMs === null) {
          span.openedMs = ms;
          span.unitId = event.data.unitId;
        }
        cases.set(event.data.caseId, span);
        break;
      }
      case 'CaseClosed': {
        const span = cases.get(event.data.caseId) ?? { unitId: null, openedMs: null, closedMs: null };
        span.closedMs = earliest(span.closedMs, ms);
        cases.set(event.data.caseId, span);
        break;
      }
      case 'HandoverInitiated':
        if (!handovers.has(event.data.handoverId)) {
          handovers.set(event.data.handoverId, {
            handoverId: event.data.handoverId,
            fromUnitId: event.data.fromUnitId,
            toUnitId: event.data.toUnitId,
            kind: event.data.kind,
            initiatedMs: ms,
            acceptedMs: null,
            rejectedMs: null,
            completedMs: null,
            cancelledMs: null,
            ageBand: birthDate === null ? 'UNKNOWN' : ageBandOf(ageAt(birthDate, ms).years),
            municipality,
          });
        }
        break;
      case 'HandoverAccepted':
      case 'HandoverRejected':
      case 'HandoverCompleted':
      case 'HandoverCancelled': {
        // A resolution that stands before the initiation in the world still resolves it (the read
        // models do the same); one with no initiation at all makes no row.
        const pending = resolutions.get(event.data.handoverId) ?? [];
        pending.push({ type: event.type, ms });
        resolutions.set(event.data.handoverId, pending);
        break;
      }
      default:
        break;
    }
  }

  const spans = [...cases.values()];
  const uncovered = uncoveredOf(coverageOf(spans));
  const rows: FlowHandoverRow[] = [];
  for (const row of handovers.values()) {
    for (const { type, ms } of resolutions.get(row.handoverId) ?? []) {
      const key = RESOLUTION_FIELD[type];
      row[key] = earliest(row[key], ms);
    }
    const takenMs = minOf(row.acceptedMs, row.completedMs);
    rows.push({
      ...row,
      daysToAccept: takenMs !== null && takenMs >= row.initiatedMs ? calendarDaysBetween(row.initiatedMs, takenMs) : null,
      lostFromMs: lostFrom(row, spans, uncovered, units),
    });
  }
  return rows;
}

const minOf = (...values: (number | null)[]): number | null => {
  let min: number | null = null;
  for (const v of values) if (v !== null && (min === null || v < min)) min = v;
  return min;
};

/** Half-open intervals [start, end) of coverage, merged and sorted; end Infinity while open. */
type Interval = [start: number, end: number];

function coverageOf(cases: readonly CaseSpan[]): Interval[] {
  const spans = cases
    .filter((c): c is CaseSpan & { openedMs: number } => c.openedMs !== null)
    .map((c): Interval => [c.openedMs, c.closedMs ?? Infinity])
    // A closure at or before the opening (a contradiction between source systems) covers nothing.
    .filter(([start, end]) => end > start)
    .sort((a, b) => a[0] - b[0]);
  const merged: Interval[] = [];
  for (const [start, end] of spans) {
    const last = merged.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

/** Intervals [start, end) with no open case anywhere, over the whole time line. */
function uncoveredOf(coverage: readonly Interval[]): Interval[] {
  const gaps: Interval[] = [];
  let cursor = -Infinity;
  for (const [start, end] of coverage) {
    if (start > cursor) gaps.push([cursor, start]);
    cursor = end;
  }
  if (cursor < Infinity) gaps.push([cursor, Infinity]);
  return gaps;
}

/**
 * When the handover counts as lost (docs/flows.md, "Lost"):
 * - the transition runs from the initiation t0 until it *settles*: the first instant at or after t0 at
 *   which the citizen has an open case at the receiving unit (for a receiving unit in another kommune,
 *   sector `external`, whose cases the tracker cannot see: its acceptance or completion), or the
 *   handover's rejection or cancellation;
 * - a *lapse* is an interval with no open case at any unit; one that begins (or is under way) after t0
 *   and before the transition settles counts from max(its start, t0) to the next case opening anywhere;
 * - the handover is lost once such a lapse has lasted more than LOST_AFTER_DAYS calendar days: the
 *   answer is this instant, the lapse start plus 30 calendar days, when the lapse did not end by then.
 *   A lapse of exactly 30 days is not lost.
 * Each quantity depends only on events at or before the instant it names, so judging the stored instant
 * at any later `asOf` equals judging the history cut at that `asOf`.
 */
function lostFrom(row: Initiated, cases: readonly CaseSpan[], uncovered: readonly Interval[], units: UnitDirectory): number | null {
  const t0 = row.initiatedMs;
  let landed = Infinity;
  for (const c of cases) {
    if (c.unitId !== row.toUnitId || c.openedMs === null) continue;
    const end = c.closedMs ?? Infinity;
    if (end <= c.openedMs || end <= t0) continue;
    landed = Math.min(landed, Math.max(c.openedMs, t0));
  }
  if (units.sectorOf(row.toUnitId) === 'external') {
    for (const ms of [row.acceptedMs, row.completedMs]) if (ms !== null) landed = Math.min(landed, Math.max(ms, t0));
  }
  let settles = landed;
  for (const ms of [row.rejectedMs, row.cancelledMs]) if (ms !== null) settles = Math.min(settles, Math.max(ms, t0));

  for (const [start, end] of uncovered) {
    if (end <= t0) continue;
    const lapseStart = Math.max(start, t0);
    if (lapseStart >= settles) break;
    const lostAt = addCopenhagenDays(lapseStart, LOST_AFTER_DAYS);
    if (end > lostAt) return lostAt;
  }
  return null;
}

/** The derivation that fills `flow_handovers`; register it with the read-model adapter. */
export function createFlowDerivation(units: UnitDirectory): CitizenDerivation {
  return {
    name: 'flows',
    version: 1,
    tables: [FLOW_HANDOVERS_TABLE],
    derive(_citizenId, history) {
      const rows: DerivedRow[] = deriveFlowHandovers(history, units).map((r) => ({
        handover_id: r.handoverId,
        from_unit_id: r.fromUnitId,
        to_unit_id: r.toUnitId,
        kind: r.kind,
        initiated_ms: r.initiatedMs,
        accepted_ms: r.acceptedMs,
        rejected_ms: r.rejectedMs,
        completed_ms: r.completedMs,
        cancelled_ms: r.cancelledMs,
        days_to_accept: r.daysToAccept,
        age_band: r.ageBand,
        municipality: r.municipality,
        lost_from_ms: r.lostFromMs,
      }));
      return { [FLOW_HANDOVERS_TABLE.name]: rows };
    },
  };
}
