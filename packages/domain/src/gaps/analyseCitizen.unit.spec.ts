import { describe, expect, it } from 'vitest';
import { analyseCitizen } from './analyseCitizen.ts';
import { gapAsOf, gapsAsOf, relativesAsOf } from './asOf.ts';
import type { CitizenGapAnalysis, Gap } from './model.ts';
import {
  ADULT,
  CHILD,
  CHILD_HANDICAP,
  demoRules,
  HistoryBuilder,
  JOBCENTER,
  OTHER_KOMMUNE,
  PSYCHIATRY,
  registered,
  TEN_HVERDAGE,
  YOUTH,
} from './testing.ts';

const t = (iso: string): number => Date.parse(iso);
const analyse = (h: HistoryBuilder): CitizenGapAnalysis => analyseCitizen(h.events, demoRules);
const gap = (a: CitizenGapAnalysis, key: string): Gap => {
  const found = a.gaps.find((g) => g.key === key);
  if (!found) throw new Error(`no gap ${key}; gaps: ${a.gaps.map((g) => g.key).join(', ')}`);
  return found;
};
const keys = (a: CitizenGapAnalysis): string[] => a.gaps.map((g) => g.key);
const ELDER = '0751-aeldre';

/** A 25-year-old (registered as an adult: nothing is judged at 18) with an adult case. */
const adultWithCase = (): HistoryBuilder =>
  registered('2000-01-01', '2024-12-02T09:00:00+01:00').add('CaseOpened', '2025-01-06T09:00:00+01:00', { caseId: 'sag-1', unitId: ADULT });

const initiate = (h: HistoryBuilder, id: string, at: string, from: string, to: string): HistoryBuilder =>
  h.add('HandoverInitiated', at, { handoverId: id, fromUnitId: from, toUnitId: to, kind: 'referral' });

