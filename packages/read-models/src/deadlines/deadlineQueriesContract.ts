/**
 * The contract every deadline query adapter passes unchanged (SQLite, PostgreSQL): stored clocks equal
 * the pure derivation, statuses computed in SQL equal the domain's rules at every asOf, keyset pages
 * add up, the worklist is ordered by time left, the compliance view counts and suppresses small cells
 * and puts a clock into the month it falls due in, the data scope limits every answer, and the rows do
 * not depend on the order events arrived in. An adapter supplies a test bed: an empty read model with
 * the deadline derivation, fed from an event store (testing.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { instantMs, type TransitionEvent } from '@tracker/domain';
import { deliverLate, generateCitizens } from '@tracker/generator';
import type { SqliteEventStore } from '@tracker/event-store';
import { ALL_UNITS, citizenInScope, type DataScope } from '@tracker/security';
import type { DeadlineView } from './deadlineQueries.ts';
import { clocksOf, clocksVisibleAt, DEADLINE_STATUSES, deadlineStatusAt, formatDeadlineInstant, type DeadlineStatus } from '@tracker/domain';
import { ADULT, CHILD, DAY, RECEPTION, YOUTH, fact, units, type DeadlineBed } from './testing.ts';

export interface DeadlineQueriesSetup {
  /** A new, empty read model with the deadline derivation, fed from `store` (a new, empty one when absent). */
  testbed(options: { now: Date; batchSize?: number; store?: SqliteEventStore }): Promise<DeadlineBed>;
}

const NOW = new Date('2026-06-01T12:00:00+02:00');

interface ExpectedClock {
  citizenId: string;
  clockId: string;
  status: DeadlineStatus;
  unitId: string | null;
  policy: string;
  dueAt: number;
}

/** Every clock visible at asOf, computed in JavaScript from the histories (the reference). */
async function expectedAt(bed: DeadlineBed, citizenIds: string[], asOf: number): Promise<ExpectedClock[]> {
  const out: ExpectedClock[] = [];
  for (const id of citizenIds) {
    for (const c of clocksVisibleAt(clocksOf(await bed.history(id), bed.policies, units), asOf)) {
      out.push({ citizenId: id, clockId: c.clockId, status: deadlineStatusAt(c, asOf), unitId: c.unitId, policy: c.policy, dueAt: c.dueAt });
    }
  }
  return out;
}

