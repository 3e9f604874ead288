/**
 * The configuration of the distributed services (ingest, relay, projector, api), read from the
 * environment at start. The variables the embedded tracker has (PORT, HOST, UNITS_FILE, NODE_ENV,
 * LOG_LEVEL, BODY_LIMIT_BYTES, MAX_EVENTS_PER_REQUEST, AUTH_MODE …) mean the same and are read by the
 * platform's `loadConfig`; the engines' addresses are read here with the same rules: every problem at
 * once, one line per variable, the reason but never the value (a URL may carry a password).
 */
import { z } from 'zod';
import { ConfigError, loadConfig, type ConfigProblem, type TrackerConfig } from '@tracker/platform';
import { DEFAULT_CLOUDEVENTS_SOURCE } from '../cloudEvents/transitionCloudEvent.ts';

export type ServiceName = 'ingest' | 'relay' | 'projector' | 'api';

/** The services that encrypt or decrypt personal data: they share one key store, so they need one KEK. */
export const SERVICES_WITH_PERSONAL_DATA: readonly ServiceName[] = ['ingest', 'api'];

/** PERSONAL_DATA_KEK as the platform's configuration parses it (@tracker/security's KeyEncryptionKey). */
export type ServiceKeyEncryptionKey = Extract<TrackerConfig['personalData'], { kek: unknown }>['kek'];

export interface ServiceConfig {
  service: ServiceName;
  port: number;
  host: string;
  /** DATA_DIR: local files of a service (the API replica's access log). */
  dataDir: string;
  unitsFile: string | undefined;
  /** POLICIES_FILE: the kommune's deadline policies; undefined = the shipped ones. */
  policiesFile: string | undefined;
  nodeEnv: TrackerConfig['nodeEnv'];
  logLevel: TrackerConfig['logLevel'];
  bodyLimitBytes: number;
  maxEventsPerRequest: number;
  auth: TrackerConfig['auth'];
  /** RATE_LIMIT_PER_MINUTE (the HTTP doors). */
  rateLimitPerMinute: number;
  /** DATABASE_URL: the PostgreSQL of the read models, the relay checkpoints (and the event store, unless EVENTSTORE_URL). */
  databaseUrl: string;
  /** EVENT_STORE_SCHEMA (default `public`): the PostgreSQL event store's schema, and the relay's tables. */
  eventStoreSchema: string;
  /** READ_MODEL_SCHEMA (default `read_models`). */
  readModelSchema: string;
  /** KEY_STORE_SCHEMA (default `tracker_keys`): the citizens' data keys, in the DATABASE_URL database (ingest, api). */
  keyStoreSchema: string;
  /** ACCESS_LOG_SCHEMA (default `tracker_audit`): the access log every API replica appends to, in the DATABASE_URL database. */
  accessLogSchema: string;
  /**
   * PERSONAL_DATA_KEK, parsed (never kept as text). Always set for ingest and api: they share the key
   * store in PostgreSQL, so a development key of one process's own would lock the others out — there is
   * no development key in distributed mode. Undefined for relay and projector unless it is set.
   */
  personalDataKek: ServiceKeyEncryptionKey | undefined;
  /**
   * During a KEK rotation (docs/security.md §7): PERSONAL_DATA_KEK_PREVIOUS, the key being rotated away
   * from, parsed like PERSONAL_DATA_KEK (it must differ from it, and needs it). Under `personalData`,
   * which the logger redacts whole, as it does `personalDataKek`.
   */
  personalData: { previousKek: ServiceKeyEncryptionKey | undefined };
  /** EVENTSTORE_URL: when set, the event store is EventStoreDB / KurrentDB (`esdb://…`). */
  eventStoreUrl: string | undefined;
  kafka: {
    /** KAFKA_BROKERS: `host:port[,host:port…]`. */
    brokers: string[];
    /** KAFKA_TOPIC_PREFIX (default none). */
    topicPrefix: string;
    /** KAFKA_CLIENT_ID (default `tracker-<service>`). */
    clientId: string;
    /** KAFKA_TOPIC_PARTITIONS: partitions of topics this service creates (default: the broker's). */
    partitions: number | undefined;
    /** KAFKA_REPLICATION_FACTOR: replicas of topics this service creates (default: the broker's). */
    replicationFactor: number | undefined;
  };
  /** CLOUDEVENTS_SOURCE: the `source` of published CloudEvents. */
  cloudEventsSource: string;
  /**
   * KAFKA_INGEST_SOURCES: the source systems whose events transitions.ingest.v1 may carry (as an
   * integrator's token names them); undefined = any (whoever Kafka lets write the topic is trusted).
   */
  kafkaIngestSources: string[] | undefined;
}

