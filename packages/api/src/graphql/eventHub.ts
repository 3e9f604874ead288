/**
 * Live events for GraphQL subscriptions: ONE catch-up subscription to the store, started at the head
 * (only what is stored from now on), fanned out in memory to every subscriber. A thousand open
 * subscriptions cost one store subscription, not a thousand.
 *
 * Each subscriber has its own filter, applied before queueing, and its own bounded buffer: a client
 * that stops reading has its stream ended with SUBSCRIBER_TOO_SLOW once its buffer is full, instead of
 * holding memory without bound or slowing the others down (the store subscription never waits for a
 * client).
 *
 * Where the events come from is a `LiveEventFeed`: by default one catch-up subscription to the local
 * store (embedded mode); in distributed mode a feed from Kafka (`transitions.events.v1`), so that every
 * API replica streams every event, whichever process stored it.
 *
 * Why not yoga's `createPubSub`: it queues every event for every subscriber (filters apply after the
 * queue), its repeaters share one buffer object when given one, and without one a repeater throws
 * inside the publisher once 1024 values are pending, which here would stop the store subscription for
 * everyone.
 */
import { createGraphQLError, FixedBuffer, Repeater } from 'graphql-yoga';
import type { StoredEvent } from '@tracker/domain';
import type { EventStore } from '@tracker/event-store';

export type EventFilter = (event: StoredEvent) => boolean;

/** Events stored from now on, in batches, from wherever they are stored. */
export interface LiveEventFeed {
  /** Starts handing events stored from now on to `deliver` (which never throws); resolves once in place. */
  start(deliver: (events: readonly StoredEvent[]) => void): Promise<void>;
  /** Stops delivery; resolves when `deliver` is no longer called. */
  stop(): Promise<void>;
}

/** The embedded feed: one catch-up subscription to the store, from its head. */
export function storeLiveEvents(store: EventStore): LiveEventFeed {
  let stop: (() => Promise<void>) | undefined;
  return {
    async start(deliver) {
      const head = await store.headPosition();
      const subscription = store.subscribeToAll({ after: head }, (events) => deliver(events));
      stop = () => subscription.stop();
    },
    async stop() {
      await stop?.();
    },
  };
}

export interface EventHubOptions {
  /** Most events buffered for one subscriber before its stream is ended. */
  maxQueuedPerSubscriber?: number;
}

export class EventHub {
  readonly #listeners = new Set<(event: StoredEvent) => void>();
  readonly #maxQueued: number;
  #feed: LiveEventFeed | undefined;
  #closing: (() => void) | undefined;
  readonly #closed: Promise<void>;

  constructor({ maxQueuedPerSubscriber = 10_000 }: EventHubOptions = {}) {
    this.#maxQueued = maxQueuedPerSubscriber;
    this.#closed = new Promise((resolve) => (this.#closing = resolve));
  }

  /**
   * Starts the feed (a store: subscribes to it from its head); resolves once it is in place. The hub
   * stops the feed when it closes.
   */
  async start(source: EventStore | LiveEventFeed): Promise<void> {
    if (this.#feed) return;
    const feed = 'subscribeToAll' in source ? storeLiveEvents(source) : source;
    this.#feed = feed;
    await feed.start((events) => this.publish(events));
  }

  /** Hands stored events to every subscriber whose filter keeps them. Never throws. */
  publish(events: readonly StoredEvent[]): void {
    for (const event of events) for (const listener of this.#listeners) listener(event);
  }

  /**
   * The events stored from now on that the filter keeps; ends when the hub closes. (Like every
   * repeater, it starts listening at its first `next()`: yoga calls it as soon as the stream opens.)
   */
  subscribe(filter: EventFilter): Repeater<StoredEvent> {
    // Its own buffer: pushes never wait (the publisher is the one store subscription) nor pile up.
    const buffer = new FixedBuffer(this.#maxQueued);
    return new Repeater<StoredEvent>(async (push, stop) => {
      const listener = (event: StoredEvent) => {
        if (!filter(event)) return;
        if (buffer.full) {
          stop(createGraphQLError('The subscriber fell behind the stored events; subscribe again.', { extensions: { code: 'SUBSCRIBER_TOO_SLOW' } }));
          return;
        }
        void push(event);
      };
      this.#listeners.add(listener);
      void this.#closed.then(() => stop());
      await stop;
      this.#listeners.delete(listener);
    }, buffer);
  }

  get subscriberCount(): number {
    return this.#listeners.size;
  }

  /** Ends every subscriber's stream (so open SSE responses finish). */
  endStreams(): void {
    this.#closing?.();
  }

  /** Ends every stream and stops the feed (the store subscription). */
  async close(): Promise<void> {
    this.endStreams();
    const feed = this.#feed;
    this.#feed = undefined;
    await feed?.stop();
  }
}
