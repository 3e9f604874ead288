/**
 * Where citizens get lost (domain.md §4): the gap kinds, the anomalies (facts that contradict the
 * stream, domain.md §3) and the relatives' facts, as plain data computed from one citizen's history.
 *
 * A gap is stored as an interval of instants computed from the whole history (start, end, due);
 * `gapAsOf` restricts it to an instant. That is exact because every rule below decides its start and
 * end only from facts that happened at or before them (see docs/gaps.md, "Why asOf is exact").
 */
import type { UnitSector } from '../units/units.ts';

export const GAP_KINDS = [
  'HANDOVER_PENDING',
  'HANDOVER_REJECTED',
  'UNCOVERED',
  'AGE_CLIFF',
  'PING_PONG',
  'RELATIVE_UNANSWERED',
  'REPRESENTATION_LOST',
] as const;
export type GapKind = (typeof GAP_KINDS)[number];

export interface Gap {
  kind: GapKind;
  /** Unique within the citizen, stable across re-derivations: `<kind>:<subjectId>`. */
  key: string;
  /** What the gap is about: the handover, the closed case, the contact or the relative; null for AGE_CLIFF. */
  subjectId: string | null;
  fromUnitId: string | null;
  toUnitId: string | null;
  relativeId: string | null;
  startedMs: number;
  /** null while it has not ended in the known history; a marker (PING_PONG) ends where it starts. */
  endedMs: number | null;
  /** First instant of being late (HANDOVER_PENDING, RELATIVE_UNANSWERED); null where no deadline applies. */
  dueMs: number | null;
}

/** The units a gap belongs to, for "gaps of one unit": every unit it names (from and to). */
export function unitsOfGap(gap: Pick<Gap, 'fromUnitId' | 'toUnitId'>): string[] {
  const units: string[] = [];
  if (gap.fromUnitId !== null) units.push(gap.fromUnitId);
  if (gap.toUnitId !== null && gap.toUnitId !== gap.fromUnitId) units.push(gap.toUnitId);
  return units;
}

export const ANOMALY_KINDS = [
  'CITIZEN_REGISTERED_TWICE',
  'FACTS_BEFORE_REGISTRATION',
  'RELATIVE_NOT_LINKED',
  'NOTIFICATION_NOT_RECEIVED',
  'NOTIFICATION_RECEIVED_TWICE',
  'CONTACT_NOT_RECEIVED',
  'CONTACT_RECEIVED_TWICE',
  'CONTACT_ANSWERED_TWICE',
  'CASE_NOT_OPEN',
  'CASE_OPENED_TWICE',
  'CASE_CLOSED_TWICE',
  'HANDOVER_NOT_INITIATED',
  'HANDOVER_INITIATED_TWICE',
  'HANDOVER_ALREADY_RESOLVED',
  'HANDOVER_COMPLETED_WITHOUT_ACCEPTANCE',
  'INVESTIGATION_NOT_STARTED',
  'INVESTIGATION_STARTED_TWICE',
  'INVESTIGATION_COMPLETED_TWICE',
  'INTERVENTION_NOT_STARTED',
  'INTERVENTION_STARTED_TWICE',
  'INTERVENTION_ENDED_TWICE',
] as const;
/** An anomaly's kind (GraphQL `AnomalyKind`; named apart from the generator's injected `AnomalyKind`). */
export type StreamAnomalyKind = (typeof ANOMALY_KINDS)[number];

/** What each anomaly means, for people; carries no values (ids travel in `subjectId`). */
export const ANOMALY_DESCRIPTIONS: Readonly<Record<StreamAnomalyKind, string>> = {
  CITIZEN_REGISTERED_TWICE: 'The citizen was registered again; the first registration counts.',
  FACTS_BEFORE_REGISTRATION: 'Facts about the citizen occurred before the citizen was registered.',
  RELATIVE_NOT_LINKED: 'A contact from, or a representation by, a relative who was not linked to the citizen.',
  NOTIFICATION_NOT_RECEIVED: 'A notification was assessed or acknowledged but never received.',
  NOTIFICATION_RECEIVED_TWICE: 'A notification was received again; the first receipt counts.',
  CONTACT_NOT_RECEIVED: 'A contact was answered but never received.',
  CONTACT_RECEIVED_TWICE: 'A contact was received again; the first receipt counts.',
  CONTACT_ANSWERED_TWICE: 'A contact was answered again; the first answer counts.',
  CASE_NOT_OPEN: 'A case was closed that was never opened.',
  CASE_OPENED_TWICE: 'A case was opened again; the first opening counts.',
  CASE_CLOSED_TWICE: 'A case was closed again; the first closing counts.',
  HANDOVER_NOT_INITIATED: 'A handover was accepted, rejected, completed or cancelled before it was initiated.',
  HANDOVER_INITIATED_TWICE: 'A handover was initiated again; the first initiation counts.',
  HANDOVER_ALREADY_RESOLVED: 'A handover was answered after it had already been resolved; the first answer counts.',
  HANDOVER_COMPLETED_WITHOUT_ACCEPTANCE: 'A handover was completed without being accepted; the completion counts as the acceptance.',
  INVESTIGATION_NOT_STARTED: 'An investigation was completed that was never started.',
  INVESTIGATION_STARTED_TWICE: 'An investigation was started again; the first start counts.',
  INVESTIGATION_COMPLETED_TWICE: 'An investigation was completed again; the first completion counts.',
  INTERVENTION_NOT_STARTED: 'An intervention was ended that was never started.',
  INTERVENTION_STARTED_TWICE: 'An intervention was started again; the first start counts.',
  INTERVENTION_ENDED_TWICE: 'An intervention was ended again; the first end counts.',
};

/** A fact from a source system that contradicts the citizen's stream (in world order). Never dropped. */
export interface Anomaly {
  kind: StreamAnomalyKind;
  /** The contradicting event. */
  eventId: string;
  eventType: string;
  occurredMs: number;
  /** The sending system, as the event named it; null when it named none. */
  source: string | null;
  /** The handover, case, contact, notification, investigation, intervention or relative it is about. */
  subjectId: string | null;
}

/** What the tracker learns about a citizen's relatives, one entry per fact. */
export type RelativeFact =
  | {
      kind: 'linked';
      relativeId: string;
      ms: number;
      relation: string;
      custody: boolean;
      /** Custody (forældremyndighed) ends when the citizen turns 18; null when the birth date is unknown. */
      custodyEndsMs: number | null;
    }
  | { kind: 'representation'; relativeId: string; ms: number; basis: string };

/** Everything derived from one citizen's history. */
export interface CitizenGapAnalysis {
  /** In order of start, then key. */
  gaps: Gap[];
  /** In world order. */
  anomalies: Anomaly[];
  /** In world order. */
  relativeFacts: RelativeFact[];
}

/** What the rules need from configuration: unit sectors and the two deadline policies. */
export interface GapRules {
  sectorOf(unitId: string): UnitSector | undefined;
  /** Due instant of a handover initiated at `startMs` (policy overdragelse-accept, 10 hverdage). */
  handoverAcceptanceDue(startMs: number): number;
  /** Due instant of a relative's contact received at `startMs` (policy paarorende-svar, 10 hverdage). */
  relativeAnswerDue(startMs: number): number;
}
