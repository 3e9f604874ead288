/**
 * Runs a coordinator command through the citizen decider: read the stream, fold it, decide, append
 * with the version read. A concurrent append makes the version check fail; the command is then
 * decided again on the newer state, a bounded number of times.
 */
import { randomUUID } from 'node:crypto';
import { citizenDecider, type CitizenCommand, type Clock, type StoredEvent, type TransitionEvent } from '@tracker/domain';
import { WrongExpectedVersionError, type EventStore } from './eventStore.ts';

export interface CommandContext {
  store: EventStore;
  clock: Clock;
  /** Recorded as the events' `source`. */
  source?: string;
}

export interface CommandMetadata {
  /** When it happened; defaults to the clock's now. */
  occurredAt?: string;
}

export async function handleCitizenCommand(
  { store, clock, source = 'coordinator-ui' }: CommandContext,
  citizenId: string,
  command: CitizenCommand,
  metadata: CommandMetadata = {},
  maxAttempts = 3,
): Promise<StoredEvent[]> {
  for (let attempt = 1; ; attempt++) {
    const stream = await store.readStream(citizenId);
    const state = stream.reduce(citizenDecider.evolve, citizenDecider.initialState());
    const occurredAt = metadata.occurredAt ?? clock.now().toISOString();
    const events = citizenDecider
      .decide(command, state)
      .map((e) => ({ id: randomUUID(), citizenId, occurredAt, source, ...e }) as TransitionEvent);
    try {
      const result = await store.appendToStream(citizenId, events, { expectedVersion: stream.length - 1 });
      return result.appended;
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError) || attempt >= maxAttempts) throw error;
    }
  }
}
