export * from './events/catalog.ts';
export * from './events/validation.ts';
export * from './ids/personalData.ts';
export * from './units/units.ts';
export * from './citizen/citizenDecider.ts';
export * from './time/clock.ts';
export * from './calendar/index.ts';
export * from './gaps/index.ts';
