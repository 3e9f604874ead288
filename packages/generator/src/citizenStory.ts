/**
 * One citizen's history, simulated forward from the first contact with the kommune to `now`.
 *
 * The story is a chain of responsibility segments (an open case at one unit) linked by handovers:
 * child unit → youth unit around 15 → adult unit around 18, plus referrals to the jobcenter and
 * psychiatry, moves out of the kommune and, inside each segment, interventions, plans, meetings,
 * contacts and notifications. Every effect is placed strictly after its cause, events after `now` are
 * dropped, and the remaining events are sorted by time, so each history is internally consistent
 * (except for the contradictions injected on purpose with `anomalyRate`).
 *
 * Proportions (per citizen unless stated; all are drawn from the seeded PRNG):
 *
 * Population   age at `now` uniform 20 days – maxAge (30 y); disability 8 %; a synthetic name in
 *              `personal` for 40 %; never a CPR number.
 * First contact disabled: 70 % at 0.3–6 y (parents ask the child/handicap unit), else 6–17 y;
 *              others: 40 % as a child (0–15 y, more often the older), 25 % as a youth (13–18 y), 35 % as
 *              an adult (18 y+), never later than `now`. 30 % come back in a later episode after their case closed.
 * Relatives    minors: a parent with custody, a second parent for 85 % (custody 90 %), a sibling 15 %;
 *              adults: a parent 40 %, a partner 15 % (over 20), no custody.
 * Intake       child/youth: notification 75 % (professional 65 / private 25 / anonymous 10 %), else a
 *              contact; 42 % of non-disabled intakes end there ("no further action").
 *              Notification assessed within 24 h 85 %, late 12 %, never 3 %; urgent 12 %. Professional
 *              notifiers get a kvittering within 1–5 hverdage 80 %, after 7–20 hverdage 12 %, never 8 %.
 * Investigation 85 % of child cases start with a BFU (awareSince given for 40 %), completed within
 *              4 months 80 %, late 12 %, never 8 %; 22 % of non-disabled find no need (case closed
 *              `no-need`).
 * Need         lasts a log-normal time (median 3.5 y for children, 2 y for adults); lifelong for 80 %
 *              of disabled children and 70 % of disabled adults.
 * Interventions start 3–45 days into a segment, last a median of 9 months (children) / 14 months
 *              (adults) and follow each other while the case is open: at once (55 %) or after a pause
 *              of 3–23 months. Steps on indsatstrappen (per episode, drifting ±1):
 *              1: 18 %, 2: 25 %, 3: 25 %, 4: 14 %, 5: 11 %, 6: 7 %. A visitation meeting precedes the
 *              first intervention in 50 %, a DecisionMade any intervention in 50 %.
 * Plans        barnets-plan after the first child intervention 85 %; ungeplan for an open child/youth
 *              case at 16: within 3 months 75 %, late 15 %, never 10 %; transition plan (disabled, case
 *              open at 16): before 18 70 %, late 15 %, never 15 %; handleplan for adult cases: within
 *              3 months 70 %, late 15 %, never 15 %.
 * Transitions  child → youth around the 15th birthday (−2 … +1.5 months), except 50 % of disabled
 *              children who stay in the handicap unit until 18; youth (or child) → adult initiated
 *              1–11 months before 18 for 75 %, around 18 for 20 %, 3–8 months late for 5 %. An adult
 *              unit is needed by 92 % of disabled, 70 % of step ≥ 4 and 45 % of others; of those, 10 %
 *              get no handover at all (age cliff; half of them get an adult case 1–10 months later).
 *              Youths without adult needs: 35 % go to the jobcenter, the rest stay in the youth unit
 *              (efterværn up to 4 years after 18 for step ≥ 4) and close `completed`; a youth case whose
 *              adult handover fails stays open 1–30 months past 18.
 * Handovers    accepted+completed 76 % (12 % of them with the sender closing at acceptance and the
 *              receiver opening 2–10 weeks later: an uncovered gap), accepted but never completed 3 %,
 *              rejected 12 % (half retried elsewhere, up to twice), cancelled 3 %, never answered 6 %;
 *              30 % of senders of rejected/unanswered handovers close their case anyway (`handover`).
 *              Answered within 1–9 hverdage 80 %, else after 11–40 hverdage. Handovers still open at
 *              `now` stay pending.
 * Referrals    adult cases: 30 % are referred on (jobcenter 50 / psychiatry 20 / another adult unit
 *              30 %); the jobcenter and psychiatry send 40 % of those back within 20–80 days
 *              (ping-pong); jobcenter cases last a median 10 months (12 % go on to an adult unit),
 *              psychiatry cases 7 months. Child/youth cases: 12 % get a parallel psychiatry referral
 *              (age ≥ 6), 8 % a PPR referral (4–15 y); the sending case stays open.
 * Around 18    DecisionMade ungestoette when a step ≥ 4 intervention is active at 17½: before 17½ 60 %,
 *              late 30 %, never 10 % (granted 70 / partial 10 / denied 20 %). RepresentationGranted for
 *              a custodial parent of a citizen known around 18: 40 % (75 % if disabled), −40 … +150
 *              days from the birthday, mostly fuldmagt/samtykke (værgemål for disabled).
 * Everyday     per year of an open case: relative contacts 0.8 (minors) / 0.3, citizen contacts 0.5
 *              (from 14 y), professional contacts 0.3, network meetings 0.5, repeat notifications 0.25
 *              (minors). Relative contacts answered within 8 hverdage 85 %, after 11–30 hverdage 10 %,
 *              never 5 %; others 80 / 12 / 8 %.
 * Moves        3 % move to another kommune (CitizenMoved, handover kind `move` to an external unit,
 *              case closed `moved`); the history ends there.
 * Times        office hours (08–16 Copenhagen time on hverdage, the domain's working-day calendar)
 *              except notifications from private or anonymous notifiers (30 % in the evening) and the
 *              24-hour assessments. "Within N working days" counts hverdage exactly as the deadline
 *              policies do, so an answer drawn on time is met and one drawn late is breached.
 */
import {
  civilFromEpochDay,
  daysInMonth,
  defaultWorkingDayCalendar as hverdage,
  epochDayFromCivil,
  formatEpochDay,
  localEpochDay as localDay,
  MS_PER_DAY as DAY,
  MS_PER_HOUR as HOUR,
  MS_PER_MINUTE as MINUTE,
  type EventData,
  type EventType,
  type TransitionEvent,
  type UnitSector,
} from '@tracker/domain';
import { Random } from './random.ts';
import { YEAR, formatInstant, instantOf, minuteOfDay } from './time.ts';
import type { UnitRoles } from './unitRoles.ts';
import {
  ADULT_INTERVENTIONS,
  CHILD_INTERVENTIONS_BY_STEP,
  CONTACT_CHANNELS,
  EMPLOYMENT_INTERVENTIONS,
  FIRST_NAMES,
  MIDDLE_NAMES,
  NOTIFICATION_REASONS,
  PING_PONG_REASONS,
  REJECTION_REASONS,
  SURNAMES,
  type InterventionCode,
} from './vocabulary.ts';

