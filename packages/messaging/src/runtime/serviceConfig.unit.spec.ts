import { describe, expect, it } from 'vitest';
import { ConfigError } from '@tracker/platform';
import { loadServiceConfig } from './serviceConfig.ts';

const minimal = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tracker', KAFKA_BROKERS: '127.0.0.1:9092' };

function problemsOf(env: NodeJS.ProcessEnv): Record<string, string> {
  try {
    loadServiceConfig('relay', env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return Object.fromEntries((error as ConfigError).problems.map((p) => [p.variable, p.message]));
  }
  throw new Error('expected a ConfigError');
}

describe('distributed service configuration', () => {
  it('gives the defaults for the minimal environment', () => {
    const config = loadServiceConfig('projector', minimal);
    expect(config).toMatchObject({
      service: 'projector',
      port: 4000,
      host: '127.0.0.1',
      unitsFile: undefined,
      databaseUrl: minimal.DATABASE_URL,
      eventStoreSchema: 'public',
      readModelSchema: 'read_models',
      eventStoreUrl: undefined,
      kafka: { brokers: ['127.0.0.1:9092'], topicPrefix: '', clientId: 'tracker-projector', partitions: undefined, replicationFactor: undefined },
      cloudEventsSource: 'urn:dk:kommune:transition-tracker',
      kafkaIngestSources: undefined,
    });
  });

  it('reads every variable', () => {
    const config = loadServiceConfig('api', {
      ...minimal,
      PORT: '4100',
      HOST: '0.0.0.0',
      EVENT_STORE_SCHEMA: 'events',
      READ_MODEL_SCHEMA: 'rm',
      EVENTSTORE_URL: 'esdb://kurrentdb:2113?tls=false',
      KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9092,[::1]:9092',
      KAFKA_TOPIC_PREFIX: 'kommune-0751.',
      KAFKA_CLIENT_ID: 'api-7',
      KAFKA_TOPIC_PARTITIONS: '12',
      KAFKA_REPLICATION_FACTOR: '3',
      CLOUDEVENTS_SOURCE: 'urn:dk:kommune:0751:transition-tracker',
      KAFKA_INGEST_SOURCES: 'dubu, nexus',
    });
    expect(config).toMatchObject({
      kafkaIngestSources: ['dubu', 'nexus'],
      port: 4100,
      host: '0.0.0.0',
      eventStoreSchema: 'events',
      readModelSchema: 'rm',
      eventStoreUrl: 'esdb://kurrentdb:2113?tls=false',
      kafka: { brokers: ['kafka-1:9092', 'kafka-2:9092', '[::1]:9092'], topicPrefix: 'kommune-0751.', clientId: 'api-7', partitions: 12, replicationFactor: 3 },
      cloudEventsSource: 'urn:dk:kommune:0751:transition-tracker',
    });
  });

  it('names every bad variable at once, with the reason and never the value', () => {
    const secret = 'hunter2';
    const problems = problemsOf({
      DATABASE_URL: `mysql://root:${secret}@db/tracker`,
      KAFKA_BROKERS: 'kafka-1',
      PORT: 'eighty',
      READ_MODEL_SCHEMA: 'Read-Models',
      EVENTSTORE_URL: 'kurrentdb://x:2113',
      KAFKA_TOPIC_PARTITIONS: '0',
      CLOUDEVENTS_SOURCE: `https://user:${secret}@tracker.example`,
      KAFKA_INGEST_SOURCES: 'dubu,has space',
    });
    expect(Object.keys(problems).sort()).toEqual(
      ['CLOUDEVENTS_SOURCE', 'DATABASE_URL', 'EVENTSTORE_URL', 'KAFKA_BROKERS', 'KAFKA_INGEST_SOURCES', 'KAFKA_TOPIC_PARTITIONS', 'PORT', 'READ_MODEL_SCHEMA'].sort(),
    );
    expect(problems.DATABASE_URL).toBe('must start with postgres:// or postgresql://');
    expect(problems.KAFKA_BROKERS).toContain('host:port');
    expect(JSON.stringify(problems)).not.toContain(secret);
  });

  it('requires the engines\' addresses', () => {
    expect(problemsOf({})).toMatchObject({
      DATABASE_URL: expect.stringContaining('is required'),
      KAFKA_BROKERS: expect.stringContaining('is required'),
    });
  });
});
