/**
 * The deadline queries on the embedded read-model database (`SqliteReadModel.database`). Status is
 * computed in SQL from the stored instants with the rules of `deadlineStatusAt` (domain), so a filter
 * on status, unit or policy pages through an index instead of evaluating every clock in JavaScript.
 *
 * Pages are keyset pages in (due, citizen, clock) order: a page costs the same wherever it starts.
 */
import type Database from 'better-sqlite3';
import { DEADLINE_CLOCKS_TABLE } from './deadlineDerivation.ts';
import type {
  ComplianceFilter,
  ComplianceView,
  DeadlineFilter,
  DeadlinePage,
  DeadlinePageRequest,
  DeadlineQueries,
  DeadlineView,
} from './deadlineQueries.ts';
import type { DeadlinePolicySet, DeadlineStatus } from '@tracker/domain';
import { citizenScopeSqliteNamed, unitScopeSqliteNamed } from '@tracker/security';
import type { DataScope } from '../queries.ts';
import { monthsBetween } from './months.ts';
import {
  AtRiskSpans,
  checkDeadlineStatus,
  complianceView,
  deadlineStatusSql,
  MIN_CITIZENS_PER_CELL,
  statusCountsOf,
  toDeadlineNode,
  toDeadlineView,
  type BreachedClockRow,
  type ClockRow,
  type ComplianceCountRow,
} from './deadlineViews.ts';

export { MIN_CITIZENS_PER_CELL, percentile, toDeadlineView } from './deadlineViews.ts';

const T = DEADLINE_CLOCKS_TABLE;

// The unary + keeps SQLite from reading these through their own indexes (kept for the alert
// scheduler): lists walk the due-ordered indexes, so a page costs its size, not a sort of every match.

/** The clock exists at :asOf. */
const VISIBLE = `+visible_from_ms <= :asOf AND (+visible_until_ms IS NULL OR +visible_until_ms > :asOf)`;
const RUNNING = `(+stopped_ms IS NULL OR +stopped_ms > :asOf)`;

/** Per status, a predicate over the stored instants; mirrors deadlineStatusAt. */
const STATUS_PREDICATE: Record<DeadlineStatus, string> = {
  PENDING: `${RUNNING} AND +at_risk_ms > :asOf AND due_ms > :asOf`,
  AT_RISK: `${RUNNING} AND +at_risk_ms <= :asOf AND due_ms > :asOf`,
  MET: `+stopped_ms <= :asOf AND +stopped_ms < due_ms`,
  // Breached either way means due by asOf: a range on the due index.
  BREACHED: `due_ms <= :asOf AND ((+stopped_ms <= :asOf AND +stopped_ms >= due_ms) OR ${RUNNING})`,
};

const STATUS_CASE = deadlineStatusSql(':asOf');

const COLUMNS = `citizen_id, clock_id, policy, unit_id, started_ms, due_ms, at_risk_ms,
  CASE WHEN stopped_ms <= :asOf THEN stopped_ms END AS stopped_ms, ${STATUS_CASE} AS status`;

export interface SqliteDeadlineQueriesOptions {
  /** Cells with fewer distinct citizens are suppressed; default 5. */
  minCitizensPerCell?: number;
}

export class SqliteDeadlineQueries implements DeadlineQueries {
  readonly #db: Database.Database;
  readonly #policies: DeadlinePolicySet;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #minCitizens: number;
  /** Per policy, how long before its due instant an AT_RISK clock can be (see atRiskSpanBound). */
  readonly #spans: AtRiskSpans;

  constructor(db: Database.Database, policies: DeadlinePolicySet, options: SqliteDeadlineQueriesOptions = {}) {
    this.#db = db;
    this.#policies = policies;
    this.#minCitizens = options.minCitizensPerCell ?? MIN_CITIZENS_PER_CELL;
    this.#spans = new AtRiskSpans(policies);
  }

