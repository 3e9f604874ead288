/**
 * The role × operation matrix through the real endpoint: every role × every root field of the schema
 * (queries, mutations, subscriptions), with real tokens from a local identity provider, against the
 * embedded tracker in AUTH_MODE=oidc. Expected answers are written out by hand below (docs/security.md
 * §6); the test also checks that the table names every root field the schema has, so a new field
 * cannot arrive untested.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHILD, startSecuredTracker, subscribe, flowCitizen, readEvents, YOUTH, type Role, type SecuredTracker } from './testing/securedTracker.ts';

/** C coordinator, M manager, I integrator, A administrator: who may use each root field. */
const MATRIX: Record<string, string> = {
  'Query.__typename': 'CMIA',
  'Query.units': 'CMIA',
  'Query.deadlinePolicies': 'CMIA',
  'Query.citizen': 'C--A',
  'Query.handovers': 'C--A',
  'Query.gaps': 'C--A',
  'Query.deadlines': 'C--A',
  'Query.atRiskDeadlines': 'C--A',
  'Query.flows': '-M-A',
  'Query.flowsBySector': '-M-A',
  'Query.flowCohorts': '-M-A',
  'Query.deadlineCompliance': '-M-A',
  'Query.anomalyCounts': '-MIA',
  'Query.accessLog': '---A',
  'Query.accessLogEntries': '---A',
  'Mutation.registerCitizen': 'C--A',
  'Mutation.openCase': 'C--A',
  'Mutation.closeCase': 'C--A',
  'Mutation.initiateHandover': 'C--A',
  'Mutation.acceptHandover': 'C--A',
  'Mutation.rejectHandover': 'C--A',
  'Mutation.completeHandover': 'C--A',
  'Mutation.cancelHandover': 'C--A',
  'Mutation.receiveContact': 'C--A',
  'Mutation.answerContact': 'C--A',
  'Mutation.linkRelative': 'C--A',
  'Mutation.grantRepresentation': 'C--A',
  'Mutation.erasePersonalData': '---A',
  'Subscription.eventRecorded': 'C-IA',
  'Subscription.deadlineAlerts': 'C-IA',
};

const LETTER: Record<Role, string> = { coordinator: 'C', manager: 'M', integrator: 'I', administrator: 'A' };
const ROLES: Role[] = ['coordinator', 'manager', 'integrator', 'administrator'];

/** One call of each root field, valid for a coordinator of the child unit (the fields' own checks pass). */
function operation(field: string, role: Role): string {
  const citizen = `m-${role}-${field.split('.')[1]!.toLowerCase()}`;
  const command = (name: string, input: string) => `mutation { ${name}(citizenId: "${citizen}", input: { ${input} }) { events { type } } }`;
  switch (field) {
    case 'Query.__typename':
      return '{ __typename }';
    case 'Query.units':
      return '{ units { id } }';
    case 'Query.deadlinePolicies':
      return '{ deadlinePolicies { id } }';
    case 'Query.citizen':
      return `{ citizen(id: "${flowCitizen(1)}") { id timeline { type } } }`;
    case 'Query.handovers':
      return '{ handovers(first: 5) { totalCount edges { node { citizenId } } } }';
    case 'Query.gaps':
      return '{ gaps(first: 5) { totalCount edges { node { citizenId } } } }';
    case 'Query.deadlines':
      return '{ deadlines(first: 5) { totalCount edges { node { citizenId } } } }';
    case 'Query.atRiskDeadlines':
      return `{ atRiskDeadlines(unitId: "${CHILD}") { citizenId } }`;
    case 'Query.flows':
      return '{ flows { fromUnitId toUnitId count } }';
    case 'Query.flowsBySector':
      return '{ flowsBySector { fromSector toSector count } }';
    case 'Query.flowCohorts':
      return '{ flowCohorts { fromSector ageBand count } }';
    case 'Query.deadlineCompliance':
      return '{ deadlineCompliance(from: "2025-01", to: "2025-12") { cells { unitId month } } }';
    case 'Query.anomalyCounts':
      return '{ anomalyCounts { source kind count } }';
    case 'Query.accessLog':
      return `{ accessLog(citizenId: "${flowCitizen(1)}") { at operation } }`;
    case 'Query.accessLogEntries':
      return '{ accessLogEntries(first: 5) { seq actor } }';
    case 'Mutation.registerCitizen':
      return command('registerCitizen', 'birthDate: "2010-01-01", municipality: "0751", disability: false');
    case 'Mutation.openCase':
      return command('openCase', `caseId: "k-m", unitId: "${CHILD}"`);
    case 'Mutation.closeCase':
      return command('closeCase', 'caseId: "k-m"');
    case 'Mutation.initiateHandover':
      return command('initiateHandover', `handoverId: "h-m", fromUnitId: "${CHILD}", toUnitId: "${YOUTH}", kind: "age"`);
    case 'Mutation.acceptHandover':
      return command('acceptHandover', 'handoverId: "h-m"');
    case 'Mutation.rejectHandover':
      return command('rejectHandover', 'handoverId: "h-m", reason: "wrong unit"');
    case 'Mutation.completeHandover':
      return command('completeHandover', 'handoverId: "h-m"');
    case 'Mutation.cancelHandover':
      return command('cancelHandover', 'handoverId: "h-m"');
    case 'Mutation.receiveContact':
      return command('receiveContact', `contactId: "kt-m", unitId: "${CHILD}", from: "citizen"`);
    case 'Mutation.answerContact':
      return command('answerContact', 'contactId: "kt-m"');
    case 'Mutation.linkRelative':
      return command('linkRelative', 'relativeId: "r-m", relation: "parent", custody: true');
    case 'Mutation.grantRepresentation':
      return command('grantRepresentation', 'relativeId: "r-m", basis: "fuldmagt"');
    case 'Mutation.erasePersonalData':
      return `mutation { erasePersonalData(citizenId: "${citizen}") { erased } }`;
    case 'Subscription.eventRecorded':
      return 'subscription { eventRecorded { eventId } }';
    case 'Subscription.deadlineAlerts':
      return 'subscription { deadlineAlerts { sequence } }';
    default:
      throw new Error(`no call for ${field}`);
  }
}

