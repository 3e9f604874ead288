/**
 * The exports port (docs/exports.md): XES and OCEL 2.0 as lazy, asynchronous streams of text chunks,
 * the same for every adapter — SQLite reads synchronously, PostgreSQL does not, so the port is
 * asynchronous for both.
 */
import type { DataScope } from '../queries.ts';
import type { ExportFilter } from './exportSnapshot.ts';
import type { ExportStats } from './xes.ts';

/** A document as chunks of text; its return value says how many citizens and events it held. */
export type ExportStream = AsyncGenerator<string, ExportStats, undefined>;

/** The exports port: what the API streams, for the citizens of the caller's data scope. */
export interface TransitionExports {
  xes(filter: ExportFilter, scope: DataScope): ExportStream;
  ocel(filter: ExportFilter, scope: DataScope): ExportStream;
  /**
   * The citizens an export with this filter would hold, in id order: the API records them in the
   * access log before streaming, then exports with `citizenIds` set to exactly these.
   */
  citizenIds(filter: ExportFilter, scope: DataScope): Promise<string[]>;
}

/** What an adapter's snapshot must offer the stream: a way to let go of it. */
export interface HeldSnapshot {
  close(): void | Promise<void>;
}

/** How many snapshots an adapter's unfinished exports hold. */
export class SnapshotCount {
  #open = 0;
  get open(): number {
    return this.#open;
  }
  opened(): void {
    this.#open++;
  }
  closed(): void {
    this.#open--;
  }
}

/**
 * A document written from one snapshot, with the guarantees every adapter gives: nothing is opened
 * until the first chunk is asked for, and the snapshot is closed when the stream ends, fails or is
 * abandoned (`return()`, as when an HTTP client hangs up; a pending read finishes first).
 */
export async function* fromSnapshot<S extends HeldSnapshot>(
  open: () => S | Promise<S>,
  count: SnapshotCount,
  write: (snapshot: S) => ExportStream,
): ExportStream {
  const snapshot = await open();
  count.opened();
  try {
    return yield* write(snapshot);
  } finally {
    try {
      await snapshot.close();
    } finally {
      count.closed();
    }
  }
}
