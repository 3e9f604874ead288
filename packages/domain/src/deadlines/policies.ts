/**
 * Deadline policies as data (domain.md §5): the shipped defaults (default-policies.json) and a
 * kommune's own file (POLICIES_FILE), validated at start. A bad file fails with the line, the field
 * and the reason, never by guessing. The file format is documented in docs/deadlines.md.
 *
 * A policy is a start, one or more stops and a limit:
 * - an **event start** matches an event type (and data fields) and opens one clock per correlation
 *   key (e.g. `notificationId`); a stop matches by the same key. Without a key, each start opens its
 *   own clock and any matching stop after it stops it (a per-citizen rule, e.g. "application → decision").
 * - an **age start** opens one clock at a birthday (16, 17, 17½ …) when a condition holds then (an open
 *   child/youth case or intervention, a step ≥ 4 intervention, the disability flag).
 * - the limit is a calendar duration (hours, hverdage, days, weeks, months) or a due age ("due at
 *   the 18th birthday").
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Age } from '../calendar/age.ts';
import { DEFAULT_CLOSED_DAYS, WorkingDayCalendar, type CalendarDuration, type CalendarDurationUnit } from '../calendar/workingDayCalendar.ts';
import { eventDataSchemas, EVENT_TYPES, Sector, type EventType } from '../events/catalog.ts';
import { ConfigFileError } from '../units/units.ts';
import { JsonSyntaxError, parseJsonWithLocations, type JsonPath } from './jsonLocations.ts';

export const DEFAULT_AT_RISK_THRESHOLD = 0.75;

/** The shipped policies (domain.md §5). */
export const DEFAULT_POLICIES_FILE = fileURLToPath(new URL('./default-policies.json', import.meta.url));

// ── Types of a validated policy ───────────────────────────────────────────────────────────────────


export type PolicyFieldValue = string | number | boolean;

/** Data fields an event must have: a value, or any of a list of values. */
export type PolicyFieldMatch = Readonly<Record<string, PolicyFieldValue | readonly PolicyFieldValue[]>>;

export interface PolicyEventMatcher {
  event: EventType;
  where: PolicyFieldMatch;
  /** The data field correlating starts and stops (e.g. notificationId); undefined = per citizen. */
  key: string | undefined;
}

export interface PolicyEventStart extends PolicyEventMatcher {
  kind: 'event';
  /** A data field holding the start instant (e.g. awareSince); absent or empty = occurredAt. */
  startAt: string | undefined;
  /** The data field naming the unit the clock belongs to (default unitId). */
  unitField: string;
}

export type PolicyCondition =
  | { openCase: { sectors?: Sector[] } }
  | { activeIntervention: { sectors?: Sector[]; minStep?: number } }
  | { disability: boolean }
  | { anyOf: PolicyCondition[] }
  | { allOf: PolicyCondition[] };

type Sector = z.infer<typeof Sector>;

export interface PolicyAgeStart {
  kind: 'age';
  /** The clock starts at this birthday. */
  age: Age;
  /** Undefined = the clock starts at every citizen's birthday (with a known birth date). */
  when: PolicyCondition | undefined;
  /** The birthday at which `when` decides (default: the start age), e.g. 17½ for ungestoette-17-5. */
  conditionAt: Age;
  /** Stops count from this birthday on (default: the start age), e.g. a plan made shortly before. */
  stopsCountFromAge: Age;
}

export type DeadlineLimit = { kind: 'duration'; amount: number; unit: CalendarDurationUnit } | { kind: 'age'; age: Age };

export type LatenessUnit = 'hours' | 'workingDays' | 'days';

export interface DeadlinePolicy {
  id: string;
  title: string;
  basis: string | undefined;
  start: PolicyEventStart | PolicyAgeStart;
  stops: readonly PolicyEventMatcher[];
  limit: DeadlineLimit;
  /** Share of the time used from which a running clock is AT_RISK (0 < t ≤ 1). */
  atRiskThreshold: number;
  /** The unit of lateness in the compliance view. */
  latenessUnit: LatenessUnit;
}