export type AnomalyKind = 'acceptance-without-initiation' | 'close-unopened-case' | 'duplicate-initiation';

/** A source-system contradiction injected on purpose (option `anomalyRate`). */
export interface InjectedAnomaly {
  kind: AnomalyKind;
  /** The id of the contradicting event. */
  eventId: string;
}

export interface GeneratedCitizen {
  citizenId: string;
  /** In occurredAt order. */
  events: TransitionEvent[];
  /** Present only when contradictions were injected into this citizen's history. */
  anomalies?: InjectedAnomaly[];
}

/** Resolved generator settings shared by every citizen of a run. */
export interface StorySettings {
  seed: number;
  roles: UnitRoles;
  nowMs: number;
  idPrefix: string;
  maxAgeDays: number;
  disabilityShare: number;
  nameShare: number;
  anomalyRate: number;
}

/** Sending systems by the sector of the acting unit. */
const SOURCE_BY_SECTOR: Record<UnitSector, string> = {
  reception: 'dubu',
  child: 'dubu',
  youth: 'dubu',
  school: 'dubu',
  external: 'dubu',
  adult: 'nexus',
  employment: 'momentum',
  health: 'midtepj',
};

/** Streams of the per-citizen PRNG: the story, event ids, and anomalies (so anomalies leave the rest intact). */
const STORY_STREAM = 0;
const ID_STREAM = 1;
const ANOMALY_STREAM = 2;

const INF = Number.POSITIVE_INFINITY;
const STEP_WEIGHTS: readonly (readonly [number, number])[] = [
  [1, 18],
  [2, 25],
  [3, 25],
  [4, 14],
  [5, 11],
  [6, 7],
];

interface Draft {
  t: number;
  seq: number;
  id: string;
  type: EventType;
  data: unknown;
  source: string;
}

/** A case open at one unit: the citizen's responsibility segment. */
interface Segment {
  caseId: string;
  unitId: string;
  sector: UnitSector;
  from: number;
  /** Interventions start after this (e.g. once the investigation is done). */
  readyAt: number;
  /** The case closes `completed` at this instant at the latest. */
  limit: number;
  /** The unit this segment was referred from, for hand-backs (ping-pong). */
  cameFrom?: string;
  tried15?: boolean;
  tried18?: boolean;
  /** The next age handover out of this segment, once drawn (at INF: none due). */
  ageTransition?: { at: number; to: 'youth' | 'adult' };
  transfer?: { at: number; to: string; back: boolean } | null;
  cover: Cover;
}

interface Cover {
  unitId: string;
  sector: UnitSector;
  from: number;
  to: number;
}

interface InterventionSpan {
  unitId: string;
  step: number;
  from: number;
  to: number;
}

/** What happens to the sending segment: closes at closeAt (INF: it stays open and the story goes on). */
interface Step {
  closeAt: number;
  reason: string;
  next: Segment | null;
}

interface HandoverOptions {
  /** Takeover (receiving case opened) not before this instant, e.g. just before the 18th birthday. */
  notBefore?: number;
  /** The receiving unit opens a case (false for moves out of the kommune). */
  openCase?: boolean;
  /** The sending case stays open whatever happens (parallel referral). */
  parallel?: boolean;
  senderCloseReason?: string;
  depth?: number;
}

export class CitizenStory {
  private readonly rng: Random;
  private readonly ids: Random;
  private readonly s: StorySettings;
  private readonly index: number;
  private readonly roles: UnitRoles;
  private readonly nowMs: number;
  readonly citizenId: string;
  private readonly key: string;
  private readonly drafts: Draft[] = [];
  private seq = 0;
  private counter = 0;

  private birthDay = 0;
  private birthYear = 0;
  private birthMonth = 0;
  private birthDate = 0;
  private disabled = false;
  private registeredAt = 0;
  private relatives: string[] = [];
  private custodial: string[] = [];
  private relativesLinkedAt = 0;
  private episodeStep = 2;
  private stayChild = false;
  private init18: number | undefined;
  private moveAt = INF;
  private moved = false;
  private readonly covers: Cover[] = [];
  private readonly interventions: InterventionSpan[] = [];
  private readonly handovers: { id: string; from: string; to: string; kind: 'age' | 'referral' | 'move' | 'other'; t: number }[] = [];

  constructor(settings: StorySettings, index: number) {
    this.s = settings;
    this.roles = settings.roles;
    this.nowMs = settings.nowMs;
    this.index = index;
    this.rng = new Random(settings.seed, index, STORY_STREAM);
    this.ids = new Random(settings.seed, index, ID_STREAM);
    const number = String(index).padStart(6, '0');
    this.citizenId = `c-${settings.idPrefix}-${number}`;
    this.key = `${settings.idPrefix}-${number}`;
  }

  generate(): GeneratedCitizen {
    this.run();
    const anomalies = this.injectAnomalies();
    const drafts = this.drafts.sort((a, b) => a.t - b.t || a.seq - b.seq);
    const events = new Array<TransitionEvent>(drafts.length);
    for (let i = 0; i < drafts.length; i++) {
      const d = drafts[i]!;
      events[i] = { id: d.id, type: d.type, citizenId: this.citizenId, occurredAt: formatInstant(d.t), source: d.source, data: d.data } as TransitionEvent;
    }
    return anomalies.length > 0 ? { citizenId: this.citizenId, events, anomalies } : { citizenId: this.citizenId, events };
  }

  // ---- the story ------------------------------------------------------------------------------

