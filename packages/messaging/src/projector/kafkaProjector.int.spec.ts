/**
 * The projector consumer group on the real Kafka broker and PostgreSQL (KAFKA_BROKERS, DATABASE_URL;
 * skipped with the reason otherwise). Two instances share the partitions; relay duplicates, repeated
 * out of order, change nothing; the read models come out row for row equal to the ones the embedded
 * projector builds from the store. A configuration change rebuilds them from the topic's beginning.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { DEMO_UNITS_FILE, loadUnitsFile, parseUnitsFile, type TransitionEvent, type UnitDirectory } from '@tracker/domain';
import { PostgresEventStore } from '@tracker/event-store';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { generateEvents } from '@tracker/generator';
import { createLogger } from '@tracker/platform';
import { PostgresReadModel, Projector } from '@tracker/read-models';
import { CLOUDEVENTS_CONTENT_TYPE, toCloudEvent } from '../cloudEvents/transitionCloudEvent.ts';
import { createKafka, createOrderedProducer, ensureTopics, withAdmin } from '../kafka/kafkaClient.ts';
import { ensureMessagingTables } from '../postgres/messagingTables.ts';
import { PostgresRelayLeases } from '../postgres/relayLease.ts';
import { EventRelay } from '../relay/eventRelay.ts';
import { deleteTopics, eventually, freshTopicPrefix, testKafka, NO_BROKERS } from '../testing/kafkaTest.ts';
import { topicNames, topicSpecs } from '../topics.ts';
import { KafkaProjector } from './kafkaProjector.ts';
import { trackerReadModelOptions } from './readModelSetup.ts';

const database = await testDatabase();
const broker = testKafka();
const skipped = database.skipped ?? broker.skipped;
if (skipped !== undefined) reportSkipped('KafkaProjector tests', skipped);

const logger = createLogger({ level: 'silent' });
const units = loadUnitsFile(DEMO_UNITS_FILE);

/** Every read-model table of a schema, each as its rows in a fixed order (meta, with checkpoints, aside). */
async function contents(pool: pg.Pool, schema: string): Promise<Record<string, unknown[]>> {
  const { rows: tables } = await pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name <> 'meta' ORDER BY table_name`,
    [schema],
  );
  const out: Record<string, unknown[]> = {};
  for (const { table_name } of tables) {
    const { rows } = await pool.query(`SELECT * FROM "${schema}"."${table_name}"`);
    out[table_name] = rows.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

(skipped === undefined ? describe : describe.skip)(`KafkaProjector${skipped ? ` (${skipped})` : ''}`, () => {
  const url = database.url!;
  const brokers = broker.brokers ?? NO_BROKERS;
  const prefix = freshTopicPrefix();
  const topics = topicNames(prefix);
  const storeSchema = freshSchemaName();
  const kafkaSchema = freshSchemaName();
  const schemas = [storeSchema, kafkaSchema];
  const pool = new pg.Pool({ connectionString: url, max: 12 });
  pool.on('error', () => {});
  const kafka = createKafka({ brokers, clientId: 'projector-test', logger });
  let store: PostgresEventStore;
  let producer: Producer;
  let relay: EventRelay;
  let events: TransitionEvent[];

  /** The read models the embedded projector builds from the store, in a schema of their own. */
  async function reference(directory: UnitDirectory): Promise<Record<string, unknown[]>> {
    const schema = freshSchemaName();
    schemas.push(schema);
    const model = await PostgresReadModel.open({ pool, schema, ...trackerReadModelOptions(directory) });
    const projector = new Projector({ store, target: model });
    await projector.start();
    await projector.stop();
    await model.close();
    return contents(pool, schema);
  }

  const projectorOn = (directory: UnitDirectory) =>
    new KafkaProjector({ kafka, topic: topics.events, groupPrefix: `${prefix}projector`, pool, schema: kafkaSchema, readModel: trackerReadModelOptions(directory), logger, batchSize: 50 });

  beforeAll(async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, topicSpecs(topics, { partitions: 3 })));
    store = await PostgresEventStore.open({ connectionString: url, schema: storeSchema, pollIntervalMs: 100 });
    await ensureMessagingTables(pool, storeSchema);
    events = [...generateEvents({ seed: 3, citizens: 40, units, now: new Date('2025-06-01T00:00:00Z'), idPrefix: 'proj', nameShare: 0.5, anomalyRate: 0.2 })];
    for (let i = 0; i < events.length; i += 150) await store.appendBatch(events.slice(i, i + 150));
    producer = createOrderedProducer(kafka);
    await producer.connect();
  }, 60_000);

  afterAll(async () => {
    await relay?.stop();
    await producer?.disconnect();
    await store?.close();
    for (const s of schemas) await dropSchema(url, s);
    await pool.end();
    await deleteTopics(brokers, prefix);
    if (database.skipped === undefined) await database.stop();
  });

  it('two instances share the partitions and, duplicates and all, build exactly what the embedded projector builds', async () => {
    const expected = await reference(units);
    const a = projectorOn(units);
    const b = projectorOn(units);
    await a.start();
    await b.start();
    await Promise.all([a.joined(), b.joined()]); // both in the group before anything is published
    relay = new EventRelay({ store, producer, topic: topics.events, leases: new PostgresRelayLeases(pool, storeSchema, 'events'), source: 'urn:test', logger, batchSize: 200 });
    relay.start();
    await relay.caughtUp();
    // Duplicates, as a relay that crashed after Kafka's ack repeats them: later, so out of order.
    const repeated = (await store.readAll({ maxCount: 120 })).map((e) => ({
      key: e.citizenId,
      value: JSON.stringify(toCloudEvent(e, { source: 'urn:test' })),
      headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE },
    }));
    await producer.send({ topic: topics.events, messages: repeated });
    try {
      expect(a.groupId).toBe(`${prefix}projector.g1`);
      expect(b.groupId).toBe(a.groupId);
      await eventually(async () => a.counts.applied + b.counts.applied >= events.length + 120, 30_000, 'every message applied');
      await eventually(async () => JSON.stringify(await contents(pool, kafkaSchema)) === JSON.stringify(expected), 10_000, 'equal read models');
      expect(await contents(pool, kafkaSchema)).toEqual(expected);
      expect(a.counts.applied).toBeGreaterThan(0);
      expect(b.counts.applied).toBeGreaterThan(0);
      expect(a.counts.skipped + b.counts.skipped).toBe(0);
      // One checkpoint per partition, each the last global position applied from it.
      const { rows } = await pool.query(`SELECT key FROM "${kafkaSchema}".meta WHERE key LIKE 'kafka:%' ORDER BY key`);
      expect(rows.map((r) => r.key)).toEqual([0, 1, 2].map((p) => `kafka:${topics.events}:${p}`));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('after a configuration change, the first instance rebuilds the read models from the beginning of the topic (next generation)', async () => {
    const renamed = parseUnitsFile(
      JSON.stringify({ units: units.units.map((u) => (u.id === '0751-jobcenter' ? { ...u, name: 'Jobcenter Aarhus' } : u)) }),
      'renamed-units.json',
    );
    const expected = await reference(renamed);
    const projector = projectorOn(renamed);
    await projector.start();
    try {
      expect(projector.groupId).toBe(`${prefix}projector.g2`);
      await eventually(async () => JSON.stringify(await contents(pool, kafkaSchema)) === JSON.stringify(expected), 30_000, 'the rebuilt read models');
      expect(await contents(pool, kafkaSchema)).toEqual(expected);
      // A restart with the same configuration stays in its generation.
      await projector.stop();
      const again = projectorOn(renamed);
      await again.start();
      expect(again.groupId).toBe(`${prefix}projector.g2`);
      await again.stop();
    } finally {
      await projector.stop();
    }
  });
});
