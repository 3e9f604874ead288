/**
 * GapQueries on the embedded read models (SqliteReadModel's database, tables from gapsDerivation).
 * SQL selects the rows that exist, are open or are overdue at `asOf` (the rules of the domain's
 * gapAsOf, restated over stored instants); each row is then shaped by gapAsOf itself (gapViews.ts,
 * shared with the PostgreSQL adapter), so durations and flags have one definition.
 */
import type Database from 'better-sqlite3';
import { citizenScopeSqliteNamed, scopeShape } from '@tracker/security';
import type { DataScope, Page, PageRequest } from '../queries.ts';
import { ANOMALIES_TABLE, GAPS_TABLE, OPEN_UNTIL, RELATIVES_TABLE } from './gapsDerivation.ts';
import type { AnomalyCountScope, AnomalyCountView, AnomalyView, CitizenGapFilter, GapFilter, GapQueries, GapView, RelativeView } from './gapQueries.ts';
import {
  ANOMALY_COLUMNS,
  GAP_COLUMNS as GAP_COLUMN_LIST,
  RELATIVE_FACT_COLUMNS,
  anomalyCountViews,
  citizenGapViews,
  relativeViews,
  toAnomalyView,
  toGapView,
  type AnomalyCountRow,
  type AnomalyRow,
  type GapRow,
  type RelativeFactRow,
} from './gapViews.ts';

const GAP_COLUMNS = GAP_COLUMN_LIST.join(', ');

/** Overdue at :asOf: due has passed and the gap did not end before it (until_ms is the end or "never"). */
const OVERDUE = 'due_ms <= :asOf AND until_ms >= due_ms';

export class SqliteGapQueries implements GapQueries {
  readonly #db: Database.Database;
  readonly #byShape = new Map<string, { count: Database.Statement; page: Database.Statement }>();
  readonly #prepared = new Map<string, Database.Statement>();

  /** `database` is SqliteReadModel#database, built with gapsDerivation among its derived models. */
  constructor(database: Database.Database) {
    this.#db = database;
  }