  private run(): void {
    const rng = this.rng;
    const nowDay = localDay(this.nowMs);
    const ageNowDays = rng.int(20, Math.max(20, this.s.maxAgeDays));
    this.birthDay = nowDay - ageNowDays;
    const birth = civilFromEpochDay(this.birthDay);
    this.birthYear = birth.year;
    this.birthMonth = birth.month;
    this.birthDate = birth.day;
    this.disabled = rng.chance(this.s.disabilityShare);
    this.stayChild = this.disabled && rng.chance(0.5);

    const ageNow = ageNowDays / 365.2425;
    let startAge: number;
    if (this.disabled) startAge = rng.chance(0.7) ? rng.float(0.3, 6) : rng.float(6, 17);
    else {
      const phase = rng.weighted([['child', 40], ['youth', 25], ['adult', 35]] as const);
      // Children come to the kommune's attention more often the older they get: density rising to 15.
      startAge = phase === 'child' ? 15 * Math.sqrt(rng.next()) : phase === 'youth' ? rng.float(13, 18) : rng.float(18, Math.max(18.5, this.s.maxAgeDays / 365.2425));
    }
    if (startAge >= ageNow) startAge = rng.float(0, ageNow);
    let start = this.office(this.birthDay + Math.floor(startAge * 365.2425));
    if (start > this.nowMs - 4 * HOUR) start = this.nowMs - rng.int(4, 72) * HOUR;
    this.register(start);
    if (this.roles.external.length > 0 && rng.chance(0.03)) this.moveAt = start + rng.float(0.05, 1) * (this.nowMs - start);

    let t = start;
    for (let episode = 0; ; episode++) {
      const end = this.ageAt(t) < 18 ? this.childEpisode(t) : this.adultEpisode(t);
      if (end >= this.nowMs || this.moved) break;
      const nextStart = episode < 3 && rng.chance(0.3) ? this.after(end, 60, 1500) : INF;
      if (this.moveAt < Math.min(nextStart, this.nowMs)) {
        // Moving while no case is open: only the move itself is recorded.
        const toMunicipality = rng.pick(this.roles.external).municipality;
        this.push(Math.max(this.moveAt, end + HOUR), 'CitizenMoved', { fromMunicipality: this.roles.municipality, toMunicipality }, 'cpr');
        this.moved = true;
        break;
      }
      if (nextStart >= this.nowMs) break;
      t = nextStart;
    }
    this.aroundAdulthood();
  }

  private register(start: number): void {
    const rng = this.rng;
    const t = start - rng.int(10, 180) * MINUTE;
    this.registeredAt = t;
    const name = rng.chance(this.s.nameShare) ? this.syntheticName() : undefined;
    this.push(
      t,
      'CitizenRegistered',
      {
        birthDate: formatEpochDay(this.birthDay),
        municipality: this.roles.municipality,
        disability: this.disabled,
        ...(name ? { personal: { name } } : {}),
      },
      'dubu',
    );
    const linkAt = t + rng.int(1, 5) * MINUTE;
    this.relativesLinkedAt = linkAt;
    const minor = this.ageAt(start) < 18;
    const link = (relation: 'parent' | 'guardian' | 'sibling' | 'partner' | 'other', custody: boolean): void => {
      const relativeId = `r-${this.key}-${this.relatives.length + 1}`;
      this.relatives.push(relativeId);
      if (custody) this.custodial.push(relativeId);
      this.push(linkAt, 'RelativeLinked', { relativeId, relation, custody }, 'dubu');
    };
    if (minor) {
      link(rng.chance(0.03) ? 'guardian' : 'parent', true);
      if (rng.chance(0.85)) link('parent', rng.chance(0.9));
      if (rng.chance(0.15)) link('sibling', false);
    } else {
      if (rng.chance(0.4)) link('parent', false);
      if (this.ageAt(start) > 20 && rng.chance(0.15)) link('partner', false);
      if (this.disabled && this.relatives.length > 0 && rng.chance(0.5)) {
        this.push(this.after(linkAt, 0, 30), 'RepresentationGranted', { relativeId: this.relatives[0]!, basis: rng.chance(0.6) ? 'vaergemaal' : 'fuldmagt' }, 'nexus');
      }
    }
  }

  /** A first contact before 18: notification or contact, maybe an investigation and a case. */
  private childEpisode(t: number): number {
    const rng = this.rng;
    const roles = this.roles;
    const youth = this.ageAt(t) >= 15;
    const caseUnit = youth ? rng.pick(roles.youth) : rng.pick(this.disabled ? roles.childDisability : roles.child);
    let intakeDone = t;
    if (this.disabled && !youth && rng.chance(0.7)) {
      this.contact(t, caseUnit, 'relative');
    } else if (rng.chance(0.75)) {
      intakeDone = this.notification(t, rng.pick(roles.reception));
    } else {
      this.contact(t, rng.pick(roles.reception), rng.chance(0.6) ? 'relative' : 'professional');
    }
    if (!this.disabled && rng.chance(0.42)) return intakeDone + DAY; // no further action

    const caseStart = this.after(intakeDone, 1, 21);
    const seg = this.openCase(caseStart, caseUnit, rng.chance(0.6) ? 'Barnets Lov § 20' : undefined);
    this.episodeStep = this.disabled ? rng.weighted([[2, 20], [3, 35], [4, 20], [5, 15], [6, 10]] as const) : rng.weighted(STEP_WEIGHTS);
    if (rng.chance(0.85)) {
      const investigationId = this.newId('bfu');
      const startedAt = caseStart + rng.int(1, 30) * MINUTE;
      const aware = rng.chance(0.4);
      this.push(
        startedAt,
        'InvestigationStarted',
        { investigationId, unitId: caseUnit, ...(aware ? { awareSince: formatInstant(t) } : {}) },
        this.sourceOf(caseUnit),
      );
      const clockStart = aware ? t : startedAt;
      const outcome = rng.weighted([['onTime', 80], ['late', 12], ['never', 8]] as const);
      const completedAt =
        outcome === 'onTime' ? this.after(Math.max(startedAt, clockStart + rng.int(20, 110) * DAY), 0, 0) : outcome === 'late' ? this.after(clockStart, 125, 260) : INF;
      if (completedAt < INF) {
        this.push(completedAt, 'InvestigationCompleted', { investigationId }, this.sourceOf(caseUnit));
        seg.readyAt = completedAt;
      } else seg.readyAt = startedAt + 60 * DAY;
      if (!this.disabled && rng.chance(0.22)) {
        const closeAt = completedAt < INF ? this.after(completedAt, 0, 10) : this.after(startedAt, 150, 300);
        return this.closeWithin(seg, closeAt, 'no-need');
      }
    }
    const needEnd = this.disabled && rng.chance(0.8) ? INF : this.officeNear(caseStart + rng.duration(3.5, 0.7, 0.3, 15) * YEAR);
    return this.chain(seg, needEnd);
  }

