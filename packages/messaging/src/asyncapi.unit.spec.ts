/**
 * docs/asyncapi.yaml is a valid AsyncAPI 3 document (the AsyncAPI parser, with its Spectral rules, finds
 * no error or warning), describes the four topics, has one message per catalog event type whose data is
 * that type's schema in docs/events.schema.json, and the messages the code produces — relay
 * CloudEvents, alert CloudEvents, ingestion bodies, DLQ headers — validate against its schemas.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Parser, fromFile, type AsyncAPIDocumentInterface } from '@asyncapi/parser';
import { EVENT_TYPES, type StoredEvent } from '@tracker/domain';
import { alertId, deadlineAlertOf, toAlertCloudEvent, type GapAlert } from './alerts/alertPublisher.ts';
import { toCloudEvent } from './cloudEvents/transitionCloudEvent.ts';
import { dlqMessageOf } from './ingest/dlq.ts';
import { TOPICS } from './topics.ts';

const DOCUMENT = fileURLToPath(new URL('../../../docs/asyncapi.yaml', import.meta.url));
const EVENTS_SCHEMA = fileURLToPath(new URL('../../../docs/events.schema.json', import.meta.url));

// The parser's own JSON Schema validator (ajv, with its formats), reached through the parser.
const requireFromParser = createRequire(createRequire(import.meta.url).resolve('@asyncapi/parser'));
const Ajv = requireFromParser('ajv') as new (options: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown } };
const addFormats = requireFromParser('ajv-formats') as (ajv: object) => void;

/** A resolved schema without the `$schema` markers the catalog's subschemas carry (draft 2020-12 URIs). */
function plain(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(plain);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => key !== '$schema' && !key.startsWith('x-parser-'))
      .map(([key, value]) => [key, plain(value)]),
  );
}

let document: AsyncAPIDocumentInterface;
let validator: (messageId: string, part?: 'payload' | 'headers') => (data: unknown) => boolean;

