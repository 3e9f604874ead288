/**
 * The ingest service's two doors apply one set of rules (DATABASE_URL, KAFKA_BROKERS; skipped with the
 * reason otherwise): each body below is POSTed to /v1/events and sent as a message on
 * transitions.ingest.v1, and the DLQ's reasons are exactly the HTTP 400 answer, byte for byte.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { createLogger } from '@tracker/platform';
import { loadServiceConfig } from '@tracker/messaging';
import { deleteTopics, freshTopicPrefix, readTopic, testClient, testKafka, NO_BROKERS } from '@tracker/messaging/testing';
import { startIngestService, type RunningIngestService } from './ingestService.ts';

const database = await testDatabase();
const broker = testKafka();
const skipped = database.skipped ?? broker.skipped;
if (skipped !== undefined) reportSkipped('ingest service tests', skipped);

const event = (overrides: Record<string, unknown> = {}) => ({
  id: randomUUID(),
  type: 'CaseOpened',
  citizenId: 'c-ingest-1',
  occurredAt: '2025-03-01T10:00:00+01:00',
  data: { caseId: 'k-1', unitId: '0751-ungeenhed' },
  ...overrides,
});

(skipped === undefined ? describe : describe.skip)(`ingest service${skipped ? ` (${skipped})` : ''}`, () => {
  const url = database.url!;
  const brokers = broker.brokers ?? NO_BROKERS;
  const prefix = freshTopicPrefix();
  const schema = freshSchemaName();
  let ingest: RunningIngestService;

  beforeAll(async () => {
    const config = loadServiceConfig('ingest', {
      DATABASE_URL: url,
      EVENT_STORE_SCHEMA: schema,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      PORT: '0',
      MAX_EVENTS_PER_REQUEST: '3',
    });
    ingest = await startIngestService(config, createLogger({ level: 'silent' }));
  }, 60_000);
  afterAll(async () => {
    await ingest?.close();
    await dropSchema(url, schema);
    await deleteTopics(brokers, prefix);
    if (database.skipped === undefined) await database.stop();
  });

  it('refuses on Kafka exactly what and why POST /v1/events refuses', async () => {
    const bodies: Record<string, string> = {
      'not JSON': '{"events": [',
      'not an object': '[]',
      'no events': '{"events": []}',
      'too many events': JSON.stringify({ events: [event(), event(), event(), event()] }),
      'unknown property': JSON.stringify({ events: [event()], extra: true }),
      'bad events': JSON.stringify({
        events: [
          event(),
          event({ citizenId: '010203-1234' }),
          event({ data: { caseId: 'k-2', unitId: 'no-such-unit' } }),
          // (one more would be too many: MAX_EVENTS_PER_REQUEST is 3)
        ],
      }),
      'bad types': JSON.stringify({ events: [{ id: 'x', type: 'Nope', citizenId: 'c', occurredAt: '2025-03-01', data: {} }] }),
      empty: '',
    };
    const http: Record<string, unknown> = {};
    for (const [name, body] of Object.entries(bodies)) {
      const response = await fetch(`${ingest.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect({ name, status: response.status }).toEqual({ name, status: 400 });
      http[name] = await response.json();
    }

    const producer = testClient(brokers).producer();
    await producer.connect();
    const dlq = await readTopic(brokers, `${prefix}transitions.ingest.dlq.v1`);
    try {
      await producer.send({
        topic: `${prefix}transitions.ingest.v1`,
        messages: Object.entries(bodies).map(([name, body]) => ({ key: name, value: body === '' ? null : body })),
      });
      await dlq.until((m) => m.length >= Object.keys(bodies).length);
      for (const [name, body] of Object.entries(bodies)) {
        const message = dlq.messages.find((m) => m.key === name)!;
        expect({ name, value: message.value?.toString('utf8') ?? '' }).toEqual({ name, value: body });
        const viaKafka = { error: message.headers['dlq-reason'], errors: JSON.parse(message.headers['dlq-errors']!) };
        expect({ name, answer: viaKafka }).toEqual({ name, answer: http[name] });
      }
      expect(JSON.stringify(dlq.messages.map((m) => m.headers))).not.toContain('010203-1234');
      expect(ingest.consumer.counts).toEqual({ stored: 0, refused: Object.keys(bodies).length });
    } finally {
      await dlq.close();
      await producer.disconnect();
    }
  });

  it('stores on Kafka what POST /v1/events stores, duplicates counted the same way', async () => {
    const events = [event({ citizenId: 'c-ingest-2' }), event({ citizenId: 'c-ingest-2', data: { caseId: 'k-9', unitId: '0751-jobcenter' } })];
    const response = await fetch(`${ingest.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: events.slice(0, 1) }) });
    expect(await response.json()).toEqual({ appended: 1, duplicates: 0 });

    const producer = testClient(brokers).producer();
    await producer.connect();
    try {
      await producer.send({ topic: `${prefix}transitions.ingest.v1`, messages: [{ key: 'c-ingest-2', value: JSON.stringify({ events }) }] });
      const started = Date.now();
      while (ingest.consumer.counts.stored < 1 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
      expect(ingest.consumer.counts.stored).toBe(1);
      const again = await fetch(`${ingest.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
      expect(await again.json()).toEqual({ appended: 0, duplicates: 2 });
    } finally {
      await producer.disconnect();
    }
  });
});
