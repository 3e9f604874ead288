/**
 * The local broker (infra/kafka/kafka.sh) works with kafkajs, the client the services use: a topic is
 * created, keyed messages are produced, and a consumer group reads every one back in order per key.
 * Needs KAFKA_BROKERS (kafka.sh start prints it); skipped with the reason otherwise.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Kafka, logLevel, type EachMessagePayload } from 'kafkajs';

const brokers = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
const reason = 'no Kafka broker: set KAFKA_BROKERS (infra/kafka/kafka.sh start prints it)';
if (brokers.length === 0) console.error(`skipped: ${reason}`);

(brokers.length > 0 ? describe : describe.skip)(`local Kafka broker${brokers.length ? '' : ` (${reason})`}`, () => {
  it('creates a topic, takes keyed messages and hands them to a consumer group in order per key', async () => {
    const kafka = new Kafka({ clientId: 'infra-smoke', brokers, logLevel: logLevel.NOTHING });
    const topic = `infra-smoke-${randomUUID().slice(0, 8)}`;
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: `${topic}-group` });
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })).toBe(true);
      await producer.connect();
      const sent = Array.from({ length: 30 }, (_, i) => ({ key: `citizen-${i % 4}`, value: JSON.stringify({ n: i }) }));
      await producer.send({ topic, messages: sent });

      const received: { key: string; n: number; partition: number }[] = [];
      let done!: () => void;
      const all = new Promise<void>((resolve) => (done = resolve));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message, partition }: EachMessagePayload) => {
          received.push({ key: message.key!.toString(), n: (JSON.parse(message.value!.toString()) as { n: number }).n, partition });
          if (received.length === sent.length) done();
        },
      });
      await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error('messages did not arrive within 20 s')), 20_000))]);

      expect(received).toHaveLength(sent.length);
      for (let k = 0; k < 4; k++) {
        const ofKey = received.filter((r) => r.key === `citizen-${k}`);
        expect(ofKey.map((r) => r.n)).toEqual(sent.flatMap((m, i) => (m.key === `citizen-${k}` ? [i] : [])));
        expect(new Set(ofKey.map((r) => r.partition)).size).toBe(1); // one key, one partition
      }
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });
});
