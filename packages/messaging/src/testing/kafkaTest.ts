/**
 * The Kafka broker a test uses, by the harness rule: KAFKA_BROKERS when set; otherwise none, with the
 * reason to print when the tests are skipped (no testcontainers here: the local broker script
 * infra/kafka/kafka.sh is the way to get one without Docker). Every test file works in topics of its
 * own (a unique prefix), deleted at the end, so reruns never see old messages.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type IHeaders, type KafkaMessage } from 'kafkajs';

export type TestKafka = { brokers: string[]; skipped?: undefined } | { brokers?: undefined; skipped: string };

const NO_KAFKA = 'no Kafka broker: set KAFKA_BROKERS (infra/kafka/kafka.sh start prints it)';

export function testKafka(): TestKafka {
  const brokers = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  return brokers.length > 0 ? { brokers } : { skipped: NO_KAFKA };
}

/**
 * What a skipped suite's body gets instead of brokers: vitest still runs the body of a skipped
 * `describe` to collect its tests, so clients may be constructed there, but never connect.
 */
export const NO_BROKERS: string[] = ['127.0.0.1:9'];

/** A topic prefix unique to this run: `t-<12 hex>.`. */
export const freshTopicPrefix = (): string => `t-${randomBytes(6).toString('hex')}.`;

/** A quiet client for the test's own producing, consuming and cleaning up. */
export const testClient = (brokers: string[]): Kafka => new Kafka({ clientId: 'tracker-test', brokers, logLevel: logLevel.NOTHING });

/** Deletes every topic whose name starts with the prefix (only test prefixes `t-<hex>.`). */
export async function deleteTopics(brokers: string[], prefix: string): Promise<void> {
  if (!/^t-[0-9a-f]+\.$/.test(prefix)) throw new Error('only test topics (t-<hex>.) are deleted');
  const admin = testClient(brokers).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

export interface ReceivedMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

const headerText = (headers: IHeaders | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v.map(String).join(',') : String(v ?? '')]));

const toReceived = (partition: number, m: KafkaMessage): ReceivedMessage => ({
  partition,
  offset: m.offset,
  key: m.key?.toString('utf8') ?? null,
  value: m.value,
  headers: headerText(m.headers),
});

/**
 * An independent consumer (its own group, from the beginning) that keeps everything it reads; `until`
 * resolves once the condition holds for what was read, or rejects after the timeout.
 */
export async function readTopic(brokers: string[], topic: string) {
  const consumer = testClient(brokers).consumer({ groupId: `reader-${randomBytes(6).toString('hex')}` });
  const messages: ReceivedMessage[] = [];
  const listeners = new Set<() => void>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      messages.push(toReceived(partition, message));
      for (const listener of listeners) listener();
    },
  });
  return {
    messages,
    until(condition: (messages: ReceivedMessage[]) => boolean, timeoutMs = 20_000): Promise<ReceivedMessage[]> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!condition(messages)) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(messages);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`condition on ${topic} not met within ${timeoutMs} ms (${messages.length} messages read)`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    close: () => consumer.disconnect(),
  };
}

/** Waits until the condition holds, checking every 50 ms. */
export async function eventually<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