describe('HANDOVER_PENDING', () => {
  const start = '2025-03-03T10:00:00+01:00';
  const due = t('2025-03-18T00:00:00+01:00'); // end of the 10th hverdag after Monday 3 March

  it('opens at the initiation, closes at the acceptance, with the 10-hverdage due instant', () => {
    const h = initiate(adultWithCase(), 'ho-1', start, ADULT, PSYCHIATRY).add('HandoverAccepted', '2025-03-07T11:00:00+01:00', { handoverId: 'ho-1' });
    const g = gap(analyse(h), 'HANDOVER_PENDING:ho-1');
    expect(g).toMatchObject({ kind: 'HANDOVER_PENDING', fromUnitId: ADULT, toUnitId: PSYCHIATRY, subjectId: 'ho-1', startedMs: t(start), endedMs: t('2025-03-07T11:00:00+01:00'), dueMs: due });
    expect(TEN_HVERDAGE(t(start))).toBe(due);
    expect(gapAsOf(g, t(start) - 1)).toBeUndefined();
    expect(gapAsOf(g, t('2025-03-05T10:00:00+01:00'))).toMatchObject({ open: true, endedMs: null, durationDays: 2, overdue: false });
    expect(gapAsOf(g, t('2025-04-01T00:00:00+02:00'))).toMatchObject({ open: false, overdue: false });
  });

  it('is overdue from the due instant on while open, and stays overdue when answered at or after it', () => {
    const open = analyse(initiate(adultWithCase(), 'ho-1', start, ADULT, PSYCHIATRY)).gaps[0]!;
    expect(gapAsOf(open, due - 1)!.overdue).toBe(false);
    expect(gapAsOf(open, due)!.overdue).toBe(true);

    const atDue = initiate(adultWithCase(), 'ho-1', start, ADULT, PSYCHIATRY).add('HandoverAccepted', '2025-03-18T00:00:00+01:00', { handoverId: 'ho-1' });
    const g = gap(analyse(atDue), 'HANDOVER_PENDING:ho-1');
    expect(gapAsOf(g, due - 1)!.overdue).toBe(false);
    expect(gapAsOf(g, due)).toMatchObject({ open: false, overdue: true });
    expect(gapAsOf(g, t('2026-01-01T00:00:00+01:00'))!.overdue).toBe(true);

    const justBefore = initiate(adultWithCase(), 'ho-1', start, ADULT, PSYCHIATRY).add('HandoverRejected', '2025-03-17T23:59:00+01:00', { handoverId: 'ho-1', reason: 'x' });
    expect(gapAsOf(gap(analyse(justBefore), 'HANDOVER_PENDING:ho-1'), t('2026-01-01T00:00:00+01:00'))!.overdue).toBe(false);
  });

  it('closes at a rejection, a cancellation, or a completion without acceptance (an anomaly)', () => {
    for (const type of ['HandoverRejected', 'HandoverCancelled', 'HandoverCompleted'] as const) {
      const h = initiate(adultWithCase(), 'ho-1', start, ADULT, PSYCHIATRY);
      h.add(type, '2025-03-04T10:00:00+01:00', type === 'HandoverRejected' ? { handoverId: 'ho-1', reason: 'not ours' } : { handoverId: 'ho-1' });
      const a = analyse(h);
      expect(gap(a, 'HANDOVER_PENDING:ho-1').endedMs).toBe(t('2025-03-04T10:00:00+01:00'));
      expect(a.anomalies.map((x) => x.kind)).toEqual(type === 'HandoverCompleted' ? ['HANDOVER_COMPLETED_WITHOUT_ACCEPTANCE'] : []);
    }
  });

  it('an answer stamped with the same instant as the initiation answers it, whatever the arrival order', () => {
    const h = adultWithCase().add('HandoverAccepted', start, { handoverId: 'ho-1' });
    initiate(h, 'ho-1', start, ADULT, PSYCHIATRY);
    const a = analyse(h);
    expect(gap(a, 'HANDOVER_PENDING:ho-1')).toMatchObject({ startedMs: t(start), endedMs: t(start) });
    expect(a.anomalies).toEqual([]);
  });

  it('an answer that occurred before the initiation is an anomaly, and closes the gap at the initiation', () => {
    const h = adultWithCase().add('HandoverAccepted', '2025-03-01T10:00:00+01:00', { handoverId: 'ho-1' }, 'nexus');
    const acceptance = h.lastId;
    initiate(h, 'ho-1', start, ADULT, PSYCHIATRY);
    const a = analyse(h);
    expect(gap(a, 'HANDOVER_PENDING:ho-1')).toMatchObject({ startedMs: t(start), endedMs: t(start) });
    expect(a.anomalies).toEqual([
      { kind: 'HANDOVER_NOT_INITIATED', eventId: acceptance, eventType: 'HandoverAccepted', occurredMs: t('2025-03-01T10:00:00+01:00'), source: 'nexus', subjectId: 'ho-1' },
    ]);
  });

  it('a second initiation of the same handover is an anomaly and opens nothing', () => {
    const h = initiate(initiate(adultWithCase(), 'ho-1', start, ADULT, PSYCHIATRY), 'ho-1', '2025-03-05T10:00:00+01:00', ADULT, JOBCENTER);
    const a = analyse(h);
    expect(keys(a)).toEqual(['HANDOVER_PENDING:ho-1']);
    expect(gap(a, 'HANDOVER_PENDING:ho-1')).toMatchObject({ toUnitId: PSYCHIATRY, startedMs: t(start) });
    expect(a.anomalies.map((x) => x.kind)).toEqual(['HANDOVER_INITIATED_TWICE']);
  });
});

describe('HANDOVER_REJECTED', () => {
  const rejectedAt = '2025-03-10T10:00:00+01:00';
  const rejected = () =>
    initiate(adultWithCase(), 'ho-1', '2025-03-03T10:00:00+01:00', ADULT, PSYCHIATRY).add('HandoverRejected', rejectedAt, { handoverId: 'ho-1', reason: 'not ours' });

  it('opens at the rejection and stays open while nothing is accepted and no case opens', () => {
    const g = gap(analyse(rejected()), 'HANDOVER_REJECTED:ho-1');
    expect(g).toMatchObject({ fromUnitId: ADULT, toUnitId: PSYCHIATRY, startedMs: t(rejectedAt), endedMs: null, dueMs: null });
    expect(gapAsOf(g, t('2025-04-09T10:00:00+02:00'))).toMatchObject({ open: true, overdue: false, durationDays: 30 });
  });

  it('closes at an accepted handover of the citizen to any unit', () => {
    const h = initiate(rejected(), 'ho-2', '2025-03-12T10:00:00+01:00', ADULT, JOBCENTER).add('HandoverAccepted', '2025-03-14T10:00:00+01:00', { handoverId: 'ho-2' });
    expect(gap(analyse(h), 'HANDOVER_REJECTED:ho-1').endedMs).toBe(t('2025-03-14T10:00:00+01:00'));
  });

  it('closes when a new case opens anywhere', () => {
    const h = rejected().add('CaseOpened', '2025-03-20T10:00:00+01:00', { caseId: 'sag-2', unitId: JOBCENTER });
    expect(gap(analyse(h), 'HANDOVER_REJECTED:ho-1').endedMs).toBe(t('2025-03-20T10:00:00+01:00'));
  });

  it('an acceptance before the rejection does not close it', () => {
    const h = initiate(adultWithCase(), 'ho-2', '2025-03-01T10:00:00+01:00', ADULT, JOBCENTER).add('HandoverAccepted', '2025-03-05T10:00:00+01:00', { handoverId: 'ho-2' });
    initiate(h, 'ho-1', '2025-03-03T10:00:00+01:00', ADULT, PSYCHIATRY).add('HandoverRejected', rejectedAt, { handoverId: 'ho-1', reason: 'x' });
    expect(gap(analyse(h), 'HANDOVER_REJECTED:ho-1').endedMs).toBeNull();
  });

  it('a rejection after an acceptance is an anomaly and opens nothing', () => {
    const h = initiate(adultWithCase(), 'ho-1', '2025-03-03T10:00:00+01:00', ADULT, PSYCHIATRY)
      .add('HandoverAccepted', '2025-03-04T10:00:00+01:00', { handoverId: 'ho-1' })
      .add('HandoverRejected', rejectedAt, { handoverId: 'ho-1', reason: 'x' });
    const a = analyse(h);
    expect(keys(a)).toEqual(['HANDOVER_PENDING:ho-1']);
    expect(a.anomalies.map((x) => x.kind)).toEqual(['HANDOVER_ALREADY_RESOLVED']);
  });
});

