export * from './deadlineQueries.ts';
export * from './deadlineDerivation.ts';
export * from './sqliteDeadlineQueries.ts';
export * from './alertScheduler.ts';
export * from './timers.ts';
export { monthOfDue, monthRange } from './months.ts';
