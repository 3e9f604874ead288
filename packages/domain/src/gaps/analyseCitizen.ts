/**
 * One pass over a citizen's history in world order (worldOrder.ts) gives every gap (domain.md §4),
 * every anomaly and the relatives' facts. Pure: the same facts give the same answer whatever order
 * they arrived in. The exact rules, the boundaries and why they were chosen: docs/gaps.md.
 *
 * Each gap's start, end and attributes are decided from facts at or before the instant in question,
 * so the intervals computed here from the whole history, restricted to any `asOf` (gapAsOf), equal
 * what the facts known up to `asOf` alone would give.
 */
import { birthdayInstant } from '../calendar/age.ts';
import { addCopenhagenMonths, localEpochDay } from '../calendar/copenhagen.ts';
import type { TransitionEvent, TransitionEventOf } from '../events/catalog.ts';
import type { HandoverStatus } from '../citizen/citizenDecider.ts';
import type { UnitSector } from '../units/units.ts';
import type { Anomaly, StreamAnomalyKind, CitizenGapAnalysis, Gap, GapKind, GapRules, RelativeFact } from './model.ts';
import { inWorldOrder } from './worldOrder.ts';

/** "Within 90 days" for PING_PONG: at most this many Copenhagen calendar days between the dates. */
export const PING_PONG_WINDOW_DAYS = 90;
/** How far before the 18th birthday AGE_CLIFF and REPRESENTATION_LOST look: 12 months. */
export const AT_18_LOOK_BACK_MONTHS = 12;
/** Age of majority: custody ends and AGE_CLIFF / REPRESENTATION_LOST are judged. */
export const MAJORITY_AGE = 18;

const CHILD_SIDE: ReadonlySet<UnitSector> = new Set(['child', 'youth']);

interface CaseRecord {
  unitId: string;
  openedMs: number;
  closedMs: number | null;
}

interface InterventionRecord {
  unitId: string;
  startedMs: number;
  endedMs: number | null;
}

interface HandoverRecord {
  id: string;
  fromUnitId: string;
  toUnitId: string;
  initiatedMs: number;
  initiatedDay: number;
  status: HandoverStatus;
}

type Resolution = TransitionEventOf<'HandoverAccepted' | 'HandoverRejected' | 'HandoverCompleted' | 'HandoverCancelled'>;

/** Analyses one citizen's history (any order; it is replayed in world order). */
export function analyseCitizen(history: readonly TransitionEvent[], rules: GapRules): CitizenGapAnalysis {
  const sweep = new CitizenSweep(rules);
  for (const { event, ms } of inWorldOrder(history)) sweep.apply(event, ms);
  return sweep.finish();
}

class CitizenSweep {
  readonly #rules: GapRules;
  readonly #gaps: Gap[] = [];
  readonly #anomalies: Anomaly[] = [];
  readonly #relativeFacts: RelativeFact[] = [];

  #registeredMs: number | undefined;
  #flaggedUnregistered = false;
  /** The 18th birthday instant, while it is still to be judged. */
  #at18: number | undefined;
  #custodyEndsMs: number | null = null;

  readonly #cases = new Map<string, CaseRecord>();
  readonly #interventions = new Map<string, InterventionRecord>();
  readonly #investigations = new Map<string, { completed: boolean }>();
  readonly #notifications = new Set<string>();
  readonly #contacts = new Map<string, { answered: boolean }>();
  /** Answers to contacts not (yet) received, applied when the contact is received. */
  readonly #earlyAnswers = new Set<string>();
  readonly #handovers = new Map<string, HandoverRecord>();
  /** Answers to handovers not (yet) initiated, applied at the initiation. */
  readonly #earlyResolutions = new Map<string, Resolution[]>();
  readonly #relatives = new Map<string, { custody: boolean }>();
  readonly #represented = new Set<string>();
  /** The latest contact from, or meeting with, each relative: when and with which unit. */
  readonly #relativeActivity = new Map<string, { ms: number; unitId: string }>();

  readonly #pending = new Map<string, Gap>();
  readonly #rejected: Gap[] = [];
  readonly #unanswered = new Map<string, Gap>();
  readonly #representationLost = new Map<string, Gap>();
  #uncovered: Gap | undefined;
  #ageCliff: Gap | undefined;
  /** A handover to another kommune (an external unit) was completed: its cases are not seen here. */
  #coveredElsewhere = false;

  constructor(rules: GapRules) {
    this.#rules = rules;
  }

