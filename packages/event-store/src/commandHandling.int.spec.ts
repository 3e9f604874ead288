import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandRefusedError, ManualClock, type CitizenCommand, type TransitionEvent } from '@tracker/domain';
import { CitizenStateCache, handleCitizenCommand } from './commandHandling.ts';
import { caseOpened } from './contract/testEvents.ts';
import { WrongExpectedVersionError, type EventStore } from './eventStore.ts';
import { SqliteEventStore } from './sqlite/sqliteEventStore.ts';

const openCase = (caseId: string, unitId = 'u1'): CitizenCommand => ({ type: 'OpenCase', data: { caseId, unitId } });

/**
 * The store, with `interfere` run before each of the first `count` appends to it: a concurrent writer
 * landing between the command's decision and its append (whether the decision read the stream or
 * trusted a cached state).
 */
function interferingStore(store: EventStore, interfere: () => Promise<unknown>, count = 1): EventStore {
  let appends = 0;
  return new Proxy(store, {
    get(target, property) {
      if (property === 'appendToStream') {
        return async (...args: Parameters<EventStore['appendToStream']>) => {
          if (++appends <= count) await interfere();
          return target.appendToStream(...args);
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The store, recording the `fromVersion` of every stream read. */
function watchedStore(store: EventStore, reads: Array<number | undefined>): EventStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'readStream') {
        return (citizenId: string, options?: { fromVersion?: number }) => (reads.push(options?.fromVersion), target.readStream(citizenId, options));
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe.each([
  ['without a state cache', () => undefined],
  ['with a state cache', () => new CitizenStateCache()],
])('handleCitizenCommand with the SQLite store, %s', (_name, makeStates) => {
  let store: SqliteEventStore;
  let clock: ManualClock;
  let states: CitizenStateCache | undefined;

  beforeEach(async () => {
    store = await SqliteEventStore.open({ file: ':memory:', clock: new ManualClock('2025-04-01T10:00:00Z') });
    clock = new ManualClock('2025-04-01T09:00:00Z');
    states = makeStates();
  });

  afterEach(async () => {
    await store.close();
  });

  it('appends the event a valid command decides', async () => {
    const appended = await handleCitizenCommand({ store, clock, states }, 'c-1', openCase('case-1'));

    expect(appended).toHaveLength(1);
    expect(appended[0]).toMatchObject({
      type: 'CaseOpened',
      citizenId: 'c-1',
      occurredAt: '2025-04-01T09:00:00.000Z',
      source: 'coordinator-ui',
      data: { caseId: 'case-1', unitId: 'u1' },
      streamVersion: 0,
      recordedAt: '2025-04-01T10:00:00.000Z',
    });
    expect(await store.readStream('c-1')).toEqual(appended);
  });

  it('uses the given occurredAt and source', async () => {
    const [event] = await handleCitizenCommand({ store, clock, source: 'nexus' }, 'c-1', openCase('case-1'), {
      occurredAt: '2025-03-30T12:00:00+02:00',
    });
    expect(event).toMatchObject({ source: 'nexus', occurredAt: '2025-03-30T12:00:00+02:00' });
  });

  it('decides on the events already in the stream', async () => {
    await handleCitizenCommand({ store, clock, states }, 'c-1', openCase('case-1'));
    await handleCitizenCommand({ store, clock, states }, 'c-1', {
      type: 'InitiateHandover',
      data: { handoverId: 'h-1', fromUnitId: 'u1', toUnitId: 'u2', kind: 'age' },
    });
    const [accepted] = await handleCitizenCommand({ store, clock, states }, 'c-1', { type: 'AcceptHandover', data: { handoverId: 'h-1' } });
    expect(accepted).toMatchObject({ type: 'HandoverAccepted', streamVersion: 2 });
  });

  it.each<[string, CitizenCommand, string]>([
    ['accepting a handover never initiated', { type: 'AcceptHandover', data: { handoverId: 'h-404' } }, 'HANDOVER_NOT_FOUND'],
    ['closing a case never opened', { type: 'CloseCase', data: { caseId: 'case-404' } }, 'CASE_NOT_OPEN'],
  ])('refuses %s and appends nothing', async (_, command, code) => {
    await store.appendToStream('c-1', [caseOpened('c-1')]);
    const error = await handleCitizenCommand({ store, clock, states }, 'c-1', command).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CommandRefusedError);
    expect(error).toMatchObject({ code });
    expect(await store.headPosition()).toBe(1);
    expect(store.stats().commits).toBe(1);
  });

  it('retries on the new state when another append lands between read and append', async () => {
    const concurrent: TransitionEvent = caseOpened('c-1', { caseId: 'case-other' });
    const racing = interferingStore(store, () => store.appendToStream('c-1', [concurrent]));

    const appended = await handleCitizenCommand({ store: racing, clock, states }, 'c-1', openCase('case-1'));

    expect(appended).toHaveLength(1);
    expect(appended[0]).toMatchObject({ type: 'CaseOpened', streamVersion: 1, data: { caseId: 'case-1' } });
    expect((await store.readStream('c-1')).map((e) => e.id)).toEqual([concurrent.id, appended[0]!.id]);
    expect(store.stats().appendsFailed).toBe(1); // the first attempt hit the version check
  });

  it('refuses the retried command when the concurrent append made it invalid', async () => {
    await handleCitizenCommand({ store, clock, states }, 'c-1', openCase('case-1'));
    // Another coordinator closes the case while this one is closing it too.
    const racing = interferingStore(store, () =>
      store.appendToStream('c-1', [{ ...caseOpened('c-1'), type: 'CaseClosed', data: { caseId: 'case-1' } }]),
    );

    await expect(handleCitizenCommand({ store: racing, clock, states }, 'c-1', { type: 'CloseCase', data: { caseId: 'case-1' } })).rejects.toMatchObject({
      name: 'CommandRefusedError',
      code: 'CASE_NOT_OPEN',
    });
    expect((await store.readStream('c-1')).map((e) => e.type)).toEqual(['CaseOpened', 'CaseClosed']);
  });

  it('gives up with WrongExpectedVersionError after maxAttempts', async () => {
    const racing = interferingStore(store, () => store.appendToStream('c-1', [caseOpened('c-1')]), 3);
    await expect(handleCitizenCommand({ store: racing, clock, states }, 'c-1', openCase('case-1'), {}, 3)).rejects.toBeInstanceOf(
      WrongExpectedVersionError,
    );
    expect(await store.readStream('c-1')).toHaveLength(3); // only the interfering appends
  });
});

describe('CitizenStateCache', () => {
  it('folds in what others appended since, and reads only that', async () => {
    const store = await SqliteEventStore.open({ file: ':memory:' });
    const clock = new ManualClock('2025-04-01T09:00:00Z');
    const states = new CitizenStateCache();
    try {
      await handleCitizenCommand({ store, clock, states }, 'c-1', openCase('case-1'));
      await store.appendBatch([{ ...caseOpened('c-1'), type: 'CaseClosed', data: { caseId: 'case-1' } }]); // ingestion
      const reads: Array<number | undefined> = [];
      // The cached state (case open) accepts the command; the append's version check finds it stale.
      await expect(
        handleCitizenCommand({ store: watchedStore(store, reads), clock, states }, 'c-1', { type: 'CloseCase', data: { caseId: 'case-1' } }),
      ).rejects.toMatchObject({ code: 'CASE_NOT_OPEN' });
      expect(reads).toEqual([1]);
      expect(states.get('c-1')?.version).toBe(1);
      expect(await store.readStream('c-1')).toHaveLength(2);
    } finally {
      await store.close();
    }
  });

  it('decides on a current cached state without reading the stream', async () => {
    const store = await SqliteEventStore.open({ file: ':memory:' });
    const clock = new ManualClock('2025-04-01T09:00:00Z');
    const states = new CitizenStateCache();
    try {
      await handleCitizenCommand({ store, clock, states }, 'c-1', openCase('case-1'));
      const reads: Array<number | undefined> = [];
      const watched = watchedStore(store, reads);
      await handleCitizenCommand({ store: watched, clock, states }, 'c-1', openCase('case-2'));
      await handleCitizenCommand({ store: watched, clock, states }, 'c-1', { type: 'CloseCase', data: { caseId: 'case-1' } });
      expect(reads).toEqual([]);
      expect((await store.readStream('c-1')).map((e) => e.type)).toEqual(['CaseOpened', 'CaseOpened', 'CaseClosed']);
      expect(store.stats().appendsFailed).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('a stale cached state that refuses is read again before the refusal is final', async () => {
    const store = await SqliteEventStore.open({ file: ':memory:' });
    const clock = new ManualClock('2025-04-01T09:00:00Z');
    const states = new CitizenStateCache();
    try {
      await handleCitizenCommand({ store, clock, states }, 'c-1', openCase('case-0'));
      // Ingestion opens case-1: the cache does not know it, and would refuse closing it.
      await store.appendBatch([caseOpened('c-1', { caseId: 'case-1' })]);
      const reads: Array<number | undefined> = [];
      const appended = await handleCitizenCommand({ store: watchedStore(store, reads), clock, states }, 'c-1', { type: 'CloseCase', data: { caseId: 'case-1' } });
      expect(appended.map((e) => e.type)).toEqual(['CaseClosed']);
      expect(reads).toEqual([1]);
    } finally {
      await store.close();
    }
  });

  it('a stale cached state does not use up an attempt', async () => {
    const store = await SqliteEventStore.open({ file: ':memory:' });
    const clock = new ManualClock('2025-04-01T09:00:00Z');
    const states = new CitizenStateCache();
    try {
      await handleCitizenCommand({ store, clock, states }, 'c-1', openCase('case-0'));
      await store.appendBatch([caseOpened('c-1', { caseId: 'case-x' })]); // the cache is now stale
      // One attempt allowed: the stale cache costs a failed append and a read, then the attempt succeeds.
      const appended = await handleCitizenCommand({ store, clock, states }, 'c-1', openCase('case-1'), {}, 1);
      expect(appended[0]).toMatchObject({ streamVersion: 2 });
      expect(store.stats().appendsFailed).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('drops the least recently used citizen beyond its capacity', () => {
    const states = new CitizenStateCache(2);
    const entry = { state: { registered: true } as never, version: 0 };
    states.set('a', entry);
    states.set('b', entry);
    states.get('a');
    states.set('c', entry);
    expect([states.get('a'), states.get('b'), states.get('c')].map(Boolean)).toEqual([true, false, true]);
    expect(states.size).toBe(2);
  });
});
