/**
 * Distributed mode end to end, on the real PostgreSQL and the real Kafka broker (DATABASE_URL,
 * KAFKA_BROKERS; skipped with the reason otherwise): the four services in this process — ingest, relay,
 * two projectors in one consumer group, two API replicas — each started as its main.ts starts it, in
 * schemas and topics of this run only.
 *
 * Events POSTed to ingest are answered by the API through GraphQL, streamed by the GraphQL subscription
 * of every API replica, and read from transitions.events.v1 by an independent consumer in stream order
 * per citizen, carrying the request's correlation id. A bad message on transitions.ingest.v1 lands on
 * the DLQ with its reasons and the consumer goes on with the next one.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, type TransitionEvent } from '@tracker/domain';
import { PostgresEventStore } from '@tracker/event-store';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { createLogger } from '@tracker/platform';
import { loadServiceConfig, parseTransitionCloudEvent, type RunningService, type ServiceName } from '@tracker/messaging';
import { deleteTopics, eventually, freshTopicPrefix, readTopic, testClient, testKafka, NO_BROKERS } from '@tracker/messaging/testing';
import { generateKeyEncryptionKey } from '@tracker/security';
import { startIngestService, type RunningIngestService } from '../../ingest/src/ingestService.ts';
import { startProjectorService, type RunningProjectorService } from '../../projector/src/projectorService.ts';
import { startRelayService } from '../../relay/src/relayService.ts';
import { startApiService } from './apiService.ts';

const database = await testDatabase();
const broker = testKafka();
const skipped = database.skipped ?? broker.skipped;
if (skipped !== undefined) reportSkipped('distributed end-to-end tests', skipped);

const run = randomUUID().slice(0, 8);
const ALERTS_NOW = '2024-04-05T12:00:00+02:00';

/** A young person handed over from the youth unit to the jobcenter: seven facts, one delivered late. */
function history(citizenId: string): TransitionEvent[] {
  const e = (type: string, occurredAt: string, data: Record<string, unknown>) => ({ id: randomUUID(), type, citizenId, occurredAt, source: 'e2e', data }) as TransitionEvent;
  return [
    e('CitizenRegistered', '2024-01-02T09:00:00+01:00', { birthDate: '2006-05-17', municipality: '0751', disability: false, personal: { name: 'Test Testesen' } }),
    e('CaseOpened', '2024-01-03T09:00:00+01:00', { caseId: 'k-youth', unitId: '0751-ungeenhed' }),
    e('HandoverInitiated', '2024-04-02T10:00:00+02:00', { handoverId: 'h-1', fromUnitId: '0751-ungeenhed', toUnitId: '0751-jobcenter', kind: 'age' }),
    e('HandoverAccepted', '2024-04-09T10:00:00+02:00', { handoverId: 'h-1' }),
    e('CaseOpened', '2024-04-10T10:00:00+02:00', { caseId: 'k-job', unitId: '0751-jobcenter' }),
    e('CaseClosed', '2024-04-11T10:00:00+02:00', { caseId: 'k-youth', reason: 'handover' }),
    // Late: happened before the handover, arrives after it.
    e('ContactReceived', '2024-02-01T10:00:00+01:00', { contactId: 'c-1', unitId: '0751-ungeenhed', from: 'citizen' }),
  ];
}

interface TimelineAnswer {
  data?: { citizen: { id: string; timeline: { eventId: string; type: string }[]; handovers: { id: string; status: string }[] } | null };
  errors?: unknown[];
}

/** Opens an SSE subscription to one citizen's events and keeps what arrives. */
function subscribe(url: string, citizenId: string) {
  const controller = new AbortController();
  const received: { eventId: string; type: string }[] = [];
  const response = fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: 'subscription ($c: ID) { eventRecorded(citizenId: $c) { eventId type } }', variables: { c: citizenId } }),
    signal: controller.signal,
  });
  const reading = (async () => {
    const res = await response;
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const lines = buffer.slice(0, end).split('\n');
        buffer = buffer.slice(end + 2);
        if (!lines.includes('event: next')) continue;
        const data = JSON.parse(lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n'));
        received.push(data.data.eventRecorded);
      }
    }
  })();
  reading.catch(() => {});
  return { opened: response.then((r) => r.status), received, close: () => controller.abort() };
}

