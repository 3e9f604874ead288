import { describe, expect, it } from 'vitest';
import { ConfigError } from '@tracker/platform';
import { loadServiceConfig, type ServiceName } from './serviceConfig.ts';

const minimal = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tracker', KAFKA_BROKERS: '127.0.0.1:9092' };
/** A well-formed PERSONAL_DATA_KEK (32 bytes, base64) that is not a placeholder. */
const KEK = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff)).toString('base64');

function problemsOf(env: NodeJS.ProcessEnv, service: ServiceName = 'relay'): Record<string, string> {
  try {
    loadServiceConfig(service, env);
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
      keyStoreSchema: 'tracker_keys',
      accessLogSchema: 'tracker_audit',
      personalDataKek: undefined,
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
      KEY_STORE_SCHEMA: 'keys',
      ACCESS_LOG_SCHEMA: 'audit',
      PERSONAL_DATA_KEK: KEK,
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
      keyStoreSchema: 'keys',
      accessLogSchema: 'audit',
      personalDataKek: { id: expect.stringMatching(/^[0-9a-f]{16}$/) },
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

  it('refuses bad key store and access log schemas, and schemas shared with the events or read models', () => {
    expect(problemsOf({ ...minimal, KEY_STORE_SCHEMA: 'Keys; DROP', ACCESS_LOG_SCHEMA: 'x'.repeat(49) })).toEqual({
      KEY_STORE_SCHEMA: 'must be a lower-case SQL identifier (a–z, 0–9, _) of at most 48 characters',
      ACCESS_LOG_SCHEMA: 'must be a lower-case SQL identifier (a–z, 0–9, _) of at most 48 characters',
    });
    expect(problemsOf({ ...minimal, KEY_STORE_SCHEMA: 'public', ACCESS_LOG_SCHEMA: 'public' })).toEqual({
      KEY_STORE_SCHEMA: expect.stringContaining('must differ from EVENT_STORE_SCHEMA and READ_MODEL_SCHEMA'),
      ACCESS_LOG_SCHEMA: expect.stringContaining('must differ from EVENT_STORE_SCHEMA, READ_MODEL_SCHEMA and KEY_STORE_SCHEMA'),
    });
    expect(problemsOf({ ...minimal, READ_MODEL_SCHEMA: 'shared', ACCESS_LOG_SCHEMA: 'shared' })).toEqual({ ACCESS_LOG_SCHEMA: expect.stringContaining('must differ') });
  });

  it('ingest and api need PERSONAL_DATA_KEK in every environment (one key store, one key); relay and projector do not', () => {
    for (const service of ['ingest', 'api'] as const) {
      for (const nodeEnv of [undefined, 'development', 'test']) {
        expect(problemsOf({ ...minimal, NODE_ENV: nodeEnv }, service)).toEqual({
          PERSONAL_DATA_KEK: expect.stringMatching(new RegExp(`^is required for the ${service} service: .*no development key in distributed mode$`)),
        });
      }
      expect(loadServiceConfig(service, { ...minimal, PERSONAL_DATA_KEK: KEK }).personalDataKek).toMatchObject({ id: expect.any(String) });
    }
    for (const service of ['relay', 'projector'] as const) expect(loadServiceConfig(service, minimal).personalDataKek).toBeUndefined();
  });

  it('relay and projector start in production without PERSONAL_DATA_KEK (they never touch personal data); a bad one is still refused', () => {
    const production = { ...minimal, NODE_ENV: 'production', AUTH_MODE: 'oidc', OIDC_ISSUER: 'https://idp.example.dk', OIDC_AUDIENCE: 'tracker' };
    for (const service of ['relay', 'projector'] as const) {
      expect(loadServiceConfig(service, production)).toMatchObject({ service, nodeEnv: 'production', personalDataKek: undefined });
      expect(problemsOf({ ...production, PERSONAL_DATA_KEK: 'c2hvcnQ=' }, service)).toEqual({ PERSONAL_DATA_KEK: expect.stringContaining('must decode to exactly 32 bytes') });
    }
    for (const service of ['ingest', 'api'] as const) expect(problemsOf(production, service)).toEqual({ PERSONAL_DATA_KEK: expect.stringContaining('is required') });
  });

  it('reads PERSONAL_DATA_KEK_PREVIOUS during a key rotation, with the rules of PERSONAL_DATA_KEK', () => {
    const previous = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 53 + 7) & 0xff)).toString('base64');
    for (const service of ['ingest', 'api'] as const) {
      const config = loadServiceConfig(service, { ...minimal, PERSONAL_DATA_KEK: KEK, PERSONAL_DATA_KEK_PREVIOUS: previous });
      expect(config.personalData.previousKek).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{16}$/) });
      expect(config.personalData.previousKek!.id).not.toBe(config.personalDataKek!.id);
      expect(JSON.stringify(config)).not.toContain(previous);
      expect(loadServiceConfig(service, { ...minimal, PERSONAL_DATA_KEK: KEK }).personalData).toEqual({ previousKek: undefined });
    }
    expect(problemsOf({ ...minimal, PERSONAL_DATA_KEK: KEK, PERSONAL_DATA_KEK_PREVIOUS: KEK }, 'api')).toEqual({
      PERSONAL_DATA_KEK_PREVIOUS: 'must differ from PERSONAL_DATA_KEK: it is the key being rotated away from',
    });
    expect(problemsOf({ ...minimal, PERSONAL_DATA_KEK: KEK, PERSONAL_DATA_KEK_PREVIOUS: 'c2VjcmV0LWJ1dC1zaG9ydA==' }, 'ingest')).toEqual({
      PERSONAL_DATA_KEK_PREVIOUS: expect.stringContaining('must decode to exactly 32 bytes'),
    });
    // The old key alone is not a configuration: the new one is what every new key is wrapped by.
    expect(problemsOf({ ...minimal, PERSONAL_DATA_KEK_PREVIOUS: previous }, 'ingest')).toEqual({
      PERSONAL_DATA_KEK: expect.stringContaining('is required for the ingest service'),
      PERSONAL_DATA_KEK_PREVIOUS: expect.stringContaining('needs PERSONAL_DATA_KEK'),
    });
  });

  it('names a malformed PERSONAL_DATA_KEK once, without its value', () => {
    const secret = 'c2VjcmV0LWJ1dC1zaG9ydA==';
    const problems = problemsOf({ ...minimal, PERSONAL_DATA_KEK: secret }, 'ingest');
    expect(problems).toEqual({ PERSONAL_DATA_KEK: expect.stringContaining('must decode to exactly 32 bytes') });
    expect(JSON.stringify(problems)).not.toContain(secret);
    // In production the platform's own requirement is the one reported.
    expect(problemsOf({ ...minimal, NODE_ENV: 'production', AUTH_MODE: 'oidc', OIDC_ISSUER: 'https://idp.example.dk', OIDC_AUDIENCE: 'tracker' }, 'api')).toEqual({
      PERSONAL_DATA_KEK: expect.stringContaining('is required with NODE_ENV=production'),
    });
  });

  it('requires the engines\' addresses', () => {
    expect(problemsOf({})).toMatchObject({
      DATABASE_URL: expect.stringContaining('is required'),
      KAFKA_BROKERS: expect.stringContaining('is required'),
    });
  });
});