describe('UNCOVERED', () => {
  const closedAt = '2025-02-05T10:00:00+01:00';

  it('opens when the last open case closes while a handover is pending, and closes when a case opens anywhere', () => {
    const h = initiate(adultWithCase(), 'ho-1', '2025-02-03T10:00:00+01:00', ADULT, PSYCHIATRY)
      .add('CaseClosed', closedAt, { caseId: 'sag-1', reason: 'completed' })
      .add('CaseOpened', '2025-03-07T10:00:00+01:00', { caseId: 'sag-2', unitId: JOBCENTER });
    const g = gap(analyse(h), 'UNCOVERED:sag-1');
    expect(g).toMatchObject({ fromUnitId: ADULT, toUnitId: PSYCHIATRY, subjectId: 'sag-1', startedMs: t(closedAt), endedMs: t('2025-03-07T10:00:00+01:00') });
    expect(gapAsOf(g, t('2025-03-07T10:00:00+01:00'))!.durationDays).toBe(30);
  });

  it('opens when the last case closes with reason handover, naming the unit that accepted', () => {
    const h = initiate(adultWithCase(), 'ho-1', '2025-02-03T10:00:00+01:00', ADULT, PSYCHIATRY)
      .add('HandoverAccepted', '2025-02-04T10:00:00+01:00', { handoverId: 'ho-1' })
      .add('CaseClosed', closedAt, { caseId: 'sag-1', reason: 'handover' });
    expect(gap(analyse(h), 'UNCOVERED:sag-1')).toMatchObject({ fromUnitId: ADULT, toUnitId: PSYCHIATRY, endedMs: null });
  });

  it('opens when the last case closes while a rejection stands', () => {
    const h = initiate(adultWithCase(), 'ho-1', '2025-02-03T10:00:00+01:00', ADULT, PSYCHIATRY)
      .add('HandoverRejected', '2025-02-04T10:00:00+01:00', { handoverId: 'ho-1', reason: 'x' })
      .add('CaseClosed', closedAt, { caseId: 'sag-1' });
    expect(gap(analyse(h), 'UNCOVERED:sag-1').toUnitId).toBe(PSYCHIATRY);
  });

  it('does not open while another case is open, when nothing is pending, or when a case opens at the same instant', () => {
    const other = initiate(adultWithCase().add('CaseOpened', '2025-01-07T09:00:00+01:00', { caseId: 'sag-2', unitId: JOBCENTER }), 'ho-1', '2025-02-03T10:00:00+01:00', ADULT, PSYCHIATRY).add(
      'CaseClosed',
      closedAt,
      { caseId: 'sag-1', reason: 'handover' },
    );
    expect(keys(analyse(other))).not.toContain('UNCOVERED:sag-1');

    const done = adultWithCase().add('CaseClosed', closedAt, { caseId: 'sag-1', reason: 'completed' });
    expect(keys(analyse(done))).toEqual([]);

    const seamless = adultWithCase().add('CaseClosed', closedAt, { caseId: 'sag-1', reason: 'handover' }).add('CaseOpened', closedAt, { caseId: 'sag-2', unitId: PSYCHIATRY });
    expect(keys(analyse(seamless))).toEqual([]);
  });

  it('closes when a handover to another kommune is completed (its cases are not seen here)', () => {
    const h = initiate(adultWithCase(), 'ho-1', '2025-02-03T10:00:00+01:00', ADULT, OTHER_KOMMUNE)
      .add('CaseClosed', closedAt, { caseId: 'sag-1', reason: 'moved' })
      .add('HandoverAccepted', '2025-02-10T10:00:00+01:00', { handoverId: 'ho-1' })
      .add('HandoverCompleted', '2025-02-11T10:00:00+01:00', { handoverId: 'ho-1' });
    expect(gap(analyse(h), 'UNCOVERED:sag-1')).toMatchObject({ toUnitId: OTHER_KOMMUNE, endedMs: t('2025-02-11T10:00:00+01:00') });
  });

  it('closing a case never opened, or twice, is an anomaly and opens nothing', () => {
    const h = adultWithCase()
      .add('CaseClosed', '2025-01-08T10:00:00+01:00', { caseId: 'sag-x', reason: 'handover' })
      .add('CaseClosed', closedAt, { caseId: 'sag-1' })
      .add('CaseClosed', '2025-02-06T10:00:00+01:00', { caseId: 'sag-1', reason: 'handover' });
    const a = analyse(h);
    expect(keys(a)).toEqual([]);
    expect(a.anomalies.map((x) => [x.kind, x.subjectId])).toEqual([
      ['CASE_NOT_OPEN', 'sag-x'],
      ['CASE_CLOSED_TWICE', 'sag-1'],
    ]);
  });
});