// ── The file's schema ──────────────────────────────────────────────────────────────────────────────

const PolicyIdSchema = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, 'must be 1–64 lower-case letters, digits or "-", e.g. "sel-108-botilbud"');
const FieldNameSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/, 'must be a field name of the event\'s data, e.g. "notificationId"');
const FieldValueSchema = z.union([z.string(), z.number(), z.boolean()], { message: 'must be a string, number or boolean' });
const WhereSchema = z.record(FieldNameSchema, z.union([FieldValueSchema, z.array(FieldValueSchema).min(1, 'must list at least one value')], { message: 'must be a value or a list of values' }));
const EventTypeField = z.enum(EVENT_TYPES as [EventType, ...EventType[]], { message: 'must be an event type of the catalog (domain.md §3), e.g. "NotificationReceived"' });
const ThresholdSchema = z.number().gt(0, 'must be more than 0').max(1, 'must be at most 1 (a share of the time, e.g. 0.75)');

const AgeSchema = z
  .object({
    years: z.number().int('must be a whole number of years').min(0).max(30, 'must be at most 30'),
    months: z.number().int('must be a whole number of months').min(0).max(11, 'must be 0–11').optional(),
  })
  .strict();

const EventMatcherSchema = z.object({ event: EventTypeField, where: WhereSchema.optional(), key: FieldNameSchema.optional() }).strict();

const EventStartSchema = z
  .object({
    event: EventTypeField,
    where: WhereSchema.optional(),
    key: FieldNameSchema.optional(),
    startAt: FieldNameSchema.optional(),
    unitField: FieldNameSchema.optional(),
  })
  .strict();

const CONDITION_KINDS = ['openCase', 'activeIntervention', 'disability', 'anyOf', 'allOf'] as const;
const SectorsSchema = z.array(Sector).min(1, 'must list at least one sector');

const ConditionSchema: z.ZodType<PolicyCondition> = z.lazy(() =>
  z
    .object({
      openCase: z.object({ sectors: SectorsSchema.optional() }).strict().optional(),
      activeIntervention: z
        .object({ sectors: SectorsSchema.optional(), minStep: z.number().int().min(1, 'must be 1–6').max(6, 'must be 1–6').optional() })
        .strict()
        .optional(),
      disability: z.boolean().optional(),
      anyOf: z.array(ConditionSchema).min(1, 'must list at least one condition').optional(),
      allOf: z.array(ConditionSchema).min(1, 'must list at least one condition').optional(),
    })
    .strict()
    .refine((c) => CONDITION_KINDS.filter((k) => c[k] !== undefined).length === 1, {
      message: `must have exactly one of ${CONDITION_KINDS.join(', ')}`,
    }) as unknown as z.ZodType<PolicyCondition>,
);

const AgeStartSchema = z
  .object({ age: AgeSchema, when: ConditionSchema.optional(), conditionAt: AgeSchema.optional(), stopsCountFromAge: AgeSchema.optional() })
  .strict();

const DurationSchema = z
  .object({
    amount: z.number().min(0, 'must not be negative'),
    unit: z.enum(['hours', 'days', 'workingDays', 'weeks', 'months'], { message: 'must be one of hours, workingDays (hverdage), days, weeks, months' }),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.unit !== 'hours' && !Number.isInteger(d.amount)) ctx.addIssue({ code: 'custom', path: ['amount'], message: `must be a whole number of ${d.unit}` });
    if (d.unit !== 'workingDays' && d.amount === 0) ctx.addIssue({ code: 'custom', path: ['amount'], message: 'must be more than 0' });
    if (!Number.isFinite(d.amount) || d.amount > 100_000) ctx.addIssue({ code: 'custom', path: ['amount'], message: 'must be at most 100000' });
  });

