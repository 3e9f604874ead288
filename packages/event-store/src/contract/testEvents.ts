/** Valid TransitionEvents for the contract suite (units 'u1'/'u2' as in the test configuration). */
import { randomUUID } from 'node:crypto';
import type { StoredEvent, TransitionEvent } from '@tracker/domain';

let sequence = 0;

/**
 * Citizen ids unique to one test ('c-3f9a1b2c-1', 'c-3f9a1b2c-2' …), so the suite also runs against a
 * store that other tests (or other runs) have written to.
 */
export function citizenIds(): (n: number | string) => string {
  const run = randomUUID().slice(0, 8);
  return (n) => `c-${run}-${n}`;
}

export interface EnvelopeOverrides {
  id?: string;
  occurredAt?: string;
  source?: string;
}

const envelope = (citizenId: string, o: EnvelopeOverrides) => ({
  id: o.id ?? randomUUID(),
  citizenId,
  occurredAt: o.occurredAt ?? '2025-03-01T09:30:00+01:00',
  ...(o.source !== undefined ? { source: o.source } : {}),
});

export function caseOpened(citizenId: string, o: EnvelopeOverrides & { caseId?: string } = {}): TransitionEvent {
  return { ...envelope(citizenId, o), type: 'CaseOpened', data: { caseId: o.caseId ?? `case-${++sequence}`, unitId: 'u1' } };
}

export function meetingHeld(citizenId: string, o: EnvelopeOverrides = {}): TransitionEvent {
  return {
    ...envelope(citizenId, o),
    type: 'MeetingHeld',
    data: { meetingId: `meeting-${++sequence}`, kind: 'transition', unitIds: ['u1', 'u2'], citizenParticipated: true, relativesParticipated: false },
  };
}

export function citizenRegistered(citizenId: string, o: EnvelopeOverrides = {}): TransitionEvent {
  return {
    ...envelope(citizenId, o),
    type: 'CitizenRegistered',
    data: { birthDate: '2008-05-17', municipality: '0751', disability: true, personal: { name: 'Test Testesen' } },
  };
}

/** `n` CaseOpened events for one citizen. */
export const casesOpened = (citizenId: string, n: number): TransitionEvent[] => Array.from({ length: n }, () => caseOpened(citizenId));

/** An event whose data no adapter can serialise (a BigInt): provokes a failure in the middle of a request. */
export function unserialisable(citizenId: string): TransitionEvent {
  return { ...envelope(citizenId, {}), type: 'CaseOpened', data: { caseId: 'poison', unitId: 'u1', n: 1n } as never };
}

export const idsOf = (events: readonly { id: string }[]): string[] => events.map((e) => e.id);
export const positionsOf = (events: readonly StoredEvent[]): number[] => events.map((e) => e.globalPosition);

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A subscription handler that records what it receives and lets a test wait for a count. */
export function collector() {
  const events: StoredEvent[] = [];
  const batchSizes: number[] = [];
  let waiters: { count: number; done: () => void }[] = [];
  const handler = (batch: StoredEvent[]): void => {
    events.push(...batch);
    batchSizes.push(batch.length);
    waiters = waiters.filter((w) => (events.length >= w.count ? (w.done(), false) : true));
  };
  /** Resolves once at least `count` events have been received. */
  const until = (count: number): Promise<void> =>
    events.length >= count ? Promise.resolve() : new Promise<void>((done) => waiters.push({ count, done }));
  return { events, batchSizes, handler, until };
}
