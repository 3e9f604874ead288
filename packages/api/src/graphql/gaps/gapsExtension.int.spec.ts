/**
 * Gaps, relatives and anomalies through GraphQL, on the real adapters (SQLite store and read models,
 * projector): hand-built histories with late facts, paging and input errors. Generated histories are
 * compared with the gaps computed from scratch one layer down (read-models/src/gaps/gapsIncremental).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_UNITS_FILE, loadUnitsFile, WorkingDayCalendar, type TransitionEvent } from '@tracker/domain';
import { gapsDerivation, SqliteGapQueries, type GapQueries } from '@tracker/read-models';
import { ADULT, CHILD, CPR, CPR_DIGITS, DAY, YOUTH, citizenId, fact, startHarness, type Harness } from '../testing/harness.ts';
import { gapsGraphqlExtension } from './gapsExtension.ts';

const hverdage = new WorkingDayCalendar();
/** The harness's handover policy (14 days) and the default relative-answer policy (10 hverdage). */
const policies = { handoverAcceptanceDue: (ms: number) => ms + 14 * DAY, relativeAnswerDue: (ms: number) => hverdage.addWorkingDays(ms, 10) };
const PSYCHIATRY = '0751-socialpsykiatri';

const GAPS = `query ($kind: GapKind, $unitId: ID, $open: Boolean, $overdue: Boolean, $asOf: DateTime, $first: Int, $after: String) {
  gaps(kind: $kind, unitId: $unitId, open: $open, overdue: $overdue, asOf: $asOf, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { kind citizenId fromUnitId toUnitId relativeId startedAt endedAt durationDays overdue open dueAt subjectId } }
  }
}`;

interface GapNode {
  kind: string;
  citizenId: string;
  fromUnitId: string | null;
  toUnitId: string | null;
  relativeId: string | null;
  startedAt: string;
  endedAt: string | null;
  durationDays: number;
  overdue: boolean;
  open: boolean;
  dueAt: string | null;
  subjectId: string | null;
}
interface GapConnection {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  edges: { cursor: string; node: GapNode }[];
}

