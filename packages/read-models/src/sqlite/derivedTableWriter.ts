/**
 * Writes one derived table of the SQLite read models: a citizen's rows replaced, and — for a rebuild
 * into an empty table — inserted without the DELETE, with the table's indexes built once afterwards.
 *
 * Rows go in one prepared single-row INSERT each. Multi-row INSERTs (up to 64 rows, within SQLite's
 * 32766 parameters) were measured against it: no gain when the indexes are built afterwards, and 10–20 %
 * slower rebuilds and live derivation while the indexes are maintained (docs/benchmarks.md, rebuild).
 */
import type Database from 'better-sqlite3';
import type { CellValue, DerivedRow, DerivedTable } from '../derived.ts';

const SQL_TYPE = { text: 'TEXT', integer: 'INTEGER', real: 'REAL' } as const;

/** The table (without its indexes, which `derivedIndexDdl` gives). */
function derivedTableDdl(table: DerivedTable): string {
  const columns = Object.entries(table.columns).map(([name, type]) => `${name} ${SQL_TYPE[type]}`);
  return `CREATE TABLE IF NOT EXISTS ${table.name} (citizen_id TEXT NOT NULL, ${columns.join(', ')})`;
}

/** The table's indexes by name: per citizen (for replacing a citizen's rows), and the declared ones. */
function derivedIndexDdl(table: DerivedTable): Map<string, string> {
  const indexes = new Map([[`${table.name}_by_citizen`, 'citizen_id']]);
  for (const cols of table.indexes ?? []) indexes.set(`${table.name}_by_${cols.join('_')}`, cols.join(', '));
  return new Map([...indexes].map(([name, cols]) => [name, `CREATE INDEX IF NOT EXISTS ${name} ON ${table.name} (${cols})`]));
}

export class DerivedTableWriter {
  readonly #db: Database.Database;
  readonly #columns: string[];
  readonly #indexes: Map<string, string>;
  readonly #delete: Database.Statement<[string]>;
  readonly #isEmpty: Database.Statement<[], number>;
  readonly #insert: Database.Statement<CellValue[]>;

  /** Creates the table and its indexes when missing. */
  constructor(db: Database.Database, table: DerivedTable) {
    this.#db = db;
    this.#columns = Object.keys(table.columns);
    this.#indexes = derivedIndexDdl(table);
    db.exec(derivedTableDdl(table));
    // Also restores indexes that a rebuild dropped and a crash kept from being created again.
    this.createIndexes();
    this.#delete = db.prepare(`DELETE FROM ${table.name} WHERE citizen_id = ?`);
    this.#isEmpty = db.prepare<[], number>(`SELECT NOT EXISTS (SELECT 1 FROM ${table.name})`).pluck(true);
    this.#insert = db.prepare<CellValue[]>(
      `INSERT INTO ${table.name} (citizen_id, ${this.#columns.join(', ')}) VALUES (?, ${this.#columns.map(() => '?').join(', ')})`,
    );
  }

  isEmpty(): boolean {
    return this.#isEmpty.get() === 1;
  }

  /**
   * Replaces one citizen's rows. `knownEmpty`: the caller knows the table holds none of the citizen's
   * rows (a rebuild into an empty table, each citizen written once), so the DELETE is skipped.
   */
  replace(citizenId: string, rows: readonly DerivedRow[], { knownEmpty = false }: { knownEmpty?: boolean } = {}): void {
    if (!knownEmpty) this.#delete.run(citizenId);
    for (const row of rows) this.#insert.run(citizenId, ...this.#columns.map((c) => row[c] ?? null));
  }

  /**
   * Drops the indexes, so a bulk load into the empty table does not maintain them row by row. The
   * caller creates them again (`createIndexes`) before anything can query; should the process die in
   * between, opening the read model creates them.
   */
  dropIndexes(): void {
    for (const name of this.#indexes.keys()) this.#db.exec(`DROP INDEX IF EXISTS ${name}`);
  }

  createIndexes(): void {
    for (const ddl of this.#indexes.values()) this.#db.exec(ddl);
  }
}