  /** A first contact as an adult: a contact to an adult unit or the jobcenter, maybe a case. */
  private adultEpisode(t: number): number {
    const rng = this.rng;
    const roles = this.roles;
    const viaJobcenter = roles.employment.length > 0 && !this.disabled && rng.chance(0.3);
    const unit = viaJobcenter
      ? rng.pick(roles.employment)
      : this.disabled
        ? rng.pick(roles.adultDisability)
        : rng.chance(0.4)
          ? rng.pick(roles.adultPsychiatry)
          : rng.pick(roles.adult);
    const from = rng.weighted([['citizen', 55], ['relative', this.relatives.length > 0 ? 15 : 0], ['professional', 30]] as const);
    this.contact(t, unit, from);
    if (rng.chance(0.3)) return t + 14 * DAY; // answered, nothing more
    const caseStart = this.after(t, 3, 40);
    const seg = this.openCase(caseStart, unit, this.roles.sectorOf(unit) === 'adult' && rng.chance(0.5) ? 'Serviceloven § 85' : undefined);
    this.episodeStep = 0;
    const needEnd = this.disabled && rng.chance(0.7) ? INF : this.officeNear(caseStart + rng.duration(2, 0.8, 0.2, 12) * YEAR);
    return this.chain(seg, needEnd);
  }

  /**
   * Follows responsibility from segment to segment until the need ends, the citizen moves, or `now`.
   * Returns when the last case closed (INF while one is open at `now`).
   */
  private chain(first: Segment, needEnd: number): number {
    let seg = first;
    for (let hop = 0; hop < 12; hop++) {
      if (seg.from > this.nowMs) return INF; // taken over only after now
      let until = Math.min(needEnd, seg.limit);
      if (until <= seg.from) until = seg.limit = this.after(seg.from, 7, 60); // the need ended during the handover
      const age = this.ageTransition(seg);
      const transfer = this.transferPlan(seg);
      // A move planned before this case opened happens just after it instead.
      const moveAt = this.moveAt === INF ? INF : Math.max(this.moveAt, this.after(seg.from, 1, 20));
      const next = Math.min(until, age.at, transfer ? transfer.at : INF, moveAt);
      if (next >= this.nowMs) {
        this.fill(seg, INF, 'completed');
        return INF;
      }
      let step: Step;
      if (next === until) step = { closeAt: until, reason: 'completed', next: null };
      else if (next === moveAt) step = this.move(seg, next);
      else if (next === age.at) step = age.to === 'youth' ? this.toYouth(seg, next) : this.toAdult(seg, next);
      else step = this.transfer(seg, transfer!);
      if (step.closeAt === INF) continue; // the sending unit keeps the case; flags on seg moved the story on
      this.fill(seg, step.closeAt, step.reason);
      this.close(seg, step.closeAt, step.reason);
      if (!step.next || this.moved) return step.closeAt;
      seg = step.next;
    }
    this.fill(seg, INF, 'completed');
    return INF;
  }

  /** When the next age handover out of this segment starts, and to which sector. */
  private ageTransition(seg: Segment): NonNullable<Segment['ageTransition']> {
    if (seg.ageTransition) return seg.ageTransition;
    const fromAge = this.ageAt(seg.from);
    let next: NonNullable<Segment['ageTransition']> = { at: INF, to: 'adult' };
    if (seg.sector === 'child' && !seg.tried15 && !this.stayChild && fromAge < 15.5) {
      next = { at: this.office(this.birthdayDay(15) + this.rng.int(-60, 45)), to: 'youth' };
    } else if ((seg.sector === 'child' || seg.sector === 'youth') && !seg.tried18 && fromAge < 17.9) {
      next = { at: this.adultHandoverStart(), to: 'adult' };
    }
    if (next.at <= seg.from) next.at = this.after(seg.from, 10, 40);
    seg.ageTransition = next;
    return next;
  }

  /** The citizen's youth → adult handover start, drawn once: mostly months before 18, some late. */
  private adultHandoverStart(): number {
    if (this.init18 === undefined) {
      const b18 = this.birthdayDay(18);
      const rng = this.rng;
      const when = rng.weighted([['early', 75], ['around', 20], ['late', 5]] as const);
      this.init18 = this.office(b18 + (when === 'early' ? -rng.int(30, 330) : when === 'around' ? rng.int(-30, 90) : rng.int(90, 240)));
    }
    return this.init18;
  }

  private transferPlan(seg: Segment): Segment['transfer'] {
    if (seg.transfer !== undefined) return seg.transfer;
    const rng = this.rng;
    const roles = this.roles;
    let plan: Segment['transfer'] = null;
    if (seg.cameFrom && (seg.sector === 'employment' || seg.sector === 'health') && rng.chance(0.4)) {
      plan = { at: this.after(seg.from, 20, 80), to: seg.cameFrom, back: true };
    } else if (seg.sector === 'adult' && this.ageAt(seg.from) >= 17.9 && rng.chance(0.3)) {
      const otherAdult = roles.adult.filter((u) => u !== seg.unitId);
      const target = rng.weighted([
        ['employment', roles.employment.length > 0 ? 50 : 0],
        ['health', roles.health.length > 0 ? 20 : 0],
        ['adult', otherAdult.length > 0 ? 30 : 0],
      ] as const);
      const pool = target === 'employment' ? roles.employment : target === 'health' ? roles.health : otherAdult;
      if (pool.length > 0) plan = { at: this.after(seg.from, 60, 600), to: rng.pick(pool), back: false };
    } else if (seg.sector === 'employment' && rng.chance(0.12)) {
      plan = { at: this.after(seg.from, 90, 500), to: rng.pick(roles.adult), back: false };
    }
    seg.transfer = plan;
    return plan;
  }

  private toYouth(seg: Segment, at: number): Step {
    seg.tried15 = true;
    seg.ageTransition = undefined;
    const toUnit = this.rng.pick(this.roles.youth);
    if (this.rng.chance(0.4)) this.meetingBefore(seg, at, 'transition', [seg.unitId, toUnit]);
    return this.handover(seg, toUnit, 'age', at, 'Overgang til ungeområdet ved 15 år');
  }

