import type { TransitionEvent, UnitDirectory } from '@tracker/domain';
import { CitizenStory, type GeneratedCitizen, type StorySettings } from './citizenStory.ts';
import { resolveUnitRoles } from './unitRoles.ts';

export interface GenerateOptions {
  seed: number;
  /** How many citizens to generate. */
  citizens: number;
  units: UnitDirectory;
  /** No event occurs after this instant; ages are taken at it. */
  now: Date;
  /** Citizen ids are `c-<idPrefix>-000123`; default 'gen'. 1–40 of [A-Za-z0-9._-]. */
  idPrefix?: string;
  /** Index of the first citizen (default 0): shards of one population, e.g. one per worker, stay identical. */
  startIndex?: number;
  /** Oldest citizen's age at `now` in years (default 30). */
  maxAge?: number;
  /** Share of citizens with a disability (default 0.08). */
  disabilityShare?: number;
  /** Share of citizens registered with a synthetic name in `personal` (default 0.4). */
  nameShare?: number;
  /**
   * Share of citizens given one source-system contradiction (default 0): an acceptance with no
   * initiation, a closing of a case never opened, or a second initiation of the same handover.
   * Listed in GeneratedCitizen.anomalies; the rest of the history is unchanged by it.
   */
  anomalyRate?: number;
  /** The home kommune (default: the kommune most configured non-external units belong to). */
  municipality?: string;
}

const ID_PREFIX = /^[A-Za-z0-9._-]{1,40}$/;

function settingsOf(options: GenerateOptions): StorySettings {
  const idPrefix = options.idPrefix ?? 'gen';
  if (!ID_PREFIX.test(idPrefix)) throw new RangeError(`idPrefix must be 1–40 of A–Z, a–z, 0–9, ".", "_" or "-", got ${JSON.stringify(idPrefix)}`);
  const nowMs = options.now.getTime();
  if (!Number.isFinite(nowMs)) throw new RangeError('now must be a valid Date');
  const share = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be between 0 and 1, got ${v}`);
    return v;
  };
  const maxAge = options.maxAge ?? 30;
  if (!(maxAge > 0 && maxAge <= 120)) throw new RangeError(`maxAge must be in (0, 120], got ${maxAge}`);
  return {
    seed: options.seed,
    roles: resolveUnitRoles(options.units, options.municipality),
    nowMs,
    idPrefix,
    maxAgeDays: Math.round(maxAge * 365.2425),
    disabilityShare: share('disabilityShare', options.disabilityShare, 0.08),
    nameShare: share('nameShare', options.nameShare, 0.4),
    anomalyRate: share('anomalyRate', options.anomalyRate, 0),
  };
}

/**
 * Streams generated citizens one at a time (nothing is kept between them). Each citizen depends only
 * on (seed, index, options), so the same options always give byte-identical output, and a shard
 * (startIndex, citizens) equals the same slice of a larger run.
 */
export function* generateCitizens(options: GenerateOptions): Generator<GeneratedCitizen, void, undefined> {
  const settings = settingsOf(options);
  const first = options.startIndex ?? 0;
  if (!Number.isInteger(first) || first < 0) throw new RangeError(`startIndex must be a non-negative integer, got ${first}`);
  if (!Number.isInteger(options.citizens) || options.citizens < 0) throw new RangeError(`citizens must be a non-negative integer, got ${options.citizens}`);
  for (let i = first; i < first + options.citizens; i++) yield new CitizenStory(settings, i).generate();
}

/** The same histories as one stream of events: citizen after citizen, each in occurredAt order. */
export function* generateEvents(options: GenerateOptions): Generator<TransitionEvent, void, undefined> {
  for (const citizen of generateCitizens(options)) yield* citizen.events;
}
