/**
 * What the API may ask about gaps, relatives and anomalies (domain.md §4, issue 4). Every query takes
 * `asOf` (epoch ms) and answers as the world stood then. Adapters: SQLite here (sqliteGapQueries.ts);
 * PostgreSQL in distributed mode answers the same from the same derived rows.
 */
import type { StreamAnomalyKind, GapKind } from '@tracker/domain';
import type { DataScope, Page, PageRequest } from '../queries.ts';

export interface GapView {
  kind: GapKind;
  citizenId: string;
  fromUnitId: string | null;
  toUnitId: string | null;
  relativeId: string | null;
  /** The handover, closed case, contact or relative the gap is about; null for AGE_CLIFF. */
  subjectId: string | null;
  startedAt: string;
  /** Null while open at asOf. */
  endedAt: string | null;
  /** The deadline, where one applies (HANDOVER_PENDING, RELATIVE_UNANSWERED). */
  dueAt: string | null;
  /** Copenhagen calendar days from the start to the end, or to asOf while open. */
  durationDays: number;
  open: boolean;
  overdue: boolean;
}

export interface GapFilter {
  kind?: GapKind;
  /** Gaps that name the unit as their from or to unit. */
  unitId?: string;
  /** Open at asOf (started, not ended). false: ended by asOf. */
  open?: boolean;
  overdue?: boolean;
  asOf: number;
}

export interface CitizenGapFilter {
  kind?: GapKind;
  open?: boolean;
}

export interface RelativeContactView {
  contactId: string;
  /** The unit the relative turned to. */
  unitId: string | null;
  receivedAt: string;
  answeredAt: string | null;
  dueAt: string | null;
  overdue: boolean;
}

export interface RelativeView {
  id: string;
  relation: string;
  /** Custody (forældremyndighed) at asOf; it ends when the citizen turns 18. */
  custody: boolean;
  /** Representation basis at asOf: fuldmagt, vaergemaal or samtykke; null when none was granted. */
  representation: string | null;
  linkedAt: string;
  representationGrantedAt: string | null;
  /** The relative's contacts received by asOf, and whether and when they were answered. */
  contacts: RelativeContactView[];
}

export interface AnomalyView {
  kind: StreamAnomalyKind;
  eventId: string;
  eventType: string;
  occurredAt: string;
  source: string | null;
  subjectId: string | null;
  description: string;
}

export interface AnomalyCountView {
  /** The sending system; null for facts that named none. */
  source: string | null;
  kind: StreamAnomalyKind;
  count: number;
}

/**
 * Whose anomalies an anomaly count covers: the citizens in `scope`, and — for integrators — only the
 * facts their own source systems sent. `minCitizens` withholds rows resting on fewer distinct
 * citizens (managers' small-cell rule, domain.md §6); a withheld row is left out, not shown as 0.
 */
export interface AnomalyCountScope {
  scope: DataScope;
  sources?: readonly string[];
  minCitizens?: number;
}

/** Every query takes the caller's data scope and reads only rows of citizens in it (queries.ts). */
export interface GapQueries {
  /** Gaps across the scope's citizens, oldest start first (then citizen, then gap). */
  gaps(filter: GapFilter, page: PageRequest, scope: DataScope): Promise<Page<GapView>>;
  /** One citizen's gaps at asOf, oldest start first. */
  citizenGaps(citizenId: string, asOf: number, filter: CitizenGapFilter, scope: DataScope): Promise<GapView[]>;
  /** One citizen's relatives linked by asOf, in order of linking. */
  relatives(citizenId: string, asOf: number, scope: DataScope): Promise<RelativeView[]>;
  /** One citizen's anomalies that had occurred by asOf, in world order. */
  anomalies(citizenId: string, asOf: number, scope: DataScope): Promise<AnomalyView[]>;
  /** Anomalies that had occurred by asOf, counted per source system and kind. */
  anomalyCounts(asOf: number, scope: AnomalyCountScope): Promise<AnomalyCountView[]>;
}