  private toAdult(seg: Segment, at: number): Step {
    const rng = this.rng;
    const roles = this.roles;
    seg.tried18 = true;
    seg.ageTransition = { at: INF, to: 'adult' };
    const b18 = this.birthdayDay(18);
    const needsAdult = rng.chance(this.disabled ? 0.92 : this.episodeStep >= 4 ? 0.7 : 0.45);
    // If no adult unit takes over, the case stays where it is for a while (efterværn for placements).
    const months = needsAdult ? rng.int(1, 30) : this.episodeStep >= 4 ? rng.int(6, 48) : rng.int(-1, 3);
    seg.limit = Math.min(seg.limit, Math.max(this.office(b18 + Math.round(months * 30.4)), this.after(seg.from, 10, 60)));
    if (!needsAdult) {
      if (roles.employment.length > 0 && rng.chance(0.35)) {
        return this.handover(seg, rng.pick(roles.employment), 'referral', at, 'Uddannelses- og jobafklaring ved 18 år');
      }
      return { closeAt: INF, reason: 'completed', next: null };
    }
    const toUnit = this.disabled ? rng.pick(roles.adultDisability) : this.episodeStep >= 4 && rng.chance(0.5) ? rng.pick(roles.adultPsychiatry) : rng.pick(roles.adult);
    if (rng.chance(0.1)) {
      // Age cliff: nobody hands over; the case simply ends at 18, maybe an adult case much later.
      const closeAt = Math.max(this.office(b18 + rng.int(0, 20)), this.after(seg.from, 5, 30));
      let next: Segment | null = null;
      if (rng.chance(0.5)) {
        const openAt = this.after(closeAt, 30, 300);
        this.contact(openAt - rng.int(3, 20) * DAY, toUnit, this.relatives.length > 0 && rng.chance(0.5) ? 'relative' : 'citizen');
        next = this.openCase(openAt, toUnit, undefined);
      }
      return { closeAt, reason: 'completed', next };
    }
    if (rng.chance(0.55)) this.meetingBefore(seg, at, 'transition', [seg.unitId, toUnit]);
    return this.handover(seg, toUnit, 'age', at, 'Overgang til voksenområdet ved 18 år', { notBefore: this.officeBefore(b18 - rng.int(1, 10)) });
  }

  private transfer(seg: Segment, plan: NonNullable<Segment['transfer']>): Step {
    seg.transfer = null; // tried: a failed referral leaves the case where it is
    const reason = plan.back ? this.rng.pick(PING_PONG_REASONS) : `Henvisning: ${this.roles.sectorOf(plan.to) === 'employment' ? 'afklaring af job og uddannelse' : 'behov for anden indsats'}`;
    return this.handover(seg, plan.to, 'referral', plan.at, reason);
  }

  private move(seg: Segment, at: number): Step {
    const external = this.rng.pick(this.roles.external);
    this.moved = true;
    this.push(at, 'CitizenMoved', { fromMunicipality: this.roles.municipality, toMunicipality: external.municipality }, 'cpr');
    const step = this.handover(seg, external.id, 'move', this.after(at, 1, 10), 'Fraflytning til anden kommune', { openCase: false, senderCloseReason: 'moved' });
    return step.closeAt === INF ? { closeAt: this.after(at, 10, 40), reason: 'moved', next: null } : step;
  }

  /** A handover from seg's unit to toUnit: initiation, an answer (or none), and the takeover. */
  private handover(seg: Segment, toUnit: string, kind: 'age' | 'referral' | 'move', at: number, reason: string, options: HandoverOptions = {}): Step {
    const rng = this.rng;
    const handoverId = this.newId('ho');
    const closeReason = options.senderCloseReason ?? 'handover';
    this.push(at, 'HandoverInitiated', { handoverId, fromUnitId: seg.unitId, toUnitId: toUnit, kind, reason }, this.sourceOf(seg.unitId));
    this.handovers.push({ id: handoverId, from: seg.unitId, to: toUnit, kind, t: at });
    const answeredAt = this.workdaysAfter(at, rng.chance(0.8) ? rng.int(1, 9) : rng.int(11, 40));
    const outcome = rng.weighted([['completed', 76], ['acceptedOnly', 3], ['rejected', 12], ['cancelled', 3], ['unanswered', 6]] as const);
    const keep: Step = { closeAt: INF, reason: closeReason, next: null };
    const letGo = (): Step => (!options.parallel && rng.chance(0.3) ? { closeAt: this.after(at, 1, 5), reason: closeReason, next: null } : keep);
    switch (outcome) {
      case 'completed':
      case 'acceptedOnly': {
        this.push(answeredAt, 'HandoverAccepted', { handoverId }, this.sourceOf(toUnit));
        if (outcome === 'acceptedOnly') return keep;
        let takeover = this.after(answeredAt, 0, 20);
        if (options.notBefore !== undefined && takeover < options.notBefore) takeover = options.notBefore;
        let closeAt: number;
        let openAt: number;
        if (!options.parallel && rng.chance(0.12)) {
          closeAt = this.after(answeredAt, 0, 3); // the sender lets go at acceptance …
          openAt = this.after(closeAt, 14, 70); // … and the receiver only opens weeks later
        } else {
          openAt = takeover;
          closeAt = openAt + rng.int(5, 90) * MINUTE;
        }
        const next = options.openCase === false ? null : this.openCase(openAt, toUnit, undefined, seg.unitId);
        this.push(openAt + rng.int(1, 4) * MINUTE, 'HandoverCompleted', { handoverId }, this.sourceOf(toUnit));
        return options.parallel ? { closeAt: INF, reason: closeReason, next } : { closeAt, reason: closeReason, next };
      }
      case 'rejected': {
        this.push(answeredAt, 'HandoverRejected', { handoverId, reason: rng.pick(REJECTION_REASONS) }, this.sourceOf(toUnit));
        const depth = options.depth ?? 0;
        if (depth < 2 && rng.chance(0.5)) {
          const sector = this.roles.sectorOf(toUnit);
          const pool = this.unitsOf(sector).filter((u) => u !== toUnit && u !== seg.unitId);
          const alternative = pool.length > 0 ? rng.pick(pool) : toUnit;
          return this.handover(seg, alternative, kind, this.after(answeredAt, 2, 30), reason, { ...options, depth: depth + 1 });
        }
        return letGo();
      }
      case 'cancelled':
        this.push(answeredAt, 'HandoverCancelled', { handoverId }, this.sourceOf(seg.unitId));
        return keep;
      case 'unanswered':
        return letGo();
    }
  }

