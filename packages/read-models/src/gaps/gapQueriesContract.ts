/**
 * The contract every GapQueries adapter passes unchanged (SQLite embedded, PostgreSQL distributed):
 * the gaps derivation's rows restricted to asOf, for hand-built histories — including facts that
 * arrive late and open or close a gap retroactively — with the filters, pages, data scope and the
 * anomaly counts' small-cell rule. Text is ordered byte-wise and a missing source sorts first, as
 * SQLite orders them; an adapter on another engine must order the same.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_UNITS_FILE, WorkingDayCalendar, loadUnitsFile, type EventData, type EventType, type StoredEvent } from '@tracker/domain';
import { ALL_UNITS, type DataScope } from '@tracker/security';
import type { CitizenDerivation } from '../derived.ts';
import type { ProjectionContext } from '../projections/projectEvent.ts';
import { StoredEventFactory } from '../testing/storedEvents.ts';
import type { GapFilter, GapQueries } from './gapQueries.ts';
import { gapsDerivation } from './gapsDerivation.ts';

/** How the read model the queries read is built: the same for every adapter. */
export interface GapReadModelOptions {
  projection: ProjectionContext;
  derived: readonly CitizenDerivation[];
  configFingerprint: string;
}

/** An empty read model with the gaps derivation, and the adapter's queries over it. */
export interface GapQueriesUnderTest {
  /** Projects a batch of events, as the projector does. */
  apply(events: readonly StoredEvent[]): Promise<void>;
  queries: GapQueries;
  close(): Promise<void>;
}

export type GapQueriesSetup = (options: GapReadModelOptions) => Promise<GapQueriesUnderTest>;

const units = loadUnitsFile(DEMO_UNITS_FILE);
const hverdage = new WorkingDayCalendar();
const tenHverdage = (ms: number) => hverdage.addWorkingDays(ms, 10);

/** The read model every adapter is set up with: demo units, ten working days for answers. */
export const gapReadModelOptions: GapReadModelOptions = {
  projection: { units, handoverAcceptanceDue: tenHverdage },
  configFingerprint: 'gaps-test',
  derived: [gapsDerivation({ units, handoverAcceptanceDue: tenHverdage, relativeAnswerDue: tenHverdage })],
};

const ADULT = '0751-voksen-handicap';
const PSYCHIATRY = '0751-socialpsykiatri';
const JOBCENTER = '0751-jobcenter';
const YOUTH = '0751-ungeenhed';
const ELDERLY = '0751-aeldre';
const t = (iso: string) => Date.parse(iso);
const PAGE = { first: 100, offset: 0 };
const someUnits = (...unitIds: string[]): DataScope => ({ allUnits: false, units: unitIds });

