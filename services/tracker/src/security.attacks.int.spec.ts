/**
 * Attacks through the real embedded tracker (AUTH_MODE=oidc, a local identity provider with real keys):
 * bad tokens at every entry point; a coordinator reaching for another unit's citizen; injection in
 * every string argument; oversized, deeply nested, costly and aliased documents; CPR numbers where
 * only pseudonyms or CPR-free text belong. Each is refused with a clear error, and nothing is stored,
 * logged or answered that should not be.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { createTestKey, hmacWithPublicKeyToken, signToken, unsecuredToken, withTamperedPayload } from '@tracker/security/testing';
import {
  ADULT,
  ADULT_CITIZEN,
  CHILD,
  CPR,
  CPR_DIGITS,
  flowCitizen,
  NAME,
  startSecuredTracker,
  subscribe,
  readEvents,
  YOUTH,
  type SecuredTracker,
} from './testing/securedTracker.ts';

let t: SecuredTracker;
beforeAll(async () => {
  t = await startSecuredTracker();
});
afterAll(async () => {
  // Nothing personal and no credential reached the log, whatever was thrown at the tracker.
  const logs = t.logs.join('');
  for (const secret of [NAME, CPR, CPR_DIGITS, 'Bearer ey', 'eyJ']) expect(logs).not.toContain(secret);
  await t?.close();
});

const headOf = () => t.tracker.store.headPosition();

describe('bad tokens, at every entry point', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const claims = () => ({ iss: t.issuer.issuer, aud: t.issuer.audience, sub: 'mallory', roles: ['administrator'], iat: now(), exp: now() + 3600 });

  const attacks: [string, () => Promise<string | null>, string][] = [
    ['no token', async () => null, 'missing_token'],
    ['not a JWT', async () => 'not-a-token', 'malformed_token'],
    ['forged: signed with a key the issuer does not publish, same kid', async () => signToken({ issuer: t.issuer.issuer, audience: t.issuer.audience, key: { ...(await createTestKey('key-1')) }, claims: { roles: ['administrator'] } }), 'bad_signature'],
    ['forged: an unknown key id', async () => signToken({ issuer: t.issuer.issuer, audience: t.issuer.audience, key: await createTestKey('key-evil'), claims: { roles: ['administrator'] } }), 'unknown_key'],
    ['a coordinator token with its roles raised to administrator', async () => withTamperedPayload(await t.token('coordinator'), claims()), 'bad_signature'],
    ['expired an hour ago', async () => t.token('administrator', { issuedAt: new Date(Date.now() - 2 * 3600_000) }), 'expired'],
    ['for another audience', async () => t.token('administrator', { claims: { aud: 'another-service' } }), 'wrong_audience'],
    ['from another issuer', async () => t.token('administrator', { claims: { iss: 'https://evil.example' } }), 'wrong_issuer'],
    ['alg: none', async () => unsecuredToken(claims()), 'unsupported_algorithm'],
    ['HS256 keyed with the public key (algorithm confusion)', async () => hmacWithPublicKeyToken(claims(), t.issuer.currentKey), 'unsupported_algorithm'],
    ['a token without a tracker role', async () => t.token('administrator', { claims: { roles: ['offline_access'] } }), 'no_roles'],
  ];

  const entryPoints: [string, (token: string | null) => Promise<{ status: number; text: string; headers: Headers }>][] = [
    ['GraphQL query', (token) => call('POST', '/graphql', token, JSON.stringify({ query: `{ citizen(id: "${flowCitizen(1)}") { id } }` }))],
    ['GraphQL mutation', (token) => call('POST', '/graphql', token, JSON.stringify({ query: `mutation { erasePersonalData(citizenId: "${flowCitizen(1)}") { erased } }` }))],
    ['GraphQL subscription (SSE)', (token) => call('POST', '/graphql', token, JSON.stringify({ query: 'subscription { eventRecorded { eventId } }' }), 'text/event-stream')],
    ['GraphQL over GET', (token) => call('GET', `/graphql?query=${encodeURIComponent('{ units { id } }')}`, token)],
    ['ingestion', (token) => call('POST', '/v1/events', token, JSON.stringify({ events: [{ id: randomUUID(), type: 'CaseOpened', citizenId: 'c-evil', occurredAt: '2026-01-01T10:00:00+01:00', source: 'dubu', data: { caseId: 'k', unitId: CHILD } }] }))],
    ['XES export', (token) => call('GET', '/v1/exports/xes', token)],
    ['OCEL export', (token) => call('GET', '/v1/exports/ocel', token)],
    ['an unknown path', (token) => call('GET', '/admin', token)],
  ];

  async function call(method: string, path: string, token: string | null, body?: string, accept = 'application/json') {
    const response = await fetch(`${t.tracker.url}${path}`, {
      method,
      headers: { accept, ...(body ? { 'content-type': 'application/json' } : {}), ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
      ...(body ? { body } : {}),
    });
    return { status: response.status, text: await response.text(), headers: response.headers };
  }

  it.each(attacks.flatMap(([attack, make, reason]) => entryPoints.map(([entry, send]) => ({ attack, make, reason, entry, send }))))(
    '$attack at $entry → refused ($reason)',
    async ({ make, reason, send }) => {
      const head = await headOf();
      const logged = (await t.tracker.accessLog.entries({ limit: 10_000 })).length;
      const token = await make();
      const answer = await send(token);
      expect(answer.status).toBe(reason === 'no_roles' ? 403 : 401);
      expect(answer.text).toContain(`"reason":"${reason}"`);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer realm="tracker"/);
      // The answer carries no part of the token and nothing of the data.
      if (token) for (const part of token.split('.').filter((p) => p.length > 8)) expect(answer.text).not.toContain(part);
      expect(answer.text).not.toContain(flowCitizen(1));
      expect(await headOf()).toBe(head);
      expect((await t.tracker.accessLog.entries({ limit: 10_000 })).length).toBe(logged);
    },
  );

  it('the probes need no token, and answer nothing else', async () => {
    expect((await fetch(`${t.tracker.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.tracker.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { eventStore: 'ok', readModels: 'ok', identityProvider: 'ok' } });
  });

  it('the identity provider down: 503 with Retry-After for a token whose key is not cached, never a 200', async () => {
    // A fresh key id forces a refetch of the key set, which now fails.
    const rotated = await createTestKey('key-rotated');
    const token = await signToken({ issuer: t.issuer.issuer, audience: t.issuer.audience, key: rotated, claims: { roles: ['administrator'] } });
    t.issuer.setAvailable(false);
    try {
      const answer = await t.gql('{ units { id } }', { token });
      expect([401, 503]).toContain(answer.status);
      expect(answer.data ?? null).toBeNull();
    } finally {
      t.issuer.setAvailable(true);
    }
  });
});

describe('a coordinator reaching beyond their units', () => {
  it('gets another unit’s citizen refused exactly as an unknown one, and nothing logged', async () => {
    const token = await t.token('coordinator');
    const logged = (await t.tracker.accessLog.entries({ limit: 10_000 })).length;
    const other = await t.gql(`{ citizen(id: "${ADULT_CITIZEN}") { id timeline { type } } }`, { token });
    const unknown = await t.gql('{ citizen(id: "c-nobody-at-all") { id } }', { token });
    expect(other.errors).toMatchObject([{ message: 'There is no citizen with this id within your units.', extensions: { code: 'FORBIDDEN', reason: 'out_of_scope' } }]);
    expect(unknown.errors).toEqual(other.errors);
    expect(other.data).toEqual(unknown.data);
    expect(other.text).not.toContain('timeline');
    expect((await t.tracker.accessLog.entries({ limit: 10_000 })).length).toBe(logged);
  });

  it('sees a citizen handed to their unit before accepting, with the sender’s history', async () => {
    const youth = await t.token('coordinator', { claims: { sub: 'coordinator-youth', units: [YOUTH] } });
    const answer = await t.gql(`{ citizen(id: "${flowCitizen(9)}") { id timeline { type unitId } handovers { status } } }`, { token: youth });
    expect(answer.errors).toBeUndefined();
    expect(answer.data.citizen.timeline.map((e: { type: string }) => e.type)).toEqual(['CitizenRegistered', 'CaseOpened', 'HandoverInitiated']);
    expect(answer.data.citizen.handovers).toEqual([{ status: 'PENDING' }]);
  });

  it('lists only their citizens: handovers, gaps, deadlines, at-risk lists', async () => {
    const adult = await t.token('coordinator', { claims: { sub: 'coordinator-adult', units: [ADULT] } });
    const child = await t.token('coordinator');
    const lists = '{ handovers(first: 50) { totalCount edges { node { citizenId } } } gaps(first: 50) { totalCount edges { node { citizenId } } } deadlines(first: 50) { totalCount edges { node { citizenId } } } }';
    const mine = await t.gql(lists, { token: adult });
    expect(mine.errors).toBeUndefined();
    expect(mine.data.handovers.totalCount).toBe(0);
    for (const list of ['gaps', 'deadlines']) {
      for (const edge of mine.data[list].edges) expect(edge.node.citizenId).toBe(ADULT_CITIZEN);
    }
    const theirs = await t.gql(lists, { token: child });
    expect(theirs.data.handovers.totalCount).toBe(10);
    expect(theirs.text).not.toContain(ADULT_CITIZEN);
    const atRisk = await t.gql(`{ atRiskDeadlines(unitId: "${ADULT}") { citizenId } }`, { token: child });
    expect(atRisk.text).not.toContain(ADULT_CITIZEN);
  });

  it('cannot command for another unit’s citizen, nor act as another unit for their own', async () => {
    const child = await t.token('coordinator');
    const head = await headOf();
    const foreign = await t.gql(`mutation { openCase(citizenId: "${ADULT_CITIZEN}", input: { caseId: "k-x", unitId: "${CHILD}" }) { events { type } } }`, { token: child });
    expect(foreign.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'out_of_scope' });
    const asYouth = await t.gql(
      `mutation { initiateHandover(citizenId: "${flowCitizen(1)}", input: { handoverId: "h-x", fromUnitId: "${YOUTH}", toUnitId: "${ADULT}", kind: "age" }) { events { type } } }`,
      { token: child },
    );
    expect(asYouth.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'unit_out_of_scope' });
    // Accepting a handover is the receiving unit's: the sender cannot accept its own.
    const accept = await t.gql(`mutation { acceptHandover(citizenId: "${flowCitizen(9)}", input: { handoverId: "h-9" }) { events { type } } }`, { token: child });
    expect(accept.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'unit_out_of_scope' });
    expect(await headOf()).toBe(head);
  });

  it('a manager sees aggregates of their units only, small cells withheld', async () => {
    const youth = await t.token('manager');
    const adult = await t.token('manager', { claims: { sub: 'manager-adult', units: [ADULT] } });
    const reception = await t.token('manager', { claims: { sub: 'manager-reception', units: [RECEPTION_UNIT] } });
    const admin = await t.token('administrator');
    // One citizen handed from the child unit to the adult unit: a cell of one.
    const small = [
      { id: randomUUID(), type: 'CaseOpened', citizenId: 'c-small-01', occurredAt: '2025-03-01T10:00:00+01:00', source: 'dubu', data: { caseId: 'k', unitId: CHILD } },
      { id: randomUUID(), type: 'HandoverInitiated', citizenId: 'c-small-01', occurredAt: '2025-07-01T10:00:00+01:00', source: 'dubu', data: { handoverId: 'h', fromUnitId: CHILD, toUnitId: ADULT, kind: 'age' } },
    ];
    expect((await t.ingest(small, admin)).status).toBe(200);
    const query = '{ flows(from: "2025-01-01T00:00:00+01:00") { fromUnitId toUnitId count accepted pending } flowsBySector(from: "2025-01-01T00:00:00+01:00") { fromSector toSector citizens pending suppressed } }';
    const exact = await t.gql(query, { token: admin });
    expect(exact.data.flows).toEqual([
      { fromUnitId: CHILD, toUnitId: YOUTH, count: 10, accepted: 5, pending: 5 },
      { fromUnitId: CHILD, toUnitId: ADULT, count: 1, accepted: 0, pending: 1 },
    ]);
    // Only the edges touching the manager's unit, and only those resting on 5 citizens or more.
    expect((await t.gql(query, { token: youth })).data).toEqual({
      flows: [{ fromUnitId: CHILD, toUnitId: YOUTH, count: 10, accepted: 5, pending: 5 }],
      flowsBySector: [{ fromSector: 'child', toSector: 'youth', citizens: 10, pending: 5, suppressed: false }],
    });
    expect((await t.gql(query, { token: adult })).data).toEqual({
      flows: [],
      flowsBySector: [{ fromSector: 'child', toSector: 'adult', citizens: null, pending: null, suppressed: true }],
    });
    expect((await t.gql(query, { token: reception })).data).toEqual({ flows: [], flowsBySector: [] });
  });

  it('an integrator counts the anomalies of its own source systems only', async () => {
    const dubu = await t.token('integrator');
    const nexus = await t.token('integrator', { claims: { sub: 'system-nexus', sources: ['nexus'] } });
    const query = '{ anomalyCounts { source kind count } }';
    expect((await t.gql(query, { token: nexus })).data.anomalyCounts).toEqual([{ source: 'nexus', kind: 'CASE_NOT_OPEN', count: 1 }]);
    const dubuCounts = (await t.gql(query, { token: dubu })).data.anomalyCounts as { source: string }[];
    for (const row of dubuCounts) expect(row.source).toBe('dubu');
    const all = (await t.gql(query, { token: await t.token('administrator') })).data.anomalyCounts as { source: string }[];
    expect(all.length).toBe(dubuCounts.length + 1);
  });

  it('live events reach only those who may see them', async () => {
    const adult = await t.token('coordinator', { claims: { sub: 'coordinator-adult', units: [ADULT] } });
    const nexus = await t.token('integrator', { claims: { sub: 'system-nexus', sources: ['nexus'] } });
    const coordinatorStream = await subscribe(t.tracker.url, 'subscription { eventRecorded { citizenId type } }', adult);
    const integratorStream = await subscribe(t.tracker.url, 'subscription { eventRecorded { citizenId type } }', nexus);
    const event = (citizenId: string, source: string, unitId: string) => ({
      id: randomUUID(),
      type: 'ContactReceived',
      citizenId,
      occurredAt: '2026-03-01T10:00:00+01:00',
      source,
      data: { contactId: `kt-${randomUUID().slice(0, 8)}`, unitId, from: 'citizen' },
    });
    expect((await t.ingest([event(flowCitizen(2), 'dubu', CHILD), event(ADULT_CITIZEN, 'nexus', ADULT)], await t.token('administrator'))).status).toBe(200);
    const seenByCoordinator = await readEvents(coordinatorStream.response, coordinatorStream.abort, (s) => s.includes(ADULT_CITIZEN));
    const seenByIntegrator = await readEvents(integratorStream.response, integratorStream.abort, (s) => s.includes(ADULT_CITIZEN));
    for (const seen of [seenByCoordinator, seenByIntegrator]) {
      expect(seen).toContain(ADULT_CITIZEN);
      expect(seen).not.toContain(flowCitizen(2));
    }
  });
});

const RECEPTION_UNIT = '0751-modtagelse';

describe('injection in every string argument', () => {
  const PAYLOADS = [
    "' OR '1'='1",
    "x'); DROP TABLE timeline; --",
    '" OR 1=1 --',
    '{"$gt": ""}',
    '<script>alert(1)</script>',
    '../../../etc/passwd',
    "c-flow-01' UNION SELECT name FROM sqlite_master --",
    '%00\u0000',
  ];
  /** Every string (ID/String) argument of every read, with where its value goes. */
  const READS: [string, (value: string) => string][] = [
    ['citizen(id)', (v) => `{ citizen(id: ${JSON.stringify(v)}) { id } }`],
    ['handovers(unitId)', (v) => `{ handovers(unitId: ${JSON.stringify(v)}) { totalCount } }`],
    ['handovers(after)', (v) => `{ handovers(after: ${JSON.stringify(v)}) { totalCount } }`],
    ['gaps(unitId)', (v) => `{ gaps(unitId: ${JSON.stringify(v)}) { totalCount } }`],
    ['gaps(after)', (v) => `{ gaps(after: ${JSON.stringify(v)}) { totalCount } }`],
    ['deadlines(policy)', (v) => `{ deadlines(policy: ${JSON.stringify(v)}) { totalCount } }`],
    ['deadlines(unitId)', (v) => `{ deadlines(unitId: ${JSON.stringify(v)}) { totalCount } }`],
    ['deadlines(after)', (v) => `{ deadlines(after: ${JSON.stringify(v)}) { totalCount } }`],
    ['atRiskDeadlines(unitId)', (v) => `{ atRiskDeadlines(unitId: ${JSON.stringify(v)}) { citizenId } }`],
    ['deadlineCompliance(unitId)', (v) => `{ deadlineCompliance(unitId: ${JSON.stringify(v)}, from: "2025-01", to: "2025-02") { asOf } }`],
    ['deadlineCompliance(policy)', (v) => `{ deadlineCompliance(policy: ${JSON.stringify(v)}, from: "2025-01", to: "2025-02") { asOf } }`],
    ['deadlineCompliance(from)', (v) => `{ deadlineCompliance(from: ${JSON.stringify(v)}, to: "2025-02") { asOf } }`],
    ['deadlineCompliance(to)', (v) => `{ deadlineCompliance(from: "2025-01", to: ${JSON.stringify(v)}) { asOf } }`],
    ['flowCohorts(fromSector)', (v) => `{ flowCohorts(fromSector: ${JSON.stringify(v)}) { count } }`],
    ['flowCohorts(toSector)', (v) => `{ flowCohorts(toSector: ${JSON.stringify(v)}) { count } }`],
    ['flows(from)', (v) => `{ flows(from: ${JSON.stringify(v)}) { count } }`],
    ['citizen(asOf)', (v) => `{ citizen(id: "c-flow-01", asOf: ${JSON.stringify(v)}) { id } }`],
    ['accessLog(citizenId)', (v) => `{ accessLog(citizenId: ${JSON.stringify(v)}) { at } }`],
    ['accessLogEntries(citizenId)', (v) => `{ accessLogEntries(citizenId: ${JSON.stringify(v)}) { seq } }`],
    ['accessLogEntries(from)', (v) => `{ accessLogEntries(from: ${JSON.stringify(v)}) { seq } }`],
  ];
  /** Id-shaped arguments of the commands (free text is data, see below). */
  const COMMANDS: [string, (value: string) => string][] = [
    ['openCase(citizenId)', (v) => `mutation { openCase(citizenId: ${JSON.stringify(v)}, input: { caseId: "k", unitId: "${CHILD}" }) { events { type } } }`],
    ['openCase(input.caseId)', (v) => `mutation { openCase(citizenId: "c-inj", input: { caseId: ${JSON.stringify(v)}, unitId: "${CHILD}" }) { events { type } } }`],
    ['openCase(input.unitId)', (v) => `mutation { openCase(citizenId: "c-inj", input: { caseId: "k", unitId: ${JSON.stringify(v)} }) { events { type } } }`],
    ['initiateHandover(input.handoverId)', (v) => `mutation { initiateHandover(citizenId: "c-inj", input: { handoverId: ${JSON.stringify(v)}, fromUnitId: "${CHILD}", toUnitId: "${YOUTH}", kind: "age" }) { events { type } } }`],
    ['initiateHandover(input.kind)', (v) => `mutation { initiateHandover(citizenId: "c-inj", input: { handoverId: "h", fromUnitId: "${CHILD}", toUnitId: "${YOUTH}", kind: ${JSON.stringify(v)} }) { events { type } } }`],
    ['linkRelative(input.relativeId)', (v) => `mutation { linkRelative(citizenId: "c-inj", input: { relativeId: ${JSON.stringify(v)}, relation: "parent", custody: true }) { events { type } } }`],
    ['linkRelative(input.relation)', (v) => `mutation { linkRelative(citizenId: "c-inj", input: { relativeId: "r", relation: ${JSON.stringify(v)}, custody: true }) { events { type } } }`],
    ['receiveContact(input.from)', (v) => `mutation { receiveContact(citizenId: "c-inj", input: { contactId: "kt", unitId: "${CHILD}", from: ${JSON.stringify(v)} }) { events { type } } }`],
    ['registerCitizen(input.municipality)', (v) => `mutation { registerCitizen(citizenId: "c-inj", input: { birthDate: "2010-01-01", municipality: ${JSON.stringify(v)}, disability: false }) { events { type } } }`],
    ['registerCitizen(input.birthDate)', (v) => `mutation { registerCitizen(citizenId: "c-inj", input: { birthDate: ${JSON.stringify(v)}, municipality: "0751", disability: false }) { events { type } } }`],
    ['erasePersonalData(citizenId)', (v) => `mutation { erasePersonalData(citizenId: ${JSON.stringify(v)}) { erased } }`],
  ];

  function tablesIntact(): string[] {
    const db = new Database(join(t.dataDir, 'read-models.sqlite'), { readonly: true });
    try {
      return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    } finally {
      db.close();
    }
  }

  it.each([...READS, ...COMMANDS].flatMap(([argument, query]) => PAYLOADS.map((payload) => ({ argument, query, payload }))))(
    '$argument = $payload → refused or inert, never echoed, nothing stored',
    async ({ query, payload }) => {
      const tables = tablesIntact();
      const head = await headOf();
      const answer = await t.gql(query(payload), { token: await t.token('administrator') });
      for (const error of answer.errors ?? []) {
        expect(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED', undefined]).toContain(error.extensions?.code);
        expect(error.message).not.toContain(payload.trim());
      }
      // Either refused, or answered as an empty/unknown lookup: never data it should not give.
      if (!answer.errors) expect(answer.text).not.toContain('sqlite_master');
      expect(answer.text).not.toMatch(/SQLITE|syntax error at|no such table/i);
      expect(await headOf()).toBe(head);
      expect(tablesIntact()).toEqual(tables);
    },
  );

  it('free text is data: stored verbatim, executed nowhere', async () => {
    const reason = "x'); DROP TABLE timeline; --";
    const answer = await t.gql(
      `mutation { rejectHandover(citizenId: "${flowCitizen(10)}", input: { handoverId: "h-10", reason: ${JSON.stringify(reason)} }) { events { type } } }`,
      { token: await t.token('administrator') },
    );
    expect(answer.errors).toBeUndefined();
    expect(tablesIntact()).toContain('timeline');
    const stored = await t.tracker.store.readStream(flowCitizen(10));
    expect(stored.at(-1)).toMatchObject({ type: 'HandoverRejected', data: { reason } });
  });

  it('a unit id in a token claim is data too', async () => {
    const sneaky = await t.token('coordinator', { claims: { units: ["x') OR 1=1 --"] } });
    // Unit ids in claims must be well-formed: the token is refused outright.
    expect((await t.gql('{ handovers { totalCount } }', { token: sneaky })).status).toBe(401);
    const odd = await t.token('coordinator', { claims: { units: ['OR-1-1'] } });
    expect((await t.gql('{ handovers { totalCount } }', { token: odd })).data.handovers.totalCount).toBe(0);
  });
});

