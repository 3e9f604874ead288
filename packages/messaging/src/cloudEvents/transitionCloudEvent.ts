/**
 * A stored event as a CloudEvents 1.0 message in JSON structured mode (the whole message value is one
 * JSON object; Kafka header `content-type: application/cloudevents+json; charset=UTF-8`).
 *
 * | attribute        | value                                                                   |
 * |------------------|-------------------------------------------------------------------------|
 * | specversion      | `1.0`                                                                   |
 * | id               | the event id (the sender's UUID): a re-publish carries the same id      |
 * | source           | the tracker installation, a URI reference (`CLOUDEVENTS_SOURCE`)        |
 * | type             | `dk.kommune.transitions.<EventType>.v1`, e.g. `…CaseOpened.v1`          |
 * | subject          | the citizenId (pseudonymous)                                            |
 * | time             | occurredAt, as sent (offset kept)                                       |
 * | datacontenttype  | `application/json`                                                      |
 * | data             | the event's `data` (CitizenRegistered without `personal`, see below)    |
 * | recordedat       | extension: when the tracker stored it (RFC 3339, UTC)                   |
 * | streamversion    | extension: 0-based position in the citizen's stream (Integer)           |
 * | globalposition   | extension: position in the whole store, as a String of digits           |
 * | partitionkey     | extension (CloudEvents Partitioning): the citizenId, = the Kafka key    |
 * | sourcesystem     | extension, optional: the envelope's `source` (e.g. `dubu`)              |
 * | correlationid    | extension, optional: the request id of the ingestion that stored it     |
 *
 * `globalposition` is a String: CloudEvents Integers are 32-bit, and the EventStoreDB adapter's positions
 * are log offsets that outgrow them. The `.v1` in `type` is the version of `data`'s schema.
 *
 * Personal data: `personal` (name, CPR) of CitizenRegistered never travels. Until personal data is
 * encrypted at rest with per-citizen keys (security work), it is dropped from the message; consumers
 * that need it will get the encrypted form then, under a new attribute, never in clear.
 */
import { EVENT_TYPES, type EventType, type StoredEvent } from '@tracker/domain';

export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';
export const EVENT_TYPE_PREFIX = 'dk.kommune.transitions.';
export const EVENT_TYPE_VERSION = '.v1';
/** Used when the installation names no source of its own. */
export const DEFAULT_CLOUDEVENTS_SOURCE = 'urn:dk:kommune:transition-tracker';

export interface TransitionCloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  recordedat: string;
  streamversion: number;
  globalposition: string;
  partitionkey: string;
  sourcesystem?: string;
  correlationid?: string;
  data: Record<string, unknown>;
}

/** `CaseOpened` → `dk.kommune.transitions.CaseOpened.v1`. */
export const cloudEventTypeOf = (type: EventType): string => `${EVENT_TYPE_PREFIX}${type}${EVENT_TYPE_VERSION}`;

const BY_CLOUD_EVENT_TYPE = new Map<string, EventType>(EVENT_TYPES.map((t) => [cloudEventTypeOf(t), t]));

/** The event's data as it may travel: without personal data. */
function publicData(event: StoredEvent): Record<string, unknown> {
  if (event.type !== 'CitizenRegistered' || event.data.personal === undefined) return event.data as Record<string, unknown>;
  const { personal: _personal, ...rest } = event.data;
  return rest;
}

export interface ToCloudEventOptions {
  source: string;
  correlationId?: string | undefined;
}

export function toCloudEvent(event: StoredEvent, { source, correlationId }: ToCloudEventOptions): TransitionCloudEvent {
  return {
    specversion: '1.0',
    id: event.id,
    source,
    type: cloudEventTypeOf(event.type),
    subject: event.citizenId,
    time: event.occurredAt,
    datacontenttype: 'application/json',
    recordedat: event.recordedAt,
    streamversion: event.streamVersion,
    globalposition: String(event.globalPosition),
    partitionkey: event.citizenId,
    ...(event.source === undefined ? {} : { sourcesystem: event.source }),
    ...(correlationId === undefined ? {} : { correlationid: correlationId }),
    data: publicData(event),
  };
}

/** A message on the events topic that is not a transition CloudEvent; names the attribute, never its value. */
export class CloudEventFormatError extends Error {
  constructor(readonly attribute: string, reason: string) {
    super(`not a transition CloudEvent: ${attribute} ${reason}`);
    this.name = 'CloudEventFormatError';
  }
}

export interface ReceivedTransitionEvent {
  /** The stored event as the store holds it (CitizenRegistered without `personal`). */
  event: StoredEvent;
  correlationId: string | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a message of the events topic back into the stored event it carries. */
export function parseTransitionCloudEvent(value: Buffer | string | null): ReceivedTransitionEvent {
  if (value === null) throw new CloudEventFormatError('(message)', 'is empty');
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    throw new CloudEventFormatError('(message)', 'is not JSON');
  }
  if (!isObject(parsed)) throw new CloudEventFormatError('(message)', 'is not a JSON object');
  const ce = parsed;
  if (ce.specversion !== '1.0') throw new CloudEventFormatError('specversion', 'must be 1.0');
  const string = (name: string): string => {
    const v = ce[name];
    if (typeof v !== 'string' || v.length === 0) throw new CloudEventFormatError(name, 'must be a non-empty string');
    return v;
  };
  const type = BY_CLOUD_EVENT_TYPE.get(string('type'));
  if (type === undefined) throw new CloudEventFormatError('type', `must be ${EVENT_TYPE_PREFIX}<EventType>${EVENT_TYPE_VERSION}`);
  const position = Number(string('globalposition'));
  if (!Number.isSafeInteger(position) || position < 1) throw new CloudEventFormatError('globalposition', 'must be a positive whole number');
  const streamVersion = ce.streamversion;
  if (typeof streamVersion !== 'number' || !Number.isSafeInteger(streamVersion) || streamVersion < 0) {
    throw new CloudEventFormatError('streamversion', 'must be a whole number ≥ 0');
  }
  if (!isObject(ce.data)) throw new CloudEventFormatError('data', 'must be a JSON object');
  const event = {
    id: string('id'),
    type,
    citizenId: string('subject'),
    occurredAt: string('time'),
    ...(typeof ce.sourcesystem === 'string' ? { source: ce.sourcesystem } : {}),
    data: ce.data,
    recordedAt: string('recordedat'),
    streamVersion,
    globalPosition: position,
  } as StoredEvent;
  return { event, correlationId: typeof ce.correlationid === 'string' ? ce.correlationid : undefined };
}