const raw = z.string().optional();

const problem = (ctx: z.RefinementCtx, message: string) => {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
};

const required = (what: string) =>
  raw.transform((value, ctx) => (value === undefined ? problem(ctx, `is required: ${what}`) : value));

const databaseUrl = required('a PostgreSQL URL, e.g. postgres://postgres@127.0.0.1:5432/tracker').transform((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return problem(ctx, 'must be a PostgreSQL URL, e.g. postgres://user@host:5432/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return problem(ctx, 'must start with postgres:// or postgresql://');
  if (url.hostname === '' && !url.searchParams.has('host')) return problem(ctx, 'must name a host');
  return value;
});

const eventStoreUrl = raw.transform((value, ctx) => {
  if (value === undefined) return undefined;
  // @eventstore/db-client 6 parses only these schemes (not kurrentdb://).
  if (!/^esdb(\+discover)?:\/\/[^\s]+$/.test(value)) return problem(ctx, 'must be an esdb:// or esdb+discover:// connection string, e.g. esdb://kurrentdb:2113?tls=false');
  return value;
});

const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})$/;
const brokers = required('a comma-separated list of host:port, e.g. 127.0.0.1:9092').transform((value, ctx) => {
  const list = value.split(',').map((b) => b.trim()).filter(Boolean);
  const bad = list.some((b) => {
    const m = HOST_PORT.exec(b);
    return !m || Number(m[1]) < 1 || Number(m[1]) > 65535;
  });
  if (list.length === 0 || bad) return problem(ctx, 'must be a comma-separated list of host:port, e.g. kafka-1:9092,kafka-2:9092');
  return list;
});

const schemaName = (fallback: string) =>
  raw.transform((value, ctx) => {
    if (value === undefined) return fallback;
    if (!/^[a-z_][a-z0-9_]{0,47}$/.test(value)) return problem(ctx, 'must be a lower-case SQL identifier (a–z, 0–9, _) of at most 48 characters');
    return value;
  });

const topicPrefix = raw.transform((value, ctx) => {
  if (value === undefined) return '';
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(value)) return problem(ctx, 'must be at most 200 of A–Z, a–z, 0–9, ".", "_" or "-"');
  return value;
});

const clientId = raw.transform((value, ctx) => {
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(value)) return problem(ctx, 'must be 1–100 of A–Z, a–z, 0–9, ".", "_" or "-"');
  return value;
});

const count = (max: number) =>
  raw.transform((value, ctx) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max) return problem(ctx, `must be a whole number from 1 to ${max}`);
    return n;
  });

const sources = raw.transform((value, ctx) => {
  if (value === undefined) return undefined;
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0 || list.some((s) => !/^[A-Za-z0-9._-]{1,64}$/.test(s))) {
    return problem(ctx, 'must be a comma-separated list of source system names (1–64 of A–Z, a–z, 0–9, ".", "_" or "-"), e.g. dubu,nexus');
  }
  return list;
});

