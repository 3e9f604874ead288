/**
 * Runs a coordinator command through the citizen decider: read the stream, fold it, decide, append
 * with the version read. A concurrent append makes the version check fail; the command is then
 * decided again on the newer state, a bounded number of times.
 *
 * With a `CitizenStateCache`, the folded state of recently commanded citizens is kept by stream
 * version, and a command on a cached citizen is first decided on that state without reading at all:
 * the append's version check is what proves the state current. When it was stale (someone else
 * appended since: ingestion, another replica), or when the stale state refused the command, the
 * events since are read and the command decided again, once more, without using up an attempt. The
 * store stays the source of truth: a cached state never makes an append succeed that a read would
 * have refused, and never makes a refusal final.
 */
import { randomUUID } from 'node:crypto';
import { citizenDecider, type CitizenCommand, type CitizenState, type Clock, type StoredEvent, type TransitionEvent } from '@tracker/domain';
import { WrongExpectedVersionError, type EventStore } from './eventStore.ts';

export interface CommandContext {
  store: EventStore;
  clock: Clock;
  /** Recorded as the events' `source`. */
  source?: string;
  states?: CitizenStateCache;
}

export interface CommandMetadata {
  /** When it happened; defaults to the clock's now. */
  occurredAt?: string;
}

interface FoldedState {
  state: CitizenState;
  /** Version of the last event folded in (-1: none). */
  version: number;
}

/** Folded citizen states, least recently used dropped first. States are immutable, so sharing is safe. */
export class CitizenStateCache {
  readonly #entries = new Map<string, FoldedState>();

  constructor(readonly capacity = 10_000) {}

  get(citizenId: string): FoldedState | undefined {
    const entry = this.#entries.get(citizenId);
    if (entry) {
      this.#entries.delete(citizenId);
      this.#entries.set(citizenId, entry);
    }
    return entry;
  }

  set(citizenId: string, entry: FoldedState): void {
    this.#entries.delete(citizenId);
    this.#entries.set(citizenId, entry);
    if (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value!);
  }

  get size(): number {
    return this.#entries.size;
  }
}

export async function handleCitizenCommand(
  { store, clock, source = 'coordinator-ui', states }: CommandContext,
  citizenId: string,
  command: CitizenCommand,
  metadata: CommandMetadata = {},
  maxAttempts = 3,
): Promise<StoredEvent[]> {
  // A cached state is trusted (not read) only on the first try; a stale one costs one read, not an attempt.
  let trustCache = states !== undefined;
  for (let attempt = 1; ; ) {
    const cached = states?.get(citizenId);
    const trusted = trustCache && cached !== undefined;
    trustCache = false;
    let folded: FoldedState;
    if (trusted) {
      folded = cached;
    } else {
      const newer = await store.readStream(citizenId, { fromVersion: (cached?.version ?? -1) + 1 });
      folded = {
        state: newer.reduce(citizenDecider.evolve, cached?.state ?? citizenDecider.initialState()),
        version: (cached?.version ?? -1) + newer.length,
      };
      states?.set(citizenId, folded);
    }
    const occurredAt = metadata.occurredAt ?? clock.now().toISOString();
    let events: TransitionEvent[];
    try {
      events = citizenDecider
        .decide(command, folded.state)
        .map((e) => ({ id: randomUUID(), citizenId, occurredAt, source, ...e }) as TransitionEvent);
    } catch (refusal) {
      // Refused on a state not read just now: read what is new and decide again before refusing.
      if (trusted) continue;
      throw refusal;
    }
    try {
      const result = await store.appendToStream(citizenId, events, { expectedVersion: folded.version });
      states?.set(citizenId, { state: result.appended.reduce(citizenDecider.evolve, folded.state), version: result.nextExpectedVersion });
      return result.appended;
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      if (trusted) continue;
      if (attempt >= maxAttempts) throw error;
      attempt++;
    }
  }
}
