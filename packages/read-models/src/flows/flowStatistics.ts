/**
 * Counting handovers into flow cells, and the small-cell rule for manager views (docs/flows.md).
 * Pure functions over rows the flow queries read; no I/O.
 */
import type { AgeBand } from './flowDerivation.ts';

/** What a handover had come to at the end of the period (status at that instant, domain order). */
export type FlowOutcome = 'accepted' | 'rejected' | 'pending' | 'cancelled';

/** A handover as read for one period: its outcome and lost flag already judged at the period's end. */
export interface JudgedHandover {
  citizenId: string;
  fromUnitId: string;
  toUnitId: string;
  ageBand: AgeBand;
  municipality: string | null;
  outcome: FlowOutcome;
  /** Set when the outcome is accepted and the acceptance precedes the period's end. */
  daysToAccept: number | null;
  lost: boolean;
}

/**
 * The status at `endMs` (exclusive) from the earliest instant of each resolution, as the read models
 * derive HandoverStatus: the latest resolution before the end decides; on equal instants cancelled >
 * completed > rejected > accepted. ACCEPTED and COMPLETED both count as accepted: the receiving unit
 * said yes (a completion without an acceptance is a takeover all the same).
 */
export function outcomeAt(
  resolutions: { acceptedMs: number | null; rejectedMs: number | null; completedMs: number | null; cancelledMs: number | null },
  endMs: number,
): FlowOutcome {
  const seen = (ms: number | null) => (ms !== null && ms < endMs ? ms : -Infinity);
  const a = seen(resolutions.acceptedMs);
  const r = seen(resolutions.rejectedMs);
  const co = seen(resolutions.completedMs);
  const ca = seen(resolutions.cancelledMs);
  const latest = Math.max(a, r, co, ca);
  if (latest === -Infinity) return 'pending';
  if (ca === latest) return 'cancelled';
  if (co === latest) return 'accepted';
  if (r === latest) return 'rejected';
  return 'accepted';
}

/**
 * The p-quantile (0 ≤ p ≤ 1) of ascending values by linear interpolation between closest ranks
 * (Hyndman & Fan type 7: numpy's default, Excel's PERCENTILE.INC). The median is p = 0.5: for an even
 * count, the mean of the middle two. Null for no values.
 */
export function quantile(sortedAscending: readonly number[], p: number): number | null {
  const n = sortedAscending.length;
  if (n === 0) return null;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const low = sortedAscending[lo]!;
  return low + (h - lo) * (sortedAscending[hi]! - low);
}

/** Exact measures of one cell: what the contracted FlowEdge carries. */
export interface FlowMeasures {
  count: number;
  accepted: number;
  rejected: number;
  pending: number;
  cancelled: number;
  medianDaysToAccept: number | null;
  p90DaysToAccept: number | null;
  lost: number;
}

/** A cell being counted: its measures plus the distinct citizens behind each, for the small-cell rule. */
export class FlowCell {
  count = 0;
  readonly outcomes: Record<FlowOutcome, number> = { accepted: 0, rejected: 0, pending: 0, cancelled: 0 };
  lost = 0;
  readonly #days: number[] = [];
  readonly citizens = new Set<string>();
  readonly #outcomeCitizens: Record<FlowOutcome, Set<string>> = { accepted: new Set(), rejected: new Set(), pending: new Set(), cancelled: new Set() };
  readonly #lostCitizens = new Set<string>();

  add(h: JudgedHandover): void {
    this.count++;
    this.outcomes[h.outcome]++;
    this.citizens.add(h.citizenId);
    this.#outcomeCitizens[h.outcome].add(h.citizenId);
    if (h.outcome === 'accepted' && h.daysToAccept !== null) this.#days.push(h.daysToAccept);
    if (h.lost) {
      this.lost++;
      this.#lostCitizens.add(h.citizenId);
    }
  }