describe('documents too large, too deep, too costly', () => {
  it.each([
    ['too many tokens', `{ ${Array.from({ length: 2100 }, () => '__typename').join(' ')} }`, /too long/],
    ['nested too deeply', `{ citizen(id: "c-flow-01") { handovers ${'{ a '.repeat(14)}{ b }${' }'.repeat(14)} } }`, /depth limit/],
    ['too costly: several full pages', `{ ${Array.from({ length: 3 }, (_, i) => `p${i}: handovers(first: 500) { edges { node { id citizenId fromUnitId toUnitId kind status initiatedAt resolvedAt overdue dueAt } cursor } }`).join(' ')} }`, /cost limit/],
    ['too many aliases', `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: units { id }`).join(' ')} }`, /alias limit/],
  ])('%s → refused before anything runs', async (_name, query, message) => {
    const logged = (await t.tracker.accessLog.entries({ limit: 10_000 })).length;
    const answer = await t.gql(query, { token: await t.token('administrator') });
    expect(answer.data ?? null).toBeNull();
    expect(answer.errors?.length).toBeGreaterThan(0);
    if (message) expect(answer.errors!.map((e) => e.message).join(' ')).toMatch(message);
    expect((await t.tracker.accessLog.entries({ limit: 10_000 })).length).toBe(logged);
  });

  it('a body over the limit is refused with 413, a huge GraphQL document with a clear error', async () => {
    const big = JSON.stringify({ query: `{ units { id } } # ${'x'.repeat(1_100_000)}` });
    const response = await fetch(`${t.tracker.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await t.token('administrator')}` },
      body: big,
    });
    expect(response.status).toBe(413);
    const ingest = await fetch(`${t.tracker.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await t.token('administrator')}` },
      body: JSON.stringify({ events: [], padding: 'y'.repeat(1_100_000) }),
    });
    expect(ingest.status).toBe(400);
    expect(await ingest.json()).toEqual({ error: 'invalid request', errors: [{ index: null, field: '(body)', message: expect.stringContaining('exceeds') }] });
  });
});

