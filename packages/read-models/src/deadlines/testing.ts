/**
 * Deadline read models on real adapters for tests and the benchmark: an SQLite event store (files or
 * :memory:) feeding, through a Projector, a read model with the deadline derivation — SQLite (files or
 * :memory:) or PostgreSQL (a schema of its own) — and the deadline queries over it.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { DEMO_UNITS_FILE, ManualClock, loadUnitsFile, type EventData, type EventType, type StoredEvent, type TransitionEvent } from '@tracker/domain';
import { SqliteEventStore } from '@tracker/event-store';
import { dropSchema, freshSchemaName } from '@tracker/event-store/testing';
import { Projector, type ProjectionTarget } from '../projector.ts';
import type { ProjectionContext } from '../projections/projectEvent.ts';
import { PostgresReadModel } from '../postgres/postgresReadModel.ts';
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import { DEADLINE_CLOCKS_TABLE, deadlineDerivation, type DeadlineClockRow } from './deadlineDerivation.ts';
import type { DeadlineQueries } from './deadlineQueries.ts';
import { loadPolicies, type DeadlinePolicySet } from '@tracker/domain';
import { PostgresDeadlineQueries } from './postgresDeadlineQueries.ts';
import { SqliteDeadlineQueries } from './sqliteDeadlineQueries.ts';

export const units = loadUnitsFile(DEMO_UNITS_FILE);
export const RECEPTION = '0751-modtagelse';
export const CHILD = '0751-bf-myndighed';
export const YOUTH = '0751-ungeenhed';
export const ADULT = '0751-voksen-handicap';
export const DAY = 86_400_000;

/** A stored clock row with the columns that decide every answer (not the alert scheduler's positions). */
export type StoredClockRow = Omit<DeadlineClockRow, 'start_position' | 'source_position'>;

const CLOCK_COLUMNS = 'citizen_id, clock_id, policy, unit_id, started_ms, due_ms, at_risk_ms, stopped_ms, visible_from_ms, visible_until_ms';

/** A read model with the deadline derivation, fed from an event store: what the query contract drives. */
export interface DeadlineBed<Q extends DeadlineQueries = DeadlineQueries> {
  store: SqliteEventStore;
  projector: Projector;
  policies: DeadlinePolicySet;
  queries: Q;
  /** The same queries with other options (e.g. no small-cell suppression). */
  queriesWith(options: { minCitizensPerCell?: number }): DeadlineQueries;
  /** A citizen's events in world order, as the read model holds them. */
  history(citizenId: string): Promise<StoredEvent[]>;
  /** The units a citizen was ever involved with (what the data scope is decided on). */
  citizenUnits(citizenId: string): Promise<string[]>;
  /** Every stored clock, in (citizen, clock, visible from) order. */
  clockRows(): Promise<StoredClockRow[]>;
  /** Appends facts and waits until the read models include them. */
  append(events: readonly TransitionEvent[]): Promise<void>;
  close(): Promise<void>;
}

export interface DeadlineTestbed extends DeadlineBed<SqliteDeadlineQueries> {
  readModel: SqliteReadModel;
}

export interface PostgresDeadlineTestbed extends DeadlineBed<PostgresDeadlineQueries> {
  readModel: PostgresReadModel;
  schema: string;
}

export interface TestbedOptions {
  now?: Date;
  policies?: DeadlinePolicySet;
  store?: SqliteEventStore;
  eventsFile?: string;
  batchSize?: number;
}

export interface SqliteTestbedOptions extends TestbedOptions {
  readModelFile?: string;
}

export interface PostgresTestbedOptions extends TestbedOptions {
  /** The server; the schema is dropped through it on close when the testbed made it. */
  url: string;
  /** Connections shared by many testbeds (not ended on close); else the read model opens its own. */
  pool?: pg.Pool;
  /** A schema to use; default a fresh `t_<hex>` schema. */
  schema?: string;
  /** Drop the schema on close (only `t_<hex>` schemas are dropped); default: when the testbed made it. */
  dropOnClose?: boolean;
}

const projectionOf = (policies: DeadlinePolicySet): ProjectionContext => ({ units, handoverAcceptanceDue: (ms) => policies.calendar.addWorkingDays(ms, 10) });

/** The store (given, or a new one), a projector into `target`, started: caught up with the store. */
async function feed(options: TestbedOptions, target: ProjectionTarget) {
  const ownStore = options.store === undefined;
  const store = options.store ?? (await SqliteEventStore.open({ file: options.eventsFile ?? ':memory:', clock: new ManualClock(options.now ?? new Date('2026-06-01T12:00:00+02:00')) }));
  const projector = new Projector({ store, target, ...(options.batchSize ? { batchSize: options.batchSize } : {}) });
  await projector.start();
  return {
    store,
    projector,
    async append(events: readonly TransitionEvent[]) {
      const { appended } = await store.appendBatch(events);
      const last = appended.at(-1)?.globalPosition;
      if (last !== undefined) await projector.waitFor(last);
    },
    async stop() {
      await projector.stop();
      if (ownStore) await store.close();
    },
  };
}