const AgeLimitSchema = z.object({ age: AgeSchema }).strict();

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One of several shapes, chosen by what the value looks like, so an error is about that shape
 * instead of zod's "invalid input" for a union.
 */
function oneOf<T>(pick: (value: unknown) => z.ZodType<T>) {
  return z.unknown().transform((value, ctx): T => {
    const parsed = pick(value).safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) {
      const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : [];
      ctx.addIssue({ code: 'custom', message: issue.message, path: [...issue.path, ...keys.slice(0, 1)] });
    }
    return z.NEVER;
  });
}

type RawEventStart = z.infer<typeof EventStartSchema>;
type RawAgeStart = z.infer<typeof AgeStartSchema>;
type RawMatcher = z.infer<typeof EventMatcherSchema>;
type RawLimit = z.infer<typeof DurationSchema> | z.infer<typeof AgeLimitSchema>;

const StartSchema = oneOf<RawEventStart | RawAgeStart>((v) => (isObject(v) && 'age' in v ? AgeStartSchema : EventStartSchema));
const StopSchema = oneOf<RawMatcher | RawMatcher[]>((v) =>
  Array.isArray(v) ? z.array(EventMatcherSchema).min(1, 'must list at least one stop') : EventMatcherSchema,
);
const LimitSchema = oneOf<RawLimit>((v) => (isObject(v) && 'age' in v ? AgeLimitSchema : DurationSchema));

const PolicySchema = z
  .object({
    id: PolicyIdSchema,
    title: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
    basis: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
    start: StartSchema,
    stop: StopSchema,
    limit: LimitSchema,
    atRiskThreshold: ThresholdSchema.optional(),
    latenessUnit: z.enum(['hours', 'workingDays', 'days'], { message: 'must be one of hours, workingDays, days' }).optional(),
  })
  .strict()
  // Per policy, so one policy's cross-field problems are reported even when another's shape is wrong.
  .superRefine((policy, ctx) => checkPolicyFields(policy, [], ctx));

type RawPolicy = z.infer<typeof PolicySchema>;

export const PoliciesFileSchema = z
  .object({
    $schema: z.string().optional(),
    /** POLICIES_FILE only: true (default) = override and add to the shipped policies; false = replace them. */
    extendsDefaults: z.boolean().optional(),
    /** Shipped policy ids to switch off. */
    disable: z.array(PolicyIdSchema).optional(),
    atRiskThreshold: ThresholdSchema.optional(),
    /** Closed days besides weekends and public holidays: 'MM-DD' every year or 'YYYY-MM-DD'. */
    closedDays: z
      .array(
        z.string().refine(
          (day) => {
            try {
              new WorkingDayCalendar({ closedDays: [day] });
              return true;
            } catch {
              return false;
            }
          },
          { message: "must be 'MM-DD' (every year) or 'YYYY-MM-DD' (one date)" },
        ),
      )
      .optional(),
    policies: z.array(PolicySchema),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    file.policies.forEach((policy, index) => {
      const first = seen.get(policy.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['policies', index, 'id'], message: `duplicates policies.${first}.id` });
      else seen.set(policy.id, index);
    });
  });

export type PoliciesFile = z.infer<typeof PoliciesFileSchema>;

// ── Cross-field checks against the event catalog ───────────────────────────────────────────────────

type Ctx = z.RefinementCtx;

function dataFieldSchema(event: EventType, field: string): z.ZodType | undefined {
  const shape = (eventDataSchemas[event] as unknown as { shape: Record<string, z.ZodType> }).shape;
  return Object.hasOwn(shape, field) ? shape[field] : undefined;
}

function fieldsOf(event: EventType): string {
  const shape = (eventDataSchemas[event] as unknown as { shape: Record<string, z.ZodType> }).shape;
  return Object.keys(shape)
    .filter((f) => f !== 'personal')
    .join(', ');
}

function checkField(event: EventType, field: string, path: (string | number)[], ctx: Ctx): boolean {
  if (field === 'personal' || dataFieldSchema(event, field) === undefined) {
    ctx.addIssue({ code: 'custom', path, message: `${event} has no field "${field}"; its fields are ${fieldsOf(event)}` });
    return false;
  }
  return true;
}