export function gapQueriesContract(adapterName: string, setup: GapQueriesSetup): void {
  describe(`gaps read model contract: ${adapterName}`, () => {
    let model: GapQueriesUnderTest;
    let queries: GapQueries;
    let factory: StoredEventFactory;

    beforeEach(async () => {
      model = await setup(gapReadModelOptions);
      queries = model.queries;
      factory = new StoredEventFactory();
    });
    afterEach(async () => {
      await model.close();
    });

    const apply = (events: readonly StoredEvent[]) => model.apply(events);
    /** A fact from a source system; `source` null for one that named none. */
    const fact = <T extends EventType>(citizenId: string, type: T, at: string, data: EventData<T>, source: string | null = 'dubu'): StoredEvent => {
      const event = factory.event(citizenId, type, at, data);
      return source === null ? event : { ...event, source };
    };
    const adult = (citizenId: string, caseUnit = ADULT): StoredEvent[] => [
      fact(citizenId, 'CitizenRegistered', '2024-12-02T09:00:00+01:00', { birthDate: '2000-01-01', municipality: '0751', disability: false }),
      fact(citizenId, 'CaseOpened', '2025-01-06T09:00:00+01:00', { caseId: 'sag-1', unitId: caseUnit }),
    ];
    const initiation = (citizenId: string, id: string, at: string, from = ADULT, to = PSYCHIATRY) =>
      fact(citizenId, 'HandoverInitiated', at, { handoverId: id, fromUnitId: from, toUnitId: to, kind: 'referral' });
    const keys = async (filter: GapFilter, scope: DataScope = ALL_UNITS) =>
      (await queries.gaps(filter, PAGE, scope)).nodes.map((g) => `${g.citizenId}/${g.kind}/${g.subjectId}`);

    it('a late acceptance closes the pending gap retroactively; asOf before it still sees it open', async () => {
      await apply([...adult('c-1'), initiation('c-1', 'ho-1', '2025-03-03T10:00:00+01:00')]);
      const now = t('2025-04-01T12:00:00+02:00');
      expect((await queries.gaps({ unitId: PSYCHIATRY, open: true, asOf: now }, PAGE, ALL_UNITS)).nodes).toMatchObject([
        { kind: 'HANDOVER_PENDING', citizenId: 'c-1', fromUnitId: ADULT, toUnitId: PSYCHIATRY, subjectId: 'ho-1', startedAt: '2025-03-03T10:00:00+01:00', endedAt: null, dueAt: '2025-03-18T00:00:00+01:00', open: true, overdue: true },
      ]);

      // The acceptance happened on 7 March but arrives weeks later.
      await apply([fact('c-1', 'HandoverAccepted', '2025-03-07T11:00:00+01:00', { handoverId: 'ho-1' }, 'sbsys')]);
      expect((await queries.gaps({ unitId: PSYCHIATRY, open: true, asOf: now }, PAGE, ALL_UNITS)).totalCount).toBe(0);
      const [closed] = await queries.citizenGaps('c-1', now, {}, ALL_UNITS);
      expect(closed).toMatchObject({ endedAt: '2025-03-07T11:00:00+01:00', open: false, overdue: false });
      expect(closed!.durationDays).toBeCloseTo(4 + 1 / 24, 9);
      const [before] = await queries.citizenGaps('c-1', t('2025-03-05T10:00:00+01:00'), {}, ALL_UNITS);
      expect(before).toMatchObject({ endedAt: null, open: true, durationDays: 2 });
      expect(await queries.citizenGaps('c-1', t('2025-03-03T09:59:59+01:00'), {}, ALL_UNITS)).toEqual([]);
    });

    it('a late initiation opens UNCOVERED retroactively; a late case opening removes it again', async () => {
      await apply([...adult('c-2'), fact('c-2', 'CaseClosed', '2025-02-05T10:00:00+01:00', { caseId: 'sag-1', reason: 'completed' })]);
      expect(await queries.citizenGaps('c-2', t('2025-03-01T00:00:00+01:00'), {}, ALL_UNITS)).toEqual([]);

      await apply([initiation('c-2', 'ho-1', '2025-02-03T10:00:00+01:00')]);
      const march = t('2025-03-01T00:00:00+01:00');
      expect((await queries.gaps({ kind: 'UNCOVERED', asOf: march }, PAGE, ALL_UNITS)).nodes).toMatchObject([
        { citizenId: 'c-2', fromUnitId: ADULT, toUnitId: PSYCHIATRY, subjectId: 'sag-1', startedAt: '2025-02-05T10:00:00+01:00', open: true },
      ]);
      // The sending unit's colleague had opened a case the day before the closing; it is recorded late.
      await apply([fact('c-2', 'CaseOpened', '2025-02-04T10:00:00+01:00', { caseId: 'sag-2', unitId: JOBCENTER })]);
      expect((await queries.gaps({ kind: 'UNCOVERED', asOf: march }, PAGE, ALL_UNITS)).totalCount).toBe(0);
    });

    it('filters by unit (from or to), kind, open and overdue, with totalCount and pages', async () => {
      await apply([
        ...adult('c-a'),
        initiation('c-a', 'ho-1', '2025-03-03T10:00:00+01:00'),
        ...adult('c-b'),
        initiation('c-b', 'ho-2', '2025-03-04T10:00:00+01:00', ADULT, JOBCENTER),
        fact('c-b', 'HandoverRejected', '2025-03-05T10:00:00+01:00', { handoverId: 'ho-2', reason: 'ikke vores målgruppe' }),
        ...adult('c-c'),
        initiation('c-c', 'ho-3', '2025-03-10T10:00:00+01:00', JOBCENTER, PSYCHIATRY),
      ]);
      const asOf = t('2025-03-20T12:00:00+01:00');

      expect(await keys({ asOf })).toEqual(['c-a/HANDOVER_PENDING/ho-1', 'c-b/HANDOVER_PENDING/ho-2', 'c-b/HANDOVER_REJECTED/ho-2', 'c-c/HANDOVER_PENDING/ho-3']);
      expect(await keys({ unitId: ADULT, asOf })).toEqual(['c-a/HANDOVER_PENDING/ho-1', 'c-b/HANDOVER_PENDING/ho-2', 'c-b/HANDOVER_REJECTED/ho-2']);
      expect(await keys({ unitId: JOBCENTER, open: true, asOf })).toEqual(['c-b/HANDOVER_REJECTED/ho-2', 'c-c/HANDOVER_PENDING/ho-3']);
      expect(await keys({ unitId: PSYCHIATRY, overdue: true, asOf })).toEqual(['c-a/HANDOVER_PENDING/ho-1']);
      expect(await keys({ unitId: PSYCHIATRY, overdue: false, asOf })).toEqual(['c-c/HANDOVER_PENDING/ho-3']);
      expect(await keys({ open: false, asOf })).toEqual(['c-b/HANDOVER_PENDING/ho-2']);
      expect(await keys({ kind: 'HANDOVER_REJECTED', unitId: PSYCHIATRY, asOf })).toEqual([]);
      expect(await keys({ asOf: t('2025-03-04T09:00:00+01:00') })).toEqual(['c-a/HANDOVER_PENDING/ho-1']);

      const first = await queries.gaps({ asOf }, { first: 3, offset: 0 }, ALL_UNITS);
      expect([first.totalCount, first.nodes.length, first.hasNextPage]).toEqual([4, 3, true]);
      const second = await queries.gaps({ asOf }, { first: 3, offset: 3 }, ALL_UNITS);
      expect([second.nodes.length, second.hasNextPage, second.nodes[0]!.subjectId]).toEqual([1, false, 'ho-3']);
    });

    it('pages open gaps in start order across gaps without an end and gaps that end after asOf', async () => {
      const accepted = (citizenId: string, id: string, at: string) => fact(citizenId, 'HandoverAccepted', at, { handoverId: id });
      await apply([
        ...adult('c-p1'),
        initiation('c-p1', 'ho-1', '2025-03-03T10:00:00+01:00'),
        accepted('c-p1', 'ho-1', '2025-03-20T10:00:00+01:00'),
        ...adult('c-p2'),
        initiation('c-p2', 'ho-2', '2025-03-04T10:00:00+01:00'),
        ...adult('c-p3'),
        initiation('c-p3', 'ho-3', '2025-03-05T10:00:00+01:00'),
        accepted('c-p3', 'ho-3', '2025-03-25T10:00:00+01:00'),
        ...adult('c-p4'),
        initiation('c-p4', 'ho-4', '2025-03-06T10:00:00+01:00'),
        ...adult('c-p5'),
        initiation('c-p5', 'ho-5', '2025-03-01T10:00:00+01:00'),
        accepted('c-p5', 'ho-5', '2025-03-02T10:00:00+01:00'),
      ]);
      const asOf = t('2025-03-10T12:00:00+01:00');
      const open = { unitId: PSYCHIATRY, open: true, asOf };
      expect(await keys(open)).toEqual(['c-p1', 'c-p2', 'c-p3', 'c-p4'].map((c, i) => `${c}/HANDOVER_PENDING/ho-${i + 1}`));
      for (let offset = 0; offset < 4; offset++) {
        const page = await queries.gaps(open, { first: 1, offset }, ALL_UNITS);
        expect([page.totalCount, page.nodes.map((g) => g.citizenId), page.hasNextPage]).toEqual([4, [`c-p${offset + 1}`], offset < 3]);
      }
      const middle = await queries.gaps(open, { first: 2, offset: 1 }, ALL_UNITS);
      expect([middle.nodes.map((g) => g.citizenId), middle.hasNextPage]).toEqual([['c-p2', 'c-p3'], true]);
      expect(await queries.gaps(open, { first: 2, offset: 4 }, ALL_UNITS)).toEqual({ nodes: [], totalCount: 4, hasNextPage: false });
      expect(await queries.gaps({ ...open, unitId: YOUTH }, PAGE, ALL_UNITS)).toEqual({ nodes: [], totalCount: 0, hasNextPage: false });
      expect((await queries.gaps(open, PAGE, ALL_UNITS)).nodes.map((g) => g.endedAt)).toEqual([null, null, null, null]);
      expect(await keys({ unitId: PSYCHIATRY, open: false, asOf })).toEqual(['c-p5/HANDOVER_PENDING/ho-5']);
      expect((await keys({ unitId: PSYCHIATRY, asOf })).map((k) => k.split('/')[0])).toEqual(['c-p5', 'c-p1', 'c-p2', 'c-p3', 'c-p4']);
      // The same instants a week later: c-p1 and c-p3 still open, c-p5 long closed.
      expect((await keys({ open: true, asOf: t('2025-03-21T12:00:00+01:00') })).map((k) => k.split('/')[0])).toEqual(['c-p2', 'c-p3', 'c-p4']);
    });

    it('orders ids byte-wise, as SQLite does: upper case, then "_", then lower case', async () => {
      const at = '2025-03-03T10:00:00+01:00';
      await apply([
        ...adult('c-a'),
        initiation('c-a', 'ho-1', at),
        ...adult('c-_'),
        initiation('c-_', 'ho-1', at),
        ...adult('c-B'),
        initiation('c-B', 'ho-a', at, ADULT, PSYCHIATRY),
        initiation('c-B', 'ho-B', at, ADULT, JOBCENTER),
      ]);
      const asOf = t('2025-04-01T12:00:00+02:00');
      const expected = ['c-B/HANDOVER_PENDING/ho-B', 'c-B/HANDOVER_PENDING/ho-a', 'c-_/HANDOVER_PENDING/ho-1', 'c-a/HANDOVER_PENDING/ho-1'];
      expect(await keys({ asOf })).toEqual(expected);
      expect(await keys({ unitId: ADULT, open: true, asOf })).toEqual(expected);
      expect(await keys({ unitId: ADULT, open: true, overdue: true, kind: 'HANDOVER_PENDING', asOf })).toEqual(expected);
      expect((await queries.gaps({ asOf }, { first: 2, offset: 1 }, ALL_UNITS)).nodes.map((g) => g.citizenId)).toEqual(['c-B', 'c-_']);
      expect((await queries.citizenGaps('c-B', asOf, {}, ALL_UNITS)).map((g) => g.subjectId)).toEqual(['ho-B', 'ho-a']);
    });

    it('overdue at the boundaries: answered exactly at the due instant is late, a millisecond before is not', async () => {
      const due = '2025-03-18T00:00:00+01:00';
      await apply([
        ...adult('c-due'),
        initiation('c-due', 'ho-1', '2025-03-03T10:00:00+01:00'),
        fact('c-due', 'HandoverAccepted', due, { handoverId: 'ho-1' }),
        ...adult('c-early'),
        initiation('c-early', 'ho-2', '2025-03-03T10:00:00+01:00'),
        fact('c-early', 'HandoverAccepted', '2025-03-17T23:59:59.999+01:00', { handoverId: 'ho-2' }),
      ]);
      const overdue = async (asOf: number, value: boolean) => (await queries.gaps({ overdue: value, asOf }, PAGE, ALL_UNITS)).nodes.map((g) => g.citizenId);
      expect(await overdue(t(due) - 1, true)).toEqual([]);
      expect(await overdue(t(due), true)).toEqual(['c-due']);
      expect(await overdue(t('2026-01-01T00:00:00+01:00'), true)).toEqual(['c-due']);
      expect(await overdue(t('2026-01-01T00:00:00+01:00'), false)).toEqual(['c-early']);
    });

    it('relatives at asOf with their contacts and answers, and the relative gaps', async () => {
      const c = 'c-r';
      await apply([
        fact(c, 'CitizenRegistered', '2019-01-02T09:00:00+01:00', { birthDate: '2007-05-01', municipality: '0751', disability: true }),
        fact(c, 'RelativeLinked', '2019-01-02T09:05:00+01:00', { relativeId: 'r-1', relation: 'parent', custody: true }),
        fact(c, 'RelativeLinked', '2019-01-02T09:05:00+01:00', { relativeId: 'r-2', relation: 'sibling', custody: false }),
        fact(c, 'CaseOpened', '2022-06-01T09:00:00+02:00', { caseId: 'sag-u', unitId: YOUTH }),
        fact(c, 'ContactReceived', '2025-02-03T10:00:00+01:00', { contactId: 'hv-1', unitId: YOUTH, from: 'relative', relativeId: 'r-1' }),
        fact(c, 'ContactAnswered', '2025-02-20T10:00:00+01:00', { contactId: 'hv-1' }),
        fact(c, 'ContactReceived', '2025-04-01T10:00:00+02:00', { contactId: 'hv-2', unitId: YOUTH, from: 'relative', relativeId: 'r-1' }),
        fact(c, 'RepresentationGranted', '2025-06-10T10:00:00+02:00', { relativeId: 'r-1', basis: 'vaergemaal' }, 'nexus'),
      ]);
      const may = t('2025-05-10T12:00:00+02:00');
      expect(await queries.relatives(c, may, ALL_UNITS)).toEqual([
        {
          id: 'r-1',
          relation: 'parent',
          custody: false,
          representation: null,
          linkedAt: '2019-01-02T09:05:00+01:00',
          representationGrantedAt: null,
          contacts: [
            { contactId: 'hv-1', unitId: YOUTH, receivedAt: '2025-02-03T10:00:00+01:00', answeredAt: '2025-02-20T10:00:00+01:00', dueAt: '2025-02-18T00:00:00+01:00', overdue: true },
            { contactId: 'hv-2', unitId: YOUTH, receivedAt: '2025-04-01T10:00:00+02:00', answeredAt: null, dueAt: '2025-04-16T00:00:00+02:00', overdue: true },
          ],
        },
        { id: 'r-2', relation: 'sibling', custody: false, representation: null, linkedAt: '2019-01-02T09:05:00+01:00', representationGrantedAt: null, contacts: [] },
      ]);
      expect((await queries.relatives(c, t('2025-01-01T00:00:00+01:00'), ALL_UNITS))[0]).toMatchObject({ custody: true, contacts: [] });
      expect((await queries.relatives(c, t('2025-07-01T00:00:00+02:00'), ALL_UNITS))[0]).toMatchObject({ representation: 'vaergemaal', representationGrantedAt: '2025-06-10T10:00:00+02:00' });

      const kinds = (await queries.citizenGaps(c, may, {}, ALL_UNITS)).map((g) => [g.kind, g.subjectId, g.open]);
      expect(kinds).toEqual([
        ['RELATIVE_UNANSWERED', 'hv-1', false],
        ['RELATIVE_UNANSWERED', 'hv-2', true],
        ['AGE_CLIFF', null, true],
        ['REPRESENTATION_LOST', 'r-1', true],
      ]);
      expect(await queries.citizenGaps(c, may, { kind: 'REPRESENTATION_LOST', open: true }, ALL_UNITS)).toMatchObject([{ relativeId: 'r-1', fromUnitId: YOUTH, startedAt: '2025-05-01T00:00:00+02:00' }]);
    });

    it('relatives linked at the same instant keep the order they were linked in, whatever their ids', async () => {
      const c = 'c-rr';
      const linked = '2019-01-02T09:05:00+01:00';
      await apply([
        fact(c, 'CitizenRegistered', '2019-01-02T09:00:00+01:00', { birthDate: '1990-05-01', municipality: '0751', disability: false }),
        fact(c, 'RelativeLinked', linked, { relativeId: 'r-z', relation: 'sibling', custody: false }),
        fact(c, 'RelativeLinked', linked, { relativeId: 'r-a', relation: 'parent', custody: false }),
        fact(c, 'RelativeLinked', linked, { relativeId: 'r-m', relation: 'other', custody: false }),
      ]);
      await apply([fact(c, 'CaseOpened', '2022-06-01T09:00:00+02:00', { caseId: 'sag-1', unitId: ADULT })]); // derived again
      expect((await queries.relatives(c, t('2025-01-01T00:00:00+01:00'), ALL_UNITS)).map((r) => r.id)).toEqual(['r-z', 'r-a', 'r-m']);
    });

    it('lists anomalies per citizen and counts them per source system at asOf', async () => {
      await apply([
        ...adult('c-x'),
        fact('c-x', 'HandoverAccepted', '2025-02-01T10:00:00+01:00', { handoverId: 'ho-9' }, 'dubu'),
        fact('c-x', 'CaseClosed', '2025-02-02T10:00:00+01:00', { caseId: 'sag-9' }, 'nexus'),
        ...adult('c-y'),
        fact('c-y', 'HandoverRejected', '2025-03-01T10:00:00+01:00', { handoverId: 'ho-8', reason: 'x' }, 'dubu'),
      ]);
      const anomalies = await queries.anomalies('c-x', t('2025-12-31T00:00:00+01:00'), ALL_UNITS);
      expect(anomalies).toMatchObject([
        { kind: 'HANDOVER_NOT_INITIATED', eventType: 'HandoverAccepted', occurredAt: '2025-02-01T10:00:00+01:00', source: 'dubu', subjectId: 'ho-9' },
        { kind: 'CASE_NOT_OPEN', eventType: 'CaseClosed', source: 'nexus', subjectId: 'sag-9' },
      ]);
      expect(anomalies[0]!.description).toMatch(/before it was initiated/);
      expect(await queries.anomalyCounts(t('2025-12-31T00:00:00+01:00'), { scope: ALL_UNITS })).toEqual([
        { source: 'dubu', kind: 'HANDOVER_NOT_INITIATED', count: 2 },
        { source: 'nexus', kind: 'CASE_NOT_OPEN', count: 1 },
      ]);
      expect(await queries.anomalyCounts(t('2025-02-15T00:00:00+01:00'), { scope: ALL_UNITS })).toEqual([
        { source: 'dubu', kind: 'HANDOVER_NOT_INITIATED', count: 1 },
        { source: 'nexus', kind: 'CASE_NOT_OPEN', count: 1 },
      ]);
      // The missing initiation arrives late: the acceptance no longer contradicts the stream.
      await apply([initiation('c-x', 'ho-9', '2025-01-20T10:00:00+01:00')]);
      expect((await queries.anomalies('c-x', t('2025-12-31T00:00:00+01:00'), ALL_UNITS)).map((a) => a.kind)).toEqual(['CASE_NOT_OPEN']);
    });

    it('anomalies at the same instant keep world order; counts put a missing source first, filter by source and withhold small cells', async () => {
      const same = '2025-02-01T10:00:00+01:00';
      await apply([
        ...adult('c-1'),
        fact('c-1', 'HandoverAccepted', same, { handoverId: 'ho-z' }),
        fact('c-1', 'HandoverAccepted', same, { handoverId: 'ho-a' }),
        ...adult('c-2'),
        fact('c-2', 'CaseClosed', '2025-02-02T10:00:00+01:00', { caseId: 'sag-9' }, 'Nexus'),
        ...adult('c-3'),
        fact('c-3', 'CaseClosed', '2025-02-03T10:00:00+01:00', { caseId: 'sag-9' }, 'Nexus'),
        fact('c-3', 'HandoverRejected', '2025-02-04T10:00:00+01:00', { handoverId: 'ho-8', reason: 'x' }, null),
      ]);
      const asOf = t('2025-12-31T00:00:00+01:00');
      expect((await queries.anomalies('c-1', asOf, ALL_UNITS)).map((a) => a.subjectId)).toEqual(['ho-z', 'ho-a']);
      expect(await queries.anomalies('c-3', asOf, ALL_UNITS)).toMatchObject([{ kind: 'CASE_NOT_OPEN', source: 'Nexus' }, { kind: 'HANDOVER_NOT_INITIATED', source: null }]);

      expect(await queries.anomalyCounts(asOf, { scope: ALL_UNITS })).toEqual([
        { source: null, kind: 'HANDOVER_NOT_INITIATED', count: 1 },
        { source: 'Nexus', kind: 'CASE_NOT_OPEN', count: 2 },
        { source: 'dubu', kind: 'HANDOVER_NOT_INITIATED', count: 2 },
      ]);
      // dubu's two anomalies rest on one citizen: withheld, not shown as 0.
      expect(await queries.anomalyCounts(asOf, { scope: ALL_UNITS, minCitizens: 2 })).toEqual([{ source: 'Nexus', kind: 'CASE_NOT_OPEN', count: 2 }]);
      expect(await queries.anomalyCounts(asOf, { scope: ALL_UNITS, sources: ['dubu'] })).toEqual([{ source: 'dubu', kind: 'HANDOVER_NOT_INITIATED', count: 2 }]);
      expect(await queries.anomalyCounts(asOf, { scope: ALL_UNITS, sources: ['dubu', 'Nexus'], minCitizens: 2 })).toEqual([{ source: 'Nexus', kind: 'CASE_NOT_OPEN', count: 2 }]);
      expect(await queries.anomalyCounts(asOf, { scope: ALL_UNITS, sources: [] })).toEqual([]);
    });

    it('reads only the rows of citizens in the data scope: one unit, several units, none', async () => {
      await apply([
        ...adult('c-s1', ADULT),
        initiation('c-s1', 'ho-1', '2025-03-03T10:00:00+01:00', ADULT, PSYCHIATRY),
        fact('c-s1', 'HandoverAccepted', '2025-03-04T10:00:00+01:00', { handoverId: 'ho-x' }),
        fact('c-s1', 'RelativeLinked', '2025-03-04T10:00:00+01:00', { relativeId: 'r-1', relation: 'parent', custody: false }),
        ...adult('c-s2', JOBCENTER),
        initiation('c-s2', 'ho-2', '2025-03-05T10:00:00+01:00', JOBCENTER, ELDERLY),
        fact('c-s2', 'CaseClosed', '2025-03-06T10:00:00+01:00', { caseId: 'sag-9' }),
        fact('c-s2', 'RelativeLinked', '2025-03-04T10:00:00+01:00', { relativeId: 'r-2', relation: 'parent', custody: false }),
      ]);
      const asOf = t('2025-04-01T12:00:00+02:00');
      const citizens = async (filter: GapFilter, scope: DataScope) => {
        const page = await queries.gaps(filter, PAGE, scope);
        return [page.totalCount, page.nodes.map((g) => g.citizenId)];
      };
      const seen = async (citizenId: string, scope: DataScope) => ({
        gaps: (await queries.citizenGaps(citizenId, asOf, {}, scope)).length,
        relatives: (await queries.relatives(citizenId, asOf, scope)).length,
        anomalies: (await queries.anomalies(citizenId, asOf, scope)).length,
      });
      const counted = async (scope: DataScope) => (await queries.anomalyCounts(asOf, { scope })).map((c) => `${c.kind}:${c.count}`);

      expect(await citizens({ asOf }, ALL_UNITS)).toEqual([2, ['c-s1', 'c-s2']]);
      expect(await citizens({ asOf }, someUnits(ADULT))).toEqual([1, ['c-s1']]);
      expect(await citizens({ asOf }, someUnits(ELDERLY))).toEqual([1, ['c-s2']]);
      expect(await citizens({ asOf }, someUnits(PSYCHIATRY, JOBCENTER))).toEqual([2, ['c-s1', 'c-s2']]);
      expect(await citizens({ asOf, open: true }, someUnits(YOUTH, JOBCENTER))).toEqual([1, ['c-s2']]);
      expect(await citizens({ asOf }, someUnits())).toEqual([0, []]);
      expect(await citizens({ asOf }, someUnits('0751-unknown'))).toEqual([0, []]);
      // The unit filter names the gap's units; the scope names the citizen's: both apply.
      expect(await citizens({ unitId: PSYCHIATRY, asOf }, someUnits(JOBCENTER))).toEqual([0, []]);
      expect(await citizens({ unitId: PSYCHIATRY, open: true, asOf }, someUnits(ELDERLY, ADULT))).toEqual([1, ['c-s1']]);

      expect(await seen('c-s1', someUnits(ADULT))).toEqual({ gaps: 1, relatives: 1, anomalies: 1 });
      expect(await seen('c-s1', someUnits(JOBCENTER, ELDERLY))).toEqual({ gaps: 0, relatives: 0, anomalies: 0 });
      expect(await seen('c-s2', someUnits(JOBCENTER, ELDERLY))).toEqual({ gaps: 1, relatives: 1, anomalies: 1 });
      expect(await seen('c-s2', someUnits())).toEqual({ gaps: 0, relatives: 0, anomalies: 0 });

      expect(await counted(ALL_UNITS)).toEqual(['CASE_NOT_OPEN:1', 'HANDOVER_NOT_INITIATED:1']);
      expect(await counted(someUnits(PSYCHIATRY))).toEqual(['HANDOVER_NOT_INITIATED:1']);
      expect(await counted(someUnits(ELDERLY, PSYCHIATRY))).toEqual(['CASE_NOT_OPEN:1', 'HANDOVER_NOT_INITIATED:1']);
      expect(await counted(someUnits())).toEqual([]);
    });
  });
}