describe('AGE_CLIFF', () => {
  // Born 1 May 2007: 18 at 2025-05-01T00:00 Copenhagen summer time = 2025-04-30T22:00Z.
  const at18 = t('2025-05-01T00:00:00+02:00');
  const youthCase = (closedAt?: string) => {
    const h = registered('2007-05-01', '2019-01-02T09:00:00+01:00').add('CaseOpened', '2022-06-01T09:00:00+02:00', { caseId: 'sag-u', unitId: YOUTH });
    return closedAt ? h.add('CaseClosed', closedAt, { caseId: 'sag-u', reason: 'completed' }) : h;
  };

  it('opens at the 18th birthday instant in Copenhagen, not at UTC midnight', () => {
    const g = gap(analyse(youthCase('2025-04-15T10:00:00+02:00')), 'AGE_CLIFF');
    expect(g).toMatchObject({ kind: 'AGE_CLIFF', fromUnitId: YOUTH, toUnitId: null, subjectId: null, startedMs: at18, endedMs: null, dueMs: null });
    expect(at18).toBe(t('2025-04-30T22:00:00Z'));
    expect(gapAsOf(g, at18 - 1)).toBeUndefined();
    expect(gapAsOf(g, at18)).toMatchObject({ open: true, durationDays: 0 });
  });

  it('in winter the birthday instant is 23:00 UTC the day before', () => {
    const h = registered('2007-01-15', '2019-01-02T09:00:00+01:00').add('CaseOpened', '2020-01-06T09:00:00+01:00', { caseId: 'sag-c', unitId: CHILD });
    const g = gap(analyse(h), 'AGE_CLIFF');
    expect(g.startedMs).toBe(t('2025-01-14T23:00:00Z'));
    expect(gapAsOf(g, t('2025-01-14T22:59:59.999Z'))).toBeUndefined();
  });

  it('a 29 February birthday turns 18 on 1 March in a non-leap year', () => {
    const h = registered('2008-02-29', '2019-01-02T09:00:00+01:00').add('CaseOpened', '2020-01-06T09:00:00+01:00', { caseId: 'sag-c', unitId: CHILD_HANDICAP });
    expect(gap(analyse(h), 'AGE_CLIFF')).toMatchObject({ fromUnitId: CHILD_HANDICAP, startedMs: t('2026-03-01T00:00:00+01:00') });
  });

  it('closes when an adult-sector case opens, not when a jobcenter case does', () => {
    const h = youthCase('2025-04-15T10:00:00+02:00')
      .add('CaseOpened', '2025-05-12T10:00:00+02:00', { caseId: 'sag-j', unitId: JOBCENTER })
      .add('CaseOpened', '2025-06-02T10:00:00+02:00', { caseId: 'sag-a', unitId: ADULT });
    expect(gap(analyse(h), 'AGE_CLIFF').endedMs).toBe(t('2025-06-02T10:00:00+02:00'));
  });

  it('does not open when an adult-sector case is open at the birthday instant (opened exactly then counts)', () => {
    const before = youthCase().add('CaseOpened', '2025-04-01T10:00:00+02:00', { caseId: 'sag-a', unitId: ADULT });
    expect(keys(analyse(before))).toEqual([]);
    const exactly = youthCase().add('CaseOpened', '2025-05-01T00:00:00+02:00', { caseId: 'sag-a', unitId: ADULT });
    expect(keys(analyse(exactly))).toEqual([]);
    const justAfter = youthCase().add('CaseOpened', '2025-05-01T00:00:00.001+02:00', { caseId: 'sag-a', unitId: ADULT });
    expect(gap(analyse(justAfter), 'AGE_CLIFF')).toMatchObject({ startedMs: at18, endedMs: at18 + 1 });
  });

  it('looks back exactly 12 months: a child-side case ended at 18 minus 12 months counts, a millisecond earlier does not', () => {
    expect(keys(analyse(youthCase('2024-05-01T00:00:00+02:00')))).toEqual(['AGE_CLIFF']);
    expect(keys(analyse(youthCase('2024-04-30T23:59:59.999+02:00')))).toEqual([]);
  });

  it('counts a child-side intervention too, and names the adult unit a pending handover goes to', () => {
    const h = registered('2007-05-01', '2019-01-02T09:00:00+01:00')
      .add('InterventionStarted', '2024-09-01T10:00:00+02:00', { interventionId: 'iv-1', unitId: CHILD, code: 'x', step: 4 })
      .add('InterventionEnded', '2025-03-01T10:00:00+01:00', { interventionId: 'iv-1' });
    initiate(h, 'ho-1', '2025-04-01T10:00:00+02:00', CHILD, ADULT);
    expect(gap(analyse(h), 'AGE_CLIFF')).toMatchObject({ fromUnitId: CHILD, toUnitId: ADULT });
  });

  it('is judged from what happened up to the birthday; a citizen registered as an adult is not judged', () => {
    const late = registered('2000-05-01', '2019-01-02T09:00:00+01:00').add('CaseOpened', '2019-02-01T09:00:00+01:00', { caseId: 'sag-u', unitId: YOUTH });
    expect(keys(analyse(late))).toEqual([]);
  });

  it('before the birthday the gap is predicted from the known facts but not visible', () => {
    const g = gap(analyse(youthCase()), 'AGE_CLIFF');
    expect(gapsAsOf([g], t('2025-03-01T00:00:00+01:00'))).toEqual([]);
    expect(gapsAsOf([g], at18 + 86_400_000)).toHaveLength(1);
  });
});

