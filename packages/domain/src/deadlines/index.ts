export * from './policies.ts';
export * from './clocks.ts';
export * from './status.ts';
export { formatDeadlineInstant } from './instants.ts';
export { JsonSyntaxError, parseJsonWithLocations, type JsonLocation, type JsonPath, type LocatedJson } from './jsonLocations.ts';
