/**
 * The relay on the real PostgreSQL event store and the real Kafka broker (DATABASE_URL, KAFKA_BROKERS;
 * skipped with the reason otherwise): every stored event reaches `transitions.events.v1` as a CloudEvent
 * keyed by citizen in stream order; a crash between Kafka's ack and the checkpoint loses nothing and
 * repeats only what was unconfirmed, under the same ids; one relay at a time holds the lease.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { DEMO_UNITS_FILE, loadUnitsFile, type TransitionEvent } from '@tracker/domain';
import { PostgresEventStore } from '@tracker/event-store';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { generateEvents } from '@tracker/generator';
import { createLogger } from '@tracker/platform';
import { parseTransitionCloudEvent } from '../cloudEvents/transitionCloudEvent.ts';
import { createKafka, createOrderedProducer, ensureTopics, withAdmin } from '../kafka/kafkaClient.ts';
import { CorrelationLog } from '../postgres/correlations.ts';
import { ensureMessagingTables } from '../postgres/messagingTables.ts';
import { PostgresRelayLeases } from '../postgres/relayLease.ts';
import { deleteTopics, eventually, freshTopicPrefix, readTopic, testKafka, type ReceivedMessage, NO_BROKERS } from '../testing/kafkaTest.ts';
import { topicNames, topicSpecs } from '../topics.ts';
import { EventRelay } from './eventRelay.ts';

const database = await testDatabase();
const broker = testKafka();
const skipped = database.skipped ?? broker.skipped;
if (skipped !== undefined) reportSkipped('EventRelay tests', skipped);

const units = loadUnitsFile(DEMO_UNITS_FILE);
const logger = createLogger({ level: 'silent' });
const SOURCE = 'urn:test:tracker';

function history(citizens: number, idPrefix: string, seed = 7): TransitionEvent[] {
  return [...generateEvents({ seed, citizens, units, now: new Date('2025-06-01T00:00:00Z'), idPrefix, nameShare: 1 })];
}

/** The messages of one topic read back: per key in partition order. */
function byKey(messages: ReceivedMessage[]): Map<string, ReceivedMessage[]> {
  const out = new Map<string, ReceivedMessage[]>();
  for (const m of [...messages].sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)))) {
    const list = out.get(m.key!) ?? [];
    list.push(m);
    out.set(m.key!, list);
  }
  return out;
}

const idOf = (m: ReceivedMessage) => parseTransitionCloudEvent(m.value).event.id;