describe('CPR numbers where only pseudonyms or CPR-free text belong', () => {
  it.each([CPR, CPR_DIGITS])('%s as a citizen id: refused, never echoed, nothing stored', async (cpr) => {
    const head = await headOf();
    const admin = await t.token('administrator');
    for (const query of [
      `{ citizen(id: "${cpr}") { id } }`,
      `mutation { registerCitizen(citizenId: "${cpr}", input: { birthDate: "2010-01-01", municipality: "0751", disability: false }) { events { type } } }`,
      `{ accessLog(citizenId: "${cpr}") { at } }`,
      `mutation { erasePersonalData(citizenId: "${cpr}") { erased } }`,
    ]) {
      const answer = await t.gql(query, { token: admin });
      expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(answer.text).not.toContain(cpr);
    }
    const variables = await t.gql('query($id: ID!) { citizen(id: $id) { id } }', { token: admin, variables: { id: cpr } });
    expect(variables.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect(variables.text).not.toContain(cpr);
    const ingested = await t.ingest([{ id: randomUUID(), type: 'CaseOpened', citizenId: cpr, occurredAt: '2026-01-01T10:00:00+01:00', source: 'dubu', data: { caseId: 'k', unitId: CHILD } }], admin);
    expect(ingested.status).toBe(400);
    expect(JSON.stringify(ingested.body)).not.toContain(cpr);
    expect(await headOf()).toBe(head);
  });

  it('in a free-text field: refused, never echoed, nothing stored', async () => {
    const head = await headOf();
    const admin = await t.token('administrator');
    const text = `sag om ${CPR} fra skolen`;
    const reject = await t.gql(`mutation { rejectHandover(citizenId: "${flowCitizen(8)}", input: { handoverId: "h-8", reason: ${JSON.stringify(text)} }) { events { type } } }`, { token: admin });
    expect(reject.errors?.[0]).toMatchObject({ message: 'Invalid input.reason: must not contain a CPR number', extensions: { code: 'BAD_USER_INPUT' } });
    const ingested = await t.ingest(
      [{ id: randomUUID(), type: 'CaseClosed', citizenId: flowCitizen(8), occurredAt: '2026-01-01T10:00:00+01:00', source: 'dubu', data: { caseId: 'k-8', reason: text } }],
      admin,
    );
    expect(ingested).toEqual({ status: 400, body: { error: 'invalid events', errors: [{ index: 0, field: 'data.reason', message: 'must not contain a CPR number' }] } });
    const purpose = await t.gql(`{ citizen(id: "${flowCitizen(8)}") { id } }`, { token: admin, headers: { 'x-purpose': text } });
    expect(purpose.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'x-purpose' });
    for (const answer of [reject.text, JSON.stringify(ingested.body), purpose.text]) expect(answer).not.toContain(CPR);
    expect(await headOf()).toBe(head);
  });

  it('an integrator posting as another source system: refused per event, nothing stored', async () => {
    const head = await headOf();
    const dubu = await t.token('integrator');
    const event = (source: string | undefined) => ({
      id: randomUUID(),
      type: 'ContactReceived',
      citizenId: flowCitizen(3),
      occurredAt: '2026-02-01T10:00:00+01:00',
      ...(source ? { source } : {}),
      data: { contactId: `kt-${randomUUID().slice(0, 6)}`, unitId: CHILD, from: 'citizen' },
    });
    const refused = await t.ingest([event('dubu'), event('nexus'), event(undefined)], dubu);
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({
      error: 'events not permitted',
      errors: [
        { index: 1, field: 'source', message: expect.stringContaining('sources claim') },
        { index: 2, field: 'source', message: expect.stringContaining('sources claim') },
      ],
    });
    expect(JSON.stringify(refused.body)).not.toContain('nexus');
    expect(await headOf()).toBe(head);
    expect((await t.ingest([event('dubu')], dubu)).body).toEqual({ appended: 1, duplicates: 0 });
    // Roles that do not ingest are refused before the body is read.
    expect((await t.ingest([event('dubu')], await t.token('coordinator'))).status).toBe(403);
  });
});
