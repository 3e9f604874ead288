/**
 * Deadline alerts for GraphQL subscriptions: one listener on the alert source — the alert scheduler in
 * the embedded tracker, an outbox poller (OutboxAlertSource) in distributed mode — fanned out to
 * every subscriber with its own filter and bounded buffer (the same design as EventHub: a subscriber
 * that stops reading is ended with SUBSCRIBER_TOO_SLOW, never slowing the source down). The source's
 * stream carries gap alerts too; this feed passes the deadline alerts.
 *
 * A subscriber may ask for the published alerts after a sequence number first (what it missed while
 * disconnected), read from the outbox — asynchronously, while live alerts keep coming. So its live
 * listener is attached before the replay starts and holds what arrives meanwhile; after the replay,
 * the held alerts newer than the last replayed one follow. Nothing falls between replay and live, and
 * nothing comes twice.
 */
import { createGraphQLError, FixedBuffer, Repeater } from 'graphql-yoga';
import type { AlertSource, DeadlineAlert } from '@tracker/read-models';

export type DeadlineAlertFilter = (alert: DeadlineAlert) => boolean;

export interface DeadlineAlertFeedOptions {
  /** Most alerts buffered (and replayed) for one subscriber; default 10 000. */
  maxQueuedPerSubscriber?: number;
}

/** Alerts read per query while replaying. */
const REPLAY_PAGE = 1_000;

export class DeadlineAlertFeed {
  readonly #source: AlertSource;
  readonly #maxQueued: number;
  readonly #listeners = new Set<(alert: DeadlineAlert) => void>();
  readonly #unsubscribe: () => void;
  #closing: (() => void) | undefined;
  readonly #closed: Promise<void>;

  constructor(source: AlertSource, { maxQueuedPerSubscriber = 10_000 }: DeadlineAlertFeedOptions = {}) {
    this.#source = source;
    this.#maxQueued = maxQueuedPerSubscriber;
    this.#closed = new Promise((resolve) => (this.#closing = resolve));
    this.#unsubscribe = source.subscribe((alert) => {
      if (alert.about !== 'deadline') return;
      for (const listener of this.#listeners) listener(alert);
    });
  }

  subscribe(filter: DeadlineAlertFilter, afterSequence?: number): Repeater<DeadlineAlert> {
    const buffer = new FixedBuffer(this.#maxQueued);
    return new Repeater<DeadlineAlert>(async (push, stop) => {
      let stopped = false;
      void stop.then(() => (stopped = true));
      const tooSlow = () =>
        stop(createGraphQLError('The subscriber fell behind the deadline alerts; subscribe again with afterSequence.', { extensions: { code: 'SUBSCRIBER_TOO_SLOW' } }));
      const deliver = (alert: DeadlineAlert) => {
        if (stopped || !filter(alert)) return;
        if (buffer.full) return tooSlow();
        void push(alert);
      };
      let last = afterSequence ?? Number.NEGATIVE_INFINITY;
      // While replaying, live alerts wait here.
      let held: DeadlineAlert[] | undefined = afterSequence === undefined ? undefined : [];
      const listener = (alert: DeadlineAlert) => {
        if (held) held.push(alert);
        else if (alert.sequence > last) deliver(alert);
      };
      this.#listeners.add(listener);
      void this.#closed.then(() => stop());
      try {
        if (afterSequence !== undefined) {
          while (!stopped) {
            const page = await this.#source.alertsAfter(last, REPLAY_PAGE);
            for (const alert of page) if (alert.about === 'deadline') deliver(alert);
            if (page.length === 0) break;
            last = page[page.length - 1]!.sequence;
            if (buffer.full) {
              // More missed alerts than one subscriber may buffer: let the client page instead.
              tooSlow();
              break;
            }
          }
          const waiting = held ?? [];
          held = undefined;
          for (const alert of waiting) {
            if (alert.sequence <= last) continue;
            deliver(alert);
            last = alert.sequence;
          }
        }
      } catch (error) {
        // The outbox could not be read: the subscriber hears why and may subscribe again.
        stop(error);
      }
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

  /** Ends every stream and stops listening to the source. */
  close(): void {
    this.endStreams();
    this.#unsubscribe();
  }
}
