/**
 * Event catalog v1 (domain.md §3): the single source for validation, TypeScript types and the
 * generated docs (`pnpm docs:events`). Names and fields are the public contract: extend, never rename.
 */
import { z } from 'zod';
import { containsCpr, isCprShaped } from '../ids/personalData.ts';

const notCpr = (what: string) => (value: string) => !isCprShaped(value) || `${what} must be pseudonymous, not shaped like a CPR number`;
const noCprInside = (value: string) => !containsCpr(value) || 'must not contain a CPR number';

/** Pseudonymous ids of citizens and relatives: 1–64 of [A-Za-z0-9._-], never a CPR number. */
export const PseudonymousId = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1–64 characters of A–Z, a–z, 0–9, ".", "_" or "-"')
  .refine((v) => notCpr('id')(v) === true, { message: 'must be pseudonymous, not shaped like a CPR number' });

/** Ids that source systems give their own things (cases, handovers, contacts …). */
export const EntityId = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1–128 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-"')
  .refine((v) => !isCprShaped(v), { message: 'must not be shaped like a CPR number' });

export const UnitId = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be a unit id from the units configuration');

/** Free text that may travel into read models: bounded and without CPR numbers. */
export const FreeText = z.string().min(1).max(500).refine((v) => noCprInside(v) === true, { message: 'must not contain a CPR number' });

/** An instant with an explicit offset; a timestamp without one is ambiguous across DST and refused. */
export const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with an offset, e.g. 2025-03-01T09:30:00+01:00' });

export const CalendarDate = z.iso.date({ message: 'must be a date YYYY-MM-DD' });

export const MunicipalityCode = z.string().regex(/^\d{4}$/, 'must be a 4-digit kommune code, e.g. 0751');

export const Relation = z.enum(['parent', 'guardian', 'sibling', 'partner', 'other']);
export const RepresentationBasis = z.enum(['fuldmagt', 'vaergemaal', 'samtykke']);
export const Notifier = z.enum(['professional', 'private', 'anonymous']);
export const ContactFrom = z.enum(['citizen', 'relative', 'professional']);
export const HandoverKind = z.enum(['age', 'referral', 'move', 'other']);
export const MeetingKind = z.enum(['visitation', 'network', 'transition', 'other']);
export const DecisionOutcome = z.enum(['granted', 'denied', 'partial']);
export const PlanKind = z.enum(['barnets-plan', 'ungeplan', 'transition', 'handleplan']);
export const Sector = z.enum(['child', 'youth', 'adult', 'reception', 'employment', 'health', 'school', 'external']);

