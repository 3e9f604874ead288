/**
 * Deadline clocks of one citizen, derived purely from their whole history (domain.md §5). The result
 * does not depend on the order events arrived in, only on the world order (occurredAt, then global
 * position), so late events land in place and a rebuild equals incremental derivation.
 *
 * A clock is computed from ALL the citizen's events and then restricted to an `asOf` by instants:
 * - it exists at `asOf` when `visibleFrom ≤ asOf < visibleUntil` — from the instant the world knew of
 *   it (the start event's occurredAt; the birthday, or the citizen's registration if later) — so a
 *   clock started after `asOf` does not exist then;
 * - its stop counts at `asOf` only when `stoppedAt ≤ asOf`.
 * This is exact because whether a clock exists and when it stops depend only on events up to then.
 *
 * Age-triggered clocks whose condition is decided later than they start (ungestoette-17-5 runs from
 * 17 and is decided at 17½: "a step ≥ 4 intervention is active at the 17½ birthday") are shown
 * between the two birthdays while the condition holds at `asOf` (a placement is active now, so the
 * decision is due by 17½), and from the decision birthday on only if it held then. Such a clock may
 * therefore have several visibility windows: one DeadlineClock each, with the same clockId.
 */
import { birthdayInstant, type Age } from '../calendar/age.ts';
import type { TransitionEvent } from '../events/catalog.ts';
import type { UnitSector } from '../units/units.ts';
import { parseInstant } from './instants.ts';
import type { PolicyAgeStart, PolicyCondition, DeadlinePolicy, DeadlinePolicySet, PolicyEventMatcher, PolicyEventStart, PolicyFieldMatch } from './policies.ts';
import { atRiskInstant } from './status.ts';

/** One deadline clock (or one visibility window of it). Instants are epoch ms. */
export interface DeadlineClock {
  /** Unique per citizen and policy instance: `<policy>:<key>`, e.g. `underretning-24h:und-17`. */
  clockId: string;
  policy: string;
  citizenId: string;
  /** The unit the deadline belongs to (the start event's unit, or the case/intervention that triggered it). */
  unitId: string | null;
  startedAt: number;
  dueAt: number;
  /** From this instant on a running clock is AT_RISK. */
  atRiskAt: number;
  /** The first stop, or null. */
  stoppedAt: number | null;
  /** The clock exists for asOf in [visibleFrom, visibleUntil). */
  visibleFrom: number;
  visibleUntil: number | null;
  /**
   * The latest global position among the events that start this clock (the start event; for an
   * age-triggered clock the registration and the case and intervention facts); 0 when the events
   * carry no positions.
   */
  startPosition: number;
  /**
   * The same over every event defining the clock: its start and its stop. A clock re-derived because
   * of an unrelated event keeps both, so the alert scheduler can tell news (a late event that moved
   * this clock) from a mere re-derivation.
   */
  sourcePosition: number;
}

/** What clocks need to know about units: their sector (for child/youth conditions). */
export interface SectorLookup {
  sectorOf(unitId: string): UnitSector | undefined;
}

type EventLike = Pick<TransitionEvent, 'id' | 'type' | 'citizenId' | 'occurredAt' | 'data'> & { globalPosition?: number };

const position = (e: EventLike): number => e.globalPosition ?? 0;

interface Registration {
  birthDate: string;
  disability: boolean;
  at: number;
  position: number;
}

interface Span {
  unitId: string;
  from: number;
  to: number | null;
  step?: number | undefined;
  /** Latest position of the events opening and closing it. */
  position: number;
}

interface Builder {
  clock: DeadlineClock;
  policy: DeadlinePolicy;
  /** The start event: a stop counts from its instant on, and never is that same event. */
  startEventId: string;
  startEventMs: number;
}

const matches = (data: Record<string, unknown>, where: PolicyFieldMatch): boolean => {
  for (const field in where) {
    const expected = where[field]!;
    const actual = data[field];
    if (Array.isArray(expected) ? !expected.includes(actual as never) : actual !== expected) return false;
  }
  return true;
};

const keyValue = (data: Record<string, unknown>, key: string | undefined): string | undefined => {
  if (key === undefined) return undefined;
  const v = data[key];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
};