(skipped === undefined ? describe : describe.skip)(`EventRelay${skipped ? ` (${skipped})` : ''}`, () => {
  const url = database.url!;
  const brokers = broker.brokers ?? NO_BROKERS;
  const prefix = freshTopicPrefix();
  const schemas: string[] = [];
  const pool = new pg.Pool({ connectionString: url, max: 6 });
  pool.on('error', () => {});
  const kafka = createKafka({ brokers, clientId: 'relay-test', logger });
  let producer: Producer;

  beforeAll(async () => {
    producer = createOrderedProducer(kafka);
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    for (const s of schemas) await dropSchema(url, s);
    await pool.end();
    await deleteTopics(brokers, prefix);
    if (database.skipped === undefined) await database.stop();
  });

  async function setUp(name: string) {
    const schema = freshSchemaName();
    schemas.push(schema);
    const store = await PostgresEventStore.open({ connectionString: url, schema, pollIntervalMs: 100 });
    await ensureMessagingTables(pool, schema);
    const topics = topicNames(`${prefix}${name}.`);
    await withAdmin(kafka, (admin) => ensureTopics(admin, topicSpecs(topics, { partitions: 3 })));
    const leases = new PostgresRelayLeases(pool, schema, 'events');
    const relay = (options: { producer?: Producer; batchSize?: number } = {}) =>
      new EventRelay({ store, producer: options.producer ?? producer, topic: topics.events, leases, source: SOURCE, logger, batchSize: options.batchSize ?? 100, retryDelayMs: 100 });
    return { schema, store, topics, leases, relay };
  }

  it('publishes every stored event as a CloudEvent, key = citizenId, in stream order per citizen, without personal data', async () => {
    const { schema, store, topics, leases, relay: makeRelay } = await setUp('order');
    const before = history(25, 'order');
    const correlations = new CorrelationLog(pool, schema);
    await correlations.record(before.slice(0, 10).map((e) => e.id), 'req-early');
    for (let i = 0; i < before.length; i += 200) await store.appendBatch(before.slice(i, i + 200));

    const relay = makeRelay();
    relay.start();
    await relay.caughtUp();
    // Live: appended while the relay runs, one citizen's stream spread over several appends.
    const live = history(5, 'live', 8);
    for (const event of live) await store.appendToStream(event.citizenId, [event]);

    const total = before.length + live.length;
    const reader = await readTopic(brokers, topics.events);
    try {
      await reader.until((m) => m.length >= total);
      await eventually(async () => (await leases.checkpoint()) === (await store.headPosition()), 10_000, 'checkpoint at the head');
      expect(reader.messages).toHaveLength(total);

      const keys = byKey(reader.messages);
      const citizens = new Set([...before, ...live].map((e) => e.citizenId));
      expect(new Set(keys.keys())).toEqual(citizens);
      for (const [citizenId, messages] of keys) {
        expect(new Set(messages.map((m) => m.partition)).size).toBe(1);
        const stream = await store.readStream(citizenId);
        expect(messages.map(idOf)).toEqual(stream.map((e) => e.id));
        for (const m of messages) {
          const ce = JSON.parse(m.value!.toString('utf8'));
          expect(m.headers['content-type']).toBe('application/cloudevents+json; charset=UTF-8');
          expect(ce).toMatchObject({ specversion: '1.0', source: SOURCE, subject: citizenId, partitionkey: citizenId, datacontenttype: 'application/json' });
          expect(ce.type).toMatch(/^dk\.kommune\.transitions\.[A-Za-z]+\.v1$/);
          if (ce.type === 'dk.kommune.transitions.CitizenRegistered.v1') expect(ce.data).not.toHaveProperty('personal');
        }
        const received = messages.map((m) => parseTransitionCloudEvent(m.value).event);
        expect(received.map((e) => e.streamVersion)).toEqual(stream.map((e) => e.streamVersion));
        expect(received.map((e) => e.globalPosition)).toEqual(stream.map((e) => e.globalPosition));
      }
      // Every CitizenRegistered in the store has a name (nameShare 1); none travelled.
      expect(reader.messages.map((m) => m.value!.toString('utf8')).join('\n')).not.toContain('"personal"');
      // The correlation ids known at publishing travel with their events, and are then forgotten.
      const early = reader.messages.filter((m) => parseTransitionCloudEvent(m.value).correlationId === 'req-early').map(idOf);
      expect(new Set(early)).toEqual(new Set(before.slice(0, 10).map((e) => e.id)));
      expect(await correlations.lookup(before.slice(0, 10).map((e) => e.id))).toEqual(new Map());
    } finally {
      await reader.close();
      await relay.stop();
      await store.close();
    }
  });

  it('after a crash between Kafka\'s ack and the checkpoint, resumes from the checkpoint: nothing lost, the repeats carry the same ids', async () => {
    const { store, topics, leases, relay: makeRelay } = await setUp('crash');
    const events = history(20, 'crash', 11);
    await store.appendBatch(events);

    // The "process" dies right after its third batch was acked, before it could write the checkpoint.
    let sends = 0;
    const crashing = new Proxy(producer, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (record: Parameters<Producer['send']>[0]) => {
          const result = await target.send(record);
          if (++sends === 3) throw new Error('simulated crash after the ack');
          return result;
        };
      },
    });
    const first = makeRelay({ producer: crashing, batchSize: 40 });
    first.start();
    await eventually(() => first.state === 'retrying', 10_000, 'the first relay failing');
    await first.stop();
    expect(await leases.checkpoint()).toBe(80); // two batches confirmed; the third was sent, not confirmed

    const second = makeRelay({ batchSize: 40 });
    second.start();
    await second.caughtUp();
    await second.stop();
    expect(await leases.checkpoint()).toBe(await store.headPosition());

    const reader = await readTopic(brokers, topics.events);
    try {
      await reader.until((m) => m.length >= events.length + 40);
      const ids = reader.messages.map(idOf);
      expect(new Set(ids)).toEqual(new Set(events.map((e) => e.id)));
      // The repeats are exactly the unconfirmed third batch (positions 81–120), sent again under the same ids.
      const counts = new Map<string, number>();
      for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
      const stored = await store.readAll();
      const repeated = stored.filter((e) => counts.get(e.id) === 2).map((e) => e.globalPosition);
      expect(repeated).toEqual(Array.from({ length: 40 }, (_, i) => 81 + i));
      expect([...counts.values()].every((n) => n <= 2)).toBe(true);
      // Per citizen, the first time each event is seen is stream order.
      for (const [citizenId, messages] of byKey(reader.messages)) {
        const firstSeen = [...new Set(messages.map(idOf))];
        expect(firstSeen).toEqual((await store.readStream(citizenId)).map((e) => e.id));
      }
    } finally {
      await reader.close();
      await store.close();
    }
  });

  it('runs one relay at a time: a standby takes over when the active one loses its lease, and nothing is lost', async () => {
    const { store, topics, relay: makeRelay } = await setUp('lease');
    const a = makeRelay();
    const b = makeRelay();
    a.start();
    await a.caughtUp();
    b.start();
    await eventually(() => b.state === 'standby', 10_000, 'b standing by');
    expect(a.state).toBe('relaying');

    const firstPart = history(6, 'lease-1', 21);
    await store.appendBatch(firstPart);
    await eventually(() => a.position === firstPart.length, 10_000, 'a publishing');

    // The active relay's database session ends (a network cut): its lock goes with it.
    await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND granted AND pid <> pg_backend_pid()
         AND objid = (hashtext($2)::bigint & 4294967295)`,
      [0x524c, `${store.schema}:events`],
    );
    await eventually(() => b.state === 'relaying', 15_000, 'b taking over');
    const secondPart = history(6, 'lease-2', 22);
    await store.appendBatch(secondPart);

    const reader = await readTopic(brokers, topics.events);
    try {
      const all = [...firstPart, ...secondPart];
      await reader.until((m) => new Set(m.map(idOf)).size === all.length);
      expect(new Set(reader.messages.map(idOf))).toEqual(new Set(all.map((e) => e.id)));
      expect(a.state === 'standby' || a.state === 'retrying').toBe(true);
    } finally {
      await reader.close();
      await Promise.all([a.stop(), b.stop()]);
      await store.close();
    }
  });
});