function checkMatcher(matcher: RawMatcher | RawEventStart, path: (string | number)[], ctx: Ctx): void {
  for (const [field, expected] of Object.entries(matcher.where ?? {})) {
    if (!checkField(matcher.event, field, [...path, 'where', field], ctx)) continue;
    const schema = dataFieldSchema(matcher.event, field)!;
    const values = Array.isArray(expected) ? expected : [expected];
    values.forEach((value, i) => {
      if (!schema.safeParse(value).success) {
        ctx.addIssue({
          code: 'custom',
          path: Array.isArray(expected) ? [...path, 'where', field, i] : [...path, 'where', field],
          message: `is not a possible value of ${matcher.event}.${field}`,
        });
      }
    });
  }
  if (matcher.key !== undefined) checkField(matcher.event, matcher.key, [...path, 'key'], ctx);
}

function checkPolicyFields(policy: RawPolicy, path: (string | number)[], ctx: Ctx): void {
  const stops = Array.isArray(policy.stop) ? policy.stop : [policy.stop];
  const stopPath = (i: number) => (Array.isArray(policy.stop) ? [...path, 'stop', i] : [...path, 'stop']);
  const start = policy.start as RawEventStart | RawAgeStart;
  if ('age' in start) {
    if (stops.some((s) => s.key !== undefined)) {
      stops.forEach((s, i) => {
        if (s.key !== undefined) ctx.addIssue({ code: 'custom', path: [...stopPath(i), 'key'], message: 'an age-triggered clock has one clock per citizen: its stops take no key' });
      });
    }
    const startMonths = start.age.years * 12 + (start.age.months ?? 0);
    if (start.conditionAt && start.conditionAt.years * 12 + (start.conditionAt.months ?? 0) < startMonths) {
      ctx.addIssue({ code: 'custom', path: [...path, 'start', 'conditionAt'], message: 'must not be before the start age' });
    }
    const limit = policy.limit as { age?: { years: number; months?: number } };
    if (limit.age && limit.age.years * 12 + (limit.age.months ?? 0) <= startMonths) {
      ctx.addIssue({ code: 'custom', path: [...path, 'limit', 'age'], message: 'must be after the start age' });
    }
  } else {
    checkMatcher(start, [...path, 'start'], ctx);
    if (start.startAt !== undefined && checkField(start.event, start.startAt, [...path, 'start', 'startAt'], ctx)) {
      if (!dataFieldSchema(start.event, start.startAt)!.safeParse('2025-01-01T00:00:00+01:00').success) {
        ctx.addIssue({ code: 'custom', path: [...path, 'start', 'startAt'], message: `${start.event}.${start.startAt} is not an instant` });
      }
    }
    const unitField = start.unitField ?? 'unitId';
    if (start.unitField !== undefined || dataFieldSchema(start.event, 'unitId') !== undefined) {
      checkField(start.event, unitField, [...path, 'start', 'unitField'], ctx);
    }
    if ('age' in (policy.limit as object)) {
      ctx.addIssue({ code: 'custom', path: [...path, 'limit', 'age'], message: 'a due age needs an age-triggered start; give a duration { "amount", "unit" }' });
    }
    stops.forEach((stop, i) => {
      const key = stop.key ?? start.key;
      if (start.key === undefined && stop.key !== undefined) {
        ctx.addIssue({ code: 'custom', path: [...stopPath(i), 'key'], message: 'the start has no key to correlate with; give start.key too' });
      } else if (key !== undefined && stop.key === undefined && dataFieldSchema(stop.event, key) === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: stopPath(i),
          message: `${stop.event} has no field "${key}" to match the start's key; name its correlation field with "key"`,
        });
      }
    });
  }
  stops.forEach((stop, i) => checkMatcher(stop, stopPath(i), ctx));
}

