/**
 * The contract every read-model adapter passes unchanged (embedded SQLite, PostgreSQL): the projections'
 * changes written earliest-wins, answers at `asOf`, derived per-citizen tables, the rebuild fingerprint,
 * and `reset`. An adapter supplies how to make an empty place (a file, a schema), how to open its model
 * there, and how to read a derived table's rows (the one thing queried here that is not in the port).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_UNITS_FILE, loadUnitsFile, type StoredEvent } from '@tracker/domain';
import type { CitizenDerivation } from '../derived.ts';
import type { ProjectionContext } from '../projections/projectEvent.ts';
import type { ProjectionTarget } from '../projector.ts';
import type { ReadModelQueries } from '../queries.ts';
import { StoredEventFactory } from '../testing/storedEvents.ts';
import { ALL_UNITS } from '@tracker/security';

/** What the suite drives: the query port, the projector's target, and the citizen's history. */
export interface ReadModelUnderTest extends ReadModelQueries, ProjectionTarget {
  history(citizenId: string): StoredEvent[] | Promise<StoredEvent[]>;
}

export interface ReadModelOpenOptions {
  projection: ProjectionContext;
  configFingerprint: string;
  derived?: readonly CitizenDerivation[];
}

export interface ReadModelAdapter<M extends ReadModelUnderTest = ReadModelUnderTest> {
  /** A new, empty place for read models (a file path, a schema name). */
  place(): Promise<string>;
  /** Opens the model kept at `place`; opening the same place again sees the same data. */
  open(place: string, options: ReadModelOpenOptions): Promise<M>;
  close(model: M): Promise<void>;
  /** All rows of a derived table, ordered by citizen_id, with the named columns. */
  derivedRows(model: M, table: string, columns: string[]): Promise<Record<string, unknown>[]>;
}

const DAY = 86_400_000;
export const contractProjection: ProjectionContext = {
  units: loadUnitsFile(DEMO_UNITS_FILE),
  handoverAcceptanceDue: (ms: number) => ms + 14 * DAY,
};
const at = (iso: string) => Date.parse(iso);

