/**
 * What an exported event says, for XES and OCEL alike (docs/exports.md): the event type as activity,
 * the acting unit as resource, a lifecycle transition, and a whitelist of pseudonymous attributes.
 *
 * Pseudonymous by construction: only ids, codes, enums, booleans and instants are copied, never a
 * field that could hold a name — `CitizenRegistered.personal` and the free-text fields (reason,
 * legalBasis, channel) stay behind, even though ingestion keeps CPR numbers out of them: a caseworker
 * can still type a name. A citizen's events are read in world order, and events before the export's
 * period are read too, so that an acceptance in the period still knows its handover's units.
 */
import { copenhagenOffsetMs, formatEpochDay, MS_PER_DAY, MS_PER_HOUR, type EventType } from '@tracker/domain';

/** One timeline row as the exporter reads it. */
export interface TimelineRow {
  citizenId: string;
  eventId: string;
  type: string;
  occurredMs: number;
  /** The event's data as stored (JSON). */
  data: string;
}

export type AttributeType = 'string' | 'integer' | 'boolean' | 'time';
export type AttributeValue = string | number | boolean;

/** An attribute of an exported event; a `time` value is epoch ms, formatted by each writer. */
export interface ExportAttribute {
  key: string;
  type: AttributeType;
  value: AttributeValue;
}

/** XES lifecycle transitions (IEEE 1849 standard lifecycle model) used here. */
export type Lifecycle = 'start' | 'complete' | 'assign' | 'ate_abort';

export type ObjectKind = 'case' | 'handover' | 'unit' | 'relative';

export interface ObjectReference {
  kind: ObjectKind;
  /** The id as the events name it (caseId, handoverId, unitId, relativeId). */
  id: string;
  qualifier: string;
}

export interface ExportEvent {
  eventId: string;
  type: EventType;
  occurredMs: number;
  /** The unit that acted, when there is one (org:resource). */
  resource: string | null;
  lifecycle: Lifecycle;
  attributes: ExportAttribute[];
  objects: ObjectReference[];
}

/** Case closure reasons the catalog names; any other text is exported as `other`. */
export const CLOSE_REASONS: ReadonlySet<string> = new Set(['completed', 'handover', 'moved', 'no-need']);
/** An intervention code is exported only when it looks like a code (KL concept ids, local slugs), not prose. */
const CODE_SHAPE = /^[A-Za-z0-9._:-]{1,128}$/;

type Data = Record<string, unknown>;
type AttributeSpec = { key: string; type: AttributeType };

const s = (key: string): AttributeSpec => ({ key, type: 'string' });
const b = (key: string): AttributeSpec => ({ key, type: 'boolean' });
const n = (key: string): AttributeSpec => ({ key, type: 'integer' });
const t = (key: string): AttributeSpec => ({ key, type: 'time' });

const HANDOVER_UNITS = [s('fromUnitId'), s('toUnitId')];

/**
 * The attributes each event type may carry in an export, with their types. Event attributes come
 * straight from the event's data, except the handover units on resolutions (from the initiation) and
 * `closeReason` (the catalog's reason codes only).
 */
export const EXPORTED_ATTRIBUTES: { readonly [T in EventType]: readonly AttributeSpec[] } = {
  CitizenRegistered: [s('municipality')],
  RelativeLinked: [s('relativeId'), s('relation'), b('custody')],
  RepresentationGranted: [s('relativeId'), s('basis')],
  NotificationReceived: [s('notificationId'), s('unitId'), s('notifier')],
  NotificationAssessed: [s('notificationId'), b('urgent')],
  NotificationAcknowledged: [s('notificationId')],
  ContactReceived: [s('contactId'), s('unitId'), s('from'), s('relativeId')],
  ContactAnswered: [s('contactId')],
  CaseOpened: [s('caseId'), s('unitId')],
  CaseClosed: [s('caseId'), s('closeReason')],
  HandoverInitiated: [s('handoverId'), ...HANDOVER_UNITS, s('kind')],
  HandoverAccepted: [s('handoverId'), ...HANDOVER_UNITS],
  HandoverRejected: [s('handoverId'), ...HANDOVER_UNITS],
  HandoverCompleted: [s('handoverId'), ...HANDOVER_UNITS],
  HandoverCancelled: [s('handoverId'), ...HANDOVER_UNITS],
  InvestigationStarted: [s('investigationId'), s('unitId'), t('awareSince')],
  InvestigationCompleted: [s('investigationId')],
  MeetingHeld: [s('meetingId'), s('kind'), s('unitIds'), b('citizenParticipated'), b('relativesParticipated')],
  DecisionMade: [s('decisionId'), s('unitId'), s('subject'), s('outcome')],
  InterventionStarted: [s('interventionId'), s('unitId'), s('code'), n('step')],
  InterventionEnded: [s('interventionId')],
  PlanCreated: [s('planId'), s('unitId'), s('kind')],
  CitizenMoved: [s('fromMunicipality'), s('toMunicipality')],
};