export async function deadlineTestbed(options: SqliteTestbedOptions = {}): Promise<DeadlineTestbed> {
  const policies = options.policies ?? loadPolicies(undefined);
  const readModel = new SqliteReadModel({
    file: options.readModelFile ?? ':memory:',
    projection: projectionOf(policies),
    configFingerprint: 'deadlines-test',
    derived: [deadlineDerivation({ policies, units })],
  });
  const fed = await feed(options, readModel);
  return {
    store: fed.store,
    readModel,
    projector: fed.projector,
    policies,
    queries: new SqliteDeadlineQueries(readModel.database, policies),
    queriesWith: (queryOptions) => new SqliteDeadlineQueries(readModel.database, policies, queryOptions),
    history: async (citizenId) => readModel.history(citizenId),
    citizenUnits: (citizenId) => readModel.citizenUnits(citizenId),
    clockRows: async () => readModel.database.prepare(`SELECT ${CLOCK_COLUMNS} FROM ${DEADLINE_CLOCKS_TABLE} ORDER BY citizen_id, clock_id, visible_from_ms`).all() as StoredClockRow[],
    append: fed.append,
    async close() {
      await fed.stop();
      readModel.close();
    },
  };
}

/** The same test bed with the read model in a PostgreSQL schema. */
export async function postgresDeadlineTestbed(options: PostgresTestbedOptions): Promise<PostgresDeadlineTestbed> {
  const policies = options.policies ?? loadPolicies(undefined);
  const schema = options.schema ?? freshSchemaName();
  const dropOnClose = options.dropOnClose ?? options.schema === undefined;
  const readModel = await PostgresReadModel.open({
    ...(options.pool ? { pool: options.pool } : { connectionString: options.url }),
    schema,
    projection: projectionOf(policies),
    configFingerprint: 'deadlines-test',
    derived: [deadlineDerivation({ policies, units })],
  });
  const drop = async () => {
    await readModel.close();
    if (dropOnClose) await dropSchema(options.url, schema);
  };
  let fed: Awaited<ReturnType<typeof feed>>;
  try {
    fed = await feed(options, readModel);
  } catch (error) {
    await drop();
    throw error;
  }
  return {
    store: fed.store,
    readModel,
    schema,
    projector: fed.projector,
    policies,
    queries: new PostgresDeadlineQueries(readModel, policies),
    queriesWith: (queryOptions) => new PostgresDeadlineQueries(readModel, policies, queryOptions),
    history: (citizenId) => readModel.history(citizenId),
    citizenUnits: (citizenId) => readModel.citizenUnits(citizenId),
    clockRows: () => readModel.query<StoredClockRow & pg.QueryResultRow>(`SELECT ${CLOCK_COLUMNS} FROM "${schema}".${DEADLINE_CLOCKS_TABLE} ORDER BY citizen_id, clock_id COLLATE "C", visible_from_ms`),
    append: fed.append,
    async close() {
      await fed.stop();
      await drop();
    },
  };
}

/**
 * PostgreSQL test beds that reuse their schemas: a closed bed's schema is emptied (rows deleted, the
 * checkpoint forgotten) and handed to the next bed, because creating and dropping a read model's
 * tables costs ~0.2 s a bed — most of a property test that opens three beds a run. `dispose` drops
 * every schema made.
 */
export function postgresDeadlineTestbeds({ url, pool }: { url: string; pool: pg.Pool }) {
  const made: string[] = [];
  const free: string[] = [];
  const empty = async (schema: string) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'meta'`, [schema]);
      for (const { tablename } of rows) await client.query(`DELETE FROM "${schema}"."${tablename}"`);
      await client.query(`DELETE FROM "${schema}".meta WHERE key <> 'fingerprint'`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  };
  return {
    async testbed(options: TestbedOptions = {}): Promise<PostgresDeadlineTestbed> {
      let schema = free.pop();
      if (schema === undefined) made.push((schema = freshSchemaName()));
      const bed = await postgresDeadlineTestbed({ ...options, url, pool, schema, dropOnClose: false });
      return {
        ...bed,
        async close() {
          await bed.close();
          await empty(schema);
          free.push(schema);
        },
      };
    },
    /** Drops every schema the beds used; call after they are closed. */
    async dispose() {
      for (const schema of made.splice(0)) await dropSchema(url, schema);
      free.length = 0;
    },
  };
}

/** A fact about one citizen, as a source system would send it. */
export function fact<T extends EventType>(citizenId: string, type: T, occurredAt: string, data: EventData<T>): TransitionEvent {
  return { id: randomUUID(), citizenId, occurredAt, source: 'test', type, data } as TransitionEvent;
}
