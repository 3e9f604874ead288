/**
 * Deadline alerts for GraphQL subscriptions: one listener on the alert scheduler, fanned out to every
 * subscriber with its own filter and bounded buffer (the same design as EventHub: a subscriber that
 * stops reading is ended with SUBSCRIBER_TOO_SLOW, never slowing the scheduler down).
 *
 * A subscriber may ask for the published alerts after a sequence number first (what it missed while
 * disconnected), read from the scheduler's outbox. Replay and the switch to live alerts happen in one
 * synchronous step, and the scheduler publishes synchronously too, so nothing falls between them.
 */
import { createGraphQLError, FixedBuffer, Repeater } from 'graphql-yoga';
import type { DeadlineAlert, DeadlineAlertSource } from '@tracker/read-models';

export type DeadlineAlertFilter = (alert: DeadlineAlert) => boolean;

export interface DeadlineAlertFeedOptions {
  /** Most alerts buffered (and replayed) for one subscriber; default 10 000. */
  maxQueuedPerSubscriber?: number;
}

export class DeadlineAlertFeed {
  readonly #source: DeadlineAlertSource;
  readonly #maxQueued: number;
  readonly #listeners = new Set<(alert: DeadlineAlert) => void>();
  readonly #unsubscribe: () => void;
  #closing: (() => void) | undefined;
  readonly #closed: Promise<void>;

  constructor(source: DeadlineAlertSource, { maxQueuedPerSubscriber = 10_000 }: DeadlineAlertFeedOptions = {}) {
    this.#source = source;
    this.#maxQueued = maxQueuedPerSubscriber;
    this.#closed = new Promise((resolve) => (this.#closing = resolve));
    this.#unsubscribe = source.subscribe((alert) => {
      for (const listener of this.#listeners) listener(alert);
    });
  }

  subscribe(filter: DeadlineAlertFilter, afterSequence?: number): Repeater<DeadlineAlert> {
    const buffer = new FixedBuffer(this.#maxQueued);
    return new Repeater<DeadlineAlert>(async (push, stop) => {
      const tooSlow = () =>
        stop(createGraphQLError('The subscriber fell behind the deadline alerts; subscribe again with afterSequence.', { extensions: { code: 'SUBSCRIBER_TOO_SLOW' } }));
      let last = afterSequence ?? Number.POSITIVE_INFINITY;
      const deliver = (alert: DeadlineAlert) => {
        if (!filter(alert)) return;
        if (buffer.full) return tooSlow();
        void push(alert);
      };
      if (afterSequence !== undefined) {
        for (;;) {
          const page = this.#source.alertsAfter(last, 1_000);
          for (const alert of page) deliver(alert);
          if (page.length === 0) break;
          last = page[page.length - 1]!.sequence;
          if (buffer.full) {
            // More missed alerts than one subscriber may buffer: let the client page instead.
            tooSlow();
            break;
          }
        }
      }
      const listener = (alert: DeadlineAlert) => {
        if (afterSequence !== undefined && alert.sequence <= last) return;
        deliver(alert);
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

  /** Ends every subscriber's stream (so open SSE responses finish before the server closes). */
  endStreams(): void {
    this.#closing?.();
  }

  /** Ends every stream and stops listening to the scheduler. */
  close(): void {
    this.endStreams();
    this.#unsubscribe();
  }
}