// ── Normalising ────────────────────────────────────────────────────────────────────────────────────

const ageOf = (a: { years: number; months?: number | undefined }): Age => ({ years: a.years, months: a.months ?? 0 });

function normalisePolicy(raw: RawPolicy, fileThreshold: number): DeadlinePolicy {
  const start = raw.start as RawEventStart | RawAgeStart;
  const rawLimit = raw.limit as { age: { years: number; months?: number } } | { amount: number; unit: CalendarDurationUnit };
  const limit: DeadlineLimit = 'age' in rawLimit ? { kind: 'age', age: ageOf(rawLimit.age) } : { kind: 'duration', amount: rawLimit.amount, unit: rawLimit.unit };
  const stopsRaw = Array.isArray(raw.stop) ? raw.stop : [raw.stop];
  const startKey = 'age' in start ? undefined : start.key;
  const stops = stopsRaw.map((s) => ({ event: s.event, where: s.where ?? {}, key: s.key ?? startKey }));
  const normalisedStart: PolicyEventStart | PolicyAgeStart =
    'age' in start
      ? {
          kind: 'age',
          age: ageOf(start.age),
          when: start.when,
          conditionAt: ageOf(start.conditionAt ?? start.age),
          stopsCountFromAge: ageOf(start.stopsCountFromAge ?? start.age),
        }
      : { kind: 'event', event: start.event, where: start.where ?? {}, key: start.key, startAt: start.startAt, unitField: start.unitField ?? 'unitId' };
  const latenessUnit: LatenessUnit =
    raw.latenessUnit ?? (limit.kind === 'duration' && limit.unit === 'hours' ? 'hours' : limit.kind === 'duration' && limit.unit === 'workingDays' ? 'workingDays' : 'days');
  return {
    id: raw.id,
    title: raw.title ?? raw.id,
    basis: raw.basis,
    start: normalisedStart,
    stops,
    limit,
    atRiskThreshold: raw.atRiskThreshold ?? fileThreshold,
    latenessUnit,
  };
}

/** The policies in force, with the calendar they count on. */
export class DeadlinePolicySet {
  readonly #byId: ReadonlyMap<string, DeadlinePolicy>;
  readonly calendar: WorkingDayCalendar;
  /** Changes whenever any policy, the threshold or the closed days change: stored clocks are then rebuilt. */
  readonly fingerprint: string;

  constructor(
    readonly policies: readonly DeadlinePolicy[],
    readonly closedDays: readonly string[] = DEFAULT_CLOSED_DAYS,
  ) {
    this.#byId = new Map(policies.map((p) => [p.id, p]));
    this.calendar = new WorkingDayCalendar({ closedDays });
    this.fingerprint = createHash('sha256').update(JSON.stringify({ policies, closedDays })).digest('hex');
  }

