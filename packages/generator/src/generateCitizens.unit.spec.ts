import {
  DEMO_UNITS_FILE,
  EVENT_TYPES,
  UnitDirectory,
  defaultWorkingDayCalendar,
  isCprShaped,
  loadUnitsFile,
  localEpochDay,
  validateEvent,
  type TransitionEvent,
} from '@tracker/domain';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCitizens, generateEvents, type GeneratedCitizen } from './index.ts';
import { contradictionsIn, handoverStatuses } from './historyChecks.ts';
import { formatInstant, minuteOfDay } from './time.ts';

const units = loadUnitsFile(DEMO_UNITS_FILE);
const now = new Date('2025-06-15T10:00:00+02:00');
const base = { seed: 20250615, units, now, idPrefix: 'demo' } as const;
const DAY_MS = 86_400_000;

const count = <K extends string>(keys: Iterable<K>): Map<K, number> => {
  const m = new Map<K, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
};

describe('generateCitizens', () => {
  let citizens: GeneratedCitizen[];
  let events: TransitionEvent[];
  beforeAll(() => {
    citizens = [...generateCitizens({ ...base, citizens: 2000 })];
    events = citizens.flatMap((c) => c.events);
  });

  it('is deterministic: the same options give byte-identical output, another seed another one', () => {
    const run = (seed: number) => JSON.stringify([...generateCitizens({ ...base, seed, citizens: 200 })]);
    expect(run(base.seed)).toBe(JSON.stringify(citizens.slice(0, 200)));
    expect(run(base.seed)).toBe(run(base.seed));
    expect(run(base.seed + 1)).not.toBe(run(base.seed));
  });

  it('generates shards equal to the same slice of a larger run', () => {
    const shard = [...generateCitizens({ ...base, citizens: 25, startIndex: 1000 })];
    expect(shard).toEqual(citizens.slice(1000, 1025));
    expect([...generateEvents({ ...base, citizens: 3 })]).toEqual(citizens.slice(0, 3).flatMap((c) => c.events));
  });

  it('produces only events that pass validateEvent against the demo units, unchanged by it', () => {
    expect(events.length).toBeGreaterThan(20_000);
    for (const event of events) {
      const result = validateEvent(event, units);
      if (!result.ok) expect.fail(`${JSON.stringify(event)}: ${JSON.stringify(result.errors)}`);
      expect(result.event).toEqual(event);
    }
  });

  it('never puts an event after now, and writes instants in Copenhagen time with the right offset', () => {
    const nowMs = now.getTime();
    for (const e of events) {
      const ms = Date.parse(e.occurredAt);
      expect(ms).toBeLessThanOrEqual(nowMs);
      expect(e.occurredAt).toBe(formatInstant(ms));
    }
  });

  it('keeps each history in occurredAt order and internally consistent, starting with the registration', () => {
    for (const c of citizens) {
      expect(c.events[0]!.type).toBe('CitizenRegistered');
      expect(c.events.every((e) => e.citizenId === c.citizenId)).toBe(true);
      expect(contradictionsIn(c.events), c.citizenId).toEqual([]);
      expect(c.anomalies).toBeUndefined();
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('uses pseudonymous ids, never CPR numbers, and synthetic names for some', () => {
    citizens.forEach((c, i) => {
      expect(c.citizenId).toBe(`c-demo-${String(i).padStart(6, '0')}`);
      expect(isCprShaped(c.citizenId)).toBe(false);
    });
    const registrations = events.filter((e) => e.type === 'CitizenRegistered');
    const named = registrations.filter((e) => e.data.personal?.name);
    expect(registrations.some((e) => e.data.personal?.cpr)).toBe(false);
    expect(named.length / registrations.length).toBeGreaterThan(0.3);
    expect(named.length / registrations.length).toBeLessThan(0.5);
  });

  it('spans ages 0–30 at now, with about 8 % disabled', () => {
    const registrations = events.filter((e) => e.type === 'CitizenRegistered');
    const ages = registrations.map((e) => (now.getTime() - Date.parse(`${e.data.birthDate}T12:00:00Z`)) / (365.25 * DAY_MS));
    expect(Math.min(...ages)).toBeLessThan(0.5);
    expect(Math.max(...ages)).toBeGreaterThan(29);
    expect(Math.max(...ages)).toBeLessThanOrEqual(30.01);
    const disabled = registrations.filter((e) => e.data.disability).length / registrations.length;
    expect(disabled).toBeGreaterThan(0.06);
    expect(disabled).toBeLessThan(0.1);
  });

  it('contains every event type of the catalog and every variant that matters to the read models', () => {
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(EVENT_TYPES));
    const values = (pick: (e: TransitionEvent) => string | undefined) => new Set(events.map(pick).filter((v) => v !== undefined));
    expect(values((e) => (e.type === 'HandoverInitiated' ? e.data.kind : undefined))).toEqual(new Set(['age', 'referral', 'move']));
    expect(values((e) => (e.type === 'NotificationReceived' ? e.data.notifier : undefined))).toEqual(new Set(['professional', 'private', 'anonymous']));
    expect(values((e) => (e.type === 'ContactReceived' ? e.data.from : undefined))).toEqual(new Set(['citizen', 'relative', 'professional']));
    expect(values((e) => (e.type === 'PlanCreated' ? e.data.kind : undefined))).toEqual(new Set(['barnets-plan', 'ungeplan', 'transition', 'handleplan']));
    expect(values((e) => (e.type === 'MeetingHeld' ? e.data.kind : undefined))).toEqual(new Set(['visitation', 'network', 'transition']));
    expect(values((e) => (e.type === 'RepresentationGranted' ? e.data.basis : undefined))).toEqual(new Set(['fuldmagt', 'vaergemaal', 'samtykke']));
    expect(values((e) => (e.type === 'CaseClosed' ? e.data.reason : undefined))).toEqual(new Set(['completed', 'handover', 'moved', 'no-need']));
    expect(values((e) => (e.type === 'InterventionStarted' ? String(e.data.step) : undefined))).toEqual(new Set(['1', '2', '3', '4', '5', '6', 'undefined']));
    expect(values((e) => (e.type === 'DecisionMade' && e.data.subject === 'ungestoette' ? e.data.outcome : undefined))).toEqual(new Set(['granted', 'partial', 'denied']));
    expect(events.some((e) => e.type === 'InvestigationStarted' && e.data.awareSince !== undefined)).toBe(true);
    expect(events.some((e) => e.type === 'ContactReceived' && e.data.from === 'relative' && e.data.relativeId)).toBe(true);
  });

  it('ends handovers in every status, and pending ones are still open at now', () => {
    const statuses = count(citizens.flatMap((c) => [...handoverStatuses(c.events).values()]));
    for (const status of ['PENDING', 'ACCEPTED', 'REJECTED', 'COMPLETED', 'CANCELLED'] as const) expect(statuses.get(status) ?? 0, status).toBeGreaterThan(0);
    expect(statuses.get('COMPLETED')!).toBeGreaterThan(statuses.get('REJECTED')!);
  });

  it('contains the ways citizens get lost: uncovered gaps, age cliffs, ping-pong, late and missing answers', () => {
    const sectorOf = (unitId: string) => units.sectorOf(unitId);
    let uncovered = 0;
    let ageCliff = 0;
    let pingPong = 0;
    let rejectedThenRetried = 0;
    for (const c of citizens) {
      const open = new Map<string, string>();
      let letGoAt: number | undefined;
      const birthDate = c.events[0]!.type === 'CitizenRegistered' ? c.events[0]!.data.birthDate : '';
      const eighteen = Date.parse(`${Number(birthDate.slice(0, 4)) + 18}${birthDate.slice(4)}T00:00:00+01:00`);
      let checked18 = false;
      const handedAway: { from: string; at: number }[] = [];
      const rejectedFrom = new Set<string>();
      const initiated = new Map<string, string>();
      for (const e of c.events) {
        const at = Date.parse(e.occurredAt);
        if (!checked18 && at >= eighteen) {
          checked18 = true;
          const sectors = [...open.values()].map(sectorOf);
          if (sectors.some((s) => s === 'youth' || s === 'child') && !sectors.includes('adult')) ageCliff++;
        }
        if (e.type === 'CaseOpened') {
          if (open.size === 0 && letGoAt !== undefined && at - letGoAt >= 14 * DAY_MS) uncovered++;
          open.set(e.data.caseId, e.data.unitId);
        } else if (e.type === 'CaseClosed') {
          open.delete(e.data.caseId);
          letGoAt = open.size === 0 && e.data.reason === 'handover' ? at : undefined;
        } else if (e.type === 'HandoverInitiated') {
          if (handedAway.some((h) => h.from === e.data.toUnitId && at - h.at < 90 * DAY_MS)) pingPong++;
          handedAway.push({ from: e.data.fromUnitId, at });
          if (rejectedFrom.has(e.data.fromUnitId)) rejectedThenRetried++;
          initiated.set(e.data.handoverId, e.data.fromUnitId);
        } else if (e.type === 'HandoverRejected') {
          rejectedFrom.add(initiated.get(e.data.handoverId)!);
        }
      }
    }
    expect(uncovered).toBeGreaterThan(5);
    expect(ageCliff).toBeGreaterThan(5);
    expect(pingPong).toBeGreaterThan(2);
    expect(rejectedThenRetried).toBeGreaterThan(2);

    // Some statutory clocks are kept, some are not.
    const received = new Map<string, number>();
    let assessedOnTime = 0;
    let assessedLate = 0;
    for (const e of events) {
      if (e.type === 'NotificationReceived') received.set(e.data.notificationId, Date.parse(e.occurredAt));
      if (e.type === 'NotificationAssessed') {
        if (Date.parse(e.occurredAt) - received.get(e.data.notificationId)! <= DAY_MS) assessedOnTime++;
        else assessedLate++;
      }
    }
    expect(assessedOnTime).toBeGreaterThan(5 * assessedLate);
    expect(assessedLate).toBeGreaterThan(0);
    // Drawn in hverdage of the domain's calendar: on time is met, late is breached (6 hverdage).
    const kvittering = { met: 0, breached: 0 };
    for (const e of events) {
      if (e.type !== 'NotificationAcknowledged') continue;
      const due = defaultWorkingDayCalendar.addWorkingDays(received.get(e.data.notificationId)!, 6);
      kvittering[Date.parse(e.occurredAt) < due ? 'met' : 'breached']++;
    }
    expect(kvittering.met).toBeGreaterThan(4 * kvittering.breached);
    expect(kvittering.breached).toBeGreaterThan(0);
    const contacts = events.filter((e) => e.type === 'ContactReceived').length;
    const answers = events.filter((e) => e.type === 'ContactAnswered').length;
    expect(answers / contacts).toBeGreaterThan(0.85);
    expect(answers).toBeLessThan(contacts);
  });

  it('happens mostly in office hours on hverdage', () => {
    const inOffice = events.filter((e) => {
      const ms = Date.parse(e.occurredAt);
      const minute = minuteOfDay(ms);
      return defaultWorkingDayCalendar.isWorkingEpochDay(localEpochDay(ms)) && minute >= 8 * 60 && minute < 16 * 60 + 30;
    }).length;
    expect(inOffice / events.length).toBeGreaterThan(0.85);
  });

  it('injects the requested source-system contradictions, and only those, leaving the rest unchanged', () => {
    const clean = [...generateCitizens({ ...base, citizens: 400 })];
    const noisy = [...generateCitizens({ ...base, citizens: 400, anomalyRate: 0.3 })];
    const kinds = new Set<string>();
    noisy.forEach((c, i) => {
      const injected = new Set((c.anomalies ?? []).map((a) => a.eventId));
      for (const a of c.anomalies ?? []) kinds.add(a.kind);
      expect(new Set(contradictionsIn(c.events).map((x) => x.eventId))).toEqual(injected);
      expect(c.events.filter((e) => !injected.has(e.id))).toEqual(clean[i]!.events);
      for (const e of c.events) expect(validateEvent(e, units).ok).toBe(true);
    });
    expect(kinds).toEqual(new Set(['acceptance-without-initiation', 'close-unopened-case', 'duplicate-initiation']));
    const share = noisy.filter((c) => c.anomalies).length / noisy.length;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.4);
  });

  it('keeps every history valid and consistent for any seed, `now` and option mix', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.date({ min: new Date('2001-01-01T00:00:00Z'), max: new Date('2045-12-31T00:00:00Z'), noInvalidDate: true }),
        fc.record({ maxAge: fc.double({ min: 0.2, max: 60, noNaN: true }), disabilityShare: fc.double({ min: 0, max: 1, noNaN: true }) }),
        (seed, at, knobs) => {
          for (const c of generateCitizens({ seed, citizens: 8, units, now: at, ...knobs })) {
            expect(contradictionsIn(c.events), c.citizenId).toEqual([]);
            for (const e of c.events) {
              expect(validateEvent(e, units).ok).toBe(true);
              expect(Date.parse(e.occurredAt)).toBeLessThanOrEqual(at.getTime());
            }
          }
        },
      ),
      { numRuns: 150, seed: 42 },
    );
  });

  it('takes units by sector from any units file, and says which sector is missing', () => {
    const unit = (id: string, sector: 'child' | 'youth' | 'adult' | 'reception' | 'external', municipality = '0101') => ({
      id,
      name: id,
      administration: 'Test',
      sector,
      municipality,
    });
    const small = new UnitDirectory([unit('kbh-born', 'child'), unit('kbh-unge', 'youth'), unit('kbh-voksen', 'adult')]);
    const generated = [...generateEvents({ seed: 1, citizens: 300, units: small, now })];
    for (const e of generated) expect(validateEvent(e, small).ok).toBe(true);
    expect(generated.find((e) => e.type === 'CitizenRegistered')!.data).toMatchObject({ municipality: '0101' });
    expect(generated.some((e) => e.type === 'HandoverInitiated' && e.data.fromUnitId === 'kbh-unge' && e.data.toUnitId === 'kbh-voksen')).toBe(true);
    const noYouth = new UnitDirectory([unit('kbh-born', 'child'), unit('kbh-voksen', 'adult')]);
    expect(() => [...generateCitizens({ seed: 1, citizens: 1, units: noYouth, now })]).toThrow(/no youth unit in kommune 0101/);
    expect(() => [...generateCitizens({ ...base, citizens: 1, idPrefix: 'not ok' })]).toThrow(/idPrefix/);
  });
});
