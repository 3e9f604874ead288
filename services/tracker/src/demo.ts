/**
 * The demo kommune: generated histories loaded into an empty data folder on first start, so a
 * coordinator opening the product sees realistic timelines. Deterministic (fixed seed), ending now.
 * `store` is the encrypting store (tracker.ts): the generated names are stored encrypted like any others.
 */
import type { Clock, TransitionEvent, UnitDirectory } from '@tracker/domain';
import type { EventStore } from '@tracker/event-store';
import { generateEvents } from '@tracker/generator';

export const DEMO_SEED = 751;
const CHUNK = 2_000;

export interface LoadDemoOptions {
  store: EventStore;
  units: UnitDirectory;
  clock: Clock;
  citizens: number;
}

export async function loadDemoKommune({ store, units, clock, citizens }: LoadDemoOptions): Promise<{ citizens: number; events: number }> {
  let events = 0;
  let chunk: TransitionEvent[] = [];
  for (const event of generateEvents({ seed: DEMO_SEED, citizens, units, now: clock.now(), idPrefix: 'demo' })) {
    chunk.push(event);
    if (chunk.length === CHUNK) {
      events += (await store.appendBatch(chunk)).appended.length;
      chunk = [];
    }
  }
  if (chunk.length > 0) events += (await store.appendBatch(chunk)).appended.length;
  return { citizens, events };
}