describe('PING_PONG', () => {
  const first = '2025-01-10T15:00:00+01:00';

  it('marks a handover back to a unit the citizen was handed away from within 90 days (the 90th day included)', () => {
    for (const back of ['2025-04-10T09:00:00+02:00', '2025-04-10T23:00:00+02:00']) {
      const h = initiate(initiate(adultWithCase(), 'ho-1', first, ADULT, JOBCENTER), 'ho-2', back, JOBCENTER, ADULT);
      const g = gap(analyse(h), 'PING_PONG:ho-2');
      expect(g).toMatchObject({ fromUnitId: JOBCENTER, toUnitId: ADULT, startedMs: t(back), endedMs: t(back), dueMs: null });
      expect(gapAsOf(g, t(back))).toMatchObject({ open: false, durationDays: 0, overdue: false });
    }
  });

  it('does not mark it on the 91st day', () => {
    const h = initiate(initiate(adultWithCase(), 'ho-1', first, ADULT, JOBCENTER), 'ho-2', '2025-04-11T08:00:00+02:00', JOBCENTER, ADULT);
    expect(keys(analyse(h)).filter((k) => k.startsWith('PING_PONG'))).toEqual([]);
  });

  it('marks the third handover within 90 days, counting only handovers not rejected or cancelled by then', () => {
    const three = initiate(initiate(initiate(adultWithCase(), 'ho-1', first, ADULT, JOBCENTER), 'ho-2', '2025-02-10T10:00:00+01:00', JOBCENTER, PSYCHIATRY), 'ho-3', '2025-04-10T10:00:00+02:00', PSYCHIATRY, ELDER);
    expect(keys(analyse(three)).filter((k) => k.startsWith('PING_PONG'))).toEqual(['PING_PONG:ho-3']);

    const retries = initiate(adultWithCase(), 'ho-1', first, ADULT, JOBCENTER).add('HandoverRejected', '2025-01-15T10:00:00+01:00', { handoverId: 'ho-1', reason: 'x' });
    initiate(retries, 'ho-2', '2025-01-20T10:00:00+01:00', ADULT, PSYCHIATRY).add('HandoverRejected', '2025-01-25T10:00:00+01:00', { handoverId: 'ho-2', reason: 'x' });
    initiate(retries, 'ho-3', '2025-02-01T10:00:00+01:00', ADULT, ELDER);
    expect(keys(analyse(retries)).filter((k) => k.startsWith('PING_PONG'))).toEqual([]);
  });
});

