/**
 * The contract every flow source passes unchanged (embedded SQLite, PostgreSQL), on real read models fed
 * through the projection and the flow derivation: hand-built histories (counts, outcomes at the
 * period's end, median and p90, lost at the 30-day boundary, late events, the data scope read in the
 * SQL) and generated ones (delivered late, in small batches, equal to in order).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_UNITS_FILE, instantMs, loadUnitsFile, type StoredEvent, type TransitionEvent } from '@tracker/domain';
import { deliverLate, generateCitizens } from '@tracker/generator';
import { ALL_UNITS, type DataScope } from '@tracker/security';
import type { ReadModelOpenOptions } from '../contract/readModelContract.ts';
import { StoredEventFactory } from '../testing/storedEvents.ts';
import { createFlowDerivation } from './flowDerivation.ts';
import type { FlowPeriod, FlowQueries } from './flowQueries.ts';

/** Read models with an adapter's flow queries over them. */
export interface FlowReadModelsUnderTest {
  applyBatch(events: readonly StoredEvent[]): void | Promise<void>;
  flows: FlowQueries;
  /** How many handovers the base read model holds initiated before `ms`: the flow matrix counts each once. */
  handoversInitiatedBefore(ms: number): Promise<number>;
  close(): void | Promise<void>;
}

export interface FlowSourceAdapter {
  /** Empty read models opened with these options, and the adapter's flow queries (`…FlowQueries(model, { units })`). */
  open(options: ReadModelOpenOptions): Promise<FlowReadModelsUnderTest>;
}

const DAY = 86_400_000;
const units = loadUnitsFile(DEMO_UNITS_FILE);
const projection = { units, handoverAcceptanceDue: (ms: number) => ms + 14 * DAY };
const CHILD = '0751-bf-myndighed';
const YOUTH = '0751-ungeenhed';
const ADULT = '0751-voksen-handicap';
const PSYCH = '0751-socialpsykiatri';
const at = instantMs;
const period = (from: string, to: string): FlowPeriod => ({ fromMs: at(from), toMs: at(to) });
const YEAR_2025 = period('2025-01-01T00:00:00+01:00', '2026-01-01T00:00:00+01:00');
const unitsScope = (...ids: string[]): DataScope => ({ allUnits: false, units: ids });

/** A youth citizen handed to an adult unit at `initiatedAt`, with the answer given by `then`. */
function transition(make: StoredEventFactory, citizen: string, initiatedAt: string, then: (c: string) => StoredEvent[], toUnitId = ADULT): StoredEvent[] {
  return [
    make.event(citizen, 'CitizenRegistered', '2015-01-01T09:00:00+01:00', { birthDate: '2007-06-01', municipality: '0751', disability: false }),
    make.event(citizen, 'CaseOpened', '2022-01-03T10:00:00+01:00', { caseId: 'k-youth', unitId: YOUTH }),
    make.event(citizen, 'HandoverInitiated', initiatedAt, { handoverId: 'h1', fromUnitId: YOUTH, toUnitId, kind: 'age' }),
    ...then(citizen),
  ];
}

/** Six youth citizens handed to the adult unit and accepted, two children handed to the youth unit and pending. */
function sectorPopulation(make: StoredEventFactory): StoredEvent[] {
  const events: StoredEvent[] = [];
  for (let i = 0; i < 6; i++) {
    events.push(...transition(make, `y-${i}`, '2025-03-03T10:00:00+01:00', (c) => [make.event(c, 'HandoverAccepted', `2025-03-0${4 + (i % 3)}T10:00:00+01:00`, { handoverId: 'h1' })]));
  }
  for (let i = 0; i < 2; i++) {
    events.push(
      make.event(`k-${i}`, 'CitizenRegistered', '2015-01-01T09:00:00+01:00', { birthDate: '2011-01-01', municipality: '0751', disability: false }),
      make.event(`k-${i}`, 'CaseOpened', '2020-01-01T10:00:00+01:00', { caseId: 'k', unitId: CHILD }),
      make.event(`k-${i}`, 'HandoverInitiated', '2025-02-01T10:00:00+01:00', { handoverId: 'h', fromUnitId: CHILD, toUnitId: YOUTH, kind: 'age' }),
    );
  }
  return events;
}

