/**
 * What the read models answer. Every query takes `asOf` (epoch ms): the answer is the world as it
 * stood then — events with occurredAt ≤ asOf, statuses evaluated at asOf. Adapters (SQLite here,
 * PostgreSQL in distributed mode) implement this port; the API only sees this port.
 *
 * Every query also takes the caller's data scope (`scopeFor(principal)` in @tracker/security), and the
 * adapter ANDs it into its SQL: a citizen is in a scope when one of its units was ever involved with
 * them (the `citizen_units` set the projection keeps). Rows outside the scope are never read, so no
 * resolver can forget to filter them. Administrators' scope is `ALL_UNITS`.
 */
import type { HandoverStatus } from '@tracker/domain';
import type { DataScope } from '@tracker/security';

export type { DataScope } from '@tracker/security';

export interface TimelineEntry {
  eventId: string;
  type: string;
  occurredAt: string;
  recordedAt: string;
  unitId: string | null;
  summary: string;
}

export interface Responsibility {
  caseId: string;
  unitId: string;
  openedAt: string;
  closedAt: string | null;
}

export interface HandoverView {
  id: string;
  citizenId: string;
  fromUnitId: string;
  toUnitId: string;
  kind: string;
  status: HandoverStatus;
  initiatedAt: string;
  /** When it stopped being pending (accepted, rejected or cancelled), as of asOf. */
  resolvedAt: string | null;
  /** The acceptance deadline (policy overdragelse-accept). */
  dueAt: string;
  /** Not resolved by its due instant, judged at asOf. */
  overdue: boolean;
}

export interface CitizenView {
  id: string;
  birthDate: string | null;
  municipality: string | null;
}

export interface HandoverFilter {
  status?: HandoverStatus;
  /** Either side of the handover. */
  unitId?: string;
  overdue?: boolean;
  asOf: number;
}

export interface Page<T> {
  nodes: T[];
  totalCount: number;
  hasNextPage: boolean;
}

export interface PageRequest {
  first: number;
  /** Offset of the first node to return. */
  offset: number;
}

export interface ReadModelQueries {
  /** Null when the citizen is unknown at asOf OR outside the scope: the two are not told apart. */
  citizen(citizenId: string, asOf: number, scope: DataScope): Promise<CitizenView | null>;
  timeline(citizenId: string, asOf: number, scope: DataScope): Promise<TimelineEntry[]>;
  responsibilities(citizenId: string, asOf: number, scope: DataScope): Promise<Responsibility[]>;
  citizenHandovers(citizenId: string, asOf: number, scope: DataScope): Promise<HandoverView[]>;
  /** Handovers of citizens in the scope. */
  handovers(filter: HandoverFilter, page: PageRequest, scope: DataScope): Promise<Page<HandoverView>>;
  /**
   * Every unit ever involved with the citizen (the input of `citizenInScope` / `mayReceive`); empty for
   * a citizen the read models do not know. Not itself scoped: it answers a policy question, it is not
   * shown to anyone.
   */
  citizenUnits(citizenId: string): Promise<string[]>;
  /** Global position of the last event the read models have applied. */
  checkpoint(): Promise<number>;
}
