/**
 * The citizen decider: coordinator commands are checked against the citizen's current state and
 * either become events or are refused with a reason. Pure functions, Emmett style:
 * `decide(command, state) → events`, `evolve(state, event) → state`.
 *
 * Facts pushed by source systems bypass `decide` (they happened; contradictions become anomalies),
 * so `evolve` tolerates anything the stream may hold.
 */
import type { EventData, EventType, TransitionEvent } from '../events/catalog.ts';

export type HandoverStatus = 'PENDING' | 'ACCEPTED' | 'REJECTED' | 'COMPLETED' | 'CANCELLED';

export interface CitizenState {
  readonly registered: boolean;
  /** caseId → unitId of cases currently open. */
  readonly openCases: ReadonlyMap<string, string>;
  readonly closedCases: ReadonlySet<string>;
  readonly handovers: ReadonlyMap<string, { fromUnitId: string; toUnitId: string; status: HandoverStatus }>;
  readonly contacts: ReadonlyMap<string, { answered: boolean }>;
  readonly relatives: ReadonlyMap<string, { custody: boolean; representation?: string }>;
}

export const initialCitizenState = (): CitizenState => ({
  registered: false,
  openCases: new Map(),
  closedCases: new Set(),
  handovers: new Map(),
  contacts: new Map(),
  relatives: new Map(),
});

const withEntry = <K, V>(map: ReadonlyMap<K, V>, key: K, value: V): ReadonlyMap<K, V> => new Map(map).set(key, value);
const without = <K, V>(map: ReadonlyMap<K, V>, key: K): ReadonlyMap<K, V> => {
  const next = new Map(map);
  next.delete(key);
  return next;
};

const resolution: Partial<Record<EventType, HandoverStatus>> = {
  HandoverAccepted: 'ACCEPTED',
  HandoverRejected: 'REJECTED',
  HandoverCompleted: 'COMPLETED',
  HandoverCancelled: 'CANCELLED',
};

export function evolve(state: CitizenState, event: Pick<TransitionEvent, 'type' | 'data'>): CitizenState {
  const e = event as TransitionEvent;
  switch (e.type) {
    case 'CitizenRegistered':
      return { ...state, registered: true };
    case 'CaseOpened':
      return { ...state, openCases: withEntry(state.openCases, e.data.caseId, e.data.unitId) };
    case 'CaseClosed':
      return { ...state, openCases: without(state.openCases, e.data.caseId), closedCases: new Set(state.closedCases).add(e.data.caseId) };
    case 'HandoverInitiated':
      return {
        ...state,
        handovers: withEntry(state.handovers, e.data.handoverId, { fromUnitId: e.data.fromUnitId, toUnitId: e.data.toUnitId, status: 'PENDING' }),
      };
    case 'HandoverAccepted':
    case 'HandoverRejected':
    case 'HandoverCompleted':
    case 'HandoverCancelled': {
      const handover = state.handovers.get(e.data.handoverId);
      if (!handover) return state; // an anomaly for the read models; nothing to decide on
      return { ...state, handovers: withEntry(state.handovers, e.data.handoverId, { ...handover, status: resolution[e.type]! }) };
    }
    case 'ContactReceived':
      return { ...state, contacts: withEntry(state.contacts, e.data.contactId, { answered: false }) };
    case 'ContactAnswered':
      return { ...state, contacts: withEntry(state.contacts, e.data.contactId, { answered: true }) };
    case 'RelativeLinked':
      return {
        ...state,
        relatives: withEntry(state.relatives, e.data.relativeId, { ...state.relatives.get(e.data.relativeId), custody: e.data.custody }),
      };
    case 'RepresentationGranted': {
      const relative = state.relatives.get(e.data.relativeId) ?? { custody: false };
      return { ...state, relatives: withEntry(state.relatives, e.data.relativeId, { ...relative, representation: e.data.basis }) };
    }
    default:
      return state;
  }
}

/** The coordinator commands. Each names the event it would record. */
export type CitizenCommand =
  | { type: 'RegisterCitizen'; data: EventData<'CitizenRegistered'> }
  | { type: 'OpenCase'; data: EventData<'CaseOpened'> }
  | { type: 'CloseCase'; data: EventData<'CaseClosed'> }
  | { type: 'InitiateHandover'; data: EventData<'HandoverInitiated'> }
  | { type: 'AcceptHandover'; data: EventData<'HandoverAccepted'> }
  | { type: 'RejectHandover'; data: EventData<'HandoverRejected'> }
  | { type: 'CompleteHandover'; data: EventData<'HandoverCompleted'> }
  | { type: 'CancelHandover'; data: EventData<'HandoverCancelled'> }
  | { type: 'ReceiveContact'; data: EventData<'ContactReceived'> }
  | { type: 'AnswerContact'; data: EventData<'ContactAnswered'> }
  | { type: 'LinkRelative'; data: EventData<'RelativeLinked'> }
  | { type: 'GrantRepresentation'; data: EventData<'RepresentationGranted'> };

export type DecidedEvent = { [T in EventType]: { type: T; data: EventData<T> } }[EventType];

