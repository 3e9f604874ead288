import { describe, expect, it } from 'vitest';
import { CommandRefusedError, decide, evolve, initialCitizenState, type CitizenCommand, type DecidedEvent } from './citizenDecider.ts';

const given = (...events: DecidedEvent[]) => events.reduce(evolve, initialCitizenState());
const opened = (caseId: string, unitId: string): DecidedEvent => ({ type: 'CaseOpened', data: { caseId, unitId } });
const initiated = (handoverId: string, fromUnitId = 'youth', toUnitId = 'adult'): DecidedEvent => ({
  type: 'HandoverInitiated',
  data: { handoverId, fromUnitId, toUnitId, kind: 'age' },
});
const refusal = (command: CitizenCommand, state = initialCitizenState()) => {
  try {
    decide(command, state);
  } catch (error) {
    expect(error).toBeInstanceOf(CommandRefusedError);
    return (error as CommandRefusedError).code;
  }
  throw new Error('expected a refusal');
};

describe('citizen decider', () => {
  it('opens and closes a case once', () => {
    const state = given(opened('k1', 'youth'));
    expect(decide({ type: 'CloseCase', data: { caseId: 'k1' } }, state)).toEqual([{ type: 'CaseClosed', data: { caseId: 'k1' } }]);
    expect(refusal({ type: 'OpenCase', data: { caseId: 'k1', unitId: 'youth' } }, state)).toBe('CASE_EXISTS');
    expect(refusal({ type: 'CloseCase', data: { caseId: 'k2' } }, state)).toBe('CASE_NOT_OPEN');
    expect(refusal({ type: 'CloseCase', data: { caseId: 'k1' } }, given(opened('k1', 'youth'), { type: 'CaseClosed', data: { caseId: 'k1' } }))).toBe('CASE_NOT_OPEN');
  });

  it('initiates a handover only from a responsible unit to another unit', () => {
    const state = given(opened('k1', 'youth'));
    expect(decide({ type: 'InitiateHandover', data: initiated('h1').data as never }, state)).toHaveLength(1);
    expect(refusal({ type: 'InitiateHandover', data: initiated('h1', 'child').data as never }, state)).toBe('NOT_RESPONSIBLE');
    expect(refusal({ type: 'InitiateHandover', data: initiated('h1', 'youth', 'youth').data as never }, state)).toBe('SAME_UNIT');
    expect(refusal({ type: 'InitiateHandover', data: initiated('h1').data as never }, given(opened('k1', 'youth'), initiated('h1')))).toBe('HANDOVER_EXISTS');
    expect(refusal({ type: 'InitiateHandover', data: initiated('h2').data as never }, given(opened('k1', 'youth'), initiated('h1')))).toBe('HANDOVER_PENDING');
  });

  it('walks a handover through its states and refuses impossible transitions', () => {
    const pending = given(opened('k1', 'youth'), initiated('h1'));
    expect(refusal({ type: 'AcceptHandover', data: { handoverId: 'h9' } }, pending)).toBe('HANDOVER_NOT_FOUND');
    expect(refusal({ type: 'CompleteHandover', data: { handoverId: 'h1' } }, pending)).toBe('HANDOVER_NOT_ACCEPTED');
    const accepted = evolve(pending, { type: 'HandoverAccepted', data: { handoverId: 'h1' } });
    expect(refusal({ type: 'RejectHandover', data: { handoverId: 'h1', reason: 'x' } }, accepted)).toBe('HANDOVER_NOT_PENDING');
    expect(decide({ type: 'CompleteHandover', data: { handoverId: 'h1' } }, accepted)).toEqual([{ type: 'HandoverCompleted', data: { handoverId: 'h1' } }]);
    expect(decide({ type: 'CancelHandover', data: { handoverId: 'h1' } }, accepted)).toHaveLength(1);
    const rejected = evolve(pending, { type: 'HandoverRejected', data: { handoverId: 'h1', reason: 'x' } });
    expect(refusal({ type: 'CancelHandover', data: { handoverId: 'h1' } }, rejected)).toBe('HANDOVER_NOT_PENDING_OR_ACCEPTED');
  });

  it('answers a contact once, and only one that was received', () => {
    expect(refusal({ type: 'AnswerContact', data: { contactId: 'x' } })).toBe('CONTACT_NOT_FOUND');
    const state = given({ type: 'ContactReceived', data: { contactId: 'x', unitId: 'u', from: 'citizen' } });
    expect(decide({ type: 'AnswerContact', data: { contactId: 'x' } }, state)).toHaveLength(1);
    expect(refusal({ type: 'AnswerContact', data: { contactId: 'x' } }, evolve(state, { type: 'ContactAnswered', data: { contactId: 'x' } }))).toBe('CONTACT_ANSWERED');
  });

  it('requires a linked relative for relative contacts and representation', () => {
    expect(refusal({ type: 'ReceiveContact', data: { contactId: 'x', unitId: 'u', from: 'relative' } })).toBe('RELATIVE_REQUIRED');
    expect(refusal({ type: 'ReceiveContact', data: { contactId: 'x', unitId: 'u', from: 'relative', relativeId: 'r1' } })).toBe('RELATIVE_NOT_LINKED');
    expect(refusal({ type: 'GrantRepresentation', data: { relativeId: 'r1', basis: 'fuldmagt' } })).toBe('RELATIVE_NOT_LINKED');
    const linked = given({ type: 'RelativeLinked', data: { relativeId: 'r1', relation: 'parent', custody: true } });
    expect(decide({ type: 'GrantRepresentation', data: { relativeId: 'r1', basis: 'fuldmagt' } }, linked)).toHaveLength(1);
    expect(refusal({ type: 'LinkRelative', data: { relativeId: 'r1', relation: 'parent', custody: true } }, linked)).toBe('RELATIVE_LINKED');
  });

  it('registers a citizen once and tolerates contradicting facts in evolve', () => {
    const registered = given({ type: 'CitizenRegistered', data: { birthDate: '2008-01-01', municipality: '0751', disability: false } });
    expect(refusal({ type: 'RegisterCitizen', data: { birthDate: '2008-01-01', municipality: '0751', disability: false } }, registered)).toBe('ALREADY_REGISTERED');
    expect(evolve(registered, { type: 'HandoverAccepted', data: { handoverId: 'never' } })).toBe(registered);
  });
});
