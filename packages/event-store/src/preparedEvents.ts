/**
 * Checks an append request's envelopes and serialises their data before any database work, so a bad
 * request fails as a whole with nothing sent, and so an adapter's transaction only does database work.
 * Adapter-neutral: every adapter uses it.
 *
 * Error messages name the index and the reason, never a value (event data may hold personal data).
 */
import type { StoredEvent, TransitionEvent } from '@tracker/domain';
import type { ExpectedVersion } from './eventStore.ts';

export interface PreparedEvent {
  id: string;
  citizenId: string;
  type: TransitionEvent['type'];
  occurredAt: string;
  source: string | null;
  data: TransitionEvent['data'];
  /** `data` as JSON text. */
  json: string;
}

/** Validates the envelopes; with `streamId`, every event must belong to that citizen's stream. */
export function prepareEvents(events: readonly TransitionEvent[], streamId: string | undefined): PreparedEvent[] {
  if (!Array.isArray(events)) throw new TypeError('events must be an array');
  const prepared = new Array<PreparedEvent>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as TransitionEvent | undefined;
    if (typeof e !== 'object' || e === null) throw new TypeError(`event at index ${i} is not an object`);
    if (typeof e.id !== 'string' || e.id.length === 0) throw new TypeError(`event at index ${i} has no id`);
    if (typeof e.citizenId !== 'string' || e.citizenId.length === 0) throw new TypeError(`event at index ${i} has no citizenId`);
    if (streamId !== undefined && e.citizenId !== streamId) {
      throw new TypeError(`event at index ${i} belongs to another citizen's stream than the one appended to`);
    }
    if (typeof e.type !== 'string' || typeof e.occurredAt !== 'string') throw new TypeError(`event at index ${i} has no type or occurredAt`);
    if (e.source !== undefined && typeof e.source !== 'string') throw new TypeError(`event at index ${i}: source must be a string`);
    if (typeof e.data !== 'object' || e.data === null) throw new TypeError(`event at index ${i} has no data object`);
    let json: string;
    try {
      json = JSON.stringify(e.data);
    } catch (cause) {
      // The cause names a JSON problem (a BigInt, a cycle), never a value.
      throw new TypeError(`event at index ${i}: data cannot be serialised to JSON`, { cause });
    }
    prepared[i] = { id: e.id, citizenId: e.citizenId, type: e.type, occurredAt: e.occurredAt, source: e.source ?? null, data: e.data, json };
  }
  return prepared;
}

/** 'any' → undefined, 'no_stream' → -1, a version ≥ -1 as it is. */
export function expectedAsNumber(expected: ExpectedVersion): number | undefined {
  if (expected === 'any') return undefined;
  if (expected === 'no_stream') return -1;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= -1) return expected;
  throw new TypeError("expectedVersion must be 'any', 'no_stream' or an integer ≥ -1");
}

export function checkCitizenId(citizenId: string): void {
  if (typeof citizenId !== 'string' || citizenId.length === 0) throw new TypeError('citizenId must be a non-empty string');
}

export function checkMaxCount(maxCount: number | undefined): void {
  if (maxCount !== undefined && (!Number.isSafeInteger(maxCount) || maxCount < 0)) throw new TypeError('maxCount must be a non-negative integer');
}

export function checkSubscribeOptions(after: number, batchSize: number): void {
  if (!Number.isSafeInteger(after) || after < 0) throw new TypeError('after must be a non-negative integer');
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new TypeError('batchSize must be a positive integer');
}

/** The stored form of a prepared event, once the adapter knows its positions. */
export function storedFrom(e: PreparedEvent, recordedAt: string, streamVersion: number, globalPosition: number): StoredEvent {
  const event = { id: e.id, type: e.type, citizenId: e.citizenId, occurredAt: e.occurredAt } as Record<string, unknown>;
  if (e.source !== null) event.source = e.source;
  event.data = e.data;
  event.recordedAt = recordedAt;
  event.streamVersion = streamVersion;
  event.globalPosition = globalPosition;
  return event as unknown as StoredEvent;
}