  /** Everything that happens while a case is open, in [seg.from, to). */
  private fill(seg: Segment, to: number, endReason: string): void {
    const end = Math.min(to, this.nowMs);
    if (end <= seg.from) return;
    const rng = this.rng;
    const sector = seg.sector;
    const unit = seg.unitId;
    const childSide = sector === 'child' || sector === 'youth';

    if (childSide || sector === 'adult' || (sector === 'employment' && rng.chance(0.6))) {
      let t = this.after(Math.max(seg.from, seg.readyAt), 3, 45);
      let first = true;
      while (t < end) {
        const step = childSide ? this.driftStep() : undefined;
        const code: InterventionCode =
          step !== undefined ? rng.pick(CHILD_INTERVENTIONS_BY_STEP[step - 1]!) : rng.pick(sector === 'employment' ? EMPLOYMENT_INTERVENTIONS : ADULT_INTERVENTIONS);
        if (first && rng.chance(0.5)) this.meetingBefore(seg, t, 'visitation', [unit]);
        if (rng.chance(0.5) && t - seg.from > HOUR) {
          const subject = step !== undefined && step >= 4 ? 'anbringelse' : code.legalBasis === 'Serviceloven § 107' || code.legalBasis === 'Serviceloven § 108' ? 'botilbud' : 'indsats';
          this.push(t - rng.int(10, 50) * MINUTE, 'DecisionMade', { decisionId: this.newId('af'), unitId: unit, subject, outcome: rng.chance(0.9) ? 'granted' : 'partial' }, this.sourceOf(unit));
        }
        const interventionId = this.newId('iv');
        this.push(
          t,
          'InterventionStarted',
          { interventionId, unitId: unit, code: code.code, ...(step !== undefined ? { step } : {}), ...(code.legalBasis ? { legalBasis: code.legalBasis } : {}) },
          this.sourceOf(unit),
        );
        if (first) this.planAfterFirstIntervention(seg, t, to);
        first = false;
        const stop = this.officeNear(t + rng.duration(childSide ? 270 : 420, 0.6, 30, 6 * 365) * DAY);
        if (stop < to) {
          this.push(stop, 'InterventionEnded', { interventionId, reason: rng.pick(['completed', 'goal-reached', 'changed']) }, this.sourceOf(unit));
          this.interventions.push({ unitId: unit, step: step ?? 0, from: t, to: stop });
          // The next one follows at once (55 %) or after a pause; the case stays open meanwhile.
          t = rng.chance(0.55) ? this.after(stop, 0, 60) : this.after(stop, 90, 700);
        } else {
          const endedAt = Math.max(t + MINUTE, to - MINUTE);
          if (to < INF) this.push(endedAt, 'InterventionEnded', { interventionId, reason: endReason }, this.sourceOf(unit));
          this.interventions.push({ unitId: unit, step: step ?? 0, from: t, to: to < INF ? endedAt : INF });
          break;
        }
      }
    }

    const from = seg.from;
    const minorAt = (t: number): boolean => this.ageAt(t) < 18;
    this.poisson(from, end, childSide ? 0.8 : 0.3, (t) => {
      if (this.relatives.length > 0 && (!childSide || minorAt(t))) this.contact(t, unit, 'relative');
    });
    this.poisson(from, end, 0.5, (t) => {
      if (this.ageAt(t) >= 14) this.contact(t, unit, 'citizen');
    });
    this.poisson(from, end, 0.3, (t) => this.contact(t, unit, 'professional'));
    this.poisson(from, end, 0.5, (t) => {
      const units = [unit];
      const age = this.ageAt(t);
      if (this.roles.school.length > 0 && age >= 5 && age < 17 && rng.chance(0.4)) units.push(rng.pick(this.roles.school));
      if (this.roles.health.length > 0 && rng.chance(0.1)) units.push(rng.pick(this.roles.health));
      this.meeting(t, 'network', units);
    });
    if (childSide) {
      this.poisson(from, end, 0.25, (t) => {
        if (minorAt(t)) this.notification(t, rng.chance(0.7) ? rng.pick(this.roles.reception) : unit);
      });
      const age = this.ageAt(from);
      if (this.roles.health.length > 0 && age >= 6 && rng.chance(0.12)) this.sideReferral(seg, end, this.roles.health, 'Behov for psykiatrisk udredning');
      else if (this.roles.school.length > 0 && age >= 4 && age < 15 && rng.chance(0.08)) this.sideReferral(seg, end, this.roles.school, 'PPR-vurdering af skoletilbud');
    }
  }

  private planAfterFirstIntervention(seg: Segment, t: number, to: number): void {
    const rng = this.rng;
    if (seg.sector === 'child' || (seg.sector === 'youth' && rng.chance(0.5))) {
      if (rng.chance(0.85)) this.plan(this.after(t, 0, 30), seg.unitId, 'barnets-plan', to);
    } else if (seg.sector === 'adult') {
      const when = rng.weighted([['onTime', 70], ['late', 15], ['never', 15]] as const);
      if (when !== 'never') this.plan(when === 'onTime' ? this.after(seg.from, 5, 85) : this.after(seg.from, 120, 300), seg.unitId, 'handleplan', to);
    }
  }

  /** A referral that leaves the sending case open: the receiving unit runs its own case for a while. */
  private sideReferral(seg: Segment, end: number, pool: readonly string[], reason: string): void {
    const rng = this.rng;
    const at = this.office(localDay(seg.from + rng.float(0.1, 0.9) * (end - seg.from)));
    if (at <= seg.from || at >= end) return;
    const step = this.handover(seg, rng.pick(pool), 'referral', at, reason, { parallel: true });
    const side = step.next;
    if (!side) return;
    let closeAt = this.officeNear(side.from + rng.duration(200, 0.6, 20, 900) * DAY);
    let why = 'completed';
    if (closeAt > this.moveAt) [closeAt, why] = [this.after(Math.max(this.moveAt, side.from), 1, 20), 'moved'];
    this.close(side, closeAt, why);
  }

