/**
 * The contract every EventStore adapter passes unchanged (embedded SQLite, PostgreSQL, EventStoreDB).
 * An adapter is done when this suite is green against the real engine.
 *
 * `open` gives a store per test; `dispose` releases it and must tolerate a store that the test has already
 * closed. The suite does not assume an empty store: it uses citizen ids unique to each test and reads
 * relative to the head position at the start of the test, so it also runs against a shared server.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEvent, TransitionEvent } from '@tracker/domain';
import { WrongExpectedVersionError, type EventStore } from '../eventStore.ts';
import { EventStoreClosedError } from '../errors.ts';
import {
  caseOpened,
  casesOpened,
  citizenIds,
  citizenRegistered,
  collector,
  deferred,
  idsOf,
  meetingHeld,
  positionsOf,
  unserialisable,
} from './testEvents.ts';

export interface OpenedStore {
  store: EventStore;
  dispose(): Promise<void>;
}

const strictlyIncreasing = (values: number[]) => values.every((v, i) => i === 0 || v > values[i - 1]!);

/** Lets the event loop turn a few times (not a sleep: no time passes on any clock). */
const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

export function eventStoreContract(adapterName: string, open: () => Promise<OpenedStore>): void {
  describe(`EventStore contract: ${adapterName}`, () => {
    let opened: OpenedStore;
    let store: EventStore;
    let c: (n: number | string) => string;
    let start: number;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      c = citizenIds();
      start = await store.headPosition();
    });

    afterEach(async () => {
      await opened.dispose();
    });

    const readNew = (maxCount?: number) => store.readAll({ after: start, ...(maxCount !== undefined ? { maxCount } : {}) });

    describe('append and read', () => {
      it('round-trips every envelope field', async () => {
        const sent: TransitionEvent[] = [
          caseOpened(c(1), { source: 'dubu', occurredAt: '2025-03-01T09:30:00+01:00' }),
          meetingHeld(c(1), { occurredAt: '2024-12-31T23:59:59.123Z' }),
          citizenRegistered(c(1), { source: 'coordinator-ui', occurredAt: '2025-06-01T08:00:00+02:00' }),
        ];
        const result = await store.appendToStream(c(1), sent, { expectedVersion: 'no_stream' });

        expect(result.duplicates).toEqual([]);
        expect(result.nextExpectedVersion).toBe(2);
        expect(result.appended).toHaveLength(3);
        result.appended.forEach((stored, i) => {
          expect(stored).toEqual({ ...sent[i], recordedAt: expect.any(String), streamVersion: i, globalPosition: expect.any(Number) });
          expect(Number.isNaN(Date.parse(stored.recordedAt))).toBe(false);
        });
        expect(result.appended[1]!.source).toBeUndefined();

        const stream = await store.readStream(c(1));
        expect(stream).toEqual(result.appended);
        expect(stream.map((e) => e.occurredAt)).toEqual(sent.map((e) => e.occurredAt)); // as sent, offset kept
        expect(await readNew()).toEqual(result.appended);
      });

      it('reads an unknown stream as empty', async () => {
        expect(await store.readStream(c('nobody'))).toEqual([]);
      });

      it('reads a stream from a version, at most maxCount events', async () => {
        const { appended } = await store.appendToStream(c(1), casesOpened(c(1), 5));
        expect(await store.readStream(c(1), { fromVersion: 2 })).toEqual(appended.slice(2));
        expect(await store.readStream(c(1), { fromVersion: 1, maxCount: 2 })).toEqual(appended.slice(1, 3));
        expect(await store.readStream(c(1), { maxCount: 1 })).toEqual(appended.slice(0, 1));
        expect(await store.readStream(c(1), { fromVersion: 5 })).toEqual([]);
      });

      it('reads all streams in global order after a checkpoint, at most maxCount events', async () => {
        const appended: StoredEvent[] = [];
        for (let i = 0; i < 5; i++) appended.push(...(await store.appendToStream(c(i % 2), [caseOpened(c(i % 2))])).appended);

        expect(await readNew()).toEqual(appended);
        expect(await readNew(2)).toEqual(appended.slice(0, 2));
        expect(await store.readAll({ after: appended[1]!.globalPosition, maxCount: 2 })).toEqual(appended.slice(2, 4));
        expect(await store.readAll({ after: appended[3]!.globalPosition })).toEqual(appended.slice(4));
        expect(await store.readAll({ after: appended[4]!.globalPosition })).toEqual([]);
      });

      it('gives strictly increasing global positions in commit order, and the head is the last one', async () => {
        const appended: StoredEvent[] = [];
        for (let i = 0; i < 6; i++) appended.push(...(await store.appendToStream(c(i % 3), casesOpened(c(i % 3), 2))).appended);
        appended.push(...(await store.appendBatch([caseOpened(c(7)), caseOpened(c(8))])).appended);

        const positions = positionsOf(appended);
        expect(strictlyIncreasing(positions)).toBe(true);
        expect(positions[0]).toBeGreaterThan(start);
        expect(positionsOf(await readNew())).toEqual(positions);
        expect(await store.headPosition()).toBe(positions.at(-1));
      });

      it('numbers each stream from 0 without gaps', async () => {
        await store.appendToStream(c(1), casesOpened(c(1), 2));
        await store.appendToStream(c(2), casesOpened(c(2), 1));
        await store.appendToStream(c(1), casesOpened(c(1), 3));
        expect((await store.readStream(c(1))).map((e) => e.streamVersion)).toEqual([0, 1, 2, 3, 4]);
        expect((await store.readStream(c(2))).map((e) => e.streamVersion)).toEqual([0]);
      });

      it('refuses an event that belongs to another stream, storing nothing', async () => {
        await expect(store.appendToStream(c(1), [caseOpened(c(1)), caseOpened(c(2))])).rejects.toThrow();
        expect(await readNew()).toEqual([]);
      });
    });

    describe('expected version', () => {
      it("'no_stream' and -1 require an empty stream", async () => {
        await store.appendToStream(c(1), [caseOpened(c(1))], { expectedVersion: 'no_stream' });
        await store.appendToStream(c(2), [caseOpened(c(2))], { expectedVersion: -1 });

        const error = await store.appendToStream(c(1), [caseOpened(c(1))], { expectedVersion: 'no_stream' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({ streamId: c(1), expected: 'no_stream', actual: 0 });
        await expect(store.appendToStream(c(2), [caseOpened(c(2))], { expectedVersion: -1 })).rejects.toBeInstanceOf(WrongExpectedVersionError);
      });

      it('a number must be the version of the last event', async () => {
        await store.appendToStream(c(1), casesOpened(c(1), 2));
        const result = await store.appendToStream(c(1), [caseOpened(c(1))], { expectedVersion: 1 });
        expect(result.nextExpectedVersion).toBe(2);
        expect(result.appended[0]!.streamVersion).toBe(2);

        for (const stale of [0, 1, 3, -1]) {
          const error = await store.appendToStream(c(1), [caseOpened(c(1))], { expectedVersion: stale }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(WrongExpectedVersionError);
          expect(error).toMatchObject({ streamId: c(1), expected: stale, actual: 2 });
        }
      });

      it("'any' (the default) appends whatever the version", async () => {
        await store.appendToStream(c(1), [caseOpened(c(1))], { expectedVersion: 'any' });
        const result = await store.appendToStream(c(1), [caseOpened(c(1))]);
        expect(result.nextExpectedVersion).toBe(1);
      });

      it('a conflict stores nothing of the append, and its ids stay unused', async () => {
        const first = await store.appendToStream(c(1), casesOpened(c(1), 2));
        const rejected = casesOpened(c(1), 3);
        await expect(store.appendToStream(c(1), rejected, { expectedVersion: 0 })).rejects.toBeInstanceOf(WrongExpectedVersionError);

        expect(await store.readStream(c(1))).toEqual(first.appended);
        expect(await readNew()).toEqual(first.appended);

        const retried = await store.appendToStream(c(1), rejected, { expectedVersion: 1 });
        expect(idsOf(retried.appended)).toEqual(idsOf(rejected));
        expect(retried.duplicates).toEqual([]);
      });
    });

    describe('idempotency by event id', () => {
      it('a repeated id is reported as a duplicate, not stored again', async () => {
        const event = caseOpened(c(1));
        await store.appendToStream(c(1), [event]);
        const again = await store.appendToStream(c(1), [event]);
        expect(again).toEqual({ appended: [], duplicates: [event.id], nextExpectedVersion: 0 });
        expect(await store.readStream(c(1))).toHaveLength(1);
      });

      it('an id stored in another stream is a duplicate too', async () => {
        const event = caseOpened(c(1));
        await store.appendToStream(c(1), [event]);
        const elsewhere = caseOpened(c(2), { id: event.id });
        const result = await store.appendToStream(c(2), [elsewhere, caseOpened(c(2))]);
        expect(result.duplicates).toEqual([event.id]);
        expect(result.appended).toHaveLength(1);
        expect(result.appended[0]!.streamVersion).toBe(0);
        expect(await store.readStream(c(2))).toEqual(result.appended);
      });

      it('an id repeated within one request is stored once', async () => {
        const a = caseOpened(c(1));
        const b = caseOpened(c(1));
        const result = await store.appendToStream(c(1), [a, { ...a }, b], { expectedVersion: 'no_stream' });
        expect(idsOf(result.appended)).toEqual([a.id, b.id]);
        expect(result.appended.map((e) => e.streamVersion)).toEqual([0, 1]);
        expect(result.duplicates).toEqual([a.id]);
        expect(result.nextExpectedVersion).toBe(1);
      });

      it('retrying an append whose events are all stored succeeds even with a stale expected version', async () => {
        const events = casesOpened(c(1), 2);
        await store.appendToStream(c(1), events, { expectedVersion: 'no_stream' });
        await store.appendToStream(c(1), [caseOpened(c(1))], { expectedVersion: 1 });

        const retry = await store.appendToStream(c(1), events, { expectedVersion: 'no_stream' });
        expect(retry.appended).toEqual([]);
        expect(retry.duplicates).toEqual(idsOf(events));
        expect(retry.nextExpectedVersion).toBe(2);
        expect(await store.readStream(c(1))).toHaveLength(3);
      });

      it('a partly stored retry with a stale expected version is a conflict', async () => {
        const events = casesOpened(c(1), 2);
        await store.appendToStream(c(1), events);
        await expect(
          store.appendToStream(c(1), [...events, caseOpened(c(1))], { expectedVersion: 'no_stream' }),
        ).rejects.toBeInstanceOf(WrongExpectedVersionError);
        expect(await store.readStream(c(1))).toHaveLength(2);
      });

      it('a partly stored retry with the right expected version appends the new events only', async () => {
        const events = casesOpened(c(1), 2);
        await store.appendToStream(c(1), events);
        const fresh = caseOpened(c(1));
        const result = await store.appendToStream(c(1), [...events, fresh], { expectedVersion: 1 });
        expect(result.duplicates).toEqual(idsOf(events));
        expect(idsOf(result.appended)).toEqual([fresh.id]);
        expect(result.appended[0]!.streamVersion).toBe(2);
      });
    });

    describe('appendBatch', () => {
      it('appends across streams, numbering each citizen in request order after what is stored', async () => {
        await store.appendToStream(c(1), [caseOpened(c(1))]);
        const batch = [caseOpened(c(1)), caseOpened(c(2)), meetingHeld(c(1)), caseOpened(c(3)), caseOpened(c(2))];
        const result = await store.appendBatch(batch);

        expect(result.duplicates).toEqual([]);
        expect(idsOf(result.appended)).toEqual(idsOf(batch));
        expect(result.appended.map((e) => [e.citizenId, e.streamVersion])).toEqual([
          [c(1), 1],
          [c(2), 0],
          [c(1), 2],
          [c(3), 0],
          [c(2), 1],
        ]);
        expect(strictlyIncreasing(positionsOf(result.appended))).toBe(true);
        expect(await store.readStream(c(2))).toEqual([result.appended[1], result.appended[4]]);
      });

      it('reports stored ids and ids repeated within the batch as duplicates', async () => {
        const stored = caseOpened(c(1));
        await store.appendToStream(c(1), [stored]);
        const x = caseOpened(c(2));
        const y = caseOpened(c(1));
        const result = await store.appendBatch([stored, x, { ...x }, y]);
        expect(result.duplicates).toEqual([stored.id, x.id]);
        expect(idsOf(result.appended)).toEqual([x.id, y.id]);
        expect(result.appended[1]!.streamVersion).toBe(1);
      });

      it('is all-or-nothing: a failure in the middle stores none of it', async () => {
        const good = [caseOpened(c(1)), caseOpened(c(2)), caseOpened(c(1))];
        await expect(store.appendBatch([...good.slice(0, 2), unserialisable(c(3)), good[2]!])).rejects.toThrow();
        expect(await readNew()).toEqual([]);

        const result = await store.appendBatch(good);
        expect(idsOf(result.appended)).toEqual(idsOf(good)); // the ids were not burnt by the failed batch
      });
    });

    describe('concurrency', () => {
      it('64 concurrent appends to distinct streams all succeed', async () => {
        const requests = Array.from({ length: 64 }, (_, i) => casesOpened(c(i), 2));
        const results = await Promise.all(requests.map((events, i) => store.appendToStream(c(i), events, { expectedVersion: 'no_stream' })));

        results.forEach((result, i) => {
          expect(idsOf(result.appended)).toEqual(idsOf(requests[i]!));
          expect(result.nextExpectedVersion).toBe(1);
          expect(strictlyIncreasing(positionsOf(result.appended))).toBe(true);
        });
        const all = await readNew();
        expect(all).toHaveLength(128);
        expect(strictlyIncreasing(positionsOf(all))).toBe(true);
        expect(new Set(idsOf(all))).toEqual(new Set(requests.flat().map((e) => e.id)));
      });

      it('concurrent appends at the same expected version: exactly one wins', async () => {
        const first = await store.appendToStream(c(1), [caseOpened(c(1))]);
        const contenders = Array.from({ length: 10 }, () => casesOpened(c(1), 2));
        const outcomes = await Promise.allSettled(contenders.map((events) => store.appendToStream(c(1), events, { expectedVersion: 0 })));

        const winners = outcomes.filter((o) => o.status === 'fulfilled');
        const losers = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(winners).toHaveLength(1);
        expect(losers).toHaveLength(9);
        for (const loser of losers) expect(loser.reason).toBeInstanceOf(WrongExpectedVersionError);

        const winner = contenders[outcomes.findIndex((o) => o.status === 'fulfilled')]!;
        expect(idsOf(await store.readStream(c(1)))).toEqual([...idsOf(first.appended), ...idsOf(winner)]);
      });

      it("concurrent 'no_stream' appends to a new stream: exactly one wins", async () => {
        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, () => store.appendToStream(c(1), [caseOpened(c(1))], { expectedVersion: 'no_stream' })),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        expect(await store.readStream(c(1))).toHaveLength(1);
      });

      it('a conflicting append does not disturb the appends committed beside it', async () => {
        await store.appendToStream(c(0), [caseOpened(c(0))]);
        const outcomes = await Promise.allSettled([
          store.appendToStream(c(1), [caseOpened(c(1))]),
          store.appendToStream(c(0), [caseOpened(c(0))], { expectedVersion: 'no_stream' }),
          store.appendBatch([caseOpened(c(2)), caseOpened(c(3))]),
          store.appendToStream(c(4), [caseOpened(c(4))], { expectedVersion: 'no_stream' }),
        ]);
        expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
        expect(await readNew()).toHaveLength(5);
      });
    });

    describe('subscribeToAll', () => {
      it('catches up in batches, then delivers live events, each exactly once and in order', async () => {
        for (let i = 0; i < 5; i++) await store.appendToStream(c(i % 2), [caseOpened(c(i % 2))]);
        const received = collector();
        const subscription = store.subscribeToAll({ after: start, batchSize: 2 }, received.handler);

        await subscription.caughtUp;
        expect(received.events.length).toBeGreaterThanOrEqual(5);
        expect(Math.max(...received.batchSizes)).toBeLessThanOrEqual(2);

        await Promise.all([
          store.appendToStream(c(5), casesOpened(c(5), 2)),
          store.appendBatch([caseOpened(c(6)), caseOpened(c(0))]),
          store.appendToStream(c(1), [caseOpened(c(1))]),
        ]);
        await received.until(10);
        await subscription.stop();

        const stored = await readNew();
        expect(stored).toHaveLength(10);
        expect(received.events).toEqual(stored);
        expect(Math.max(...received.batchSizes)).toBeLessThanOrEqual(2);
      });

      it('resumes from a checkpoint without repeats or gaps', async () => {
        await store.appendBatch(Array.from({ length: 6 }, (_, i) => caseOpened(c(i % 3))));
        const first = collector();
        const one = store.subscribeToAll({ after: start, batchSize: 4 }, first.handler);
        await one.caughtUp;
        await one.stop();
        const checkpoint = first.events.at(-1)!.globalPosition;

        await store.appendToStream(c(1), casesOpened(c(1), 2));
        const second = collector();
        const two = store.subscribeToAll({ after: checkpoint }, second.handler);
        await two.caughtUp;
        await two.stop();

        expect([...first.events, ...second.events]).toEqual(await readNew());

        // And from a checkpoint in the middle.
        const middle = first.events[2]!.globalPosition;
        const third = collector();
        const three = store.subscribeToAll({ after: middle, batchSize: 1 }, third.handler);
        await three.caughtUp;
        await three.stop();
        expect(third.events).toEqual(await store.readAll({ after: middle }));
      });

      it('resolves caughtUp on a store with nothing after the checkpoint, then delivers live events', async () => {
        const head = await store.headPosition();
        const received = collector();
        const subscription = store.subscribeToAll({ after: head }, received.handler);
        await subscription.caughtUp;
        expect(received.events).toEqual([]);

        const { appended } = await store.appendToStream(c(1), casesOpened(c(1), 3));
        await received.until(3);
        await subscription.stop();
        expect(received.events).toEqual(appended);
      });

      it('never runs the handler concurrently with itself', async () => {
        let running = 0;
        let maxRunning = 0;
        const received: StoredEvent[] = [];
        const allDelivered = deferred();
        const subscription = store.subscribeToAll({ after: start, batchSize: 3 }, async (batch) => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await new Promise<void>((resolve) => setImmediate(resolve));
          received.push(...batch);
          running--;
          if (received.length >= 40) allDelivered.resolve();
        });
        await subscription.caughtUp;
        await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendToStream(c(i), casesOpened(c(i), 2))));
        await allDelivered.promise;
        await subscription.stop();

        expect(maxRunning).toBe(1);
        expect(received).toEqual(await readNew());
      });

      it('stop() waits for the running handler and ends delivery', async () => {
        await store.appendToStream(c(1), [caseOpened(c(1))]);
        const entered = deferred();
        const gate = deferred();
        let calls = 0;
        let stopped = false;
        const subscription = store.subscribeToAll({ after: start }, async () => {
          calls++;
          entered.resolve();
          await gate.promise;
        });
        await entered.promise;
        const stopping = subscription.stop().then(() => (stopped = true));
        await turns();
        expect(stopped).toBe(false);

        gate.resolve();
        await stopping;
        await store.appendToStream(c(1), [caseOpened(c(1))]);
        await turns();
        expect(calls).toBe(1);
        await subscription.stop(); // stopping twice is harmless
      });

      it('stop() before catching up rejects caughtUp', async () => {
        await store.appendToStream(c(1), casesOpened(c(1), 3));
        const entered = deferred();
        const gate = deferred();
        const subscription = store.subscribeToAll({ after: start, batchSize: 1 }, async () => {
          entered.resolve();
          await gate.promise;
        });
        await entered.promise;
        const stopping = subscription.stop();
        gate.resolve();
        await stopping;
        await expect(subscription.caughtUp).rejects.toThrow();
      });

      it('a handler that throws stops the subscription and rejects caughtUp with its error', async () => {
        await store.appendToStream(c(1), casesOpened(c(1), 3));
        const failure = new Error('projection failed');
        let calls = 0;
        const subscription = store.subscribeToAll({ after: start, batchSize: 1 }, () => {
          calls++;
          throw failure;
        });
        await expect(subscription.caughtUp).rejects.toBe(failure);
        await subscription.stop();
        await store.appendToStream(c(1), [caseOpened(c(1))]);
        await turns();
        expect(calls).toBe(1);
      });
    });

    describe('close', () => {
      it('commits the appends still pending, then refuses every call', async () => {
        const pending = Array.from({ length: 10 }, (_, i) => store.appendToStream(c(i), [caseOpened(c(i))], { expectedVersion: 'no_stream' }));
        const closing = store.close();
        const results = await Promise.allSettled(pending);
        await closing;
        expect(results.map((r) => r.status)).toEqual(Array(10).fill('fulfilled'));

        await expect(store.appendToStream(c(1), [caseOpened(c(1))])).rejects.toBeInstanceOf(EventStoreClosedError);
        await expect(store.appendBatch([caseOpened(c(1))])).rejects.toBeInstanceOf(EventStoreClosedError);
        await expect(store.readStream(c(1))).rejects.toBeInstanceOf(EventStoreClosedError);
        await expect(store.readAll()).rejects.toBeInstanceOf(EventStoreClosedError);
        await expect(store.headPosition()).rejects.toBeInstanceOf(EventStoreClosedError);
        // Subscribing either throws at once or gives a subscription that fails with the same error.
        try {
          const late = store.subscribeToAll({ after: 0 }, () => {});
          await expect(late.caughtUp).rejects.toBeInstanceOf(EventStoreClosedError);
        } catch (error) {
          expect(error).toBeInstanceOf(EventStoreClosedError);
        }
        await store.close(); // idempotent
      });

      it('stops running subscriptions', async () => {
        const received = collector();
        const subscription = store.subscribeToAll({ after: start }, received.handler);
        await subscription.caughtUp;
        await store.close();
        await subscription.stop();
        expect(received.events).toEqual([]);
      });
    });
  });
}
