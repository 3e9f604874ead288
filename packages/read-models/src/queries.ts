/**
 * What the read models answer. Every query takes `asOf` (epoch ms): the answer is the world as it
 * stood then — events with occurredAt ≤ asOf, statuses evaluated at asOf. Adapters (SQLite here,
 * PostgreSQL in distributed mode) implement this port; the API only sees this port.
 */
import type { HandoverStatus } from '@tracker/domain';

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
  citizen(citizenId: string, asOf: number): Promise<CitizenView | null>;
  timeline(citizenId: string, asOf: number): Promise<TimelineEntry[]>;
  responsibilities(citizenId: string, asOf: number): Promise<Responsibility[]>;
  citizenHandovers(citizenId: string, asOf: number): Promise<HandoverView[]>;
  handovers(filter: HandoverFilter, page: PageRequest): Promise<Page<HandoverView>>;
  /** Global position of the last event the read models have applied. */
  checkpoint(): Promise<number>;
}
