/**
 * The deadline read model on SQLite: stored clocks equal the pure derivation, statuses computed in
 * SQL equal the domain's rules at every asOf, keyset pages add up, the compliance view counts and
 * suppresses small cells, the worklist is ordered by time left — and the rows do not depend on the
 * order events arrived in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { instantMs, type TransitionEvent } from '@tracker/domain';
import { deliverLate, generateCitizens } from '@tracker/generator';
import type { DeadlineView } from './deadlineQueries.ts';
import { DEADLINE_CLOCKS_TABLE } from './deadlineDerivation.ts';
import { SqliteDeadlineQueries } from './sqliteDeadlineQueries.ts';
import { clocksOf, clocksVisibleAt, DEADLINE_STATUSES, deadlineStatusAt, formatDeadlineInstant, type DeadlineStatus } from '@tracker/domain';
import { ADULT, CHILD, DAY, RECEPTION, YOUTH, deadlineTestbed, fact, units, type DeadlineTestbed } from './testing.ts';
import { ALL_UNITS } from '@tracker/security';

const NOW = new Date('2026-06-01T12:00:00+02:00');

/** Every clock visible at asOf, computed in JavaScript from the histories (the reference). */
function expectedAt(bed: DeadlineTestbed, citizenIds: string[], asOf: number) {
  const out: { citizenId: string; clockId: string; status: DeadlineStatus; unitId: string | null; policy: string; dueAt: number }[] = [];
  for (const id of citizenIds) {
    for (const c of clocksVisibleAt(clocksOf(bed.readModel.history(id), bed.policies, units), asOf)) {
      out.push({ citizenId: id, clockId: c.clockId, status: deadlineStatusAt(c, asOf), unitId: c.unitId, policy: c.policy, dueAt: c.dueAt });
    }
  }
  return out;
}

const view = (d: DeadlineView) => ({ citizenId: d.citizenId, clockId: d.clockId, status: d.status });
const byKey = <T extends { citizenId: string; clockId: string }>(a: T, b: T) => a.citizenId.localeCompare(b.citizenId) || a.clockId.localeCompare(b.clockId);