(skipped === undefined ? describe : describe.skip)(`distributed mode end to end${skipped ? ` (${skipped})` : ''}`, () => {
  const url = database.url!;
  const brokers = broker.brokers ?? NO_BROKERS;
  const prefix = freshTopicPrefix();
  const eventStoreSchema = freshSchemaName();
  const readModelSchema = freshSchemaName();
  const keyStoreSchema = freshSchemaName();
  const accessLogSchema = freshSchemaName();
  const env = {
    DATABASE_URL: url,
    EVENT_STORE_SCHEMA: eventStoreSchema,
    READ_MODEL_SCHEMA: readModelSchema,
    KEY_STORE_SCHEMA: keyStoreSchema,
    ACCESS_LOG_SCHEMA: accessLogSchema,
    // Ingest and api share the key store, so they share the key (there is no development key in distributed mode).
    PERSONAL_DATA_KEK: generateKeyEncryptionKey(),
    KAFKA_BROKERS: brokers.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_TOPIC_PARTITIONS: '3',
    PORT: '0',
    HOST: '127.0.0.1',
    NODE_ENV: 'test',
  };
  const config = (service: ServiceName, more: Record<string, string> = {}) => loadServiceConfig(service, { ...env, ...more });
  // Debug lines of every service, kept to follow a correlation id through them.
  const lines: string[] = [];
  const logger = (service: string) => createLogger({ level: 'debug', service, destination: { write: (line: string) => void lines.push(line) } });

  const services: RunningService[] = [];
  let ingest: RunningIngestService;
  let projectors: RunningProjectorService[];
  let apis: RunningService[];
  let store: PostgresEventStore;

  beforeAll(async () => {
    ingest = await startIngestService(config('ingest'), logger('ingest'));
    services.push(ingest);
    // The alert scheduler's now is a few days after the histories' handovers: their gaps opening are news.
    services.push(await startRelayService(config('relay'), logger('relay'), { retryDelayMs: 200, clock: new ManualClock(ALERTS_NOW) }));
    projectors = [await startProjectorService(config('projector'), logger('projector-a')), await startProjectorService(config('projector'), logger('projector-b'))];
    services.push(...projectors);
    await Promise.all(projectors.map((p) => p.projector.joined()));
    apis = [
      await startApiService(config('api'), logger('api-1')),
      await startApiService(config('api'), logger('api-2')),
    ];
    services.push(...apis);
    store = await PostgresEventStore.open({ connectionString: url, schema: eventStoreSchema });
  }, 120_000);

  afterAll(async () => {
    for (const service of services.reverse()) await service.close().catch(() => {});
    await store?.close();
    await dropSchema(url, eventStoreSchema);
    await dropSchema(url, readModelSchema);
    await dropSchema(url, keyStoreSchema);
    await dropSchema(url, accessLogSchema);
    await deleteTopics(brokers, prefix);
    if (database.skipped === undefined) await database.stop();
  }, 60_000);

  const graphql = async (apiUrl: string, query: string, variables: Record<string, unknown>) => {
    const response = await fetch(`${apiUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return (await response.json()) as TimelineAnswer;
  };
  const timelineOf = async (apiUrl: string, citizenId: string) =>
    (await graphql(apiUrl, 'query ($id: ID!) { citizen(id: $id) { id timeline { eventId type } handovers { id status } } }', { id: citizenId })).data?.citizen;

  it('every service is ready', async () => {
    for (const service of services) {
      const response = await fetch(`${service.url}/readyz`);
      expect({ url: service.url, status: response.status, body: await response.json() }).toMatchObject({ status: 200, body: { status: 'ready' } });
    }
  });

  it('POST /v1/events → store → Kafka → projectors → GraphQL on every replica, in order per citizen, with the request id all the way', async () => {
    const events = Array.from({ length: 30 }, (_, i) => history(`e2e-${run}-${i}`)).flat();
    const citizens = [...new Set(events.map((e) => e.citizenId))];
    const watched = citizens[0]!;
    const watchedEvents = events.filter((e) => e.citizenId === watched);

    // Both replicas subscribe to the watched citizen before anything is stored.
    const subscriptions = apis.map((api) => subscribe(api.url, watched));
    expect(await Promise.all(subscriptions.map((s) => s.opened))).toEqual([200, 200]);
    await new Promise((r) => setTimeout(r, 300)); // the stream listens from its first read

    const requestId = `e2e-http-${run}`;
    const post = (body: unknown) =>
      fetch(`${ingest.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': requestId }, body: JSON.stringify(body) });
    const first = await post({ events });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-request-id')).toBe(requestId);
    expect(await first.json()).toEqual({ appended: events.length, duplicates: 0 });
    const again = await post({ events: events.slice(0, 5) });
    expect(await again.json()).toEqual({ appended: 0, duplicates: 5 });

    // Answered through GraphQL, by both replicas, once the projectors applied everything.
    for (const api of apis) {
      for (const citizenId of citizens) {
        const expected = events.filter((e) => e.citizenId === citizenId).map((e) => e.id);
        await eventually(async () => {
          const citizen = await timelineOf(api.url, citizenId);
          return citizen && citizen.timeline.length === expected.length ? citizen : undefined;
        }, 30_000, `the timeline of ${citizenId}`);
        const citizen = await timelineOf(api.url, citizenId);
        expect(new Set(citizen!.timeline.map((t) => t.eventId))).toEqual(new Set(expected));
      }
    }
    // The two projectors shared the work (the 30 citizens spread over 3 partitions).
    const applied = projectors.map((p) => p.projector.counts.applied);
    expect(applied.every((n) => n > 0)).toBe(true);
    expect(applied.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(events.length);

    // Every replica streamed the watched citizen's events, in stream order.
    for (const subscription of subscriptions) {
      await eventually(() => subscription.received.length >= watchedEvents.length, 20_000, 'the subscription');
      expect(subscription.received.map((e) => e.eventId)).toEqual(watchedEvents.map((e) => e.id));
      subscription.close();
    }

    // An independent consumer reads every event, per citizen in stream order, with the request id.
    const reader = await readTopic(brokers, `${prefix}transitions.events.v1`);
    try {
      await reader.until((m) => m.length >= events.length, 30_000);
      const received = reader.messages.map((m) => ({ key: m.key, partition: m.partition, ...parseTransitionCloudEvent(m.value) }));
      expect(new Set(received.map((r) => r.event.id))).toEqual(new Set(events.map((e) => e.id)));
      for (const citizenId of citizens) {
        const mine = received.filter((r) => r.key === citizenId);
        expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
        expect(mine.map((r) => r.event.id)).toEqual((await store.readStream(citizenId)).map((e) => e.id));
      }
      expect(received.every((r) => r.correlationId === requestId)).toBe(true);
      expect(reader.messages.some((m) => m.value!.toString('utf8').includes('"personal"'))).toBe(false);
    } finally {
      await reader.close();
    }

    // The correlation id in every step's logs: ingestion, relay, projector.
    const withId = lines.filter((l) => l.includes(requestId)).map((l) => JSON.parse(l) as { service: string; msg: string });
    expect(new Set(withId.map((l) => l.service))).toEqual(new Set(['ingest', 'relay', 'projector-a', 'projector-b']));
    expect(withId.some((l) => l.service === 'relay' && l.msg === 'event published')).toBe(true);
  });

  it('a coordinator command on the API is answered once the projectors have applied it (read-your-writes across processes)', async () => {
    const citizenId = `e2e-cmd-${run}`;
    const answer = await graphql(
      apis[1]!.url,
      `mutation ($c: ID!) { openCase(citizenId: $c, input: { caseId: "k-1", unitId: "0751-ungeenhed" }, occurredAt: "2025-03-01T10:00:00+01:00") {
         citizen { id timeline { eventId type } } } }`,
      { c: citizenId },
    );
    expect(answer.errors).toBeUndefined();
    const citizen = (answer.data as unknown as { openCase: { citizen: { timeline: { type: string }[] } } }).openCase.citizen;
    expect(citizen.timeline.map((t) => t.type)).toEqual(['CaseOpened']);
  });

  it('the whole schema on PostgreSQL: gaps, deadlines, personal data and one access log across replicas; erasure on one replica holds on the other', async () => {
    const events = history(`e2e-schema-${run}`);
    const citizenId = events[0]!.citizenId;
    const posted = await fetch(`${ingest.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
    expect(posted.status).toBe(200);
    // Stored encrypted: the name is nowhere in the event store's rows.
    const registered = (await store.readStream(citizenId)).find((e) => e.type === 'CitizenRegistered')!;
    expect(JSON.stringify(registered)).not.toContain('Testesen');

    const [one, two] = [apis[0]!.url, apis[1]!.url];
    await eventually(async () => ((await timelineOf(two, citizenId))?.timeline.length === events.length ? true : undefined), 30_000, 'the projection');
    const answer = await graphql(
      one,
      `query ($id: ID!) { citizen(id: $id, asOf: "2024-05-01T00:00:00+02:00") {
         gaps { kind open } relatives { id } anomalies { kind } deadlines { policy status } personalData { name erased } } }`,
      { id: citizenId },
    );
    expect(answer.errors).toBeUndefined();
    const citizen = (answer.data as unknown as { citizen: { gaps: unknown[]; deadlines: { policy: string }[]; personalData: { name: string; erased: boolean } } }).citizen;
    expect(citizen.personalData).toEqual({ name: 'Test Testesen', erased: false });
    expect(Array.isArray(citizen.gaps) && Array.isArray(citizen.deadlines)).toBe(true);
    const kommune = await graphql(
      one,
      `{ gaps(first: 5) { totalCount } deadlines(first: 5) { totalCount } deadlinePolicies { id }
         flows(from: "2024-04-01T00:00:00+02:00", to: "2024-05-01T00:00:00+02:00") { fromUnitId toUnitId count accepted } }`,
      {},
    );
    expect(kommune.errors).toBeUndefined();
    const flows = (kommune.data as unknown as { flows: { fromUnitId: string; toUnitId: string; count: number; accepted: number }[] }).flows;
    expect(flows).toContainEqual({ fromUnitId: '0751-ungeenhed', toUnitId: '0751-jobcenter', count: expect.any(Number), accepted: expect.any(Number) });
    // The XES export, streamed from one PostgreSQL snapshot, holds the citizen's trace (pseudonymous: no name).
    const xes = await fetch(`${two}/v1/exports/xes?from=2024-01-01T00:00:00%2B01:00&to=2024-06-01T00:00:00%2B02:00&unitId=0751-jobcenter`);
    expect(xes.status).toBe(200);
    const document = await xes.text();
    expect(document).toContain(citizenId);
    expect(document).not.toContain('Testesen');

    // Both replicas write one access log: the lookups made on either are listed together, in order.
    await graphql(two, 'query ($id: ID!) { citizen(id: $id) { id } }', { id: citizenId });
    const lookups = await graphql(two, 'query ($id: ID!) { accessLog(citizenId: $id) { operation } }', { id: citizenId });
    const operations = (lookups.data as unknown as { accessLog: { operation: string }[] }).accessLog.map((l) => l.operation);
    expect(operations).toEqual(expect.arrayContaining(['query.personalData', 'query.citizen', 'export.data']));
    expect(operations.length).toBeGreaterThanOrEqual(4); // waits for the projection included

    // Erased through one replica: unreadable through the other at once (no key cached anywhere).
    const erased = await graphql(one, 'mutation ($id: ID!) { erasePersonalData(citizenId: $id) { erased } }', { id: citizenId });
    expect(erased.errors).toBeUndefined();
    const after = await graphql(two, 'query ($id: ID!) { citizen(id: $id) { personalData { name erased } } }', { id: citizenId });
    expect((after.data as unknown as { citizen: { personalData: unknown } }).citizen.personalData).toEqual({ name: null, erased: true });
  });

  it('alerts reach transitions.alerts.v1: a pending handover\'s gap opening, as a CloudEvent keyed by citizen, once', async () => {
    const reader = await readTopic(brokers, `${prefix}transitions.alerts.v1`);
    try {
      const events = history(`e2e-alerts-${run}`);
      const citizenId = events[0]!.citizenId;
      const posted = await fetch(`${ingest.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
      expect(posted.status).toBe(200);
      // The handover of 2 April is pending at the scheduler's now (5 April): its gap opened 3 days ago.
      await reader.until((m) => m.some((x) => x.key === citizenId), 30_000);
      const mine = reader.messages.filter((m) => m.key === citizenId).map((m) => JSON.parse(m.value!.toString('utf8')) as { id: string; type: string; subject: string; data: { gapKind?: string; change: string } });
      expect(mine).toContainEqual(
        expect.objectContaining({ type: 'dk.kommune.transitions.GapAlert.v1', subject: citizenId, data: expect.objectContaining({ gapKind: 'HANDOVER_PENDING', change: 'OPENED' }) }),
      );
      expect(new Set(mine.map((m) => m.id)).size).toBe(mine.length);
      expect(reader.messages.some((m) => m.value!.toString('utf8').includes('Testesen'))).toBe(false);
    } finally {
      await reader.close();
    }
  });

  it('a bad message on transitions.ingest.v1 lands on the DLQ with its reasons; the consumer goes on with the next', async () => {
    const producer = testClient(brokers).producer();
    await producer.connect();
    const dlq = await readTopic(brokers, `${prefix}transitions.ingest.dlq.v1`);
    try {
      const good = history(`e2e-kafka-${run}`);
      const citizenId = good[0]!.citizenId;
      const invalid = JSON.stringify({
        events: [{ id: randomUUID(), type: 'CaseOpened', citizenId: '010203-1234', occurredAt: '2025-03-01T10:00:00+01:00', data: { caseId: 'k', unitId: 'no-such-unit' } }],
      });
      await producer.send({
        topic: `${prefix}transitions.ingest.v1`,
        messages: [
          { key: 'bad-1', value: invalid, headers: { correlationid: `e2e-bad-${run}` } },
          { key: 'bad-2', value: 'this is not JSON' },
          { key: citizenId, value: JSON.stringify({ events: good }), headers: { 'x-request-id': `e2e-kafka-${run}` } },
        ],
      });

      await dlq.until((m) => m.length >= 2, 30_000);
      const [first, second] = [dlq.messages.find((m) => m.key === 'bad-1')!, dlq.messages.find((m) => m.key === 'bad-2')!];
      expect(first.value!.toString('utf8')).toBe(invalid); // the original bytes
      expect(first.headers).toMatchObject({
        'dlq-reason': 'invalid events',
        'dlq-source-topic': `${prefix}transitions.ingest.v1`,
        'dlq-consumer-group': `${prefix}tracker-ingest`,
        correlationid: `e2e-bad-${run}`,
      });
      const errors = JSON.parse(first.headers['dlq-errors']!) as { index: number; field: string; message: string }[];
      expect(errors.map((e) => e.field)).toContain('citizenId');
      expect(errors.every((e) => e.index === 0)).toBe(true);
      expect(first.headers['dlq-errors']).not.toContain('010203-1234'); // reasons, never values
      expect(second.value!.toString('utf8')).toBe('this is not JSON');
      expect(second.headers['dlq-reason']).toBe('invalid request');
      expect(JSON.parse(second.headers['dlq-errors']!)).toEqual([{ index: null, field: '(body)', message: 'request body is not valid JSON' }]);

      // The consumer went on: the good message after the bad ones was stored and projected.
      const citizen = await eventually(async () => {
        const c = await timelineOf(apis[0]!.url, citizenId);
        return c && c.timeline.length === good.length ? c : undefined;
      }, 30_000, 'the good message after the bad ones');
      expect(citizen.timeline.map((t) => t.eventId).sort()).toEqual(good.map((e) => e.id).sort());
      expect(lines.some((l) => l.includes(`e2e-kafka-${run}`) && l.includes('"service":"projector'))).toBe(true);
    } finally {
      await dlq.close();
      await producer.disconnect();
    }
  });
});

