/**
 * The flow matrix on the embedded read models: the `flow_handovers` rows the flow derivation keeps
 * (flowDerivation.ts), read for one period through the index on initiated_ms and judged at its end.
 */
import type Database from 'better-sqlite3';
import { scopeShape, unitScopeSqliteNamed } from '@tracker/security';
import type { DataScope } from '../queries.ts';
import { FLOW_HANDOVERS_TABLE } from './flowDerivation.ts';
import { FLOW_ROW_COLUMNS, judgedHandover, type FlowRow } from './flowHandoverRows.ts';
import { FlowViews, type FlowPeriod, type FlowQueries, type FlowSource, type FlowViewsOptions } from './flowQueries.ts';
import type { JudgedHandover } from './flowStatistics.ts';

/** What the adapter needs of the read models: their database (SqliteReadModel is one). */
export interface SqliteDatabaseHolder {
  readonly database: Database.Database;
}

/** The period's handovers touching the scope's units (either side); `@scopeUnits` is bound only for some units. */
const periodQuery = (scope: DataScope) => {
  const from = unitScopeSqliteNamed(scope, 'from_unit_id');
  const to = unitScopeSqliteNamed(scope, 'to_unit_id');
  return `
  SELECT ${FLOW_ROW_COLUMNS.join(', ')}
  FROM ${FLOW_HANDOVERS_TABLE.name} WHERE initiated_ms >= @fromMs AND initiated_ms < @toMs AND (${from.sql} OR ${to.sql})`;
};

export class SqliteFlowSource implements FlowSource {
  readonly #holder: SqliteDatabaseHolder;
  #prepared: { db: Database.Database; statements: Map<string, Database.Statement<[Record<string, unknown>], FlowRow>> } | undefined;

  /**
   * The database is taken from the holder on first use, so the adapter can be made before the read
   * models are opened (as the GraphQL extensions are).
   */
  constructor(holder: SqliteDatabaseHolder) {
    this.#holder = holder;
  }

  #statement(scope: DataScope): Database.Statement<[Record<string, unknown>], FlowRow> {
    const db = this.#holder.database;
    if (this.#prepared?.db !== db) {
      const table = db.prepare<[string], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?`).get(FLOW_HANDOVERS_TABLE.name);
      if (!table) throw new Error(`the read models have no ${FLOW_HANDOVERS_TABLE.name} table: register createFlowDerivation(units) in their derived option`);
      this.#prepared = { db, statements: new Map() };
    }
    const shape = scopeShape(scope);
    let statement = this.#prepared.statements.get(shape);
    if (!statement) {
      statement = db.prepare<[Record<string, unknown>], FlowRow>(periodQuery(scope)).raw(true);
      this.#prepared.statements.set(shape, statement);
    }
    return statement;
  }

  judgedHandovers({ fromMs, toMs }: FlowPeriod, scope: DataScope): JudgedHandover[] {
    if (!(fromMs < toMs)) return [];
    const rows = this.#statement(scope).all({ fromMs, toMs, ...unitScopeSqliteNamed(scope, 'from_unit_id').params });
    const judged: JudgedHandover[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) judged[i] = judgedHandover(rows[i]!, toMs);
    return judged;
  }
}

/** The flow queries on the embedded read models. */
export function sqliteFlowQueries(holder: SqliteDatabaseHolder, options: FlowViewsOptions): FlowQueries {
  return new FlowViews(new SqliteFlowSource(holder), options);
}