export const eventDataSchemas = {
  CitizenRegistered: z.object({
    birthDate: CalendarDate,
    municipality: MunicipalityCode,
    disability: z.boolean(),
    personal: z
      .object({
        name: z.string().min(1).max(200).optional(),
        cpr: z.string().regex(/^\d{6}-?\d{4}$/, 'must be a CPR number DDMMYY-SSSS').optional(),
      })
      .strict()
      .optional(),
  }),
  RelativeLinked: z.object({ relativeId: PseudonymousId, relation: Relation, custody: z.boolean() }),
  RepresentationGranted: z.object({ relativeId: PseudonymousId, basis: RepresentationBasis }),
  NotificationReceived: z.object({ notificationId: EntityId, unitId: UnitId, notifier: Notifier, reason: FreeText.optional() }),
  NotificationAssessed: z.object({ notificationId: EntityId, urgent: z.boolean() }),
  NotificationAcknowledged: z.object({ notificationId: EntityId }),
  ContactReceived: z.object({
    contactId: EntityId,
    unitId: UnitId,
    from: ContactFrom,
    relativeId: PseudonymousId.optional(),
    channel: FreeText.optional(),
  }),
  ContactAnswered: z.object({ contactId: EntityId }),
  CaseOpened: z.object({ caseId: EntityId, unitId: UnitId, legalBasis: FreeText.optional() }),
  CaseClosed: z.object({ caseId: EntityId, reason: FreeText.optional() }),
  HandoverInitiated: z.object({
    handoverId: EntityId,
    fromUnitId: UnitId,
    toUnitId: UnitId,
    kind: HandoverKind,
    reason: FreeText.optional(),
  }),
  HandoverAccepted: z.object({ handoverId: EntityId }),
  HandoverRejected: z.object({ handoverId: EntityId, reason: FreeText }),
  HandoverCompleted: z.object({ handoverId: EntityId }),
  HandoverCancelled: z.object({ handoverId: EntityId }),
  InvestigationStarted: z.object({ investigationId: EntityId, unitId: UnitId, awareSince: Instant.optional() }),
  InvestigationCompleted: z.object({ investigationId: EntityId }),
  MeetingHeld: z.object({
    meetingId: EntityId,
    kind: MeetingKind,
    unitIds: z.array(UnitId).min(1).max(50),
    citizenParticipated: z.boolean(),
    relativesParticipated: z.boolean(),
  }),
  DecisionMade: z.object({
    decisionId: EntityId,
    unitId: UnitId,
    subject: z.string().regex(/^[a-z0-9-]{1,64}$/, 'must be a lower-case subject code, e.g. ungestoette'),
    outcome: DecisionOutcome,
    legalBasis: FreeText.optional(),
  }),
  InterventionStarted: z.object({
    interventionId: EntityId,
    unitId: UnitId,
    code: z.string().min(1).max(128).refine((v) => !containsCpr(v), { message: 'must not contain a CPR number' }),
    step: z.number().int().min(1).max(6).optional(),
    legalBasis: FreeText.optional(),
  }),
  InterventionEnded: z.object({ interventionId: EntityId, reason: FreeText.optional() }),
  PlanCreated: z.object({ planId: EntityId, unitId: UnitId, kind: PlanKind }),
  CitizenMoved: z.object({ fromMunicipality: MunicipalityCode, toMunicipality: MunicipalityCode }),
} as const;

export type EventType = keyof typeof eventDataSchemas;
export const EVENT_TYPES = Object.keys(eventDataSchemas) as EventType[];
export const EventTypeSchema = z.enum(EVENT_TYPES as [EventType, ...EventType[]]);

export type EventData<T extends EventType> = z.infer<(typeof eventDataSchemas)[T]>;

interface EnvelopeFields {
  /** Sender-chosen UUID: the idempotency key. */
  id: string;
  citizenId: string;
  /** ISO 8601 with offset, as sent. */
  occurredAt: string;
  source?: string | undefined;
}

/** A fact about one citizen, as sent by a source system or produced by a command. */
export type TransitionEvent = { [T in EventType]: EnvelopeFields & { type: T; data: EventData<T> } }[EventType];
export type TransitionEventOf<T extends EventType> = Extract<TransitionEvent, { type: T }>;

/** An event as the store holds it. */
export type StoredEvent = TransitionEvent & {
  recordedAt: string;
  /** 0-based position within the citizen's stream. */
  streamVersion: number;
  /** 1-based position in the whole store; strictly increasing in commit order. */
  globalPosition: number;
};

export const EnvelopeSchema = z.object({
  id: z.guid({ message: 'must be a UUID' }),
  type: z.string().min(1),
  citizenId: PseudonymousId,
  occurredAt: Instant,
  source: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1–64 characters of A–Z, a–z, 0–9, ".", "_" or "-"').optional(),
  data: z.record(z.string(), z.unknown(), { message: 'must be an object' }),
});

/** The unit ids an event names; each must be configured. */
export function unitIdsOf(event: TransitionEvent): string[] {
  switch (event.type) {
    case 'HandoverInitiated':
      return [event.data.fromUnitId, event.data.toUnitId];
    case 'MeetingHeld':
      return event.data.unitIds;
    default:
      return 'unitId' in event.data && typeof event.data.unitId === 'string' ? [event.data.unitId] : [];
  }
}
