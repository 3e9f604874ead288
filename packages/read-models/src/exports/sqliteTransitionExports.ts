/**
 * The process-mining exports on the embedded read models: XES and OCEL 2.0 as lazy streams of text
 * chunks. Nothing is read until the first chunk is asked for; the snapshot (exportSnapshot.ts) is
 * released when the stream ends, fails or is abandoned (`return()`: a client that hangs up).
 */
import type { UnitDirectory } from '@tracker/domain';
import type { SqliteDatabaseHolder } from '../flows/sqliteFlowSource.ts';
import type { DataScope } from '../queries.ts';
import { citizenSelection, ExportSnapshot, type ExportFilter } from './exportSnapshot.ts';
import { ocelDocument } from './ocel.ts';
import { fromSnapshot, SnapshotCount, type ExportStream, type TransitionExports } from './transitionExports.ts';
import { xesDocument } from './xes.ts';

export type { ExportStream, TransitionExports } from './transitionExports.ts';

export interface SqliteTransitionExportsOptions {
  units: UnitDirectory;
  /** Citizens read per query (default 200): bounds memory and how long one read holds the event loop. */
  pageSize?: number;
}

export class SqliteTransitionExports implements TransitionExports {
  readonly #holder: SqliteDatabaseHolder;
  readonly #units: UnitDirectory;
  readonly #pageSize: number;
  readonly #snapshots = new SnapshotCount();

  constructor(holder: SqliteDatabaseHolder, { units, pageSize = 200 }: SqliteTransitionExportsOptions) {
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be a positive integer');
    this.#holder = holder;
    this.#units = units;
    this.#pageSize = pageSize;
  }

  /** Snapshots currently held by unfinished exports. */
  get openSnapshots(): number {
    return this.#snapshots.open;
  }

  #withSnapshot(filter: ExportFilter, scope: DataScope, write: (snapshot: ExportSnapshot) => ExportStream): ExportStream {
    return fromSnapshot(() => new ExportSnapshot(this.#holder.database.name, filter, this.#pageSize, scope), this.#snapshots, write);
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
    const { where, params } = citizenSelection(filter, scope);
    return this.#holder.database.prepare(`SELECT DISTINCT t.citizen_id FROM timeline t WHERE ${where} ORDER BY t.citizen_id`).pluck(true).all(params) as string[];
  }
}
