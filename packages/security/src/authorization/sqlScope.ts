/**
 * The data scope as SQL, so the read models apply it inside their queries (not after fetching rows):
 * one WHERE fragment plus its parameters. Unit ids always travel as ONE bound parameter (a JSON array
 * for SQLite, a text[] for PostgreSQL), never spliced into the SQL; table and column names are checked
 * to be plain identifiers because they are the only part that is spliced.
 */
import type { DataScope } from './policy.ts';

export type SqlDialect = 'sqlite' | 'postgres';

export interface SqlFragment {
  /** A boolean SQL expression to AND into the WHERE clause. */
  sql: string;
  /** Its parameters, in order (`?` for SQLite, `$n` numbered from `firstParameter` for PostgreSQL). */
  params: unknown[];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new TypeError('scope SQL: table and column names must be plain identifiers');
  return name;
}

const TRUE: SqlFragment = { sql: '1 = 1', params: [] };
const FALSE: SqlFragment = { sql: '1 = 0', params: [] };

function unitsIn(column: string, units: readonly string[], dialect: SqlDialect, firstParameter: number): SqlFragment {
  return dialect === 'sqlite'
    ? { sql: `${column} IN (SELECT value FROM json_each(?))`, params: [JSON.stringify(units)] }
    : { sql: `${column} = ANY($${firstParameter}::text[])`, params: [[...units]] };
}

/** Rows whose unit column (a flow edge's side, a deadline's unit) is in scope. */
export function unitScopeSql(scope: DataScope, column: string, dialect: SqlDialect = 'sqlite', firstParameter = 1): SqlFragment {
  const col = identifier(column);
  if (scope.allUnits) return TRUE;
  if (scope.units.length === 0) return FALSE;
  return unitsIn(col, scope.units, dialect, firstParameter);
}

export interface CitizenScopeTables {
  /** The query's citizen id column, e.g. `h.citizen_id`. */
  citizenColumn: string;
  /** The table of (citizen, unit) involvement pairs the projection keeps; default `citizen_units`. */
  involvementTable?: string;
  involvementCitizenColumn?: string;
  involvementUnitColumn?: string;
}

/**
 * Rows of citizens in scope: the citizen appears in the involvement table with one of the scope's
 * units (see `citizenInScope` for what counts as involvement).
 */
export function citizenScopeSql(scope: DataScope, tables: CitizenScopeTables, dialect: SqlDialect = 'sqlite', firstParameter = 1): SqlFragment {
  const citizen = identifier(tables.citizenColumn);
  const table = identifier(tables.involvementTable ?? 'citizen_units');
  const involvedCitizen = identifier(tables.involvementCitizenColumn ?? 'citizen_id');
  const involvedUnit = identifier(tables.involvementUnitColumn ?? 'unit_id');
  if (scope.allUnits) return TRUE;
  if (scope.units.length === 0) return FALSE;
  const units = unitsIn(involvedUnit, scope.units, dialect, firstParameter);
  return { sql: `${citizen} IN (SELECT ${involvedCitizen} FROM ${table} WHERE ${units.sql})`, params: units.params };
}

/** A WHERE fragment with one named parameter (SQLite `@name`), for statements that bind an object. */
export interface NamedSqlFragment {
  sql: string;
  /** Named parameters (without the `@`); empty when the fragment needs none. */
  params: Record<string, string>;
}

const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function parameterName(name: string): string {
  if (!PARAMETER_NAME.test(name)) throw new TypeError('scope SQL: parameter names must be plain identifiers');
  return name;
}

/**
 * `unitScopeSql` for SQLite statements with named parameters: the units travel as ONE JSON parameter
 * `@<parameter>` (default `scopeUnits`). The SQL text depends only on whether the scope is all units,
 * no units, or some units, so callers can cache one prepared statement per shape.
 */
export function unitScopeSqliteNamed(scope: DataScope, column: string, parameter = 'scopeUnits'): NamedSqlFragment {
  const col = identifier(column);
  const name = parameterName(parameter);
  if (scope.allUnits) return { sql: TRUE.sql, params: {} };
  if (scope.units.length === 0) return { sql: FALSE.sql, params: {} };
  return { sql: `${col} IN (SELECT value FROM json_each(@${name}))`, params: { [name]: JSON.stringify(scope.units) } };
}

/** `citizenScopeSql` for SQLite statements with named parameters (see `unitScopeSqliteNamed`). */
export function citizenScopeSqliteNamed(scope: DataScope, tables: CitizenScopeTables, parameter = 'scopeUnits'): NamedSqlFragment {
  const citizen = identifier(tables.citizenColumn);
  const table = identifier(tables.involvementTable ?? 'citizen_units');
  const involvedCitizen = identifier(tables.involvementCitizenColumn ?? 'citizen_id');
  const involvedUnit = identifier(tables.involvementUnitColumn ?? 'unit_id');
  const units = unitScopeSqliteNamed(scope, involvedUnit, parameter);
  if (scope.allUnits || scope.units.length === 0) return units;
  return { sql: `${citizen} IN (SELECT ${involvedCitizen} FROM ${table} WHERE ${units.sql})`, params: units.params };
}

/** A short name for the shape of a scope's SQL (all / none / some units): a cache key for prepared statements. */
export function scopeShape(scope: DataScope): 'all' | 'none' | 'units' {
  return scope.allUnits ? 'all' : scope.units.length === 0 ? 'none' : 'units';
}
