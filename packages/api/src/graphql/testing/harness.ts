/**
 * The GraphQL endpoint on real adapters for integration tests: SqliteEventStore + SqliteReadModel fed
 * by a Projector, over temp files, behind a fastify instance with the plugin registered.
 *
 * Security is real too: authPlugin in front (by default in EXPLICIT development mode, so every
 * request acts as the development administrator — pass `authenticator` for real tokens), the access
 * log and the key store in the temp folder, and the plugin's store encrypting personal data.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { DEMO_UNITS_FILE, ManualClock, loadUnitsFile, type EventData, type EventType, type TransitionEvent } from '@tracker/domain';
import { SqliteEventStore, type EventStore } from '@tracker/event-store';
import { Projector, SqliteReadModel, type CitizenDerivation, type ReadModelQueries } from '@tracker/read-models';
import { createLogger } from '@tracker/platform';
import {
  createAuthenticator,
  generateKeyEncryptionKey,
  parseKeyEncryptionKey,
  PersonalDataProtector,
  SqliteAccessLog,
  SqliteKeyStore,
  type Authenticator,
} from '@tracker/security';
import { authPlugin, type RateLimitOptions } from '../../auth/authPlugin.ts';
import { encryptingEventStore } from '../../personalData/encryptingEventStore.ts';
import { graphqlPlugin } from '../graphqlPlugin.ts';
import type { GraphqlLimits, PersistedOperations } from '../hardening.ts';
import type { GraphqlExtension } from '../schema.ts';

export const DAY = 86_400_000;
export const units = loadUnitsFile(DEMO_UNITS_FILE);
export const RECEPTION = '0751-modtagelse';
export const CHILD = '0751-bf-myndighed';
export const YOUTH = '0751-ungeenhed';
export const ADULT = '0751-voksen-handicap';

/** A CPR number in its two spellings: no answer (and no log line) may contain either. */
export const CPR = '010190-1234';
export const CPR_DIGITS = '0101901234';

/** The instant the harness clock stands at. */
export const NOW = '2025-03-03T10:00:00+01:00';

export interface GraphqlResponse {
  status: number;
  raw: LightMyRequestResponse;
  body: string;
  json: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  };
}

export interface Harness {
  app: FastifyInstance;
  store: SqliteEventStore;
  projector: Projector;
  readModel: SqliteReadModel;
  clock: ManualClock;
  logs: string[];
  accessLog: SqliteAccessLog;
  personalData: PersonalDataProtector;
  /** The temp folder holding every file of the harness. */
  dir: string;
  /** POSTs one operation to /graphql, with extra headers (e.g. `authorization`). */
  gql(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphqlResponse>;
  /** Appends facts (as ingestion would) and waits until the read models include them. */
  append(events: TransitionEvent[]): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  production?: boolean;
  /** Wraps the read models' queries, e.g. to make one fail. */
  queries?: (queries: ReadModelQueries) => ReadModelQueries;
  /** Wraps the store the plugin is given (the projector keeps the real one). */
  store?: (store: EventStore) => EventStore;
  /**
   * fastify's `forceCloseConnections`, default true: fetch (undici) keeps a socket for seconds after
   * aborting a stream, which would otherwise hold `close()` up. false shows the plugin's own shutdown.
   */
  forceCloseConnections?: boolean;
  /** Derived read models (gaps, deadlines …), built on the harness's read-model database. */
  derived?: readonly CitizenDerivation[];
  /** Features' parts of the schema. */
  extensions?: readonly GraphqlExtension[];
  /** Default: development mode (every request is the development administrator), explicitly. */
  authenticator?: Authenticator;
  rateLimit?: RateLimitOptions | false;
  limits?: Partial<GraphqlLimits>;
  persistedOperations?: PersistedOperations;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'tracker-graphql-'));
  const clock = new ManualClock(NOW);
  const store = await SqliteEventStore.open({ file: join(dir, 'events.sqlite'), clock });
  const readModel = new SqliteReadModel({
    file: join(dir, 'read-models.sqlite'),
    projection: { units, handoverAcceptanceDue: (ms) => ms + 14 * DAY },
    configFingerprint: 'test',
    derived: options.derived ?? [],
  });
  const projector = new Projector({ store, target: readModel });
  await projector.start();

  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger: FastifyBaseLogger = createLogger({ destination, level: 'debug' });
  const accessLog = new SqliteAccessLog({ file: join(dir, 'access-log.sqlite'), clock });
  const keyStore = new SqliteKeyStore(join(dir, 'keys.sqlite'));
  const personalData = await PersonalDataProtector.open({ kek: parseKeyEncryptionKey(generateKeyEncryptionKey()), store: keyStore, clock });
  const app = Fastify({ loggerInstance: logger, forceCloseConnections: options.forceCloseConnections ?? true });
  await app.register(authPlugin, {
    authenticator: options.authenticator ?? createAuthenticator({ mode: 'development' }),
    rateLimit: options.rateLimit ?? false,
  });
  await app.register(graphqlPlugin, {
    queries: options.queries ? options.queries(readModel) : readModel,
    store: encryptingEventStore(options.store ? options.store(store) : store, personalData),
    projector,
    units,
    clock,
    production: options.production ?? false,
    extensions: options.extensions ?? [],
    accessLog,
    personalData,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.persistedOperations ? { persistedOperations: options.persistedOperations } : {}),
  });
  await app.ready();

  const gql = async (query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GraphqlResponse> => {
    const raw = await app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
      payload: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
    });
    return { status: raw.statusCode, raw, body: raw.body, json: JSON.parse(raw.body) as GraphqlResponse['json'] };
  };

  const append = async (events: TransitionEvent[]) => {
    const { appended } = await store.appendBatch(events);
    const last = appended.at(-1)?.globalPosition;
    if (last !== undefined) await projector.waitFor(last);
  };

  const close = async () => {
    await app.close();
    await projector.stop();
    await store.close();
    readModel.close();
    await accessLog.close();
    await keyStore.close();
    await rm(dir, { recursive: true, force: true });
  };

  return { app, store, projector, readModel, clock, logs, accessLog, personalData, dir, gql, append, close };
}

/** A fact about one citizen, as a source system would send it. */
export function fact<T extends EventType>(citizenId: string, type: T, occurredAt: string, data: EventData<T>): TransitionEvent {
  return { id: randomUUID(), citizenId, occurredAt, source: 'test', type, data } as TransitionEvent;
}

/** Citizen ids unique to one test. */
export const citizenId = (label: string): string => `c-${label}-${randomUUID().slice(0, 8)}`;
