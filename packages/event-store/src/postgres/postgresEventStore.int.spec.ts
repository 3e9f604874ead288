/**
 * The PostgreSQL event store against a real server (DATABASE_URL, else testcontainers, else skipped with
 * the reason): the unchanged contract suite, then what is particular to PostgreSQL — above all that
 * readers never see positions out of order when transactions try to commit in another order than they
 * started (the lost-event pitfall), shown first to be detectable on a naive sequence-numbered table.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '@tracker/domain';
import { ManualClock } from '@tracker/domain';
import { eventStoreContract } from '../contract/eventStoreContract.ts';
import { caseOpened, casesOpened, citizenIds, citizenRegistered, collector, idsOf, positionsOf } from '../contract/testEvents.ts';
import { WrongExpectedVersionError } from '../eventStore.ts';
import { POSTGRES_EVENT_STORE_SCHEMA_VERSION, PostgresEventStore, PostgresEventStoreError } from './postgresEventStore.ts';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from './testDatabase.ts';

const database = await testDatabase();
if (database.skipped) reportSkipped('PostgresEventStore tests', database.skipped);
const url = database.url ?? '';
const schema = freshSchemaName();
const schemas = [schema];

const suite = database.skipped ? describe.skip : describe;

afterAll(async () => {
  if (database.skipped !== undefined) return;
  for (const s of schemas) await dropSchema(url, s);
  await database.stop();
});

suite(`PostgreSQL event store${database.skipped ? ` (${database.skipped})` : ''}`, () => {
  eventStoreContract('PostgreSQL', async () => {
    const store = await PostgresEventStore.open({ connectionString: url, schema });
    return { store, dispose: () => store.close() };
  });

  describe('PostgresEventStore', () => {
    let own: string;
    let store: PostgresEventStore;
    let clock: ManualClock;
    let sql: pg.Client;

    const open = (options: Partial<Parameters<typeof PostgresEventStore.open>[0]> = {}) =>
      PostgresEventStore.open({ connectionString: url, schema: own, clock, ...options });

    beforeEach(async () => {
      own = freshSchemaName(); // an empty store per test
      schemas.push(own);
      clock = new ManualClock('2025-03-01T08:00:00Z');
      store = await open();
      sql = new pg.Client({ connectionString: url });
      await sql.connect();
    });

    afterEach(async () => {
      await store.close();
      await sql.end();
    });

    it('starts empty; positions are 1-based and dense, a failed append leaves no hole', async () => {
      expect(await store.headPosition()).toBe(0);
      await store.appendToStream('c-1', casesOpened('c-1', 2));
      await expect(store.appendToStream('c-1', [caseOpened('c-1')], { expectedVersion: 'no_stream' })).rejects.toThrow(WrongExpectedVersionError);
      await expect(store.appendBatch([caseOpened('c-2'), { ...caseOpened('c-3'), data: { n: 1n } as never }])).rejects.toThrow(TypeError);
      await store.appendBatch([caseOpened('c-2'), caseOpened('c-3')]);
      expect(positionsOf(await store.readAll())).toEqual([1, 2, 3, 4]);
    });

    it('records recordedAt from the injected clock', async () => {
      const first = await store.appendToStream('c-1', [caseOpened('c-1')]);
      clock.advance(90_000);
      await store.appendBatch([caseOpened('c-1')]);
      expect(first.appended[0]!.recordedAt).toBe('2025-03-01T08:00:00.000Z');
      expect((await store.readStream('c-1')).map((e) => e.recordedAt)).toEqual(['2025-03-01T08:00:00.000Z', '2025-03-01T08:01:30.000Z']);
    });

    it('reopening gives back the same events and continues positions, versions and idempotency', async () => {
      await store.appendToStream('c-1', casesOpened('c-1', 2));
      await store.appendBatch([caseOpened('c-2'), citizenRegistered('c-1', { source: 'dubu' })]);
      const before = await store.readAll();
      await store.close();

      store = await open();
      expect(await store.readAll()).toEqual(before);
      const { appended } = await store.appendToStream('c-1', [caseOpened('c-1')], { expectedVersion: 2 });
      expect(appended[0]).toMatchObject({ globalPosition: 5, streamVersion: 3 });
      expect((await store.appendBatch([before[0]!])).duplicates).toEqual([before[0]!.id]);
    });

    it('keeps its schema version, migrates once when several processes open at the same time, refuses a newer schema', async () => {
      const racing = freshSchemaName();
      schemas.push(racing);
      const stores = await Promise.all(Array.from({ length: 4 }, () => open({ schema: racing })));
      await Promise.all(stores.map((s) => s.close()));
      const { rows } = await sql.query(`SELECT version FROM "${racing}".event_store_schema`);
      expect(rows).toEqual([{ version: POSTGRES_EVENT_STORE_SCHEMA_VERSION }]);

      await sql.query(`UPDATE "${racing}".event_store_schema SET version = version + 1`);
      await expect(open({ schema: racing })).rejects.toThrow(/newer than this software supports/);
    });

    it('refuses a schema name that is not a plain identifier', async () => {
      await expect(open({ schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(TypeError);
    });

    it('reports a database failure by SQLSTATE, never with event data, and stores nothing of the request', async () => {
      await sql.query(`CREATE FUNCTION "${own}".poison() RETURNS trigger LANGUAGE plpgsql AS $$
                       BEGIN RAISE EXCEPTION 'poisoned: %', NEW.data::text USING ERRCODE = 'P0001'; END $$`);
      await sql.query(`CREATE TRIGGER poison BEFORE INSERT ON "${own}".events FOR EACH ROW
                       WHEN (NEW.citizen_id = 'c-poison') EXECUTE FUNCTION "${own}".poison()`);
      const error = await store.appendBatch([citizenRegistered('c-1'), citizenRegistered('c-poison')]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PostgresEventStoreError);
      expect(error).toMatchObject({ code: 'P0001' });
      expect(String((error as Error).message)).not.toMatch(/Testesen|2008-05-17|0751/);
      expect(await store.readAll()).toEqual([]);
    });

    describe('positions in commit order (the lost-event pitfall)', () => {
      /** Reads after its checkpoint over and over, as a subscriber does, recording what it sees. */
      function poller(read: (after: number) => Promise<number[]>) {
        const seen: number[] = [];
        let running = true;
        const loop = (async () => {
          while (running) {
            const positions = await read(seen.at(-1) ?? 0);
            seen.push(...positions);
            await new Promise((resolve) => setImmediate(resolve));
          }
        })();
        return {
          seen,
          stop: async () => {
            running = false;
            await loop;
            seen.push(...(await read(seen.at(-1) ?? 0))); // a final read after everything committed
          },
        };
      }

      /** Resolves once the client's backend waits for a lock (its append is queued behind another). */
      async function waitingForLock(client: pg.Client): Promise<void> {
        const pid = (client as unknown as { processID: number }).processID;
        for (let i = 0; i < 500; i++) {
          const { rows } = await sql.query<{ wait: string | null }>('SELECT wait_event_type AS wait FROM pg_stat_activity WHERE pid = $1', [pid]);
          if (rows[0]?.wait === 'Lock') return;
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        throw new Error('the append did not queue for the lock');
      }

      it('control: on a table numbered by a sequence, a reader does skip an event (the test can see the pitfall)', async () => {
        await sql.query(`CREATE TABLE "${own}".naive (position bigserial PRIMARY KEY, payload text)`);
        const t1 = new pg.Client({ connectionString: url });
        const t2 = new pg.Client({ connectionString: url });
        await Promise.all([t1.connect(), t2.connect()]);
        try {
          await t1.query('BEGIN');
          await t1.query(`INSERT INTO "${own}".naive (payload) VALUES ('first')`); // takes position 1, not committed
          await t2.query('BEGIN');
          await t2.query(`INSERT INTO "${own}".naive (payload) VALUES ('second')`); // takes position 2
          await t2.query('COMMIT'); // commits before t1

          const read = async (after: number) =>
            (await sql.query<{ position: string }>(`SELECT position FROM "${own}".naive WHERE position > $1 ORDER BY position`, [after])).rows.map((r) =>
              Number(r.position),
            );
          const seen = await read(0); // [2]: the checkpoint moves past 1
          await t1.query('COMMIT');
          seen.push(...(await read(seen.at(-1)!)));

          expect(seen).toEqual([2]);
          expect(await read(0)).toEqual([1, 2]); // position 1 exists, but that reader will never see it
        } finally {
          await Promise.all([t1.end(), t2.end()]);
        }
      });

      it('transactions that try to commit in reverse order of their start are seen in position order, nothing skipped', async () => {
        const transactions = 8;
        const perTransaction = 3;
        const c = citizenIds();
        const received = collector();
        const subscription = store.subscribeToAll({ after: 0, batchSize: 1 }, received.handler);
        await subscription.caughtUp;
        const reader = poller(async (after) => positionsOf(await store.readAll({ after })));

        // Each transaction calls the store's append function and stays open afterwards; the later ones
        // are started while the earlier ones are still open, then COMMIT is sent last-started first.
        const clients = Array.from({ length: transactions }, () => new pg.Client({ connectionString: url }));
        await Promise.all(clients.map((client) => client.connect()));
        try {
          const appended: Promise<pg.QueryResult>[] = [];
          for (const [t, client] of clients.entries()) {
            await client.query('BEGIN');
            const events = casesOpened(c(t), perTransaction);
            appended.push(
              client.query(`SELECT positions FROM "${own}".append_events(NULL, NULL, $1, $2, $3, $4, $5, $6, now())`, [
                idsOf(events),
                events.map((e) => e.citizenId),
                events.map((e) => e.type),
                events.map((e) => e.occurredAt),
                events.map(() => null),
                events.map((e) => JSON.stringify(e.data)),
              ]),
            );
            if (t === 0) await appended[0]; // it has inserted its rows, uncommitted, and holds the lock
            else await waitingForLock(client); // queued behind the open ones, in start order
          }
 // the first has inserted its rows (uncommitted); the others wait behind it
          await new Promise((resolve) => setTimeout(resolve, 50)); // let the readers look while it is open
          expect(reader.seen).toEqual([]);

          const commitOrder: number[] = [];
          const commits = clients
            .map((client, t) => ({ client, t }))
            .reverse()
            .map(({ client, t }) => client.query('COMMIT').then(() => commitOrder.push(t)));
          await Promise.all(commits);
          await received.until(transactions * perTransaction);
          await reader.stop();
          await subscription.stop();

          const positions = await Promise.all(appended.map(async (a) => (await a).rows[0].positions.map(Number) as number[]));
          // Numbered in the order the transactions took the lock, so they became visible in that order.
          expect(positions.flat()).toEqual(Array.from({ length: transactions * perTransaction }, (_, i) => i + 1));
          expect(commitOrder).toEqual(Array.from({ length: transactions }, (_, t) => t));
          const all = await store.readAll();
          expect(positionsOf(received.events)).toEqual(positionsOf(all));
          expect(reader.seen).toEqual(positionsOf(all));
        } finally {
          await Promise.all(clients.map((client) => client.end()));
        }
      });

      it('appends held open inside the database and released in reverse order: every reader sees every event once, in order', async () => {
        // A gate per citizen: the insert of a 'gate-*' event waits until the test releases that gate.
        await sql.query(`CREATE FUNCTION "${own}".gate() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN PERFORM pg_advisory_lock_shared(7, hashtext(NEW.citizen_id)); PERFORM pg_advisory_unlock_shared(7, hashtext(NEW.citizen_id)); RETURN NEW; END $$`);
        await sql.query(`CREATE TRIGGER gate BEFORE INSERT ON "${own}".events FOR EACH ROW
                         WHEN (NEW.citizen_id LIKE 'gate-%') EXECUTE FUNCTION "${own}".gate()`);
        const gates = ['gate-a', 'gate-b', 'gate-c', 'gate-d'];
        for (const g of gates) await sql.query('SELECT pg_advisory_lock(7, hashtext($1))', [g]);

        const readers = await Promise.all([open({ pollIntervalMs: 5 }), open({ pollIntervalMs: 60_000 })]);
        const subscribers = readers.map((r) => {
          const received = collector();
          return { received, subscription: r.subscribeToAll({ after: 0, batchSize: 1 }, received.handler) };
        });
        await Promise.all(subscribers.map((s) => s.subscription.caughtUp));
        const reader = poller(async (after) => positionsOf(await readers[0]!.readAll({ after })));

        const writes: Promise<unknown>[] = [];
        for (const g of gates) {
          writes.push(store.appendToStream(g, casesOpened(g, 2)));
          writes.push(store.appendBatch([caseOpened(`free-${g}`), caseOpened(g)]));
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(await store.headPosition()).toBe(0); // the first append holds the lock at its gate

        for (const g of [...gates].reverse()) await sql.query('SELECT pg_advisory_unlock(7, hashtext($1))', [g]);
        await Promise.all(writes);
        const all = await store.readAll();
        expect(all).toHaveLength(gates.length * 4);
        for (const { received } of subscribers) await received.until(all.length);
        await reader.stop();
        for (const { subscription } of subscribers) await subscription.stop();
        await Promise.all(readers.map((r) => r.close()));

        expect(positionsOf(all)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
        for (const { received } of subscribers) expect(received.events).toEqual(all);
        expect(reader.seen).toEqual(positionsOf(all));
      });
    });

    describe('subscribers in other processes', () => {
      it('are woken by NOTIFY: many concurrent writers in two processes, each event delivered once, in order', async () => {
        const writers = await Promise.all([open(), open()]);
        const listening = await open({ pollIntervalMs: 60_000 }); // no polling to speak of: only NOTIFY wakes it
        const received = collector();
        const subscription = listening.subscribeToAll({ after: 0 }, received.handler);
        await subscription.caughtUp;

        const c = citizenIds();
        await Promise.all(
          Array.from({ length: 120 }, (_, i) =>
            i % 3 === 0 ? writers[i % 2]!.appendBatch([caseOpened(c(i)), caseOpened(c(i + 1))]) : writers[i % 2]!.appendToStream(c(i), [caseOpened(c(i))]),
          ),
        );
        const all = await store.readAll();
        await received.until(all.length);
        await subscription.stop();
        expect(received.events).toEqual(all);
        await Promise.all([...writers, listening].map((s) => s.close()));
      });

      it('keep receiving when the LISTEN connection is killed: polling covers, and the listener reconnects', async () => {
        const listening = await open({ pollIntervalMs: 100 });
        const received = collector();
        const subscription = listening.subscribeToAll({ after: 0 }, received.handler);
        await subscription.caughtUp;
        const writer = await open();
        await writer.appendToStream('c-1', [caseOpened('c-1')]);
        await received.until(1);

        let killed = 0;
        for (let i = 0; i < 200 && killed === 0; i++) {
          // The LISTEN connection is opened in the background; wait (bounded) until it shows up.
          const result = await sql.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()`,
            [`LISTEN "tracker_events_${own}"`],
          );
          killed = result.rowCount ?? 0;
          if (killed === 0) await new Promise((resolve) => setTimeout(resolve, 10));
        }
        expect(killed).toBe(1);
        await writer.appendToStream('c-1', [caseOpened('c-1')]);
        await received.until(2);
        await writer.appendBatch([caseOpened('c-2'), caseOpened('c-3')]);
        await received.until(4);
        await subscription.stop();
        expect(received.events).toEqual(await store.readAll());
        await Promise.all([listening.close(), writer.close()]);
      });
    });

    it('a subscription whose database read fails stops and reports the error on done', async () => {
      const polling = await open({ pollIntervalMs: 20 });
      const subscription = polling.subscribeToAll({ after: 0 }, () => {});
      await subscription.caughtUp;
      await sql.query(`ALTER TABLE "${own}".events RENAME TO events_gone`);
      try {
        await expect(subscription.done).rejects.toBeInstanceOf(PostgresEventStoreError);
      } finally {
        await sql.query(`ALTER TABLE "${own}".events_gone RENAME TO events`);
        await polling.close();
      }
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
      for (const error of errors) expect(`${error.message} ${String((error.cause as Error | undefined)?.message ?? '')}`).not.toMatch(/Testesen|2008-05-17|0751/);
    });

    it('hands a large backlog over in full batches in order', async () => {
      await store.appendBatch(Array.from({ length: 1_050 }, (_, i) => caseOpened(`c-${i % 7}`)));
      const received = collector();
      const subscription = store.subscribeToAll({ after: 0 }, received.handler);
      await subscription.caughtUp;
      await subscription.stop();
      expect(received.batchSizes).toEqual([500, 500, 50]);
      expect(positionsOf(received.events)).toEqual(Array.from({ length: 1_050 }, (_, i) => i + 1));
      const streams = new Map<string, StoredEvent[]>();
      for (const e of received.events) streams.set(e.citizenId, [...(streams.get(e.citizenId) ?? []), e]);
      for (const events of streams.values()) expect(events.map((e) => e.streamVersion)).toEqual(events.map((_, i) => i));
    });
  });
});
