/**
 * The outbox's rows, the same columns on SQLite and PostgreSQL: one table for deadline and gap
 * alerts, so the alert stream has one sequence and a relay one offset. `subject_id` is the clock or
 * gap within the citizen; the other columns are the alert's, NULL where they do not apply.
 */
import type { DeadlineAlertKind, GapKind } from '@tracker/domain';
import type { ClockCandidate, GapCandidate, NewAlert } from './alertDecisions.ts';
import type { GapAlertKind, RecordedAlert } from './alertRecords.ts';
import type { DeadlineClockRow } from '../deadlines/deadlineDerivation.ts';

export const OUTBOX_TABLE = 'alert_outbox';
export const STATE_TABLE = 'alert_state';

/** Every column but `sequence`, in insert order. */
export const OUTBOX_COLUMNS = [
  'about',
  'citizen_id',
  'subject_id',
  'kind',
  'at_ms',
  'detected_ms',
  'started_ms',
  'due_ms',
  'at_risk_ms',
  'stopped_ms',
  'ended_ms',
  'policy',
  'unit_id',
  'gap_kind',
  'from_unit_id',
  'to_unit_id',
  'relative_id',
  'published',
] as const;

export type OutboxColumn = (typeof OUTBOX_COLUMNS)[number];

export interface OutboxRow {
  sequence: number;
  about: 'deadline' | 'gap';
  citizen_id: string;
  subject_id: string;
  kind: string;
  at_ms: number;
  detected_ms: number;
  started_ms: number;
  due_ms: number | null;
  at_risk_ms: number | null;
  stopped_ms: number | null;
  ended_ms: number | null;
  policy: string | null;
  unit_id: string | null;
  gap_kind: string | null;
  from_unit_id: string | null;
  to_unit_id: string | null;
  relative_id: string | null;
}

/** An alert's cells by column (published as a boolean; each adapter stores it its own way). */
export function outboxCells({ publish, ...a }: NewAlert): Record<OutboxColumn, string | number | boolean | null> {
  const common = { about: a.about, citizen_id: a.citizenId, kind: a.kind, at_ms: a.atMs, detected_ms: a.detectedMs, started_ms: a.startedMs, published: publish };
  if (a.about === 'deadline') {
    return {
      ...common,
      subject_id: a.clockId,
      due_ms: a.dueMs,
      at_risk_ms: a.atRiskMs,
      stopped_ms: a.stoppedMs,
      ended_ms: null,
      policy: a.policy,
      unit_id: a.unitId,
      gap_kind: null,
      from_unit_id: null,
      to_unit_id: null,
      relative_id: null,
    };
  }
  return {
    ...common,
    subject_id: a.gapKey,
    due_ms: a.dueMs,
    at_risk_ms: null,
    stopped_ms: null,
    ended_ms: a.endedMs,
    policy: null,
    unit_id: null,
    gap_kind: a.gapKind,
    from_unit_id: a.fromUnitId,
    to_unit_id: a.toUnitId,
    relative_id: a.relativeId,
  };
}

export function recordedAlertOf(r: OutboxRow): RecordedAlert {
  if (r.about === 'deadline') {
    return {
      about: 'deadline',
      sequence: r.sequence,
      kind: r.kind as DeadlineAlertKind,
      citizenId: r.citizen_id,
      clockId: r.subject_id,
      policy: r.policy!,
      unitId: r.unit_id,
      atMs: r.at_ms,
      detectedMs: r.detected_ms,
      startedMs: r.started_ms,
      dueMs: r.due_ms!,
      atRiskMs: r.at_risk_ms!,
      stoppedMs: r.stopped_ms,
    };
  }
  return {
    about: 'gap',
    sequence: r.sequence,
    kind: r.kind as GapAlertKind,
    citizenId: r.citizen_id,
    gapKey: r.subject_id,
    gapKind: r.gap_kind as GapKind,
    fromUnitId: r.from_unit_id,
    toUnitId: r.to_unit_id,
    relativeId: r.relative_id,
    atMs: r.at_ms,
    detectedMs: r.detected_ms,
    startedMs: r.started_ms,
    endedMs: r.ended_ms,
    dueMs: r.due_ms,
  };
}

/** The alert as recorded, once the outbox gave it its sequence number. */
export function sequenced({ publish: _publish, ...alert }: NewAlert, sequence: number): RecordedAlert {
  return { ...alert, sequence } as RecordedAlert;
}

/** The row columns the candidates are read from (deadline_clocks and the gaps' primary rows). */
export const CLOCK_COLUMNS = 'citizen_id, clock_id, policy, unit_id, started_ms, due_ms, at_risk_ms, stopped_ms, visible_from_ms, visible_until_ms, start_position, source_position';
export const GAP_COLUMNS = 'citizen_id, gap_key, kind, from_unit_id, to_unit_id, relative_id, started_ms, ended_ms, due_ms, start_position, end_position';

export type ClockRow = DeadlineClockRow;

export interface GapRow {
  citizen_id: string;
  gap_key: string;
  kind: string;
  from_unit_id: string | null;
  to_unit_id: string | null;
  relative_id: string | null;
  started_ms: number;
  ended_ms: number | null;
  due_ms: number | null;
  start_position: number;
  end_position: number;
}

export const clockCandidate = (r: ClockRow): ClockCandidate => ({
  citizenId: r.citizen_id,
  clockId: r.clock_id,
  policy: r.policy,
  unitId: r.unit_id,
  startedMs: r.started_ms,
  dueMs: r.due_ms,
  atRiskMs: r.at_risk_ms,
  stoppedMs: r.stopped_ms,
  visibleFromMs: r.visible_from_ms,
  visibleUntilMs: r.visible_until_ms,
  startPosition: r.start_position,
  stopPosition: r.source_position,
});

export const gapCandidate = (r: GapRow): GapCandidate => ({
  citizenId: r.citizen_id,
  gapKey: r.gap_key,
  gapKind: r.kind as GapKind,
  fromUnitId: r.from_unit_id,
  toUnitId: r.to_unit_id,
  relativeId: r.relative_id,
  startedMs: r.started_ms,
  endedMs: r.ended_ms,
  dueMs: r.due_ms,
  startPosition: r.start_position,
  stopPosition: r.end_position,
});

/** The instants at which rows change state by time alone, per table (gaps: primary rows only). */
export const CLOCK_INSTANTS = ['at_risk_ms', 'due_ms', 'stopped_ms', 'visible_from_ms'] as const;
/** until_ms is the end, or OPEN_UNTIL (never within a check's window) while open. */
export const GAP_INSTANTS = ['started_ms', 'due_ms', 'until_ms'] as const;