const view = (d: DeadlineView) => ({ citizenId: d.citizenId, clockId: d.clockId, status: d.status });
const byKey = <T extends { citizenId: string; clockId: string }>(a: T, b: T) => a.citizenId.localeCompare(b.citizenId) || a.clockId.localeCompare(b.clockId);
/** Byte order, as both adapters sort text (SQLite BINARY, PostgreSQL "C"). */
const bytewise = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function deadlineQueriesContract(adapterName: string, setup: DeadlineQueriesSetup): void {
  describe(`deadline queries contract: ${adapterName}`, () => {
    describe('deadline read model on generated citizens', () => {
      let bed: DeadlineBed;
      let ids: string[];
      let instants: number[];
      /** Every unit some clock belongs to, and the fixed ones. */
      let worklistUnits: string[];
      beforeAll(async () => {
        bed = await setup.testbed({ now: NOW });
        const citizens = [...generateCitizens({ seed: 7, citizens: 60, units, now: NOW, maxAge: 22 })];
        ids = citizens.map((c) => c.citizenId);
        await bed.append(citizens.flatMap((c) => c.events));
        // Round instants see few clocks AT_RISK (a quarter of a clock's time, often none at all): add
        // the at-risk instants of some clocks that are AT_RISK then, spread over the population.
        const clocks = [];
        for (const id of ids) clocks.push(...clocksOf(await bed.history(id), bed.policies, units));
        const risky = clocks
          .filter((c) => clocksVisibleAt([c], c.atRiskAt).length === 1 && deadlineStatusAt(c, c.atRiskAt) === 'AT_RISK')
          .map((c) => c.atRiskAt)
          .sort((a, b) => a - b);
        const atRisk = Array.from({ length: 6 }, (_, i) => risky[Math.floor((i * (risky.length - 1)) / 5)]!);
        instants = [NOW.getTime() - 3 * 365 * DAY, NOW.getTime() - 400 * DAY, NOW.getTime() - 30 * DAY, NOW.getTime() - 2 * DAY, NOW.getTime(), ...atRisk];
        worklistUnits = [...new Set([CHILD, YOUTH, ADULT, RECEPTION, ...clocks.flatMap((c) => (c.unitId === null ? [] : [c.unitId]))])].sort();
      });
      afterAll(async () => bed?.close());

      it('stores exactly the derived clocks', async () => {
        const rows = (await bed.clockRows()).map((r) => ({
          citizen_id: r.citizen_id,
          clock_id: r.clock_id,
          started_ms: r.started_ms,
          due_ms: r.due_ms,
          at_risk_ms: r.at_risk_ms,
          stopped_ms: r.stopped_ms,
          visible_from_ms: r.visible_from_ms,
          visible_until_ms: r.visible_until_ms,
        }));
        const derived = [];
        for (const id of ids) {
          for (const c of clocksOf(await bed.history(id), bed.policies, units)) {
            derived.push({
              citizen_id: id,
              clock_id: c.clockId,
              started_ms: c.startedAt,
              due_ms: c.dueAt,
              at_risk_ms: c.atRiskAt,
              stopped_ms: c.stoppedAt,
              visible_from_ms: c.visibleFrom,
              visible_until_ms: c.visibleUntil,
            });
          }
        }
        const key = (r: Record<string, unknown>) => `${r.citizen_id}/${r.clock_id}/${r.visible_from_ms}`;
        expect(rows.length).toBeGreaterThan(100);
        expect(rows.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(derived.sort((a, b) => key(a).localeCompare(key(b))));
        // Every default policy occurs in the generated population.
        expect(new Set(rows.map((r) => String(r.clock_id).split(':')[0]))).toEqual(new Set(bed.policies.ids));
      });

      it('computes every status in SQL as the domain does, at every asOf', async () => {
        for (const asOf of instants) {
          const expected = await expectedAt(bed, ids, asOf);
          const perCitizen = (await Promise.all(ids.map((id) => bed.queries.citizenDeadlines(id, asOf, ALL_UNITS)))).flat();
          expect(perCitizen.map(view).sort(byKey)).toEqual(expected.map(({ citizenId, clockId, status }) => ({ citizenId, clockId, status })).sort(byKey));
          for (const status of DEADLINE_STATUSES) {
            const page = await bed.queries.deadlines({ asOf, status }, { first: 10_000 }, ALL_UNITS);
            expect(page.totalCount).toBe(expected.filter((e) => e.status === status).length);
            expect(page.nodes.every((n) => n.status === status)).toBe(true);
          }
        }
      });

      it('pages through a filter with keyset cursors: pages add up to the whole, in due order', async () => {
        const asOf = NOW.getTime() - 30 * DAY;
        for (const filter of [{ asOf }, { asOf, unitId: CHILD }, { asOf, policy: 'underretning-24h', status: 'MET' as const }]) {
          const all = await bed.queries.deadlines(filter, { first: 10_000 }, ALL_UNITS);
          const pages: DeadlineView[] = [];
          let after;
          for (;;) {
            const page = await bed.queries.deadlines(filter, { first: 7, ...(after ? { after } : {}) }, ALL_UNITS);
            expect(page.totalCount).toBe(all.totalCount);
            pages.push(...page.nodes);
            expect(pages.length).toBeLessThanOrEqual(all.totalCount); // a cursor that does not advance fails here
            if (!page.hasNextPage) break;
            after = page.nodes.at(-1)!.key;
          }
          expect(pages.map((p) => p.id)).toEqual(all.nodes.map((n) => n.id));
          expect(pages.length).toBe(all.totalCount);
          const dues = pages.map((p) => Date.parse(p.dueAt));
          expect(dues).toEqual([...dues].sort((a, b) => a - b));
        }
      });

      it('orders the at-risk worklist by time left, and lists only AT_RISK clocks of the unit', async () => {
        let listed = 0;
        for (const asOf of instants) {
          const atAsOf = await expectedAt(bed, ids, asOf);
          for (const unitId of worklistUnits) {
            const list = await bed.queries.atRisk(unitId, asOf, 500, ALL_UNITS);
            const expected = atAsOf
              .filter((e) => e.status === 'AT_RISK' && e.unitId === unitId)
              .sort((a, b) => a.dueAt - b.dueAt || bytewise(a.citizenId, b.citizenId) || bytewise(a.clockId, b.clockId));
            expect(list.map((d) => d.id)).toEqual(expected.map((e) => `${e.citizenId}/${e.clockId}`));
            expect(list.every((d) => d.status === 'AT_RISK' && d.unitId === unitId)).toBe(true);
            listed += list.length;
            // The first n of the list are the worklist of n.
            if (list.length > 1) expect((await bed.queries.atRisk(unitId, asOf, 1, ALL_UNITS)).map((d) => d.id)).toEqual([list[0]!.id]);
          }
        }
        expect(listed).toBeGreaterThanOrEqual(6);
      });

      it('answers the compliance view with the counts of the statuses, never a cell under 5 citizens', async () => {
        const asOf = NOW.getTime();
        const view = await bed.queries.compliance({ fromMonth: '2020-01', toMonth: '2026-12', asOf }, ALL_UNITS);
        expect(view.minCitizensPerCell).toBe(5);
        expect(view.cells.length).toBeGreaterThan(0);
        for (const cell of view.cells) {
          if (cell.suppressed) {
            expect([cell.citizens, cell.met, cell.breached, cell.pending, cell.shareOnTime, cell.medianLateness, cell.p90Lateness]).toEqual([null, null, null, null, null, null, null]);
          } else {
            expect(cell.citizens).toBeGreaterThanOrEqual(5);
            expect(cell.met! + cell.breached! + cell.pending!).toBeGreaterThanOrEqual(cell.citizens!);
          }
        }
        // Unsuppressed, the cells add up to the statuses of the clocks due in the range.
        const everything = await bed.queriesWith({ minCitizensPerCell: 1 }).compliance({ fromMonth: '2020-01', toMonth: '2026-12', asOf }, ALL_UNITS);
        const expected = (await expectedAt(bed, ids, asOf)).filter((e) => e.dueAt > Date.parse('2020-01-01T00:00:00+01:00') && e.dueAt <= Date.parse('2027-01-01T00:00:00+01:00'));
        const sum = (k: 'met' | 'breached' | 'pending') => everything.cells.reduce((n, c) => n + c[k]!, 0);
        expect(sum('met')).toBe(expected.filter((e) => e.status === 'MET').length);
        expect(sum('breached')).toBe(expected.filter((e) => e.status === 'BREACHED').length);
        expect(sum('pending')).toBe(expected.filter((e) => e.status === 'PENDING' || e.status === 'AT_RISK').length);
      });

      it('limits every answer to the data scope: lists to citizens involved with its units, compliance to its units', async () => {
        const asOf = NOW.getTime() - 30 * DAY;
        const range = { fromMonth: '2020-01', toMonth: '2026-12', asOf: NOW.getTime() };
        const all = await bed.queries.deadlines({ asOf }, { first: 10_000 }, ALL_UNITS);
        const allCells = (await bed.queries.compliance(range, ALL_UNITS)).cells;
        const worklists = new Map<string, DeadlineView[]>();
        for (const at of instants) for (const unitId of worklistUnits) worklists.set(`${at}/${unitId}`, await bed.queries.atRisk(unitId, at, 500, ALL_UNITS));
        // A scope that leaves out a citizen of some worklist: a unit that citizen never had to do with.
        const involved = new Map<string, string[]>();
        for (const id of ids) involved.set(id, await bed.citizenUnits(id));
        const listed = [...worklists.values()].flat()[0]!.citizenId;
        const elsewhere = [...new Set([...involved.values()].flat())].sort().find((u) => !involved.get(listed)!.includes(u))!;
        // How much each kind of answer the scopes cut: every cut must be exercised at least once.
        const cut = { lists: 0, worklists: 0, cells: 0 };
        for (const units of [[CHILD, YOUTH], [RECEPTION], [elsewhere]]) {
          const scope: DataScope = { allUnits: false, units };
          const inScope = new Set<string>();
          for (const id of ids) if (citizenInScope(scope, involved.get(id)!)) inScope.add(id);
          expect(inScope.size).toBeGreaterThan(0);
          expect(inScope.size).toBeLessThan(ids.length);

          const scoped = await bed.queries.deadlines({ asOf }, { first: 10_000 }, scope);
          const mine = all.nodes.filter((n) => inScope.has(n.citizenId)).map((n) => n.id);
          expect(scoped.nodes.map((n) => n.id)).toEqual(mine);
          expect(scoped.totalCount).toBe(mine.length);
          cut.lists += all.totalCount - mine.length;
          const firstPage = await bed.queries.deadlines({ asOf }, { first: 5 }, scope);
          expect(firstPage.nodes.map((n) => n.id)).toEqual(mine.slice(0, 5));

          const outsider = ids.find((id) => !inScope.has(id))!;
          const insider = ids.find((id) => inScope.has(id))!;
          expect(await bed.queries.citizenDeadlines(outsider, asOf, scope)).toEqual([]);
          expect(await bed.queries.citizenDeadlines(insider, asOf, scope)).toEqual(await bed.queries.citizenDeadlines(insider, asOf, ALL_UNITS));

          for (const at of instants) {
            for (const unitId of worklistUnits) {
              const list = worklists.get(`${at}/${unitId}`)!;
              const expected = list.filter((d) => inScope.has(d.citizenId)).map((d) => d.id);
              expect((await bed.queries.atRisk(unitId, at, 500, scope)).map((d) => d.id)).toEqual(expected);
              cut.worklists += list.length - expected.length;
            }
          }

          const cells = (await bed.queries.compliance(range, scope)).cells;
          const ofUnits = allCells.filter((c) => c.unitId !== null && units.includes(c.unitId));
          expect(cells).toEqual(ofUnits);
          cut.cells += allCells.length - cells.length;
        }
        expect(cut.lists).toBeGreaterThan(0);
        expect(cut.worklists).toBeGreaterThan(0);
        expect(cut.cells).toBeGreaterThan(0);

        const nothing: DataScope = { allUnits: false, units: [] };
        expect(await bed.queries.deadlines({ asOf }, { first: 10 }, nothing)).toEqual({ nodes: [], totalCount: 0, hasNextPage: false });
        expect(await bed.queries.citizenDeadlines(ids[0]!, asOf, nothing)).toEqual([]);
        expect(await bed.queries.atRisk(CHILD, NOW.getTime(), 10, nothing)).toEqual([]);
        expect((await bed.queries.compliance(range, nothing)).cells).toEqual([]);
      });
    });

    describe('the compliance view', () => {
      let bed: DeadlineBed | undefined;
      afterAll(async () => bed?.close());

      it('counts per unit, policy and month; share on time; median and p90 lateness in hverdage; suppresses small cells', async () => {
        bed = await setup.testbed({ now: NOW });
        // March 2025, overdragelse-accept to ADULT: 6 citizens. Initiated Mon 3 March → due end of Mon 17 March.
        const initiated = '2025-03-03T10:00:00+01:00';
        const answers = [
          '2025-03-05T10:00:00+01:00', // met
          '2025-03-17T23:00:00+01:00', // met, on the last hverdag
          '2025-03-18T09:00:00+01:00', // 1 hverdag late
          '2025-03-20T09:00:00+01:00', // 3 late
          '2025-03-24T09:00:00+01:00', // 5 late
          null, // never: at asOf Wed 2 April, 12 hverdage late
        ];
        const facts: TransitionEvent[] = [];
        answers.forEach((answer, i) => {
          const id = `c-cmp-${i}`;
          facts.push(fact(id, 'HandoverInitiated', initiated, { handoverId: 'h', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }));
          if (answer) facts.push(fact(id, 'HandoverAccepted', answer, { handoverId: 'h' }));
        });
        // April: 2 citizens only → suppressed.
        for (const i of [0, 1]) facts.push(fact(`c-small-${i}`, 'HandoverInitiated', '2025-04-01T10:00:00+02:00', { handoverId: 'h', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }));
        await bed.append(facts);

        const asOf = Date.parse('2025-04-02T12:00:00+02:00');
        const { cells } = await bed.queries.compliance({ unitId: ADULT, policy: 'overdragelse-accept', fromMonth: '2025-03', toMonth: '2025-04', asOf }, ALL_UNITS);
        expect(cells).toEqual([
          {
            unitId: ADULT,
            policy: 'overdragelse-accept',
            month: '2025-03',
            suppressed: false,
            citizens: 6,
            met: 2,
            breached: 4,
            pending: 0,
            shareOnTime: 2 / 6,
            medianLateness: 3,
            p90Lateness: 12,
            latenessUnit: 'workingDays',
          },
          {
            unitId: ADULT,
            policy: 'overdragelse-accept',
            month: '2025-04',
            suppressed: true,
            citizens: null,
            met: null,
            breached: null,
            pending: null,
            shareOnTime: null,
            medianLateness: null,
            p90Lateness: null,
            latenessUnit: 'workingDays',
          },
        ]);
        // Before the due instant the same cell is all pending (and the April clocks did not exist yet).
        const early = await bed.queries.compliance({ unitId: ADULT, policy: 'overdragelse-accept', fromMonth: '2025-03', toMonth: '2025-04', asOf: Date.parse('2025-03-04T00:00:00+01:00') }, ALL_UNITS);
        expect(early.cells.map((c) => [c.month, c.met, c.breached, c.pending, c.shareOnTime])).toEqual([['2025-03', 0, 0, 6, null]]);
      });

      it('puts a clock due at the end of a month into that month', async () => {
        const b = await setup.testbed({ now: NOW });
        try {
          // 10 hverdage from Mon 17 March 2025 → due end of Mon 31 March = 1 April 00:00.
          await b.append([0, 1, 2, 3, 4].map((i) => fact(`c-eom-${i}`, 'HandoverInitiated', '2025-03-17T10:00:00+01:00', { handoverId: 'h', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' })));
          const [clock] = await b.queries.citizenDeadlines('c-eom-0', NOW.getTime(), ALL_UNITS);
          expect(clock?.dueAt).toBe('2025-04-01T00:00:00+02:00');
          const { cells } = await b.queries.compliance({ fromMonth: '2025-03', toMonth: '2025-04', asOf: NOW.getTime() }, ALL_UNITS);
          expect(cells.map((c) => [c.month, c.breached])).toEqual([['2025-03', 5]]);
        } finally {
          await b.close();
        }
      });
    });

    describe('ordering', () => {
      it('breaks ties on the due instant by citizen, then clock, in byte order (upper case before lower, "-" before "_")', async () => {
        const b = await setup.testbed({ now: NOW });
        try {
          // Same start, same policy: the same due instant. Byte order differs from a locale's here.
          const citizens = ['c-b', 'c-B', 'c_a', 'c-a', 'C-a', 'c-ä'];
          await b.append(citizens.map((id) => fact(id, 'HandoverInitiated', '2025-03-17T10:00:00+01:00', { handoverId: 'h', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' })));
          const asOf = Date.parse('2025-03-27T13:00:00+01:00'); // AT_RISK: past noon of the 8th hverdag
          const expected = [...citizens].sort(bytewise);
          expect(expected).toEqual(['C-a', 'c-B', 'c-a', 'c-b', 'c-ä', 'c_a']);
          const page = await b.queries.deadlines({ asOf }, { first: 100 }, ALL_UNITS);
          expect(page.nodes.map((n) => n.citizenId)).toEqual(expected);
          expect(page.nodes.every((n) => n.status === 'AT_RISK')).toBe(true);
          expect((await b.queries.atRisk(ADULT, asOf, 100, ALL_UNITS)).map((n) => n.citizenId)).toEqual(expected);
          // Keyset pages of 1 walk the same order.
          const walked: string[] = [];
          let after;
          for (;;) {
            const p = await b.queries.deadlines({ asOf }, { first: 1, ...(after ? { after } : {}) }, ALL_UNITS);
            walked.push(...p.nodes.map((n) => n.citizenId));
            expect(walked.length).toBeLessThanOrEqual(citizens.length);
            if (!p.hasNextPage) break;
            after = p.nodes.at(-1)!.key;
          }
          expect(walked).toEqual(expected);
        } finally {
          await b.close();
        }
      });
    });

    describe('late and out-of-order delivery', () => {
      it('gives the same clocks as in-order delivery, and a rebuild gives the same as incremental', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.record({
              seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
              citizens: fc.integer({ min: 1, max: 6 }),
              lateShare: fc.double({ min: 0, max: 0.8, noNaN: true }),
              maxDelaySteps: fc.integer({ min: 1, max: 80 }),
              duplicateShare: fc.double({ min: 0, max: 0.2, noNaN: true }),
              batchSize: fc.integer({ min: 1, max: 40 }),
              reversed: fc.boolean(),
            }),
            async (p) => {
              const citizens = [...generateCitizens({ seed: p.seed, citizens: p.citizens, units, now: NOW, maxAge: 21, anomalyRate: 0.3 })];
              const late = deliverLate(citizens, { seed: p.seed, lateShare: p.lateShare, maxDelaySteps: p.maxDelaySteps, duplicateShare: p.duplicateShare });
              const arrival = p.reversed ? late.reverse() : late;
              const incremental = await setup.testbed({ now: NOW, batchSize: p.batchSize });
              const unique = new Map<string, TransitionEvent>();
              for (const e of arrival) if (!unique.has(e.id)) unique.set(e.id, e);
              const ordered = [...unique.values()].sort((a, b) => instantMs(a.occurredAt) - instantMs(b.occurredAt));
              const inOrder = await setup.testbed({ now: NOW });
              let rebuilt: DeadlineBed | undefined;
              try {
                for (let i = 0; i < arrival.length; i += p.batchSize) await incremental.append(arrival.slice(i, i + p.batchSize));
                await inOrder.append(ordered);
                rebuilt = await setup.testbed({ now: NOW, store: incremental.store });
                expect(await rebuilt.clockRows()).toEqual(await incremental.clockRows());
                expect(await inOrder.clockRows()).toEqual(await incremental.clockRows());
                const asOf = NOW.getTime() - 90 * DAY;
                const answer = async (b: DeadlineBed) => (await b.queries.deadlines({ asOf }, { first: 10_000 }, ALL_UNITS)).nodes.map(({ key: _key, ...node }) => node);
                expect(await answer(inOrder)).toEqual(await answer(incremental));
              } finally {
                await rebuilt?.close();
                await incremental.close();
                await inOrder.close();
              }
            },
          ),
          { numRuns: 60 },
        );
      });
    });

    describe('time travel', () => {
      it('answers as the world stood: a clock started after asOf does not exist, a stop after asOf does not count', async () => {
        const bed = await setup.testbed({ now: NOW });
        try {
          const id = 'c-travel';
          await bed.append([fact(id, 'NotificationReceived', '2025-03-03T10:00:00+01:00', { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' })]);
          // The assessment is recorded after the breach.
          await bed.append([fact(id, 'NotificationAssessed', '2025-03-04T09:00:00+01:00', { notificationId: 'n1', urgent: false })]);
          const statusAt = async (iso: string) => (await bed.queries.citizenDeadlines(id, Date.parse(iso), ALL_UNITS)).map((d) => [d.status, d.stoppedAt]);
          expect(await statusAt('2025-03-03T09:00:00+01:00')).toEqual([]);
          expect(await statusAt('2025-03-03T10:00:00+01:00')).toEqual([['PENDING', null]]);
          expect(await statusAt('2025-03-04T08:59:59+01:00')).toEqual([['AT_RISK', null]]);
          expect(await statusAt('2025-03-04T09:00:00+01:00')).toEqual([['MET', '2025-03-04T09:00:00+01:00']]);
          expect(formatDeadlineInstant(Date.parse('2025-03-04T09:00:00+01:00'))).toBe('2025-03-04T09:00:00+01:00');
        } finally {
          await bed.close();
        }
      });
    });
  });
}