beforeAll(async () => {
  const parsed = await fromFile(new Parser(), DOCUMENT).parse();
  const problems = parsed.diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`);
  expect(problems).toEqual([]);
  expect(parsed.document).toBeDefined();
  document = parsed.document!;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  validator = (messageId, part = 'payload') => {
    const message = document.components().messages().get(messageId);
    if (!message) throw new Error(`no message ${messageId}`);
    const schema = part === 'payload' ? message.payload() : message.headers();
    const validate = ajv.compile(plain(schema!.json()) as object);
    return (data) => validate(data);
  };
}, 60_000);

const stored = (type: string, data: Record<string, unknown>): StoredEvent =>
  ({
    id: '6f1c1d3e-8a51-4c43-9d8b-0d2a7c5e9f10',
    type,
    citizenId: 'c-42',
    occurredAt: '2024-04-02T10:00:00+02:00',
    source: 'dubu',
    data,
    recordedAt: '2024-04-02T08:00:01.123Z',
    streamVersion: 3,
    globalPosition: 17,
  }) as StoredEvent;

describe('docs/asyncapi.yaml', () => {
  it('describes the four topics, and what the tracker does on each', () => {
    expect(document.channels().all().map((c) => c.address()).sort()).toEqual(Object.values(TOPICS).sort());
    expect(document.operations().all().map((o) => `${o.action()} ${o.channels().all()[0]!.address()}`).sort()).toEqual(
      ['receive transitions.ingest.v1', 'send transitions.alerts.v1', 'send transitions.events.v1', 'send transitions.ingest.dlq.v1'].sort(),
    );
  });

  it('has one message per catalog event type on the events topic, its data the type\'s schema from events.schema.json', () => {
    const catalog = JSON.parse(readFileSync(EVENTS_SCHEMA, 'utf8')) as { oneOf: { properties: { type: { const: string }; data: unknown } }[] };
    const events = document.channels().all().find((c) => c.address() === TOPICS.events)!;
    expect(events.messages().all().map((m) => m.id()).sort()).toEqual([...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) {
      const payload = document.components().messages().get(type)!.payload()!.json() as { allOf: [unknown, { properties: { type: { const: string }; data: unknown } }] };
      const specific = payload.allOf[1].properties;
      expect(specific.type.const).toBe(`dk.kommune.transitions.${type}.v1`);
      const fromCatalog = plain(catalog.oneOf.find((v) => v.properties.type.const === type)!.properties.data);
      const documented = plain(specific.data) as { allOf?: unknown[] };
      expect(type === 'CitizenRegistered' ? documented.allOf![0] : documented).toEqual(fromCatalog);
    }
  });

  it('matches the relay\'s CloudEvents, and refuses one that carries personal data', () => {
    const caseOpened = stored('CaseOpened', { caseId: 'k-1', unitId: '0751-ungeenhed' });
    expect(validator('CaseOpened')(toCloudEvent(caseOpened, { source: 'urn:dk:kommune:transition-tracker', correlationId: 'req-1' }))).toBe(true);
    const { sourcesystem: _s, correlationid: _c, ...bare } = toCloudEvent(caseOpened, { source: 'urn:x' });
    expect(validator('CaseOpened')(bare)).toBe(true);
    const registered = stored('CitizenRegistered', { birthDate: '2006-05-17', municipality: '0751', disability: false, personal: { name: 'Test Testesen' } });
    const message = toCloudEvent(registered, { source: 'urn:x' });
    expect(validator('CitizenRegistered')(message)).toBe(true);
    expect(validator('CitizenRegistered')({ ...message, data: { ...message.data, personal: { name: 'Test Testesen' } } })).toBe(false);
    expect(validator('CaseOpened')({ ...toCloudEvent(caseOpened, { source: 'urn:x' }), type: 'dk.kommune.transitions.CaseClosed.v1' })).toBe(false);
    expect(validator('CaseOpened', 'headers')({ 'content-type': 'application/cloudevents+json; charset=UTF-8' })).toBe(true);
  });

  it('matches the ingestion body and the DLQ headers', () => {
    const body = { events: [{ id: '6f1c1d3e-8a51-4c43-9d8b-0d2a7c5e9f10', type: 'CaseOpened', citizenId: 'c-1', occurredAt: '2025-03-01T10:00:00+01:00', data: { caseId: 'k', unitId: 'u' } }] };
    expect(validator('IngestRequest')(body)).toBe(true);
    expect(validator('IngestRequest')({ events: [] })).toBe(false);
    const dlq = dlqMessageOf(
      { key: null, value: Buffer.from('x'), offset: '7', timestamp: '0', attributes: 0, headers: {}, size: 0 } as never,
      { error: 'invalid request', errors: [{ index: null, field: '(body)', message: 'request body is not valid JSON' }] },
      { topic: TOPICS.ingest, partition: 0, groupId: 'tracker-ingest', correlationId: 'kafka-0-7', failedAt: new Date() },
    );
    expect(validator('RefusedIngestRequest', 'headers')(dlq.headers)).toBe(true);
  });

  it('matches the alert CloudEvents', () => {
    const deadline = deadlineAlertOf({
      sequence: 3, kind: 'AT_RISK', citizenId: 'c-7', clockId: 'bfu-4-maaneder:inv-1', policy: 'bfu-4-maaneder', unitId: null,
      atMs: 0, detectedMs: 1, startedMs: 0, dueMs: 10, atRiskMs: 7, stoppedMs: null,
    });
    expect(validator('DeadlineAlert')(toAlertCloudEvent(deadline, 'urn:x'))).toBe(true);
    const gap: GapAlert = {
      kind: 'gap', citizenId: 'c-7', gapKind: 'UNCOVERED', gapKey: 'UNCOVERED:k-1', change: 'CLOSED', fromUnitId: null, toUnitId: '0751-jobcenter',
      relativeId: null, at: '2025-01-01T00:00:00.000Z', detectedAt: '2025-01-01T00:00:00.000Z', startedAt: '2024-12-01T00:00:00.000Z',
      endedAt: '2025-01-01T00:00:00.000Z', dueAt: null,
    };
    const event = toAlertCloudEvent(gap, 'urn:x');
    expect(event.id).toBe(alertId(gap));
    expect(validator('GapAlert')(event)).toBe(true);
    expect(validator('GapAlert')({ ...event, data: { ...event.data, change: 'REOPENED' } })).toBe(false);
  });
});
