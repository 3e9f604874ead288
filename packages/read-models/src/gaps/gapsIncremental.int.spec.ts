/**
 * Gaps computed incrementally — the projector running while generated facts arrive late, out of
 * order and partly twice — equal gaps computed from scratch in one pass over each citizen's facts in
 * world order (analyseCitizen), for every citizen, every filter of the connection and instants spread
 * over the histories; and a rebuild from zero gives the same answers again.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  analyseCitizen,
  ANOMALY_DESCRIPTIONS,
  DEMO_UNITS_FILE,
  formatCopenhagenInstant,
  GAP_KINDS,
  gapsAsOf,
  instantMs,
  loadUnitsFile,
  ManualClock,
  relativesAsOf,
  unitsOfGap,
  WorkingDayCalendar,
  type CitizenGapAnalysis,
  type GapAsOf,
  type TransitionEvent,
} from '@tracker/domain';
import { SqliteEventStore, type EventStore } from '@tracker/event-store';
import { Random, deliverLate, generateCitizens } from '@tracker/generator';
import { Projector } from '../projector.ts';
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import type { GapFilter, GapView } from './gapQueries.ts';
import { gapsDerivation } from './gapsDerivation.ts';
import { SqliteGapQueries } from './sqliteGapQueries.ts';
import { ALL_UNITS } from '@tracker/security';

const units = loadUnitsFile(DEMO_UNITS_FILE);
const hverdage = new WorkingDayCalendar();
const policies = { handoverAcceptanceDue: (ms: number) => hverdage.addWorkingDays(ms, 10), relativeAnswerDue: (ms: number) => hverdage.addWorkingDays(ms, 10) };
const rules = { sectorOf: (id: string) => units.sectorOf(id), ...policies };
const NOW = new Date('2026-06-01T12:00:00+02:00');
const ALL = { first: 100_000, offset: 0 };

interface Projected {
  store: EventStore;
  readModel: SqliteReadModel;
  queries: SqliteGapQueries;
  projector: Projector;
}

async function projected(store?: EventStore): Promise<Projected> {
  const s = store ?? (await SqliteEventStore.open({ file: ':memory:', clock: new ManualClock(NOW) }));
  const readModel = new SqliteReadModel({
    file: ':memory:',
    projection: { units, handoverAcceptanceDue: policies.handoverAcceptanceDue },
    configFingerprint: 'gaps-property',
    derived: [gapsDerivation({ units, ...policies })],
  });
  const projector = new Projector({ store: s, target: readModel, batchSize: 7 });
  await projector.start();
  return { store: s, readModel, queries: new SqliteGapQueries(readModel.database), projector };
}

async function close(...all: Projected[]) {
  for (const p of all) await p.projector.stop();
  for (const s of new Set(all.map((p) => p.store))) await s.close();
  for (const p of all) p.readModel.close();
}

function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** The view the adapter should give of a gap computed from scratch. */
const viewOf = (citizenId: string, g: GapAsOf): GapView => ({
  kind: g.kind,
  citizenId,
  fromUnitId: g.fromUnitId,
  toUnitId: g.toUnitId,
  relativeId: g.relativeId,
  subjectId: g.subjectId,
  startedAt: formatCopenhagenInstant(g.startedMs),
  endedAt: g.endedMs === null ? null : formatCopenhagenInstant(g.endedMs),
  dueAt: g.dueMs === null ? null : formatCopenhagenInstant(g.dueMs),
  durationDays: g.durationDays,
  open: g.open,
  overdue: g.overdue,
});

