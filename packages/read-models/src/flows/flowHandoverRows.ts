/**
 * The `flow_handovers` columns a flow source reads for a period, and how one row is judged at the
 * period's end. Shared by the SQLite and PostgreSQL sources, so they cannot judge differently.
 */
import type { AgeBand } from './flowDerivation.ts';
import { outcomeAt, type JudgedHandover } from './flowStatistics.ts';

/** The columns, in the order of `FlowRow`. */
export const FLOW_ROW_COLUMNS = [
  'citizen_id',
  'from_unit_id',
  'to_unit_id',
  'accepted_ms',
  'rejected_ms',
  'completed_ms',
  'cancelled_ms',
  'days_to_accept',
  'age_band',
  'municipality',
  'lost_from_ms',
] as const;

export type FlowRowColumn = (typeof FLOW_ROW_COLUMNS)[number];

/** One `flow_handovers` row as read (instants in epoch ms). */
export type FlowRow = [
  citizenId: string,
  fromUnitId: string,
  toUnitId: string,
  acceptedMs: number | null,
  rejectedMs: number | null,
  completedMs: number | null,
  cancelledMs: number | null,
  daysToAccept: number | null,
  ageBand: AgeBand,
  municipality: string | null,
  lostFromMs: number | null,
];

/** The handover as the world stood at `toMs` (exclusive): its outcome then, and whether it was lost by then. */
export function judgedHandover(row: FlowRow, toMs: number): JudgedHandover {
  const [citizenId, fromUnitId, toUnitId, acceptedMs, rejectedMs, completedMs, cancelledMs, daysToAccept, ageBand, municipality, lostFromMs] = row;
  const outcome = outcomeAt({ acceptedMs, rejectedMs, completedMs, cancelledMs }, toMs);
  return {
    citizenId,
    fromUnitId,
    toUnitId,
    ageBand,
    municipality,
    outcome,
    daysToAccept: outcome === 'accepted' ? daysToAccept : null,
    lost: lostFromMs !== null && lostFromMs < toMs,
  };
}
