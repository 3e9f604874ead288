/**
 * One place that makes kafkajs clients the way every tracker process needs them: logs through the
 * process's pino logger, the Java client's partitioner (so a Java or librdkafka integrator keying by
 * citizenId lands on the same partition as we do), and topics created with the settings they need.
 */
import { Kafka, logLevel as KafkaLogLevel, Partitioners, type Admin, type ITopicConfig, type LogEntry, type Producer } from 'kafkajs';
import type { Logger } from 'pino';

export interface KafkaClientOptions {
  brokers: readonly string[];
  clientId: string;
  logger: Logger;
}

const TO_PINO: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

const FROM_PINO: Record<string, KafkaLogLevel> = {
  fatal: KafkaLogLevel.ERROR,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
  trace: KafkaLogLevel.DEBUG,
  silent: KafkaLogLevel.NOTHING,
};

/** A kafkajs client whose log lines go to `logger` (component `kafkajs`), at the logger's level. */
export function createKafka({ brokers, clientId, logger }: KafkaClientOptions): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId,
    brokers: [...brokers],
    logLevel: FROM_PINO[logger.level] ?? KafkaLogLevel.INFO,
    logCreator:
      () =>
      ({ namespace, level, log: { message, timestamp: _timestamp, logger: _logger, ...extra } }: LogEntry) => {
        try {
          log[TO_PINO[level] ?? 'info']({ namespace, ...scalarsOf(extra) }, message);
        } catch {
          // A log line must never break the client.
        }
      },
  });
}

/**
 * Only the scalar fields of a kafkajs log entry (broker, clientId, groupId, error text, retry counts…).
 * Its debug entries also carry request and response payloads — Buffers, and for Produce and Fetch the
 * messages themselves, which hold citizens' facts: those never reach a log.
 */
function scalarsOf(extra: Record<string, unknown>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(extra)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value;
  }
  return out;
}

/**
 * A producer that keeps order per partition even when it retries: idempotent (the broker drops a
 * resent batch it already has), one request in flight per broker, acks from all in-sync replicas.
 */
export function createOrderedProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
}

export interface TopicSpec {
  topic: string;
  /** Default: the broker's `num.partitions`. */
  numPartitions?: number;
  /** Default: the broker's `default.replication.factor`. */
  replicationFactor?: number;
  /** Topic configuration, e.g. `{ 'retention.ms': '-1' }`. */
  config?: Record<string, string>;
}

/**
 * Creates the topics that do not exist yet (existing ones are left exactly as they are: their
 * partitions and settings belong to whoever made them). Safe to call from several processes at once.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return;
  const topics: ITopicConfig[] = missing.map((s) => ({
    topic: s.topic,
    numPartitions: s.numPartitions ?? -1,
    replicationFactor: s.replicationFactor ?? -1,
    configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
  }));
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } catch (error) {
    // Another process created one of them in between: fine, as long as they all exist now.
    const now = new Set(await admin.listTopics());
    if (!missing.every((s) => now.has(s.topic))) throw error;
  }
}

/** Runs `work` with a connected admin client and disconnects it afterwards. */
export async function withAdmin<T>(kafka: Kafka, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}
