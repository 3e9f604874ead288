/**
 * The scheduler's decisions without storage: a gap's changes, which past changes are news, the
 * late-discovery horizon, the superseded AT_RISK, and the order of one check's alerts; and its options.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import { gapTransitions, newAlerts, type AlertCandidates, type ClockCandidate, type GapCandidate } from './alertDecisions.ts';
import { AlertScheduler, type AlertStore } from './alertScheduler.ts';

const H = 3_600_000;
const DAY = 24 * H;

const gap = (over: Partial<GapCandidate> = {}): GapCandidate => ({
  citizenId: 'c-1',
  gapKey: 'HANDOVER_PENDING:h1',
  gapKind: 'HANDOVER_PENDING',
  fromUnitId: 'u-from',
  toUnitId: 'u-to',
  relativeId: null,
  startedMs: 0,
  endedMs: null,
  dueMs: 10 * DAY,
  startPosition: 1,
  stopPosition: 1,
  ...over,
});

const clock = (over: Partial<ClockCandidate> = {}): ClockCandidate => ({
  citizenId: 'c-1',
  clockId: 'underretning-24h:n1',
  policy: 'underretning-24h',
  unitId: 'u-from',
  startedMs: 0,
  dueMs: 24 * H,
  atRiskMs: 18 * H,
  stoppedMs: null,
  visibleFromMs: 0,
  visibleUntilMs: null,
  startPosition: 1,
  stopPosition: 1,
  ...over,
});

const candidates = (parts: Partial<AlertCandidates>, newPositions: number[] = []): AlertCandidates => ({
  clocks: [],
  gaps: [],
  news: (_citizenId, position) => newPositions.includes(position),
  ...parts,
});

const kinds = (alerts: { about: string; kind: string; publish: boolean }[]) => alerts.map((a) => `${a.about} ${a.kind}${a.publish ? '' : ' (unpublished)'}`);

describe('gap transitions', () => {
  it('opens at the start, is overdue at due while still open, closes at the end', () => {
    expect(gapTransitions(gap())).toEqual([
      { kind: 'OPENED', at: 0 },
      { kind: 'OVERDUE', at: 10 * DAY },
    ]);
    expect(gapTransitions(gap({ endedMs: 12 * DAY }))).toEqual([
      { kind: 'OPENED', at: 0 },
      { kind: 'OVERDUE', at: 10 * DAY },
      { kind: 'CLOSED', at: 12 * DAY },
    ]);
  });

  it('is not overdue when it ended before due; ending exactly at due is late', () => {
    expect(gapTransitions(gap({ endedMs: 10 * DAY - 1 })).map((t) => t.kind)).toEqual(['OPENED', 'CLOSED']);
    expect(gapTransitions(gap({ endedMs: 10 * DAY })).map((t) => t.kind)).toEqual(['OPENED', 'OVERDUE', 'CLOSED']);
  });

  it('has no OVERDUE where no deadline applies, and a ping-pong marker only opens', () => {
    expect(gapTransitions(gap({ gapKind: 'UNCOVERED', dueMs: null, endedMs: 3 * DAY })).map((t) => t.kind)).toEqual(['OPENED', 'CLOSED']);
    expect(gapTransitions(gap({ gapKind: 'PING_PONG', dueMs: null, endedMs: 0 }))).toEqual([{ kind: 'OPENED', at: 0 }]);
  });
});

describe('which changes are news', () => {
  const context = { checkedUntil: 20 * DAY, now: 21 * DAY, lateDiscoveryHorizonMs: 7 * DAY };

  it('records every change time passed since the last check, and none still to come', () => {
    const found = newAlerts(candidates({ gaps: [gap({ startedMs: 20 * DAY + H, dueMs: 30 * DAY })] }), context);
    expect(found).toMatchObject([{ about: 'gap', kind: 'OPENED', atMs: 20 * DAY + H, detectedMs: 21 * DAY, publish: true }]);
  });

  it('records a past change only when the events it depends on just arrived: the start for openings, the end for closings', () => {
    const closedLate = gap({ startedMs: 15 * DAY, dueMs: 25 * DAY, endedMs: 19 * DAY, startPosition: 4, stopPosition: 9 });
    expect(newAlerts(candidates({ gaps: [closedLate] }), context)).toEqual([]);
    expect(kinds(newAlerts(candidates({ gaps: [closedLate] }, [9]), context))).toEqual(['gap CLOSED']);
    expect(kinds(newAlerts(candidates({ gaps: [closedLate] }, [4, 9]), context))).toEqual(['gap OPENED', 'gap CLOSED']);
  });

  it('records changes discovered beyond the horizon unpublished, and an AT_RISK superseded before it was found', () => {
    const old = gap({ citizenId: 'c-old', startedMs: 2 * DAY, dueMs: 12 * DAY, startPosition: 5 });
    const breached = clock({ citizenId: 'c-new', startedMs: 19 * DAY, dueMs: 20 * DAY, atRiskMs: 19 * DAY + 18 * H, startPosition: 6, stopPosition: 6 });
    const found = newAlerts(candidates({ gaps: [old], clocks: [breached] }, [5, 6]), context);
    expect(found.map((a) => `${a.citizenId} ${a.kind} ${a.publish}`)).toEqual(['c-old OPENED false', 'c-old OVERDUE false', 'c-new AT_RISK false', 'c-new BREACHED true']);
  });

  it('orders one check by instant, then warning before breach before end, citizen, deadlines before gaps', () => {
    const at = 20 * DAY + H;
    const found = newAlerts(
      candidates({
        gaps: [gap({ citizenId: 'c-2', startedMs: 10 * DAY, dueMs: at, startPosition: 1 }), gap({ citizenId: 'c-1', gapKey: 'UNCOVERED:k1', gapKind: 'UNCOVERED', startedMs: at, dueMs: null })],
        clocks: [clock({ citizenId: 'c-2', dueMs: at, atRiskMs: at - H }), clock({ citizenId: 'c-1', startedMs: 19 * DAY, dueMs: 22 * DAY, atRiskMs: at })],
      }),
      context,
    );
    expect(found.map((a) => `${a.atMs === at ? 'at' : a.atMs} ${a.kind} ${a.citizenId} ${a.about}`)).toEqual([
      'at AT_RISK c-1 deadline',
      'at OPENED c-1 gap',
      'at BREACHED c-2 deadline',
      'at OVERDUE c-2 gap',
    ]);
  });

  it('counts a row found twice (by time and by arrival) once', () => {
    const g = gap({ startedMs: 20 * DAY + H, dueMs: 30 * DAY, startPosition: 3 });
    expect(newAlerts(candidates({ gaps: [g, { ...g }] }, [3]), context)).toHaveLength(1);
  });
});

describe('scheduler options', () => {
  it('refuses a negative or non-numeric interval, naming the option', () => {
    const store = {} as AlertStore;
    const clock = new ManualClock('2025-03-03T09:00:00+01:00');
    expect(() => new AlertScheduler({ store, clock, pollIntervalMs: -1 })).toThrow('pollIntervalMs must be a non-negative number of milliseconds');
    expect(() => new AlertScheduler({ store, clock, lateDiscoveryHorizonMs: Number.NaN })).toThrow('lateDiscoveryHorizonMs must be');
    expect(() => new AlertScheduler({ store, clock, persistEveryMs: Number.POSITIVE_INFINITY })).toThrow('persistEveryMs must be');
  });
});