/** Events in world order: occurredAt, then global position (arrival), else the given order. */
function inWorldOrder(history: readonly EventLike[]): { events: readonly EventLike[]; at: number[] } {
  let at = history.map((e) => parseInstant(e.occurredAt));
  let sorted = true;
  for (let i = 1; i < history.length && sorted; i++) {
    if (at[i]! < at[i - 1]! || (at[i] === at[i - 1] && (history[i]!.globalPosition ?? 0) < (history[i - 1]!.globalPosition ?? 0))) sorted = false;
  }
  if (sorted) return { events: history, at };
  const order = history.map((_, i) => i).sort((a, b) => at[a]! - at[b]! || (history[a]!.globalPosition ?? a) - (history[b]!.globalPosition ?? b));
  const events = order.map((i) => history[i]!);
  at = order.map((i) => at[i]!);
  return { events, at };
}

/** A stop counts from its start's instant on (equal instants too), and never is the start event itself. */
function stopsClock(b: Builder, event: EventLike, ms: number): void {
  if (b.clock.stoppedAt === null && ms >= b.startEventMs && event.id !== b.startEventId) {
    b.clock.stoppedAt = ms;
    b.clock.sourcePosition = Math.max(b.clock.sourcePosition, position(event));
  }
}

/** Per-policy lookup tables, built once per policy set. */
interface CompiledPolicies {
  startsByType: Map<string, { policy: DeadlinePolicy; start: PolicyEventStart }[]>;
  stopsByType: Map<string, { policy: DeadlinePolicy; stop: PolicyEventMatcher }[]>;
  agePolicies: { policy: DeadlinePolicy; start: PolicyAgeStart }[];
}

const compiled = new WeakMap<DeadlinePolicySet, CompiledPolicies>();

function compile(policies: DeadlinePolicySet): CompiledPolicies {
  let c = compiled.get(policies);
  if (c) return c;
  c = { startsByType: new Map(), stopsByType: new Map(), agePolicies: [] };
  for (const policy of policies.policies) {
    if (policy.start.kind === 'event') {
      const list = c.startsByType.get(policy.start.event) ?? [];
      list.push({ policy, start: policy.start });
      c.startsByType.set(policy.start.event, list);
    } else {
      c.agePolicies.push({ policy, start: policy.start });
    }
    for (const stop of policy.stops) {
      const list = c.stopsByType.get(stop.event) ?? [];
      list.push({ policy, stop });
      c.stopsByType.set(stop.event, list);
    }
  }
  compiled.set(policies, c);
  return c;
}

/**
 * Every deadline clock of one citizen's history (all events of one citizen). Pure: the same events
 * give the same clocks in whatever order they are passed (they are put in world order first).
 */
