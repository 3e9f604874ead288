/** Errors shared by every event store adapter (next to `WrongExpectedVersionError` in the port). */

/** The store was closed (or is closing) and takes no more calls. */
export class EventStoreClosedError extends Error {
  constructor(what = 'the event store') {
    super(`${what} is closed`);
    this.name = 'EventStoreClosedError';
  }
}

/** `caughtUp` rejects with this when the subscription was stopped before it had caught up. */
export class SubscriptionStoppedError extends Error {
  constructor() {
    super('the subscription was stopped before it caught up');
    this.name = 'SubscriptionStoppedError';
  }
}
