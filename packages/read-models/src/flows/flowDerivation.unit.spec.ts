import { describe, expect, it } from 'vitest';
import { DEMO_UNITS_FILE, birthdayInstant, instantMs, loadUnitsFile, type StoredEvent } from '@tracker/domain';
import { generateCitizens } from '@tracker/generator';
import { StoredEventFactory } from '../testing/storedEvents.ts';
import { ageBandOf, calendarDaysBetween, deriveFlowHandovers, type FlowHandoverRow } from './flowDerivation.ts';

const units = loadUnitsFile(DEMO_UNITS_FILE);
const CHILD = '0751-bf-myndighed';
const YOUTH = '0751-ungeenhed';
const ADULT = '0751-voksen-handicap';
const JOBCENTER = '0751-jobcenter';
const OTHER_KOMMUNE = '0101-bf-myndighed';
const at = instantMs;

/** A youth case, a handover to the adult unit and what follows, for one citizen. */
function history(build: (e: StoredEventFactory['event'], c: string) => StoredEvent[]): StoredEvent[] {
  const make = new StoredEventFactory();
  const event = make.event.bind(make) as StoredEventFactory['event'];
  const events = build(event, 'c-1');
  // World order (occurredAt, then position), as the read models hand a history to a derivation.
  return events.sort((a, b) => at(a.occurredAt) - at(b.occurredAt) || a.globalPosition - b.globalPosition);
}

