/**
 * The deadline queries on the PostgreSQL read models (distributed mode): the same answers as
 * SqliteDeadlineQueries over the same `deadline_clocks` rows, which PostgresReadModel writes from the
 * same derivation. Status is computed in SQL at `asOf` with the shared CASE (deadlineViews.ts); rows
 * become views, and compliance rows become cells, through the same shared code as on SQLite.
 *
 * - Lists are keyset pages in (due, citizen, clock) order; text sorts with collation "C" (byte order,
 *   as SQLite's BINARY), whatever the database's default collation is.
 * - A page and its total count, and the compliance counts and their breached clocks, are each read by
 *   ONE statement: one snapshot, so a projector committing meanwhile cannot make them disagree.
 * - The data scope is a condition inside every statement (sqlScope.ts), never a filter afterwards.
 */
import type pg from 'pg';
import type { DeadlinePolicySet, DeadlineStatus } from '@tracker/domain';
import { citizenScopeSql, unitScopeSql, type SqlFragment } from '@tracker/security';
import type { DataScope } from '../queries.ts';
import { DEADLINE_CLOCKS_TABLE } from './deadlineDerivation.ts';
import type { ComplianceFilter, ComplianceView, DeadlineFilter, DeadlinePage, DeadlinePageRequest, DeadlineQueries, DeadlineView } from './deadlineQueries.ts';
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
import { monthsBetween } from './months.ts';

/** What the queries need of the read model: `PostgresReadModel` is one. */
export interface PostgresDeadlineSource {
  /** The schema holding `deadline_clocks` and `citizen_units`. */
  readonly schema: string;
  /** A query with bigint columns as numbers. */
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
}

export interface PostgresDeadlineQueriesOptions {
  /** Cells with fewer distinct citizens are suppressed; default 5. */
  minCitizensPerCell?: number;
}

// As PostgresReadModel's: a plain lower-case identifier, so it can also go unquoted into the scope SQL.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

/** Bound values of one statement, each placeholder cast so PostgreSQL need not guess its type. */
class Parameters {
  readonly values: unknown[] = [];

  bigint(value: number): string {
    this.values.push(value);
    return `$${this.values.length}::bigint`;
  }

  text(value: string): string {
    this.values.push(value);
    return `$${this.values.length}::text`;
  }

  bigints(values: readonly number[]): string {
    this.values.push(values);
    return `$${this.values.length}::bigint[]`;
  }

  texts(values: readonly string[]): string {
    this.values.push(values);
    return `$${this.values.length}::text[]`;
  }

  /** Adds a fragment made by sqlScope.ts (numbered from the next placeholder) and returns its SQL. */
  fragment(make: (firstParameter: number) => SqlFragment): string {
    const fragment = make(this.values.length + 1);
    this.values.push(...fragment.params);
    return fragment.sql;
  }
}

function instant(field: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${field} must be an integer instant (epoch milliseconds)`);
  return value;
}

function pageSize(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${field} must be a non-negative integer`);
  return value;
}

/** (due, citizen, clock) in byte order: the order of every list, and of its keyset cursors. */
const ORDER = `due_ms, citizen_id, clock_id COLLATE "C"`;

export class PostgresDeadlineQueries implements DeadlineQueries {
  readonly #source: PostgresDeadlineSource;
  readonly #policies: DeadlinePolicySet;
  readonly #minCitizens: number;
  readonly #spans: AtRiskSpans;
  /** `"schema".deadline_clocks` */
  readonly #clocks: string;
  /** `schema.citizen_units`, for the citizen scope (sqlScope.ts takes plain identifiers only). */
  readonly #involvement: string;

  constructor(source: PostgresDeadlineSource, policies: DeadlinePolicySet, options: PostgresDeadlineQueriesOptions = {}) {
    if (!SCHEMA_NAME.test(source.schema)) throw new TypeError('schema must be a lower-case SQL identifier of at most 48 characters');
    this.#source = source;
    this.#policies = policies;
    this.#minCitizens = options.minCitizensPerCell ?? MIN_CITIZENS_PER_CELL;
    this.#spans = new AtRiskSpans(policies);
    this.#clocks = `"${source.schema}".${DEADLINE_CLOCKS_TABLE}`;
    this.#involvement = `${source.schema}.citizen_units`;
  }

  #citizenScope(p: Parameters, scope: DataScope): string {
    return p.fragment((first) => citizenScopeSql(scope, { citizenColumn: 'citizen_id', involvementTable: this.#involvement }, 'postgres', first));
  }

  /** The clock exists at asOf. */
  static #visible(asOf: string): string {
    return `visible_from_ms <= ${asOf} AND (visible_until_ms IS NULL OR visible_until_ms > ${asOf})`;
  }

  static #running(asOf: string): string {
    return `(stopped_ms IS NULL OR stopped_ms > ${asOf})`;
  }