export function flowSourceContract(adapterName: string, adapter: FlowSourceAdapter): void {
  const opened: FlowReadModelsUnderTest[] = [];
  async function readModels(options: Partial<ReadModelOpenOptions> = {}): Promise<FlowReadModelsUnderTest> {
    const models = await adapter.open({ projection, configFingerprint: 'flows', derived: [createFlowDerivation(units)], ...options });
    opened.push(models);
    return models;
  }
  afterEach(async () => {
    for (const m of opened.splice(0)) await m.close();
  });

  describe(`flow source contract: ${adapterName}, hand-built histories`, () => {
    it('counts each edge by outcome at the end of the period, with median and p90 days to acceptance', async () => {
      const { applyBatch, flows } = await readModels();
      const make = new StoredEventFactory();
      const accepted = (days: number) => (c: string) => [
        make.event(c, 'HandoverAccepted', new Date(at('2025-03-03T10:00:00+01:00') + days * DAY).toISOString(), { handoverId: 'h1' }),
      ];
      await applyBatch([
        ...transition(make, 'c-1', '2025-03-03T10:00:00+01:00', accepted(1)),
        ...transition(make, 'c-2', '2025-03-03T10:00:00+01:00', accepted(2)),
        ...transition(make, 'c-3', '2025-03-03T10:00:00+01:00', accepted(3)),
        ...transition(make, 'c-4', '2025-03-03T10:00:00+01:00', accepted(10)),
        ...transition(make, 'c-5', '2025-03-03T10:00:00+01:00', (c) => [make.event(c, 'HandoverRejected', '2025-03-05T10:00:00+01:00', { handoverId: 'h1', reason: 'not ours' })]),
        ...transition(make, 'c-6', '2025-03-03T10:00:00+01:00', (c) => [make.event(c, 'HandoverCancelled', '2025-03-05T10:00:00+01:00', { handoverId: 'h1' })]),
        ...transition(make, 'c-7', '2025-03-03T10:00:00+01:00', () => []),
        // Accepted only after the period: pending at its end.
        ...transition(make, 'c-8', '2025-12-30T10:00:00+01:00', (c) => [make.event(c, 'HandoverAccepted', '2026-01-02T10:00:00+01:00', { handoverId: 'h1' })]),
        // Initiated before the period: not in it.
        ...transition(make, 'c-9', '2024-12-30T10:00:00+01:00', accepted(1)),
        ...transition(make, 'c-10', '2025-05-05T10:00:00+02:00', (c) => [make.event(c, 'HandoverCompleted', '2025-05-07T10:00:00+02:00', { handoverId: 'h1' })], PSYCH),
      ]);

      expect(await flows.flows(YEAR_2025, ALL_UNITS)).toEqual([
        { fromUnitId: YOUTH, toUnitId: PSYCH, count: 1, accepted: 1, rejected: 0, pending: 0, cancelled: 0, medianDaysToAccept: 2, p90DaysToAccept: 2, lost: 0 },
        // Days 1, 2, 3, 10: median 2.5; p90 = 3 + 0.7 × 7 = 7.9.
        { fromUnitId: YOUTH, toUnitId: ADULT, count: 8, accepted: 4, rejected: 1, pending: 2, cancelled: 1, medianDaysToAccept: 2.5, p90DaysToAccept: expect.closeTo(7.9, 10), lost: 0 },
      ]);
      // Judged at the end of the first quarter, the late acceptance is not there yet, and c-10 not initiated.
      expect(await flows.flows(period('2025-01-01T00:00:00+01:00', '2025-03-05T10:00:00+01:00'), ALL_UNITS)).toEqual([
        { fromUnitId: YOUTH, toUnitId: ADULT, count: 7, accepted: 1, rejected: 0, pending: 6, cancelled: 0, medianDaysToAccept: 1, p90DaysToAccept: 1, lost: 0 },
      ]);
      expect(await flows.flows(period('2025-06-01T00:00:00+02:00', '2025-06-01T00:00:00+02:00'), ALL_UNITS)).toEqual([]);
    });

    it('judges lost at the end of the period: after exactly 30 days without coverage, not yet', async () => {
      const { applyBatch, flows } = await readModels();
      const make = new StoredEventFactory();
      await applyBatch(
        transition(make, 'c-1', '2025-03-03T10:00:00+01:00', (c) => [
          make.event(c, 'HandoverAccepted', '2025-03-04T10:00:00+01:00', { handoverId: 'h1' }),
          make.event(c, 'CaseClosed', '2025-03-04T12:00:00+01:00', { caseId: 'k-youth', reason: 'handover' }),
        ]),
      );
      const lostAt = (to: string) => flows.flows(period('2025-01-01T00:00:00+01:00', to), ALL_UNITS).then((edges) => edges[0]?.lost);
      // 30 calendar days after 4 March 12:00 is 3 April 12:00 (summer time by then).
      expect(await lostAt('2025-04-03T12:00:00+02:00')).toBe(0);
      expect(await lostAt('2025-04-03T12:00:00.001+02:00')).toBe(1);

      // A late fact: the adult unit had in fact opened a case on 1 April. No longer lost, at any end.
      await applyBatch([make.event('c-1', 'CaseOpened', '2025-04-01T09:00:00+02:00', { caseId: 'k-adult', unitId: ADULT })]);
      expect(await lostAt('2025-12-31T00:00:00+01:00')).toBe(0);
    });

    it('takes a late initiation into the period it happened in, keeping the earliest of repeated facts', async () => {
      const { applyBatch, flows } = await readModels();
      const make = new StoredEventFactory();
      await applyBatch(transition(make, 'c-1', '2025-03-03T10:00:00+01:00', (c) => [make.event(c, 'HandoverAccepted', '2025-03-10T10:00:00+01:00', { handoverId: 'h1' })]));
      await applyBatch([make.event('c-1', 'HandoverInitiated', '2025-02-03T10:00:00+01:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: PSYCH, kind: 'referral' })]);
      expect(await flows.flows(YEAR_2025, ALL_UNITS)).toMatchObject([{ fromUnitId: YOUTH, toUnitId: PSYCH, count: 1, accepted: 1, medianDaysToAccept: 35 }]);
    });

    it('rolls up by sector and by cohort, withholding cells of fewer than 5 citizens', async () => {
      const { applyBatch, flows } = await readModels();
      await applyBatch(sectorPopulation(new StoredEventFactory()));

      expect(await flows.flowsBySector(YEAR_2025, ALL_UNITS)).toEqual([
        { fromSector: 'child', toSector: 'youth', citizens: null, count: null, accepted: null, rejected: null, pending: null, cancelled: null, medianDaysToAccept: null, p90DaysToAccept: null, lost: null, suppressed: true },
        { fromSector: 'youth', toSector: 'adult', citizens: 6, count: 6, accepted: 6, rejected: 0, pending: 0, cancelled: 0, medianDaysToAccept: 2, p90DaysToAccept: 3, lost: 0, suppressed: false },
      ]);
      expect(await flows.flowCohorts(YEAR_2025, { toSector: 'adult' }, ALL_UNITS)).toEqual([
        { fromSector: 'youth', toSector: 'adult', ageBand: 'AGE_15_17', municipality: '0751', citizens: 6, count: 6, accepted: 6, rejected: 0, pending: 0, cancelled: 0, medianDaysToAccept: 2, p90DaysToAccept: 3, lost: 0, suppressed: false },
      ]);
      expect((await flows.flowCohorts(YEAR_2025, {}, ALL_UNITS)).map((c) => [c.fromSector, c.toSector, c.ageBand, c.suppressed])).toEqual([
        ['child', 'youth', 'AGE_0_14', true],
        ['youth', 'adult', 'AGE_15_17', false],
      ]);
    });

    it('counts only handovers touching the data scope’s units, on either side', async () => {
      const { applyBatch, flows } = await readModels();
      await applyBatch(sectorPopulation(new StoredEventFactory()));
      const sectors = async (scope: DataScope) => (await flows.flowsBySector(YEAR_2025, scope)).map((s) => [s.fromSector, s.toSector, s.count]);

      // The adult unit only receives; the child unit only sends; the youth unit does both.
      expect(await sectors(unitsScope(ADULT))).toEqual([['youth', 'adult', 6]]);
      expect(await sectors(unitsScope(CHILD))).toEqual([['child', 'youth', null]]);
      expect(await sectors(unitsScope(YOUTH))).toEqual([
        ['child', 'youth', null],
        ['youth', 'adult', 6],
      ]);
      expect(await sectors(unitsScope(PSYCH, ADULT))).toEqual([['youth', 'adult', 6]]);
      expect(await sectors(unitsScope())).toEqual([]);
      // A restricted scope sees an exact edge only when no count of it rests on fewer than 5 citizens.
      expect((await flows.flows(YEAR_2025, unitsScope(YOUTH))).map((e) => [e.fromUnitId, e.toUnitId, e.count])).toEqual([[YOUTH, ADULT, 6]]);
    });

    it('says how to register the derivation when the read models lack it', async () => {
      const { flows } = await readModels({ configFingerprint: 'no-flows', derived: [] });
      await expect(flows.flows(YEAR_2025, ALL_UNITS)).rejects.toThrow(/createFlowDerivation/);
    });
  });

  describe(`flow source contract: ${adapterName}, generated histories`, () => {
    const NOW = new Date('2026-03-01T12:00:00+01:00');

    function stored(events: readonly TransitionEvent[]): StoredEvent[] {
      return events.map((e, i) => ({ ...e, recordedAt: NOW.toISOString(), streamVersion: 0, globalPosition: i + 1 }) as StoredEvent);
    }

    async function everyView(flows: FlowQueries, periods: FlowPeriod[]) {
      const out: unknown[] = [];
      for (const p of periods) out.push(await flows.flows(p, ALL_UNITS), await flows.flowsBySector(p, ALL_UNITS), await flows.flowCohorts(p, {}, ALL_UNITS));
      return out;
    }

    it('answers the same when events arrive late, out of order and twice, in small batches, as in world order', async () => {
      const citizens = [...generateCitizens({ seed: 5, citizens: 250, units, now: NOW })];
      const inOrder = await readModels();
      const late = await readModels();
      const worldOrder = stored(citizens.flatMap((c) => c.events).sort((a, b) => at(a.occurredAt) - at(b.occurredAt)));
      for (let i = 0; i < worldOrder.length; i += 2_000) await inOrder.applyBatch(worldOrder.slice(i, i + 2_000));
      // Duplicates reach these read models as repeated facts (as a source re-sending under a new id
      // would; the store itself drops a repeated id): the earliest counts.
      const arrival = stored(deliverLate(citizens, { seed: 9, lateShare: 0.2, maxDelaySteps: 300, duplicateShare: 0.02 }));
      for (let i = 0; i < arrival.length; i += 37) await late.applyBatch(arrival.slice(i, i + 37));

      const periods = [
        YEAR_2025,
        period('2024-01-01T00:00:00+01:00', '2025-01-01T00:00:00+01:00'),
        period('2025-06-01T00:00:00+02:00', '2025-07-01T00:00:00+02:00'),
        period('2000-01-01T00:00:00+01:00', NOW.toISOString()),
      ];
      const expected = await everyView(inOrder.flows, periods);
      expect(await everyView(late.flows, periods)).toEqual(expected);

      // Invariants of every edge: the outcomes partition the count; lost and times stay in range.
      const all = await inOrder.flows.flows(periods[3]!, ALL_UNITS);
      const total = all.reduce((n, e) => n + e.count, 0);
      expect(total).toBe(await inOrder.handoversInitiatedBefore(at(NOW.toISOString())));
      for (const e of all) {
        expect(e.accepted + e.rejected + e.pending + e.cancelled).toBe(e.count);
        expect(e.lost).toBeLessThanOrEqual(e.count);
        if (e.accepted === 0) expect(e.medianDaysToAccept).toBeNull();
        else expect(e.p90DaysToAccept!).toBeGreaterThanOrEqual(e.medianDaysToAccept!);
      }
      expect(all.some((e) => e.lost > 0)).toBe(true);
    });
  });
}
