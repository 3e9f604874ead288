/**
 * The process-mining exports on the embedded read models: XES and OCEL 2.0 as lazy streams of text
 * chunks. Nothing is read until the first chunk is asked for; the snapshot is released when the
 * stream ends, fails or is abandoned (`return()`: a client that hangs up).
 */
import type { UnitDirectory } from '@tracker/domain';
import type { SqliteDatabaseHolder } from '../flows/sqliteFlowSource.ts';
import type { DataScope } from '../queries.ts';
import { citizenSelection, ExportSnapshot, type ExportFilter } from './exportSnapshot.ts';
import { ocelDocument } from './ocel.ts';
import { xesDocument, type ExportStats } from './xes.ts';

/** A document as chunks of text; its return value says how many citizens and events it held. */
export type ExportStream = Generator<string, ExportStats, undefined>;

/** The exports port: what the API streams, for the citizens of the caller's data scope. */
export interface TransitionExports {
  xes(filter: ExportFilter, scope: DataScope): ExportStream;
  ocel(filter: ExportFilter, scope: DataScope): ExportStream;
  /**
   * The citizens an export with this filter would hold, in id order: the API records them in the
   * access log before streaming, then exports with `citizenIds` set to exactly these.
   */
  citizenIds(filter: ExportFilter, scope: DataScope): string[];
}

export interface SqliteTransitionExportsOptions {
  units: UnitDirectory;
  /** Citizens read per query (default 200): bounds memory and how long one read holds the event loop. */
  pageSize?: number;
}

export class SqliteTransitionExports implements TransitionExports {
  readonly #holder: SqliteDatabaseHolder;
  readonly #units: UnitDirectory;
  readonly #pageSize: number;
  #open = 0;

  constructor(holder: SqliteDatabaseHolder, { units, pageSize = 200 }: SqliteTransitionExportsOptions) {
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be a positive integer');
    this.#holder = holder;
    this.#units = units;
    this.#pageSize = pageSize;
  }

  /** Snapshots currently held by unfinished exports. */
  get openSnapshots(): number {
    return this.#open;
  }

  *#withSnapshot(filter: ExportFilter, scope: DataScope, write: (snapshot: ExportSnapshot) => ExportStream): ExportStream {
    const snapshot = new ExportSnapshot(this.#holder.database.name, filter, this.#pageSize, scope);
    this.#open++;
    try {
      return yield* write(snapshot);
    } finally {
      this.#open--;
      snapshot.close();
    }
  }

  xes(filter: ExportFilter, scope: DataScope): ExportStream {
    return this.#withSnapshot(filter, scope, (snapshot) => xesDocument(snapshot.citizens(), filter, this.#units));
  }

  citizenIds(filter: ExportFilter, scope: DataScope): string[] {
    const { where, params } = citizenSelection(filter, scope);
    return this.#holder.database.prepare(`SELECT DISTINCT t.citizen_id FROM timeline t WHERE ${where} ORDER BY t.citizen_id`).pluck(true).all(params) as string[];
  }

  ocel(filter: ExportFilter, scope: DataScope): ExportStream {
    return this.#withSnapshot(filter, scope, (snapshot) =>
      ocelDocument({ citizens: () => snapshot.citizens(), relativeIds: () => snapshot.relativeIds() }, filter, this.#units),
    );
  }
}