describe('RELATIVE_UNANSWERED', () => {
  const received = '2025-03-03T10:00:00+01:00';
  const due = t('2025-03-18T00:00:00+01:00');
  const withParent = () =>
    registered('2012-06-01', '2020-01-02T09:00:00+01:00').add('RelativeLinked', '2020-01-02T09:05:00+01:00', { relativeId: 'r-1', relation: 'parent', custody: true });
  const contact = (h: HistoryBuilder, from: 'relative' | 'citizen' | 'professional' = 'relative', relativeId: string | undefined = 'r-1') =>
    h.add('ContactReceived', received, { contactId: 'hv-1', unitId: CHILD, from, ...(relativeId ? { relativeId } : {}) });

  it('opens at a relative’s contact and closes at its answer; overdue past 10 hverdage', () => {
    const open = gap(analyse(contact(withParent())), 'RELATIVE_UNANSWERED:hv-1');
    expect(open).toMatchObject({ fromUnitId: null, toUnitId: CHILD, relativeId: 'r-1', startedMs: t(received), endedMs: null, dueMs: due });
    expect(gapAsOf(open, due - 1)!.overdue).toBe(false);
    expect(gapAsOf(open, due)!.overdue).toBe(true);

    const onTime = gap(analyse(contact(withParent()).add('ContactAnswered', '2025-03-17T15:00:00+01:00', { contactId: 'hv-1' })), 'RELATIVE_UNANSWERED:hv-1');
    expect(gapAsOf(onTime, t('2026-01-01T00:00:00+01:00'))).toMatchObject({ open: false, overdue: false });
    const late = gap(analyse(contact(withParent()).add('ContactAnswered', '2025-03-20T09:00:00+01:00', { contactId: 'hv-1' })), 'RELATIVE_UNANSWERED:hv-1');
    expect(gapAsOf(late, t('2026-01-01T00:00:00+01:00'))).toMatchObject({ open: false, overdue: true });
  });

  it('only relatives’ contacts count', () => {
    expect(keys(analyse(contact(withParent(), 'citizen', undefined)))).toEqual([]);
    expect(keys(analyse(contact(withParent(), 'professional', undefined)))).toEqual([]);
  });

  it('a contact from a relative never linked is an anomaly, and still waits for its answer', () => {
    const a = analyse(contact(registered('2012-06-01'), 'relative', 'r-9'));
    expect(gap(a, 'RELATIVE_UNANSWERED:hv-1').relativeId).toBe('r-9');
    expect(a.anomalies.map((x) => [x.kind, x.subjectId])).toEqual([['RELATIVE_NOT_LINKED', 'r-9']]);
  });

  it('an answer that occurred before the contact is an anomaly and answers it at its receipt', () => {
    const h = withParent().add('ContactAnswered', '2025-03-01T10:00:00+01:00', { contactId: 'hv-1' });
    const a = analyse(contact(h));
    expect(gap(a, 'RELATIVE_UNANSWERED:hv-1').endedMs).toBe(t(received));
    expect(a.anomalies.map((x) => x.kind)).toEqual(['CONTACT_NOT_RECEIVED']);
  });
});

