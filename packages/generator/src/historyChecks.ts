/**
 * Internal-consistency rules of one citizen's history, for the generator's tests: every answer follows
 * its question, nothing is closed twice or before it was opened. The generator's anomalies
 * (acceptance with no initiation, closing an unopened case, a second initiation) break exactly these.
 */
import type { HandoverStatus, TransitionEvent } from '@tracker/domain';

export interface Contradiction {
  eventId: string;
  type: TransitionEvent['type'];
  problem: string;
}

/** The contradictions in one citizen's history, given in occurredAt order. */
export function contradictionsIn(events: readonly TransitionEvent[]): Contradiction[] {
  const found: Contradiction[] = [];
  const flag = (e: TransitionEvent, problem: string): void => {
    found.push({ eventId: e.id, type: e.type, problem });
  };
  const relatives = new Set<string>();
  const notifications = new Map<string, { assessed: boolean; acknowledged: boolean }>();
  const contacts = new Map<string, boolean>();
  const cases = new Map<string, 'open' | 'closed'>();
  const handovers = new Map<string, HandoverStatus>();
  const investigations = new Map<string, boolean>();
  const interventions = new Map<string, boolean>();
  const ids = new Set<string>();
  let registered = false;
  let last = Number.NEGATIVE_INFINITY;
  const citizenId = events[0]?.citizenId;

  for (const e of events) {
    const at = Date.parse(e.occurredAt);
    if (at < last) flag(e, 'occurs before the previous event');
    last = at;
    if (e.citizenId !== citizenId) flag(e, 'belongs to another citizen');
    if (ids.has(e.id)) flag(e, 'repeats an event id');
    ids.add(e.id);
    if (!registered && e.type !== 'CitizenRegistered') flag(e, 'comes before CitizenRegistered');
    switch (e.type) {
      case 'CitizenRegistered':
        if (registered) flag(e, 'registers the citizen again');
        registered = true;
        break;
      case 'RelativeLinked':
        if (relatives.has(e.data.relativeId)) flag(e, 'links a relative twice');
        relatives.add(e.data.relativeId);
        break;
      case 'RepresentationGranted':
        if (!relatives.has(e.data.relativeId)) flag(e, 'names a relative not linked');
        break;
      case 'NotificationReceived':
        if (notifications.has(e.data.notificationId)) flag(e, 'receives a notification twice');
        notifications.set(e.data.notificationId, { assessed: false, acknowledged: false });
        break;
      case 'NotificationAssessed':
      case 'NotificationAcknowledged': {
        const n = notifications.get(e.data.notificationId);
        const key = e.type === 'NotificationAssessed' ? 'assessed' : 'acknowledged';
        if (!n) flag(e, 'answers a notification never received');
        else if (n[key]) flag(e, `a notification ${key} twice`);
        else n[key] = true;
        break;
      }
      case 'ContactReceived':
        if (contacts.has(e.data.contactId)) flag(e, 'receives a contact twice');
        if (e.data.from === 'relative' && (!e.data.relativeId || !relatives.has(e.data.relativeId))) flag(e, 'is from a relative not linked');
        contacts.set(e.data.contactId, false);
        break;
      case 'ContactAnswered':
        if (contacts.get(e.data.contactId) !== false) flag(e, 'answers a contact not received or already answered');
        contacts.set(e.data.contactId, true);
        break;
      case 'CaseOpened':
        if (cases.has(e.data.caseId)) flag(e, 'opens a case twice');
        cases.set(e.data.caseId, 'open');
        break;
      case 'CaseClosed':
        if (cases.get(e.data.caseId) !== 'open') flag(e, 'closes a case not open');
        cases.set(e.data.caseId, 'closed');
        break;
      case 'HandoverInitiated':
        if (handovers.has(e.data.handoverId)) flag(e, 'initiates a handover twice');
        else handovers.set(e.data.handoverId, 'PENDING');
        break;
      case 'HandoverAccepted':
      case 'HandoverRejected':
      case 'HandoverCancelled': {
        const status = handovers.get(e.data.handoverId);
        if (status !== 'PENDING') flag(e, status ? `answers a handover that is ${status}` : 'answers a handover never initiated');
        else handovers.set(e.data.handoverId, e.type === 'HandoverAccepted' ? 'ACCEPTED' : e.type === 'HandoverRejected' ? 'REJECTED' : 'CANCELLED');
        break;
      }
      case 'HandoverCompleted':
        if (handovers.get(e.data.handoverId) !== 'ACCEPTED') flag(e, 'completes a handover not accepted');
        else handovers.set(e.data.handoverId, 'COMPLETED');
        break;
      case 'InvestigationStarted':
        if (investigations.has(e.data.investigationId)) flag(e, 'starts an investigation twice');
        investigations.set(e.data.investigationId, false);
        break;
      case 'InvestigationCompleted':
        if (investigations.get(e.data.investigationId) !== false) flag(e, 'completes an investigation not running');
        investigations.set(e.data.investigationId, true);
        break;
      case 'InterventionStarted':
        if (interventions.has(e.data.interventionId)) flag(e, 'starts an intervention twice');
        interventions.set(e.data.interventionId, false);
        break;
      case 'InterventionEnded':
        if (interventions.get(e.data.interventionId) !== false) flag(e, 'ends an intervention not running');
        interventions.set(e.data.interventionId, true);
        break;
      default:
        break;
    }
  }
  return found;
}

/** Each handover's status after the whole history. */
export function handoverStatuses(events: readonly TransitionEvent[]): Map<string, HandoverStatus> {
  const statuses = new Map<string, HandoverStatus>();
  for (const e of events) {
    if (e.type === 'HandoverInitiated') statuses.set(e.data.handoverId, 'PENDING');
    else if (e.type === 'HandoverAccepted') statuses.set(e.data.handoverId, 'ACCEPTED');
    else if (e.type === 'HandoverRejected') statuses.set(e.data.handoverId, 'REJECTED');
    else if (e.type === 'HandoverCancelled') statuses.set(e.data.handoverId, 'CANCELLED');
    else if (e.type === 'HandoverCompleted') statuses.set(e.data.handoverId, 'COMPLETED');
  }
  return statuses;
}
