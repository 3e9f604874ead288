/**
 * Opening the engines from a service's configuration: the event store (PostgreSQL, or EventStoreDB when
 * EVENTSTORE_URL is set), a PostgreSQL pool, the Kafka client and the topics.
 */
import pg from 'pg';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { EventStoreDbEventStore, PostgresEventStore, type EventStore } from '@tracker/event-store';
import { createKafka, ensureTopics, withAdmin } from '../kafka/kafkaClient.ts';
import { topicNames, topicSpecs, type TopicNames } from '../topics.ts';
import type { ServiceConfig } from './serviceConfig.ts';

export async function openEventStore(config: ServiceConfig): Promise<EventStore> {
  if (config.eventStoreUrl !== undefined) return EventStoreDbEventStore.open({ connectionString: config.eventStoreUrl });
  return PostgresEventStore.open({ connectionString: config.databaseUrl, schema: config.eventStoreSchema });
}

/** A pool whose idle connections may die without taking the process with them. */
export function openPool(config: ServiceConfig, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max, application_name: `tracker-${config.service}` });
  pool.on('error', () => {}); // an idle client's connection died; the pool replaces it
  return pool;
}

export interface KafkaSetup {
  kafka: Kafka;
  topics: TopicNames;
}

/** The Kafka client and the topic names; creates the tracker's topics that are missing. */
export async function openKafka(config: ServiceConfig, logger: Logger): Promise<KafkaSetup> {
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: config.kafka.clientId, logger });
  const topics = topicNames(config.kafka.topicPrefix);
  await withAdmin(kafka, (admin) =>
    ensureTopics(admin, topicSpecs(topics, { partitions: config.kafka.partitions, replicationFactor: config.kafka.replicationFactor })),
  );
  return { kafka, topics };
}

/** A readiness check that the database answers. */
export const databaseAnswers = (pool: pg.Pool) => async () => (await pool.query('SELECT 1 AS ok')).rows.length === 1;