  measures(): FlowMeasures {
    const days = [...this.#days].sort((a, b) => a - b);
    return {
      count: this.count,
      ...this.outcomes,
      medianDaysToAccept: quantile(days, 0.5),
      p90DaysToAccept: quantile(days, 0.9),
      lost: this.lost,
    };
  }

  /** Distinct citizens behind a measure. */
  citizensOf(measure: Measure): number {
    return measure === 'lost' ? this.#lostCitizens.size : this.#outcomeCitizens[measure].size;
  }
}

/** Groups handovers into cells by a key; cells keep the first row's key fields. */
export function groupIntoCells<K>(rows: Iterable<JudgedHandover>, keyOf: (row: JudgedHandover) => K, idOf: (key: K) => string): Map<string, { key: K; cell: FlowCell }> {
  const cells = new Map<string, { key: K; cell: FlowCell }>();
  for (const row of rows) {
    const key = keyOf(row);
    const id = idOf(key);
    let entry = cells.get(id);
    if (!entry) {
      entry = { key, cell: new FlowCell() };
      cells.set(id, entry);
    }
    entry.cell.add(row);
  }
  return cells;
}

/** A manager view's measures: null where withheld by the small-cell rule, and whether any was. */
export interface SuppressedMeasures {
  citizens: number | null;
  count: number | null;
  accepted: number | null;
  rejected: number | null;
  pending: number | null;
  cancelled: number | null;
  medianDaysToAccept: number | null;
  p90DaysToAccept: number | null;
  lost: number | null;
  suppressed: boolean;
}

/** Manager aggregates show no number that rests on fewer than this many citizens (domain.md §6). */
export const SMALL_CELL_THRESHOLD = 5;

const PARTITION = ['accepted', 'rejected', 'pending', 'cancelled'] as const satisfies readonly FlowOutcome[];
type Measure = FlowOutcome | 'lost';
const MEASURES: readonly Measure[] = [...PARTITION, 'lost'];

/**
 * The small-cell rule (docs/flows.md, "Small cells"):
 * 1. a cell of fewer than `threshold` distinct citizens shows nothing but `suppressed: true`;
 * 2. in a shown cell, each count resting on 1 to threshold−1 distinct citizens is withheld (a zero
 *    is shown: it discloses nobody);
 * 3. accepted + rejected + pending + cancelled = count, so when exactly one of them is withheld the
 *    smallest other one is withheld too, or subtraction would reveal it;
 * 4. the median and p90 days are shown only when at least `threshold` citizens had a handover accepted
 *    and `accepted` itself is shown: a median of two waits is two people's waits.
 */
export function suppressSmallCells(cell: FlowCell, threshold = SMALL_CELL_THRESHOLD): SuppressedMeasures {
  const m = cell.measures();
  if (cell.citizens.size < threshold) {
    return {
      citizens: null,
      count: null,
      accepted: null,
      rejected: null,
      pending: null,
      cancelled: null,
      medianDaysToAccept: null,
      p90DaysToAccept: null,
      lost: null,
      suppressed: true,
    };
  }
  const withheld = new Set<Measure>();
  for (const measure of MEASURES) {
    const citizens = cell.citizensOf(measure);
    if (citizens > 0 && citizens < threshold) withheld.add(measure);
  }
  const withheldParts = PARTITION.filter((k) => withheld.has(k));
  if (withheldParts.length === 1) {
    const shown = PARTITION.filter((k) => !withheld.has(k));
    const smallest = shown.reduce((a, b) => (m[b] < m[a] ? b : a));
    withheld.add(smallest);
  }
  const show = (k: Measure) => (withheld.has(k) ? null : m[k]);
  const timesShown = !withheld.has('accepted') && cell.citizensOf('accepted') >= threshold;
  const medianDaysToAccept = timesShown ? m.medianDaysToAccept : null;
  const p90DaysToAccept = timesShown ? m.p90DaysToAccept : null;
  return {
    citizens: cell.citizens.size,
    count: m.count,
    accepted: show('accepted'),
    rejected: show('rejected'),
    pending: show('pending'),
    cancelled: show('cancelled'),
    medianDaysToAccept,
    p90DaysToAccept,
    lost: show('lost'),
    suppressed: withheld.size > 0 || (m.medianDaysToAccept !== null && medianDaysToAccept === null),
  };
}