  /** Per status, a predicate over the stored instants; mirrors deadlineStatusAt (as the CASE does). */
  static #statusPredicate(status: DeadlineStatus, asOf: string): string {
    const running = PostgresDeadlineQueries.#running(asOf);
    switch (status) {
      case 'PENDING':
        return `${running} AND at_risk_ms > ${asOf} AND due_ms > ${asOf}`;
      case 'AT_RISK':
        return `${running} AND at_risk_ms <= ${asOf} AND due_ms > ${asOf}`;
      case 'MET':
        return `stopped_ms <= ${asOf} AND stopped_ms < due_ms`;
      case 'BREACHED':
        return `due_ms <= ${asOf} AND ((stopped_ms <= ${asOf} AND stopped_ms >= due_ms) OR ${running})`;
    }
  }

  /** The list columns: the stop only when it had happened by asOf, and the status at asOf. */
  static #columns(asOf: string): string {
    return `citizen_id, clock_id, policy, unit_id, started_ms, due_ms, at_risk_ms,
      CASE WHEN stopped_ms <= ${asOf} THEN stopped_ms END AS stopped_ms, ${deadlineStatusSql(asOf)} AS status`;
  }

  /**
   * The WHERE clause of a filter (without paging), with the scope ANDed in: over the citizen (lists)
   * or over the clock's unit (aggregates).
   */
  #where(p: Parameters, asOf: string, filter: DeadlineFilter, scope: DataScope, scopeOver: 'citizen' | 'unit' = 'citizen'): string {
    const parts = [
      PostgresDeadlineQueries.#visible(asOf),
      scopeOver === 'citizen' ? this.#citizenScope(p, scope) : p.fragment((first) => unitScopeSql(scope, 'unit_id', 'postgres', first)),
    ];
    if (filter.unitId !== undefined) parts.push(`unit_id = ${p.text(filter.unitId)}`);
    if (filter.policy !== undefined) parts.push(`policy = ${p.text(filter.policy)}`);
    if (filter.status !== undefined) {
      parts.push(PostgresDeadlineQueries.#statusPredicate(checkDeadlineStatus(filter.status), asOf));
      const span = this.#spans.longest(filter.policy, filter.asOf);
      // An AT_RISK clock is due within its policy's at-risk span after asOf: a range on a due index.
      if (filter.status === 'AT_RISK' && span !== undefined) parts.push(`due_ms <= ${p.bigint(filter.asOf + span)}`);
    }
    return parts.join(' AND ');
  }

  async deadlines(filter: DeadlineFilter, page: DeadlinePageRequest, scope: DataScope): Promise<DeadlinePage> {
    const p = new Parameters();
    const asOf = p.bigint(instant('asOf', filter.asOf));
    const first = pageSize('first', page.first);
    const where = this.#where(p, asOf, filter, scope);
    let keyset = '';
    if (page.after) {
      const { dueMs, citizenId, clockId } = page.after;
      keyset = ` AND (${ORDER}) > (${p.bigint(instant('after.dueMs', dueMs))}, ${p.text(citizenId)}, ${p.text(clockId)})`;
    }
    // The count and the page in one statement (one snapshot); an empty page leaves one row of nulls.
    const rows = await this.#source.query<{ total_count: number } & { [K in keyof ClockRow]: ClockRow[K] | null }>(
      `SELECT total.total_count, page.* FROM (SELECT count(*) AS total_count FROM ${this.#clocks} WHERE ${where}) total
       LEFT JOIN LATERAL (
         SELECT ${PostgresDeadlineQueries.#columns(asOf)} FROM ${this.#clocks} WHERE ${where}${keyset}
         ORDER BY ${ORDER} LIMIT ${p.bigint(first + 1)}
       ) page ON true`,
      p.values,
    );
    const clocks = rows.filter((r) => r.citizen_id !== null) as unknown as ClockRow[];
    return {
      nodes: clocks.slice(0, first).map(toDeadlineNode),
      totalCount: rows[0]?.total_count ?? 0,
      hasNextPage: clocks.length > first,
    };
  }

  async citizenDeadlines(citizenId: string, asOf: number, scope: DataScope): Promise<DeadlineView[]> {
    const p = new Parameters();
    const at = p.bigint(instant('asOf', asOf));
    const rows = await this.#source.query<ClockRow>(
      `SELECT ${PostgresDeadlineQueries.#columns(at)} FROM ${this.#clocks}
       WHERE citizen_id = ${p.text(citizenId)} AND ${PostgresDeadlineQueries.#visible(at)} AND ${this.#citizenScope(p, scope)}
       ORDER BY due_ms, clock_id COLLATE "C"`,
      p.values,
    );
    return rows.map(toDeadlineView);
  }

  /**
   * The worklist. An AT_RISK clock of policy P is due within (asOf, asOf + span(P)], so each policy's
   * part is a short stretch of the (unit, policy, due) index however far back asOf lies; outside the
   * years the spans are measured for, the (unit, due) index is walked from asOf on instead.
   */
  async atRisk(unitId: string, asOf: number, first: number, scope: DataScope): Promise<DeadlineView[]> {
    const p = new Parameters();
    const at = p.bigint(instant('asOf', asOf));
    const limit = p.bigint(pageSize('first', first));
    const unit = p.text(unitId);
    const filter = `at_risk_ms <= ${at} AND ${PostgresDeadlineQueries.#running(at)} AND ${PostgresDeadlineQueries.#visible(at)} AND ${this.#citizenScope(p, scope)}`;
    const columns = PostgresDeadlineQueries.#columns(at);
    let sql: string;
    if (!this.#spans.applyAt(asOf)) {
      sql = `SELECT ${columns} FROM ${this.#clocks} WHERE unit_id = ${unit} AND due_ms > ${at} AND ${filter} ORDER BY ${ORDER} LIMIT ${limit}`;
    } else {
      const policies = p.texts(this.#spans.perPolicy.map((s) => s.policy));
      const spans = p.bigints(this.#spans.perPolicy.map((s) => s.span));
      sql = `SELECT w.* FROM unnest(${policies}, ${spans}) AS s(policy, span)
        CROSS JOIN LATERAL (
          SELECT ${columns} FROM ${this.#clocks}
          WHERE unit_id = ${unit} AND policy = s.policy AND due_ms > ${at} AND due_ms <= ${at} + s.span AND ${filter}
          ORDER BY ${ORDER} LIMIT ${limit}
        ) w
        ORDER BY w.due_ms, w.citizen_id, w.clock_id COLLATE "C" LIMIT ${limit}`;
    }
    return (await this.#source.query<ClockRow>(sql, p.values)).map(toDeadlineView);
  }

  /** Cells of the scope's units only (a clock without a unit is in no unit's scope). */
  async compliance(filter: ComplianceFilter, scope: DataScope): Promise<ComplianceView> {
    const months = monthsBetween(filter.fromMonth, filter.toMonth);
    if (months.length === 0) return { minCitizensPerCell: this.#minCitizens, cells: [] };
    const p = new Parameters();
    const asOf = p.bigint(instant('asOf', filter.asOf));
    const where = this.#where(p, asOf, { asOf: filter.asOf, ...(filter.unitId ? { unitId: filter.unitId } : {}), ...(filter.policy ? { policy: filter.policy } : {}) }, scope, 'unit');
    // A clock falls due in the month of its last allowed instant (months.ts): start < due_ms <= end.
    // The months are contiguous, so its index is the number of month ends before due_ms.
    const ends = p.bigints(months.map((m) => m.end));
    const clocks = `SELECT citizen_id, unit_id, policy, due_ms, CASE WHEN stopped_ms <= ${asOf} THEN stopped_ms END AS stopped_ms,
         ${deadlineStatusSql(asOf)} AS status, width_bucket(due_ms - 1, ${ends}) AS m
       FROM ${this.#clocks} WHERE ${where} AND due_ms > ${p.bigint(months[0]!.start)} AND due_ms <= ${p.bigint(months.at(-1)!.end)}`;
    // Counted in SQL; the breached clocks come back per cell, for their lateness (hverdage need the calendar).
    const rows = await this.#source.query<ComplianceCountRow & { breached_clocks: [number, number | null][] | null }>(
      `SELECT unit_id, policy, m, count(DISTINCT citizen_id) AS citizens,
              count(*) FILTER (WHERE status = 'MET') AS met,
              count(*) FILTER (WHERE status = 'BREACHED') AS breached,
              count(*) FILTER (WHERE status IN ('PENDING', 'AT_RISK')) AS pending,
              json_agg(json_build_array(due_ms, stopped_ms)) FILTER (WHERE status = 'BREACHED') AS breached_clocks
       FROM (${clocks}) clocks GROUP BY unit_id, policy, m`,
      p.values,
    );
    const breached: BreachedClockRow[] = rows.flatMap((r) =>
      (r.breached_clocks ?? []).map(([due, stopped]) => ({ unit_id: r.unit_id, policy: r.policy, m: r.m, due_ms: due, stopped_ms: stopped })),
    );
    const counts: ComplianceCountRow[] = rows.map(({ unit_id, policy, m, citizens, met, breached, pending }) => ({ unit_id, policy, m, citizens, met, breached, pending }));
    return complianceView({ months, counts, breached, policies: this.#policies, minCitizensPerCell: this.#minCitizens, asOf: filter.asOf });
  }

  /** Every clock's status at one instant, counted per status: the "evaluate all clocks" benchmark. */
  async statusCounts(asOf: number): Promise<Record<DeadlineStatus, number>> {
    const p = new Parameters();
    const at = p.bigint(instant('asOf', asOf));
    const rows = await this.#source.query<{ status: DeadlineStatus; n: number }>(
      `SELECT ${deadlineStatusSql(at)} AS status, count(*) AS n FROM ${this.#clocks} WHERE ${PostgresDeadlineQueries.#visible(at)} GROUP BY 1`,
      p.values,
    );
    return statusCountsOf(rows);
  }
}
