/**
 * Hand-built histories for the gap rules' tests: a citizen's facts in the order they are added, with
 * fresh event ids, and the demo kommune's units with the default deadline policies.
 */
import { randomUUID } from 'node:crypto';
import { WorkingDayCalendar } from '../calendar/workingDayCalendar.ts';
import type { EventData, EventType, TransitionEvent } from '../events/catalog.ts';
import { DEMO_UNITS_FILE, loadUnitsFile } from '../units/units.ts';
import type { GapRules } from './model.ts';

export const demoUnits = loadUnitsFile(DEMO_UNITS_FILE);
export const CHILD = '0751-bf-myndighed';
export const CHILD_HANDICAP = '0751-bf-handicap';
export const YOUTH = '0751-ungeenhed';
export const ADULT = '0751-voksen-handicap';
export const PSYCHIATRY = '0751-socialpsykiatri';
export const JOBCENTER = '0751-jobcenter';
export const RECEPTION = '0751-modtagelse';
export const OTHER_KOMMUNE = '0101-bf-myndighed';

const hverdage = new WorkingDayCalendar();
/** Both local service levels of domain.md §5: 10 hverdage. */
export const TEN_HVERDAGE = (ms: number): number => hverdage.addWorkingDays(ms, 10);

export const demoRules: GapRules = {
  sectorOf: (unitId) => demoUnits.sectorOf(unitId),
  handoverAcceptanceDue: TEN_HVERDAGE,
  relativeAnswerDue: TEN_HVERDAGE,
};

export class HistoryBuilder {
  readonly events: TransitionEvent[] = [];
  constructor(readonly citizenId = 'c-test-1') {}

  add<T extends EventType>(type: T, occurredAt: string, data: EventData<T>, source = 'test'): this {
    this.events.push({ id: randomUUID(), citizenId: this.citizenId, type, occurredAt, source, data } as TransitionEvent);
    return this;
  }

  /** The id of the last fact added. */
  get lastId(): string {
    return this.events.at(-1)!.id;
  }
}

/** A citizen registered at `at`, born on `birthDate`. */
export const registered = (birthDate: string, at = '2020-01-02T09:00:00+01:00', citizenId?: string): HistoryBuilder =>
  new HistoryBuilder(citizenId).add('CitizenRegistered', at, { birthDate, municipality: '0751', disability: false });