describe('REPRESENTATION_LOST', () => {
  const at18 = t('2025-05-01T00:00:00+02:00');
  const parent = (custody = true) =>
    registered('2007-05-01', '2019-01-02T09:00:00+01:00')
      .add('RelativeLinked', '2019-01-02T09:05:00+01:00', { relativeId: 'r-1', relation: 'parent', custody })
      .add('CaseOpened', '2022-06-01T09:00:00+02:00', { caseId: 'sag-u', unitId: YOUTH });
  const contactAt = (h: HistoryBuilder, at: string) => h.add('ContactReceived', at, { contactId: `hv-${at}`, unitId: YOUTH, from: 'relative', relativeId: 'r-1' });

  it('opens at 18 for a custodial relative active in the past 12 months, and closes at RepresentationGranted', () => {
    const h = contactAt(parent(), '2025-02-03T10:00:00+01:00').add('RepresentationGranted', '2025-06-10T10:00:00+02:00', { relativeId: 'r-1', basis: 'fuldmagt' });
    const g = gap(analyse(h), 'REPRESENTATION_LOST:r-1');
    expect(g).toMatchObject({ relativeId: 'r-1', fromUnitId: YOUTH, toUnitId: null, startedMs: at18, endedMs: t('2025-06-10T10:00:00+02:00'), dueMs: null });
  });

  it('counts a meeting with relatives participating as activity', () => {
    const h = parent().add('MeetingHeld', '2025-01-10T10:00:00+01:00', { meetingId: 'mt-1', kind: 'network', unitIds: [YOUTH], citizenParticipated: true, relativesParticipated: true });
    expect(keys(analyse(h))).toContain('REPRESENTATION_LOST:r-1');
  });

  it('does not open with a representation granted by 18, without custody, or without activity in the 12 months before', () => {
    const granted = contactAt(parent(), '2025-02-03T10:00:00+01:00').add('RepresentationGranted', '2025-04-20T10:00:00+02:00', { relativeId: 'r-1', basis: 'samtykke' });
    expect(keys(analyse(granted))).not.toContain('REPRESENTATION_LOST:r-1');
    expect(keys(analyse(contactAt(parent(false), '2025-02-03T10:00:00+01:00')))).not.toContain('REPRESENTATION_LOST:r-1');
    expect(keys(analyse(contactAt(parent(), '2024-04-30T10:00:00+02:00')))).not.toContain('REPRESENTATION_LOST:r-1');
    expect(keys(analyse(contactAt(parent(), '2024-05-01T00:00:00+02:00')))).toContain('REPRESENTATION_LOST:r-1');
  });

  it('relatives at asOf: custody ends at 18; the representation basis shows once granted', () => {
    const a = analyse(contactAt(parent(), '2025-02-03T10:00:00+01:00').add('RepresentationGranted', '2025-06-10T10:00:00+02:00', { relativeId: 'r-1', basis: 'vaergemaal' }));
    expect(relativesAsOf(a.relativeFacts, at18 - 1)).toEqual([
      { relativeId: 'r-1', relation: 'parent', custody: true, representation: null, linkedMs: t('2019-01-02T09:05:00+01:00'), representationMs: null },
    ]);
    expect(relativesAsOf(a.relativeFacts, at18)[0]).toMatchObject({ custody: false, representation: null });
    expect(relativesAsOf(a.relativeFacts, t('2025-07-01T00:00:00+02:00'))[0]).toMatchObject({ custody: false, representation: 'vaergemaal' });
    expect(relativesAsOf(a.relativeFacts, t('2019-01-02T09:04:00+01:00'))).toEqual([]);
  });
});

