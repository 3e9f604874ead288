/**
 * GapQueries on the PostgreSQL read models (distributed mode): the same derived rows as the SQLite
 * adapter, written by PostgresReadModel into its schema, selected here with the same conditions and
 * shaped by the same code (gapViews.ts), so both adapters answer alike (gapQueriesContract.ts).
 *
 * Differences from SQLite that the SQL takes care of:
 * - Text is ordered with COLLATE "C" (byte-wise, as SQLite's BINARY), whatever the database's default
 *   collation; derived columns other than citizen_id are created with the default one.
 * - NULL sorts last in PostgreSQL and first in SQLite: anomaly counts ask for NULLS FIRST.
 * - Facts at the same instant keep the derivation's order through their `ordinal` column on both
 *   engines (never a physical row order: PostgreSQL reuses freed space).
 * - The scope's units travel as one text[] parameter (citizenScopeSql, dialect 'postgres').
 */
import type pg from 'pg';
import { citizenScopeSql } from '@tracker/security';
import type { DataScope, Page, PageRequest } from '../queries.ts';
import { ANOMALIES_TABLE, GAPS_TABLE, OPEN_UNTIL, RELATIVES_TABLE } from './gapsDerivation.ts';
import type { AnomalyCountScope, AnomalyCountView, AnomalyView, CitizenGapFilter, GapFilter, GapQueries, GapView, RelativeView } from './gapQueries.ts';
import {
  ANOMALY_COLUMNS,
  GAP_COLUMNS,
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

/** What the adapter needs of PostgresReadModel: where its tables are, and a query with bigint as number. */
export interface PostgresGapSource {
  readonly schema: string;
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
}

/** The schema name is spliced into SQL: the same rule PostgresReadModel enforces when it creates it. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

const RELATIVE_UNANSWERED = 'RELATIVE_UNANSWERED';

/** Page order: oldest start first, then citizen, then gap — byte-wise, as SQLite orders text. */
const pageOrder = (table = '') => `${table}started_ms, ${table}citizen_id COLLATE "C", ${table}gap_key COLLATE "C"`;

/** The numbered parameters of one statement: `bind(value)` appends a value and returns its `$n`. */
class Parameters {
  readonly values: unknown[] = [];

  bind(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  /** The scope as a condition over the row's citizen_id, its units bound as the next parameter. */
  citizenScope(scope: DataScope, schema: string): string {
    const fragment = citizenScopeSql(scope, { citizenColumn: 'citizen_id', involvementTable: `${schema}.citizen_units` }, 'postgres', this.values.length + 1);
    this.values.push(...fragment.params);
    return fragment.sql;
  }
}

export class PostgresGapQueries implements GapQueries {
  readonly #source: PostgresGapSource;
  readonly #schema: string;
  readonly #gaps: string;
  readonly #relatives: string;
  readonly #anomalies: string;

  /** `source` is a PostgresReadModel opened with gapsDerivation among its derived models (or its schema and query). */
  constructor(source: PostgresGapSource) {
    if (!SCHEMA_NAME.test(source.schema)) throw new TypeError('schema: must be a lower-case SQL identifier of at most 48 characters');
    this.#source = source;
    this.#schema = source.schema;
    const table = (name: string) => `"${source.schema}".${name}`;
    this.#gaps = table(GAPS_TABLE);
    this.#relatives = table(RELATIVES_TABLE);
    this.#anomalies = table(ANOMALIES_TABLE);
  }

  /**
   * The page and the total count in one statement (one snapshot, one round trip). For open gaps the
   * page comes from two index ranges merged in order, as on SQLite: the gaps without an end (one
   * until_ms value, so in (started_ms, citizen_id) order in the (unit_id | is_primary, until_ms, …)
   * index: only ties on gap_key need sorting, incrementally, and the LIMIT stops the scan) and those
   * that end after asOf (few for a recent asOf).
   */
  async gaps(filter: GapFilter, page: PageRequest, scope: DataScope): Promise<Page<GapView>> {
    const p = new Parameters();
    const asOf = p.bind(filter.asOf);
    const where = [filter.unitId !== undefined ? `unit_id = ${p.bind(filter.unitId)}` : 'is_primary = 1', `started_ms <= ${asOf}`, p.citizenScope(scope, this.#schema)];
    if (filter.kind !== undefined) where.push(`kind = ${p.bind(filter.kind)}`);
    // Overdue at asOf: due has passed and the gap did not end before it (until_ms is the end or "never").
    const overdue = `due_ms <= ${asOf} AND until_ms >= due_ms`;
    if (filter.overdue === true) where.push(overdue);
    if (filter.overdue === false) where.push(`NOT (due_ms IS NOT NULL AND ${overdue})`);
    const within = (...extra: string[]) => [...where, ...extra].join(' AND ');
    const openness = filter.open === true ? [`until_ms > ${asOf}`] : filter.open === false ? [`until_ms <= ${asOf}`] : [];

    const columns = GAP_COLUMNS.join(', ');
    const limit = p.bind(page.first + 1);
    const offset = p.bind(page.offset);
    let pageSql: string;
    if (filter.open === true) {
      const openUntil = p.bind(OPEN_UNTIL);
      const upTo = p.bind(page.offset + page.first + 1); // each arm needs no more rows than the page reaches
      const arm = (range: string) => `(SELECT ${columns} FROM ${this.#gaps} WHERE ${within(range)} ORDER BY ${pageOrder()} LIMIT ${upTo})`;
      pageSql = `SELECT * FROM (${arm(`until_ms = ${openUntil}`)} UNION ALL ${arm(`until_ms > ${asOf} AND until_ms < ${openUntil}`)}) arms
                 ORDER BY ${pageOrder()} LIMIT ${limit} OFFSET ${offset}`;
    } else {
      pageSql = `SELECT ${columns} FROM ${this.#gaps} WHERE ${within(...openness)} ORDER BY ${pageOrder()} LIMIT ${limit} OFFSET ${offset}`;
    }
    const rows = await this.#source.query<GapRow & { total_count: number }>(
      `WITH page AS (${pageSql})
       SELECT (SELECT count(*) FROM ${this.#gaps} WHERE ${within(...openness)}) AS total_count, page.*
       FROM (SELECT 1) one LEFT JOIN page ON true ORDER BY ${pageOrder('page.')}`,
      p.values,
    );
    const found = rows.filter((r) => r.citizen_id !== null);
    return {
      nodes: found.slice(0, page.first).map((r) => toGapView(r, filter.asOf)),
      totalCount: rows[0]?.total_count ?? 0,
      hasNextPage: found.length > page.first,
    };
  }

  async citizenGaps(citizenId: string, asOf: number, filter: CitizenGapFilter, scope: DataScope): Promise<GapView[]> {
    const p = new Parameters();
    const rows = await this.#source.query<GapRow>(
      `SELECT ${GAP_COLUMNS.join(', ')} FROM ${this.#gaps}
       WHERE citizen_id = ${p.bind(citizenId)} AND is_primary = 1 AND started_ms <= ${p.bind(asOf)} AND ${p.citizenScope(scope, this.#schema)}
       ORDER BY started_ms, gap_key COLLATE "C"`,
      p.values,
    );
    return citizenGapViews(rows, asOf, filter);
  }

  async relatives(citizenId: string, asOf: number, scope: DataScope): Promise<RelativeView[]> {
    const facts = new Parameters();
    const contacts = new Parameters();
    const [factRows, contactRows] = await Promise.all([
      this.#source.query<RelativeFactRow>(
        `SELECT ${RELATIVE_FACT_COLUMNS.join(', ')} FROM ${this.#relatives}
         WHERE citizen_id = ${facts.bind(citizenId)} AND at_ms <= ${facts.bind(asOf)} AND ${facts.citizenScope(scope, this.#schema)}
         ORDER BY at_ms, ordinal`,
        facts.values,
      ),
      this.#source.query<GapRow>(
        `SELECT ${GAP_COLUMNS.join(', ')} FROM ${this.#gaps}
         WHERE citizen_id = ${contacts.bind(citizenId)} AND is_primary = 1 AND kind = ${contacts.bind(RELATIVE_UNANSWERED)} AND relative_id IS NOT NULL
           AND started_ms <= ${contacts.bind(asOf)} AND ${contacts.citizenScope(scope, this.#schema)}
         ORDER BY started_ms, gap_key COLLATE "C"`,
        contacts.values,
      ),
    ]);
    return relativeViews(factRows, contactRows, asOf);
  }

  async anomalies(citizenId: string, asOf: number, scope: DataScope): Promise<AnomalyView[]> {
    const p = new Parameters();
    const rows = await this.#source.query<AnomalyRow>(
      `SELECT ${ANOMALY_COLUMNS.join(', ')} FROM ${this.#anomalies}
       WHERE citizen_id = ${p.bind(citizenId)} AND occurred_ms <= ${p.bind(asOf)} AND ${p.citizenScope(scope, this.#schema)}
       ORDER BY occurred_ms, ordinal`,
      p.values,
    );
    return rows.map(toAnomalyView);
  }

  async anomalyCounts(asOf: number, { scope, sources, minCitizens = 1 }: AnomalyCountScope): Promise<AnomalyCountView[]> {
    const p = new Parameters();
    const where = [`occurred_ms <= ${p.bind(asOf)}`, p.citizenScope(scope, this.#schema)];
    if (sources !== undefined) where.push(`source = ANY(${p.bind([...sources])}::text[])`);
    const rows = await this.#source.query<AnomalyCountRow>(
      `SELECT source, kind, count(*) AS n, count(DISTINCT citizen_id) AS citizens FROM ${this.#anomalies}
       WHERE ${where.join(' AND ')} GROUP BY source, kind ORDER BY source COLLATE "C" NULLS FIRST, kind COLLATE "C"`,
      p.values,
    );
    return anomalyCountViews(rows, minCitizens);
  }
}
