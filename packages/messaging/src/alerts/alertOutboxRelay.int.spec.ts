/**
 * The alert relay on the real PostgreSQL server and the real Kafka broker (DATABASE_URL,
 * KAFKA_BROKERS; skipped with the reason otherwise), fed by the real pipeline: stored events applied
 * to the PostgreSQL read models, the alert scheduler recording their alerts in its outbox (on a manual
 * clock), the relay publishing the outbox on transitions.alerts.v1 with its offset in PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { DEMO_UNITS_FILE, loadUnitsFile, ManualClock, type EventData, type EventType, type StoredEvent } from '@tracker/domain';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { createLogger } from '@tracker/platform';
import { AlertScheduler, ManualTimers, PostgresAlertStore, PostgresReadModel, type RecordedAlert } from '@tracker/read-models';
import { createKafka, createOrderedProducer, ensureTopics, withAdmin } from '../kafka/kafkaClient.ts';
import { ensureMessagingTables } from '../postgres/messagingTables.ts';
import { PostgresRelayLeases } from '../postgres/relayLease.ts';
import { trackerReadModelOptions } from '../projector/readModelSetup.ts';
import type { RelayLeases } from '../relay/eventRelay.ts';
import { deleteTopics, eventually, freshTopicPrefix, readTopic, testKafka, NO_BROKERS, type ReceivedMessage } from '../testing/kafkaTest.ts';
import { topicNames, topicSpecs } from '../topics.ts';
import { alertId, trackerAlertOf } from './alertPublisher.ts';
import { AlertOutboxRelay } from './alertOutboxRelay.ts';
import { KafkaAlertPublisher } from './kafkaAlertPublisher.ts';

const database = await testDatabase();
const broker = testKafka();
const skipped = database.skipped ?? broker.skipped;
if (skipped !== undefined) reportSkipped('AlertOutboxRelay tests', skipped);

const units = loadUnitsFile(DEMO_UNITS_FILE);
const logger = createLogger({ level: 'silent' });
const SOURCE = 'urn:test:alerts';
const HOUR = 3_600_000;
const RECEPTION = '0751-modtagelse';
const YOUTH = '0751-ungeenhed';
const ADULT = '0751-voksen-handicap';

/** Stored events by hand: positions in the order they are made. */
function storedEvents() {
  let position = 0;
  const versions = new Map<string, number>();
  return <T extends EventType>(citizenId: string, type: T, occurredAt: string, data: EventData<T>): StoredEvent => {
    const streamVersion = (versions.get(citizenId) ?? -1) + 1;
    versions.set(citizenId, streamVersion);
    return { id: randomUUID(), type, citizenId, occurredAt, data, recordedAt: '2025-03-03T08:00:00.000Z', streamVersion, globalPosition: ++position } as StoredEvent;
  };
}

const idOf = (m: ReceivedMessage) => JSON.parse(m.value!.toString('utf8')).id as string;

