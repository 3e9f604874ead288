/**
 * The flow matrix port (docs/flows.md): handovers between units over a period, the contracted exact
 * unit → unit edges, and the manager views (sector roll-ups, cohorts) with small cells suppressed.
 *
 * An adapter only reads the period's handovers (`JudgedHandover`s); the views are built here, the same
 * for every adapter, so SQLite and PostgreSQL cannot count differently.
 */
import { Sector, type UnitDirectory } from '@tracker/domain';
import type { DataScope } from '../queries.ts';
import { AGE_BANDS, type AgeBand } from './flowDerivation.ts';
import { SMALL_CELL_THRESHOLD, groupIntoCells, suppressSmallCells, type FlowMeasures, type JudgedHandover, type SuppressedMeasures } from './flowStatistics.ts';

/**
 * A period [fromMs, toMs): handovers initiated in it, each judged (status, lost) as the world stood at
 * toMs, exclusive: only events before toMs count. Callers cap toMs at now, so nothing is judged ahead
 * of time.
 */
export interface FlowPeriod {
  fromMs: number;
  toMs: number;
}

/** One unit → unit edge: the contracted `FlowEdge`, exact. */
export interface FlowEdgeView extends FlowMeasures {
  fromUnitId: string;
  toUnitId: string;
}

/** Sector of a unit the units configuration no longer knows. */
export const UNKNOWN_SECTOR = 'unknown';

export interface SectorFlowView extends SuppressedMeasures {
  fromSector: string;
  toSector: string;
}

export interface CohortFlowView extends SectorFlowView {
  ageBand: AgeBand;
  /** The citizen's kommune at the transition; null when not known then. */
  municipality: string | null;
}

export interface CohortFilter {
  fromSector?: string;
  toSector?: string;
}

/**
 * Every view takes the caller's data scope: only handovers touching one of the scope's units (either
 * side) are counted — read so by the adapter's SQL, never filtered afterwards.
 */
export interface FlowQueries {
  /**
   * Exact edges for the whole kommune (administrators). For a restricted scope (managers) an edge is
   * shown only when the small-cell rule would withhold none of its counts: FlowEdge's counts are
   * non-null in the contract, so an edge is left out rather than shown with a count resting on 1–4
   * citizens; its median and p90 are null unless at least 5 citizens had a handover accepted.
   */
  flows(period: FlowPeriod, scope: DataScope): Promise<FlowEdgeView[]>;
  flowsBySector(period: FlowPeriod, scope: DataScope): Promise<SectorFlowView[]>;
  flowCohorts(period: FlowPeriod, filter: CohortFilter, scope: DataScope): Promise<CohortFlowView[]>;
}

/** What an adapter provides: the handovers initiated in the period that touch the scope's units, judged at its end. */
export interface FlowSource {
  judgedHandovers(period: FlowPeriod, scope: DataScope): JudgedHandover[] | Promise<JudgedHandover[]>;
}

const SECTOR_ORDER: readonly string[] = [...Sector.options, UNKNOWN_SECTOR];
const bySector = (a: string, b: string) => SECTOR_ORDER.indexOf(a) - SECTOR_ORDER.indexOf(b);
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface FlowViewsOptions {
  units: UnitDirectory;
  /** Manager views withhold numbers resting on fewer citizens than this (default 5). */
  smallCellThreshold?: number;
}

/** The views over any FlowSource. */
export class FlowViews implements FlowQueries {
  readonly #source: FlowSource;
  readonly #units: UnitDirectory;
  readonly #threshold: number;

  constructor(source: FlowSource, { units, smallCellThreshold = SMALL_CELL_THRESHOLD }: FlowViewsOptions) {
    if (!Number.isInteger(smallCellThreshold) || smallCellThreshold < 1) throw new RangeError('smallCellThreshold must be a positive integer');
    this.#source = source;
    this.#units = units;
    this.#threshold = smallCellThreshold;
  }

  #sectorOf = (unitId: string): string => this.#units.sectorOf(unitId) ?? UNKNOWN_SECTOR;

  async flows(period: FlowPeriod, scope: DataScope): Promise<FlowEdgeView[]> {
    const cells = groupIntoCells(
      await this.#source.judgedHandovers(period, scope),
      (h) => ({ fromUnitId: h.fromUnitId, toUnitId: h.toUnitId }),
      (k) => `${k.fromUnitId}\u0000${k.toUnitId}`,
    );
    const edges: FlowEdgeView[] = [];
    for (const { key, cell } of cells.values()) {
      if (scope.allUnits) {
        edges.push({ ...key, ...cell.measures() });
        continue;
      }
      const shown = suppressSmallCells(cell, this.#threshold);
      const counts = [shown.count, shown.accepted, shown.rejected, shown.pending, shown.cancelled, shown.lost];
      if (counts.some((n) => n === null)) continue;
      edges.push({
        ...key,
        count: shown.count!,
        accepted: shown.accepted!,
        rejected: shown.rejected!,
        pending: shown.pending!,
        cancelled: shown.cancelled!,
        lost: shown.lost!,
        medianDaysToAccept: shown.medianDaysToAccept,
        p90DaysToAccept: shown.p90DaysToAccept,
      });
    }
    return edges.sort((a, b) => byText(a.fromUnitId, b.fromUnitId) || byText(a.toUnitId, b.toUnitId));
  }

  async flowsBySector(period: FlowPeriod, scope: DataScope): Promise<SectorFlowView[]> {
    const cells = groupIntoCells(
      await this.#source.judgedHandovers(period, scope),
      (h) => ({ fromSector: this.#sectorOf(h.fromUnitId), toSector: this.#sectorOf(h.toUnitId) }),
      (k) => `${k.fromSector}\u0000${k.toSector}`,
    );
    return [...cells.values()]
      .map(({ key, cell }) => ({ ...key, ...suppressSmallCells(cell, this.#threshold) }))
      .sort((a, b) => bySector(a.fromSector, b.fromSector) || bySector(a.toSector, b.toSector));
  }

  async flowCohorts(period: FlowPeriod, filter: CohortFilter, scope: DataScope): Promise<CohortFlowView[]> {
    const rows = (await this.#source.judgedHandovers(period, scope)).filter(
      (h) =>
        (filter.fromSector === undefined || this.#sectorOf(h.fromUnitId) === filter.fromSector) &&
        (filter.toSector === undefined || this.#sectorOf(h.toUnitId) === filter.toSector),
    );
    const cells = groupIntoCells(
      rows,
      (h) => ({ fromSector: this.#sectorOf(h.fromUnitId), toSector: this.#sectorOf(h.toUnitId), ageBand: h.ageBand, municipality: h.municipality }),
      (k) => `${k.fromSector}\u0000${k.toSector}\u0000${k.ageBand}\u0000${k.municipality ?? ''}`,
    );
    return [...cells.values()]
      .map(({ key, cell }) => ({ ...key, ...suppressSmallCells(cell, this.#threshold) }))
      .sort(
        (a, b) =>
          bySector(a.fromSector, b.fromSector) ||
          bySector(a.toSector, b.toSector) ||
          AGE_BANDS.indexOf(a.ageBand) - AGE_BANDS.indexOf(b.ageBand) ||
          // Known kommuner first, by code; unknown last.
          (a.municipality === null ? 1 : 0) - (b.municipality === null ? 1 : 0) ||
          byText(a.municipality ?? '', b.municipality ?? ''),
      );
  }
}