  #prepare(sql: string): Database.Statement {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  /**
   * The WHERE clause and parameters of a filter (without paging), with the scope ANDed in: over the
   * citizen (lists) or over the clock's unit (aggregates).
   */
  #where(filter: DeadlineFilter, scope: DataScope, scopeOver: 'citizen' | 'unit' = 'citizen'): { sql: string; params: Record<string, unknown> } {
    const inScope = scopeOver === 'citizen' ? citizenScopeSqliteNamed(scope, { citizenColumn: 'citizen_id' }) : unitScopeSqliteNamed(scope, 'unit_id');
    const parts = [VISIBLE, inScope.sql];
    const params: Record<string, unknown> = { asOf: filter.asOf, ...inScope.params };
    if (filter.unitId !== undefined) {
      parts.push('unit_id = :unitId');
      params.unitId = filter.unitId;
    }
    if (filter.policy !== undefined) {
      parts.push('policy = :policy');
      params.policy = filter.policy;
    }
    if (filter.status !== undefined) {
      parts.push(STATUS_PREDICATE[checkDeadlineStatus(filter.status)]);
      const span = this.#spans.longest(filter.policy, filter.asOf);
      if (filter.status === 'AT_RISK' && span !== undefined) {
        // An AT_RISK clock is due within its policy's at-risk span after asOf.
        parts.push('due_ms <= :atRiskHorizon');
        params.atRiskHorizon = filter.asOf + span;
      }
    }
    return { sql: parts.join(' AND '), params };
  }

  async deadlines(filter: DeadlineFilter, page: DeadlinePageRequest, scope: DataScope): Promise<DeadlinePage> {
    return this.deadlinesSync(filter, page, scope);
  }

  deadlinesSync(filter: DeadlineFilter, page: DeadlinePageRequest, scope: DataScope): DeadlinePage {
    const { sql, params } = this.#where(filter, scope);
    const totalCount = (this.#prepare(`SELECT count(*) AS n FROM ${T} WHERE ${sql}`).get(params) as { n: number }).n;
    let keyset = '';
    const pageParams: Record<string, unknown> = { ...params, limit: page.first + 1 };
    if (page.after) {
      keyset = ' AND (due_ms, citizen_id, clock_id) > (:afterDue, :afterCitizen, :afterClock)';
      Object.assign(pageParams, { afterDue: page.after.dueMs, afterCitizen: page.after.citizenId, afterClock: page.after.clockId });
    }
    const rows = this.#prepare(`SELECT ${COLUMNS} FROM ${T} WHERE ${sql}${keyset} ORDER BY due_ms, citizen_id, clock_id LIMIT :limit`).all(pageParams) as ClockRow[];
    return {
      nodes: rows.slice(0, page.first).map(toDeadlineNode),
      totalCount,
      hasNextPage: rows.length > page.first,
    };
  }

  async citizenDeadlines(citizenId: string, asOf: number, scope: DataScope): Promise<DeadlineView[]> {
    const inScope = citizenScopeSqliteNamed(scope, { citizenColumn: 'citizen_id' });
    const rows = this.#prepare(`SELECT ${COLUMNS} FROM ${T} WHERE citizen_id = :citizenId AND ${VISIBLE} AND ${inScope.sql} ORDER BY due_ms, clock_id`).all({
      citizenId,
      asOf,
      ...inScope.params,
    }) as ClockRow[];
    return rows.map(toDeadlineView);
  }

  async atRisk(unitId: string, asOf: number, first: number, scope: DataScope): Promise<DeadlineView[]> {
    return this.atRiskSync(unitId, asOf, first, scope);
  }

  /**
   * The worklist. An AT_RISK clock of policy P is due within (asOf, asOf + span(P)], so each policy's
   * part is a short stretch of the (unit, policy, due) index however far back asOf lies; outside the
   * years the spans are measured for, the (unit, due) index is walked from asOf on instead.
   */
  atRiskSync(unitId: string, asOf: number, first: number, scope: DataScope): DeadlineView[] {
    const inScope = citizenScopeSqliteNamed(scope, { citizenColumn: 'citizen_id' });
    const filter = `+at_risk_ms <= :asOf AND ${RUNNING} AND ${VISIBLE} AND ${inScope.sql}`;
    if (!this.#spans.applyAt(asOf)) {
      const rows = this.#prepare(
        `SELECT ${COLUMNS} FROM ${T} INDEXED BY ${T}_by_unit_id_due_ms
         WHERE unit_id = :unitId AND due_ms > :asOf AND ${filter} ORDER BY due_ms, citizen_id, clock_id LIMIT :first`,
      ).all({ unitId, asOf, first, ...inScope.params }) as ClockRow[];
      return rows.map(toDeadlineView);
    }
    const parts = this.#spans.perPolicy.map(
      (_, i) =>
        `SELECT ${COLUMNS} FROM ${T} INDEXED BY ${T}_by_unit_id_policy_due_ms
         WHERE unit_id = :unitId AND policy = :p${i} AND due_ms > :asOf AND due_ms <= :asOf + :s${i} AND ${filter}`,
    );
    const params: Record<string, unknown> = { unitId, asOf, first, ...inScope.params };
    this.#spans.perPolicy.forEach(({ policy, span }, i) => {
      params[`p${i}`] = policy;
      params[`s${i}`] = span;
    });
    const rows = this.#prepare(`SELECT * FROM (${parts.join(' UNION ALL ')}) ORDER BY due_ms, citizen_id, clock_id LIMIT :first`).all(params) as ClockRow[];
    return rows.map(toDeadlineView);
  }

  async compliance(filter: ComplianceFilter, scope: DataScope): Promise<ComplianceView> {
    return this.complianceSync(filter, scope);
  }

  /** Cells of the scope's units only (a clock without a unit is in no unit's scope). */
  complianceSync(filter: ComplianceFilter, scope: DataScope): ComplianceView {
    const months = monthsBetween(filter.fromMonth, filter.toMonth);
    if (months.length === 0) return { minCitizensPerCell: this.#minCitizens, cells: [] };
    // A clock falls due in the month of its last allowed instant (due is exclusive: an end-of-day due
    // instant is the next midnight): start < due_ms <= end. Counted in SQL; only the breached clocks
    // come back, for their lateness (hverdage need the calendar).
    const { sql, params } = this.#where({ asOf: filter.asOf, ...(filter.unitId ? { unitId: filter.unitId } : {}), ...(filter.policy ? { policy: filter.policy } : {}) }, scope, 'unit');
    const monthCase = `CASE ${months.map((_, i) => `WHEN due_ms <= :m${i} THEN ${i}`).join(' ')} END`;
    const monthParams = Object.fromEntries(months.map((m, i) => [`m${i}`, m.end]));
    const clocks = `SELECT citizen_id, unit_id, policy, due_ms, CASE WHEN stopped_ms <= :asOf THEN stopped_ms END AS stopped_ms, ${STATUS_CASE} AS status, ${monthCase} AS m
       FROM ${T} WHERE ${sql} AND due_ms > :fromMs AND due_ms <= :toMs`;
    const all = { ...params, ...monthParams, fromMs: months[0]!.start, toMs: months.at(-1)!.end };
    const counts = this.#prepare(
      `SELECT unit_id, policy, m, count(DISTINCT citizen_id) AS citizens, sum(status = 'MET') AS met, sum(status = 'BREACHED') AS breached,
              sum(status IN ('PENDING', 'AT_RISK')) AS pending
       FROM (${clocks}) GROUP BY unit_id, policy, m`,
    ).all(all) as ComplianceCountRow[];
    const breached = this.#prepare(`SELECT unit_id, policy, m, due_ms, stopped_ms FROM (${clocks}) WHERE status = 'BREACHED'`).all(all) as BreachedClockRow[];
    return complianceView({ months, counts, breached, policies: this.#policies, minCitizensPerCell: this.#minCitizens, asOf: filter.asOf });
  }

  /** Every clock's status at one instant, counted per status: the "evaluate all clocks" benchmark. */
  statusCounts(asOf: number): Record<DeadlineStatus, number> {
    const rows = this.#prepare(`SELECT ${STATUS_CASE} AS status, count(*) AS n FROM ${T} WHERE ${VISIBLE} GROUP BY 1`).all({ asOf }) as { status: DeadlineStatus; n: number }[];
    return statusCountsOf(rows);
  }
}