(skipped === undefined ? describe : describe.skip)(`AlertOutboxRelay${skipped ? ` (${skipped})` : ''}`, () => {
  const url = database.url!;
  const brokers = broker.brokers ?? NO_BROKERS;
  const prefix = freshTopicPrefix();
  const schemas: string[] = [];
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  pool.on('error', () => {});
  const kafka = createKafka({ brokers, clientId: 'alert-relay-test', logger });
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

  /** Read models, scheduler and outbox in a schema of their own (the relay's offset beside them), and a topic. */
  async function setUp(name: string) {
    const schema = freshSchemaName();
    schemas.push(schema);
    const readModel = await PostgresReadModel.open({ pool, schema, ...trackerReadModelOptions(units) });
    await ensureMessagingTables(pool, schema);
    const outbox = await PostgresAlertStore.open({ pool, schema });
    const clock = new ManualClock('2025-03-03T09:00:00+01:00');
    const scheduler = new AlertScheduler({ store: outbox, clock, timers: new ManualTimers(clock) });
    await scheduler.tick(); // the first start
    const topics = topicNames(`${prefix}${name}.`);
    await withAdmin(kafka, (admin) => ensureTopics(admin, topicSpecs(topics, { partitions: 3 })));
    const leases = new PostgresRelayLeases(pool, schema, 'alerts');
    const publisher = new KafkaAlertPublisher({ producer, topic: topics.alerts, source: SOURCE });
    const relay = (options: { leases?: RelayLeases; batchSize?: number; timers?: ManualTimers } = {}) =>
      new AlertOutboxRelay({ outbox, publisher, leases: options.leases ?? leases, logger, batchSize: options.batchSize ?? 4, ...(options.timers ? { timers: options.timers } : {}) });
    const event = storedEvents();
    /** Late facts for some citizens: each brings alerts that are news at once (a breach, a gap opened). */
    const lateFacts = async (citizens: string[]) => {
      await readModel.applyBatch(
        citizens.flatMap((c) => [
          event(c, 'NotificationReceived', '2025-03-01T09:00:00+01:00', { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' }),
          event(c, 'HandoverInitiated', '2025-03-02T10:00:00+01:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
        ]),
      );
      clock.advance(HOUR);
      return scheduler.tick();
    };
    return { schema, readModel, outbox, scheduler, clock, topics, leases, relay, lateFacts };
  }

  it('publishes the outbox in order as CloudEvents keyed by citizen, keeps its offset in PostgreSQL, and after a restart publishes only what is new', async () => {
    const { readModel, outbox, topics, leases, relay, lateFacts } = await setUp('order');
    try {
      const first = await lateFacts(['c-a', 'c-b', 'c-c']);
      expect(first.map((a) => a.about)).toEqual(expect.arrayContaining(['deadline', 'gap']));
      expect(await relay().drain()).toBe(first.length);
      const stream = await outbox.alertsAfter(0, 1_000);
      expect(await leases.checkpoint()).toBe(stream.at(-1)!.sequence);

      const later = await lateFacts(['c-d']);
      const restarted = relay();
      expect(await restarted.drain()).toBe(later.length);
      expect(await restarted.drain()).toBe(0);

      const all: RecordedAlert[] = [...first, ...later];
      const reader = await readTopic(brokers, topics.alerts);
      try {
        await reader.until((m) => m.length >= all.length);
        expect(reader.messages).toHaveLength(all.length);
        for (const citizenId of ['c-a', 'c-b', 'c-c', 'c-d']) {
          const mine = reader.messages.filter((m) => m.key === citizenId).sort((x, y) => Number(BigInt(x.offset) - BigInt(y.offset)));
          expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
          const expected = all.filter((a) => a.citizenId === citizenId).sort((x, y) => x.sequence - y.sequence);
          expect(mine.map(idOf)).toEqual(expected.map((a) => alertId(trackerAlertOf(a))));
          const events = mine.map((m) => JSON.parse(m.value!.toString('utf8')));
          expect(events.map((e) => e.data.sequence)).toEqual(expected.map((a) => a.sequence));
          expect(events.every((e) => e.subject === citizenId && e.source === SOURCE)).toBe(true);
        }
      } finally {
        await reader.close();
      }
    } finally {
      await readModel.close();
    }
  });

  it('publishes a page again under the same ids when the process dies after Kafka acked it but before the offset was stored', async () => {
    const { readModel, topics, leases, relay, lateFacts } = await setUp('crash');
    try {
      const alerts = await lateFacts(['c-a', 'c-b']);
      // The "process" dies right after `publish` resolved for its second page, before the offset moved.
      let advances = 0;
      const dying: RelayLeases = {
        async tryAcquire() {
          const lease = await leases.tryAcquire();
          return lease && { ...lease, advance: async (...args) => (++advances === 2 ? Promise.reject(new Error('simulated crash before the offset')) : lease.advance(...args)) };
        },
      };
      await expect(relay({ leases: dying, batchSize: 2 }).drain()).rejects.toThrow('simulated crash');
      expect(await leases.checkpoint()).toBe(alerts[1]!.sequence); // the first page is confirmed; the second was sent, not confirmed

      expect(await relay({ batchSize: 2 }).drain()).toBe(alerts.length - 2);
      expect(await leases.checkpoint()).toBe(alerts.at(-1)!.sequence);

      const reader = await readTopic(brokers, topics.alerts);
      try {
        await reader.until((m) => m.length >= alerts.length + 2);
        const counts = new Map<string, number>();
        for (const id of reader.messages.map(idOf)) counts.set(id, (counts.get(id) ?? 0) + 1);
        const ids = alerts.map((a) => alertId(trackerAlertOf(a)));
        expect(new Set(counts.keys())).toEqual(new Set(ids));
        // Exactly the unconfirmed page came twice, under the same ids.
        expect(ids.filter((id) => counts.get(id) === 2)).toEqual(ids.slice(2, 4));
      } finally {
        await reader.close();
      }
    } finally {
      await readModel.close();
    }
  });

  it('runs in the background, one relay at a time: the other stands by', async () => {
    const { readModel, leases, relay, lateFacts } = await setUp('lease');
    const clock = new ManualClock('2025-03-03T09:00:00+01:00');
    const timers = new ManualTimers(clock);
    const a = relay({ timers });
    const b = relay({ timers });
    try {
      const first = await lateFacts(['c-a']);
      a.start();
      await eventually(async () => (await leases.checkpoint()) === first.at(-1)!.sequence, 10_000, 'the first alerts relayed');
      b.start();
      await eventually(() => b.state === 'standby', 10_000, 'b standing by');
      expect(a.state).toBe('relaying');

      const later = await lateFacts(['c-b']);
      await timers.advance(1_000); // a looks at the outbox again
      await eventually(async () => (await leases.checkpoint()) === later.at(-1)!.sequence, 10_000, 'the later alerts relayed');
      expect(a.published).toBe(first.length + later.length);
      expect(b.published).toBe(0);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await readModel.close();
    }
  });
});
