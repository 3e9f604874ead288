/**
 * The authorisation policy: pure functions over a Principal that the API and the data layer call.
 * Nothing here reads a database; callers pass the facts a decision needs (the units a citizen was ever
 * involved with, an event's source), so every rule is testable as a table.
 *
 * Two questions, answered in this order:
 * 1. May the principal perform the operation at all? (`assertAllowed`, the role × operation matrix)
 * 2. Which data may it touch? (`scopeFor`: all units for administrators, otherwise the units claim),
 *    applied by the data layer to every query (`citizenInScope`, `unitScopeSql`, `citizenScopeSql`).
 *
 * A principal with several roles gets the union of what each role allows.
 */
import { unitIdsOf, type TransitionEvent } from '@tracker/domain';
import type { Principal, Role } from '../auth/principal.ts';
import { AuthorizationError } from './authorizationError.ts';
import { isOperation, OPERATION_RULES, type Disclosure, type Operation } from './operations.ts';

/** Which units' data a principal may see: everything, or what these units are or were involved with. */
export type DataScope = { readonly allUnits: true } | { readonly allUnits: false; readonly units: readonly string[] };

export const ALL_UNITS: DataScope = Object.freeze({ allUnits: true });

/** Most privileged first: the role a grant is recorded under (in the access log) is the strongest that allows it. */
const PRIVILEGE_ORDER: readonly Role[] = ['administrator', 'coordinator', 'manager', 'integrator'];

export function mayPerform(principal: Principal, operation: Operation): boolean {
  if (!isOperation(operation)) return false;
  const rule = OPERATION_RULES[operation];
  return (rule.roles as readonly Role[]).some((role) => principal.roles.has(role));
}

/**
 * Throws AuthorizationError('operation_not_permitted') unless one of the principal's roles allows the
 * operation; answers the most privileged role that does (what the access log records as actorRole).
 */
export function assertAllowed(principal: Principal, operation: Operation): Role {
  // Own keys only: `__proto__` or `constructor` is not an operation.
  if (!isOperation(operation)) throw new AuthorizationError('operation_not_permitted', 'an unknown operation');
  const rule = OPERATION_RULES[operation];
  const allowed = rule.roles as readonly Role[];
  const role = PRIVILEGE_ORDER.find((r) => principal.roles.has(r) && allowed.includes(r));
  if (role === undefined) throw new AuthorizationError('operation_not_permitted', operation);
  return role;
}

export function scopeFor(principal: Principal): DataScope {
  if (principal.roles.has('administrator')) return ALL_UNITS;
  return Object.freeze({ allUnits: false, units: principal.units });
}

/** What an allowed operation comes with: everything the resolver and the data layer need to enforce it. */
export interface Grant {
  readonly operation: Operation;
  /** The role the operation is performed under (most privileged that allows it). */
  readonly role: Role;
  readonly scope: DataScope;
  readonly disclosure: Disclosure;
  /** Append every citizen the answer discloses to the access log. */
  readonly audited: boolean;
}

export function authorize(principal: Principal, operation: Operation): Grant {
  const role = assertAllowed(principal, operation);
  const rule = OPERATION_RULES[operation];
  return Object.freeze({ operation, role, scope: scopeFor(principal), disclosure: rule.disclosure, audited: rule.audited });
}

// ── Citizen scope ───────────────────────────────────────────────────────────────────────────────────

/**
 * A citizen is in scope when any unit of the scope ever had a case, handover (either side — so a
 * citizen handed to a unit is visible to it before it accepts), contact, notification, investigation,
 * decision, intervention, plan or meeting for them. "Ever" is deliberate: a unit that handed a
 * citizen on may still follow up, and `asOf` does not narrow it (a receiving unit sees the history).
 *
 * `citizenUnitIds` is the set the read models keep per citizen (see `involvedUnitsOf`); a citizen the
 * tracker does not know has none, so "unknown" and "not yours" look the same to a coordinator.
 */
export function citizenInScope(scope: DataScope, citizenUnitIds: Iterable<string>): boolean {
  if (scope.allUnits) return true;
  if (scope.units.length === 0) return false;
  const mine = new Set(scope.units);
  for (const unitId of citizenUnitIds) if (mine.has(unitId)) return true;
  return false;
}

/** Throws AuthorizationError('out_of_scope'), whose message is the same for unknown and other units' citizens. */
export function assertCitizenInScope(scope: DataScope, citizenUnitIds: Iterable<string>): void {
  if (!citizenInScope(scope, citizenUnitIds)) throw new AuthorizationError('out_of_scope');
}

