/**
 * The event store port. One stream per citizen (stream id = citizenId). Every adapter (embedded
 * SQLite, PostgreSQL, EventStoreDB) passes the same contract suite in `contract/`.
 */
import type { StoredEvent, TransitionEvent } from '@tracker/domain';

/** `'no_stream'`: the stream must not exist; a number: the version of the stream's last event. */
export type ExpectedVersion = 'any' | 'no_stream' | number;

export interface AppendToStreamResult {
  /** The events stored now, with their positions; duplicates (by event id) are not among them. */
  appended: StoredEvent[];
  /** Ids of events that were already stored: a repeat is a no-op, not an error. */
  duplicates: string[];
  /** Version of the stream's last event after the append (-1 for a stream that is still empty). */
  nextExpectedVersion: number;
}

export interface AppendBatchResult {
  appended: StoredEvent[];
  duplicates: string[];
}

export interface ReadAllOptions {
  /** Read events with globalPosition strictly greater than this checkpoint (0 = from the start). */
  after?: number;
  maxCount?: number;
}

export interface SubscribeToAllOptions {
  /** The checkpoint: deliver events with globalPosition strictly greater than this. */
  after: number;
  /** Largest batch handed to the handler at once. */
  batchSize?: number;
}

/** Receives batches in global order; the next batch waits until the returned promise settles. */
export type BatchHandler = (events: StoredEvent[]) => Promise<void> | void;

export interface Subscription {
  /** Resolves once the subscription has delivered everything stored when it started. */
  readonly caughtUp: Promise<void>;
  /** Stops delivery; resolves when the handler is no longer running. */
  stop(): Promise<void>;
}

export interface EventStore {
  /** Appends to one citizen's stream under an optimistic concurrency check. */
  appendToStream(citizenId: string, events: readonly TransitionEvent[], options?: { expectedVersion?: ExpectedVersion }): Promise<AppendToStreamResult>;
  /** Appends facts across many streams all-or-nothing, without version checks (ingestion). */
  appendBatch(events: readonly TransitionEvent[]): Promise<AppendBatchResult>;
  /** The citizen's events in stream order. */
  readStream(citizenId: string, options?: { fromVersion?: number; maxCount?: number }): Promise<StoredEvent[]>;
  /** Events of all streams in global order. */
  readAll(options?: ReadAllOptions): Promise<StoredEvent[]>;
  /** Catch-up subscription: stored events after the checkpoint, then live ones as they are appended. */
  subscribeToAll(options: SubscribeToAllOptions, handler: BatchHandler): Subscription;
  /** Global position of the newest event (0 when empty). */
  headPosition(): Promise<number>;
  /** Finishes pending appends durably and releases the engine. */
  close(): Promise<void>;
}

/** The expected version did not match the stream: someone else appended first. */
export class WrongExpectedVersionError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super(`stream version is ${actual}, expected ${String(expected)}`);
    this.name = 'WrongExpectedVersionError';
  }
}
