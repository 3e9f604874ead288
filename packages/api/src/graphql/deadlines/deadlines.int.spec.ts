/**
 * Deadlines through GraphQL on the real adapters (SQLite store and read models, fastify, yoga): the
 * contract's `deadlines(...)` connection and `Citizen.deadlines`, the compliance view, the at-risk
 * worklist, a kommune's own policy added by configuration alone, and alerts as a subscription (SSE).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADULT, CHILD, RECEPTION, YOUTH, citizenId, fact, startHarness, units, type Harness } from '../testing/harness.ts';
import { DeadlineAlertFeed } from './alertFeed.ts';
import { deadlinesExtension } from './deadlinesExtension.ts';
import { parsePolicies } from '@tracker/domain';
import { deadlineDerivation, DeadlineAlertScheduler, ManualTimers, SqliteDeadlineQueries } from '@tracker/read-models';

/** A Gentofte-style kommune file: § 108 housing decided within 90 hverdage (Retssikkerhedsloven § 3). */
const KOMMUNE_POLICIES = JSON.stringify({
  policies: [
    {
      id: 'sel-108-botilbud',
      title: 'Afgørelse om længerevarende botilbud',
      basis: 'Serviceloven § 108; Retssikkerhedsloven § 3',
      start: { event: 'CaseOpened', where: { legalBasis: 'SEL § 108' } },
      stop: { event: 'DecisionMade', where: { subject: 'botilbud' } },
      limit: { amount: 90, unit: 'workingDays' },
    },
  ],
});

const DEADLINE_FIELDS = 'id policy citizenId unitId startedAt dueAt stoppedAt status atRiskAt title basis';

interface DeadlineNode {
  id: string;
  policy: string;
  citizenId: string;
  unitId: string | null;
  startedAt: string;
  dueAt: string;
  stoppedAt: string | null;
  status: string;
  atRiskAt: string;
  title: string;
  basis: string | null;
}

