/**
 * The live feed of GraphQL subscriptions from the real Kafka broker (KAFKA_BROKERS; skipped with the
 * reason otherwise): every replica gets every event published after it started, none from before,
 * and a relay duplicate once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import type { StoredEvent } from '@tracker/domain';
import { createLogger } from '@tracker/platform';
import { CLOUDEVENTS_CONTENT_TYPE, toCloudEvent } from '../cloudEvents/transitionCloudEvent.ts';
import { createKafka, createOrderedProducer, ensureTopics, withAdmin } from '../kafka/kafkaClient.ts';
import { deleteTopics, eventually, freshTopicPrefix, testKafka, NO_BROKERS } from '../testing/kafkaTest.ts';
import { topicNames, topicSpecs } from '../topics.ts';
import { KafkaLiveEvents } from './kafkaLiveEvents.ts';

const broker = testKafka();
if (broker.skipped !== undefined) console.error(`KafkaLiveEvents tests skipped: ${broker.skipped}`);

let position = 0;
const stored = (citizenId: string): StoredEvent =>
  ({
    id: crypto.randomUUID(),
    type: 'CaseOpened',
    citizenId,
    occurredAt: '2025-03-01T09:00:00+01:00',
    data: { caseId: `k-${++position}`, unitId: '0751-ungeenhed' },
    recordedAt: '2025-03-01T08:00:00.000Z',
    streamVersion: position,
    globalPosition: position,
  }) as StoredEvent;

(broker.skipped === undefined ? describe : describe.skip)(`KafkaLiveEvents${broker.skipped ? ` (${broker.skipped})` : ''}`, () => {
  const brokers = broker.brokers ?? NO_BROKERS;
  const prefix = freshTopicPrefix();
  const topics = topicNames(prefix);
  const logger = createLogger({ level: 'silent' });
  const kafka = createKafka({ brokers, clientId: 'live-test', logger });
  let producer: Producer;
  const publish = (events: StoredEvent[]) =>
    producer.send({
      topic: topics.events,
      messages: events.map((e) => ({ key: e.citizenId, value: JSON.stringify(toCloudEvent(e, { source: 'urn:test' })), headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE } })),
    });

  beforeAll(async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, topicSpecs(topics, { partitions: 3 })));
    producer = createOrderedProducer(kafka);
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await deleteTopics(brokers, prefix);
  });

  it('streams every event stored after start to every replica, each in a group of its own', async () => {
    const before = Array.from({ length: 5 }, (_, i) => stored(`c-${i}`));
    await publish(before);

    const replicas = [0, 1].map(() => new KafkaLiveEvents({ kafka, topic: topics.events, groupPrefix: `${prefix}api-live`, logger }));
    const received: StoredEvent[][] = [[], []];
    await Promise.all(replicas.map((r, i) => r.start((events) => received[i]!.push(...events))));
    try {
      expect(replicas[0]!.groupId).not.toBe(replicas[1]!.groupId);
      expect(replicas.every((r) => r.ready)).toBe(true);

      const after = Array.from({ length: 30 }, (_, i) => stored(`c-${i % 7}`));
      await publish(after);
      await publish(after.slice(0, 4)); // relay duplicates
      for (const list of received) {
        await eventually(() => list.length >= after.length, 15_000, 'the live events');
        await new Promise((r) => setTimeout(r, 300)); // nothing more comes: no history, no duplicates
        expect(new Set(list.map((e) => e.id))).toEqual(new Set(after.map((e) => e.id)));
        expect(list).toHaveLength(after.length);
        for (let c = 0; c < 7; c++) {
          expect(list.filter((e) => e.citizenId === `c-${c}`).map((e) => e.id)).toEqual(after.filter((e) => e.citizenId === `c-${c}`).map((e) => e.id));
        }
      }
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
  });
});
