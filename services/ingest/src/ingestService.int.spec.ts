/**
 * The ingest service's two doors apply one set of rules (DATABASE_URL, KAFKA_BROKERS; skipped with the
 * reason otherwise): each body below is POSTed to /v1/events and sent as a message on
 * transitions.ingest.v1, and the DLQ's reasons are exactly the HTTP 400 answer, byte for byte. Personal
 * data reaches the event store through either door only as ciphertext under a key in the shared
 * PostgreSQL key store.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresEventStore } from '@tracker/event-store';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { createLogger } from '@tracker/platform';
import { loadServiceConfig } from '@tracker/messaging';
import { deleteTopics, eventually, freshTopicPrefix, readTopic, testClient, testKafka, NO_BROKERS } from '@tracker/messaging/testing';
import { generateKeyEncryptionKey, isEncryptedPersonal, parseKeyEncryptionKey, PersonalDataProtector, PostgresKeyStore } from '@tracker/security';
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
  const keySchema = freshSchemaName();
  const kek = generateKeyEncryptionKey();
  let ingest: RunningIngestService;

  beforeAll(async () => {
    const config = loadServiceConfig('ingest', {
      DATABASE_URL: url,
      EVENT_STORE_SCHEMA: schema,
      KEY_STORE_SCHEMA: keySchema,
      PERSONAL_DATA_KEK: kek,
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
    await dropSchema(url, keySchema);
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

  it('stores personal data from either door only as ciphertext, under a key in the shared key store; an erasure elsewhere refuses more at once', async () => {
    const personal = { name: 'Freja Testesen', cpr: '010190-1234' };
    const registered = (citizenId: string) => event({ type: 'CitizenRegistered', citizenId, data: { birthDate: '2008-05-17', municipality: '0751', disability: false, personal } });
    const post = (body: unknown) => fetch(`${ingest.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    expect(await (await post({ events: [registered('c-personal-http')] })).json()).toEqual({ appended: 1, duplicates: 0 });
    const producer = testClient(brokers).producer();
    await producer.connect();
    try {
      await producer.send({ topic: `${prefix}transitions.ingest.v1`, messages: [{ key: 'c-personal-kafka', value: JSON.stringify({ events: [registered('c-personal-kafka')] }) }] });
    } finally {
      await producer.disconnect();
    }

    // As another process (an API replica) sees it: the event store and the key store in PostgreSQL.
    const events = await PostgresEventStore.open({ connectionString: url, schema });
    const keys = await PostgresKeyStore.open({ connectionString: url, schema: keySchema });
    const sql = new pg.Client({ connectionString: url });
    await sql.connect();
    try {
      const replica = await PersonalDataProtector.open({ kek: parseKeyEncryptionKey(kek), store: keys });
      for (const citizenId of ['c-personal-http', 'c-personal-kafka']) {
        const [stored] = await eventually(async () => {
          const stream = await events.readStream(citizenId);
          return stream.length > 0 && stream;
        });
        const encrypted = (stored!.data as { personal: unknown }).personal;
        expect(isEncryptedPersonal(encrypted)).toBe(true);
        await expect(replica.decryptPersonal(citizenId, encrypted)).resolves.toEqual(personal);
      }
      const rows = (await sql.query<{ text: string }>(`SELECT string_agg(data::text, '') AS text FROM "${schema}".events`)).rows[0]!.text;
      for (const plain of [personal.name, personal.cpr, personal.cpr.replace('-', '')]) expect(rows).not.toContain(plain);

      // Erased by the replica: ingest takes no new personal data for the citizen, and says which field.
      await expect(replica.eraseCitizenKey('c-personal-http')).resolves.toEqual({ erased: true });
      const refused = await post({ events: [registered('c-personal-http')] });
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ errors: [{ index: 0, field: 'data.personal' }] });
      // Without personal data the citizen's facts are still taken.
      const { personal: _dropped, ...data } = registered('c-personal-http').data as Record<string, unknown>;
      expect(await (await post({ events: [{ ...registered('c-personal-http'), data }] })).json()).toEqual({ appended: 1, duplicates: 0 });
    } finally {
      await sql.end();
      await keys.close();
      await events.close();
    }
  });
});