describe('deadlines through GraphQL', () => {
  const policies = parsePolicies(KOMMUNE_POLICIES, 'kommune-policies.json');
  let queries: SqliteDeadlineQueries | undefined;
  let feed: DeadlineAlertFeed | undefined;
  let h: Harness;
  let scheduler: DeadlineAlertScheduler;
  let timers: ManualTimers;

  const ids = { notified: citizenId('notified'), handover: citizenId('handover'), housing: citizenId('housing'), young: citizenId('young') };

  beforeAll(async () => {
    h = await startHarness({
      derived: [deadlineDerivation({ policies, units })],
      // The harness opens its read model after building the schema: the ports are given lazily.
      extensions: [deadlinesExtension({ queries: () => queries!, policies, alerts: () => feed })],
    });
    timers = new ManualTimers(h.clock);
    scheduler = new DeadlineAlertScheduler({ database: h.readModel.database, clock: h.clock, timers, pollIntervalMs: 60_000 });
    queries = new SqliteDeadlineQueries(h.readModel.database, policies);
    feed = new DeadlineAlertFeed(scheduler);
    await scheduler.start();

    await h.append([
      // underretning-24h and -kvittering; assessed in time, acknowledgement arrives late (below)
      fact(ids.notified, 'NotificationReceived', '2025-02-24T10:00:00+01:00', { notificationId: 'n1', unitId: RECEPTION, notifier: 'professional' }),
      fact(ids.notified, 'NotificationAssessed', '2025-02-25T08:00:00+01:00', { notificationId: 'n1', urgent: false }),
      // overdragelse-accept to ADULT, initiated Mon 17 Feb: due end of Mon 3 March
      fact(ids.handover, 'CaseOpened', '2024-01-08T10:00:00+01:00', { caseId: 'k1', unitId: YOUTH }),
      fact(ids.handover, 'HandoverInitiated', '2025-02-17T10:00:00+01:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
      // the kommune's own § 108 deadline
      fact(ids.housing, 'CaseOpened', '2025-01-06T10:00:00+01:00', { caseId: 'k2', unitId: ADULT, legalBasis: 'SEL § 108' }),
      // ungeplan-16: turns 16 on 1 January 2025 with an open child case: due 1 April
      fact(ids.young, 'CitizenRegistered', '2020-01-02T09:00:00+01:00', { birthDate: '2009-01-01', municipality: '0751', disability: false }),
      fact(ids.young, 'CaseOpened', '2020-01-06T09:00:00+01:00', { caseId: 'k3', unitId: CHILD }),
    ]);
  });
  afterAll(async () => {
    await scheduler?.stop();
    feed?.close();
    await h?.close();
  });

  const DEADLINES = `query ($policy: String, $status: DeadlineStatus, $unitId: ID, $asOf: DateTime, $first: Int, $after: String) {
    deadlines(policy: $policy, status: $status, unitId: $unitId, asOf: $asOf, first: $first, after: $after) {
      totalCount
      edges { cursor node { ${DEADLINE_FIELDS} } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }`;
  type Connection = { totalCount: number; edges: { cursor: string; node: DeadlineNode }[]; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null } };
  const deadlines = async (variables: Record<string, unknown>) => {
    const { json } = await h.gql(DEADLINES, variables);
    expect(json.errors).toBeUndefined();
    return json.data!.deadlines as Connection;
  };

  it('answers the contract: deadlines(...) with every Deadline field, as of now', async () => {
    const all = await deadlines({});
    expect(all.totalCount).toBe(5);
    const handover = all.edges.find((e) => e.node.policy === 'overdragelse-accept')!.node;
    expect(handover).toEqual({
      id: `${ids.handover}/overdragelse-accept:h1`,
      policy: 'overdragelse-accept',
      citizenId: ids.handover,
      unitId: ADULT,
      startedAt: '2025-02-17T10:00:00+01:00',
      dueAt: '2025-03-04T00:00:00+01:00',
      stoppedAt: null,
      status: 'AT_RISK', // now is Mon 3 March 10:00, the last hverdag
      atRiskAt: '2025-02-27T12:00:00+01:00',
      title: 'Overdragelse besvaret af den modtagende enhed',
      basis: 'Lokalt serviceniveau',
    });
    // Earliest due first: 24 h (25 Feb), handover (end of 3 March), kvittering (end of 4 March), ungeplan (1 April), § 108 (May).
    expect(all.edges.map((e) => e.node.policy)).toEqual(['underretning-24h', 'overdragelse-accept', 'underretning-kvittering', 'ungeplan-16', 'sel-108-botilbud']);
  });

  it('filters by policy, status and unit, and answers as of any instant', async () => {
    expect((await deadlines({ status: 'BREACHED' })).edges.map((e) => e.node.policy)).toEqual([]);
    expect((await deadlines({ status: 'BREACHED', asOf: '2025-03-04T00:00:00+01:00' })).edges.map((e) => e.node.policy)).toEqual(['overdragelse-accept']);
    expect((await deadlines({ status: 'BREACHED', asOf: '2025-03-05T00:00:00+01:00' })).edges.map((e) => e.node.policy)).toEqual(['overdragelse-accept', 'underretning-kvittering']);
    expect((await deadlines({ unitId: ADULT })).edges.map((e) => e.node.policy)).toEqual(['overdragelse-accept', 'sel-108-botilbud']);
    expect((await deadlines({ policy: 'underretning-24h' })).edges.map((e) => [e.node.status, e.node.stoppedAt])).toEqual([['MET', '2025-02-25T08:00:00+01:00']]);
    const before = await deadlines({ policy: 'underretning-24h', asOf: '2025-02-25T07:00:00+01:00' });
    expect(before.edges.map((e) => [e.node.status, e.node.stoppedAt])).toEqual([['AT_RISK', null]]);
    expect((await deadlines({ asOf: '2025-01-01T00:00:00+01:00' })).edges.map((e) => e.node.policy)).toEqual(['ungeplan-16']);
    expect((await deadlines({ asOf: '2024-12-31T23:59:59+01:00' })).totalCount).toBe(0);
  });

  it('pages with cursors that keep their asOf', async () => {
    const first = await deadlines({ first: 2 });
    expect(first.edges).toHaveLength(2);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    h.clock.set('2025-03-20T10:00:00+01:00'); // the cursor keeps the first page's asOf
    try {
      const second = await deadlines({ first: 2, after: first.pageInfo.endCursor });
      const third = await deadlines({ first: 2, after: second.pageInfo.endCursor });
      expect(third.pageInfo.hasNextPage).toBe(false);
      expect([...first.edges, ...second.edges, ...third.edges].map((e) => e.node.id)).toEqual((await deadlines({ asOf: '2025-03-03T10:00:00+01:00' })).edges.map((e) => e.node.id));
      // Read at the first page's instant, not at the moved clock's (where the handover is breached).
      expect([...first.edges, ...second.edges].find((e) => e.node.policy === 'overdragelse-accept')?.node.status).toBe('AT_RISK');
    } finally {
      h.clock.set('2025-03-03T10:00:00+01:00');
    }
  });

  it('refuses bad arguments naming the argument, never echoing it', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ policy: 'no-such-policy' }, 'policy'],
      [{ unitId: 'no-such-unit' }, 'unitId'],
      [{ after: 'bm9wZQ' }, 'after'],
      [{ first: 501 }, 'first'],
      [{ first: -1 }, 'first'],
    ];
    for (const [variables, field] of cases) {
      const { json, body } = await h.gql(DEADLINES, variables);
      expect(json.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      for (const value of Object.values(variables)) if (typeof value === 'string') expect(body).not.toContain(value);
    }
    const page = await deadlines({ first: 1 });
    const { json } = await h.gql(DEADLINES, { first: 1, after: page.pageInfo.endCursor, asOf: '2025-01-01T00:00:00+01:00' });
    expect(json.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it("answers Citizen.deadlines at the citizen's asOf, moving retroactively when a late stop arrives", async () => {
    const CITIZEN = `query ($id: ID!, $asOf: DateTime) { citizen(id: $id, asOf: $asOf) { deadlines { policy status stoppedAt } } }`;
    const at = async (asOf: string) => ((await h.gql(CITIZEN, { id: ids.notified, asOf })).json.data!.citizen as { deadlines: unknown[] }).deadlines;
    expect(await at('2025-03-05T00:00:00+01:00')).toEqual([
      { policy: 'underretning-24h', status: 'MET', stoppedAt: '2025-02-25T08:00:00+01:00' },
      { policy: 'underretning-kvittering', status: 'BREACHED', stoppedAt: null },
    ]);
    // The acknowledgement was sent in time but is recorded only now.
    await h.append([fact(ids.notified, 'NotificationAcknowledged', '2025-03-03T09:00:00+01:00', { notificationId: 'n1' })]);
    expect(await at('2025-03-05T00:00:00+01:00')).toEqual([
      { policy: 'underretning-24h', status: 'MET', stoppedAt: '2025-02-25T08:00:00+01:00' },
      { policy: 'underretning-kvittering', status: 'MET', stoppedAt: '2025-03-03T09:00:00+01:00' },
    ]);
    expect(await at('2025-03-03T08:00:00+01:00')).toEqual([
      { policy: 'underretning-24h', status: 'MET', stoppedAt: '2025-02-25T08:00:00+01:00' },
      { policy: 'underretning-kvittering', status: 'PENDING', stoppedAt: null }, // at risk from noon of the 5th hverdag
    ]);
  });

  it("answers a kommune's own policy, added by configuration alone", async () => {
    const { json } = await h.gql(`{ deadlinePolicies { id limit atRiskThreshold latenessUnit } }`);
    expect((json.data!.deadlinePolicies as { id: string }[]).map((p) => p.id)).toHaveLength(9);
    expect(json.data!.deadlinePolicies).toContainEqual({ id: 'sel-108-botilbud', limit: '90 workingDays', atRiskThreshold: 0.75, latenessUnit: 'workingDays' });
    const housing = await deadlines({ policy: 'sel-108-botilbud' });
    expect(housing.edges.map((e) => [e.node.citizenId, e.node.unitId, e.node.status, e.node.basis])).toEqual([[ids.housing, ADULT, 'PENDING', 'Serviceloven § 108; Retssikkerhedsloven § 3']]);
    await h.append([fact(ids.housing, 'DecisionMade', '2025-03-03T09:30:00+01:00', { decisionId: 'a1', unitId: ADULT, subject: 'botilbud', outcome: 'granted' })]);
    expect((await deadlines({ policy: 'sel-108-botilbud' })).edges.map((e) => e.node.status)).toEqual(['MET']);
  });

  it('lists a unit’s at-risk deadlines, least time left first', async () => {
    const AT_RISK = `query ($unitId: ID!, $asOf: DateTime) { atRiskDeadlines(unitId: $unitId, asOf: $asOf) { policy citizenId dueAt } }`;
    const { json } = await h.gql(AT_RISK, { unitId: ADULT });
    expect(json.data!.atRiskDeadlines).toEqual([{ policy: 'overdragelse-accept', citizenId: ids.handover, dueAt: '2025-03-04T00:00:00+01:00' }]);
    const child = await h.gql(AT_RISK, { unitId: CHILD, asOf: '2025-03-20T00:00:00+01:00' });
    expect(child.json.data!.atRiskDeadlines).toEqual([{ policy: 'ungeplan-16', citizenId: ids.young, dueAt: '2025-04-01T00:00:00+02:00' }]);
    expect((await h.gql(AT_RISK, { unitId: 'nope' })).json.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'unitId' });
  });

  it('answers the compliance view with small cells suppressed', async () => {
    // Five more handovers to ADULT falling due in March, so that cell is shown.
    const more = Array.from({ length: 5 }, (_, i) => citizenId(`cmp${i}`));
    await h.append(
      more.flatMap((id, i) => [
        fact(id, 'HandoverInitiated', '2025-03-03T09:00:00+01:00', { handoverId: 'h', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
        ...(i < 3 ? [fact(id, 'HandoverAccepted', '2025-03-05T09:00:00+01:00', { handoverId: 'h' })] : []),
      ]),
    );
    const COMPLIANCE = `query ($unitId: ID, $policy: String, $from: String!, $to: String!, $asOf: DateTime) {
      deadlineCompliance(unitId: $unitId, policy: $policy, from: $from, to: $to, asOf: $asOf) {
        asOf minCitizensPerCell
        cells { unitId policy month suppressed citizens met breached pending shareOnTime medianLateness p90Lateness latenessUnit }
      }
    }`;
    const { json } = await h.gql(COMPLIANCE, { unitId: ADULT, policy: 'overdragelse-accept', from: '2025-02', to: '2025-03', asOf: '2025-03-20T12:00:00+01:00' });
    expect(json.errors).toBeUndefined();
    expect(json.data!.deadlineCompliance).toEqual({
      asOf: '2025-03-20T12:00:00+01:00',
      minCitizensPerCell: 5,
      cells: [
        // Due end of 3 March, never answered: 13 hverdage late on 20 March… but a single citizen.
        { unitId: ADULT, policy: 'overdragelse-accept', month: '2025-03', suppressed: false, citizens: 6, met: 3, breached: 3, pending: 0, shareOnTime: 0.5, medianLateness: 3, p90Lateness: 13, latenessUnit: 'workingDays' },
      ],
    });
    const small = await h.gql(COMPLIANCE, { unitId: RECEPTION, from: '2025-02', to: '2025-03' });
    expect((small.json.data!.deadlineCompliance as { cells: { suppressed: boolean; met: number | null }[] }).cells.every((c) => c.suppressed && c.met === null)).toBe(true);
    for (const [variables, field] of [
      [{ from: '2025-13', to: '2025-03' }, 'from'],
      [{ from: '2025-03', to: '2025-02' }, 'to'],
      [{ from: '2020-01', to: '2025-03' }, 'to'],
    ] as const) {
      expect((await h.gql(COMPLIANCE, variables)).json.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });

  describe('the alerts subscription', () => {
    const ALERTS = `subscription ($unitId: ID, $policy: String, $afterSequence: Int) {
      deadlineAlerts(unitId: $unitId, policy: $policy, afterSequence: $afterSequence) { sequence kind at detectedAt deadline { id policy unitId status dueAt } }
    }`;
    type Alert = { sequence: number; kind: string; at: string; detectedAt: string; deadline: { id: string; policy: string; unitId: string; status: string; dueAt: string } };

    /** Opens an SSE stream on a real socket and collects `next` payloads until `count` arrived. */
    function subscribe(url: string, variables: Record<string, unknown>, count: number) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error('no alerts within 10 s')), 10_000);
      const received = (async () => {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify({ query: ALERTS, variables }), signal: controller.signal });
        expect(res.status).toBe(200);
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        const out: Alert[] = [];
        let buffer = '';
        while (out.length < count) {
          const { value, done } = await reader.read();
          if (done) throw new Error('the stream ended early');
          buffer += value;
          for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
            const lines = buffer.slice(0, end).split('\n');
            buffer = buffer.slice(end + 2);
            if (!lines.includes('event: next')) continue;
            const payload = JSON.parse(lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n')) as { data?: { deadlineAlerts: Alert }; errors?: unknown };
            expect(payload.errors).toBeUndefined();
            out.push(payload.data!.deadlineAlerts);
          }
        }
        return out;
      })();
      received.catch(() => {});
      return {
        received,
        close: () => {
          clearTimeout(timer);
          controller.abort();
        },
      };
    }

    const subscribed = async (n: number) => {
      for (let i = 0; i < 500 && feed!.subscriberCount < n; i++) await new Promise((r) => setTimeout(r, 10));
      expect(feed!.subscriberCount).toBeGreaterThanOrEqual(n);
    };

    it('streams a breach at its due instant, filtered by unit, and replays from a sequence', async () => {
      const address = await h.app.listen({ port: 0, host: '127.0.0.1' });
      const adult = subscribe(`${address}/graphql`, { unitId: ADULT }, 2);
      const reception = subscribe(`${address}/graphql`, { policy: 'underretning-24h' }, 1);
      try {
        await subscribed(2);
        // Time passes to the handover's due instant: end of Monday 3 March.
        await timers.advanceTo('2025-03-04T00:00:00+01:00');
        const [risk0, breach] = await adult.received;
        // The handover arrived already at risk: the first check after it was stored said so.
        expect(risk0).toMatchObject({ kind: 'AT_RISK', at: '2025-02-27T12:00:00+01:00', detectedAt: '2025-03-03T10:01:00+01:00', deadline: { status: 'AT_RISK' } });
        expect(breach).toMatchObject({
          kind: 'BREACHED',
          at: '2025-03-04T00:00:00+01:00',
          detectedAt: '2025-03-04T00:00:00+01:00',
          deadline: { id: `${ids.handover}/overdragelse-accept:h1`, policy: 'overdragelse-accept', unitId: ADULT, status: 'BREACHED', dueAt: '2025-03-04T00:00:00+01:00' },
        });
        // A new notification, never assessed: at risk after 18 hours.
        await h.append([fact(ids.notified, 'NotificationReceived', '2025-03-04T00:00:00+01:00', { notificationId: 'n2', unitId: RECEPTION, notifier: 'private' })]);
        await timers.advanceTo('2025-03-04T18:00:00+01:00');
        const [risk] = await reception.received;
        expect(risk).toMatchObject({ kind: 'AT_RISK', at: '2025-03-04T18:00:00+01:00', deadline: { policy: 'underretning-24h', status: 'AT_RISK' } });

        // A client that reconnects asks for what it missed after the breach.
        const replay = subscribe(`${address}/graphql`, { afterSequence: breach!.sequence - 1 }, 2);
        const replayed = await replay.received;
        replay.close();
        expect(replayed.map((a) => [a.kind, a.deadline.policy]).slice(0, 2)).toEqual([
          ['BREACHED', 'overdragelse-accept'],
          ['AT_RISK', 'underretning-24h'],
        ]);
      } finally {
        adult.close();
        reception.close();
      }
    });
  });
});
