/**
 * Deadline read models on real adapters for tests and the benchmark: an SQLite event store and read
 * model (files or :memory:) with the deadline derivation, fed by a Projector.
 */
import { randomUUID } from 'node:crypto';
import { DEMO_UNITS_FILE, ManualClock, loadUnitsFile, type EventData, type EventType, type TransitionEvent } from '@tracker/domain';
import { SqliteEventStore } from '@tracker/event-store';
import { Projector } from '../projector.ts';
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import { deadlineDerivation } from './deadlineDerivation.ts';
import { loadPolicies, type DeadlinePolicySet } from '@tracker/domain';
import { SqliteDeadlineQueries } from './sqliteDeadlineQueries.ts';

export const units = loadUnitsFile(DEMO_UNITS_FILE);
export const RECEPTION = '0751-modtagelse';
export const CHILD = '0751-bf-myndighed';
export const YOUTH = '0751-ungeenhed';
export const ADULT = '0751-voksen-handicap';
export const DAY = 86_400_000;

export interface DeadlineTestbed {
  store: SqliteEventStore;
  readModel: SqliteReadModel;
  projector: Projector;
  queries: SqliteDeadlineQueries;
  policies: DeadlinePolicySet;
  /** Appends facts and waits until the read models include them. */
  append(events: readonly TransitionEvent[]): Promise<void>;
  close(): Promise<void>;
}

export interface TestbedOptions {
  now?: Date;
  policies?: DeadlinePolicySet;
  store?: SqliteEventStore;
  eventsFile?: string;
  readModelFile?: string;
  batchSize?: number;
}

export async function deadlineTestbed(options: TestbedOptions = {}): Promise<DeadlineTestbed> {
  const policies = options.policies ?? loadPolicies(undefined);
  const ownStore = options.store === undefined;
  const store = options.store ?? (await SqliteEventStore.open({ file: options.eventsFile ?? ':memory:', clock: new ManualClock(options.now ?? new Date('2026-06-01T12:00:00+02:00')) }));
  const readModel = new SqliteReadModel({
    file: options.readModelFile ?? ':memory:',
    projection: { units, handoverAcceptanceDue: (ms) => policies.calendar.addWorkingDays(ms, 10) },
    configFingerprint: 'deadlines-test',
    derived: [deadlineDerivation({ policies, units })],
  });
  const projector = new Projector({ store, target: readModel, ...(options.batchSize ? { batchSize: options.batchSize } : {}) });
  await projector.start();
  return {
    store,
    readModel,
    projector,
    policies,
    queries: new SqliteDeadlineQueries(readModel.database, policies),
    async append(events) {
      const { appended } = await store.appendBatch(events);
      const last = appended.at(-1)?.globalPosition;
      if (last !== undefined) await projector.waitFor(last);
    },
    async close() {
      await projector.stop();
      if (ownStore) await store.close();
      readModel.close();
    },
  };
}

/** A fact about one citizen, as a source system would send it. */
export function fact<T extends EventType>(citizenId: string, type: T, occurredAt: string, data: EventData<T>): TransitionEvent {
  return { id: randomUUID(), citizenId, occurredAt, source: 'test', type, data } as TransitionEvent;
}
