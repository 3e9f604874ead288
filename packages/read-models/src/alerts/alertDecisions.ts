/**
 * Which state changes are news, decided without storage (alertScheduler.ts runs it over a store).
 *
 * A check looks at the rows that may have changed since the last one — those with an instant in
 * (checkedUntil, now], and those whose events arrived since — and records:
 * - every change at an instant in (checkedUntil, now]: time passed it;
 * - a change at or before checkedUntil only when the events it depends on just arrived (`news`): a
 *   late event revealed it. AT_RISK, BREACHED, OPENED and OVERDUE depend on the events up to the start
 *   (`startPosition`), MET_LATE and CLOSED on those up to the stop or end (`stopPosition`, which
 *   includes the start's). A row re-derived because of an unrelated event keeps its positions, so its
 *   past is not news.
 * Recorded but not published (kept so it is never published later): a change discovered more than the
 * late-discovery horizon after it happened (a backfill from a case system), and an AT_RISK that is no
 * longer current when found (met or breached since): the change that superseded it is the news.
 */
import { alertTransitions, deadlineStatusAt, type DeadlineAlertKind, type GapKind } from '@tracker/domain';
import type { GapAlertKind, UnsequencedAlert } from './alertRecords.ts';

/** A deadline clock as stored (deadline_clocks), with the positions that make its changes news. */
export interface ClockCandidate {
  citizenId: string;
  clockId: string;
  policy: string;
  unitId: string | null;
  startedMs: number;
  dueMs: number;
  atRiskMs: number;
  stoppedMs: number | null;
  visibleFromMs: number;
  visibleUntilMs: number | null;
  /** Latest position among the events that start the clock. */
  startPosition: number;
  /** Latest position among the events that start or stop it. */
  stopPosition: number;
}

/** A gap as stored (gaps, its primary row), with the positions that make its changes news. */
export interface GapCandidate {
  citizenId: string;
  gapKey: string;
  gapKind: GapKind;
  fromUnitId: string | null;
  toUnitId: string | null;
  relativeId: string | null;
  startedMs: number;
  endedMs: number | null;
  dueMs: number | null;
  /** Latest position among the events that occurred at or before the start. */
  startPosition: number;
  /** … at or before the end (the start while open). */
  stopPosition: number;
}

/** The rows a check looks at, from a store. */
export interface AlertCandidates {
  clocks: readonly ClockCandidate[];
  gaps: readonly GapCandidate[];
  /** Whether the event at this position of this citizen arrived since the last check. */
  news(citizenId: string, position: number): boolean;
  /** The store holds more arrived events than this check took: check again at once. */
  more?: boolean;
}

export type NewAlert = UnsequencedAlert & { publish: boolean };

export interface DecisionContext {
  /** Every change up to this instant was recorded by earlier checks. */
  checkedUntil: number;
  now: number;
  lateDiscoveryHorizonMs: number;
}

/**
 * A gap's changes: OPENED at its start; OVERDUE at its due instant if it had not ended before it
 * (ending exactly at due is late, gapAsOf's rule); CLOSED at its end. A PING_PONG is a marker, not an
 * interval: it only opens.
 */
export function gapTransitions(gap: Pick<GapCandidate, 'gapKind' | 'startedMs' | 'endedMs' | 'dueMs'>): { kind: GapAlertKind; at: number }[] {
  const out: { kind: GapAlertKind; at: number }[] = [{ kind: 'OPENED', at: gap.startedMs }];
  if (gap.gapKind === 'PING_PONG') return out;
  if (gap.dueMs !== null && (gap.endedMs === null || gap.endedMs >= gap.dueMs)) out.push({ kind: 'OVERDUE', at: Math.max(gap.dueMs, gap.startedMs) });
  if (gap.endedMs !== null) out.push({ kind: 'CLOSED', at: gap.endedMs });
  return out;
}

/** Order within an instant: a warning or opening before a breach, before a late stop or an end. */
const RANK: Record<DeadlineAlertKind | GapAlertKind, number> = { AT_RISK: 0, OPENED: 0, BREACHED: 1, OVERDUE: 1, MET_LATE: 2, CLOSED: 2 };

const subjectOf = (a: UnsequencedAlert) => (a.about === 'deadline' ? a.clockId : a.gapKey);

/** The changes to record, in the order they happened (then kind, citizen, subject). */
export function newAlerts(candidates: AlertCandidates, { checkedUntil, now, lateDiscoveryHorizonMs }: DecisionContext): NewAlert[] {
  const found: NewAlert[] = [];
  /** Whether a change at `at` is to be recorded now, given the position its news depends on. */
  const isNew = (citizenId: string, at: number, position: number) => at <= now && (at > checkedUntil || candidates.news(citizenId, position));
  const tooLate = (at: number) => at <= checkedUntil && at < now - lateDiscoveryHorizonMs;

  const clocks = new Map<string, ClockCandidate>();
  for (const c of candidates.clocks) clocks.set(`${c.citizenId}\u0000${c.clockId}\u0000${c.visibleFromMs}`, c);
  for (const c of clocks.values()) {
    const instants = { atRiskAt: c.atRiskMs, dueAt: c.dueMs, stoppedAt: c.stoppedMs };
    const current = deadlineStatusAt(instants, now);
    for (const { kind, at } of alertTransitions({ ...instants, visibleFrom: c.visibleFromMs, visibleUntil: c.visibleUntilMs })) {
      if (!isNew(c.citizenId, at, kind === 'MET_LATE' ? c.stopPosition : c.startPosition)) continue;
      found.push({
        about: 'deadline',
        kind,
        citizenId: c.citizenId,
        clockId: c.clockId,
        policy: c.policy,
        unitId: c.unitId,
        atMs: at,
        detectedMs: now,
        startedMs: c.startedMs,
        dueMs: c.dueMs,
        atRiskMs: c.atRiskMs,
        stoppedMs: c.stoppedMs,
        publish: !tooLate(at) && !(kind === 'AT_RISK' && current !== 'AT_RISK'),
      });
    }
  }

  const gaps = new Map<string, GapCandidate>();
  for (const g of candidates.gaps) gaps.set(`${g.citizenId}\u0000${g.gapKey}`, g);
  for (const g of gaps.values()) {
    for (const { kind, at } of gapTransitions(g)) {
      if (!isNew(g.citizenId, at, kind === 'CLOSED' ? g.stopPosition : g.startPosition)) continue;
      found.push({
        about: 'gap',
        kind,
        citizenId: g.citizenId,
        gapKey: g.gapKey,
        gapKind: g.gapKind,
        fromUnitId: g.fromUnitId,
        toUnitId: g.toUnitId,
        relativeId: g.relativeId,
        atMs: at,
        detectedMs: now,
        startedMs: g.startedMs,
        endedMs: g.endedMs,
        dueMs: g.dueMs,
        publish: !tooLate(at),
      });
    }
  }

  return found.sort(
    (a, b) =>
      a.atMs - b.atMs ||
      RANK[a.kind] - RANK[b.kind] ||
      a.citizenId.localeCompare(b.citizenId) ||
      (a.about === b.about ? 0 : a.about === 'deadline' ? -1 : 1) ||
      subjectOf(a).localeCompare(subjectOf(b)),
  );
}
