import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { dlqMessageOf, MAX_DLQ_ERRORS } from './dlq.ts';
import { correlationIdOf } from './ingestConsumer.ts';
import { eventIdsInRequest } from './requestEventIds.ts';

const message = (headers: KafkaMessage['headers'] = {}): KafkaMessage =>
  ({ key: Buffer.from('k'), value: Buffer.from('{"events":[]}'), offset: '41', timestamp: '0', attributes: 0, headers, size: 0 }) as unknown as KafkaMessage;

describe('ingest messages', () => {
  it('take their correlation id from a usable header, else name the message', () => {
    expect(correlationIdOf(message({ correlationid: Buffer.from('req-1') }), 2)).toBe('req-1');
    expect(correlationIdOf(message({ 'x-request-id': 'req-2' }), 2)).toBe('req-2');
    expect(correlationIdOf(message({ correlationid: Buffer.from('has spaces and 010203-1234') }), 2)).toBe('kafka-2-41');
    expect(correlationIdOf(message(), 0)).toBe('kafka-0-41');
  });

  it('go to the DLQ as they came, with the reasons and their origin in headers', () => {
    const original = message({ traceparent: Buffer.from('00-abc-def-01') });
    const dlq = dlqMessageOf(
      original,
      { error: 'invalid events', errors: [{ index: 0, field: 'data.unitId', message: 'unknown unit; units come from the units configuration (UNITS_FILE)' }] },
      { topic: 'transitions.ingest.v1', partition: 1, groupId: 'tracker-ingest', correlationId: 'kafka-1-41', failedAt: new Date('2025-01-01T00:00:00Z') },
    );
    expect(dlq.key).toBe(original.key);
    expect(dlq.value).toBe(original.value);
    expect(dlq.headers).toEqual({
      traceparent: original.headers!.traceparent,
      'dlq-reason': 'invalid events',
      'dlq-errors': '[{"index":0,"field":"data.unitId","message":"unknown unit; units come from the units configuration (UNITS_FILE)"}]',
      'dlq-source-topic': 'transitions.ingest.v1',
      'dlq-source-partition': '1',
      'dlq-source-offset': '41',
      'dlq-consumer-group': 'tracker-ingest',
      'dlq-failed-at': '2025-01-01T00:00:00.000Z',
      correlationid: 'kafka-1-41',
    });
  });

  it('keep the DLQ headers small when a large request has many problems', () => {
    const errors = Array.from({ length: 250 }, (_, index) => ({ index, field: 'id', message: 'must be a UUID' }));
    const dlq = dlqMessageOf(message(), { error: 'invalid events', errors }, { topic: 't', partition: 0, groupId: 'g', correlationId: 'c', failedAt: new Date() });
    expect(JSON.parse(String(dlq.headers!['dlq-errors']))).toHaveLength(MAX_DLQ_ERRORS);
    expect(dlq.headers!['dlq-errors-omitted']).toBe('150');
  });

  it('name their events by id before validation, only where the id is well-formed', () => {
    const id = '6F1C1D3E-8A51-4C43-9D8B-0D2A7C5E9F10';
    expect(eventIdsInRequest({ events: [{ id }, { id: 'nope' }, 'x', null, { id: 42 }] }, 10)).toEqual([id.toLowerCase()]);
    expect(eventIdsInRequest({ events: [{ id }, { id }] }, 1)).toHaveLength(1);
    expect(eventIdsInRequest({ events: 'x' }, 10)).toEqual([]);
    expect(eventIdsInRequest(undefined, 10)).toEqual([]);
  });
});
