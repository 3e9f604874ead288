/**
 * The order in which a citizen's facts are replayed for gaps and anomalies: by occurredAt; facts at
 * the same instant cause before effect (a handover is initiated before it is answered, a case opens
 * before another closes, a contact is received before it is answered); then in the given order (the
 * store's global position). Source systems often stamp a cause and its effect with the same minute,
 * and a caseworker reads them as cause then effect whatever order they arrived in.
 */
import type { EventType, TransitionEvent } from '../events/catalog.ts';
import { instantMs } from '../time/clock.ts';

const SAME_INSTANT_RANK: Readonly<Record<EventType, number>> = {
  CitizenRegistered: 0,
  RelativeLinked: 1,
  RepresentationGranted: 2,
  NotificationReceived: 3,
  ContactReceived: 3,
  HandoverInitiated: 3,
  InvestigationStarted: 3,
  InterventionStarted: 3,
  MeetingHeld: 3,
  DecisionMade: 3,
  PlanCreated: 3,
  CitizenMoved: 3,
  NotificationAssessed: 4,
  NotificationAcknowledged: 4,
  ContactAnswered: 4,
  HandoverAccepted: 4,
  HandoverRejected: 4,
  HandoverCancelled: 4,
  // After the acceptance it confirms.
  HandoverCompleted: 5,
  // After answers, so a case opened at the instant of a rejection ends the rejection gap; before
  // closings, so a case opened at the instant another closes leaves the citizen covered.
  CaseOpened: 6,
  CaseClosed: 7,
  InvestigationCompleted: 7,
  InterventionEnded: 7,
};

export interface PlacedEvent<E extends TransitionEvent = TransitionEvent> {
  event: E;
  ms: number;
}

/** The history in replay order (see above); stable for facts of equal instant and rank. */
export function inWorldOrder<E extends TransitionEvent>(history: readonly E[]): PlacedEvent<E>[] {
  const placed = history.map((event, index) => ({ event, ms: instantMs(event.occurredAt), rank: SAME_INSTANT_RANK[event.type] ?? 3, index }));
  placed.sort((a, b) => a.ms - b.ms || a.rank - b.rank || a.index - b.index);
  return placed.map(({ event, ms }) => ({ event, ms }));
}
