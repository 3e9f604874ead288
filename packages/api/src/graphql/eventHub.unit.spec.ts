import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '@tracker/domain';
import type { BatchHandler, EventStore, SubscribeToAllOptions } from '@tracker/event-store';
import { EventHub } from './eventHub.ts';

/** Just enough of a store: a head and one live subscription to push batches through. */
function fakeStore(head: number) {
  const subscriptions: { options: SubscribeToAllOptions; handler: BatchHandler; stopped: boolean }[] = [];
  const store = {
    headPosition: async () => head,
    subscribeToAll(options: SubscribeToAllOptions, handler: BatchHandler) {
      const subscription = { options, handler, stopped: false };
      subscriptions.push(subscription);
      return { caughtUp: Promise.resolve(), stop: async () => void (subscription.stopped = true) };
    },
  } as unknown as EventStore;
  return { store, subscriptions };
}

let position = 100;
const event = (citizenId: string): StoredEvent =>
  ({
    id: `e-${++position}`,
    type: 'CaseOpened',
    citizenId,
    occurredAt: '2025-03-01T09:00:00+01:00',
    recordedAt: '2025-03-01T08:00:00.000Z',
    streamVersion: 0,
    globalPosition: position,
    data: { caseId: 'k', unitId: 'u' },
  }) as StoredEvent;

describe('EventHub', () => {
  it('subscribes to the store once, from its head, and fans out through each filter', async () => {
    const { store, subscriptions } = fakeStore(42);
    const hub = new EventHub();
    await hub.start(store);
    await hub.start(store);
    expect(subscriptions.map((s) => s.options.after)).toEqual([42]);

    const forA = hub.subscribe((e) => e.citizenId === 'a');
    const forAll = hub.subscribe(() => true);
    const nextA = forA.next();
    const nextAll = forAll.next();
    await new Promise((r) => setImmediate(r)); // the repeaters start listening on their first next()
    expect(hub.subscriberCount).toBe(2);

    await subscriptions[0]!.handler([event('b'), event('a')]);
    expect((await nextA).value?.citizenId).toBe('a');
    expect((await nextAll).value?.citizenId).toBe('b');
    expect((await forAll.next()).value?.citizenId).toBe('a');

    await forA.return(undefined);
    expect(hub.subscriberCount).toBe(1);
    await hub.close();
    expect(await forAll.next()).toEqual({ done: true, value: undefined });
    expect(subscriptions[0]!.stopped).toBe(true);
  });

  it('ends a subscriber that falls too far behind, and only that one', async () => {
    const { store, subscriptions } = fakeStore(0);
    const hub = new EventHub({ maxQueuedPerSubscriber: 3 });
    await hub.start(store);
    const publish = (n: number) => subscriptions[0]!.handler(Array.from({ length: n }, () => event('a')));

    const slow = hub.subscribe(() => true);
    const slowFirst = slow.next();
    const keen = hub.subscribe(() => true);
    const keenReceived: string[] = [];
    const keenReading = (async () => {
      for await (const e of keen) keenReceived.push(e.id);
    })();
    await new Promise((r) => setImmediate(r));

    // The slow one takes one event and then stops reading; the keen one keeps up between batches.
    await publish(3);
    await new Promise((r) => setImmediate(r));
    await publish(3);
    await new Promise((r) => setImmediate(r));
    expect(keenReceived).toHaveLength(6);

    const slowReceived = [(await slowFirst).value?.id];
    await expect(
      (async () => {
        for (;;) {
          const { value, done } = await slow.next();
          if (done) return;
          slowReceived.push(value.id);
        }
      })(),
    ).rejects.toMatchObject({ message: 'The subscriber fell behind the stored events; subscribe again.', extensions: { code: 'SUBSCRIBER_TOO_SLOW' } });
    // One handed over at once, three buffered; the fifth found the buffer full.
    expect(slowReceived).toEqual(keenReceived.slice(0, 4));

    await publish(1);
    await new Promise((r) => setImmediate(r));
    expect(keenReceived).toHaveLength(7);
    await hub.close();
    await keenReading;
  });
});
