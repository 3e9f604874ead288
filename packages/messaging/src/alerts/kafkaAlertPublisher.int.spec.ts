/**
 * The alert publisher on the real Kafka broker (KAFKA_BROKERS; skipped with the reason otherwise), fed
 * synthetic alerts as the deadline scheduler and a gap watcher would: keyed by citizen, in order per
 * citizen, and a repeat carries the same ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { createLogger } from '@tracker/platform';
import { createKafka, createOrderedProducer, ensureTopics, withAdmin } from '../kafka/kafkaClient.ts';
import { deleteTopics, freshTopicPrefix, readTopic, testKafka, NO_BROKERS } from '../testing/kafkaTest.ts';
import { topicNames, topicSpecs } from '../topics.ts';
import { alertId, deadlineAlertOf, type TrackerAlert } from './alertPublisher.ts';
import { KafkaAlertPublisher } from './kafkaAlertPublisher.ts';

const broker = testKafka();
if (broker.skipped !== undefined) console.error(`KafkaAlertPublisher tests skipped: ${broker.skipped}`);

function syntheticAlerts(citizenId: string): TrackerAlert[] {
  const base = Date.parse('2025-01-06T08:00:00Z');
  const day = 86_400_000;
  const clock = { citizenId, clockId: 'overdragelse-accept:h-1', policy: 'overdragelse-accept', unitId: '0751-jobcenter' };
  const times = { startedMs: base, dueMs: base + 14 * day, atRiskMs: base + 10 * day, stoppedMs: null };
  return [
    {
      kind: 'gap',
      citizenId,
      gapKind: 'HANDOVER_PENDING',
      gapKey: 'HANDOVER_PENDING:h-1',
      change: 'OPENED',
      fromUnitId: '0751-ungeenhed',
      toUnitId: '0751-jobcenter',
      relativeId: null,
      at: new Date(base).toISOString(),
      detectedAt: new Date(base + 1000).toISOString(),
      startedAt: new Date(base).toISOString(),
      endedAt: null,
      dueAt: new Date(base + 14 * day).toISOString(),
    },
    deadlineAlertOf({ sequence: 1, kind: 'AT_RISK', ...clock, ...times, atMs: base + 10 * day, detectedMs: base + 10 * day }),
    deadlineAlertOf({ sequence: 2, kind: 'BREACHED', ...clock, ...times, atMs: base + 14 * day, detectedMs: base + 14 * day }),
  ];
}

(broker.skipped === undefined ? describe : describe.skip)(`KafkaAlertPublisher${broker.skipped ? ` (${broker.skipped})` : ''}`, () => {
  const brokers = broker.brokers ?? NO_BROKERS;
  const prefix = freshTopicPrefix();
  const topics = topicNames(prefix);
  const kafka = createKafka({ brokers, clientId: 'alerts-test', logger: createLogger({ level: 'silent' }) });
  let producer: Producer;

  beforeAll(async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, topicSpecs(topics, { partitions: 3 })));
    producer = createOrderedProducer(kafka);
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await deleteTopics(brokers, prefix);
  });

  it('publishes deadline and gap alerts as CloudEvents keyed by citizen, in order, with stable ids', async () => {
    const publisher = new KafkaAlertPublisher({ producer, topic: topics.alerts, source: 'urn:test:alerts' });
    const citizens = ['c-a', 'c-b', 'c-c', 'c-d'];
    const alerts = citizens.flatMap(syntheticAlerts);
    await publisher.publish(alerts);
    await publisher.publish(alerts.slice(0, 3)); // published again after a crash: same ids
    await publisher.publish([]);

    const reader = await readTopic(brokers, topics.alerts);
    try {
      await reader.until((m) => m.length >= alerts.length + 3);
      for (const citizenId of citizens) {
        const mine = reader.messages.filter((m) => m.key === citizenId).sort((a, b) => Number(a.offset) - Number(b.offset));
        const events = mine.map((m) => JSON.parse(m.value!.toString('utf8')));
        const expected = alerts.filter((a) => a.citizenId === citizenId);
        const repeats = citizenId === 'c-a' ? expected : [];
        expect(events.map((e) => e.id)).toEqual([...expected, ...repeats].map(alertId));
        expect(events.map((e) => e.type)).toEqual([...expected, ...repeats].map((a) => `dk.kommune.transitions.${a.kind === 'gap' ? 'Gap' : 'Deadline'}Alert.v1`));
        expect(events.every((e) => e.subject === citizenId && e.specversion === '1.0')).toBe(true);
        expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
        expect(mine.every((m) => m.headers['content-type'] === 'application/cloudevents+json; charset=UTF-8')).toBe(true);
      }
    } finally {
      await reader.close();
    }
  });
});
