import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADULT, CHILD, DAY, NOW, RECEPTION, YOUTH, citizenId, fact, startHarness, units, type Harness } from './testing/harness.ts';

describe('GraphQL queries', () => {
  let h: Harness;
  afterAll(async () => h?.close());
  beforeAll(async () => {
    h = await startHarness();
  });

  it('lists the configured units', async () => {
    const { json } = await h.gql('{ units { id name administration sector municipality } }');
    expect(json.errors).toBeUndefined();
    expect(json.data?.units).toEqual(units.units.map(({ id, name, administration, sector, municipality }) => ({ id, name, administration, sector, municipality })));
  });

  describe('a citizen', () => {
    const id = citizenId('timeline');
    const CITIZEN = `query ($id: ID!, $asOf: DateTime) {
      citizen(id: $id, asOf: $asOf) {
        id birthDate
        timeline { eventId type occurredAt recordedAt unitId summary }
        responsibilities { caseId unitId openedAt closedAt }
        handovers { id citizenId fromUnitId toUnitId kind status initiatedAt resolvedAt overdue dueAt }
      }
    }`;
    type CitizenAnswer = {
      id: string;
      birthDate: string | null;
      timeline: { type: string; occurredAt: string; unitId: string | null; summary: string }[];
      responsibilities: { caseId: string; closedAt: string | null }[];
      handovers: { id: string; status: string; resolvedAt: string | null; overdue: boolean; dueAt: string }[];
    };
    const citizenAt = async (asOf?: string) => {
      const { json } = await h.gql(CITIZEN, { id, ...(asOf ? { asOf } : {}) });
      expect(json.errors).toBeUndefined();
      return json.data?.citizen as CitizenAnswer | null;
    };

    beforeAll(async () => {
      await h.append([
        fact(id, 'CitizenRegistered', '2020-01-01T09:00:00+01:00', { birthDate: '2007-01-01', municipality: '0751', disability: true }),
        fact(id, 'CaseOpened', '2021-01-04T10:00:00+01:00', { caseId: 'k1', unitId: YOUTH }),
        fact(id, 'HandoverInitiated', '2024-12-02T10:00:00+01:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
        fact(id, 'HandoverAccepted', '2024-12-10T10:00:00+01:00', { handoverId: 'h1' }),
        fact(id, 'CaseClosed', '2025-01-01T10:00:00+01:00', { caseId: 'k1', reason: 'handover' }),
        fact(id, 'HandoverCompleted', '2025-01-02T10:00:00+01:00', { handoverId: 'h1' }),
      ]);
      // Arrives last, happened early: it must land in its place on the timeline.
      await h.append([fact(id, 'NotificationReceived', '2020-06-01T08:00:00+02:00', { notificationId: 'n1', unitId: RECEPTION, notifier: 'professional' })]);
    });

    it('has a timeline ordered by occurredAt, a late event in its place', async () => {
      const citizen = await citizenAt();
      expect(citizen?.birthDate).toBe('2007-01-01');
      expect(citizen?.timeline.map((e) => e.type)).toEqual([
        'CitizenRegistered',
        'NotificationReceived',
        'CaseOpened',
        'HandoverInitiated',
        'HandoverAccepted',
        'CaseClosed',
        'HandoverCompleted',
      ]);
      expect(citizen?.timeline[1]).toMatchObject({ occurredAt: '2020-06-01T08:00:00+02:00', unitId: RECEPTION });
      expect(citizen?.timeline[2]?.summary).toBe('Case k1 opened at Ungeenheden (15–23 år)');
    });

    it('travels in time with asOf', async () => {
      expect(await citizenAt('2019-12-31T23:59:59+01:00')).toBeNull();

      const pending = await citizenAt('2024-12-05T12:00:00+01:00');
      expect(pending?.timeline).toHaveLength(4);
      expect(pending?.responsibilities).toEqual([{ caseId: 'k1', unitId: YOUTH, openedAt: '2021-01-04T10:00:00+01:00', closedAt: null }]);
      expect(pending?.handovers).toEqual([
        {
          id: 'h1',
          citizenId: id,
          fromUnitId: YOUTH,
          toUnitId: ADULT,
          kind: 'age',
          status: 'PENDING',
          initiatedAt: '2024-12-02T10:00:00+01:00',
          resolvedAt: null,
          overdue: false,
          dueAt: new Date(Date.parse('2024-12-02T10:00:00+01:00') + 14 * DAY).toISOString(),
        },
      ]);

      const accepted = await citizenAt('2024-12-20T12:00:00+01:00');
      expect(accepted?.handovers[0]).toMatchObject({ status: 'ACCEPTED', resolvedAt: '2024-12-10T10:00:00+01:00', overdue: false });
      expect(accepted?.responsibilities[0]?.closedAt).toBeNull();

      const after = await citizenAt('2025-02-01T00:00:00Z');
      expect(after?.timeline).toHaveLength(7);
      expect(after?.responsibilities[0]?.closedAt).toBe('2025-01-01T10:00:00+01:00');
      expect(after?.handovers[0]).toMatchObject({ status: 'COMPLETED', resolvedAt: '2024-12-10T10:00:00+01:00' });
    });

    it('answers as of the clock when asOf is left out', async () => {
      h.clock.set('2024-12-05T12:00:00+01:00');
      try {
        expect((await citizenAt())?.handovers[0]?.status).toBe('PENDING');
      } finally {
        h.clock.set(NOW);
      }
    });

    it('is null for a citizen nobody told the tracker about', async () => {
      expect((await h.gql('{ citizen(id: "c-unknown") { id } }')).json).toEqual({ data: { citizen: null } });
    });
  });

  describe('handovers', () => {
    const HANDOVERS = `query ($status: HandoverStatus, $unitId: ID, $overdue: Boolean, $asOf: DateTime, $first: Int, $after: String) {
      handovers(status: $status, unitId: $unitId, overdue: $overdue, asOf: $asOf, first: $first, after: $after) {
        totalCount
        edges { cursor node { id status overdue fromUnitId toUnitId } }
        pageInfo { hasNextPage endCursor hasPreviousPage startCursor }
      }
    }`;
    type Connection = {
      totalCount: number;
      edges: { cursor: string; node: { id: string; status: string; overdue: boolean } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null; hasPreviousPage: boolean; startCursor: string | null };
    };
    let prefix: string;
    const handovers = async (variables: Record<string, unknown> = {}) => {
      const { json } = await h.gql(HANDOVERS, variables);
      expect(json.errors).toBeUndefined();
      return json.data?.handovers as Connection;
    };
    const ids = (c: Connection) => c.edges.map((e) => e.node.id.replace(`${prefix}-`, ''));
    const AS_OF = '2025-03-03T10:00:00+01:00';

    beforeAll(async () => {
      // A fresh harness, so no other test's handovers are counted.
      await h.close();
      h = await startHarness();
      prefix = citizenId('ho');
      const c = (n: number) => `${prefix}-c${n}`;
      const hid = (n: number) => `${prefix}-h${n}`;
      await h.append([
        // h1: accepted after its due instant (14 days in these tests): stays overdue looking back.
        fact(c(1), 'HandoverInitiated', '2024-12-02T10:00:00+01:00', { handoverId: hid(1), fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
        fact(c(1), 'HandoverAccepted', '2024-12-20T10:00:00+01:00', { handoverId: hid(1) }),
        // h4: rejected in time.
        fact(c(4), 'HandoverInitiated', '2025-01-10T10:00:00+01:00', { handoverId: hid(4), fromUnitId: CHILD, toUnitId: ADULT, kind: 'referral' }),
        fact(c(4), 'HandoverRejected', '2025-01-12T10:00:00+01:00', { handoverId: hid(4), reason: 'belongs elsewhere' }),
        // h2: pending past its due instant.
        fact(c(2), 'HandoverInitiated', '2025-02-01T10:00:00+01:00', { handoverId: hid(2), fromUnitId: CHILD, toUnitId: YOUTH, kind: 'age' }),
        // h3, h5: pending, not yet due.
        fact(c(3), 'HandoverInitiated', '2025-02-25T10:00:00+01:00', { handoverId: hid(3), fromUnitId: RECEPTION, toUnitId: CHILD, kind: 'referral' }),
        fact(c(5), 'HandoverInitiated', '2025-03-01T10:00:00+01:00', { handoverId: hid(5), fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
      ]);
    });

    it('lists every handover, oldest initiation first', async () => {
      const all = await handovers({ asOf: AS_OF });
      expect(ids(all)).toEqual(['h1', 'h4', 'h2', 'h3', 'h5']);
      expect(all.totalCount).toBe(5);
      expect(all.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false, startCursor: all.edges[0]?.cursor, endCursor: all.edges[4]?.cursor });
      expect(all.edges.map((e) => [e.node.status, e.node.overdue])).toEqual([
        ['ACCEPTED', true],
        ['REJECTED', false],
        ['PENDING', true],
        ['PENDING', false],
        ['PENDING', false],
      ]);
    });

    it('filters by status, unit (either side) and overdue', async () => {
      expect(ids(await handovers({ asOf: AS_OF, status: 'PENDING' }))).toEqual(['h2', 'h3', 'h5']);
      expect(ids(await handovers({ asOf: AS_OF, unitId: ADULT }))).toEqual(['h1', 'h4', 'h5']);
      expect(ids(await handovers({ asOf: AS_OF, unitId: CHILD }))).toEqual(['h4', 'h2', 'h3']);
      expect(ids(await handovers({ asOf: AS_OF, overdue: true }))).toEqual(['h1', 'h2']);
      expect(ids(await handovers({ asOf: AS_OF, overdue: false, status: 'PENDING' }))).toEqual(['h3', 'h5']);
      const combined = await handovers({ asOf: AS_OF, status: 'PENDING', overdue: true, unitId: YOUTH });
      expect(ids(combined)).toEqual(['h2']);
      expect(combined.totalCount).toBe(1);
    });

    it('evaluates status and overdue at asOf', async () => {
      const earlier = await handovers({ asOf: '2025-01-11T00:00:00+01:00' });
      expect(ids(earlier)).toEqual(['h1', 'h4']);
      expect(earlier.edges.map((e) => e.node.status)).toEqual(['ACCEPTED', 'PENDING']);
    });

    it('pages forward with opaque cursors and a total count', async () => {
      const page1 = await handovers({ asOf: AS_OF, first: 2 });
      expect(ids(page1)).toEqual(['h1', 'h4']);
      expect(page1.totalCount).toBe(5);
      expect(page1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });

      const page2 = await handovers({ asOf: AS_OF, first: 2, after: page1.pageInfo.endCursor });
      expect(ids(page2)).toEqual(['h2', 'h3']);
      expect(page2.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true, startCursor: page2.edges[0]?.cursor });

      const page3 = await handovers({ asOf: AS_OF, first: 2, after: page2.pageInfo.endCursor });
      expect(ids(page3)).toEqual(['h5']);
      expect(page3.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
      expect(page3.totalCount).toBe(5);

      // A cursor names an edge: resuming after page 2's first edge gives its second.
      expect(ids(await handovers({ first: 1, after: page2.edges[0]?.cursor }))).toEqual(['h3']);
      // first: 0 answers only the count.
      const none = await handovers({ asOf: AS_OF, first: 0 });
      expect(none).toMatchObject({ totalCount: 5, edges: [], pageInfo: { hasNextPage: true, endCursor: null, startCursor: null } });
    });

    it('keeps the first page\'s instant while paging through "now"', async () => {
      const page1 = await handovers({ first: 3 });
      expect(ids(page1)).toEqual(['h1', 'h4', 'h2']);

      // Time moves on and a new handover is initiated before the client asks for page 2.
      h.clock.advance(30 * DAY);
      try {
        await h.append([
          fact(`${prefix}-c6`, 'HandoverInitiated', new Date(Date.parse(NOW) + DAY).toISOString(), {
            handoverId: `${prefix}-h6`,
            fromUnitId: CHILD,
            toUnitId: YOUTH,
            kind: 'other',
          }),
        ]);
        const page2 = await handovers({ first: 3, after: page1.pageInfo.endCursor });
        expect(ids(page2)).toEqual(['h3', 'h5']);
        expect(page2.totalCount).toBe(5);
        expect(page2.edges.map((e) => e.node.overdue)).toEqual([false, false]);
        // Without a cursor, the same question is answered at the new now.
        expect((await handovers()).totalCount).toBe(6);
      } finally {
        h.clock.set(NOW);
      }
    });
  });
});