  apply(event: TransitionEvent, ms: number): void {
    if (this.#at18 !== undefined && ms > this.#at18) this.#judgeAt18();
    if (this.#registeredMs === undefined && event.type !== 'CitizenRegistered' && !this.#flaggedUnregistered) {
      this.#flaggedUnregistered = true;
      this.#flag('FACTS_BEFORE_REGISTRATION', event, ms, null);
    }
    switch (event.type) {
      case 'CitizenRegistered':
        return this.#register(event, ms);
      case 'RelativeLinked': {
        const { relativeId, relation, custody } = event.data;
        this.#relatives.set(relativeId, { custody });
        this.#relativeFacts.push({ kind: 'linked', relativeId, ms, relation, custody, custodyEndsMs: null });
        return;
      }
      case 'RepresentationGranted': {
        const { relativeId, basis } = event.data;
        if (!this.#relatives.has(relativeId)) this.#flag('RELATIVE_NOT_LINKED', event, ms, relativeId);
        this.#represented.add(relativeId);
        this.#relativeFacts.push({ kind: 'representation', relativeId, ms, basis });
        const lost = this.#representationLost.get(relativeId);
        if (lost) end(lost, ms);
        return;
      }
      case 'NotificationReceived':
        if (this.#notifications.has(event.data.notificationId)) this.#flag('NOTIFICATION_RECEIVED_TWICE', event, ms, event.data.notificationId);
        this.#notifications.add(event.data.notificationId);
        return;
      case 'NotificationAssessed':
      case 'NotificationAcknowledged':
        if (!this.#notifications.has(event.data.notificationId)) this.#flag('NOTIFICATION_NOT_RECEIVED', event, ms, event.data.notificationId);
        return;
      case 'ContactReceived':
        return this.#receiveContact(event, ms);
      case 'ContactAnswered':
        return this.#answerContact(event, ms);
      case 'MeetingHeld':
        if (event.data.relativesParticipated) {
          // The meeting does not say which relatives came: it counts for every relative linked then.
          for (const relativeId of this.#relatives.keys()) this.#relativeActivity.set(relativeId, { ms, unitId: event.data.unitIds[0]! });
        }
        return;
      case 'CaseOpened':
        return this.#openCase(event, ms);
      case 'CaseClosed':
        return this.#closeCase(event, ms);
      case 'HandoverInitiated':
        return this.#initiate(event, ms);
      case 'HandoverAccepted':
      case 'HandoverRejected':
      case 'HandoverCompleted':
      case 'HandoverCancelled':
        return this.#resolve(event, ms, false);
      case 'InvestigationStarted':
        if (this.#investigations.has(event.data.investigationId)) this.#flag('INVESTIGATION_STARTED_TWICE', event, ms, event.data.investigationId);
        else this.#investigations.set(event.data.investigationId, { completed: false });
        return;
      case 'InvestigationCompleted': {
        const investigation = this.#investigations.get(event.data.investigationId);
        if (!investigation) this.#flag('INVESTIGATION_NOT_STARTED', event, ms, event.data.investigationId);
        else if (investigation.completed) this.#flag('INVESTIGATION_COMPLETED_TWICE', event, ms, event.data.investigationId);
        else investigation.completed = true;
        return;
      }
      case 'InterventionStarted':
        if (this.#interventions.has(event.data.interventionId)) this.#flag('INTERVENTION_STARTED_TWICE', event, ms, event.data.interventionId);
        else this.#interventions.set(event.data.interventionId, { unitId: event.data.unitId, startedMs: ms, endedMs: null });
        return;
      case 'InterventionEnded': {
        const intervention = this.#interventions.get(event.data.interventionId);
        if (!intervention) this.#flag('INTERVENTION_NOT_STARTED', event, ms, event.data.interventionId);
        else if (intervention.endedMs !== null) this.#flag('INTERVENTION_ENDED_TWICE', event, ms, event.data.interventionId);
        else intervention.endedMs = ms;
        return;
      }
      case 'DecisionMade':
      case 'PlanCreated':
      case 'CitizenMoved':
        return;
    }
  }

  finish(): CitizenGapAnalysis {
    if (this.#at18 !== undefined) this.#judgeAt18();
    const gaps = this.#gaps.sort((a, b) => a.startedMs - b.startedMs || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const fact of this.#relativeFacts) if (fact.kind === 'linked') fact.custodyEndsMs = this.#custodyEndsMs;
    return { gaps, anomalies: this.#anomalies, relativeFacts: this.#relativeFacts };
  }

  // ---- registration and the 18th birthday ------------------------------------------------------

  #register(event: TransitionEventOf<'CitizenRegistered'>, ms: number): void {
    if (this.#registeredMs !== undefined) return this.#flag('CITIZEN_REGISTERED_TWICE', event, ms, null);
    this.#registeredMs = ms;
    const at18 = birthdayInstant(event.data.birthDate, MAJORITY_AGE);
    // Custody ends at 18, known from the registration on (so never before the tracker knew the age).
    this.#custodyEndsMs = Math.max(at18, ms);
    // Registered as an adult: the tracker did not know the child, so there is nothing to judge at 18.
    if (at18 >= ms) this.#at18 = at18;
  }

  /** AGE_CLIFF and REPRESENTATION_LOST, judged on everything that happened up to the 18th birthday. */
  #judgeAt18(): void {
    const at18 = this.#at18!;
    this.#at18 = undefined;
    const lookBackFrom = addCopenhagenMonths(at18, -AT_18_LOOK_BACK_MONTHS);
    const adultUnit = this.#adultUnitAt18();

    const openAdultCase = [...this.#cases.values()].some((c) => c.closedMs === null && this.#sectorOf(c.unitId) === 'adult');
    const childUnit = this.#recentChildSideUnit(lookBackFrom);
    if (childUnit !== undefined && !openAdultCase) {
      this.#ageCliff = this.#open('AGE_CLIFF', null, at18, { fromUnitId: childUnit, toUnitId: adultUnit });
    }

    for (const [relativeId, { custody }] of this.#relatives) {
      if (!custody || this.#represented.has(relativeId)) continue;
      const activity = this.#relativeActivity.get(relativeId);
      if (activity === undefined || activity.ms < lookBackFrom) continue;
      const gap = this.#open('REPRESENTATION_LOST', relativeId, at18, { fromUnitId: activity.unitId, toUnitId: adultUnit, relativeId });
      this.#representationLost.set(relativeId, gap);
    }
  }

  /**
   * The child- or youth-sector unit responsible in the look-back window: a case open at 18, else the
   * case closed last in the window; interventions only when no such case exists.
   */
  #recentChildSideUnit(lookBackFrom: number): string | undefined {
    const latest = <T>(items: Iterable<T>, unit: (i: T) => string, from: (i: T) => number, to: (i: T) => number | null): string | undefined => {
      let best: { unitId: string; to: number; from: number } | undefined;
      for (const item of items) {
        const unitId = unit(item);
        const sector = this.#sectorOf(unitId);
        const end = to(item) ?? Number.POSITIVE_INFINITY;
        if (sector === undefined || !CHILD_SIDE.has(sector) || end < lookBackFrom) continue;
        if (!best || end > best.to || (end === best.to && from(item) > best.from)) best = { unitId, to: end, from: from(item) };
      }
      return best?.unitId;
    };
    return (
      latest(this.#cases.values(), (c) => c.unitId, (c) => c.openedMs, (c) => c.closedMs) ??
      latest(this.#interventions.values(), (i) => i.unitId, (i) => i.startedMs, (i) => i.endedMs)
    );
  }

  /** The adult-sector unit taking over at 18: an open adult case, else a pending or accepted handover to one. */
  #adultUnitAt18(): string | null {
    let unit: string | null = null;
    let openedMs = Number.NEGATIVE_INFINITY;
    for (const c of this.#cases.values()) {
      if (c.closedMs === null && this.#sectorOf(c.unitId) === 'adult' && c.openedMs >= openedMs) [unit, openedMs] = [c.unitId, c.openedMs];
    }
    return unit ?? this.#latestHandover((h) => (h.status === 'PENDING' || h.status === 'ACCEPTED') && this.#sectorOf(h.toUnitId) === 'adult')?.toUnitId ?? null;
  }

  // ---- contacts -------------------------------------------------------------------------------

  #receiveContact(event: TransitionEventOf<'ContactReceived'>, ms: number): void {
    const { contactId, unitId, from, relativeId } = event.data;
    if (this.#contacts.has(contactId)) return this.#flag('CONTACT_RECEIVED_TWICE', event, ms, contactId);
    this.#contacts.set(contactId, { answered: false });
    if (from !== 'relative') return this.#answerEarly(contactId, ms);
    if (relativeId === undefined || !this.#relatives.has(relativeId)) this.#flag('RELATIVE_NOT_LINKED', event, ms, relativeId ?? contactId);
    if (relativeId !== undefined) this.#relativeActivity.set(relativeId, { ms, unitId });
    const gap = this.#open('RELATIVE_UNANSWERED', contactId, ms, { toUnitId: unitId, relativeId: relativeId ?? null, dueMs: this.#rules.relativeAnswerDue(ms) });
    this.#unanswered.set(contactId, gap);
    this.#answerEarly(contactId, ms);
  }

  /** An answer that came before its contact (a source system's clock or a late receipt) answers it at once. */
  #answerEarly(contactId: string, ms: number): void {
    if (!this.#earlyAnswers.delete(contactId)) return;
    this.#contacts.get(contactId)!.answered = true;
    const gap = this.#unanswered.get(contactId);
    if (gap) end(gap, ms);
  }

  #answerContact(event: TransitionEventOf<'ContactAnswered'>, ms: number): void {
    const { contactId } = event.data;
    const contact = this.#contacts.get(contactId);
    if (!contact) {
      if (this.#earlyAnswers.has(contactId)) return this.#flag('CONTACT_ANSWERED_TWICE', event, ms, contactId);
      this.#earlyAnswers.add(contactId);
      return this.#flag('CONTACT_NOT_RECEIVED', event, ms, contactId);
    }
    if (contact.answered) return this.#flag('CONTACT_ANSWERED_TWICE', event, ms, contactId);
    contact.answered = true;
    const gap = this.#unanswered.get(contactId);
    if (gap) end(gap, ms);
  }

  // ---- cases ----------------------------------------------------------------------------------

  #openCase(event: TransitionEventOf<'CaseOpened'>, ms: number): void {
    const { caseId, unitId } = event.data;
    if (this.#cases.has(caseId)) return this.#flag('CASE_OPENED_TWICE', event, ms, caseId);
    this.#cases.set(caseId, { unitId, openedMs: ms, closedMs: null });
    this.#coveredElsewhere = false;
    if (this.#uncovered) end(this.#uncovered, ms);
    this.#uncovered = undefined;
    this.#endRejections(ms);
    if (this.#ageCliff && this.#sectorOf(unitId) === 'adult') end(this.#ageCliff, ms);
  }

  #closeCase(event: TransitionEventOf<'CaseClosed'>, ms: number): void {
    const { caseId, reason } = event.data;
    const closing = this.#cases.get(caseId);
    if (!closing) return this.#flag('CASE_NOT_OPEN', event, ms, caseId);
    if (closing.closedMs !== null) return this.#flag('CASE_CLOSED_TWICE', event, ms, caseId);
    closing.closedMs = ms;
    if ([...this.#cases.values()].some((c) => c.closedMs === null) || this.#coveredElsewhere || this.#uncovered) return;

    const pendingFromUnit = this.#latestHandover((h) => h.status === 'PENDING' && h.fromUnitId === closing.unitId);
    const pending = pendingFromUnit ?? this.#latestHandover((h) => h.status === 'PENDING');
    const rejected = this.#rejected.filter((g) => g.endedMs === null).at(-1);
    const forHandover = reason?.trim().toLowerCase() === 'handover';
    if (!pending && !rejected && !forHandover) return;
    const toUnitId =
      pending?.toUnitId ??
      rejected?.toUnitId ??
      this.#latestHandover((h) => h.fromUnitId === closing.unitId && (h.status === 'ACCEPTED' || h.status === 'COMPLETED'))?.toUnitId ??
      null;
    this.#uncovered = this.#open('UNCOVERED', caseId, ms, { fromUnitId: closing.unitId, toUnitId });
  }

  // ---- handovers ------------------------------------------------------------------------------

  #initiate(event: TransitionEventOf<'HandoverInitiated'>, ms: number): void {
    const { handoverId, fromUnitId, toUnitId } = event.data;
    if (this.#handovers.has(handoverId)) return this.#flag('HANDOVER_INITIATED_TWICE', event, ms, handoverId);
    const handover: HandoverRecord = { id: handoverId, fromUnitId, toUnitId, initiatedMs: ms, initiatedDay: localEpochDay(ms), status: 'PENDING' };

    // PING_PONG, judged on the handovers that still stood at this instant (not rejected or cancelled).
    const recent = [...this.#handovers.values()].filter(
      (h) => h.status !== 'REJECTED' && h.status !== 'CANCELLED' && handover.initiatedDay - h.initiatedDay <= PING_PONG_WINDOW_DAYS,
    );
    const back = recent.some((h) => h.fromUnitId === toUnitId);
    if (back || recent.length + 1 >= 3) {
      this.#open('PING_PONG', handoverId, ms, { fromUnitId, toUnitId, endedMs: ms });
    }

    this.#handovers.set(handoverId, handover);
    this.#pending.set(handoverId, this.#open('HANDOVER_PENDING', handoverId, ms, { fromUnitId, toUnitId, dueMs: this.#rules.handoverAcceptanceDue(ms) }));
    const early = this.#earlyResolutions.get(handoverId);
    if (early) {
      this.#earlyResolutions.delete(handoverId);
      for (const resolution of early) this.#resolve(resolution, ms, true);
    }
  }

  /** An answer to a handover; `early` when it came before the initiation and is applied at it. */
  #resolve(event: Resolution, ms: number, early: boolean): void {
    const { handoverId } = event.data;
    const handover = this.#handovers.get(handoverId);
    if (!handover) {
      this.#flag('HANDOVER_NOT_INITIATED', event, ms, handoverId);
      const waiting = this.#earlyResolutions.get(handoverId) ?? [];
      waiting.push(event);
      this.#earlyResolutions.set(handoverId, waiting);
      return;
    }
    const flag = (kind: StreamAnomalyKind) => {
      if (!early) this.#flag(kind, event, ms, handoverId);
    };
    const stopPending = () => {
      const gap = this.#pending.get(handoverId);
      if (gap) end(gap, ms);
    };
    switch (event.type) {
      case 'HandoverAccepted':
        if (handover.status !== 'PENDING') return flag('HANDOVER_ALREADY_RESOLVED');
        handover.status = 'ACCEPTED';
        stopPending();
        return this.#endRejections(ms);
      case 'HandoverRejected':
        if (handover.status !== 'PENDING') return flag('HANDOVER_ALREADY_RESOLVED');
        handover.status = 'REJECTED';
        stopPending();
        this.#rejected.push(this.#open('HANDOVER_REJECTED', handoverId, ms, { fromUnitId: handover.fromUnitId, toUnitId: handover.toUnitId }));
        return;
      case 'HandoverCancelled':
        if (handover.status !== 'PENDING' && handover.status !== 'ACCEPTED') return flag('HANDOVER_ALREADY_RESOLVED');
        handover.status = 'CANCELLED';
        return stopPending();
      case 'HandoverCompleted':
        if (handover.status === 'PENDING') {
          // The receiving unit took over without a recorded acceptance: the completion accepts it.
          flag('HANDOVER_COMPLETED_WITHOUT_ACCEPTANCE');
          stopPending();
          this.#endRejections(ms);
        } else if (handover.status !== 'ACCEPTED') return flag('HANDOVER_ALREADY_RESOLVED');
        handover.status = 'COMPLETED';
        if (this.#sectorOf(handover.toUnitId) === 'external') {
          this.#coveredElsewhere = true;
          if (this.#uncovered) end(this.#uncovered, ms);
          this.#uncovered = undefined;
        }
        return;
    }
  }

  #endRejections(ms: number): void {
    for (const gap of this.#rejected) end(gap, ms);
    this.#rejected.length = 0;
  }

  #latestHandover(match: (h: HandoverRecord) => boolean): HandoverRecord | undefined {
    let latest: HandoverRecord | undefined;
    for (const h of this.#handovers.values()) if (match(h) && (!latest || h.initiatedMs >= latest.initiatedMs)) latest = h;
    return latest;
  }

  // ---- helpers --------------------------------------------------------------------------------

  #sectorOf(unitId: string): UnitSector | undefined {
    return this.#rules.sectorOf(unitId);
  }

  #open(
    kind: GapKind,
    subjectId: string | null,
    startedMs: number,
    rest: Partial<Pick<Gap, 'fromUnitId' | 'toUnitId' | 'relativeId' | 'dueMs' | 'endedMs'>>,
  ): Gap {
    const gap: Gap = {
      kind,
      key: subjectId === null ? kind : `${kind}:${subjectId}`,
      subjectId,
      fromUnitId: rest.fromUnitId ?? null,
      toUnitId: rest.toUnitId ?? null,
      relativeId: rest.relativeId ?? null,
      startedMs,
      endedMs: rest.endedMs ?? null,
      dueMs: rest.dueMs ?? null,
    };
    this.#gaps.push(gap);
    return gap;
  }

  #flag(kind: StreamAnomalyKind, event: TransitionEvent, occurredMs: number, subjectId: string | null): void {
    this.#anomalies.push({ kind, eventId: event.id, eventType: event.type, occurredMs, source: event.source ?? null, subjectId });
  }
}

function end(gap: Gap, ms: number): void {
  if (gap.endedMs === null) gap.endedMs = ms;
}