describe('deadline read model on generated citizens', () => {
  let bed: DeadlineTestbed;
  let ids: string[];
  let instants: number[];
  beforeAll(async () => {
    bed = await deadlineTestbed({ now: NOW });
    const citizens = [...generateCitizens({ seed: 7, citizens: 60, units, now: NOW, maxAge: 22 })];
    ids = citizens.map((c) => c.citizenId);
    await bed.append(citizens.flatMap((c) => c.events));
    instants = [NOW.getTime() - 3 * 365 * DAY, NOW.getTime() - 400 * DAY, NOW.getTime() - 30 * DAY, NOW.getTime() - 2 * DAY, NOW.getTime()];
  });
  afterAll(async () => bed?.close());

  it('stores exactly the derived clocks', () => {
    const rows = bed.readModel.database.prepare(`SELECT citizen_id, clock_id, started_ms, due_ms, at_risk_ms, stopped_ms, visible_from_ms, visible_until_ms FROM ${DEADLINE_CLOCKS_TABLE}`).all() as Record<string, unknown>[];
    const derived = ids.flatMap((id) =>
      clocksOf(bed.readModel.history(id), bed.policies, units).map((c) => ({
        citizen_id: id,
        clock_id: c.clockId,
        started_ms: c.startedAt,
        due_ms: c.dueAt,
        at_risk_ms: c.atRiskAt,
        stopped_ms: c.stoppedAt,
        visible_from_ms: c.visibleFrom,
        visible_until_ms: c.visibleUntil,
      })),
    );
    const key = (r: Record<string, unknown>) => `${r.citizen_id}/${r.clock_id}/${r.visible_from_ms}`;
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(derived.sort((a, b) => key(a).localeCompare(key(b))));
    // Every default policy occurs in the generated population.
    expect(new Set(rows.map((r) => String(r.clock_id).split(':')[0]))).toEqual(new Set(bed.policies.ids));
  });

  it('computes every status in SQL as the domain does, at every asOf', async () => {
    for (const asOf of instants) {
      const expected = expectedAt(bed, ids, asOf);
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
    for (const asOf of instants) {
      for (const unitId of [CHILD, YOUTH, ADULT, RECEPTION]) {
        const list = await bed.queries.atRisk(unitId, asOf, 500, ALL_UNITS);
        const expected = expectedAt(bed, ids, asOf)
          .filter((e) => e.status === 'AT_RISK' && e.unitId === unitId)
          .sort((a, b) => a.dueAt - b.dueAt || a.citizenId.localeCompare(b.citizenId) || a.clockId.localeCompare(b.clockId));
        expect(list.map((d) => d.id)).toEqual(expected.map((e) => `${e.citizenId}/${e.clockId}`));
      }
    }
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
    const unsuppressed = new SqliteDeadlineQueries(bed.readModel.database, bed.policies, { minCitizensPerCell: 1 });
    const everything = await unsuppressed.compliance({ fromMonth: '2020-01', toMonth: '2026-12', asOf }, ALL_UNITS);
    const expected = expectedAt(bed, ids, asOf).filter((e) => e.dueAt > Date.parse('2020-01-01T00:00:00+01:00') && e.dueAt <= Date.parse('2027-01-01T00:00:00+01:00'));
    const sum = (k: 'met' | 'breached' | 'pending') => everything.cells.reduce((n, c) => n + c[k]!, 0);
    expect(sum('met')).toBe(expected.filter((e) => e.status === 'MET').length);
    expect(sum('breached')).toBe(expected.filter((e) => e.status === 'BREACHED').length);
    expect(sum('pending')).toBe(expected.filter((e) => e.status === 'PENDING' || e.status === 'AT_RISK').length);
  });
});

describe('the compliance view', () => {
  let bed: DeadlineTestbed;
  afterAll(async () => bed?.close());

  it('counts per unit, policy and month; share on time; median and p90 lateness in hverdage; suppresses small cells', async () => {
    bed = await deadlineTestbed({ now: NOW });
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
    const b = await deadlineTestbed({ now: NOW });
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

describe('late and out-of-order delivery', () => {
  /** The rows that answer queries, keyed by what the world decides (source_position follows arrival). */
  const rows = (bed: DeadlineTestbed) =>
    bed.readModel.database
      .prepare(`SELECT citizen_id, clock_id, policy, unit_id, started_ms, due_ms, at_risk_ms, stopped_ms, visible_from_ms, visible_until_ms FROM ${DEADLINE_CLOCKS_TABLE} ORDER BY citizen_id, clock_id, visible_from_ms`)
      .all();

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
          const incremental = await deadlineTestbed({ now: NOW, batchSize: p.batchSize });
          const unique = new Map<string, TransitionEvent>();
          for (const e of arrival) if (!unique.has(e.id)) unique.set(e.id, e);
          const ordered = [...unique.values()].sort((a, b) => instantMs(a.occurredAt) - instantMs(b.occurredAt));
          const inOrder = await deadlineTestbed({ now: NOW });
          let rebuilt: DeadlineTestbed | undefined;
          try {
            for (let i = 0; i < arrival.length; i += p.batchSize) await incremental.append(arrival.slice(i, i + p.batchSize));
            await inOrder.append(ordered);
            rebuilt = await deadlineTestbed({ now: NOW, store: incremental.store });
            expect(rows(rebuilt)).toEqual(rows(incremental));
            expect(rows(inOrder)).toEqual(rows(incremental));
            const asOf = NOW.getTime() - 90 * DAY;
            const answer = async (b: DeadlineTestbed) => (await b.queries.deadlines({ asOf }, { first: 10_000 }, ALL_UNITS)).nodes.map(({ key: _key, ...node }) => node);
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
    const bed = await deadlineTestbed({ now: NOW });
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
