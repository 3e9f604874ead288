/**
 * The Kafka side door of ingestion: `transitions.ingest.v1` carries exactly what `POST /v1/events`
 * takes — one message is one request body `{"events": [ <envelope>, … ]}`, all-or-nothing, a repeated
 * event id is a duplicate, not an error. The message is handed to the same ingestion code as an HTTP
 * request (the submitter; see httpIngestionSubmitter.ts), so the rules are the plugin's own, not a copy.
 *
 * Per message, in partition order:
 * - stored (or all duplicates): done;
 * - refused (what HTTP answers 400): the original bytes go to `transitions.ingest.dlq.v1`, same key,
 *   original headers kept, the reasons added as headers (dlq.ts) — then the consumer goes on;
 * - anything else (the database is down …): the submitter throws, the message is not done, and kafkajs
 *   retries it (and restarts the consumer if it keeps failing). Refusing it would lose good facts.
 * Offsets are committed only for messages that are done: after the append, or after the DLQ acked.
 * So a crash repeats at most the messages since the last commit, and repeating one is harmless
 * (idempotent by event id). Keys are the producer's choice; keying by citizenId keeps a citizen's
 * messages in order, which ingestion does not need (read models are order-independent) but logs like.
 */
import type { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { CORRELATION_ID } from '../postgres/correlations.ts';
import { ConsumerHealth } from '../kafka/clientHealth.ts';
import { dlqMessageOf, type IngestRefusal } from './dlq.ts';

export type IngestOutcome = { status: 'stored'; appended: number; duplicates: number } | ({ status: 'refused' } & IngestRefusal);

/** Hands one request body to ingestion; throws when ingestion failed for reasons other than the input. */
export type IngestSubmitter = (body: Buffer, correlationId: string) => Promise<IngestOutcome>;

export interface IngestConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  dlqTopic: string;
  /** Connected; sends refused messages to the DLQ. */
  producer: Producer;
  submit: IngestSubmitter;
  logger: Logger;
  /** Partitions worked on at once by this instance; default 3. */
  partitionsConsumedConcurrently?: number;
}

/** The message's correlation id (header `correlationid` or `x-request-id`), else one naming the message. */
export function correlationIdOf(message: KafkaMessage, partition: number): string {
  for (const name of ['correlationid', 'x-request-id']) {
    const value = message.headers?.[name];
    const text = Buffer.isBuffer(value) ? value.toString('utf8') : typeof value === 'string' ? value : undefined;
    if (text !== undefined && CORRELATION_ID.test(text)) return text;
  }
  return `kafka-${partition}-${message.offset}`;
}

export class IngestConsumer {
  readonly #options: IngestConsumerOptions;
  readonly #consumer: Consumer;
  readonly health: ConsumerHealth;
  #stored = 0;
  #refused = 0;

  constructor(options: IngestConsumerOptions) {
    this.#options = options;
    this.#consumer = options.kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false });
    this.health = new ConsumerHealth(this.#consumer);
  }

  /** Messages stored and refused since start. */
  get counts(): { stored: number; refused: number } {
    return { stored: this.#stored, refused: this.#refused };
  }

  /** Joins the group and starts consuming (a new group starts at the oldest message kept). */
  async start(): Promise<void> {
    const { topic, partitionsConsumedConcurrently = 3 } = this.#options;
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [topic], fromBeginning: true });
    await this.#consumer.run({
      partitionsConsumedConcurrently,
      // kafkajs resolves a message's offset only when eachMessage returned, and commits resolved offsets.
      autoCommit: true,
      eachMessage: async ({ partition, message }) => this.#handle(partition, message),
    });
  }

  async #handle(partition: number, message: KafkaMessage): Promise<void> {
    const { submit, producer, dlqTopic, topic, groupId, logger } = this.#options;
    const correlationId = correlationIdOf(message, partition);
    const log = logger.child({ correlationId, partition, offset: message.offset });
    const outcome = await submit(message.value ?? Buffer.alloc(0), correlationId);
    if (outcome.status === 'stored') {
      this.#stored++;
      log.info({ appended: outcome.appended, duplicates: outcome.duplicates }, 'ingest message stored');
      return;
    }
    await producer.send({
      topic: dlqTopic,
      acks: -1,
      messages: [dlqMessageOf(message, outcome, { topic, partition, groupId, correlationId, failedAt: new Date() })],
    });
    this.#refused++;
    log.warn({ reason: outcome.error, problems: outcome.errors.length }, 'ingest message refused; sent to the dead-letter topic');
  }

  async stop(): Promise<void> {
    await this.#consumer.disconnect();
  }
}