/** The connection computed from scratch: filter, then oldest start, citizen, gap. */
function expectedConnection(fromScratch: Map<string, CitizenGapAnalysis>, filter: GapFilter): GapView[] {
  const rows: { citizenId: string; gap: GapAsOf }[] = [];
  for (const [citizenId, analysis] of fromScratch) {
    for (const gap of gapsAsOf(analysis.gaps, filter.asOf)) {
      if (filter.kind !== undefined && gap.kind !== filter.kind) continue;
      if (filter.unitId !== undefined && !unitsOfGap(gap).includes(filter.unitId)) continue;
      if (filter.open !== undefined && gap.open !== filter.open) continue;
      if (filter.overdue !== undefined && gap.overdue !== filter.overdue) continue;
      rows.push({ citizenId, gap });
    }
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  rows.sort((a, b) => a.gap.startedMs - b.gap.startedMs || cmp(a.citizenId, b.citizenId) || cmp(a.gap.key, b.gap.key));
  return rows.map((r) => viewOf(r.citizenId, r.gap));
}

/** Everything the gap queries answer, at the given instants. */
async function answers(p: Projected, citizenIds: string[], instants: number[], filters: (asOf: number) => GapFilter[]) {
  const out: unknown[] = [];
  for (const asOf of instants) {
    for (const filter of filters(asOf)) out.push(await p.queries.gaps(filter, ALL, ALL_UNITS));
    out.push(await p.queries.anomalyCounts(asOf, { scope: ALL_UNITS }));
    for (const id of citizenIds) out.push(await p.queries.citizenGaps(id, asOf, {}, ALL_UNITS), await p.queries.relatives(id, asOf, ALL_UNITS), await p.queries.anomalies(id, asOf, ALL_UNITS));
  }
  return out;
}

const filtersAt = (asOf: number): GapFilter[] => [
  { asOf },
  { asOf, open: true },
  { asOf, open: false },
  { asOf, overdue: true },
  ...GAP_KINDS.map((kind) => ({ asOf, kind })),
  ...units.units.map((u) => ({ asOf, unitId: u.id, open: true })),
  ...units.units.map((u) => ({ asOf, unitId: u.id, overdue: false })),
];

describe('gaps: incremental equals from scratch, whatever the arrival order', () => {
  it('holds for generated histories delivered late, out of order and twice', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          citizens: fc.integer({ min: 1, max: 8 }),
          lateShare: fc.double({ min: 0, max: 0.7, noNaN: true }),
          maxDelaySteps: fc.integer({ min: 1, max: 60 }),
          duplicateShare: fc.double({ min: 0, max: 0.2, noNaN: true }),
          anomalyRate: fc.constantFrom(0, 0.5, 1),
          chunks: fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 12 }),
          waitEvery: fc.integer({ min: 1, max: 4 }),
          arrivalOrder: fc.constantFrom('late', 'late', 'reversed', 'shuffled'),
        }),
        async (p) => {
          const citizens = [...generateCitizens({ seed: p.seed, citizens: p.citizens, units, now: NOW, anomalyRate: p.anomalyRate })];
          const late = deliverLate(citizens, { seed: p.seed, lateShare: p.lateShare, maxDelaySteps: p.maxDelaySteps, duplicateShare: p.duplicateShare });
          const arrival = p.arrivalOrder === 'late' ? late : p.arrivalOrder === 'reversed' ? late.reverse() : shuffle(late, new Random(p.seed));

          // Incremental: the projector derives while late facts keep arriving in chunks.
          const incremental = await projected();
          for (let i = 0, c = 0; i < arrival.length; c++) {
            const size = p.chunks[c % p.chunks.length]!;
            const { appended } = await incremental.store.appendBatch(arrival.slice(i, i + size));
            i += size;
            if (c % p.waitEvery === 0 && appended.length > 0) await incremental.projector.waitFor(appended.at(-1)!.globalPosition);
          }
          await incremental.projector.waitFor(await incremental.store.headPosition());
          const rebuilt = await projected(incremental.store);

          // From scratch: each citizen's facts once (the first arrival of an id is the one stored),
          // in world order (occurredAt, ties in arrival order as the store's positions are), one pass.
          const unique = new Map<string, TransitionEvent>();
          for (const e of arrival) if (!unique.has(e.id)) unique.set(e.id, e);
          const ordered = [...unique.values()].sort((a, b) => instantMs(a.occurredAt) - instantMs(b.occurredAt));
          const fromScratch = new Map<string, CitizenGapAnalysis>();
          for (const { citizenId } of citizens) fromScratch.set(citizenId, analyseCitizen(ordered.filter((e) => e.citizenId === citizenId), rules));

          try {
            const ids = citizens.map((c) => c.citizenId);
            const times = [...new Set(ordered.map((e) => instantMs(e.occurredAt)))];
            const instants = [times[0]! - 1, ...[0.2, 0.4, 0.6, 0.8].map((q) => times[Math.floor(q * (times.length - 1))]!), NOW.getTime(), NOW.getTime() + 400 * 86_400_000];

            for (const asOf of instants) {
              for (const filter of filtersAt(asOf)) {
                const page = await incremental.queries.gaps(filter, ALL, ALL_UNITS);
                const expected = expectedConnection(fromScratch, filter);
                expect(page.nodes).toEqual(expected);
                expect(page.totalCount).toBe(expected.length);
              }
              for (const id of ids) {
                const analysis = fromScratch.get(id)!;
                expect(await incremental.queries.citizenGaps(id, asOf, {}, ALL_UNITS)).toEqual(gapsAsOf(analysis.gaps, asOf).map((g) => viewOf(id, g)));
                expect((await incremental.queries.anomalies(id, asOf, ALL_UNITS)).map((a) => [a.kind, a.eventId, a.description])).toEqual(
                  analysis.anomalies.filter((a) => a.occurredMs <= asOf).map((a) => [a.kind, a.eventId, ANOMALY_DESCRIPTIONS[a.kind]]),
                );
                expect((await incremental.queries.relatives(id, asOf, ALL_UNITS)).map((r) => [r.id, r.relation, r.custody, r.representation])).toEqual(
                  relativesAsOf(analysis.relativeFacts, asOf).map((r) => [r.relativeId, r.relation, r.custody, r.representation]),
                );
              }
            }
            expect(await answers(rebuilt, ids, instants, filtersAt)).toEqual(await answers(incremental, ids, instants, filtersAt));
          } finally {
            await close(incremental, rebuilt);
          }
        },
      ),
      { numRuns: 120 },
    );
  });
});
