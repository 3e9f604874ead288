/**
 * Deterministic, streaming generator of citizens' transition histories: the demo kommune's data, the
 * property tests' small histories (delivered late and out of order) and the benchmarks' millions of
 * events. See packages/generator/README.md for the options and the proportions.
 */
export { generateCitizens, generateEvents, type GenerateOptions } from './generateCitizens.ts';
export type { AnomalyKind, GeneratedCitizen, InjectedAnomaly } from './citizenStory.ts';
export { deliverLate, type DeliverLateOptions } from './deliverLate.ts';
export { Random } from './random.ts';
export { formatInstant } from './time.ts';
export { resolveUnitRoles, type UnitRoles } from './unitRoles.ts';
export { INTERVENTION_CODES, type InterventionCode } from './vocabulary.ts';