describe('anomalies', () => {
  it('are listed for every contradiction, in world order, with the sending system', () => {
    const h = new HistoryBuilder()
      .add('CaseOpened', '2025-01-01T10:00:00+01:00', { caseId: 'sag-0', unitId: ADULT }, 'nexus')
      .add('CitizenRegistered', '2025-01-02T10:00:00+01:00', { birthDate: '2000-01-01', municipality: '0751', disability: false }, 'dubu')
      .add('CitizenRegistered', '2025-01-03T10:00:00+01:00', { birthDate: '2000-01-02', municipality: '0751', disability: false }, 'dubu')
      .add('CaseOpened', '2025-01-04T10:00:00+01:00', { caseId: 'sag-0', unitId: ADULT }, 'nexus')
      .add('NotificationAssessed', '2025-01-05T10:00:00+01:00', { notificationId: 'und-1', urgent: false })
      .add('NotificationReceived', '2025-01-06T10:00:00+01:00', { notificationId: 'und-2', unitId: ADULT, notifier: 'private' })
      .add('NotificationReceived', '2025-01-07T10:00:00+01:00', { notificationId: 'und-2', unitId: ADULT, notifier: 'private' })
      .add('ContactReceived', '2025-01-08T10:00:00+01:00', { contactId: 'hv-1', unitId: ADULT, from: 'citizen' })
      .add('ContactReceived', '2025-01-09T10:00:00+01:00', { contactId: 'hv-1', unitId: ADULT, from: 'citizen' })
      .add('ContactAnswered', '2025-01-10T10:00:00+01:00', { contactId: 'hv-1' })
      .add('ContactAnswered', '2025-01-11T10:00:00+01:00', { contactId: 'hv-1' })
      .add('RepresentationGranted', '2025-01-12T10:00:00+01:00', { relativeId: 'r-9', basis: 'fuldmagt' })
      .add('InvestigationCompleted', '2025-01-13T10:00:00+01:00', { investigationId: 'bfu-9' })
      .add('InvestigationStarted', '2025-01-14T10:00:00+01:00', { investigationId: 'bfu-1', unitId: ADULT })
      .add('InvestigationStarted', '2025-01-15T10:00:00+01:00', { investigationId: 'bfu-1', unitId: ADULT })
      .add('InvestigationCompleted', '2025-01-16T10:00:00+01:00', { investigationId: 'bfu-1' })
      .add('InvestigationCompleted', '2025-01-17T10:00:00+01:00', { investigationId: 'bfu-1' })
      .add('InterventionEnded', '2025-01-18T10:00:00+01:00', { interventionId: 'iv-9' })
      .add('InterventionStarted', '2025-01-19T10:00:00+01:00', { interventionId: 'iv-1', unitId: ADULT, code: 'x' })
      .add('InterventionStarted', '2025-01-20T10:00:00+01:00', { interventionId: 'iv-1', unitId: ADULT, code: 'x' })
      .add('InterventionEnded', '2025-01-21T10:00:00+01:00', { interventionId: 'iv-1' })
      .add('InterventionEnded', '2025-01-22T10:00:00+01:00', { interventionId: 'iv-1' })
      .add('HandoverCancelled', '2025-01-23T10:00:00+01:00', { handoverId: 'ho-9' }, 'dubu')
      .add('HandoverInitiated', '2025-01-24T10:00:00+01:00', { handoverId: 'ho-1', fromUnitId: ADULT, toUnitId: JOBCENTER, kind: 'referral' })
      .add('HandoverCancelled', '2025-01-25T10:00:00+01:00', { handoverId: 'ho-1' })
      .add('HandoverCompleted', '2025-01-26T10:00:00+01:00', { handoverId: 'ho-1' });
    const a = analyse(h);
    expect(a.anomalies.map((x) => [x.kind, x.eventType, x.subjectId])).toEqual([
      ['FACTS_BEFORE_REGISTRATION', 'CaseOpened', null],
      ['CITIZEN_REGISTERED_TWICE', 'CitizenRegistered', null],
      ['CASE_OPENED_TWICE', 'CaseOpened', 'sag-0'],
      ['NOTIFICATION_NOT_RECEIVED', 'NotificationAssessed', 'und-1'],
      ['NOTIFICATION_RECEIVED_TWICE', 'NotificationReceived', 'und-2'],
      ['CONTACT_RECEIVED_TWICE', 'ContactReceived', 'hv-1'],
      ['CONTACT_ANSWERED_TWICE', 'ContactAnswered', 'hv-1'],
      ['RELATIVE_NOT_LINKED', 'RepresentationGranted', 'r-9'],
      ['INVESTIGATION_NOT_STARTED', 'InvestigationCompleted', 'bfu-9'],
      ['INVESTIGATION_STARTED_TWICE', 'InvestigationStarted', 'bfu-1'],
      ['INVESTIGATION_COMPLETED_TWICE', 'InvestigationCompleted', 'bfu-1'],
      ['INTERVENTION_NOT_STARTED', 'InterventionEnded', 'iv-9'],
      ['INTERVENTION_STARTED_TWICE', 'InterventionStarted', 'iv-1'],
      ['INTERVENTION_ENDED_TWICE', 'InterventionEnded', 'iv-1'],
      ['HANDOVER_NOT_INITIATED', 'HandoverCancelled', 'ho-9'],
      ['HANDOVER_ALREADY_RESOLVED', 'HandoverCompleted', 'ho-1'],
    ]);
    expect(a.anomalies[0]!.source).toBe('nexus');
    expect(a.anomalies.at(-1)!.source).toBe('test');
  });

  it('the result does not depend on the order the facts are given in', () => {
    const h = initiate(adultWithCase(), 'ho-1', '2025-02-03T10:00:00+01:00', ADULT, PSYCHIATRY)
      .add('HandoverRejected', '2025-02-04T10:00:00+01:00', { handoverId: 'ho-1', reason: 'x' })
      .add('CaseClosed', '2025-02-05T10:00:00+01:00', { caseId: 'sag-1' })
      .add('HandoverAccepted', '2025-01-01T10:00:00+01:00', { handoverId: 'ho-0' });
    const forwards = analyseCitizen(h.events, demoRules);
    const backwards = analyseCitizen([...h.events].reverse(), demoRules);
    expect(backwards).toEqual(forwards);
  });
});
