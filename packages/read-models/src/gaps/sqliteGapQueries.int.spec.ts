/**
 * The gaps read model on SQLite: the derivation's rows, restricted to asOf by the query adapter, for
 * hand-built histories — including facts that arrive late and open or close a gap retroactively.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_UNITS_FILE, WorkingDayCalendar, loadUnitsFile, type EventData, type EventType, type StoredEvent } from '@tracker/domain';
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import { StoredEventFactory } from '../testing/storedEvents.ts';
import { gapsDerivation } from './gapsDerivation.ts';
import { SqliteGapQueries } from './sqliteGapQueries.ts';
import { ALL_UNITS } from '@tracker/security';

const units = loadUnitsFile(DEMO_UNITS_FILE);
const hverdage = new WorkingDayCalendar();
const tenHverdage = (ms: number) => hverdage.addWorkingDays(ms, 10);
const ADULT = '0751-voksen-handicap';
const PSYCHIATRY = '0751-socialpsykiatri';
const JOBCENTER = '0751-jobcenter';
const YOUTH = '0751-ungeenhed';
const t = (iso: string) => Date.parse(iso);
const PAGE = { first: 100, offset: 0 };

describe('gaps read model (SQLite)', () => {
  let readModel: SqliteReadModel;
  let queries: SqliteGapQueries;
  let factory: StoredEventFactory;

  beforeEach(() => {
    readModel = new SqliteReadModel({
      file: ':memory:',
      projection: { units, handoverAcceptanceDue: tenHverdage },
      configFingerprint: 'gaps-test',
      derived: [gapsDerivation({ units, handoverAcceptanceDue: tenHverdage, relativeAnswerDue: tenHverdage })],
    });
    queries = new SqliteGapQueries(readModel.database);
    factory = new StoredEventFactory();
  });
  afterEach(() => readModel.close());

  const fact = <T extends EventType>(citizenId: string, type: T, at: string, data: EventData<T>, source = 'dubu'): StoredEvent => ({
    ...factory.event(citizenId, type, at, data),
    source,
  });
  const adult = (citizenId: string): StoredEvent[] => [
    fact(citizenId, 'CitizenRegistered', '2024-12-02T09:00:00+01:00', { birthDate: '2000-01-01', municipality: '0751', disability: false }),
    fact(citizenId, 'CaseOpened', '2025-01-06T09:00:00+01:00', { caseId: 'sag-1', unitId: ADULT }),
  ];
  const initiation = (citizenId: string, id: string, at: string, from = ADULT, to = PSYCHIATRY) =>
    fact(citizenId, 'HandoverInitiated', at, { handoverId: id, fromUnitId: from, toUnitId: to, kind: 'referral' });

  it('a late acceptance closes the pending gap retroactively; asOf before it still sees it open', async () => {
    readModel.applyBatch([...adult('c-1'), initiation('c-1', 'ho-1', '2025-03-03T10:00:00+01:00')]);
    const now = t('2025-04-01T12:00:00+02:00');
    expect((await queries.gaps({ unitId: PSYCHIATRY, open: true, asOf: now }, PAGE, ALL_UNITS)).nodes).toMatchObject([
      { kind: 'HANDOVER_PENDING', citizenId: 'c-1', fromUnitId: ADULT, toUnitId: PSYCHIATRY, subjectId: 'ho-1', startedAt: '2025-03-03T10:00:00+01:00', endedAt: null, dueAt: '2025-03-18T00:00:00+01:00', open: true, overdue: true },
    ]);

    // The acceptance happened on 7 March but arrives weeks later.
    readModel.applyBatch([fact('c-1', 'HandoverAccepted', '2025-03-07T11:00:00+01:00', { handoverId: 'ho-1' }, 'sbsys')]);
    expect((await queries.gaps({ unitId: PSYCHIATRY, open: true, asOf: now }, PAGE, ALL_UNITS)).totalCount).toBe(0);
    const [closed] = await queries.citizenGaps('c-1', now, {}, ALL_UNITS);
    expect(closed).toMatchObject({ endedAt: '2025-03-07T11:00:00+01:00', open: false, overdue: false });
    expect(closed!.durationDays).toBeCloseTo(4 + 1 / 24, 9);
    const [before] = await queries.citizenGaps('c-1', t('2025-03-05T10:00:00+01:00'), {}, ALL_UNITS);
    expect(before).toMatchObject({ endedAt: null, open: true, durationDays: 2 });
    expect(await queries.citizenGaps('c-1', t('2025-03-03T09:59:59+01:00'), {}, ALL_UNITS)).toEqual([]);
  });

  it('a late initiation opens UNCOVERED retroactively; a late case opening removes it again', async () => {
    readModel.applyBatch([...adult('c-2'), fact('c-2', 'CaseClosed', '2025-02-05T10:00:00+01:00', { caseId: 'sag-1', reason: 'completed' })]);
    expect(await queries.citizenGaps('c-2', t('2025-03-01T00:00:00+01:00'), {}, ALL_UNITS)).toEqual([]);

    readModel.applyBatch([initiation('c-2', 'ho-1', '2025-02-03T10:00:00+01:00')]);
    const march = t('2025-03-01T00:00:00+01:00');
    expect((await queries.gaps({ kind: 'UNCOVERED', asOf: march }, PAGE, ALL_UNITS)).nodes).toMatchObject([
      { citizenId: 'c-2', fromUnitId: ADULT, toUnitId: PSYCHIATRY, subjectId: 'sag-1', startedAt: '2025-02-05T10:00:00+01:00', open: true },
    ]);
    // The sending unit's colleague had opened a case the day before the closing; it is recorded late.
    readModel.applyBatch([fact('c-2', 'CaseOpened', '2025-02-04T10:00:00+01:00', { caseId: 'sag-2', unitId: JOBCENTER })]);
    expect((await queries.gaps({ kind: 'UNCOVERED', asOf: march }, PAGE, ALL_UNITS)).totalCount).toBe(0);
  });

  it('filters by unit (from or to), kind, open and overdue, with totalCount and pages', async () => {
    readModel.applyBatch([
      ...adult('c-a'),
      initiation('c-a', 'ho-1', '2025-03-03T10:00:00+01:00'),
      ...adult('c-b'),
      initiation('c-b', 'ho-2', '2025-03-04T10:00:00+01:00', ADULT, JOBCENTER),
      fact('c-b', 'HandoverRejected', '2025-03-05T10:00:00+01:00', { handoverId: 'ho-2', reason: 'ikke vores målgruppe' }),
      ...adult('c-c'),
      initiation('c-c', 'ho-3', '2025-03-10T10:00:00+01:00', JOBCENTER, PSYCHIATRY),
    ]);
    const asOf = t('2025-03-20T12:00:00+01:00');
    const keys = async (filter: Parameters<SqliteGapQueries['gaps']>[0]) =>
      (await queries.gaps(filter, PAGE, ALL_UNITS)).nodes.map((g) => `${g.citizenId}/${g.kind}/${g.subjectId}`);

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

  it('overdue at the boundaries: answered exactly at the due instant is late, a millisecond before is not', async () => {
    const due = '2025-03-18T00:00:00+01:00';
    readModel.applyBatch([
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
    readModel.applyBatch([
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

  it('lists anomalies per citizen and counts them per source system at asOf', async () => {
    readModel.applyBatch([
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
    readModel.applyBatch([initiation('c-x', 'ho-9', '2025-01-20T10:00:00+01:00')]);
    expect((await queries.anomalies('c-x', t('2025-12-31T00:00:00+01:00'), ALL_UNITS)).map((a) => a.kind)).toEqual(['CASE_NOT_OPEN']);
  });

  it('the open gaps of one unit are counted and paged inside its index, without sorting the open-ended ones', () => {
    const plan = (sql: string, params: Record<string, unknown>) =>
      (readModel.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((p) => p.detail);
    const sqls: string[] = [];
    const spy = new SqliteGapQueries(
      new Proxy(readModel.database, {
        get: (db, key) => (key === 'prepare' ? (sql: string) => (sqls.push(sql), db.prepare(sql)) : Reflect.get(db, key)),
      }),
    );
    void spy.gaps({ unitId: ADULT, open: true, asOf: 0 }, PAGE, ALL_UNITS);
    const [count, page] = sqls.slice(-2) as [string, string];
    expect(plan(count, { unitId: ADULT, asOf: 0 }).join(' ')).toMatch(/SEARCH gaps USING COVERING INDEX gaps_by_unit_id_until_ms\w* \(unit_id=\? AND until_ms>\?\)/);
    const steps = plan(page, { unitId: ADULT, asOf: 0, limit: 1, offset: 0 });
    expect(steps).toContain('MERGE (UNION ALL)');
    const openEnded = steps.findIndex((d) => d.includes('until_ms=?'));
    expect(steps[openEnded]).toMatch(/COVERING INDEX gaps_by_unit_id/);
    expect(steps[openEnded + 1]).toBe('RIGHT'); // no sort between the open-ended range and the other arm

    // One citizen's rows come through the citizen index, not a scan of a wide index, whatever the scope.
    for (const scope of [ALL_UNITS, { allUnits: false as const, units: [ADULT] }]) {
      sqls.length = 0;
      void spy.citizenGaps('c-1', 0, {}, scope);
      void spy.relatives('c-1', 0, scope);
      void spy.anomalies('c-1', 0, scope);
      const scopeParams = scope.allUnits ? {} : { scopeUnits: JSON.stringify(scope.units) };
      for (const sql of sqls.filter((q) => q.includes(':citizenId'))) {
        expect(plan(sql, { citizenId: 'c-1', asOf: 0, ...scopeParams }).join(' ')).toMatch(/USING INDEX (gaps|citizen_relatives|citizen_anomalies)_by_citizen \(citizen_id=\?\)/);
      }
      expect(sqls.filter((q) => q.includes(':citizenId'))).toHaveLength(4);
    }
  });
});
