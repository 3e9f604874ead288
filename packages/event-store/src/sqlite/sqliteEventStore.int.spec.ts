import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import { eventStoreContract } from '../contract/eventStoreContract.ts';
import { caseOpened, casesOpened, citizenRegistered, collector, idsOf, positionsOf } from '../contract/testEvents.ts';
import { WrongExpectedVersionError } from '../eventStore.ts';
import { SQLITE_EVENT_STORE_SCHEMA_VERSION, SqliteEventStore } from './sqliteEventStore.ts';

const tempDirs: string[] = [];
const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracker-event-store-'));
  tempDirs.push(dir);
  return join(dir, 'data', 'events.sqlite'); // 'data' does not exist yet: open creates it
};

afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

eventStoreContract('SQLite (file)', async () => {
  const store = await SqliteEventStore.open({ file: tempFile() });
  return { store, dispose: () => store.close() };
});

describe('SqliteEventStore', () => {
  let file: string;
  let clock: ManualClock;
  let store: SqliteEventStore;

  beforeEach(async () => {
    file = tempFile();
    clock = new ManualClock('2025-03-01T08:00:00Z');
    store = await SqliteEventStore.open({ file, clock });
  });

  afterEach(async () => {
    await store.close();
  });

  it('starts empty at head position 0', async () => {
    expect(await store.headPosition()).toBe(0);
    expect(await store.readAll()).toEqual([]);
    expect(store.stats()).toEqual({ commits: 0, appendsCommitted: 0, appendsFailed: 0, eventsCommitted: 0, largestGroup: 0 });
  });

  it('positions are 1-based and dense', async () => {
    await store.appendToStream('c-1', casesOpened('c-1', 2));
    await expect(store.appendToStream('c-1', [caseOpened('c-1')], { expectedVersion: 'no_stream' })).rejects.toThrow();
    await store.appendBatch([caseOpened('c-2'), caseOpened('c-3')]);
    expect(positionsOf(await store.readAll())).toEqual([1, 2, 3, 4]);
  });

  it('records recordedAt from the injected clock', async () => {
    const first = await store.appendToStream('c-1', [caseOpened('c-1')]);
    clock.advance(90_000);
    const second = await store.appendBatch([caseOpened('c-1')]);
    expect(first.appended[0]!.recordedAt).toBe('2025-03-01T08:00:00.000Z');
    expect(second.appended[0]!.recordedAt).toBe('2025-03-01T08:01:30.000Z');
    expect((await store.readStream('c-1')).map((e) => e.recordedAt)).toEqual(['2025-03-01T08:00:00.000Z', '2025-03-01T08:01:30.000Z']);
  });

  it('reopening the file gives back the same events and continues positions and versions', async () => {
    await store.appendToStream('c-1', casesOpened('c-1', 2));
    await store.appendBatch([caseOpened('c-2'), citizenRegistered('c-1', { source: 'dubu' })]);
    const before = await store.readAll();
    await store.close();

    store = await SqliteEventStore.open({ file, clock });
    expect(await store.readAll()).toEqual(before);
    expect(await store.headPosition()).toBe(4);
    const { appended } = await store.appendToStream('c-1', [caseOpened('c-1')], { expectedVersion: 2 });
    expect(appended[0]).toMatchObject({ globalPosition: 5, streamVersion: 3 });
    // Idempotency survives the restart too.
    expect((await store.appendBatch([before[0]!])).duplicates).toEqual([before[0]!.id]);
  });

  it('close() commits pending appends durably: they are there after reopening', async () => {
    const pending = Array.from({ length: 20 }, (_, i) => store.appendToStream(`c-${i}`, [caseOpened(`c-${i}`)]));
    await store.close();
    const results = await Promise.all(pending);
    store = await SqliteEventStore.open({ file, clock });
    expect(idsOf(await store.readAll())).toEqual(results.flatMap((r) => idsOf(r.appended)));
  });

  describe('schema', () => {
    it('is WAL, versioned in user_version, and opening again is idempotent', async () => {
      await store.appendToStream('c-1', [caseOpened('c-1')]);
      await store.close();
      store = await SqliteEventStore.open({ file });
      expect(await store.readAll()).toHaveLength(1);

      const db = new Database(file, { readonly: true });
      try {
        expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_EVENT_STORE_SCHEMA_VERSION);
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        const indexes = db.prepare("SELECT name FROM pragma_index_list('events')").pluck().all();
        expect(indexes).toHaveLength(2); // unique event_id, unique (citizen_id, stream_version)
      } finally {
        db.close();
      }
    });

    it('refuses a file written by a newer schema version', async () => {
      await store.close();
      const db = new Database(file);
      db.pragma(`user_version = ${SQLITE_EVENT_STORE_SCHEMA_VERSION + 1}`);
      db.close();
      await expect(SqliteEventStore.open({ file })).rejects.toThrow(/schema version 2, newer than this software supports/);
    });

    it("works in memory (':memory:')", async () => {
      const memory = await SqliteEventStore.open({ file: ':memory:' });
      await memory.appendToStream('c-1', casesOpened('c-1', 2));
      expect(await memory.readStream('c-1')).toHaveLength(2);
      await memory.close();
    });
  });

  describe('group commit', () => {
    it('commits concurrent appends together in one transaction', async () => {
      const results = await Promise.all(
        Array.from({ length: 64 }, (_, i) => store.appendToStream(`c-${i}`, casesOpened(`c-${i}`, 2), { expectedVersion: 'no_stream' })),
      );
      expect(results.every((r) => r.appended.length === 2)).toBe(true);
      expect(store.stats()).toEqual({ commits: 1, appendsCommitted: 64, appendsFailed: 0, eventsCommitted: 128, largestGroup: 64 });
    });

    it('commits a lone writer append by append', async () => {
      for (let i = 1; i <= 5; i++) {
        await store.appendToStream('c-1', [caseOpened('c-1')]);
        expect(store.stats().commits).toBe(i);
      }
    });

    it('rolls back only the failing append of a group (its own savepoint)', async () => {
      await store.appendToStream('c-0', [caseOpened('c-0')]);
      // A trigger makes the database itself fail in the middle of one request.
      const other = new Database(file);
      other.exec(`CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.citizen_id = 'c-poison'
                  BEGIN SELECT RAISE(ABORT, 'poisoned'); END;`);
      other.close();

      const outcomes = await Promise.allSettled([
        store.appendToStream('c-1', [caseOpened('c-1')]),
        store.appendBatch([caseOpened('c-2'), caseOpened('c-3'), caseOpened('c-poison'), caseOpened('c-4')]),
        store.appendToStream('c-0', [caseOpened('c-0')], { expectedVersion: 'no_stream' }),
        store.appendToStream('c-5', casesOpened('c-5', 2)),
      ]);

      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'poisoned' });
      expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
      const all = await store.readAll();
      expect(all.map((e) => e.citizenId)).toEqual(['c-0', 'c-1', 'c-5', 'c-5']);
      expect(positionsOf(all)).toEqual([1, 2, 3, 4]); // no hole where the rolled-back batch was
      expect(store.stats()).toMatchObject({ commits: 2, appendsCommitted: 3, appendsFailed: 2, largestGroup: 4 });
    });

    it('a database failure in the middle of a batch stores none of it', async () => {
      const other = new Database(file);
      other.exec(`CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.citizen_id = 'c-poison'
                  BEGIN SELECT RAISE(ABORT, 'poisoned'); END;`);
      other.close();
      await expect(store.appendBatch([caseOpened('c-1'), caseOpened('c-2'), caseOpened('c-poison')])).rejects.toThrow('poisoned');
      expect(await store.readAll()).toEqual([]);
    });
  });

  describe('subscriptions', () => {
    it('done resolves when the subscription is stopped', async () => {
      const subscription = store.subscribeToAll({ after: 0 }, () => {});
      await subscription.caughtUp;
      await subscription.stop();
      await expect(subscription.done).resolves.toBeUndefined();
    });

    it('a live handler failure stops the subscription and rejects done with the error', async () => {
      const failure = new Error('projection failed');
      const received = collector();
      const subscription = store.subscribeToAll({ after: 0 }, (batch) => {
        if (batch.some((e) => e.citizenId === 'c-bad')) throw failure;
        received.handler(batch);
      });
      await subscription.caughtUp;
      await store.appendToStream('c-1', [caseOpened('c-1')]);
      await received.until(1);
      await store.appendToStream('c-bad', [caseOpened('c-bad')]);
      await expect(subscription.done).rejects.toBe(failure);

      await store.appendToStream('c-2', [caseOpened('c-2')]);
      await subscription.stop();
      expect(received.events.map((e) => e.citizenId)).toEqual(['c-1']);
      await expect(subscription.caughtUp).resolves.toBeUndefined(); // it had caught up before failing
    });

    it('done resolves when the store closes', async () => {
      const subscription = store.subscribeToAll({ after: 0 }, () => {});
      await store.close();
      await expect(subscription.done).resolves.toBeUndefined();
    });

    it('hands a large backlog over in full batches in order', async () => {
      await store.appendBatch(Array.from({ length: 1_050 }, (_, i) => caseOpened(`c-${i % 7}`)));
      const received = collector();
      const subscription = store.subscribeToAll({ after: 0 }, received.handler);
      await subscription.caughtUp;
      await subscription.stop();
      expect(received.batchSizes).toEqual([500, 500, 50]);
      expect(positionsOf(received.events)).toEqual(Array.from({ length: 1_050 }, (_, i) => i + 1));
    });

    it('never calls the handler inside subscribeToAll', async () => {
      await store.appendToStream('c-1', [caseOpened('c-1')]);
      const received = collector();
      const subscription = store.subscribeToAll({ after: 0 }, received.handler);
      expect(received.events).toEqual([]);
      await subscription.caughtUp;
      expect(received.events).toHaveLength(1);
      await subscription.stop();
    });

    it('a long catch-up with a synchronous handler does not starve appends', async () => {
      await store.appendBatch(Array.from({ length: 2_000 }, (_, i) => caseOpened(`c-${i % 7}`)));
      const received = collector();
      const subscription = store.subscribeToAll({ after: 0, batchSize: 10 }, received.handler);
      await store.appendToStream('c-late', [caseOpened('c-late')]);
      expect(received.events.length).toBeLessThan(2_000); // the append committed during the catch-up
      await received.until(2_001);
      await subscription.stop();
    });
  });

  describe('input and errors', () => {
    it('rejects an invalid expected version or read option', async () => {
      await expect(store.appendToStream('c-1', [caseOpened('c-1')], { expectedVersion: -2 })).rejects.toThrow(TypeError);
      await expect(store.appendToStream('c-1', [caseOpened('c-1')], { expectedVersion: 1.5 })).rejects.toThrow(TypeError);
      await expect(store.readAll({ maxCount: -1 })).rejects.toThrow(TypeError);
      expect(() => store.subscribeToAll({ after: 0, batchSize: 0 }, () => {})).toThrow(TypeError);
    });

    it('never puts event data into error messages', async () => {
      const unexpected = (): Error => new Error('expected a rejection');
      const personal = citizenRegistered('c-1');
      await store.appendToStream('c-1', [personal]);
      const errors: Error[] = await Promise.all([
        store.appendToStream('c-1', [citizenRegistered('c-1')], { expectedVersion: 'no_stream' }).then(unexpected, (e: Error) => e),
        store.appendToStream('c-2', [personal, citizenRegistered('c-1')]).then(unexpected, (e: Error) => e),
        store.appendBatch([{ ...personal, id: 'x', data: { ...personal.data, big: 1n } } as never]).then(unexpected, (e: Error) => e),
      ]);
      expect(errors.map((e) => e.name)).toEqual(['WrongExpectedVersionError', 'TypeError', 'TypeError']);
      for (const error of errors) {
        expect(`${error.message} ${String((error.cause as Error | undefined)?.message ?? '')}`).not.toMatch(/Testesen|2008-05-17|0751/);
      }
    });
  });
});