  /** Plans, decisions and representation around the 16th, 17½th and 18th birthdays. */
  private aroundAdulthood(): void {
    const rng = this.rng;
    const b16 = this.birthdayDay(16);
    const b18 = this.birthdayDay(18);
    const childSide = (c: Cover): boolean => c.sector === 'child' || c.sector === 'youth';
    const openAt = (t: number, match: (c: Cover) => boolean): Cover | undefined => this.covers.find((c) => match(c) && c.from <= t && t < c.to);
    const at16 = instantOf(b16, 0);
    if (openAt(at16, childSide)) {
      const when = rng.weighted([['onTime', 75], ['late', 15], ['never', 10]] as const);
      if (when !== 'never') {
        const t = this.office(b16 + (when === 'onTime' ? rng.int(0, 80) : rng.int(100, 250)));
        const c = openAt(t, childSide);
        if (c) this.plan(t, c.unitId, 'ungeplan', c.to);
      }
      if (this.disabled) {
        const w = rng.weighted([['onTime', 70], ['late', 15], ['never', 15]] as const);
        if (w !== 'never') {
          const t = w === 'onTime' ? this.office(b16 + rng.int(180, 700)) : this.office(b18 + rng.int(0, 150));
          const c = openAt(t, () => true);
          if (c) this.plan(t, c.unitId, 'transition', c.to);
        }
      }
    }
    const b175 = this.dateDay(this.birthYear + 17, this.birthMonth + 6, this.birthDate);
    const at175 = instantOf(b175, 0);
    const placement = this.interventions.find((i) => i.step >= 4 && i.from <= at175 && at175 < i.to);
    if (placement) {
      const when = rng.weighted([['onTime', 60], ['late', 30], ['never', 10]] as const);
      if (when !== 'never') {
        const b17 = this.birthdayDay(17);
        const t = when === 'onTime' ? this.office(b17 + rng.int(0, Math.max(0, b175 - b17 - 10))) : this.office(b175 + rng.int(5, 250));
        const c = openAt(t, childSide) ?? openAt(t, () => true);
        const unitId = c ? c.unitId : placement.unitId;
        const outcome = rng.weighted([['granted', 70], ['partial', 10], ['denied', 20]] as const);
        if (t > this.registeredAt) this.push(t, 'DecisionMade', { decisionId: this.newId('af'), unitId, subject: 'ungestoette', outcome }, this.sourceOf(unitId));
      }
    }
    const at18 = instantOf(b18, 0);
    const known = this.covers.some((c) => c.from < at18 + 0.5 * YEAR && c.to > at18 - YEAR);
    if (known && this.custodial.length > 0) {
      this.custodial.forEach((relativeId, i) => {
        if (!rng.chance((this.disabled ? 0.75 : 0.4) * (i === 0 ? 1 : 0.5))) return;
        const basis = this.disabled
          ? rng.weighted([['vaergemaal', 50], ['fuldmagt', 35], ['samtykke', 15]] as const)
          : rng.weighted([['fuldmagt', 45], ['samtykke', 50], ['vaergemaal', 5]] as const);
        const t = Math.max(this.office(b18 + rng.int(-40, 150)), this.relativesLinkedAt + DAY);
        this.push(t, 'RepresentationGranted', { relativeId, basis }, basis === 'vaergemaal' ? 'dubu' : 'nexus');
      });
    }
  }

  // ---- building blocks ------------------------------------------------------------------------

  private openCase(t: number, unitId: string, legalBasis: string | undefined, cameFrom?: string): Segment {
    const caseId = this.newId('sag');
    this.push(t, 'CaseOpened', { caseId, unitId, ...(legalBasis ? { legalBasis } : {}) }, this.sourceOf(unitId));
    const sector = this.roles.sectorOf(unitId);
    const cover: Cover = { unitId, sector, from: t, to: INF };
    this.covers.push(cover);
    let limit = INF;
    if (sector === 'employment') limit = this.officeNear(t + this.rng.duration(300, 0.6, 30, 1500) * DAY);
    else if (sector === 'health') limit = this.officeNear(t + this.rng.duration(200, 0.6, 20, 900) * DAY);
    return { caseId, unitId, sector, from: t, readyAt: t, limit, cover, ...(cameFrom ? { cameFrom } : {}) };
  }

  private close(seg: Segment, t: number, reason: string): void {
    seg.cover.to = t;
    this.push(t, 'CaseClosed', { caseId: seg.caseId, reason }, this.sourceOf(seg.unitId));
  }

  private closeWithin(seg: Segment, t: number, reason: string): number {
    this.fill(seg, t, reason);
    this.close(seg, t, reason);
    return t;
  }

  private notification(t: number, unitId: string): number {
    const rng = this.rng;
    const notificationId = this.newId('und');
    const notifier = rng.weighted([['professional', 65], ['private', 25], ['anonymous', 10]] as const);
    const receivedAt = notifier !== 'professional' && rng.chance(0.3) ? Math.max(t, instantOf(localDay(t), rng.int(17 * 60, 23 * 60))) : t;
    this.push(
      receivedAt,
      'NotificationReceived',
      { notificationId, unitId, notifier, ...(rng.chance(0.8) ? { reason: rng.pick(NOTIFICATION_REASONS) } : {}) },
      this.sourceOf(unitId),
    );
    const when = rng.weighted([['onTime', 85], ['late', 12], ['never', 3]] as const);
    let assessedAt = when === 'onTime' ? receivedAt + rng.int(20, 22 * 60) * MINUTE : when === 'late' ? receivedAt + rng.int(25 * 60, 10 * 24 * 60) * MINUTE : INF;
    if (assessedAt < INF && minuteOfDay(assessedAt) < 7 * 60) {
      // Nobody assesses at night: the morning duty does, if that still keeps the 24 hours.
      const morning = instantOf(localDay(assessedAt), rng.int(7 * 60, 8 * 60));
      if (when === 'late' || morning < receivedAt + 24 * HOUR) assessedAt = Math.max(morning, receivedAt + 20 * MINUTE);
    }
    if (assessedAt < INF) this.push(assessedAt, 'NotificationAssessed', { notificationId, urgent: rng.chance(0.12) }, this.sourceOf(unitId));
    if (notifier === 'professional') {
      const ack = rng.weighted([['onTime', 80], ['late', 12], ['never', 8]] as const);
      if (ack !== 'never') this.push(this.workdaysAfter(receivedAt, ack === 'onTime' ? rng.int(1, 5) : rng.int(7, 20)), 'NotificationAcknowledged', { notificationId }, this.sourceOf(unitId));
    }
    return assessedAt < INF ? assessedAt : receivedAt + 2 * DAY;
  }

  private contact(t: number, unitId: string, from: 'citizen' | 'relative' | 'professional'): void {
    const rng = this.rng;
    if (from === 'relative' && this.relatives.length === 0) from = this.ageAt(t) >= 14 ? 'citizen' : 'professional';
    const contactId = this.newId('hv');
    const relativeId = from === 'relative' ? rng.pick(this.relatives) : undefined;
    this.push(
      t,
      'ContactReceived',
      { contactId, unitId, from, ...(relativeId ? { relativeId } : {}), ...(rng.chance(0.7) ? { channel: rng.pick(CONTACT_CHANNELS) } : {}) },
      this.sourceOf(unitId),
    );
    const when = rng.weighted(from === 'relative' ? ([['onTime', 85], ['late', 10], ['never', 5]] as const) : ([['onTime', 80], ['late', 12], ['never', 8]] as const));
    if (when !== 'never') this.push(this.workdaysAfter(t, when === 'onTime' ? rng.int(0, 8) : rng.int(11, 30)), 'ContactAnswered', { contactId }, this.sourceOf(unitId));
  }

  private meeting(t: number, kind: 'visitation' | 'network' | 'transition', unitIds: string[]): void {
    const rng = this.rng;
    const age = this.ageAt(t);
    const citizenParticipated = age >= 12 ? rng.chance(0.65) : age >= 6 ? rng.chance(0.25) : false;
    const relativesParticipated = this.relatives.length > 0 && rng.chance(0.65);
    this.push(t, 'MeetingHeld', { meetingId: this.newId('mt'), kind, unitIds, citizenParticipated, relativesParticipated }, this.sourceOf(unitIds[0]!));
  }