/** The units a citizen's history involves: the union of every event's units (order-independent, so a projection can keep it). */
export function involvedUnitsOf(events: Iterable<TransitionEvent>): Set<string> {
  const units = new Set<string>();
  for (const event of events) for (const unitId of unitIdsOf(event)) units.add(unitId);
  return units;
}

export function unitInScope(scope: DataScope, unitId: string): boolean {
  return scope.allUnits || scope.units.includes(unitId);
}

/**
 * For commands: the unit a coordinator acts for (opens a case in, hands over from, accepts into,
 * receives a contact in) must be one of theirs. Administrators act for any unit.
 */
export function assertActsForUnit(principal: Principal, unitId: string): void {
  if (!unitInScope(scopeFor(principal), unitId)) throw new AuthorizationError('unit_out_of_scope');
}

// ── Integrators: sources ────────────────────────────────────────────────────────────────────────────

export interface SourceRefusal {
  /** The event's position in the request. */
  index: number;
  field: 'source';
  message: string;
}

export const SOURCE_REFUSAL_MESSAGE = 'must be one of the source systems named in your token (the sources claim)';

/**
 * Events an integrator may not post: every event must name a `source` among the principal's sources
 * (an event without one is refused too — an integrator does not get to post anonymously). Administrators
 * may post any source. Answers one refusal per offending event (empty = all allowed), in the ingestion
 * endpoint's error shape; the message never repeats the source sent.
 */
export function checkEventSources(principal: Principal, events: readonly { source?: string | null | undefined }[]): SourceRefusal[] {
  if (principal.roles.has('administrator')) return [];
  const sources = new Set(principal.sources);
  const refusals: SourceRefusal[] = [];
  events.forEach((event, index) => {
    if (typeof event.source !== 'string' || !sources.has(event.source)) refusals.push({ index, field: 'source', message: SOURCE_REFUSAL_MESSAGE });
  });
  return refusals;
}

/** Throws AuthorizationError('source_not_permitted') when any event's source is not the principal's. */
export function assertEventSources(principal: Principal, events: readonly { source?: string | null | undefined }[]): void {
  if (checkEventSources(principal, events).length > 0) throw new AuthorizationError('source_not_permitted', 'ingest.events');
}

// ── Subscriptions ───────────────────────────────────────────────────────────────────────────────────

export interface StreamItem {
  /** The event's source system, if any. */
  source?: string | null | undefined;
  /** The units the event (or alert) names. */
  unitIds: readonly string[];
  /**
   * The units the citizen was ever involved with, when the subscription can look them up. Without it a
   * coordinator receives only events that name one of their units (narrower, never wider).
   */
  citizenUnitIds?: Iterable<string> | undefined;
}

/**
 * Whether a live event or alert may be sent to the principal:
 * - administrators: all;
 * - integrators: events from their own source systems, and events naming one of their units (a case
 *   system for a unit learns about handovers into it, whichever system recorded them);
 * - coordinators: events of citizens in their scope;
 * - managers: none (citizen-level), they read aggregates.
 */
export function mayReceive(principal: Principal, item: StreamItem): boolean {
  if (principal.roles.has('administrator')) return true;
  const units = new Set(principal.units);
  if (principal.roles.has('integrator')) {
    if (typeof item.source === 'string' && principal.sources.includes(item.source)) return true;
    if (item.unitIds.some((u) => units.has(u))) return true;
  }
  if (principal.roles.has('coordinator')) {
    const involved = item.citizenUnitIds ?? item.unitIds;
    for (const unitId of involved) if (units.has(unitId)) return true;
  }
  return false;
}

// ── Aggregates ──────────────────────────────────────────────────────────────────────────────────────

/** Cells counting fewer citizens than this are suppressed in manager aggregates (domain.md §6). */
export const MIN_CELL_SIZE = 5;

/**
 * A count as a manager may see it: null when 1–4 (suppressed), the count otherwise (0 says nothing
 * about anyone). Derived figures of a suppressed cell (medians, percentiles) must be suppressed with it.
 */
export function suppressSmallCell(count: number, minimum = MIN_CELL_SIZE): number | null {
  return count > 0 && count < minimum ? null : count;
}

/** An aggregate row (a flow edge) is in a manager's scope when it touches one of their units. */
export function aggregateInScope(scope: DataScope, unitIds: readonly (string | null | undefined)[]): boolean {
  if (scope.allUnits) return true;
  return unitIds.some((u) => typeof u === 'string' && scope.units.includes(u));
}