export function clocksOf(history: readonly EventLike[], policies: DeadlinePolicySet, units: SectorLookup): DeadlineClock[] {
  if (history.length === 0) return [];
  const { events, at } = inWorldOrder(history);
  const citizenId = events[0]!.citizenId;
  const { startsByType, stopsByType, agePolicies } = compile(policies);
  const calendar = policies.calendar;

  const byId = new Map<string, Builder>();
  const unkeyed = new Map<string, Builder[]>(); // per policy, clocks correlated per citizen
  const out: Builder[] = [];
  const stopEvents: number[] = [];

  // What age-triggered clocks need: the registration, cases, interventions, and their stop candidates.
  const needAges = agePolicies.length > 0;
  let registration: Registration | undefined;
  const cases = new Map<string, Span>();
  const interventions = new Map<string, Span>();

  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    const ms = at[i]!;
    const data = event.data as Record<string, unknown>;

    if (needAges) {
      switch (event.type) {
        case 'CitizenRegistered':
          registration ??= { birthDate: data.birthDate as string, disability: data.disability === true, at: ms, position: position(event) };
          break;
        case 'CaseOpened':
          if (!cases.has(data.caseId as string)) cases.set(data.caseId as string, { unitId: data.unitId as string, from: ms, to: null, position: position(event) });
          break;
        case 'CaseClosed': {
          const c = cases.get(data.caseId as string);
          if (c && c.to === null) {
            c.to = ms;
            c.position = Math.max(c.position, position(event));
          }
          break;
        }
        case 'InterventionStarted':
          if (!interventions.has(data.interventionId as string)) {
            interventions.set(data.interventionId as string, { unitId: data.unitId as string, from: ms, to: null, step: data.step as number | undefined, position: position(event) });
          }
          break;
        case 'InterventionEnded': {
          const s = interventions.get(data.interventionId as string);
          if (s && s.to === null) {
            s.to = ms;
            s.position = Math.max(s.position, position(event));
          }
          break;
        }
      }
    }

    // Stops are matched after every start is known (below), so a stop at the same instant as its
    // start stops it whichever arrived first.
    if (stopsByType.has(event.type)) stopEvents.push(i);

    const starts = startsByType.get(event.type);
    if (starts) {
      for (const { policy, start } of starts) {
        if (!matches(data, start.where)) continue;
        const key = keyValue(data, start.key);
        const clockId = key === undefined ? `${policy.id}:@${event.id}` : `${policy.id}:${key}`;
        if (byId.has(clockId)) continue; // a repeated start: the earliest counts
        const startAtField = start.startAt === undefined ? undefined : data[start.startAt];
        const parsedStart = typeof startAtField === 'string' ? parseInstant(startAtField) : Number.NaN;
        const startedAt = Number.isFinite(parsedStart) ? parsedStart : ms;
        const unit = data[start.unitField];
        const limit = policy.limit;
        if (limit.kind !== 'duration') continue; // refused by the schema; keeps the types honest
        const dueAt = calendar.addDuration(startedAt, limit);
        const b: Builder = {
          policy,
          startEventId: event.id,
          startEventMs: ms,
          clock: {
            clockId,
            policy: policy.id,
            citizenId,
            unitId: typeof unit === 'string' ? unit : null,
            startedAt,
            dueAt,
            atRiskAt: atRiskInstant(startedAt, dueAt, limit, policy.atRiskThreshold, calendar),
            stoppedAt: null,
            visibleFrom: Math.max(ms, startedAt),
            visibleUntil: null,
            startPosition: position(event),
            sourcePosition: position(event),
          },
        };
        byId.set(clockId, b);
        out.push(b);
        if (start.key === undefined) {
          const list = unkeyed.get(policy.id) ?? [];
          list.push(b);
          unkeyed.set(policy.id, list);
        }
      }
    }
  }

  // The first stop at or after each clock's start (events in world order, so the first that fits).
  const ageStopEvents: { index: number; at: number }[] = [];
  for (const i of stopEvents) {
    const event = events[i]!;
    const ms = at[i]!;
    const data = event.data as Record<string, unknown>;
    let ageStop = false;
    for (const { policy, stop } of stopsByType.get(event.type)!) {
      if (!matches(data, stop.where)) continue;
      if (policy.start.kind === 'age') {
        ageStop = true;
      } else if (stop.key !== undefined) {
        const key = keyValue(data, stop.key);
        const b = key === undefined ? undefined : byId.get(`${policy.id}:${key}`);
        if (b) stopsClock(b, event, ms);
      } else {
        for (const b of unkeyed.get(policy.id) ?? []) stopsClock(b, event, ms);
      }
    }
    if (ageStop) ageStopEvents.push({ index: i, at: ms });
  }

  const clocks = out.map((b) => b.clock);
  if (needAges && registration) {
    const facts: Facts = { cases: [...cases.values()], interventions: [...interventions.values()], spans: [] };
    facts.spans = facts.cases.concat(facts.interventions);
    for (const { policy, start } of agePolicies) {
      for (const clock of ageClocks(policy, start, registration, facts, units, citizenId, policies, ageStopEvents, events, at)) clocks.push(clock);
    }
  }
  return clocks;
}

interface Facts {
  cases: Span[];
  interventions: Span[];
  /** Both. */
  spans: Span[];
}

interface Holding {
  holds: boolean;
  unitId: string | null;
}

const HOLDS_NOT: Holding = { holds: false, unitId: null };

const openAt = (s: Span, t: number) => s.from <= t && (s.to === null || s.to > t);

/** The most recently begun span open at t that passes the filter; its unit is the clock's unit. */
function latestOpen(spans: Span[], t: number, accept: (s: Span) => boolean): Holding {
  let best: Span | undefined;
  for (const s of spans) if (openAt(s, t) && accept(s) && (best === undefined || s.from > best.from)) best = s;
  return best ? { holds: true, unitId: best.unitId } : HOLDS_NOT;
}

function evaluate(condition: PolicyCondition, t: number, facts: Facts, disability: boolean, units: SectorLookup): Holding {
  if ('openCase' in condition) {
    const sectors = condition.openCase.sectors;
    return latestOpen(facts.cases, t, (s) => sectors === undefined || sectors.includes(units.sectorOf(s.unitId) as never));
  }
  if ('activeIntervention' in condition) {
    const { sectors, minStep } = condition.activeIntervention;
    return latestOpen(
      facts.interventions,
      t,
      (s) => (sectors === undefined || sectors.includes(units.sectorOf(s.unitId) as never)) && (minStep === undefined || (s.step !== undefined && s.step >= minStep)),
    );
  }
  if ('disability' in condition) return { holds: disability === condition.disability, unitId: null };
  if ('anyOf' in condition) {
    let found: Holding | undefined;
    for (const c of condition.anyOf) {
      const h = evaluate(c, t, facts, disability, units);
      if (h.holds && (found === undefined || (found.unitId === null && h.unitId !== null))) found = h;
    }
    return found ?? HOLDS_NOT;
  }
  let unitId: string | null = null;
  for (const c of condition.allOf) {
    const h = evaluate(c, t, facts, disability, units);
    if (!h.holds) return HOLDS_NOT;
    unitId ??= h.unitId;
  }
  return { holds: true, unitId };
}

