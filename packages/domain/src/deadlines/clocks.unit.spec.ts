/**
 * Every default policy at its boundaries (issue 3): exactly at the due instant, across the DST
 * changes, Easter week, Christmas, month ends, 29 February birthdays, stops that arrive after the
 * breach, and asOf before and after.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEMO_UNITS_FILE, loadUnitsFile } from '../units/units.ts';
import type { TransitionEvent } from '../events/catalog.ts';
import { clocksOf, clocksVisibleAt, type DeadlineClock } from './clocks.ts';
import { formatDeadlineInstant } from './instants.ts';
import { loadPolicies, parsePolicies } from './policies.ts';
import { deadlineStatusAt, type DeadlineStatus } from './status.ts';

const units = loadUnitsFile(DEMO_UNITS_FILE);
const policies = loadPolicies(undefined);
const RECEPTION = '0751-modtagelse';
const CHILD = '0751-bf-myndighed';
const YOUTH = '0751-ungeenhed';
const ADULT = '0751-voksen-handicap';

type Fact = TransitionEvent & { globalPosition: number };

/** One citizen's facts; positions follow the order given (arrival order). */
function citizen(id = 'c-1') {
  const events: Fact[] = [];
  const add = (type: string, occurredAt: string, data: Record<string, unknown>) => {
    events.push({ id: `e${events.length + 1}`, citizenId: id, type, occurredAt, data, globalPosition: events.length + 1 } as unknown as Fact);
    return api;
  };
  const api = {
    events,
    add,
    registered: (birthDate: string, disability = false, at = '2005-01-03T09:00:00+01:00') => add('CitizenRegistered', at, { birthDate, municipality: '0751', disability }),
    clocks: (set = policies) => clocksOf(events, set, units),
  };
  return api;
}

const ms = (iso: string) => Date.parse(iso);
const local = formatDeadlineInstant;

/** The one clock (window) of a policy visible at asOf, and its status then. */
function at(clocks: DeadlineClock[], policy: string, asOf: string): { clock: DeadlineClock; status: DeadlineStatus } | undefined {
  const visible = clocksVisibleAt(clocks, ms(asOf)).filter((c) => c.policy === policy);
  expect(visible.length).toBeLessThanOrEqual(1);
  const clock = visible[0];
  return clock ? { clock, status: deadlineStatusAt(clock, ms(asOf)) } : undefined;
}
const statusAt = (clocks: DeadlineClock[], policy: string, asOf: string) => at(clocks, policy, asOf)?.status;
const only = (clocks: DeadlineClock[], policy: string) => {
  const list = clocks.filter((c) => c.policy === policy);
  expect(list).toHaveLength(1);
  return list[0]!;
};

