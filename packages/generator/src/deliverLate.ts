import type { TransitionEvent } from '@tracker/domain';
import type { GeneratedCitizen } from './citizenStory.ts';
import { Random } from './random.ts';

export interface DeliverLateOptions {
  seed: number;
  /** Share of events (0–1) that arrive late. */
  lateShare: number;
  /** A late event is overtaken by up to maxDelaySteps events that occurred after it (of any citizen). */
  maxDelaySteps: number;
  /** Share of events (0–1) that a source system sends a second time, later (same id). Default 0. */
  duplicateShare?: number;
}

/**
 * An arrival order as source systems produce it: events mostly arrive in occurredAt order across all
 * citizens, but a share arrives late, after up to maxDelaySteps later events of the same or other
 * citizens (a batch job, a retry, a system catching up), and optionally some are sent twice.
 * Deterministic for a seed. Accepts generated citizens or events; returns a new array.
 */
export function deliverLate(input: Iterable<GeneratedCitizen> | Iterable<TransitionEvent>, options: DeliverLateOptions): TransitionEvent[] {
  const { lateShare, maxDelaySteps } = options;
  const duplicateShare = options.duplicateShare ?? 0;
  if (!(lateShare >= 0 && lateShare <= 1)) throw new RangeError(`lateShare must be between 0 and 1, got ${lateShare}`);
  if (!(duplicateShare >= 0 && duplicateShare <= 1)) throw new RangeError(`duplicateShare must be between 0 and 1, got ${duplicateShare}`);
  if (!Number.isInteger(maxDelaySteps) || maxDelaySteps < 1) throw new RangeError(`maxDelaySteps must be a positive integer, got ${maxDelaySteps}`);

  const events: TransitionEvent[] = [];
  for (const item of input as Iterable<GeneratedCitizen | TransitionEvent>) {
    if ('events' in item) events.push(...item.events);
    else events.push(item);
  }
  // In order: by occurredAt (stable, so same-instant events of a citizen keep their order).
  const at = events.map((e) => Date.parse(e.occurredAt));
  const inOrder = events.map((_, i) => i).sort((a, b) => at[a]! - at[b]! || a - b);

  // Arrival keys: position in order, plus a delay for late events (.5 puts it after the overtakers).
  const rng = new Random(options.seed, 0x1a7e);
  const arrivals: { key: number; event: TransitionEvent }[] = [];
  inOrder.forEach((index, position) => {
    const event = events[index]!;
    const late = rng.chance(lateShare);
    arrivals.push({ key: late ? position + rng.int(1, maxDelaySteps) + 0.5 : position, event });
    if (duplicateShare > 0 && rng.chance(duplicateShare)) arrivals.push({ key: position + rng.int(1, maxDelaySteps) + 0.25, event });
  });
  arrivals.sort((a, b) => a.key - b.key);
  return arrivals.map((a) => a.event);
}
