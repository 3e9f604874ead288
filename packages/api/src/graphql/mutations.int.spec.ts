import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADULT, CHILD, NOW, YOUTH, citizenId, startHarness, type Harness } from './testing/harness.ts';

const PAYLOAD = `
  events { eventId type occurredAt recordedAt unitId summary }
  citizen {
    id birthDate
    timeline { type }
    responsibilities { caseId unitId closedAt }
    handovers { id status resolvedAt }
  }`;

/** One mutation of the coordinator commands, called with variables. */
const mutation = (name: string, inputType: string) => `
  mutation ($citizenId: ID!, $input: ${inputType}!, $occurredAt: DateTime) {
    result: ${name}(citizenId: $citizenId, input: $input, occurredAt: $occurredAt) { __typename ${PAYLOAD} }
  }`;

interface Payload {
  __typename: string;
  events: { eventId: string; type: string; occurredAt: string; recordedAt: string; unitId: string | null; summary: string }[];
  citizen: {
    id: string;
    birthDate: string | null;
    timeline: { type: string }[];
    responsibilities: { caseId: string; unitId: string; closedAt: string | null }[];
    handovers: { id: string; status: string; resolvedAt: string | null }[];
  } | null;
}

describe('GraphQL mutations (coordinator commands)', () => {
  let h: Harness;
  let id: string;
  beforeEach(async () => {
    h = await startHarness();
    id = citizenId('cmd');
  });
  afterEach(async () => h.close());

  const run = async (name: string, input: Record<string, unknown>, occurredAt?: string) => {
    const inputType = `${name[0]!.toUpperCase()}${name.slice(1)}Input`;
    const response = await h.gql(mutation(name, inputType), { citizenId: id, input, ...(occurredAt ? { occurredAt } : {}) });
    return { ...response, payload: response.json.data?.result as Payload | null };
  };
  const ok = async (name: string, input: Record<string, unknown>, occurredAt?: string) => {
    const { json, payload } = await run(name, input, occurredAt);
    expect(json.errors, `${name}: ${JSON.stringify(json.errors)}`).toBeUndefined();
    expect(payload?.__typename).toBe(`${name[0]!.toUpperCase()}${name.slice(1)}Payload`);
    return payload!;
  };

  it('records each command and answers the citizen including its own write', async () => {
    const registered = await ok('registerCitizen', { birthDate: '2007-01-01', municipality: '0751', disability: true }, '2025-01-06T09:00:00+01:00');
    expect(registered.events).toEqual([
      expect.objectContaining({ type: 'CitizenRegistered', occurredAt: '2025-01-06T09:00:00+01:00', unitId: null, summary: 'Registered in kommune 0751 (significant, lasting disability)' }),
    ]);
    expect(registered.events[0]?.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(registered.citizen).toMatchObject({ id, birthDate: '2007-01-01', timeline: [{ type: 'CitizenRegistered' }] });

    // Without occurredAt a command happens at the clock's now.
    const opened = await ok('openCase', { caseId: 'k1', unitId: YOUTH, legalBasis: 'Barnets Lov § 32' });
    expect(opened.events[0]).toMatchObject({ type: 'CaseOpened', unitId: YOUTH, occurredAt: new Date(NOW).toISOString() });
    expect(opened.citizen?.responsibilities).toEqual([{ caseId: 'k1', unitId: YOUTH, closedAt: null }]);

    const initiated = await ok('initiateHandover', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age', reason: 'turns 18' });
    expect(initiated.events[0]).toMatchObject({ type: 'HandoverInitiated', unitId: YOUTH });
    expect(initiated.citizen?.handovers).toEqual([{ id: 'h1', status: 'PENDING', resolvedAt: null }]);

    h.clock.advance(60_000);
    const accepted = await ok('acceptHandover', { handoverId: 'h1' });
    expect(accepted.citizen?.handovers[0]).toMatchObject({ status: 'ACCEPTED', resolvedAt: accepted.events[0]?.occurredAt });

    h.clock.advance(60_000);
    const completed = await ok('completeHandover', { handoverId: 'h1' });
    expect(completed.citizen?.handovers[0]?.status).toBe('COMPLETED');

    const closed = await ok('closeCase', { caseId: 'k1', reason: 'handover' });
    expect(closed.citizen?.responsibilities[0]?.closedAt).toBe(closed.events[0]?.occurredAt);

    await ok('openCase', { caseId: 'k2', unitId: ADULT });
    h.clock.advance(60_000);
    await ok('initiateHandover', { handoverId: 'h2', fromUnitId: ADULT, toUnitId: CHILD, kind: 'referral' });
    h.clock.advance(60_000);
    const rejected = await ok('rejectHandover', { handoverId: 'h2', reason: 'not our target group' });
    expect(rejected.events[0]?.summary).toBe('Handover h2 rejected: not our target group');
    expect(rejected.citizen?.handovers.find((x) => x.id === 'h2')?.status).toBe('REJECTED');

    h.clock.advance(60_000);
    await ok('initiateHandover', { handoverId: 'h3', fromUnitId: ADULT, toUnitId: YOUTH, kind: 'other' });
    h.clock.advance(60_000);
    const cancelled = await ok('cancelHandover', { handoverId: 'h3' });
    expect(cancelled.citizen?.handovers.find((x) => x.id === 'h3')?.status).toBe('CANCELLED');

    const linked = await ok('linkRelative', { relativeId: 'r-1', relation: 'parent', custody: true });
    expect(linked.events[0]).toMatchObject({ type: 'RelativeLinked', summary: 'Relative r-1 linked as parent with custody' });
    const contact = await ok('receiveContact', { contactId: 'ct-1', unitId: ADULT, from: 'relative', relativeId: 'r-1', channel: 'phone' });
    expect(contact.events[0]).toMatchObject({ type: 'ContactReceived', unitId: ADULT });
    const answered = await ok('answerContact', { contactId: 'ct-1' });
    expect(answered.events[0]?.type).toBe('ContactAnswered');
    const granted = await ok('grantRepresentation', { relativeId: 'r-1', basis: 'fuldmagt' });
    expect(granted.events[0]).toMatchObject({ type: 'RepresentationGranted', summary: 'Relative r-1 may represent the citizen (fuldmagt)' });

    expect(granted.citizen?.timeline).toHaveLength(15);
    const stored = await h.store.readStream(id);
    expect(stored.map((e) => e.type)).toEqual([
      'CitizenRegistered', 'CaseOpened', 'HandoverInitiated', 'HandoverAccepted', 'HandoverCompleted', 'CaseClosed',
      'CaseOpened', 'HandoverInitiated', 'HandoverRejected', 'HandoverInitiated', 'HandoverCancelled',
      'RelativeLinked', 'ContactReceived', 'ContactAnswered', 'RepresentationGranted',
    ]);
    expect(stored[0]).toMatchObject({ source: 'coordinator-ui', data: { birthDate: '2007-01-01', municipality: '0751', disability: true } });
  });

  it('accepts input as literals too', async () => {
    const { json } = await h.gql(`mutation {
      linkRelative(citizenId: "${id}", input: { relativeId: "r-9", relation: "guardian", custody: false }, occurredAt: "2025-02-01T12:00:00Z") {
        events { type occurredAt }
        citizen { id }
      }
    }`);
    expect(json).toEqual({ data: { linkRelative: { events: [{ type: 'RelativeLinked', occurredAt: '2025-02-01T12:00:00Z' }], citizen: { id } } } });
  });

  describe('refused commands', () => {
    const refused = async (name: string, input: Record<string, unknown>) => {
      const before = await h.store.headPosition();
      const { json, payload } = await run(name, input);
      expect(payload).toBeNull();
      expect(await h.store.headPosition()).toBe(before);
      expect(json.errors).toHaveLength(1);
      return json.errors![0]!;
    };

    it('refuses accepting a handover that was never initiated, storing nothing', async () => {
      await ok('registerCitizen', { birthDate: '2007-01-01', municipality: '0751', disability: false });
      const error = await refused('acceptHandover', { handoverId: 'h-never' });
      expect(error).toMatchObject({
        message: "Command refused: cannot accept handover 'h-never': it was never initiated",
        path: ['result'],
        extensions: { code: 'COMMAND_REFUSED', refusal: 'HANDOVER_NOT_FOUND', reason: "cannot accept handover 'h-never': it was never initiated" },
      });
    });

    it('refuses every other command by the citizen\'s state too', async () => {
      const refusal = async (name: string, input: Record<string, unknown>) => {
        const error = await refused(name, input);
        expect(error.extensions?.code).toBe('COMMAND_REFUSED');
        expect(error.message).toBe(`Command refused: ${String(error.extensions?.reason)}`);
        return error.extensions?.refusal;
      };
      await ok('registerCitizen', { birthDate: '2007-01-01', municipality: '0751', disability: false });
      expect(await refusal('registerCitizen', { birthDate: '2007-01-01', municipality: '0751', disability: false })).toBe('ALREADY_REGISTERED');
      expect(await refusal('closeCase', { caseId: 'k-none' })).toBe('CASE_NOT_OPEN');
      expect(await refusal('initiateHandover', { handoverId: 'h1', fromUnitId: CHILD, toUnitId: YOUTH, kind: 'age' })).toBe('NOT_RESPONSIBLE');
      expect(await refusal('rejectHandover', { handoverId: 'h-none', reason: 'no' })).toBe('HANDOVER_NOT_FOUND');
      expect(await refusal('cancelHandover', { handoverId: 'h-none' })).toBe('HANDOVER_NOT_FOUND');
      expect(await refusal('answerContact', { contactId: 'ct-none' })).toBe('CONTACT_NOT_FOUND');
      expect(await refusal('receiveContact', { contactId: 'ct-1', unitId: CHILD, from: 'relative' })).toBe('RELATIVE_REQUIRED');
      expect(await refusal('grantRepresentation', { relativeId: 'r-none', basis: 'samtykke' })).toBe('RELATIVE_NOT_LINKED');

      await ok('openCase', { caseId: 'k1', unitId: CHILD });
      expect(await refusal('openCase', { caseId: 'k1', unitId: YOUTH })).toBe('CASE_EXISTS');
      await ok('initiateHandover', { handoverId: 'h1', fromUnitId: CHILD, toUnitId: YOUTH, kind: 'age' });
      expect(await refusal('completeHandover', { handoverId: 'h1' })).toBe('HANDOVER_NOT_ACCEPTED');
      await ok('acceptHandover', { handoverId: 'h1' });
      expect(await refusal('acceptHandover', { handoverId: 'h1' })).toBe('HANDOVER_NOT_PENDING');
      await ok('completeHandover', { handoverId: 'h1' });
      expect(await refusal('cancelHandover', { handoverId: 'h1' })).toBe('HANDOVER_NOT_PENDING_OR_ACCEPTED');
      await ok('linkRelative', { relativeId: 'r-1', relation: 'sibling', custody: false });
      expect(await refusal('linkRelative', { relativeId: 'r-1', relation: 'sibling', custody: false })).toBe('RELATIVE_LINKED');
    });
  });
});