describe('GraphQL: gaps, relatives and anomalies', () => {
  let h: Harness;
  let queries: GapQueries | undefined;
  beforeAll(async () => {
    h = await startHarness({
      derived: [gapsDerivation({ units: loadUnitsFile(DEMO_UNITS_FILE), ...policies })],
      extensions: [gapsGraphqlExtension(() => queries!)],
    });
    queries = new SqliteGapQueries(h.readModel.database);
  });
  afterAll(async () => h?.close());

  const gaps = async (variables: Record<string, unknown>): Promise<GapConnection> => {
    const { json } = await h.gql(GAPS, variables);
    expect(json.errors).toBeUndefined();
    return json.data!.gaps as GapConnection;
  };

  describe('a citizen handed from the youth unit to an adult unit that never answers', () => {
    const id = citizenId('gaps');
    beforeAll(async () => {
      await h.append([
        fact(id, 'CitizenRegistered', '2019-01-02T09:00:00+01:00', { birthDate: '2007-05-01', municipality: '0751', disability: false, personal: { cpr: CPR } }),
        fact(id, 'RelativeLinked', '2019-01-02T09:05:00+01:00', { relativeId: 'r-mor', relation: 'parent', custody: true }),
        fact(id, 'CaseOpened', '2022-06-01T09:00:00+02:00', { caseId: 'sag-u', unitId: YOUTH }),
        fact(id, 'ContactReceived', '2025-02-03T10:00:00+01:00', { contactId: 'hv-1', unitId: YOUTH, from: 'relative', relativeId: 'r-mor' }),
        fact(id, 'HandoverInitiated', '2025-03-03T10:00:00+01:00', { handoverId: 'ho-1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
        fact(id, 'CaseClosed', '2025-04-30T10:00:00+02:00', { caseId: 'sag-u', reason: 'handover' }),
        fact(id, 'HandoverAccepted', '2025-02-01T10:00:00+01:00', { handoverId: 'ho-x' }),
      ]);
    });

    it('lists the open gaps of a unit, from or to, with start, duration, due and overdue', async () => {
      const adult = await gaps({ unitId: ADULT, open: true, asOf: '2025-05-11T00:00:00+02:00' });
      const mine = adult.edges.map((e) => e.node).filter((g) => g.citizenId === id);
      expect(mine).toEqual([
        {
          kind: 'HANDOVER_PENDING',
          citizenId: id,
          fromUnitId: YOUTH,
          toUnitId: ADULT,
          relativeId: null,
          startedAt: '2025-03-03T10:00:00+01:00',
          endedAt: null,
          durationDays: expect.closeTo(69 - 10 / 24, 9),
          overdue: true,
          open: true,
          dueAt: '2025-03-17T10:00:00+01:00',
          subjectId: 'ho-1',
        },
        expect.objectContaining({ kind: 'UNCOVERED', fromUnitId: YOUTH, toUnitId: ADULT, startedAt: '2025-04-30T10:00:00+02:00', subjectId: 'sag-u', overdue: false }),
        expect.objectContaining({ kind: 'AGE_CLIFF', fromUnitId: YOUTH, toUnitId: ADULT, startedAt: '2025-05-01T00:00:00+02:00', durationDays: 10, subjectId: null }),
        expect.objectContaining({ kind: 'REPRESENTATION_LOST', fromUnitId: YOUTH, toUnitId: ADULT, relativeId: 'r-mor', subjectId: 'r-mor', overdue: false }),
      ]);
      expect(adult.totalCount).toBe(adult.edges.length);
    });

    it('answers Citizen.gaps, relatives with contacts, and anomalies at the citizen’s asOf', async () => {
      const { json } = await h.gql(
        `query ($id: ID!, $asOf: DateTime) { citizen(id: $id, asOf: $asOf) {
          gaps { kind startedAt endedAt open relativeId }
          openRelativeGaps: gaps(kind: RELATIVE_UNANSWERED, open: true) { subjectId overdue dueAt }
          relatives { id relation custody representation linkedAt representationGrantedAt contacts { contactId unitId receivedAt answeredAt dueAt overdue } }
          anomalies { kind eventType source subjectId description occurredAt }
        } }`,
        { id, asOf: '2025-05-11T00:00:00+02:00' },
      );
      expect(json.errors).toBeUndefined();
      const citizen = json.data!.citizen as Record<string, unknown[]>;
      expect((citizen.gaps as { kind: string }[]).map((g) => g.kind)).toEqual([
        'RELATIVE_UNANSWERED',
        'HANDOVER_PENDING',
        'UNCOVERED',
        'AGE_CLIFF',
        'REPRESENTATION_LOST',
      ]);
      expect(citizen.openRelativeGaps).toEqual([{ subjectId: 'hv-1', overdue: true, dueAt: '2025-02-18T00:00:00+01:00' }]);
      expect(citizen.relatives).toEqual([
        {
          id: 'r-mor',
          relation: 'parent',
          custody: false,
          representation: null,
          linkedAt: '2019-01-02T09:05:00+01:00',
          representationGrantedAt: null,
          contacts: [{ contactId: 'hv-1', unitId: YOUTH, receivedAt: '2025-02-03T10:00:00+01:00', answeredAt: null, dueAt: '2025-02-18T00:00:00+01:00', overdue: true }],
        },
      ]);
      expect(citizen.anomalies).toEqual([
        {
          kind: 'HANDOVER_NOT_INITIATED',
          eventType: 'HandoverAccepted',
          source: 'test',
          subjectId: 'ho-x',
          description: 'A handover was accepted, rejected, completed or cancelled before it was initiated.',
          occurredAt: '2025-02-01T10:00:00+01:00',
        },
      ]);
    });

    it('late facts close gaps retroactively, and asOf still shows them open before', async () => {
      await h.append([
        fact(id, 'HandoverAccepted', '2025-03-10T10:00:00+01:00', { handoverId: 'ho-1' }),
        fact(id, 'CaseOpened', '2025-05-05T10:00:00+02:00', { caseId: 'sag-a', unitId: ADULT }),
        fact(id, 'ContactAnswered', '2025-02-10T10:00:00+01:00', { contactId: 'hv-1' }),
        fact(id, 'RepresentationGranted', '2025-05-06T10:00:00+02:00', { relativeId: 'r-mor', basis: 'fuldmagt' }),
      ]);
      const { json } = await h.gql(`query ($id: ID!) { citizen(id: $id, asOf: "2025-06-01T00:00:00+02:00") { gaps { kind endedAt open overdue } relatives { representation } } }`, { id });
      expect(json.data!.citizen).toEqual({
        gaps: [
          { kind: 'RELATIVE_UNANSWERED', endedAt: '2025-02-10T10:00:00+01:00', open: false, overdue: false },
          { kind: 'HANDOVER_PENDING', endedAt: '2025-03-10T10:00:00+01:00', open: false, overdue: false },
          { kind: 'UNCOVERED', endedAt: '2025-05-05T10:00:00+02:00', open: false, overdue: false },
          { kind: 'AGE_CLIFF', endedAt: '2025-05-05T10:00:00+02:00', open: false, overdue: false },
          { kind: 'REPRESENTATION_LOST', endedAt: '2025-05-06T10:00:00+02:00', open: false, overdue: false },
        ],
        relatives: [{ representation: 'fuldmagt' }],
      });
      const before = await gaps({ kind: 'AGE_CLIFF', unitId: YOUTH, open: true, asOf: '2025-05-02T00:00:00+02:00' });
      expect(before.edges.map((e) => e.node.citizenId)).toContain(id);
    });

    it('never answers with personal data', async () => {
      const { body } = await h.gql(`query ($id: ID!) { citizen(id: $id) { gaps { kind citizenId } relatives { id } anomalies { kind } } }`, { id });
      expect(body).not.toContain(CPR);
      expect(body).not.toContain(CPR_DIGITS);
    });
  });

  it('counts anomalies per source system at asOf', async () => {
    const id = citizenId('anomalies');
    await h.append([
      { ...fact(id, 'CaseClosed', '2025-01-10T10:00:00+01:00', { caseId: 'sag-never' }), source: 'sbsys-x' } as TransitionEvent,
      { ...fact(id, 'CaseClosed', '2025-03-10T10:00:00+01:00', { caseId: 'sag-never-2' }), source: 'sbsys-x' } as TransitionEvent,
    ]);
    const counts = async (asOf: string) => {
      const { json } = await h.gql(`query ($asOf: DateTime) { anomalyCounts(asOf: $asOf) { source kind count } }`, { asOf });
      expect(json.errors).toBeUndefined();
      return (json.data!.anomalyCounts as { source: string; kind: string; count: number }[]).filter((c) => c.source === 'sbsys-x');
    };
    expect(await counts('2025-02-01T00:00:00+01:00')).toEqual([
      { source: 'sbsys-x', kind: 'FACTS_BEFORE_REGISTRATION', count: 1 },
      { source: 'sbsys-x', kind: 'CASE_NOT_OPEN', count: 1 },
    ].sort((a, b) => a.kind.localeCompare(b.kind)));
    expect(await counts('2025-04-01T00:00:00+02:00')).toContainEqual({ source: 'sbsys-x', kind: 'CASE_NOT_OPEN', count: 2 });
  });

  describe('paging and input', () => {
    const ids = [citizenId('page-a'), citizenId('page-b'), citizenId('page-c')];
    beforeAll(async () => {
      await h.append(
        ids.flatMap((id, i) => [
          fact(id, 'CitizenRegistered', '2020-01-02T09:00:00+01:00', { birthDate: '1990-01-01', municipality: '0751', disability: false }),
          fact(id, 'CaseOpened', '2020-01-06T09:00:00+01:00', { caseId: 'sag', unitId: PSYCHIATRY }),
          fact(id, 'HandoverInitiated', `2020-02-0${3 + i}T10:00:00+01:00`, { handoverId: 'ho', fromUnitId: PSYCHIATRY, toUnitId: CHILD, kind: 'other' }),
        ]),
      );
    });

    it('pages with first and after, keeping the first page’s asOf', async () => {
      const all = await gaps({ unitId: CHILD, kind: 'HANDOVER_PENDING', asOf: '2020-03-01T00:00:00+01:00' });
      expect(all.edges.map((e) => e.node.citizenId)).toEqual(ids);
      const first = await gaps({ unitId: CHILD, kind: 'HANDOVER_PENDING', asOf: '2020-03-01T00:00:00+01:00', first: 2 });
      expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
      expect(first.totalCount).toBe(3);
      const second = await gaps({ unitId: CHILD, kind: 'HANDOVER_PENDING', first: 2, after: first.pageInfo.endCursor });
      expect(second.edges.map((e) => e.node.citizenId)).toEqual([ids[2]]);
      expect(second.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
      expect(second.edges[0]!.node.durationDays).toBe(all.edges[2]!.node.durationDays);
    });

    it('refuses an unknown unit, a foreign cursor, a cursor of another asOf and oversized pages, naming the argument', async () => {
      const refused = async (variables: Record<string, unknown>) => {
        const { json } = await h.gql(GAPS, variables);
        expect(json.data ?? null).toBeNull();
        return json.errors![0]!.extensions;
      };
      expect(await refused({ unitId: '0751-ukendt' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'unitId' });
      const handoverCursor = Buffer.from('handover:v1:0:0').toString('base64url');
      expect(await refused({ after: handoverCursor })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
      const first = await gaps({ first: 1, asOf: '2020-03-01T00:00:00+01:00' });
      expect(await refused({ after: first.pageInfo.endCursor, asOf: '2020-04-01T00:00:00+02:00' })).toMatchObject({ field: 'after' });
      expect(await refused({ first: 501 })).toMatchObject({ field: 'first' });
      const { json } = await h.gql(`{ gaps(kind: NOT_A_KIND) { totalCount } }`);
      expect(json.errors?.[0]?.message).not.toContain('NOT_A_KIND');
    });
  });
});
