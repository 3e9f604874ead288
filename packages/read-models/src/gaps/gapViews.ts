/**
 * The stored rows of gapsDerivation shaped into the port's views at `asOf`: the part of every gap-query
 * adapter that is not SQL (Copenhagen ISO instants, durations in Copenhagen calendar days, overdue,
 * relatives as they stood, the small-cell rule). SQLite and PostgreSQL both map through here, so their
 * answers cannot drift apart; each adapter's SQL only selects which rows, in which order.
 */
import {
  ANOMALY_DESCRIPTIONS,
  formatCopenhagenInstant,
  gapAsOf,
  relativesAsOf,
  type Gap,
  type GapKind,
  type RelativeFact,
  type StreamAnomalyKind,
} from '@tracker/domain';
import type { AnomalyCountView, AnomalyView, CitizenGapFilter, GapView, RelativeContactView, RelativeView } from './gapQueries.ts';

/** A row of the gaps table, as the adapters select it (GAP_COLUMNS). */
export interface GapRow {
  citizen_id: string;
  gap_key: string;
  kind: GapKind;
  from_unit_id: string | null;
  to_unit_id: string | null;
  relative_id: string | null;
  subject_id: string | null;
  started_ms: number;
  ended_ms: number | null;
  due_ms: number | null;
}

/** The gaps table's columns a GapRow holds, in select order. */
export const GAP_COLUMNS: readonly (keyof GapRow)[] = [
  'citizen_id',
  'gap_key',
  'kind',
  'from_unit_id',
  'to_unit_id',
  'relative_id',
  'subject_id',
  'started_ms',
  'ended_ms',
  'due_ms',
];

/** The gap as it stood at asOf; the row must have started by then (the adapters' SQL ensures it). */
export function toGapView(row: GapRow, asOf: number): GapView {
  const gap: Gap = {
    kind: row.kind,
    key: row.gap_key,
    subjectId: row.subject_id,
    fromUnitId: row.from_unit_id,
    toUnitId: row.to_unit_id,
    relativeId: row.relative_id,
    startedMs: row.started_ms,
    endedMs: row.ended_ms,
    dueMs: row.due_ms,
  };
  const g = gapAsOf(gap, asOf)!;
  return {
    kind: g.kind,
    citizenId: row.citizen_id,
    fromUnitId: g.fromUnitId,
    toUnitId: g.toUnitId,
    relativeId: g.relativeId,
    subjectId: g.subjectId,
    startedAt: formatCopenhagenInstant(g.startedMs),
    endedAt: g.endedMs === null ? null : formatCopenhagenInstant(g.endedMs),
    dueAt: g.dueMs === null ? null : formatCopenhagenInstant(g.dueMs),
    durationDays: g.durationDays,
    open: g.open,
    overdue: g.overdue,
  };
}

/** One citizen's gaps at asOf, narrowed by the citizen filter (openness is only known after gapAsOf). */
export function citizenGapViews(rows: readonly GapRow[], asOf: number, filter: CitizenGapFilter): GapView[] {
  return rows
    .map((r) => toGapView(r, asOf))
    .filter((g) => (filter.kind === undefined || g.kind === filter.kind) && (filter.open === undefined || g.open === filter.open));
}

/** A row of the relatives table: one linking or one granted representation. */
export interface RelativeFactRow {
  fact: 'linked' | 'representation';
  relative_id: string;
  at_ms: number;
  relation: string | null;
  custody: number | null;
  custody_ends_ms: number | null;
  basis: string | null;
}

export const RELATIVE_FACT_COLUMNS: readonly (keyof RelativeFactRow)[] = ['fact', 'relative_id', 'at_ms', 'relation', 'custody', 'custody_ends_ms', 'basis'];

/**
 * The relatives at asOf from their facts (in derivation order) and their contacts: the citizen's
 * RELATIVE_UNANSWERED gap rows, oldest first.
 */
export function relativeViews(factRows: readonly RelativeFactRow[], contactRows: readonly GapRow[], asOf: number): RelativeView[] {
  const facts: RelativeFact[] = factRows.map((r) =>
    r.fact === 'linked'
      ? { kind: 'linked', relativeId: r.relative_id, ms: r.at_ms, relation: r.relation ?? 'other', custody: r.custody === 1, custodyEndsMs: r.custody_ends_ms }
      : { kind: 'representation', relativeId: r.relative_id, ms: r.at_ms, basis: r.basis ?? '' },
  );
  const contacts = new Map<string, RelativeContactView[]>();
  for (const row of contactRows) {
    if (row.relative_id === null) continue;
    const g = toGapView(row, asOf);
    const list = contacts.get(row.relative_id) ?? [];
    list.push({ contactId: g.subjectId!, unitId: g.toUnitId, receivedAt: g.startedAt, answeredAt: g.endedAt, dueAt: g.dueAt, overdue: g.overdue });
    contacts.set(row.relative_id, list);
  }
  return relativesAsOf(facts, asOf).map((r) => ({
    id: r.relativeId,
    relation: r.relation,
    custody: r.custody,
    representation: r.representation,
    linkedAt: formatCopenhagenInstant(r.linkedMs),
    representationGrantedAt: r.representationMs === null ? null : formatCopenhagenInstant(r.representationMs),
    contacts: contacts.get(r.relativeId) ?? [],
  }));
}

/** A row of the anomalies table. */
export interface AnomalyRow {
  kind: StreamAnomalyKind;
  event_id: string;
  event_type: string;
  occurred_ms: number;
  source: string | null;
  subject_id: string | null;
}

export const ANOMALY_COLUMNS: readonly (keyof AnomalyRow)[] = ['kind', 'event_id', 'event_type', 'occurred_ms', 'source', 'subject_id'];

export function toAnomalyView(row: AnomalyRow): AnomalyView {
  return {
    kind: row.kind,
    eventId: row.event_id,
    eventType: row.event_type,
    occurredAt: formatCopenhagenInstant(row.occurred_ms),
    source: row.source,
    subjectId: row.subject_id,
    description: ANOMALY_DESCRIPTIONS[row.kind],
  };
}

/** One cell of the anomaly counts: how many anomalies, resting on how many distinct citizens. */
export interface AnomalyCountRow {
  source: string | null;
  kind: StreamAnomalyKind;
  n: number;
  citizens: number;
}

/** The cells shown: those resting on at least `minCitizens` citizens (the small-cell rule); the rest are left out, not zeroed. */
export function anomalyCountViews(rows: readonly AnomalyCountRow[], minCitizens: number): AnomalyCountView[] {
  return rows.filter((r) => r.citizens >= minCitizens).map((r) => ({ source: r.source, kind: r.kind, count: r.n }));
}
