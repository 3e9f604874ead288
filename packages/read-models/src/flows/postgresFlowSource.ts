/**
 * The flow matrix on the PostgreSQL read models (distributed mode): the `flow_handovers` rows the flow
 * derivation keeps in the read models' schema, read for one period through the covering index on
 * initiated_ms and judged at its end — the same rows and the same judgement as SqliteFlowSource.
 */
import { unitScopeSql } from '@tracker/security';
import type { PostgresReadModel } from '../postgres/postgresReadModel.ts';
import type { DataScope } from '../queries.ts';
import { FLOW_HANDOVERS_TABLE } from './flowDerivation.ts';
import { FLOW_ROW_COLUMNS, judgedHandover, type FlowRow, type FlowRowColumn } from './flowHandoverRows.ts';
import { FlowViews, type FlowPeriod, type FlowQueries, type FlowSource, type FlowViewsOptions } from './flowQueries.ts';
import type { JudgedHandover } from './flowStatistics.ts';

/** What the adapter needs of the read models: their schema and a query (PostgresReadModel is one). */
export type PostgresQueryHolder = Pick<PostgresReadModel, 'schema' | 'query'>;

export class PostgresFlowSource implements FlowSource {
  readonly #readModel: PostgresQueryHolder;
  /** Set once the table was found; a missing table is looked for (and reported) on every call. */
  #tableFound = false;

  constructor(readModel: PostgresQueryHolder) {
    this.#readModel = readModel;
  }

  #table(): string {
    return `"${this.#readModel.schema}".${FLOW_HANDOVERS_TABLE.name}`;
  }

  async #checkTable(): Promise<void> {
    if (this.#tableFound) return;
    const [row] = await this.#readModel.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [this.#table()]);
    if (!row?.found) throw new Error(`the read models have no ${FLOW_HANDOVERS_TABLE.name} table: register createFlowDerivation(units) in their derived option`);
    this.#tableFound = true;
  }

  async judgedHandovers({ fromMs, toMs }: FlowPeriod, scope: DataScope): Promise<JudgedHandover[]> {
    if (!(fromMs < toMs)) return [];
    await this.#checkTable();
    // Both sides share the one text[] parameter $3 (bound only when the scope names some units).
    const from = unitScopeSql(scope, 'from_unit_id', 'postgres', 3);
    const to = unitScopeSql(scope, 'to_unit_id', 'postgres', 3);
    const rows = await this.#readModel.query<Record<FlowRowColumn, unknown>>(
      `SELECT ${FLOW_ROW_COLUMNS.join(', ')} FROM ${this.#table()}
       WHERE initiated_ms >= $1 AND initiated_ms < $2 AND (${from.sql} OR ${to.sql})`,
      [fromMs, toMs, ...from.params],
    );
    const judged: JudgedHandover[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      judged[i] = judgedHandover(FLOW_ROW_COLUMNS.map((column) => row[column]) as FlowRow, toMs);
    }
    return judged;
  }
}

/** The flow queries on the PostgreSQL read models. */
export function postgresFlowQueries(readModel: PostgresQueryHolder, options: FlowViewsOptions): FlowQueries {
  return new FlowViews(new PostgresFlowSource(readModel), options);
}