/** A command that the citizen's state does not allow; `reason` is safe to show (no personal data). */
export class CommandRefusedError extends Error {
  constructor(
    readonly code: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'CommandRefusedError';
  }
}

const refuse = (code: string, reason: string): never => {
  throw new CommandRefusedError(code, reason);
};

function pendingHandover(state: CitizenState, handoverId: string, action: string, allowed: HandoverStatus[] = ['PENDING']) {
  const handover = state.handovers.get(handoverId) ?? refuse('HANDOVER_NOT_FOUND', `cannot ${action} handover '${handoverId}': it was never initiated`);
  if (!allowed.includes(handover.status)) {
    refuse('HANDOVER_NOT_' + allowed.join('_OR_'), `cannot ${action} handover '${handoverId}': it is ${handover.status}, not ${allowed.join(' or ')}`);
  }
  return handover;
}

export function decide(command: CitizenCommand, state: CitizenState): DecidedEvent[] {
  switch (command.type) {
    case 'RegisterCitizen':
      if (state.registered) refuse('ALREADY_REGISTERED', 'the citizen is already registered');
      return [{ type: 'CitizenRegistered', data: command.data }];
    case 'OpenCase': {
      const { caseId } = command.data;
      if (state.openCases.has(caseId) || state.closedCases.has(caseId)) refuse('CASE_EXISTS', `case '${caseId}' was already opened`);
      return [{ type: 'CaseOpened', data: command.data }];
    }
    case 'CloseCase': {
      const { caseId } = command.data;
      if (!state.openCases.has(caseId)) {
        refuse('CASE_NOT_OPEN', state.closedCases.has(caseId) ? `case '${caseId}' is already closed` : `case '${caseId}' was never opened`);
      }
      return [{ type: 'CaseClosed', data: command.data }];
    }
    case 'InitiateHandover': {
      const { handoverId, fromUnitId, toUnitId } = command.data;
      if (state.handovers.has(handoverId)) refuse('HANDOVER_EXISTS', `handover '${handoverId}' was already initiated`);
      if (fromUnitId === toUnitId) refuse('SAME_UNIT', 'a handover must go to another unit than the one it comes from');
      if (![...state.openCases.values()].includes(fromUnitId)) {
        refuse('NOT_RESPONSIBLE', `unit '${fromUnitId}' has no open case for the citizen, so it cannot hand the citizen over`);
      }
      for (const [id, h] of state.handovers) {
        if (h.status === 'PENDING' && h.fromUnitId === fromUnitId && h.toUnitId === toUnitId) {
          refuse('HANDOVER_PENDING', `handover '${id}' between the same units is still pending`);
        }
      }
      return [{ type: 'HandoverInitiated', data: command.data }];
    }
    case 'AcceptHandover':
      pendingHandover(state, command.data.handoverId, 'accept');
      return [{ type: 'HandoverAccepted', data: command.data }];
    case 'RejectHandover':
      pendingHandover(state, command.data.handoverId, 'reject');
      return [{ type: 'HandoverRejected', data: command.data }];
    case 'CompleteHandover':
      pendingHandover(state, command.data.handoverId, 'complete', ['ACCEPTED']);
      return [{ type: 'HandoverCompleted', data: command.data }];
    case 'CancelHandover':
      pendingHandover(state, command.data.handoverId, 'cancel', ['PENDING', 'ACCEPTED']);
      return [{ type: 'HandoverCancelled', data: command.data }];
    case 'ReceiveContact': {
      const { contactId, from, relativeId } = command.data;
      if (state.contacts.has(contactId)) refuse('CONTACT_EXISTS', `contact '${contactId}' was already received`);
      if (from === 'relative' && !relativeId) refuse('RELATIVE_REQUIRED', 'a contact from a relative must name the relativeId');
      if (relativeId && !state.relatives.has(relativeId)) refuse('RELATIVE_NOT_LINKED', `relative '${relativeId}' is not linked to the citizen`);
      return [{ type: 'ContactReceived', data: command.data }];
    }
    case 'AnswerContact': {
      const contact = state.contacts.get(command.data.contactId);
      if (!contact) refuse('CONTACT_NOT_FOUND', `contact '${command.data.contactId}' was never received`);
      if (contact?.answered) refuse('CONTACT_ANSWERED', `contact '${command.data.contactId}' is already answered`);
      return [{ type: 'ContactAnswered', data: command.data }];
    }
    case 'LinkRelative':
      if (state.relatives.has(command.data.relativeId)) refuse('RELATIVE_LINKED', `relative '${command.data.relativeId}' is already linked`);
      return [{ type: 'RelativeLinked', data: command.data }];
    case 'GrantRepresentation': {
      const relative = state.relatives.get(command.data.relativeId);
      if (!relative) refuse('RELATIVE_NOT_LINKED', `relative '${command.data.relativeId}' is not linked to the citizen`);
      return [{ type: 'RepresentationGranted', data: command.data }];
    }
  }
}

export const citizenDecider = { decide, evolve, initialState: initialCitizenState };