  /** A meeting some days before `t`, but after the segment's case opened. */
  private meetingBefore(seg: Segment, t: number, kind: 'visitation' | 'transition', unitIds: string[]): void {
    const day = localDay(t) - this.rng.int(1, kind === 'transition' ? 45 : 10);
    const at = this.office(day);
    if (at > seg.from && at < t) this.meeting(at, kind, unitIds);
  }

  private plan(t: number, unitId: string, kind: 'barnets-plan' | 'ungeplan' | 'transition' | 'handleplan', before: number): void {
    if (t < before) this.push(t, 'PlanCreated', { planId: this.newId('pl'), unitId, kind }, this.sourceOf(unitId));
  }

  /** The episode's step on indsatstrappen, drifting by one now and then. */
  private driftStep(): number {
    const r = this.rng.next();
    if (r < 0.15 && this.episodeStep > 1) this.episodeStep--;
    else if (r > 0.85 && this.episodeStep < 6) this.episodeStep++;
    return Math.max(1, this.episodeStep);
  }

  private poisson(from: number, end: number, ratePerYear: number, at: (t: number) => void): void {
    let t = from;
    for (;;) {
      t += this.rng.exponential(ratePerYear) * YEAR;
      if (t >= end) return;
      const office = this.office(localDay(t));
      at(office > from ? office : from + this.rng.int(5, 60) * MINUTE);
    }
  }

  private injectAnomalies(): InjectedAnomaly[] {
    if (this.s.anomalyRate <= 0) return [];
    const rng = new Random(this.s.seed, this.index, ANOMALY_STREAM);
    if (!rng.chance(this.s.anomalyRate)) return [];
    const handovers = this.handovers.filter((h) => h.t < this.nowMs - MINUTE);
    const kinds: AnomalyKind[] = ['acceptance-without-initiation', 'close-unopened-case', ...(handovers.length > 0 ? (['duplicate-initiation'] as const) : [])];
    const kind = rng.pick(kinds);
    const after = (t: number): number => t + MINUTE + rng.next() * (this.nowMs - t - MINUTE);
    const before = this.drafts.length;
    if (kind === 'acceptance-without-initiation') {
      this.push(after(this.registeredAt), 'HandoverAccepted', { handoverId: this.newId('ho-x') }, 'dubu');
    } else if (kind === 'close-unopened-case') {
      this.push(after(this.registeredAt), 'CaseClosed', { caseId: this.newId('sag-x'), reason: 'completed' }, 'dubu');
    } else {
      const h = rng.pick(handovers);
      this.push(after(h.t), 'HandoverInitiated', { handoverId: h.id, fromUnitId: h.from, toUnitId: h.to, kind: h.kind }, this.sourceOf(h.from));
    }
    return this.drafts.length > before ? [{ kind, eventId: this.drafts[this.drafts.length - 1]!.id }] : [];
  }

  // ---- time and ids ---------------------------------------------------------------------------

  private push<T extends EventType>(t: number, type: T, data: EventData<T>, source: string): void {
    if (t > this.nowMs) return;
    this.drafts.push({ t: Math.floor(t / MINUTE) * MINUTE, seq: this.seq++, id: this.ids.uuid(), type, data, source });
  }

  private newId(kind: string): string {
    return `${kind}-${this.key}-${++this.counter}`;
  }

  private sourceOf(unitId: string): string {
    return SOURCE_BY_SECTOR[this.roles.sectorOf(unitId)];
  }

  private unitsOf(sector: UnitSector): readonly string[] {
    const r = this.roles;
    switch (sector) {
      case 'child':
        return this.disabled ? r.childDisability : r.child;
      case 'youth':
        return r.youth;
      case 'adult':
        return r.adult;
      case 'employment':
        return r.employment;
      case 'health':
        return r.health;
      case 'school':
        return r.school;
      case 'reception':
        return r.reception;
      case 'external':
        return r.external.map((u) => u.id);
    }
  }

  private syntheticName(): string {
    const rng = this.rng;
    const middle = rng.chance(0.35) ? ` ${rng.pick(MIDDLE_NAMES)}` : '';
    return `${rng.pick(FIRST_NAMES)}${middle} ${rng.pick(SURNAMES)}`;
  }

  private ageAt(t: number): number {
    return (localDay(t) - this.birthDay) / 365.2425;
  }

  private birthdayDay(years: number): number {
    return this.dateDay(this.birthYear + years, this.birthMonth, this.birthDate);
  }

  /** Day of a calendar date, the day of month clamped to the month (17½ from 31 August is 28/29 February). */
  private dateDay(year: number, month: number, day: number): number {
    const y = year + Math.floor((month - 1) / 12);
    const m = ((month - 1) % 12) + 1;
    return epochDayFromCivil(y, m, Math.min(day, daysInMonth(y, m)));
  }

  /** An office-hours instant (08:00–15:59) on a day, or on the next hverdag if the day is none. */
  private office(day: number): number {
    return instantOf(hverdage.isWorkingEpochDay(day) ? day : hverdage.nthWorkingEpochDayAfter(day, 1), 480 + this.rng.int(0, 479));
  }

  /** An office-hours instant on the day of t (or the Monday after), for instants computed from durations. */
  private officeNear(t: number): number {
    return t === INF ? INF : this.office(localDay(t));
  }

  /** An office-hours instant on the day or the last hverdag before it. */
  private officeBefore(day: number): number {
    let d = day;
    while (!hverdage.isWorkingEpochDay(d)) d--;
    return instantOf(d, 480 + this.rng.int(0, 479));
  }

  /** An office-hours instant minDays…maxDays after t, strictly after t. */
  private after(t: number, minDays: number, maxDays: number): number {
    const at = this.office(localDay(t) + this.rng.int(minDays, maxDays));
    return at > t ? at : t + this.rng.int(10, 120) * MINUTE;
  }

  /**
   * An office-hours instant on the n-th hverdag after t's day (the domain's calendar: weekends, public
   * holidays and closed days skipped, as the deadline policies count them), strictly after t.
   */
  private workdaysAfter(t: number, n: number): number {
    const at = n === 0 ? this.office(localDay(t)) : instantOf(hverdage.nthWorkingEpochDayAfter(localDay(t), n), 480 + this.rng.int(0, 479));
    return at > t ? at : t + this.rng.int(10, 120) * MINUTE;
  }
}