describe('underretning-24h: 24 absolute hours to assess a notification', () => {
  const received = (when: string) => citizen().add('NotificationReceived', when, { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' });

  it('is due exactly 24 hours later; AT_RISK from 18 hours; BREACHED at the due instant itself', () => {
    const c = received('2025-03-03T10:00:00+01:00').clocks();
    const clock = only(c, 'underretning-24h');
    expect(local(clock.dueAt)).toBe('2025-03-04T10:00:00+01:00');
    expect(local(clock.atRiskAt)).toBe('2025-03-04T04:00:00+01:00');
    expect(clock.unitId).toBe(RECEPTION);
    expect(statusAt(c, 'underretning-24h', '2025-03-03T09:59:59+01:00')).toBeUndefined(); // not yet received
    expect(statusAt(c, 'underretning-24h', '2025-03-03T10:00:00+01:00')).toBe('PENDING');
    expect(statusAt(c, 'underretning-24h', '2025-03-04T03:59:59.999+01:00')).toBe('PENDING');
    expect(statusAt(c, 'underretning-24h', '2025-03-04T04:00:00+01:00')).toBe('AT_RISK');
    expect(statusAt(c, 'underretning-24h', '2025-03-04T09:59:59.999+01:00')).toBe('AT_RISK');
    expect(statusAt(c, 'underretning-24h', '2025-03-04T10:00:00+01:00')).toBe('BREACHED');
  });

  it('is met by an assessment 1 ms before due, breached by one at the due instant', () => {
    const before = received('2025-03-03T10:00:00+01:00').add('NotificationAssessed', '2025-03-04T09:59:59.999+01:00', { notificationId: 'n1', urgent: false }).clocks();
    expect(statusAt(before, 'underretning-24h', '2026-01-01T00:00:00Z')).toBe('MET');
    const exactly = received('2025-03-03T10:00:00+01:00').add('NotificationAssessed', '2025-03-04T10:00:00+01:00', { notificationId: 'n1', urgent: false }).clocks();
    expect(statusAt(exactly, 'underretning-24h', '2026-01-01T00:00:00Z')).toBe('BREACHED');
  });

  it('counts absolute hours across the spring DST change (23-hour day)', () => {
    const clock = only(received('2025-03-29T12:00:00+01:00').clocks(), 'underretning-24h');
    expect(local(clock.dueAt)).toBe('2025-03-30T13:00:00+02:00');
  });

  it('counts absolute hours across the autumn DST change (25-hour day)', () => {
    const clock = only(received('2025-10-25T12:00:00+02:00').clocks(), 'underretning-24h');
    expect(local(clock.dueAt)).toBe('2025-10-26T11:00:00+01:00');
  });

  it('matches the stop by notificationId only', () => {
    const c = received('2025-03-03T10:00:00+01:00').add('NotificationAssessed', '2025-03-03T11:00:00+01:00', { notificationId: 'n2', urgent: false }).clocks();
    expect(statusAt(c, 'underretning-24h', '2025-03-05T00:00:00+01:00')).toBe('BREACHED');
  });

  it('moves retroactively when a stop arrives after the breach, and asOf still answers as the world stood', () => {
    const person = received('2025-03-03T10:00:00+01:00');
    expect(statusAt(person.clocks(), 'underretning-24h', '2025-03-05T00:00:00+01:00')).toBe('BREACHED');
    // The assessment happened in time, but is recorded only now (it arrives last).
    person.add('NotificationAssessed', '2025-03-03T15:00:00+01:00', { notificationId: 'n1', urgent: true });
    const c = person.clocks();
    expect(statusAt(c, 'underretning-24h', '2025-03-05T00:00:00+01:00')).toBe('MET');
    expect(statusAt(c, 'underretning-24h', '2025-03-03T14:59:59+01:00')).toBe('PENDING'); // the stop after asOf does not count
    expect(at(c, 'underretning-24h', '2025-03-03T14:59:59+01:00')?.clock.stoppedAt).not.toBeNull(); // (it is stored, and judged by instant)
  });

  it('counts a stop at the same instant as its start, whichever arrived first', () => {
    const c = citizen()
      .add('NotificationAssessed', '2025-03-03T10:00:00+01:00', { notificationId: 'n1', urgent: false })
      .add('NotificationReceived', '2025-03-03T10:00:00+01:00', { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' })
      .clocks();
    expect(statusAt(c, 'underretning-24h', '2025-03-03T10:00:00+01:00')).toBe('MET');
  });

  it('keeps the earliest of repeated starts, and ignores a stop that happened before the start', () => {
    const c = citizen()
      .add('NotificationAssessed', '2025-03-03T09:00:00+01:00', { notificationId: 'n1', urgent: false })
      .add('NotificationReceived', '2025-03-03T12:00:00+01:00', { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' })
      .add('NotificationReceived', '2025-03-03T10:00:00+01:00', { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' })
      .clocks();
    const clock = only(c, 'underretning-24h');
    expect(local(clock.startedAt)).toBe('2025-03-03T10:00:00+01:00');
    expect(clock.stoppedAt).toBeNull();
  });
});

describe('underretning-kvittering: 6 hverdage to acknowledge a professional notifier', () => {
  const received = (when: string, notifier = 'professional') =>
    citizen().add('NotificationReceived', when, { notificationId: 'n1', unitId: RECEPTION, notifier });

  it('skips Grundlovsdag and 2. pinsedag (docs/calendar.md example)', () => {
    const clock = only(received('2025-06-04T14:00:00+02:00').clocks(), 'underretning-kvittering');
    expect(local(clock.dueAt)).toBe('2025-06-17T00:00:00+02:00'); // end of Mon 16 June
    expect(local(clock.atRiskAt)).toBe('2025-06-13T12:00:00+02:00'); // noon of the 5th hverdag: 4½ of 6 used
  });

  it('skips Christmas: 24, 25, 26, 31 December and 1 January', () => {
    const clock = only(received('2025-12-23T11:00:00+01:00').clocks(), 'underretning-kvittering');
    // 29, 30 Dec, 2, 5, 6, 7 Jan
    expect(local(clock.dueAt)).toBe('2026-01-08T00:00:00+01:00');
  });

  it('only starts for a professional notifier', () => {
    expect(received('2025-06-04T14:00:00+02:00', 'private').clocks().map((c) => c.policy)).toEqual(['underretning-24h']);
  });

  it('is met by an acknowledgement during the last hverdag, breached at its end', () => {
    const late = received('2025-06-04T14:00:00+02:00').add('NotificationAcknowledged', '2025-06-17T00:00:00+02:00', { notificationId: 'n1' }).clocks();
    expect(statusAt(late, 'underretning-kvittering', '2025-07-01T00:00:00+02:00')).toBe('BREACHED');
    const inTime = received('2025-06-04T14:00:00+02:00').add('NotificationAcknowledged', '2025-06-16T23:59:00+02:00', { notificationId: 'n1' }).clocks();
    expect(statusAt(inTime, 'underretning-kvittering', '2025-07-01T00:00:00+02:00')).toBe('MET');
  });
});

describe('bfu-4-maaneder: a child welfare investigation within 4 months of awareness', () => {
  it('runs from awareSince, clamps to the end of the month, and exists from the start event on', () => {
    const c = citizen()
      .add('InvestigationStarted', '2025-11-05T09:00:00+01:00', { investigationId: 'b1', unitId: CHILD, awareSince: '2025-10-31T09:00:00+01:00' })
      .clocks();
    const clock = only(c, 'bfu-4-maaneder');
    expect(local(clock.startedAt)).toBe('2025-10-31T09:00:00+01:00');
    expect(local(clock.dueAt)).toBe('2026-02-28T09:00:00+01:00');
    expect(statusAt(c, 'bfu-4-maaneder', '2025-11-01T00:00:00+01:00')).toBeUndefined(); // aware, but not yet recorded as started
    expect(statusAt(c, 'bfu-4-maaneder', '2025-11-05T09:00:00+01:00')).toBe('PENDING');
    expect(statusAt(c, 'bfu-4-maaneder', '2026-02-28T08:59:59+01:00')).toBe('AT_RISK');
    expect(statusAt(c, 'bfu-4-maaneder', '2026-02-28T09:00:00+01:00')).toBe('BREACHED');
  });

  it('keeps the wall-clock time across DST and lands on the 29th in a leap year', () => {
    const c = citizen().add('InvestigationStarted', '2027-10-29T10:00:00+02:00', { investigationId: 'b1', unitId: CHILD }).clocks();
    expect(local(only(c, 'bfu-4-maaneder').dueAt)).toBe('2028-02-29T10:00:00+01:00');
    const spring = citizen().add('InvestigationStarted', '2025-11-30T10:00:00+01:00', { investigationId: 'b1', unitId: CHILD }).clocks();
    expect(local(only(spring, 'bfu-4-maaneder').dueAt)).toBe('2026-03-30T10:00:00+02:00');
  });

  it('is met by the completion of the same investigation', () => {
    const c = citizen()
      .add('InvestigationStarted', '2025-01-31T09:00:00+01:00', { investigationId: 'b1', unitId: CHILD })
      .add('InvestigationCompleted', '2025-05-30T15:00:00+02:00', { investigationId: 'b2' })
      .add('InvestigationCompleted', '2025-05-30T16:00:00+02:00', { investigationId: 'b1' })
      .clocks();
    const clock = only(c, 'bfu-4-maaneder');
    expect(local(clock.dueAt)).toBe('2025-05-31T09:00:00+02:00');
    expect(local(clock.stoppedAt!)).toBe('2025-05-30T16:00:00+02:00');
    expect(statusAt(c, 'bfu-4-maaneder', '2025-06-01T00:00:00+02:00')).toBe('MET');
  });
});

describe('ungeplan-16: a youth plan within 3 months of the 16th birthday', () => {
  it('starts at the 16th birthday (local midnight) when a child/youth case is open, due 3 months later, clamped', () => {
    const c = citizen()
      .registered('2009-11-30')
      .add('CaseOpened', '2019-01-07T10:00:00+01:00', { caseId: 'k1', unitId: CHILD })
      .clocks();
    const clock = only(c, 'ungeplan-16');
    expect(local(clock.startedAt)).toBe('2025-11-30T00:00:00+01:00');
    expect(local(clock.dueAt)).toBe('2026-02-28T00:00:00+01:00');
    expect(clock.unitId).toBe(CHILD);
    expect(statusAt(c, 'ungeplan-16', '2025-11-29T23:59:59+01:00')).toBeUndefined();
    expect(statusAt(c, 'ungeplan-16', '2025-11-30T00:00:00+01:00')).toBe('PENDING');
    expect(statusAt(c, 'ungeplan-16', '2026-02-28T00:00:00+01:00')).toBe('BREACHED');
  });

  it('counts an open youth-sector intervention, not an adult case, nor a case closed before the birthday', () => {
    const intervention = citizen()
      .registered('2009-05-10')
      .add('InterventionStarted', '2024-05-01T10:00:00+02:00', { interventionId: 'i1', unitId: YOUTH, code: 'x', step: 2 })
      .clocks();
    expect(only(intervention, 'ungeplan-16').unitId).toBe(YOUTH);
    const adult = citizen().registered('2009-05-10').add('CaseOpened', '2024-05-01T10:00:00+02:00', { caseId: 'k1', unitId: ADULT }).clocks();
    expect(adult.filter((c) => c.policy === 'ungeplan-16')).toEqual([]);
    const closed = citizen()
      .registered('2009-05-10')
      .add('CaseOpened', '2019-01-07T10:00:00+01:00', { caseId: 'k1', unitId: CHILD })
      .add('CaseClosed', '2025-05-09T23:59:59+02:00', { caseId: 'k1' })
      .clocks();
    expect(closed.filter((c) => c.policy === 'ungeplan-16')).toEqual([]);
    const closedAtMidnight = citizen()
      .registered('2009-05-10')
      .add('CaseOpened', '2019-01-07T10:00:00+01:00', { caseId: 'k1', unitId: CHILD })
      .add('CaseClosed', '2025-05-10T00:00:00+02:00', { caseId: 'k1' })
      .clocks();
    expect(closedAtMidnight.filter((c) => c.policy === 'ungeplan-16')).toEqual([]);
  });

  it('is met by an ungeplan, not by another kind of plan', () => {
    const c = citizen()
      .registered('2009-05-10')
      .add('CaseOpened', '2019-01-07T10:00:00+01:00', { caseId: 'k1', unitId: CHILD })
      .add('PlanCreated', '2025-06-01T10:00:00+02:00', { planId: 'p1', unitId: CHILD, kind: 'barnets-plan' })
      .add('PlanCreated', '2025-08-09T10:00:00+02:00', { planId: 'p2', unitId: CHILD, kind: 'ungeplan' })
      .clocks();
    expect(local(only(c, 'ungeplan-16').stoppedAt!)).toBe('2025-08-09T10:00:00+02:00');
    expect(statusAt(c, 'ungeplan-16', '2025-09-01T00:00:00+02:00')).toBe('MET');
  });

  it('exists from the registration when the tracker learns of the citizen after the birthday', () => {
    const c = citizen()
      .registered('2009-05-10', false, '2025-07-01T09:00:00+02:00')
      .add('CaseOpened', '2019-01-07T10:00:00+01:00', { caseId: 'k1', unitId: CHILD })
      .clocks();
    const clock = only(c, 'ungeplan-16');
    expect(local(clock.startedAt)).toBe('2025-05-10T00:00:00+02:00');
    expect(local(clock.visibleFrom)).toBe('2025-07-01T09:00:00+02:00');
    expect(statusAt(c, 'ungeplan-16', '2025-06-01T00:00:00+02:00')).toBeUndefined();
    expect(statusAt(c, 'ungeplan-16', '2025-07-01T09:00:00+02:00')).toBe('PENDING');
    expect(statusAt(c, 'ungeplan-16', '2025-07-20T00:00:00+02:00')).toBe('AT_RISK'); // ¾ of 10 May – 10 August
  });
});

describe('ungestoette-17-5: the § 111 decision by 17½ for a young person in placement', () => {
  const placed = (birthDate: string) =>
    citizen()
      .registered(birthDate)
      .add('CaseOpened', '2015-01-05T10:00:00+01:00', { caseId: 'k1', unitId: CHILD })
      .add('InterventionStarted', '2016-01-05T10:00:00+01:00', { interventionId: 'anb', unitId: CHILD, code: 'anbringelse', step: 5 });

  it('runs from 17 and is due at 17½ when a step ≥ 4 intervention is active at 17½', () => {
    const c = placed('2008-03-15').clocks();
    const clock = only(c, 'ungestoette-17-5');
    expect(local(clock.startedAt)).toBe('2025-03-15T00:00:00+01:00');
    expect(local(clock.dueAt)).toBe('2025-09-15T00:00:00+02:00');
    expect(clock.unitId).toBe(CHILD);
    expect(statusAt(c, 'ungestoette-17-5', '2025-03-14T23:59:59+01:00')).toBeUndefined();
    expect(statusAt(c, 'ungestoette-17-5', '2025-03-15T00:00:00+01:00')).toBe('PENDING');
    expect(statusAt(c, 'ungestoette-17-5', '2025-08-01T00:00:00+02:00')).toBe('AT_RISK');
    expect(statusAt(c, 'ungestoette-17-5', '2025-09-15T00:00:00+02:00')).toBe('BREACHED');
  });

  it('a 31 August birthday is due at the end of February (clamped), the 29th in leap years', () => {
    expect(local(only(placed('2008-08-31').clocks(), 'ungestoette-17-5').dueAt)).toBe('2026-02-28T00:00:00+01:00');
    expect(local(only(placed('2010-08-31').clocks(), 'ungestoette-17-5').dueAt)).toBe('2028-02-29T00:00:00+01:00');
  });

  it('a 29 February birthday turns 17 on 1 March in a common year and 17½ on 29 August', () => {
    const clock = only(placed('2008-02-29').clocks(), 'ungestoette-17-5');
    expect(local(clock.startedAt)).toBe('2025-03-01T00:00:00+01:00');
    expect(local(clock.dueAt)).toBe('2025-08-29T00:00:00+02:00');
  });

  it('is met by a decision on ungestøtte before 17½ and breached (met late) by one after', () => {
    const onTime = placed('2008-03-15').add('DecisionMade', '2025-09-12T11:00:00+02:00', { decisionId: 'a1', unitId: CHILD, subject: 'ungestoette', outcome: 'granted' }).clocks();
    expect(statusAt(onTime, 'ungestoette-17-5', '2025-10-01T00:00:00+02:00')).toBe('MET');
    const late = placed('2008-03-15').add('DecisionMade', '2025-09-15T09:00:00+02:00', { decisionId: 'a1', unitId: CHILD, subject: 'ungestoette', outcome: 'granted' }).clocks();
    expect(statusAt(late, 'ungestoette-17-5', '2025-09-15T08:59:00+02:00')).toBe('BREACHED');
    expect(statusAt(late, 'ungestoette-17-5', '2025-10-01T00:00:00+02:00')).toBe('BREACHED');
    const otherSubject = placed('2008-03-15').add('DecisionMade', '2025-06-12T11:00:00+02:00', { decisionId: 'a1', unitId: CHILD, subject: 'botilbud', outcome: 'granted' }).clocks();
    expect(statusAt(otherSubject, 'ungestoette-17-5', '2025-10-01T00:00:00+02:00')).toBe('BREACHED');
  });

  it('is shown between 17 and 17½ only while a placement is active, and not at all if none is active at 17½', () => {
    const ended = placed('2008-03-15').add('InterventionEnded', '2025-06-01T10:00:00+02:00', { interventionId: 'anb' }).clocks();
    expect(statusAt(ended, 'ungestoette-17-5', '2025-05-01T00:00:00+02:00')).toBe('PENDING');
    expect(statusAt(ended, 'ungestoette-17-5', '2025-06-01T10:00:00+02:00')).toBeUndefined();
    expect(statusAt(ended, 'ungestoette-17-5', '2025-09-15T00:00:00+02:00')).toBeUndefined();
    // A placement that begins at 17¼ and lasts past 17½: shown from its start.
    const later = citizen()
      .registered('2008-03-15')
      .add('InterventionStarted', '2025-06-10T10:00:00+02:00', { interventionId: 'anb', unitId: CHILD, code: 'anbringelse', step: 4 })
      .clocks();
    expect(statusAt(later, 'ungestoette-17-5', '2025-06-09T00:00:00+02:00')).toBeUndefined();
    expect(statusAt(later, 'ungestoette-17-5', '2025-06-10T10:00:00+02:00')).toBe('PENDING');
    expect(statusAt(later, 'ungestoette-17-5', '2025-09-16T00:00:00+02:00')).toBe('BREACHED');
    // A step 3 intervention is not a placement.
    const step3 = citizen()
      .registered('2008-03-15')
      .add('InterventionStarted', '2016-01-05T10:00:00+01:00', { interventionId: 'i', unitId: CHILD, code: 'x', step: 3 })
      .clocks();
    expect(step3.filter((c) => c.policy === 'ungestoette-17-5')).toEqual([]);
  });
});

describe('overgang-handicap: a transition plan by 18 for a young person with a disability', () => {
  it('runs from the 16th to the 18th birthday; a 29 February birthday turns 18 on 1 March', () => {
    const c = citizen()
      .registered('2008-02-29', true)
      .add('CaseOpened', '2015-01-05T10:00:00+01:00', { caseId: 'k1', unitId: '0751-bf-handicap' })
      .clocks();
    const clock = only(c, 'overgang-handicap');
    expect(local(clock.startedAt)).toBe('2024-02-29T00:00:00+01:00');
    expect(local(clock.dueAt)).toBe('2026-03-01T00:00:00+01:00');
    expect(clock.unitId).toBe('0751-bf-handicap');
    expect(statusAt(c, 'overgang-handicap', '2026-02-28T23:59:59+01:00')).toBe('AT_RISK');
    expect(statusAt(c, 'overgang-handicap', '2026-03-01T00:00:00+01:00')).toBe('BREACHED');
  });

  it('needs the disability flag and an open child/youth case or intervention at 16', () => {
    const noFlag = citizen().registered('2008-02-29', false).add('CaseOpened', '2015-01-05T10:00:00+01:00', { caseId: 'k1', unitId: CHILD }).clocks();
    expect(noFlag.filter((c) => c.policy === 'overgang-handicap')).toEqual([]);
    const noCase = citizen().registered('2008-02-29', true).clocks();
    expect(noCase.filter((c) => c.policy === 'overgang-handicap')).toEqual([]);
  });

  it('is met by a transition plan, late or not', () => {
    const c = citizen()
      .registered('2008-06-10', true)
      .add('CaseOpened', '2015-01-05T10:00:00+01:00', { caseId: 'k1', unitId: CHILD })
      .add('PlanCreated', '2026-06-10T00:00:00+02:00', { planId: 'p', unitId: CHILD, kind: 'transition' })
      .clocks();
    expect(statusAt(c, 'overgang-handicap', '2026-06-09T23:59:59+02:00')).toBe('AT_RISK');
    expect(statusAt(c, 'overgang-handicap', '2026-06-10T00:00:00+02:00')).toBe('BREACHED'); // the plan came at the due instant
    expect(statusAt(c, 'overgang-handicap', '2026-07-01T00:00:00+02:00')).toBe('BREACHED');
    expect(local(only(c, 'overgang-handicap').stoppedAt!)).toBe('2026-06-10T00:00:00+02:00');
  });
});

describe('overdragelse-accept: the receiving unit answers a handover within 10 hverdage', () => {
  const initiated = (when: string) => citizen().add('HandoverInitiated', when, { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' });

  it('skips Easter week (docs/calendar.md example) and belongs to the receiving unit', () => {
    const c = initiated('2025-04-10T10:00:00+02:00').clocks();
    const clock = only(c, 'overdragelse-accept');
    expect(local(clock.dueAt)).toBe('2025-04-30T00:00:00+02:00');
    // Fri 11, Mon 14, Tue 15, Wed 16, (Easter) Tue 22, Wed 23, Thu 24, Fri 25, Mon 28, Tue 29
    expect(local(clock.atRiskAt)).toBe('2025-04-25T12:00:00+02:00'); // noon of the 8th hverdag: 7½ of 10 used
    expect(clock.unitId).toBe(ADULT);
    expect(statusAt(c, 'overdragelse-accept', '2025-04-29T23:59:59.999+02:00')).toBe('AT_RISK');
    expect(statusAt(c, 'overdragelse-accept', '2025-04-30T00:00:00+02:00')).toBe('BREACHED');
  });

  it('stops at an acceptance, a rejection or a cancellation', () => {
    for (const [type, data] of [
      ['HandoverAccepted', { handoverId: 'h1' }],
      ['HandoverRejected', { handoverId: 'h1', reason: 'not ours' }],
      ['HandoverCancelled', { handoverId: 'h1' }],
    ] as const) {
      const c = initiated('2025-04-10T10:00:00+02:00').add(type, '2025-04-29T16:00:00+02:00', data).clocks();
      expect(statusAt(c, 'overdragelse-accept', '2025-05-01T00:00:00+02:00')).toBe('MET');
    }
  });

  it('counts from a month end across the March DST change', () => {
    const clock = only(initiated('2025-03-28T15:00:00+01:00').clocks(), 'overdragelse-accept');
    // Mon 31 Mar … Fri 11 Apr is the 10th hverdag
    expect(local(clock.dueAt)).toBe('2025-04-12T00:00:00+02:00');
  });
});

describe('paarorende-svar: an answer to a relative within 10 hverdage', () => {
  it('starts only for contacts from a relative and stops at their answer', () => {
    const c = citizen()
      .add('ContactReceived', '2025-12-19T10:00:00+01:00', { contactId: 'hv1', unitId: YOUTH, from: 'relative', relativeId: 'r1' })
      .add('ContactReceived', '2025-12-19T11:00:00+01:00', { contactId: 'hv2', unitId: YOUTH, from: 'citizen' })
      .add('ContactAnswered', '2026-01-09T10:00:00+01:00', { contactId: 'hv1' })
      .clocks();
    const clock = only(c, 'paarorende-svar');
    // Mon 22, Tue 23, (24–26 closed/holidays) Mon 29, Tue 30, (31, 1 Jan) Fri 2, Mon 5 … Fri 9 Jan is the 10th
    expect(local(clock.dueAt)).toBe('2026-01-10T00:00:00+01:00');
    expect(statusAt(c, 'paarorende-svar', '2026-01-09T09:59:59+01:00')).toBe('AT_RISK');
    expect(statusAt(c, 'paarorende-svar', '2026-01-09T10:00:00+01:00')).toBe('MET');
  });
});

describe('policies as data', () => {
  it('a kommune deadline (Serviceloven § 108, 90 hverdage) runs from configuration alone', () => {
    const set = parsePolicies(
      JSON.stringify({
        policies: [
          {
            id: 'sel-108-botilbud',
            start: { event: 'CaseOpened', where: { legalBasis: 'SEL § 108' } },
            stop: { event: 'DecisionMade', where: { subject: 'botilbud' } },
            limit: { amount: 90, unit: 'workingDays' },
          },
        ],
      }),
      'k.json',
    );
    const c = citizen()
      .add('CaseOpened', '2025-01-06T10:00:00+01:00', { caseId: 'k1', unitId: ADULT, legalBasis: 'SEL § 108' })
      .add('CaseOpened', '2025-01-07T10:00:00+01:00', { caseId: 'k2', unitId: ADULT, legalBasis: 'SEL § 85' })
      .add('DecisionMade', '2025-05-02T10:00:00+02:00', { decisionId: 'a1', unitId: ADULT, subject: 'botilbud', outcome: 'granted' })
      .clocks(set);
    const clock = only(c, 'sel-108-botilbud');
    expect(clock.clockId).toBe('sel-108-botilbud:@e1');
    expect(clock.unitId).toBe(ADULT);
    expect(local(clock.dueAt)).toBe(local(set.calendar.addWorkingDays(ms('2025-01-06T10:00:00+01:00'), 90)));
    expect(statusAt(c, 'sel-108-botilbud', '2025-06-01T00:00:00+02:00')).toBe('MET');
  });

  it('closed days from the file move hverdag deadlines', () => {
    const set = parsePolicies(JSON.stringify({ closedDays: ['06-05', '12-24', '12-31', '2025-05-30'], policies: [] }), 'k.json');
    const c = citizen().add('HandoverInitiated', '2025-05-27T10:00:00+02:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' });
    // Wed 28, (Kr. himmelfart 29, closed Fri 30) Mon 2, Tue 3, Wed 4, (Grundlovsdag 5) Fri 6, (2. pinsedag 9) Tue 10 … Mon 16 June
    expect(local(only(c.clocks(set), 'overdragelse-accept').dueAt)).toBe('2025-06-17T00:00:00+02:00');
    // Without the closed Friday: … Fri 13 June
    expect(local(only(c.clocks(), 'overdragelse-accept').dueAt)).toBe('2025-06-14T00:00:00+02:00');
  });
});

describe('clocks do not depend on the order events are given in', () => {
  it('equal for every permutation of a history', () => {
    const person = citizen()
      .registered('2008-03-15', true)
      .add('CaseOpened', '2015-01-05T10:00:00+01:00', { caseId: 'k1', unitId: CHILD })
      .add('InterventionStarted', '2016-01-05T10:00:00+01:00', { interventionId: 'anb', unitId: CHILD, code: 'anbringelse', step: 5 })
      .add('NotificationReceived', '2025-03-03T10:00:00+01:00', { notificationId: 'n1', unitId: RECEPTION, notifier: 'professional' })
      .add('NotificationAssessed', '2025-03-03T12:00:00+01:00', { notificationId: 'n1', urgent: false })
      .add('HandoverInitiated', '2025-04-10T10:00:00+02:00', { handoverId: 'h1', fromUnitId: CHILD, toUnitId: YOUTH, kind: 'age' })
      .add('HandoverAccepted', '2025-04-14T10:00:00+02:00', { handoverId: 'h1' })
      .add('InterventionEnded', '2025-06-01T10:00:00+02:00', { interventionId: 'anb' })
      .add('InterventionStarted', '2025-07-01T10:00:00+02:00', { interventionId: 'anb2', unitId: YOUTH, code: 'anbringelse', step: 4 })
      .add('DecisionMade', '2025-09-20T10:00:00+02:00', { decisionId: 'a1', unitId: YOUTH, subject: 'ungestoette', outcome: 'granted' });
    const expected = person.clocks();
    expect(expected.filter((c) => c.policy === 'ungestoette-17-5')).toHaveLength(2); // two windows of one clock
    fc.assert(
      fc.property(fc.shuffledSubarray(person.events, { minLength: person.events.length }), (shuffled) => {
        // Same world (positions by occurredAt would differ only for equal instants; none here).
        expect(clocksOf(shuffled, policies, units)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});
