/**
 * Gaps, relatives and anomalies as a per-citizen derivation (derived.ts): after every batch, each
 * touched citizen's history is analysed again (analyseCitizen, pure) and their rows replaced. Rows
 * hold intervals from the whole history; queries restrict them to `asOf` (sqliteGapQueries.ts).
 *
 * The gaps table has one row per gap and unit it names (from, to), so "open gaps of one unit at asOf"
 * is one index range: (unit_id, until_ms > asOf, started_ms ≤ asOf). `until_ms` is the end, or
 * OPEN_UNTIL while the gap has no end, so "open at asOf" needs no OR — and the gaps without an end, the
 * bulk of the open ones, sit in the index in page order (started_ms, citizen_id, gap_key) under one
 * until_ms value. One row per gap carries is_primary = 1 for queries across all units and per citizen.
 *
 * `start_position` and `end_position` tell the alert scheduler (alerts/) which gaps a batch changed:
 * the latest global position among the events that occurred at or before the gap's start (its end;
 * the start while open). Every rule decides a start or end only from facts at or before it
 * (docs/gaps.md), so an event that can change one is among those; a gap re-derived because of an
 * event that occurred later keeps its positions, so its past is not news.
 */
import { analyseCitizen, instantMs, unitsOfGap, type GapRules, type StoredEvent, type UnitSector } from '@tracker/domain';
import type { CitizenDerivation, DerivedRow, DerivedTable } from '../derived.ts';

/** Stands for "no end" in until_ms: the largest instant a Date can hold. */
export const OPEN_UNTIL = 8_640_000_000_000_000;

export const GAPS_TABLE = 'gaps';
export const RELATIVES_TABLE = 'citizen_relatives';
export const ANOMALIES_TABLE = 'citizen_anomalies';

const tables: readonly DerivedTable[] = [
  {
    name: GAPS_TABLE,
    columns: {
      gap_key: 'text',
      kind: 'text',
      unit_id: 'text',
      is_primary: 'integer',
      from_unit_id: 'text',
      to_unit_id: 'text',
      relative_id: 'text',
      subject_id: 'text',
      started_ms: 'integer',
      ended_ms: 'integer',
      until_ms: 'integer',
      due_ms: 'integer',
      start_position: 'integer',
      end_position: 'integer',
    },
    // Covering for every filter (kind, due_ms) and for the page order (started_ms, citizen_id,
    // gap_key): queries count and pick a page's rows inside the index, then read only those rows.
    indexes: [
      ['unit_id', 'until_ms', 'started_ms', 'citizen_id', 'gap_key', 'kind', 'due_ms'],
      ['is_primary', 'until_ms', 'started_ms', 'citizen_id', 'gap_key', 'kind', 'due_ms'],
      ['kind', 'is_primary', 'until_ms', 'started_ms', 'citizen_id', 'gap_key', 'due_ms'],
      // The alert scheduler: starts and due instants passing (ends pass in until_ms above), and gaps
      // whose events arrived.
      ['started_ms'],
      ['due_ms'],
      ['end_position'],
    ],
  },
  {
    name: RELATIVES_TABLE,
    // ordinal: the fact's place in the citizen's world order, so facts at one instant keep it on every engine.
    columns: { ordinal: 'integer', fact: 'text', relative_id: 'text', at_ms: 'integer', relation: 'text', custody: 'integer', custody_ends_ms: 'integer', basis: 'text' },
  },
  {
    name: ANOMALIES_TABLE,
    columns: { ordinal: 'integer', kind: 'text', event_id: 'text', event_type: 'text', occurred_ms: 'integer', source: 'text', subject_id: 'text' },
    indexes: [['source', 'kind', 'occurred_ms']],
  },
];

export interface GapsDerivationOptions {
  /** The configured units (sectors decide AGE_CLIFF and handovers out of the kommune). */
  units: { sectorOf(unitId: string): UnitSector | undefined };
  /** Policy overdragelse-accept: the due instant of a handover initiated at startMs. */
  handoverAcceptanceDue(startMs: number): number;
  /** Policy paarorende-svar: the due instant of a relative's contact received at startMs. */
  relativeAnswerDue(startMs: number): number;
}

/**
 * The derivation. Bump `version` when a rule changes meaning; the deadline policies are
 * configuration and belong in the read model's configFingerprint.
 */
export function gapsDerivation(options: GapsDerivationOptions): CitizenDerivation {
  const rules: GapRules = {
    sectorOf: (unitId) => options.units.sectorOf(unitId),
    handoverAcceptanceDue: options.handoverAcceptanceDue,
    relativeAnswerDue: options.relativeAnswerDue,
  };
  return {
    name: 'gaps',
    // 2: start_position and end_position, for the alert scheduler. 3: ordinal on relatives and anomalies.
    version: 3,
    tables,
    derive(_citizenId: string, history: readonly StoredEvent[]) {
      const { gaps, anomalies, relativeFacts } = analyseCitizen(history, rules);
      const positionAt = latestPositionAt(history);
      const gapRows: DerivedRow[] = [];
      for (const g of gaps) {
        const row = {
          gap_key: g.key,
          kind: g.kind,
          from_unit_id: g.fromUnitId,
          to_unit_id: g.toUnitId,
          relative_id: g.relativeId,
          subject_id: g.subjectId,
          started_ms: g.startedMs,
          ended_ms: g.endedMs,
          until_ms: g.endedMs ?? OPEN_UNTIL,
          due_ms: g.dueMs,
          start_position: positionAt(g.startedMs),
          end_position: positionAt(g.endedMs ?? g.startedMs),
        };
        const units = unitsOfGap(g);
        if (units.length === 0) gapRows.push({ ...row, unit_id: null, is_primary: 1 });
        units.forEach((unitId, i) => gapRows.push({ ...row, unit_id: unitId, is_primary: i === 0 ? 1 : 0 }));
      }
      return {
        [GAPS_TABLE]: gapRows,
        [RELATIVES_TABLE]: relativeFacts.map((f, ordinal) =>
          f.kind === 'linked'
            ? { ordinal, fact: f.kind, relative_id: f.relativeId, at_ms: f.ms, relation: f.relation, custody: f.custody ? 1 : 0, custody_ends_ms: f.custodyEndsMs, basis: null }
            : { ordinal, fact: f.kind, relative_id: f.relativeId, at_ms: f.ms, relation: null, custody: null, custody_ends_ms: null, basis: f.basis },
        ),
        [ANOMALIES_TABLE]: anomalies.map((a, ordinal) => ({
          ordinal,
          kind: a.kind,
          event_id: a.eventId,
          event_type: a.eventType,
          occurred_ms: a.occurredMs,
          source: a.source,
          subject_id: a.subjectId,
        })),
      };
    },
  };
}

/** The latest global position among the events that occurred at or before an instant (0 when none). */
function latestPositionAt(history: readonly StoredEvent[]): (ms: number) => number {
  // Derivations receive histories in world order; sorted again only if one is not.
  let events = history.map((e) => ({ ms: instantMs(e.occurredAt), position: e.globalPosition }));
  if (events.some((e, i) => i > 0 && e.ms < events[i - 1]!.ms)) events = [...events].sort((a, b) => a.ms - b.ms);
  const times = events.map((e) => e.ms);
  const latest: number[] = [];
  for (const [i, e] of events.entries()) latest.push(Math.max(latest[i - 1] ?? 0, e.position));
  return (ms) => {
    // The last event at or before ms: binary search over the non-decreasing occurrence instants.
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (times[mid]! <= ms) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : latest[lo - 1]!;
  };
}