  /** A statement prepared once per SQL text (the scope's condition changes the text only by its shape). */
  #prepare(sql: string): Database.Statement {
    let statement = this.#prepared.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#prepared.set(sql, statement);
    }
    return statement;
  }

  /** One citizen's rows of a table, with the scope ANDed in: `sql` receives the condition over citizen_id. */
  #citizenRows<R>(scope: DataScope, params: Record<string, unknown>, sql: (inScope: string) => string): R[] {
    const inScope = citizenScopeSqliteNamed(scope, { citizenColumn: 'citizen_id' });
    return this.#prepare(sql(inScope.sql)).all({ ...params, ...inScope.params }) as R[];
  }

  async gaps(filter: GapFilter, page: PageRequest, scope: DataScope): Promise<Page<GapView>> {
    const inScope = citizenScopeSqliteNamed(scope, { citizenColumn: 'citizen_id' });
    const { count, page: pageStatement } = this.#statementsFor(filter, scope, inScope.sql);
    const params: Record<string, unknown> = { asOf: filter.asOf, ...inScope.params };
    if (filter.unitId !== undefined) params.unitId = filter.unitId;
    if (filter.kind !== undefined) params.kind = filter.kind;
    const totalCount = (count.get(params) as { n: number }).n;
    const rows = pageStatement.all({ ...params, limit: page.first + 1, offset: page.offset }) as GapRow[];
    return { nodes: rows.slice(0, page.first).map((r) => toGapView(r, filter.asOf)), totalCount, hasNextPage: rows.length > page.first };
  }

  // One citizen's rows are found by citizen_id; the unary + keeps SQLite's planner (which has no
  // statistics here) from preferring the wide kind/is_primary indexes and scanning every citizen.

  async citizenGaps(citizenId: string, asOf: number, filter: CitizenGapFilter, scope: DataScope): Promise<GapView[]> {
    const rows = this.#citizenRows<GapRow>(
      scope,
      { citizenId, asOf },
      (inScope) => `SELECT ${GAP_COLUMNS} FROM ${GAPS_TABLE} WHERE citizen_id = :citizenId AND +is_primary = 1 AND started_ms <= :asOf AND ${inScope} ORDER BY started_ms, gap_key`,
    );
    return citizenGapViews(rows, asOf, filter);
  }

  async relatives(citizenId: string, asOf: number, scope: DataScope): Promise<RelativeView[]> {
    const factRows = this.#citizenRows<RelativeFactRow>(
      scope,
      { citizenId, asOf },
      (inScope) =>
        `SELECT ${RELATIVE_FACT_COLUMNS.join(', ')} FROM ${RELATIVES_TABLE} WHERE citizen_id = :citizenId AND at_ms <= :asOf AND ${inScope} ORDER BY at_ms, ordinal`,
    );
    const contactRows = this.#citizenRows<GapRow>(
      scope,
      { citizenId, asOf },
      (inScope) => `SELECT ${GAP_COLUMNS} FROM ${GAPS_TABLE}
         WHERE citizen_id = :citizenId AND +is_primary = 1 AND +kind = 'RELATIVE_UNANSWERED' AND relative_id IS NOT NULL AND started_ms <= :asOf AND ${inScope}
         ORDER BY started_ms, gap_key`,
    );
    return relativeViews(factRows, contactRows, asOf);
  }

  async anomalies(citizenId: string, asOf: number, scope: DataScope): Promise<AnomalyView[]> {
    const rows = this.#citizenRows<AnomalyRow>(
      scope,
      { citizenId, asOf },
      (inScope) =>
        `SELECT ${ANOMALY_COLUMNS.join(', ')} FROM ${ANOMALIES_TABLE} WHERE citizen_id = :citizenId AND occurred_ms <= :asOf AND ${inScope} ORDER BY occurred_ms, ordinal`,
    );
    return rows.map(toAnomalyView);
  }

  async anomalyCounts(asOf: number, { scope, sources, minCitizens = 1 }: AnomalyCountScope): Promise<AnomalyCountView[]> {
    const inScope = citizenScopeSqliteNamed(scope, { citizenColumn: 'citizen_id' });
    const bySource = sources === undefined ? '1 = 1' : 'source IN (SELECT value FROM json_each(:sources))';
    const rows = this.#prepare(
      `SELECT source, kind, count(*) AS n, count(DISTINCT citizen_id) AS citizens FROM ${ANOMALIES_TABLE}
       WHERE occurred_ms <= :asOf AND ${inScope.sql} AND ${bySource} GROUP BY source, kind ORDER BY source, kind`,
    ).all({ asOf, ...inScope.params, ...(sources === undefined ? {} : { sources: JSON.stringify(sources) }) }) as AnomalyCountRow[];
    return anomalyCountViews(rows, minCitizens);
  }

  /**
   * One prepared pair per combination of filters: the WHERE clause differs, the parameters are named.
   * The page is chosen on index keys alone (rowid and the order columns), then only its rows are read.
   * For open gaps the keys come from two ranges merged in order: the gaps without an end (one
   * until_ms value, so already in page order in the index: the LIMIT stops the scan) and those that
   * end after asOf (few for a recent asOf; sorted).
   */
  #statementsFor(filter: GapFilter, dataScope: DataScope, inScope: string) {
    const shape = [filter.unitId !== undefined, filter.kind !== undefined, filter.open, filter.overdue, scopeShape(dataScope)].join(':');
    let statements = this.#byShape.get(shape);
    if (!statements) {
      const scope = [filter.unitId !== undefined ? 'unit_id = :unitId' : 'is_primary = 1', 'started_ms <= :asOf', inScope];
      if (filter.kind !== undefined) scope.push('kind = :kind');
      if (filter.overdue === true) scope.push(OVERDUE);
      if (filter.overdue === false) scope.push(`NOT (due_ms IS NOT NULL AND ${OVERDUE})`);
      const within = (...extra: string[]) => [...scope, ...extra].join(' AND ');
      const keys = (where: string) => `SELECT rowid AS r, started_ms AS s, citizen_id AS c, gap_key AS k FROM ${GAPS_TABLE} WHERE ${where}`;
      const openness = filter.open === true ? ['until_ms > :asOf'] : filter.open === false ? ['until_ms <= :asOf'] : [];
      const pageKeys =
        filter.open === true
          ? `${keys(within(`until_ms = ${OPEN_UNTIL}`))} UNION ALL ${keys(within('until_ms > :asOf', `until_ms < ${OPEN_UNTIL}`))}`
          : keys(within(...openness));
      statements = {
        count: this.#db.prepare(`SELECT count(*) AS n FROM ${GAPS_TABLE} WHERE ${within(...openness)}`),
        page: this.#db.prepare(
          `WITH page AS (${pageKeys} ORDER BY 2, 3, 4 LIMIT :limit OFFSET :offset)
           SELECT ${GAP_COLUMNS.split(', ').map((c) => `g.${c}`).join(', ')} FROM page JOIN ${GAPS_TABLE} g ON g.rowid = page.r ORDER BY page.s, page.c, page.k`,
        ),
      };
      this.#byShape.set(shape, statements);
    }
    return statements;
  }
}