export function readModelContract<M extends ReadModelUnderTest>(adapterName: string, adapter: ReadModelAdapter<M>): void {
  describe(`read-model contract: ${adapterName}`, () => {
    let place: string;
    let model: M;
    let make: StoredEventFactory;
    const opened: M[] = [];
    const open = async (options: Partial<ReadModelOpenOptions> = {}, where = place) => {
      const m = await adapter.open(where, { projection: contractProjection, configFingerprint: 'test', ...options });
      opened.push(m);
      return m;
    };

    beforeEach(async () => {
      place = await adapter.place();
      model = await open();
      make = new StoredEventFactory();
    });
    afterEach(async () => {
      for (const m of opened.splice(0)) await adapter.close(m);
    });

    it('orders the timeline by occurredAt, placing a late event where it happened', async () => {
      await model.applyBatch([
        make.event('c-1', 'CitizenRegistered', '2020-01-01T09:00:00+01:00', { birthDate: '2008-05-01', municipality: '0751', disability: false }),
        make.event('c-1', 'CaseOpened', '2021-03-01T10:00:00+01:00', { caseId: 'k1', unitId: '0751-bf-myndighed' }),
      ]);
      await model.applyBatch([
        make.event('c-1', 'NotificationReceived', '2021-02-01T08:00:00+01:00', { notificationId: 'n1', unitId: '0751-modtagelse', notifier: 'professional' }),
      ]);
      const timeline = await model.timeline('c-1', at('2030-01-01T00:00:00Z'), ALL_UNITS);
      expect(timeline.map((e) => e.type)).toEqual(['CitizenRegistered', 'NotificationReceived', 'CaseOpened']);
      expect(timeline[2]).toMatchObject({ unitId: '0751-bf-myndighed', summary: 'Case k1 opened at Børn og Familie, Myndighed' });
      expect(await model.checkpoint()).toBe(3);
    });

    it('answers as the world stood at asOf', async () => {
      await model.applyBatch([
        make.event('c-2', 'CitizenRegistered', '2020-01-01T09:00:00+01:00', { birthDate: '2007-01-01', municipality: '0751', disability: true }),
        make.event('c-2', 'CaseOpened', '2021-01-04T10:00:00+01:00', { caseId: 'k1', unitId: '0751-ungeenhed' }),
        make.event('c-2', 'HandoverInitiated', '2024-12-02T10:00:00+01:00', { handoverId: 'h1', fromUnitId: '0751-ungeenhed', toUnitId: '0751-voksen-handicap', kind: 'age' }),
        make.event('c-2', 'HandoverAccepted', '2024-12-20T10:00:00+01:00', { handoverId: 'h1' }),
        make.event('c-2', 'CaseClosed', '2025-01-01T10:00:00+01:00', { caseId: 'k1', reason: 'handover' }),
        make.event('c-2', 'HandoverCompleted', '2025-01-02T10:00:00+01:00', { handoverId: 'h1' }),
      ]);
      expect(await model.citizen('c-2', at('2019-12-31T00:00:00Z'), ALL_UNITS)).toBeNull();
      expect(await model.citizen('c-2', at('2020-06-01T00:00:00Z'), ALL_UNITS)).toEqual({ id: 'c-2', birthDate: '2007-01-01', municipality: '0751' });

      const before = at('2024-12-10T00:00:00Z');
      expect(await model.responsibilities('c-2', before, ALL_UNITS)).toEqual([{ caseId: 'k1', unitId: '0751-ungeenhed', openedAt: '2021-01-04T10:00:00+01:00', closedAt: null }]);
      expect(await model.citizenHandovers('c-2', before, ALL_UNITS)).toMatchObject([{ id: 'h1', status: 'PENDING', resolvedAt: null, overdue: false }]);

      const overdueInstant = at('2024-12-18T00:00:00Z');
      expect(await model.citizenHandovers('c-2', overdueInstant, ALL_UNITS)).toMatchObject([{ status: 'PENDING', overdue: true }]);

      const accepted = at('2024-12-21T00:00:00Z');
      expect(await model.citizenHandovers('c-2', accepted, ALL_UNITS)).toEqual([
        {
          id: 'h1',
          citizenId: 'c-2',
          fromUnitId: '0751-ungeenhed',
          toUnitId: '0751-voksen-handicap',
          kind: 'age',
          status: 'ACCEPTED',
          initiatedAt: '2024-12-02T10:00:00+01:00',
          resolvedAt: '2024-12-20T10:00:00+01:00',
          dueAt: new Date(at('2024-12-02T10:00:00+01:00') + 14 * DAY).toISOString(),
          overdue: true,
        },
      ]);

      const after = at('2025-02-01T00:00:00Z');
      expect((await model.responsibilities('c-2', after, ALL_UNITS))[0]!.closedAt).toBe('2025-01-01T10:00:00+01:00');
      expect(await model.citizenHandovers('c-2', after, ALL_UNITS)).toMatchObject([{ status: 'COMPLETED', resolvedAt: '2024-12-20T10:00:00+01:00' }]);
    });

    it('is overdue exactly from the due instant, and not when resolved before it', async () => {
      const initiated = '2025-03-03T10:00:00+01:00';
      await model.applyBatch([
        make.event('c-3', 'HandoverInitiated', initiated, { handoverId: 'h1', fromUnitId: '0751-bf-myndighed', toUnitId: '0751-ppr', kind: 'referral' }),
        make.event('c-3', 'HandoverInitiated', initiated, { handoverId: 'h2', fromUnitId: '0751-bf-myndighed', toUnitId: '0751-jobcenter', kind: 'referral' }),
        make.event('c-3', 'HandoverRejected', '2025-03-04T10:00:00+01:00', { handoverId: 'h2', reason: 'wrong unit' }),
      ]);
      const due = at(initiated) + 14 * DAY;
      expect((await model.citizenHandovers('c-3', due - 1, ALL_UNITS))[0]!.overdue).toBe(false);
      expect((await model.citizenHandovers('c-3', due, ALL_UNITS))[0]!.overdue).toBe(true);
      expect((await model.citizenHandovers('c-3', due, ALL_UNITS))[1]).toMatchObject({ status: 'REJECTED', overdue: false });
    });

    it('cancellation and rejection win over a later acceptance for status; the earliest resolution is resolvedAt', async () => {
      await model.applyBatch([
        make.event('c-8', 'HandoverInitiated', '2025-01-10T10:00:00+01:00', { handoverId: 'h', fromUnitId: '0751-ungeenhed', toUnitId: '0751-jobcenter', kind: 'referral' }),
        make.event('c-8', 'HandoverAccepted', '2025-01-12T10:00:00+01:00', { handoverId: 'h' }),
        make.event('c-8', 'HandoverCancelled', '2025-01-15T10:00:00+01:00', { handoverId: 'h' }),
      ]);
      expect(await model.citizenHandovers('c-8', at('2025-01-13T00:00:00Z'), ALL_UNITS)).toMatchObject([{ status: 'ACCEPTED', resolvedAt: '2025-01-12T10:00:00+01:00' }]);
      expect(await model.citizenHandovers('c-8', at('2025-02-01T00:00:00Z'), ALL_UNITS)).toMatchObject([{ status: 'CANCELLED', resolvedAt: '2025-01-12T10:00:00+01:00' }]);
    });

    it('filters and pages handovers across citizens', async () => {
      for (let i = 0; i < 5; i++) {
        await model.applyBatch([
          make.event(`c-${i}`, 'HandoverInitiated', `2025-0${i + 1}-10T10:00:00+01:00`, {
            handoverId: 'h',
            fromUnitId: '0751-ungeenhed',
            toUnitId: i % 2 ? '0751-jobcenter' : '0751-socialpsykiatri',
            kind: 'referral',
          }),
        ]);
      }
      await model.applyBatch([make.event('c-0', 'HandoverAccepted', '2025-01-11T10:00:00+01:00', { handoverId: 'h' })]);
      const asOf = at('2026-01-01T00:00:00Z');
      const page1 = await model.handovers({ asOf }, { first: 2, offset: 0 }, ALL_UNITS);
      expect(page1).toMatchObject({ totalCount: 5, hasNextPage: true });
      expect(page1.nodes.map((h) => h.citizenId)).toEqual(['c-0', 'c-1']);
      const page3 = await model.handovers({ asOf }, { first: 2, offset: 4 }, ALL_UNITS);
      expect(page3).toMatchObject({ totalCount: 5, hasNextPage: false });
      expect(page3.nodes.map((h) => h.citizenId)).toEqual(['c-4']);
      expect((await model.handovers({ asOf, unitId: '0751-jobcenter' }, { first: 10, offset: 0 }, ALL_UNITS)).totalCount).toBe(2);
      expect((await model.handovers({ asOf, status: 'ACCEPTED' }, { first: 10, offset: 0 }, ALL_UNITS)).nodes.map((h) => h.citizenId)).toEqual(['c-0']);
      expect((await model.handovers({ asOf, status: 'PENDING', overdue: true }, { first: 10, offset: 0 }, ALL_UNITS)).totalCount).toBe(4);
      expect((await model.handovers({ asOf, overdue: false }, { first: 10, offset: 0 }, ALL_UNITS)).nodes.map((h) => h.citizenId)).toEqual(['c-0']);
      expect((await model.handovers({ asOf: at('2025-02-01T00:00:00Z') }, { first: 10, offset: 0 }, ALL_UNITS)).totalCount).toBe(1);
    });

    it('orders ties by citizen id byte-wise, the same on every adapter', async () => {
      const same = '2025-05-05T10:00:00+02:00';
      for (const c of ['c-b', 'C-a', 'c-A', 'c_a', 'c-a']) {
        await model.applyBatch([make.event(c, 'HandoverInitiated', same, { handoverId: 'h', fromUnitId: '0751-ungeenhed', toUnitId: '0751-jobcenter', kind: 'referral' })]);
      }
      const page = await model.handovers({ asOf: at('2026-01-01T00:00:00Z') }, { first: 10, offset: 0 }, ALL_UNITS);
      expect(page.nodes.map((h) => h.citizenId)).toEqual(['C-a', 'c-A', 'c-a', 'c-b', 'c_a']);
    });

    it('keeps a resolution that arrives before its initiation, showing the handover once initiated', async () => {
      await model.applyBatch([make.event('c-4', 'HandoverAccepted', '2025-01-12T10:00:00+01:00', { handoverId: 'h' })]);
      expect(await model.citizenHandovers('c-4', at('2026-01-01T00:00:00Z'), ALL_UNITS)).toEqual([]);
      await model.applyBatch([
        make.event('c-4', 'HandoverInitiated', '2025-01-10T10:00:00+01:00', { handoverId: 'h', fromUnitId: '0751-ungeenhed', toUnitId: '0751-jobcenter', kind: 'referral' }),
      ]);
      expect(await model.citizenHandovers('c-4', at('2026-01-01T00:00:00Z'), ALL_UNITS)).toMatchObject([{ status: 'ACCEPTED' }]);
    });

    it('earliest wins within one batch and across batches, whatever the arrival order', async () => {
      const registered = (occurredAt: string, birthDate: string) =>
        make.event('c-9', 'CitizenRegistered', occurredAt, { birthDate, municipality: '0751', disability: false });
      await model.applyBatch([registered('2021-01-01T00:00:00Z', '2001-01-01'), registered('2020-01-01T00:00:00Z', '2000-01-01'), registered('2022-01-01T00:00:00Z', '2002-01-01')]);
      await model.applyBatch([registered('2023-01-01T00:00:00Z', '2003-01-01')]);
      expect(await model.citizen('c-9', at('2030-01-01T00:00:00Z'), ALL_UNITS)).toMatchObject({ birthDate: '2000-01-01' });
      await model.applyBatch([registered('2019-06-01T00:00:00Z', '1999-06-01')]);
      expect(await model.citizen('c-9', at('2030-01-01T00:00:00Z'), ALL_UNITS)).toMatchObject({ birthDate: '1999-06-01' });

      await model.applyBatch([
        make.event('c-9', 'CaseClosed', '2024-03-01T00:00:00Z', { caseId: 'k' }),
        make.event('c-9', 'CaseClosed', '2024-02-01T00:00:00Z', { caseId: 'k' }),
        make.event('c-9', 'CaseOpened', '2023-05-01T00:00:00Z', { caseId: 'k', unitId: '0751-ppr' }),
      ]);
      expect(await model.responsibilities('c-9', at('2030-01-01T00:00:00Z'), ALL_UNITS)).toEqual([
        { caseId: 'k', unitId: '0751-ppr', openedAt: '2023-05-01T00:00:00Z', closedAt: '2024-02-01T00:00:00Z' },
      ]);
    });

    it('applying the same events again changes nothing', async () => {
      const events = [
        make.event('c-10', 'CaseOpened', '2025-01-10T10:00:00+01:00', { caseId: 'k', unitId: '0751-ppr' }),
        make.event('c-10', 'HandoverInitiated', '2025-01-11T10:00:00+01:00', { handoverId: 'h', fromUnitId: '0751-ppr', toUnitId: '0751-jobcenter', kind: 'referral' }),
      ];
      await model.applyBatch(events);
      const asOf = at('2026-01-01T00:00:00Z');
      const before = [await model.timeline('c-10', asOf, ALL_UNITS), await model.responsibilities('c-10', asOf, ALL_UNITS), await model.citizenHandovers('c-10', asOf, ALL_UNITS)];
      await model.applyBatch(events);
      expect([await model.timeline('c-10', asOf, ALL_UNITS), await model.responsibilities('c-10', asOf, ALL_UNITS), await model.citizenHandovers('c-10', asOf, ALL_UNITS)]).toEqual(before);
    });

    it('derives per-citizen read models from the whole history in world order, again when a late event arrives', async () => {
      const seen: Array<[string, string[]]> = [];
      const orderOfTypes: CitizenDerivation = {
        name: 'order-of-types',
        version: 1,
        tables: [{ name: 'order_of_types', columns: { types: 'text', events: 'integer', first_ms: 'integer', share: 'real' }, indexes: [['events']] }],
        derive: (citizenId, history) => {
          seen.push([citizenId, history.map((e) => e.type)]);
          return {
            order_of_types: [
              { types: history.map((e) => e.type).join(','), events: history.length, first_ms: Date.parse(history[0]!.occurredAt), share: 1 / history.length },
            ],
          };
        },
      };
      const derivedPlace = await adapter.place();
      const derivedModel = await open({ derived: [orderOfTypes] }, derivedPlace);
      await derivedModel.applyBatch([
        make.event('c-6', 'CaseOpened', '2025-02-01T10:00:00+01:00', { caseId: 'k', unitId: '0751-ppr' }),
        make.event('c-7', 'CaseOpened', '2025-02-01T10:00:00+01:00', { caseId: 'k', unitId: '0751-ppr' }),
        make.event('c-6', 'CaseClosed', '2025-03-01T10:00:00+01:00', { caseId: 'k' }),
      ]);
      await derivedModel.applyBatch([
        make.event('c-6', 'NotificationReceived', '2025-01-01T10:00:00+01:00', { notificationId: 'n', unitId: '0751-modtagelse', notifier: 'private' }),
      ]);
      expect(seen).toEqual([
        ['c-6', ['CaseOpened', 'CaseClosed']],
        ['c-7', ['CaseOpened']],
        ['c-6', ['NotificationReceived', 'CaseOpened', 'CaseClosed']],
      ]);
      expect(await adapter.derivedRows(derivedModel, 'order_of_types', ['citizen_id', 'types', 'events', 'first_ms', 'share'])).toEqual([
        { citizen_id: 'c-6', types: 'NotificationReceived,CaseOpened,CaseClosed', events: 3, first_ms: at('2025-01-01T10:00:00+01:00'), share: 1 / 3 },
        { citizen_id: 'c-7', types: 'CaseOpened', events: 1, first_ms: at('2025-02-01T10:00:00+01:00'), share: 1 },
      ]);
      expect((await derivedModel.history('c-6'))[0]).toMatchObject({ type: 'NotificationReceived', data: { notificationId: 'n', notifier: 'private' } });
      await adapter.close(opened.pop()!);

      const otherVersion = await open({ derived: [{ ...orderOfTypes, version: 2 }] }, derivedPlace);
      expect(otherVersion.needsRebuild).toBe(true);
    });

    it('asks for a rebuild when the configuration changed, and reset forgets everything', async () => {
      await model.applyBatch([make.event('c-5', 'CaseOpened', '2025-01-10T10:00:00+01:00', { caseId: 'k', unitId: '0751-ppr' })]);
      const same = await open();
      expect(same.needsRebuild).toBe(false);
      const changed = await open({ configFingerprint: 'other' });
      expect(changed.needsRebuild).toBe(true);
      await changed.reset();
      expect(await changed.checkpoint()).toBe(0);
      expect(await changed.timeline('c-5', Date.now(), ALL_UNITS)).toEqual([]);
    });

    it('starts at checkpoint 0 and moves the checkpoint to the last event of each batch', async () => {
      expect(await model.checkpoint()).toBe(0);
      await model.applyBatch([]);
      expect(await model.checkpoint()).toBe(0);
      await model.applyBatch([make.event('c-11', 'CaseOpened', '2025-01-10T10:00:00+01:00', { caseId: 'k', unitId: '0751-ppr' })]);
      await model.applyBatch([
        make.event('c-11', 'CaseClosed', '2025-01-11T10:00:00+01:00', { caseId: 'k' }),
        make.event('c-12', 'CaseOpened', '2025-01-11T10:00:00+01:00', { caseId: 'k', unitId: '0751-ppr' }),
      ]);
      expect(await model.checkpoint()).toBe(3);
    });

    describe('data scope (who may see which citizen)', () => {
      const child = '0751-bf-myndighed';
      const youth = '0751-ungeenhed';
      const adult = '0751-voksen-handicap';
      const scopeOf = (...units: string[]) => ({ allUnits: false as const, units });

      beforeEach(async () => {
        await model.applyBatch([
          make.event('s-1', 'CaseOpened', '2024-01-10T10:00:00+01:00', { caseId: 'k1', unitId: child }),
          make.event('s-1', 'HandoverInitiated', '2024-06-10T10:00:00+01:00', { handoverId: 'h1', fromUnitId: child, toUnitId: youth, kind: 'age' }),
          make.event('s-2', 'CaseOpened', '2024-02-10T10:00:00+01:00', { caseId: 'k2', unitId: adult }),
        ]);
      });

      it('keeps every unit ever involved with a citizen, either side of a handover included', async () => {
        expect(await model.citizenUnits('s-1')).toEqual([child, youth]);
        expect(await model.citizenUnits('s-2')).toEqual([adult]);
        expect(await model.citizenUnits('s-unknown')).toEqual([]);
      });

      it('answers a citizen outside the scope exactly as an unknown one, in every per-citizen query', async () => {
        const now = at('2025-01-01T00:00:00Z');
        // The receiving unit sees the citizen before accepting, with the sender's history.
        expect(await model.citizen('s-1', now, scopeOf(youth))).toMatchObject({ id: 's-1' });
        expect((await model.timeline('s-1', now, scopeOf(youth))).map((e) => e.type)).toEqual(['CaseOpened', 'HandoverInitiated']);
        for (const scope of [scopeOf(adult), scopeOf()]) {
          expect(await model.citizen('s-1', now, scope)).toBeNull();
          expect(await model.timeline('s-1', now, scope)).toEqual([]);
          expect(await model.responsibilities('s-1', now, scope)).toEqual([]);
          expect(await model.citizenHandovers('s-1', now, scope)).toEqual([]);
        }
        expect(await model.citizen('s-unknown', now, scopeOf(adult))).toBeNull();
      });

      it('lists only handovers of citizens in the scope, counted in the scope', async () => {
        const filter = { asOf: at('2025-01-01T00:00:00Z') };
        const page = { first: 10, offset: 0 };
        expect((await model.handovers(filter, page, ALL_UNITS)).totalCount).toBe(1);
        expect((await model.handovers(filter, page, scopeOf(youth))).nodes.map((h) => h.id)).toEqual(['h1']);
        expect(await model.handovers(filter, page, scopeOf(adult))).toEqual({ nodes: [], totalCount: 0, hasNextPage: false });
        expect((await model.handovers(filter, page, scopeOf())).totalCount).toBe(0);
        // A unit id is data, never SQL.
        expect((await model.handovers(filter, page, scopeOf("x') OR 1=1 --"))).totalCount).toBe(0);
      });

      it('forgets the involvement on reset, and rebuilds it from the events', async () => {
        await model.reset();
        expect(await model.citizenUnits('s-1')).toEqual([]);
      });

      it('never keeps CitizenRegistered.personal in the read models', async () => {
        await model.applyBatch([
          make.event('s-3', 'CitizenRegistered', '2024-01-01T10:00:00+01:00', { birthDate: '2010-01-01', municipality: '0751', disability: false, personal: { name: 'Kim Kimsen' } }),
        ]);
        const [registered] = await model.history('s-3');
        expect(registered!.data).toEqual({ birthDate: '2010-01-01', municipality: '0751', disability: false });
      });
    });
  });
}