const cloudEventsSource = raw.transform((value, ctx) => {
  if (value === undefined) return DEFAULT_CLOUDEVENTS_SOURCE;
  // A URI reference (CloudEvents); kept to characters that need no escaping, without credentials.
  if (!/^[A-Za-z0-9._~:/?#[\]!$&'()*+,;=%-]{1,255}$/.test(value) || /\/\/[^/]*@/.test(value)) {
    return problem(ctx, 'must be a URI reference such as urn:dk:kommune:0751:transition-tracker or https://tracker.example.dk');
  }
  return value;
});

export const DistributedEnvSchema = z.object({
  DATABASE_URL: databaseUrl,
  EVENT_STORE_SCHEMA: schemaName('public'),
  READ_MODEL_SCHEMA: schemaName('read_models'),
  KEY_STORE_SCHEMA: schemaName('tracker_keys'),
  ACCESS_LOG_SCHEMA: schemaName('tracker_audit'),
  EVENTSTORE_URL: eventStoreUrl,
  KAFKA_BROKERS: brokers,
  KAFKA_TOPIC_PREFIX: topicPrefix,
  KAFKA_CLIENT_ID: clientId,
  KAFKA_TOPIC_PARTITIONS: count(1_000),
  KAFKA_REPLICATION_FACTOR: count(10),
  CLOUDEVENTS_SOURCE: cloudEventsSource,
  KAFKA_INGEST_SOURCES: sources,
});

export const DISTRIBUTED_VARIABLES = Object.keys(DistributedEnvSchema.shape) as (keyof typeof DistributedEnvSchema.shape)[];

/** Reads and validates the configuration of one service; throws ConfigError listing every bad variable. */
export function loadServiceConfig(service: ServiceName, env: NodeJS.ProcessEnv, options: { cwd?: string } = {}): ServiceConfig {
  const problems: ConfigProblem[] = [];
  let common: TrackerConfig | undefined;
  try {
    common = loadConfig(env, { ...options, withoutPersonalData: !SERVICES_WITH_PERSONAL_DATA.includes(service) });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const values: Record<string, string | undefined> = {};
  for (const name of DISTRIBUTED_VARIABLES) {
    const value = env[name]?.trim();
    values[name] = value === undefined || value === '' ? undefined : value;
  }
  const parsed = DistributedEnvSchema.safeParse(values);
  if (!parsed.success) {
    problems.push(...parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '(environment)'), message: issue.message })));
  }
  if (parsed.success) {
    // Apart, so each can have its own owner and backup policy: keys must be destroyable while events are kept.
    const { EVENT_STORE_SCHEMA: events, READ_MODEL_SCHEMA: readModels, KEY_STORE_SCHEMA: keys, ACCESS_LOG_SCHEMA: log } = parsed.data;
    if (keys === events || keys === readModels) {
      problems.push({ variable: 'KEY_STORE_SCHEMA', message: 'must differ from EVENT_STORE_SCHEMA and READ_MODEL_SCHEMA: the keys are backed up and erased apart from the events' });
    }
    if (log === events || log === readModels || log === keys) {
      problems.push({ variable: 'ACCESS_LOG_SCHEMA', message: 'must differ from EVENT_STORE_SCHEMA, READ_MODEL_SCHEMA and KEY_STORE_SCHEMA: the access log has an owner of its own' });
    }
  }
  // PERSONAL_DATA_KEK itself is parsed by loadConfig (which already requires it with NODE_ENV=production).
  const kekProblem = problems.some((p) => p.variable === 'PERSONAL_DATA_KEK');
  if (SERVICES_WITH_PERSONAL_DATA.includes(service) && !kekProblem && (env.PERSONAL_DATA_KEK ?? '').trim() === '') {
    problems.push({
      variable: 'PERSONAL_DATA_KEK',
      message:
        `is required for the ${service} service: the distributed services share one key store, so they need one key-encryption key ` +
        '(32 random bytes in base64 from a secret store, e.g. `openssl rand -base64 32`); there is no development key in distributed mode',
    });
  }
  if (problems.length > 0 || !parsed.success || common === undefined) throw new ConfigError(problems);
  const v = parsed.data;
  return {
    service,
    port: common.port,
    host: common.host,
    dataDir: common.dataDir,
    unitsFile: common.unitsFile,
    policiesFile: common.policiesFile,
    nodeEnv: common.nodeEnv,
    logLevel: common.logLevel,
    bodyLimitBytes: common.bodyLimitBytes,
    maxEventsPerRequest: common.maxEventsPerRequest,
    auth: common.auth,
    rateLimitPerMinute: common.rateLimitPerMinute,
    databaseUrl: v.DATABASE_URL,
    eventStoreSchema: v.EVENT_STORE_SCHEMA,
    readModelSchema: v.READ_MODEL_SCHEMA,
    keyStoreSchema: v.KEY_STORE_SCHEMA,
    accessLogSchema: v.ACCESS_LOG_SCHEMA,
    personalDataKek: 'kek' in common.personalData ? common.personalData.kek : undefined,
    personalData: { previousKek: 'kek' in common.personalData ? common.personalData.previousKek : undefined },
    eventStoreUrl: v.EVENTSTORE_URL,
    kafka: {
      brokers: v.KAFKA_BROKERS,
      topicPrefix: v.KAFKA_TOPIC_PREFIX,
      clientId: v.KAFKA_CLIENT_ID ?? `tracker-${service}`,
      partitions: v.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: v.KAFKA_REPLICATION_FACTOR,
    },
    cloudEventsSource: v.CLOUDEVENTS_SOURCE,
    kafkaIngestSources: v.KAFKA_INGEST_SOURCES,
  };
}
