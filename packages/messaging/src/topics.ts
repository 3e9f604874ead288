/**
 * The Kafka topics of the tracker (design.md, "Public contracts"; documented in docs/asyncapi.yaml).
 * Versioned names: a breaking change of a message gets a new topic (`….v2`), never a changed v1.
 *
 * A deployment may put a prefix in front of every name (`KAFKA_TOPIC_PREFIX`, default none): several
 * tracker installations can share a cluster, and every test run works in topics of its own.
 */
import type { TopicSpec } from './kafka/kafkaClient.ts';

export const TOPICS = {
  /** Every stored event, as a CloudEvents 1.0 JSON message; key = citizenId; in stream order per citizen. */
  events: 'transitions.events.v1',
  /** Facts from case systems: the body of POST /v1/events, one request per message. */
  ingest: 'transitions.ingest.v1',
  /** Ingest messages that were refused: the original bytes, the reasons in headers. */
  ingestDlq: 'transitions.ingest.dlq.v1',
  /** Deadline and gap state changes, as CloudEvents; key = citizenId. */
  alerts: 'transitions.alerts.v1',
} as const;

export type TopicRole = keyof typeof TOPICS;
export type TopicNames = { readonly [R in TopicRole]: string };

/** Kafka's own limit on topic names: 1–249 of [A-Za-z0-9._-]. */
const TOPIC_PREFIX = /^[A-Za-z0-9._-]{0,200}$/;

/** The topic names with the deployment's prefix (e.g. `kommune-0751.` → `kommune-0751.transitions.events.v1`). */
export function topicNames(prefix = ''): TopicNames {
  if (!TOPIC_PREFIX.test(prefix)) throw new TypeError('a topic prefix must be at most 200 of A–Z, a–z, 0–9, ".", "_" or "-"');
  return {
    events: `${prefix}${TOPICS.events}`,
    ingest: `${prefix}${TOPICS.ingest}`,
    ingestDlq: `${prefix}${TOPICS.ingestDlq}`,
    alerts: `${prefix}${TOPICS.alerts}`,
  };
}

export interface TopicSettings {
  /** Partitions of a topic created here; default the broker's `num.partitions`. */
  partitions?: number;
  /** Replicas of a topic created here; default the broker's `default.replication.factor`. */
  replicationFactor?: number;
}

/**
 * How the tracker creates its topics when they are missing. The events topic keeps everything
 * (`retention.ms=-1`): it is the integration log integrators may replay from the start, and what a
 * projector consumer group replays to build the read models from zero. Never compacted (key =
 * citizenId would keep one event per citizen). Its partition count must not change once in use: the
 * partition of a citizen would change, and with it the order guarantee for that citizen.
 * A refused ingest message is kept 30 days on the DLQ for someone to look at it.
 */
export function topicSpecs(names: TopicNames, settings: TopicSettings = {}): TopicSpec[] {
  const base = { numPartitions: settings.partitions, replicationFactor: settings.replicationFactor };
  return [
    { topic: names.events, ...base, config: { 'retention.ms': '-1', 'cleanup.policy': 'delete' } },
    { topic: names.ingest, ...base },
    { topic: names.ingestDlq, ...base, config: { 'retention.ms': String(30 * 24 * 3_600_000) } },
    { topic: names.alerts, ...base },
  ];
}
