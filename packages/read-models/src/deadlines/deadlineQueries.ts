/**
 * What the API may ask about deadline clocks (the read-model port for deadlines). Every query takes
 * `asOf` (epoch ms): clocks that existed then, stops that had happened by then, statuses at then.
 * SQLite answers it here (sqliteDeadlineQueries.ts); a PostgreSQL adapter answers the same port.
 */
import type { DeadlineStatus, LatenessUnit } from '@tracker/domain';
import type { DataScope } from '../queries.ts';

export interface DeadlineView {
  /** Stable: `<citizenId>/<clockId>`. */
  id: string;
  /** `<policy>:<key>`, unique per citizen. */
  clockId: string;
  policy: string;
  citizenId: string;
  unitId: string | null;
  /** Instants as ISO 8601 in Copenhagen local time with offset. */
  startedAt: string;
  dueAt: string;
  atRiskAt: string;
  /** The stop, when it had happened by asOf. */
  stoppedAt: string | null;
  status: DeadlineStatus;
}

export interface DeadlineFilter {
  policy?: string;
  status?: DeadlineStatus;
  unitId?: string;
  asOf: number;
}

/** Where a page starts: after this clock in the order (due, citizen, clock). */
export interface DeadlineKey {
  dueMs: number;
  citizenId: string;
  clockId: string;
}

export interface DeadlinePageRequest {
  first: number;
  after?: DeadlineKey;
}

export interface DeadlinePage {
  nodes: (DeadlineView & { key: DeadlineKey })[];
  totalCount: number;
  hasNextPage: boolean;
}

export interface ComplianceFilter {
  unitId?: string;
  policy?: string;
  /** First and last month, 'YYYY-MM' (Copenhagen), inclusive: a clock belongs to the month it falls due in. */
  fromMonth: string;
  toMonth: string;
  asOf: number;
}

/** One cell of the compliance view: one unit, one policy, one month. */
export interface ComplianceCell {
  unitId: string | null;
  policy: string;
  month: string;
  /** Fewer than the minimum number of citizens: every count below is withheld (null). */
  suppressed: boolean;
  citizens: number | null;
  met: number | null;
  breached: number | null;
  /** Not yet stopped and not yet due at asOf (PENDING or AT_RISK). */
  pending: number | null;
  /** met / (met + breached); null when none is decided yet. */
  shareOnTime: number | null;
  /** Over the breached clocks: how late (stopped late: at the stop; still running: at asOf). */
  medianLateness: number | null;
  p90Lateness: number | null;
  latenessUnit: LatenessUnit;
}

export interface ComplianceView {
  /** Cells with fewer citizens than this are suppressed (domain.md §6). */
  minCitizensPerCell: number;
  cells: ComplianceCell[];
}

/**
 * Every query takes the caller's data scope (queries.ts): the citizen-level ones read only clocks of
 * citizens in it; compliance (an aggregate) only cells of the scope's units.
 */
export interface DeadlineQueries {
  deadlines(filter: DeadlineFilter, page: DeadlinePageRequest, scope: DataScope): Promise<DeadlinePage>;
  citizenDeadlines(citizenId: string, asOf: number, scope: DataScope): Promise<DeadlineView[]>;
  /** AT_RISK clocks of one unit at asOf, least time left first. */
  atRisk(unitId: string, asOf: number, first: number, scope: DataScope): Promise<DeadlineView[]>;
  compliance(filter: ComplianceFilter, scope: DataScope): Promise<ComplianceView>;
}
