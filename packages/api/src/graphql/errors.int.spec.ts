import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHILD, YOUTH, CPR, CPR_DIGITS, citizenId, fact, startHarness, type GraphqlResponse, type Harness } from './testing/harness.ts';

/** No answer may carry a sent CPR number, in either spelling, nor a stack trace. */
function expectNothingEchoed(response: GraphqlResponse) {
  expect(response.body).not.toContain(CPR_DIGITS);
  expect(response.body).not.toContain(CPR);
  expect(response.body).not.toMatch(/stack|\.ts:\d+/i);
}

/** The one error of a refused request, checked to name the field and echo nothing. */
function inputError(response: GraphqlResponse, field: string) {
  expectNothingEchoed(response);
  expect(response.json.errors, response.body).toHaveLength(1);
  const [error] = response.json.errors!;
  expect(error!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  expect(error!.message).toMatch(new RegExp(`^Invalid ${field.replace('.', '\\.')}: `));
  return error!;
}

describe('GraphQL errors', () => {
  let h: Harness;
  let id: string;
  beforeAll(async () => {
    h = await startHarness();
    id = citizenId('err');
    await h.append([
      fact(id, 'CitizenRegistered', '2020-01-01T09:00:00+01:00', { birthDate: '2007-01-01', municipality: '0751', disability: false }),
      fact(id, 'CaseOpened', '2021-01-04T10:00:00+01:00', { caseId: 'k1', unitId: CHILD }),
      fact(id, 'HandoverInitiated', '2024-12-02T10:00:00+01:00', { handoverId: 'h1', fromUnitId: CHILD, toUnitId: YOUTH, kind: 'age' }),
    ]);
  });
  afterAll(async () => h.close());

  /** Runs a request that must be refused without storing anything. */
  const refusedWithoutStoring = async (query: string, variables?: Record<string, unknown>) => {
    const before = await h.store.headPosition();
    const response = await h.gql(query, variables);
    expect(await h.store.headPosition()).toBe(before);
    return response;
  };

  describe('bad input: a clear error naming the argument, nothing stored, nothing echoed', () => {
    const OPEN_CASE = `mutation ($citizenId: ID!, $input: OpenCaseInput!, $occurredAt: DateTime) {
      openCase(citizenId: $citizenId, input: $input, occurredAt: $occurredAt) { events { eventId } }
    }`;

    it('refuses a unit that is not configured', async () => {
      const response = await refusedWithoutStoring(OPEN_CASE, { citizenId: id, input: { caseId: 'k9', unitId: '0751-bf-myndighd' } });
      expect(inputError(response, 'input.unitId').message).toBe('Invalid input.unitId: is not a configured unit; units come from the units configuration');
      expect(response.body).not.toContain('0751-bf-myndighd');
      expect(response.json.data).toEqual({ openCase: null });
    });

    it('refuses a CPR-shaped citizen id, as a variable or a literal, in both spellings', async () => {
      for (const cpr of [CPR, CPR_DIGITS]) {
        const viaVariable = await refusedWithoutStoring(OPEN_CASE, { citizenId: cpr, input: { caseId: 'k9', unitId: CHILD } });
        expect(inputError(viaVariable, 'citizenId').message).toBe('Invalid citizenId: must be pseudonymous, not shaped like a CPR number');

        const viaLiteral = await refusedWithoutStoring(`mutation { openCase(citizenId: "${cpr}", input: { caseId: "k9", unitId: "${CHILD}" }) { events { eventId } } }`);
        inputError(viaLiteral, 'citizenId');

        inputError(await h.gql(`{ citizen(id: "${cpr}") { id } }`), 'id');
        inputError(await h.gql('query ($id: ID!) { citizen(id: $id) { id } }', { id: cpr }), 'id');
        inputError(await h.gql('subscription ($c: ID) { eventRecorded(citizenId: $c) { eventId } }', { c: cpr }), 'citizenId');
      }
    });

    it('refuses CPR numbers and bad values inside the input, by the catalog\'s rules', async () => {
      const reason = await refusedWithoutStoring(
        `mutation ($input: CloseCaseInput!) { closeCase(citizenId: "${id}", input: $input) { events { eventId } } }`,
        { input: { caseId: 'k1', reason: `vedr. ${CPR}` } },
      );
      expect(inputError(reason, 'input.reason').message).toBe('Invalid input.reason: must not contain a CPR number');

      const relative = await refusedWithoutStoring(
        `mutation ($input: LinkRelativeInput!) { linkRelative(citizenId: "${id}", input: $input) { events { eventId } } }`,
        { input: { relativeId: CPR_DIGITS, relation: 'cousin', custody: false } },
      );
      expectNothingEchoed(relative);
      expect(relative.json.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'input.relativeId',
        problems: [
          { field: 'input.relativeId', message: 'must be pseudonymous, not shaped like a CPR number' },
          { field: 'input.relation', message: expect.stringContaining('parent') },
        ],
      });

      const registered = await refusedWithoutStoring(
        `mutation ($input: RegisterCitizenInput!) { registerCitizen(citizenId: "${citizenId('new')}", input: $input) { events { eventId } } }`,
        { input: { birthDate: CPR_DIGITS, municipality: '751', disability: false } },
      );
      expect(inputError(registered, 'input.birthDate').message).toBe('Invalid input.birthDate: must be a date YYYY-MM-DD');
    });

    it('refuses a DateTime without an offset, naming the argument', async () => {
      const literal = await h.gql(`{ citizen(id: "${id}", asOf: "2025-03-01T10:00:00") { id } }`);
      expect(inputError(literal, 'asOf').message).toBe('Invalid asOf: must be an ISO 8601 date-time with an offset, e.g. 2025-03-01T09:30:00+01:00');
      // The validation result is cached per document: the second answer must be just as clean.
      expect((await h.gql(`{ citizen(id: "${id}", asOf: "2025-03-01T10:00:00") { id } }`).then((r) => inputError(r, 'asOf'))).message).toBe(
        inputError(literal, 'asOf').message,
      );

      inputError(await h.gql('query ($when: DateTime) { handovers(asOf: $when) { totalCount } }', { when: '2025-03-01 10:00' }), 'asOf');
      inputError(await h.gql('query ($when: DateTime) { handovers(asOf: $when) { totalCount } }', { when: CPR_DIGITS }), 'asOf');
      inputError(await h.gql(`{ handovers(asOf: ${CPR_DIGITS.replace(/^0/, '1')}) { totalCount } }`), 'asOf');

      const command = await refusedWithoutStoring(OPEN_CASE, { citizenId: id, input: { caseId: 'k9', unitId: CHILD }, occurredAt: '2025-03-01T10:00:00' });
      inputError(command, 'occurredAt');
    });

    it('refuses page sizes above 500 and malformed cursors', async () => {
      expect(inputError(await h.gql('{ handovers(first: 501) { totalCount } }'), 'first').message).toBe('Invalid first: must be at most 500; page with after instead');
      inputError(await h.gql('{ handovers(first: -1) { totalCount } }'), 'first');
      expect((await h.gql('{ handovers(first: 500) { totalCount } }')).json.errors).toBeUndefined();

      for (const after of ['garbage', CPR_DIGITS, Buffer.from('handover:v1:x:1').toString('base64url'), '', 'aGFuZG92ZXI6djE6MDox=']) {
        const response = await h.gql('query ($after: String) { handovers(after: $after) { totalCount } }', { after });
        expect(inputError(response, 'after').message).toBe('Invalid after: is not a cursor of this connection; pass an endCursor from a previous page');
      }
      const { json } = await h.gql('{ handovers(first: 1, asOf: "2025-01-01T00:00:00Z") { pageInfo { endCursor } } }');
      const cursor = (json.data?.handovers as { pageInfo: { endCursor: string } }).pageInfo.endCursor;
      inputError(await h.gql('query ($after: String) { handovers(after: $after, asOf: "2025-02-01T00:00:00Z") { totalCount } }', { after: cursor }), 'after');
    });

    it('does not echo what a syntax error stumbled on', async () => {
      for (const query of [`{ citizen(id: "x") { id } "${CPR}" }`, `{ handovers(asOf: ${CPR_DIGITS}) { totalCount } }`, `{ citizen(id: "x") ${CPR_DIGITS} }`]) {
        const response = await h.gql(query);
        expectNothingEchoed(response);
        expect(response.json.errors?.[0]?.message).toMatch(/^Syntax Error: /);
      }
      expect((await h.gql(`{ citizen(id: "x") { id } "${CPR}" }`)).json.errors?.[0]?.message).toBe('Syntax Error: Expected Name, found String.');
    });

    it('refuses an unknown unit as a filter', async () => {
      inputError(await h.gql('{ handovers(unitId: "no-such-unit") { totalCount } }'), 'unitId');
      inputError(await h.gql('subscription { eventRecorded(unitId: "no-such-unit") { eventId } }'), 'unitId');
    });

    it('does not echo values graphql-js itself refuses (wrong types, enum values)', async () => {
      const int = await h.gql('query ($first: Int) { handovers(first: $first) { totalCount } }', { first: CPR_DIGITS });
      expect(inputError(int, 'first').message).toBe('Invalid first: Int cannot represent non-integer value');
      inputError(await h.gql(`{ handovers(first: "${CPR}") { totalCount } }`), 'first');

      const status = await h.gql('query ($s: HandoverStatus) { handovers(status: $s) { totalCount } }', { s: `X${CPR_DIGITS}` });
      expect(inputError(status, 'status').message).toBe('Invalid status: must be a value of enum HandoverStatus');
      inputError(await h.gql(`{ handovers(status: X${CPR_DIGITS}) { totalCount } }`), 'status');

      const nested = await refusedWithoutStoring(
        `mutation ($input: RegisterCitizenInput!) { registerCitizen(citizenId: "${citizenId('new')}", input: $input) { events { eventId } } }`,
        { input: { birthDate: '2007-01-01', municipality: '0751', disability: CPR } },
      );
      expect(inputError(nested, 'input.disability').message).toBe('Invalid input.disability: Boolean cannot represent a non boolean value');

      const missing = await refusedWithoutStoring(OPEN_CASE, { citizenId: id, input: { unitId: CHILD } });
      expect(inputError(missing, 'input').message).toBe('Invalid input: Field "caseId" of required type "ID!" was not provided.');
    });
  });

  describe('unexpected errors', () => {
    let failing: Harness;
    const previousNodeEnv = process.env.NODE_ENV;
    beforeAll(async () => {
      // Even in development mode nothing of the original error reaches the client.
      process.env.NODE_ENV = 'development';
      failing = await startHarness({
        queries: (queries) => ({
          ...queries,
          citizen: queries.citizen.bind(queries),
          timeline: async () => {
            throw new Error(`SQLITE_IOERR: disk I/O error reading /var/lib/tracker near ${CPR_DIGITS}`);
          },
        }),
      });
      await failing.append([fact(id, 'CitizenRegistered', '2020-01-01T09:00:00+01:00', { birthDate: '2007-01-01', municipality: '0751', disability: false })]);
    });
    afterAll(async () => {
      process.env.NODE_ENV = previousNodeEnv;
      await failing.close();
    });
    afterEach(() => {
      process.env.NODE_ENV = previousNodeEnv;
    });

    it('are masked as "Unexpected error." and logged, never shown', async () => {
      process.env.NODE_ENV = 'development';
      const response = await failing.gql(`{ citizen(id: "${id}") { id timeline { type } } }`);
      expectNothingEchoed(response);
      expect(response.body).not.toContain('SQLITE');
      expect(response.body).not.toContain('/var/lib');
      expect(response.json).toEqual({
        data: { citizen: null },
        errors: [{ message: 'Unexpected error.', locations: [{ line: 1, column: 38 }], path: ['citizen', 'timeline'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
      });
      const logs = failing.logs.join('');
      expect(logs).toContain('disk I/O error');
      expect(logs).not.toContain(CPR_DIGITS);
    });
  });
});

describe('GraphQL in production and in development', () => {
  const INTROSPECTION = '{ __schema { queryType { name } } }';
  let production: Harness;
  let development: Harness;
  beforeAll(async () => {
    [production, development] = await Promise.all([startHarness({ production: true }), startHarness({ production: false })]);
  });
  afterAll(async () => Promise.all([production.close(), development.close()]));

  const graphiql = (h: Harness) => h.app.inject({ method: 'GET', url: '/graphql', headers: { accept: 'text/html' } });

  it('serves GraphiQL and introspection only outside production', async () => {
    const page = await graphiql(development);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toMatch(/graphiql/i);
    expect((await development.gql(INTROSPECTION)).json).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });

    const none = await graphiql(production);
    expect(String(none.headers['content-type'])).not.toMatch(/text\/html/);
    expect(none.body).not.toMatch(/graphiql/i);
    for (const query of [INTROSPECTION, '{ __type(name: "Citizen") { name } }']) {
      const refused = await production.gql(query);
      expect(refused.json.data).toBeUndefined();
      expect(refused.json.errors?.[0]?.extensions).toMatchObject({ code: 'INTROSPECTION_DISABLED' });
    }
    expect((await production.gql('{ __typename }')).json).toEqual({ data: { __typename: 'Query' } });
  });

  it('drops "Did you mean" suggestions in production only', async () => {
    expect((await development.gql('{ unit { id } }')).json.errors?.[0]?.message).toMatch(/Did you mean "units"\?/);
    expect((await production.gql('{ unit { id } }')).json.errors?.[0]?.message).toBe('Cannot query field "unit" on type "Query".');
  });

  it('answers queries over GET and refuses mutations over GET', async () => {
    const get = await production.app.inject({ method: 'GET', url: `/graphql?query=${encodeURIComponent('{ units { id } }')}`, headers: { accept: 'application/json' } });
    expect(get.statusCode).toBe(200);
    expect((JSON.parse(get.body) as { data: { units: unknown[] } }).data.units.length).toBeGreaterThan(0);

    const mutation = `mutation { answerContact(citizenId: "c-1", input: { contactId: "x" }) { events { eventId } } }`;
    const refused = await production.app.inject({ method: 'GET', url: `/graphql?query=${encodeURIComponent(mutation)}`, headers: { accept: 'application/json' } });
    expect(refused.statusCode).toBe(405);
    expect(await production.store.headPosition()).toBe(0);
  });
});
