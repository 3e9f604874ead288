/**
 * Derived read models: answers that depend on a citizen's whole history rather than on one event
 * at a time (gaps, deadline clocks, relatives, anomalies). After each batch, every citizen the batch
 * touched is derived again from all of their events in world order (occurredAt, then global
 * position), and their rows are replaced inside the batch's transaction. A derivation is a pure
 * function of the citizen's event set, so late events land in place and a rebuild equals
 * incremental processing by construction.
 *
 * A derivation returns rows for tables it declares; each read-model adapter (SQLite here, PostgreSQL
 * in distributed mode) creates and writes those tables the same way. Rows hold intervals and instants
 * (start, end, due …) computed from the full history; queries restrict them to `asOf`. That is exact
 * for rules whose opening and closing depend only on what happened before — every gap kind and
 * deadline in domain.md.
 */
import type { StoredEvent } from '@tracker/domain';

export type ColumnType = 'text' | 'integer' | 'real';
export type CellValue = string | number | null;
export type DerivedRow = Record<string, CellValue>;

export interface DerivedTable {
  /** Table name; every table also has a `citizen_id` column, indexed. */
  name: string;
  /** Columns in order (besides citizen_id). Instants are integer epoch ms, suffixed `_ms`. */
  columns: Record<string, ColumnType>;
  /** Further indexes, each a list of column names. */
  indexes?: string[][];
}

export interface CitizenDerivation {
  /** Short name, for logs and the rebuild fingerprint. */
  readonly name: string;
  /** Bump when the derivation changes meaning: stored rows are then rebuilt. */
  readonly version: number;
  readonly tables: readonly DerivedTable[];
  /** All rows for one citizen, by table name, from all their events in world order. Pure. */
  derive(citizenId: string, history: readonly StoredEvent[]): Record<string, DerivedRow[]>;
}
