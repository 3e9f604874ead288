/**
 * The projections: each stored event becomes a few read-model changes. The mapping is pure and
 * shared by every read-model adapter (SQLite embedded, PostgreSQL distributed); adapters only decide
 * how a change is written.
 *
 * Every change is keyed by the event's place in the world (occurredAt, then globalPosition) and
 * applied "earliest wins", so the read models do not depend on the order in which events arrive: a
 * late event lands in its place, and a rebuild from zero gives exactly what incremental processing
 * gave. Statuses are not stored; they are derived from the stored instants at query time (`asOf`).
 */
import { instantMs, unitIdsOf, type StoredEvent, type UnitDirectory } from '@tracker/domain';
import { primaryUnitOf, summarize } from './summaries.ts';

/** Where an event stands in the world: its occurredAt instant, ties broken by global position. */
export interface WorldPosition {
  ms: number;
  at: string;
  position: number;
}

export type HandoverResolution = 'accepted' | 'rejected' | 'completed' | 'cancelled';

export type ReadModelChange =
  | ({
      kind: 'timelineEntry';
      citizenId: string;
      eventId: string;
      type: string;
      recordedAt: string;
      unitId: string | null;
      summary: string;
      streamVersion: number;
      source: string | null;
      /** The event's data as JSON, so derived read models can replay the citizen's history. */
      data: string;
    } & WorldPosition)
  | ({ kind: 'citizenRegistered'; citizenId: string; birthDate: string; municipality: string; disability: boolean } & WorldPosition)
  | ({ kind: 'caseOpened'; citizenId: string; caseId: string; unitId: string } & WorldPosition)
  | ({ kind: 'caseClosed'; citizenId: string; caseId: string } & WorldPosition)
  | ({ kind: 'handoverInitiated'; citizenId: string; handoverId: string; fromUnitId: string; toUnitId: string; handoverKind: string; dueMs: number } & WorldPosition)
  | ({ kind: 'handoverResolved'; citizenId: string; handoverId: string; resolution: HandoverResolution } & WorldPosition)
  /**
   * The units the event involves the citizen with (`unitIdsOf`): the set `citizen_units` keeps, which
   * the data scope of coordinators reads (a citizen is theirs when one of their units was EVER
   * involved). A set union, so order-independent like every other change.
   */
  | { kind: 'citizenUnits'; citizenId: string; unitIds: string[] };

export interface ProjectionContext {
  units: UnitDirectory;
  /** The acceptance deadline of a handover initiated at the given instant (policy overdragelse-accept). */
  handoverAcceptanceDue(initiatedMs: number): number;
}

const resolutionOf = {
  HandoverAccepted: 'accepted',
  HandoverRejected: 'rejected',
  HandoverCompleted: 'completed',
  HandoverCancelled: 'cancelled',
} as const satisfies Record<string, HandoverResolution>;

/**
 * The event's data as the read models keep it: without CitizenRegistered's `personal` part. Stored
 * events carry it only as ciphertext (docs/security.md §7), but no read model needs it, so no read
 * model holds even that: the only copy is in the event store, and reading it goes through the
 * audited `personalData` field.
 */
function withoutPersonal(event: StoredEvent): object {
  if (event.type !== 'CitizenRegistered' || !('personal' in event.data)) return event.data;
  const { personal: _personal, ...rest } = event.data;
  return rest;
}

export function projectEvent(event: StoredEvent, context: ProjectionContext): ReadModelChange[] {
  const where: WorldPosition = { ms: instantMs(event.occurredAt), at: event.occurredAt, position: event.globalPosition };
  const { citizenId } = event;
  const changes: ReadModelChange[] = [
    {
      kind: 'timelineEntry',
      citizenId,
      eventId: event.id,
      type: event.type,
      recordedAt: event.recordedAt,
      unitId: primaryUnitOf(event),
      summary: summarize(event, context.units),
      streamVersion: event.streamVersion,
      source: event.source ?? null,
      data: JSON.stringify(withoutPersonal(event)),
      ...where,
    },
  ];
  const unitIds = unitIdsOf(event);
  if (unitIds.length > 0) changes.push({ kind: 'citizenUnits', citizenId, unitIds: [...new Set(unitIds)] });
  switch (event.type) {
    case 'CitizenRegistered':
      changes.push({ kind: 'citizenRegistered', citizenId, birthDate: event.data.birthDate, municipality: event.data.municipality, disability: event.data.disability, ...where });
      break;
    case 'CaseOpened':
      changes.push({ kind: 'caseOpened', citizenId, caseId: event.data.caseId, unitId: event.data.unitId, ...where });
      break;
    case 'CaseClosed':
      changes.push({ kind: 'caseClosed', citizenId, caseId: event.data.caseId, ...where });
      break;
    case 'HandoverInitiated':
      changes.push({
        kind: 'handoverInitiated',
        citizenId,
        handoverId: event.data.handoverId,
        fromUnitId: event.data.fromUnitId,
        toUnitId: event.data.toUnitId,
        handoverKind: event.data.kind,
        dueMs: context.handoverAcceptanceDue(where.ms),
        ...where,
      });
      break;
    case 'HandoverAccepted':
    case 'HandoverRejected':
    case 'HandoverCompleted':
    case 'HandoverCancelled':
      changes.push({ kind: 'handoverResolved', citizenId, handoverId: event.data.handoverId, resolution: resolutionOf[event.type], ...where });
      break;
    default:
      break;
  }
  return changes;
}
