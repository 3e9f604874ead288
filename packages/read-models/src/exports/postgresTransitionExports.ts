/**
 * The process-mining exports on the PostgreSQL read models (distributed mode): XES and OCEL 2.0 as lazy
 * streams of text chunks, byte for byte what the SQLite adapter writes for the same events. Each
 * export reads from its own snapshot (postgresExportSnapshot.ts) on a client of its own, taken on the
 * first chunk and given back when the stream ends, fails or is abandoned (`return()`: a client that
 * hangs up).
 */
import pg from 'pg';
import type { UnitDirectory } from '@tracker/domain';
import type { DataScope } from '../queries.ts';
import type { ExportFilter } from './exportSnapshot.ts';
import { ocelDocument } from './ocel.ts';
import { postgresCitizenSelection, PostgresExportSnapshot } from './postgresExportSnapshot.ts';
import { fromSnapshot, SnapshotCount, type ExportStream, type TransitionExports } from './transitionExports.ts';
import { xesDocument } from './xes.ts';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

export interface PostgresTransitionExportsOptions {
  units: UnitDirectory;
  /**
   * A pool owned by the caller (not ended by `close()`); or give `connectionString`. Each running
   * export holds one of its clients for as long as it streams, so it is best not the pool that answers
   * GraphQL queries.
   */
  pool?: pg.Pool;
  /** `postgres://user@host:port/database`: the exports then keep a small pool of their own. */
  connectionString?: string;
  /** Connections of the pool made from `connectionString` (default 4: two exports, their listings, one spare). */
  maxConnections?: number;
  /** Citizens read per query (default 200): bounds memory and the size of one read. */
  pageSize?: number;
}

export class PostgresTransitionExports implements TransitionExports {
  readonly #schema: string;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #units: UnitDirectory;
  readonly #pageSize: number;
  readonly #snapshots = new SnapshotCount();

  /** Exports of the read models in `readModel.schema` (a PostgresReadModel is such a holder). */
  constructor(readModel: { readonly schema: string }, options: PostgresTransitionExportsOptions) {
    const { units, pool, connectionString, maxConnections = 4, pageSize = 200 } = options;
    if (!SCHEMA_NAME.test(readModel.schema)) throw new TypeError('schema must be a lower-case SQL identifier of at most 48 characters');
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be a positive integer');
    if (!Number.isSafeInteger(maxConnections) || maxConnections < 1) throw new RangeError('maxConnections must be a positive integer');
    if (pool === undefined && !connectionString) throw new TypeError('give connectionString or pool');
    this.#schema = readModel.schema;
    this.#ownsPool = pool === undefined;
    this.#pool = pool ?? new pg.Pool({ connectionString, max: maxConnections });
    if (this.#ownsPool) this.#pool.on('error', () => {}); // an idle client's connection died; the pool replaces it
    this.#units = units;
    this.#pageSize = pageSize;
  }

  /** Snapshots (clients in a read transaction) currently held by unfinished exports. */
  get openSnapshots(): number {
    return this.#snapshots.open;
  }

  #withSnapshot(filter: ExportFilter, scope: DataScope, write: (snapshot: PostgresExportSnapshot) => ExportStream): ExportStream {
    return fromSnapshot(() => PostgresExportSnapshot.open(this.#pool, this.#schema, filter, this.#pageSize, scope), this.#snapshots, write);
  }

  xes(filter: ExportFilter, scope: DataScope): ExportStream {
    return this.#withSnapshot(filter, scope, (snapshot) => xesDocument(snapshot.citizens(), filter, this.#units));
  }

  ocel(filter: ExportFilter, scope: DataScope): ExportStream {
    return this.#withSnapshot(filter, scope, (snapshot) =>
      ocelDocument({ citizens: () => snapshot.citizens(), relativeIds: () => snapshot.relativeIds() }, filter, this.#units),
    );
  }

  async citizenIds(filter: ExportFilter, scope: DataScope): Promise<string[]> {
    const values: unknown[] = [];
    const where = postgresCitizenSelection(filter, scope, this.#schema, values);
    const { rows } = await this.#pool.query<[string]>({
      text: `SELECT DISTINCT t.citizen_id FROM "${this.#schema}".timeline t WHERE ${where} ORDER BY t.citizen_id`,
      values,
      rowMode: 'array',
    });
    return rows.map(([id]) => id);
  }

  /** Ends the pool if the exports made it; running exports are cut off as their clients go. */
  async close(): Promise<void> {
    if (this.#ownsPool) await this.#pool.end();
  }
}