const LIFECYCLE: Partial<Record<EventType, Lifecycle>> = {
  CaseOpened: 'start',
  HandoverInitiated: 'start',
  InvestigationStarted: 'start',
  InterventionStarted: 'start',
  // The receiving unit takes the handover on.
  HandoverAccepted: 'assign',
  HandoverRejected: 'ate_abort',
  HandoverCancelled: 'ate_abort',
};

/** A case or handover as the citizen's history shows it up to the export's end. */
export interface CaseState {
  unitId: string | null;
  /** Status changes in world order: open at the opening, closed at the closure. */
  changes: { ms: number; status: 'open' | 'closed' }[];
  closeReason: string | null;
}

export interface HandoverState {
  fromUnitId: string | null;
  toUnitId: string | null;
  kind: string | null;
  changes: { ms: number; status: 'PENDING' | 'ACCEPTED' | 'REJECTED' | 'COMPLETED' | 'CANCELLED' }[];
}

export interface RelativeLink {
  relativeId: string;
  qualifier: string;
}

const HANDOVER_STATUS = {
  HandoverInitiated: 'PENDING',
  HandoverAccepted: 'ACCEPTED',
  HandoverRejected: 'REJECTED',
  HandoverCompleted: 'COMPLETED',
  HandoverCancelled: 'CANCELLED',
} as const;

/**
 * Reads one citizen's events in world order and says what each means for an export; keeps what it
 * learns (the units of cases, handovers, investigations …) so later events can name their unit.
 * One instance per citizen: its memory is one history.
 */
export class CitizenInterpreter {
  readonly cases = new Map<string, CaseState>();
  readonly handovers = new Map<string, HandoverState>();
  readonly relatives: RelativeLink[] = [];
  /** The citizen's kommune over time: registration, then moves. */
  readonly municipalities: { ms: number; municipality: string }[] = [];
  birthYear: number | null = null;
  readonly #unitOf = new Map<string, string>();

  constructor(readonly citizenId: string) {}