describe('role × operation matrix through the real GraphQL endpoint', () => {
  let t: SecuredTracker;
  const tokens = {} as Record<Role, string>;

  beforeAll(async () => {
    t = await startSecuredTracker();
    for (const role of ROLES) tokens[role] = await t.token(role);
  });
  afterAll(async () => t?.close());

  it('the table names every root field of the schema, and nothing else', async () => {
    const { data } = await t.gql('{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }', {
      token: tokens.administrator,
    });
    const fields = [
      ...data.__schema.queryType.fields.map((f: { name: string }) => `Query.${f.name}`),
      'Query.__typename',
      ...data.__schema.mutationType.fields.map((f: { name: string }) => `Mutation.${f.name}`),
      ...data.__schema.subscriptionType.fields.map((f: { name: string }) => `Subscription.${f.name}`),
    ];
    expect(fields.sort()).toEqual(Object.keys(MATRIX).sort());
  });

  const cells = ROLES.flatMap((role) => Object.entries(MATRIX).map(([field, letters]) => ({ role, field, allowed: letters.includes(LETTER[role]) })));

  it.each(cells.filter((c) => !c.field.startsWith('Subscription.')))('$role × $field → allowed: $allowed', async ({ role, field, allowed }) => {
    const head = await t.tracker.store.headPosition();
    const logged = (await t.tracker.accessLog.entries({ limit: 10_000 })).length;
    const answer = await t.gql(operation(field, role), { token: tokens[role] });
    const codes = (answer.errors ?? []).map((e) => e.extensions?.code);
    if (allowed) {
      expect(codes).not.toContain('FORBIDDEN');
      expect(codes).not.toContain('UNAUTHENTICATED');
      // Queries answer; commands are decided (recorded, or refused by the citizen's state, never by the policy).
      for (const code of codes) expect(['COMMAND_REFUSED']).toContain(code);
    } else {
      expect(answer.status).toBe(403);
      expect(answer.errors).toEqual([
        { message: expect.stringContaining('Your role does not permit'), extensions: expect.objectContaining({ code: 'FORBIDDEN', reason: 'operation_not_permitted' }) },
      ]);
      expect(answer.data ?? null).toBeNull();
      // Nothing happened: no event stored, no read logged.
      expect(await t.tracker.store.headPosition()).toBe(head);
      expect((await t.tracker.accessLog.entries({ limit: 10_000 })).length).toBe(logged);
    }
  });

  it.each(cells.filter((c) => c.field.startsWith('Subscription.')))('$role × $field → allowed: $allowed', async ({ role, field, allowed }) => {
    const { response, abort } = await subscribe(t.tracker.url, operation(field, role), tokens[role]);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    if (allowed) {
      expect(response.status).toBe(200);
      // The stream is open and sends nothing it should not: no error arrives.
      const text = await readEvents(response, abort, (s) => s.includes('event: next'), 300);
      expect(text).not.toContain('"errors"');
    } else {
      expect(response.status).toBe(403);
      const text = await readEvents(response, abort, (s) => s.includes('event: complete'));
      expect(text).toContain('"code":"FORBIDDEN"');
      expect(text).toContain('"reason":"operation_not_permitted"');
    }
  });

  it('a token with several roles gets the union (a manager who also works cases)', async () => {
    const both = await t.token('manager', { claims: { roles: ['manager', 'coordinator'], units: [YOUTH] } });
    const answer = await t.gql(`{ flows { count } citizen(id: "${flowCitizen(1)}") { id } }`, { token: both });
    expect(answer.errors).toBeUndefined();
    expect(answer.data.citizen.id).toBe(flowCitizen(1));
  });

  it('one refused field refuses the whole operation, through fragments too', async () => {
    const head = await t.tracker.store.headPosition();
    for (const query of [
      '{ units { id } accessLog(citizenId: "c-flow-01") { at } }',
      '{ ... on Query { accessLog(citizenId: "c-flow-01") { at } } }',
      'query { ...F } fragment F on Query { units { id } ...G } fragment G on Query { accessLogEntries { seq } }',
      '{ units { id } ... @skip(if: true) { accessLog(citizenId: "c-flow-01") { at } } }',
    ]) {
      const answer = await t.gql(query, { token: tokens.coordinator });
      expect(answer.status).toBe(403);
      expect(answer.data ?? null).toBeNull();
      expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    }
    const mixed = await t.gql(`mutation { openCase(citizenId: "m-mixed", input: { caseId: "k", unitId: "${CHILD}" }) { events { type } } erasePersonalData(citizenId: "m-mixed") { erased } }`, {
      token: tokens.coordinator,
    });
    expect(mixed.status).toBe(403);
    expect(await t.tracker.store.headPosition()).toBe(head);
  });
});
