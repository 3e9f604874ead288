/**
 * A refused ingest message on `transitions.ingest.dlq.v1`: the original bytes, key and headers, so it
 * can be fixed and sent again as it was; the reasons in headers, so the payload stays untouched:
 *
 * | header                   | value                                                                |
 * |--------------------------|----------------------------------------------------------------------|
 * | `dlq-reason`             | `invalid events` or `invalid request` (as the HTTP 400 answer's `error`) |
 * | `dlq-errors`             | JSON `[{"index", "field", "message"}]`, as the HTTP 400 answer's `errors` |
 * | `dlq-errors-omitted`     | how many errors were left out to keep the header small (only if any) |
 * | `dlq-source-topic`, `dlq-source-partition`, `dlq-source-offset` | where the message was read      |
 * | `dlq-consumer-group`     | the consumer group that refused it                                   |
 * | `dlq-failed-at`          | when (RFC 3339)                                                      |
 * | `correlationid`          | the correlation id it was handled under (also in the ingest logs)    |
 *
 * The errors name the event (index), the field and the expectation, never a value: they come from the
 * same validation as the HTTP answer, which never echoes input (an event may carry a CPR number).
 */
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';

export interface IngestionProblem {
  index: number | null;
  field: string;
  message: string;
}

export interface IngestRefusal {
  error: string;
  errors: IngestionProblem[];
}

/** At most this many errors travel in `dlq-errors` (a request may hold 1000 events). */
export const MAX_DLQ_ERRORS = 100;

export interface DlqContext {
  topic: string;
  partition: number;
  groupId: string;
  correlationId: string;
  failedAt: Date;
}

export function dlqMessageOf(original: KafkaMessage, refusal: IngestRefusal, context: DlqContext): Message {
  const kept = refusal.errors.slice(0, MAX_DLQ_ERRORS);
  const headers: IHeaders = {
    ...(original.headers ?? {}),
    'dlq-reason': refusal.error,
    'dlq-errors': JSON.stringify(kept.map(({ index, field, message }) => ({ index, field, message }))),
    ...(refusal.errors.length > kept.length ? { 'dlq-errors-omitted': String(refusal.errors.length - kept.length) } : {}),
    'dlq-source-topic': context.topic,
    'dlq-source-partition': String(context.partition),
    'dlq-source-offset': original.offset,
    'dlq-consumer-group': context.groupId,
    'dlq-failed-at': context.failedAt.toISOString(),
    correlationid: context.correlationId,
  };
  return { key: original.key, value: original.value, headers };
}