  get(id: string): DeadlinePolicy | undefined {
    return this.#byId.get(id);
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /**
   * When a clock of an event-started policy is due, by its start instant — for the read models that
   * judge "overdue" by a policy (handover acceptance, answering a relative). A kommune that disabled
   * the policy still has a service level for the gap: the given default.
   */
  dueFunction(id: string, fallback: CalendarDuration): (startMs: number) => number {
    const limit = this.#byId.get(id)?.limit;
    const duration: CalendarDuration = limit?.kind === 'duration' ? { amount: limit.amount, unit: limit.unit } : fallback;
    return (startMs) => this.calendar.addDuration(startMs, duration);
  }

  get ids(): string[] {
    return [...this.#byId.keys()];
  }
}

// ── Reading files ──────────────────────────────────────────────────────────────────────────────────

function friendlyMessage(issue: z.core.$ZodIssue): string {
  if (/received undefined$/.test(issue.message)) return 'is required';
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'custom' && issue.message.startsWith('Unrecognized key')) return issue.message.replace(/^Unrecognized keys?: /, 'unknown field ');
  return issue.message;
}

const at = (locate: (path: JsonPath) => { line: number; column: number }, path: (string | number)[]): string => {
  const { line, column } = locate(path);
  return `line ${line}, column ${column}${path.length ? ` (${path.map(String).join('.')})` : ''}`;
};

interface LocatedPoliciesFile {
  data: PoliciesFile;
  locate(path: JsonPath): { line: number; column: number };
}

function parseLocated(text: string, file: string): LocatedPoliciesFile {
  let located;
  try {
    located = parseJsonWithLocations(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new ConfigFileError(file, [`line ${error.line}, column ${error.column}: not valid JSON: ${error.reason}`]);
    throw error;
  }
  const parsed = PoliciesFileSchema.safeParse(located.value);
  if (!parsed.success) {
    throw new ConfigFileError(
      file,
      parsed.error.issues.map((issue) => {
        const keys = issue.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [];
        const { line, column } = located.locate([...issue.path, ...keys]);
        const where = issue.path.length ? ` (${issue.path.map(String).join('.')})` : '';
        return `line ${line}, column ${column}${where}: ${friendlyMessage(issue)}`;
      }),
    );
  }
  return { data: parsed.data, locate: located.locate };
}

/** Validates a policies file's text; throws ConfigFileError with "line L, column C (path): reason" per problem. */
export function parsePoliciesFileText(text: string, file: string): PoliciesFile {
  return parseLocated(text, file).data;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigFileError(file, [`cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
}

let shippedDefaults: PoliciesFile | undefined;
/** The shipped default policies file, parsed once. */
export function defaultPoliciesFile(): PoliciesFile {
  shippedDefaults ??= parsePoliciesFileText(readText(DEFAULT_POLICIES_FILE), DEFAULT_POLICIES_FILE);
  return shippedDefaults;
}

/**
 * The policies in force: the shipped defaults, overridden (same id) and extended by a kommune's
 * file, minus the ids it disables; with `"extendsDefaults": false` the kommune's file alone.
 * The kommune's threshold and closed days win over the defaults'.
 */
export function resolvePolicies(own: PoliciesFile | undefined, file = '(policies)', locate?: LocatedPoliciesFile['locate']): DeadlinePolicySet {
  const defaults = defaultPoliciesFile();
  const base = own?.extendsDefaults === false ? undefined : defaults;
  const threshold = own?.atRiskThreshold ?? base?.atRiskThreshold ?? DEFAULT_AT_RISK_THRESHOLD;
  const closedDays = own?.closedDays ?? base?.closedDays ?? DEFAULT_CLOSED_DAYS;
  const raw = new Map<string, RawPolicy>();
  for (const p of base?.policies ?? []) raw.set(p.id, p);
  const problems: string[] = [];
  own?.disable?.forEach((id, index) => {
    if (!raw.has(id)) {
      const where = locate ? at(locate, ['disable', index]) : `disable.${index}`;
      problems.push(`${where}: is not a shipped policy${base ? ` (${[...raw.keys()].join(', ')})` : ' (extendsDefaults is false)'}`);
    }
    raw.delete(id);
  });
  if (problems.length) throw new ConfigFileError(file, problems);
  for (const p of own?.policies ?? []) raw.set(p.id, p);
  return new DeadlinePolicySet(
    [...raw.values()].map((p) => normalisePolicy(p, threshold)),
    closedDays,
  );
}

/** Parses a kommune's policies text (POLICIES_FILE contents) and resolves it against the defaults. */
export function parsePolicies(text: string, file: string): DeadlinePolicySet {
  const { data, locate } = parseLocated(text, file);
  return resolvePolicies(data, file, locate);
}

/**
 * The policies for POLICIES_FILE: undefined = the shipped defaults. Throws ConfigFileError (with
 * line numbers) for a file that cannot be read or is not valid.
 */
export function loadPolicies(file: string | undefined): DeadlinePolicySet {
  return file === undefined ? resolvePolicies(undefined) : parsePolicies(readText(file), file);
}