const birthday = (birthDate: string, age: Age) => birthdayInstant(birthDate, age.years, age.months);

function ageClocks(
  policy: DeadlinePolicy,
  start: PolicyAgeStart,
  registration: Registration,
  facts: Facts,
  units: SectorLookup,
  citizenId: string,
  policies: DeadlinePolicySet,
  stopEvents: { index: number; at: number }[],
  events: readonly EventLike[],
  at: number[],
): DeadlineClock[] {
  const { birthDate, disability } = registration;
  const startedAt = birthday(birthDate, start.age);
  const decidedAt = Math.max(startedAt, birthday(birthDate, start.conditionAt));
  const limit = policy.limit;
  const dueAt = limit.kind === 'age' ? birthday(birthDate, limit.age) : policies.calendar.addDuration(startedAt, limit);
  const atRiskAt = atRiskInstant(startedAt, dueAt, limit, policy.atRiskThreshold, policies.calendar);
  const holding = (t: number): Holding => (start.when === undefined ? { holds: true, unitId: null } : evaluate(start.when, t, facts, disability, units));

  // Visibility windows: [start, decision) while the condition holds at asOf; [decision, ∞) if it held then.
  const windows: { from: number; to: number | null; unitId: string | null }[] = [];
  if (decidedAt > startedAt) {
    const breaks = new Set<number>([startedAt]);
    for (const s of facts.spans) {
      if (s.from > startedAt && s.from < decidedAt) breaks.add(s.from);
      if (s.to !== null && s.to > startedAt && s.to < decidedAt) breaks.add(s.to);
    }
    const instants = [...breaks].sort((a, b) => a - b);
    instants.forEach((t, i) => {
      const h = holding(t);
      if (!h.holds) return;
      const to = instants[i + 1] ?? decidedAt;
      const last = windows.at(-1);
      if (last && last.to === t && last.unitId === h.unitId) last.to = to;
      else windows.push({ from: t, to, unitId: h.unitId });
    });
  }
  const decided = holding(decidedAt);
  if (decided.holds) {
    const last = windows.at(-1);
    if (last && last.to === decidedAt && last.unitId === decided.unitId) last.to = null;
    else windows.push({ from: decidedAt, to: null, unitId: decided.unitId });
  }
  if (windows.length === 0) return [];

  // The first stop from the policy's stopsCountFromAge birthday on.
  const stopsFrom = birthday(birthDate, start.stopsCountFromAge);
  let stoppedAt: number | null = null;
  let stopPosition = 0;
  for (const { index, at: ms } of stopEvents) {
    if (ms < stopsFrom) continue;
    const data = events[index]!.data as Record<string, unknown>;
    if (policy.stops.some((s) => s.event === events[index]!.type && matches(data, s.where))) {
      stoppedAt = at[index]!;
      stopPosition = position(events[index]!);
      break;
    }
  }
  // The registration and the condition's facts (over-approximated: every case and intervention) start it.
  let startPosition = registration.position;
  if (start.when !== undefined) for (const s of facts.spans) startPosition = Math.max(startPosition, s.position);

  const clocks: DeadlineClock[] = [];
  for (const w of windows) {
    // The tracker knows the birth date from the registration on.
    const from = Math.max(w.from, registration.at);
    if (w.to !== null && from >= w.to) continue;
    clocks.push({
      clockId: `${policy.id}:age`,
      policy: policy.id,
      citizenId,
      unitId: w.unitId,
      startedAt,
      dueAt,
      atRiskAt,
      stoppedAt,
      visibleFrom: from,
      visibleUntil: w.to,
      startPosition,
      sourcePosition: Math.max(startPosition, stopPosition),
    });
  }
  return clocks;
}

/** The clock (window) of a list that exists at `asOf`, per clockId. */
export function clocksVisibleAt(clocks: readonly DeadlineClock[], asOf: number): DeadlineClock[] {
  return clocks.filter((c) => c.visibleFrom <= asOf && (c.visibleUntil === null || asOf < c.visibleUntil));
}