function only(rows: FlowHandoverRow[]): FlowHandoverRow {
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

const youthToAdult = (e: StoredEventFactory['event'], c: string, initiatedAt = '2025-01-06T10:00:00+01:00') => [
  e(c, 'CitizenRegistered', '2010-01-01T09:00:00+01:00', { birthDate: '2007-02-01', municipality: '0751', disability: false }),
  e(c, 'CaseOpened', '2022-01-03T10:00:00+01:00', { caseId: 'k-youth', unitId: YOUTH }),
  e(c, 'HandoverInitiated', initiatedAt, { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
];

describe('days to acceptance', () => {
  it('counts calendar days in Copenhagen, fractional, so a week across the switch to summer time is 7 days', () => {
    expect(calendarDaysBetween(at('2025-03-28T10:00:00+01:00'), at('2025-04-04T10:00:00+02:00'))).toBe(7);
    expect(calendarDaysBetween(at('2025-01-06T10:00:00+01:00'), at('2025-01-07T22:00:00+01:00'))).toBe(1.5);
  });

  it('runs from the initiation to the first acceptance, or to the completion when never accepted', () => {
    const accepted = only(
      deriveFlowHandovers(
        history((e, c) => [
          ...youthToAdult(e, c),
          e(c, 'HandoverAccepted', '2025-01-09T16:00:00+01:00', { handoverId: 'h1' }),
          e(c, 'HandoverAccepted', '2025-01-20T16:00:00+01:00', { handoverId: 'h1' }),
        ]),
        units,
      ),
    );
    expect(accepted.daysToAccept).toBe(3.25);
    const completedOnly = only(
      deriveFlowHandovers(history((e, c) => [...youthToAdult(e, c), e(c, 'HandoverCompleted', '2025-01-08T10:00:00+01:00', { handoverId: 'h1' })]), units),
    );
    expect(completedOnly.daysToAccept).toBe(2);
  });
});

describe('lost: no coverage for more than 30 days during the transition', () => {
  const closedThenOpened = (closeAt: string, openAt: string | null) =>
    deriveFlowHandovers(
      history((e, c) => [
        ...youthToAdult(e, c),
        e(c, 'HandoverAccepted', '2025-01-08T10:00:00+01:00', { handoverId: 'h1' }),
        e(c, 'CaseClosed', closeAt, { caseId: 'k-youth', reason: 'handover' }),
        ...(openAt ? [e(c, 'CaseOpened', openAt, { caseId: 'k-adult', unitId: ADULT })] : []),
      ]),
      units,
    );

  it('is not lost after exactly 30 days, and lost one minute later', () => {
    expect(only(closedThenOpened('2025-01-10T12:00:00+01:00', '2025-02-09T12:00:00+01:00')).lostFromMs).toBeNull();
    expect(only(closedThenOpened('2025-01-10T12:00:00+01:00', '2025-02-09T12:01:00+01:00')).lostFromMs).toBe(at('2025-02-09T12:00:00+01:00'));
  });

  it('counts calendar days: 30 days across the switch to summer time are 719 hours', () => {
    expect(only(closedThenOpened('2025-03-20T12:00:00+01:00', '2025-04-19T12:00:00+02:00')).lostFromMs).toBeNull();
    // 30 × 24 hours later is already past the 30th calendar day at 12:00.
    expect(only(closedThenOpened('2025-03-20T12:00:00+01:00', '2025-04-19T13:00:00+02:00')).lostFromMs).toBe(at('2025-04-19T12:00:00+02:00'));
  });

  it('is lost from the 30th day on while no case opens anywhere', () => {
    expect(only(closedThenOpened('2025-01-10T12:00:00+01:00', null)).lostFromMs).toBe(at('2025-02-09T12:00:00+01:00'));
  });

  it('ends the lapse at a case opening at any unit, not only the receiving one', () => {
    const rows = deriveFlowHandovers(
      history((e, c) => [
        ...youthToAdult(e, c),
        e(c, 'CaseClosed', '2025-01-10T12:00:00+01:00', { caseId: 'k-youth', reason: 'handover' }),
        e(c, 'CaseOpened', '2025-01-20T12:00:00+01:00', { caseId: 'k-job', unitId: JOBCENTER }),
      ]),
      units,
    );
    expect(only(rows).lostFromMs).toBeNull();
  });

  it('counts a lapse under way at the initiation from the initiation', () => {
    const rows = deriveFlowHandovers(
      history((e, c) => [
        e(c, 'CitizenRegistered', '2010-01-01T09:00:00+01:00', { birthDate: '2007-02-01', municipality: '0751', disability: false }),
        e(c, 'HandoverInitiated', '2025-01-06T10:00:00+01:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
        e(c, 'CaseOpened', '2025-02-20T10:00:00+01:00', { caseId: 'k-adult', unitId: ADULT }),
      ]),
      units,
    );
    expect(only(rows).lostFromMs).toBe(at('2025-02-05T10:00:00+01:00'));
  });

  it('ignores lapses that begin after the receiving unit took over', () => {
    const rows = deriveFlowHandovers(
      history((e, c) => [
        ...youthToAdult(e, c),
        e(c, 'CaseOpened', '2025-01-15T10:00:00+01:00', { caseId: 'k-adult', unitId: ADULT }),
        e(c, 'CaseClosed', '2025-01-15T11:00:00+01:00', { caseId: 'k-youth', reason: 'handover' }),
        e(c, 'CaseClosed', '2025-06-01T11:00:00+02:00', { caseId: 'k-adult', reason: 'completed' }),
      ]),
      units,
    );
    expect(only(rows).lostFromMs).toBeNull();
  });

  it('counts a lapse that began before a rejection, not one that began after it', () => {
    const closedBeforeRejection = deriveFlowHandovers(
      history((e, c) => [
        ...youthToAdult(e, c),
        e(c, 'CaseClosed', '2025-01-07T12:00:00+01:00', { caseId: 'k-youth', reason: 'handover' }),
        e(c, 'HandoverRejected', '2025-01-09T12:00:00+01:00', { handoverId: 'h1', reason: 'not our target group' }),
      ]),
      units,
    );
    expect(only(closedBeforeRejection).lostFromMs).toBe(at('2025-02-06T12:00:00+01:00'));
    const closedAfterRejection = deriveFlowHandovers(
      history((e, c) => [
        ...youthToAdult(e, c),
        e(c, 'HandoverRejected', '2025-01-09T12:00:00+01:00', { handoverId: 'h1', reason: 'not our target group' }),
        e(c, 'CaseClosed', '2025-03-07T12:00:00+01:00', { caseId: 'k-youth', reason: 'completed' }),
      ]),
      units,
    );
    expect(only(closedAfterRejection).lostFromMs).toBeNull();
  });

  it('settles at a cancellation', () => {
    const rows = deriveFlowHandovers(
      history((e, c) => [
        ...youthToAdult(e, c),
        e(c, 'HandoverCancelled', '2025-01-08T12:00:00+01:00', { handoverId: 'h1' }),
        e(c, 'CaseClosed', '2025-01-10T12:00:00+01:00', { caseId: 'k-youth', reason: 'completed' }),
      ]),
      units,
    );
    expect(only(rows).lostFromMs).toBeNull();
  });

  it('takes the acceptance of another kommune as its takeover, since its cases are not in the tracker', () => {
    const move = (answer: 'HandoverAccepted' | null) =>
      deriveFlowHandovers(
        history((e, c) => [
          e(c, 'CitizenRegistered', '2010-01-01T09:00:00+01:00', { birthDate: '2012-02-01', municipality: '0751', disability: false }),
          e(c, 'CaseOpened', '2022-01-03T10:00:00+01:00', { caseId: 'k', unitId: CHILD }),
          e(c, 'CitizenMoved', '2025-01-06T09:00:00+01:00', { fromMunicipality: '0751', toMunicipality: '0101' }),
          e(c, 'HandoverInitiated', '2025-01-06T10:00:00+01:00', { handoverId: 'h1', fromUnitId: CHILD, toUnitId: OTHER_KOMMUNE, kind: 'move' }),
          ...(answer ? [e(c, answer, '2025-01-08T10:00:00+01:00', { handoverId: 'h1' })] : []),
          e(c, 'CaseClosed', '2025-01-09T10:00:00+01:00', { caseId: 'k', reason: 'moved' }),
        ]),
        units,
      );
    expect(only(move('HandoverAccepted')).lostFromMs).toBeNull();
    expect(only(move(null)).lostFromMs).toBe(at('2025-02-08T10:00:00+01:00'));
  });

  it('holds when judged on the history cut at any instant (generated histories)', () => {
    // The stored instant judged at T must equal deriving from only the events before T.
    const now = new Date('2026-01-01T12:00:00+01:00');
    let checked = 0;
    for (const citizen of generateCitizens({ seed: 11, citizens: 150, units, now })) {
      const make = new StoredEventFactory();
      const full = citizen.events.map((e) => make.event(e.citizenId, e.type, e.occurredAt, e.data as never));
      const rows = deriveFlowHandovers(full, units);
      for (const row of rows) {
        for (const days of [1, 20, 31, 45, 90, 400]) {
          const T = row.initiatedMs + days * 86_400_000;
          const cut = deriveFlowHandovers(
            full.filter((e) => at(e.occurredAt) < T),
            units,
          ).find((r) => r.handoverId === row.handoverId)!;
          expect(cut.lostFromMs !== null && cut.lostFromMs < T).toBe(row.lostFromMs !== null && row.lostFromMs < T);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe('cohort at the transition', () => {
  it('takes the age band at the initiation instant: the 18th birthday starts at Copenhagen midnight', () => {
    const b18 = birthdayInstant('2007-02-01', 18);
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(only(deriveFlowHandovers(history((e, c) => youthToAdult(e, c, iso(b18))), units)).ageBand).toBe('AGE_18_22');
    expect(only(deriveFlowHandovers(history((e, c) => youthToAdult(e, c, iso(b18 - 1))), units)).ageBand).toBe('AGE_15_17');
    expect([0, 14, 15, 17, 18, 22, 23, 40].map(ageBandOf)).toEqual([
      'AGE_0_14',
      'AGE_0_14',
      'AGE_15_17',
      'AGE_15_17',
      'AGE_18_22',
      'AGE_18_22',
      'AGE_23_PLUS',
      'AGE_23_PLUS',
    ]);
  });

  it('takes the kommune after moves before the initiation, and nothing registered after it', () => {
    const moved = only(
      deriveFlowHandovers(
        history((e, c) => [
          e(c, 'CitizenRegistered', '2010-01-01T09:00:00+01:00', { birthDate: '2007-02-01', municipality: '0101', disability: false }),
          e(c, 'CitizenMoved', '2020-01-01T09:00:00+01:00', { fromMunicipality: '0101', toMunicipality: '0751' }),
          e(c, 'HandoverInitiated', '2025-01-06T10:00:00+01:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
          e(c, 'CitizenMoved', '2025-02-01T09:00:00+01:00', { fromMunicipality: '0751', toMunicipality: '0101' }),
        ]),
        units,
      ),
    );
    expect(moved).toMatchObject({ municipality: '0751', ageBand: 'AGE_15_17' });
    const registeredLater = only(
      deriveFlowHandovers(
        history((e, c) => [
          e(c, 'HandoverInitiated', '2025-01-06T10:00:00+01:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
          e(c, 'CitizenRegistered', '2025-01-07T09:00:00+01:00', { birthDate: '2007-02-01', municipality: '0751', disability: false }),
        ]),
        units,
      ),
    );
    expect(registeredLater).toMatchObject({ municipality: null, ageBand: 'UNKNOWN' });
  });
});

describe('repeated and contradicting facts', () => {
  it('keeps the earliest initiation and resolutions, and makes no row for a handover never initiated', () => {
    const rows = deriveFlowHandovers(
      history((e, c) => [
        ...youthToAdult(e, c),
        e(c, 'HandoverInitiated', '2025-01-07T10:00:00+01:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: '0751-socialpsykiatri', kind: 'age' }),
        e(c, 'HandoverRejected', '2025-01-10T10:00:00+01:00', { handoverId: 'h1', reason: 'first' }),
        e(c, 'HandoverRejected', '2025-01-09T10:00:00+01:00', { handoverId: 'h1', reason: 'late but earlier' }),
        e(c, 'HandoverAccepted', '2025-01-09T10:00:00+01:00', { handoverId: 'h-never-initiated' }),
      ]),
      units,
    );
    expect(only(rows)).toMatchObject({ toUnitId: ADULT, initiatedMs: at('2025-01-06T10:00:00+01:00'), rejectedMs: at('2025-01-09T10:00:00+01:00') });
  });
});