  #case(caseId: string): CaseState {
    let state = this.cases.get(caseId);
    if (!state) this.cases.set(caseId, (state = { unitId: null, changes: [], closeReason: null }));
    return state;
  }

  #handover(handoverId: string): HandoverState {
    let state = this.handovers.get(handoverId);
    if (!state) this.handovers.set(handoverId, (state = { fromUnitId: null, toUnitId: null, kind: null, changes: [] }));
    return state;
  }

  /** Interprets the next event of the history (world order). */
  read(row: TimelineRow): ExportEvent {
    const type = row.type as EventType;
    const data = JSON.parse(row.data) as Data;
    const str = (key: string): string | undefined => (typeof data[key] === 'string' ? (data[key] as string) : undefined);
    const objects: ObjectReference[] = [];
    const unitRef = (id: string | null | undefined, qualifier: string) => {
      if (id) objects.push({ kind: 'unit', id, qualifier });
    };
    let resource: string | null = str('unitId') ?? null;
    const extra: Data = {};

    switch (type) {
      case 'CitizenRegistered':
        if (this.birthYear === null && typeof data.birthDate === 'string') {
          this.birthYear = Number(data.birthDate.slice(0, 4));
          this.municipalities.push({ ms: row.occurredMs, municipality: String(data.municipality) });
        }
        break;
      case 'CitizenMoved':
        this.municipalities.push({ ms: row.occurredMs, municipality: String(data.toMunicipality) });
        break;
      case 'RelativeLinked':
        this.relatives.push({ relativeId: String(data.relativeId), qualifier: `${String(data.relation)}${data.custody === true ? ' with custody' : ''}` });
        objects.push({ kind: 'relative', id: String(data.relativeId), qualifier: String(data.relation) });
        break;
      case 'RepresentationGranted':
        this.relatives.push({ relativeId: String(data.relativeId), qualifier: `representative (${String(data.basis)})` });
        objects.push({ kind: 'relative', id: String(data.relativeId), qualifier: 'representative' });
        break;
      case 'ContactReceived':
        if (str('relativeId')) objects.push({ kind: 'relative', id: str('relativeId')!, qualifier: 'contact from' });
        this.#remember('contact', str('contactId'), resource);
        break;
      case 'NotificationReceived':
        this.#remember('notification', str('notificationId'), resource);
        break;
      case 'InvestigationStarted':
        this.#remember('investigation', str('investigationId'), resource);
        break;
      case 'InterventionStarted':
        this.#remember('intervention', str('interventionId'), resource);
        if (typeof data.code === 'string' && !CODE_SHAPE.test(data.code)) delete data.code;
        break;
      case 'ContactAnswered':
        resource = this.#recall('contact', str('contactId'));
        break;
      case 'NotificationAssessed':
      case 'NotificationAcknowledged':
        resource = this.#recall('notification', str('notificationId'));
        break;
      case 'InvestigationCompleted':
        resource = this.#recall('investigation', str('investigationId'));
        break;
      case 'InterventionEnded':
        resource = this.#recall('intervention', str('interventionId'));
        break;
      case 'CaseOpened': {
        const state = this.#case(String(data.caseId));
        // Earliest wins, as in the read models: a repeated opening does not move the case.
        if (!state.changes.some((c) => c.status === 'open')) {
          state.unitId = str('unitId') ?? null;
          state.changes.push({ ms: row.occurredMs, status: 'open' });
        }
        objects.push({ kind: 'case', id: String(data.caseId), qualifier: 'case' });
        break;
      }
      case 'CaseClosed': {
        const state = this.#case(String(data.caseId));
        const reason = str('reason');
        extra.closeReason = reason === undefined ? undefined : CLOSE_REASONS.has(reason) ? reason : 'other';
        if (!state.changes.some((c) => c.status === 'closed')) {
          state.changes.push({ ms: row.occurredMs, status: 'closed' });
          state.closeReason = (extra.closeReason as string | undefined) ?? null;
        }
        resource = state.unitId;
        objects.push({ kind: 'case', id: String(data.caseId), qualifier: 'case' });
        break;
      }
      case 'HandoverInitiated':
      case 'HandoverAccepted':
      case 'HandoverRejected':
      case 'HandoverCompleted':
      case 'HandoverCancelled': {
        const state = this.#handover(String(data.handoverId));
        if (type === 'HandoverInitiated' && state.fromUnitId === null) {
          state.fromUnitId = str('fromUnitId') ?? null;
          state.toUnitId = str('toUnitId') ?? null;
          state.kind = str('kind') ?? null;
        }
        state.changes.push({ ms: row.occurredMs, status: HANDOVER_STATUS[type] });
        extra.fromUnitId = state.fromUnitId ?? undefined;
        extra.toUnitId = state.toUnitId ?? undefined;
        // The sender initiates and cancels; the receiver accepts, rejects and completes.
        resource = type === 'HandoverInitiated' || type === 'HandoverCancelled' ? state.fromUnitId : state.toUnitId;
        objects.push({ kind: 'handover', id: String(data.handoverId), qualifier: 'handover' });
        unitRef(state.fromUnitId, 'from unit');
        unitRef(state.toUnitId, 'to unit');
        break;
      }
      case 'MeetingHeld': {
        const unitIds = Array.isArray(data.unitIds) ? data.unitIds.map(String) : [];
        resource = unitIds[0] ?? null;
        extra.unitIds = unitIds.join(' ');
        for (const id of unitIds) unitRef(id, 'participant');
        break;
      }
      default:
        break;
    }
    if (!objects.some((o) => o.kind === 'unit') && resource !== null) unitRef(resource, 'unit');

    const attributes: ExportAttribute[] = [];
    for (const spec of EXPORTED_ATTRIBUTES[type] ?? []) {
      const value = spec.key in extra ? extra[spec.key] : data[spec.key];
      if (value === undefined || value === null) continue;
      if (spec.type === 'string' && typeof value === 'string') attributes.push({ key: spec.key, type: 'string', value });
      else if (spec.type === 'boolean' && typeof value === 'boolean') attributes.push({ key: spec.key, type: 'boolean', value });
      else if (spec.type === 'integer' && Number.isSafeInteger(value)) attributes.push({ key: spec.key, type: 'integer', value: value as number });
      else if (spec.type === 'time' && typeof value === 'string' && Number.isFinite(Date.parse(value))) {
        attributes.push({ key: spec.key, type: 'time', value: Date.parse(value) });
      }
    }
    return { eventId: row.eventId, type, occurredMs: row.occurredMs, resource, lifecycle: LIFECYCLE[type] ?? 'complete', attributes, objects };
  }

  #remember(kind: string, id: string | undefined, unitId: string | null): void {
    if (id !== undefined && unitId !== null && !this.#unitOf.has(`${kind}\u0000${id}`)) this.#unitOf.set(`${kind}\u0000${id}`, unitId);
  }

  #recall(kind: string, id: string | undefined): string | null {
    return id === undefined ? null : (this.#unitOf.get(`${kind}\u0000${id}`) ?? null);
  }
}

const TWO = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

/**
 * An instant in Copenhagen local time with its offset and milliseconds, e.g.
 * `2025-03-30T03:00:00.000+02:00`: valid xs:dateTime for XES and ISO 8601 for OCEL, and what a
 * caseworker reading the log expects to see.
 */
export function formatInstant(ms: number): string {
  const offset = copenhagenOffsetMs(ms);
  const wall = ms + offset;
  const day = Math.floor(wall / MS_PER_DAY);
  const inDay = wall - day * MS_PER_DAY;
  const millis = inDay % 1000;
  const seconds = Math.floor(inDay / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const sec = seconds % 60;
  const offsetHours = offset / MS_PER_HOUR;
  return `${formatEpochDay(day)}T${TWO[h]}:${TWO[m]}:${TWO[sec]}.${String(millis).padStart(3, '0')}+${TWO[offsetHours]}:00`;
}
