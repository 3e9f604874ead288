/** One line per timeline entry, for a coordinator scanning a citizen's history. No personal data. */
import type { TransitionEvent, UnitDirectory } from '@tracker/domain';

const unitName = (units: UnitDirectory, id: string): string => units.get(id)?.name ?? id;

export function summarize(event: TransitionEvent, units: UnitDirectory): string {
  const u = (id: string) => unitName(units, id);
  switch (event.type) {
    case 'CitizenRegistered':
      return `Registered in kommune ${event.data.municipality}${event.data.disability ? ' (significant, lasting disability)' : ''}`;
    case 'RelativeLinked':
      return `Relative ${event.data.relativeId} linked as ${event.data.relation}${event.data.custody ? ' with custody' : ''}`;
    case 'RepresentationGranted':
      return `Relative ${event.data.relativeId} may represent the citizen (${event.data.basis})`;
    case 'NotificationReceived':
      return `Notification of concern from a${event.data.notifier === 'anonymous' ? 'n anonymous' : ` ${event.data.notifier}`} notifier received by ${u(event.data.unitId)}`;
    case 'NotificationAssessed':
      return `Notification ${event.data.notificationId} assessed${event.data.urgent ? ' as urgent' : ''}`;
    case 'NotificationAcknowledged':
      return `Receipt sent to the notifier of ${event.data.notificationId}`;
    case 'ContactReceived':
      return `Contact from ${event.data.from === 'relative' ? `relative ${event.data.relativeId ?? ''}`.trim() : `the ${event.data.from}`} received by ${u(event.data.unitId)}${event.data.channel ? ` (${event.data.channel})` : ''}`;
    case 'ContactAnswered':
      return `Contact ${event.data.contactId} answered`;
    case 'CaseOpened':
      return `Case ${event.data.caseId} opened at ${u(event.data.unitId)}${event.data.legalBasis ? ` under ${event.data.legalBasis}` : ''}`;
    case 'CaseClosed':
      return `Case ${event.data.caseId} closed${event.data.reason ? ` (${event.data.reason})` : ''}`;
    case 'HandoverInitiated':
      return `Handover ${event.data.handoverId} (${event.data.kind}) initiated from ${u(event.data.fromUnitId)} to ${u(event.data.toUnitId)}`;
    case 'HandoverAccepted':
      return `Handover ${event.data.handoverId} accepted`;
    case 'HandoverRejected':
      return `Handover ${event.data.handoverId} rejected: ${event.data.reason}`;
    case 'HandoverCompleted':
      return `Handover ${event.data.handoverId} completed: the receiving unit has taken over`;
    case 'HandoverCancelled':
      return `Handover ${event.data.handoverId} cancelled`;
    case 'InvestigationStarted':
      return `Child welfare investigation ${event.data.investigationId} started at ${u(event.data.unitId)}`;
    case 'InvestigationCompleted':
      return `Investigation ${event.data.investigationId} completed`;
    case 'MeetingHeld':
      return `${event.data.kind[0]!.toUpperCase()}${event.data.kind.slice(1)} meeting with ${event.data.unitIds.map(u).join(', ')}; citizen ${event.data.citizenParticipated ? 'took part' : 'did not take part'}, relatives ${event.data.relativesParticipated ? 'took part' : 'did not take part'}`;
    case 'DecisionMade':
      return `Decision on ${event.data.subject} at ${u(event.data.unitId)}: ${event.data.outcome}`;
    case 'InterventionStarted':
      return `Intervention ${event.data.code}${event.data.step ? ` (step ${event.data.step})` : ''} started at ${u(event.data.unitId)}`;
    case 'InterventionEnded':
      return `Intervention ${event.data.interventionId} ended${event.data.reason ? ` (${event.data.reason})` : ''}`;
    case 'PlanCreated':
      return `Plan (${event.data.kind}) created at ${u(event.data.unitId)}`;
    case 'CitizenMoved':
      return `Moved from kommune ${event.data.fromMunicipality} to ${event.data.toMunicipality}`;
  }
}

/** The unit a timeline entry belongs to, when the event names one. */
export function primaryUnitOf(event: TransitionEvent): string | null {
  switch (event.type) {
    case 'HandoverInitiated':
      return event.data.fromUnitId;
    case 'MeetingHeld':
      return event.data.unitIds[0] ?? null;
    default:
      return 'unitId' in event.data && typeof event.data.unitId === 'string' ? event.data.unitId : null;
  }
}
