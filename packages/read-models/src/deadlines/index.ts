export type { ComplianceCell, ComplianceFilter, ComplianceView, DeadlineFilter, DeadlineKey, DeadlinePage, DeadlinePageRequest, DeadlineQueries, DeadlineView } from './deadlineQueries.ts';
export { clockRow, DEADLINE_CLOCKS_TABLE, DEADLINE_DERIVATION_VERSION, deadlineClocksTable, deadlineDerivation, type DeadlineDerivationOptions } from './deadlineDerivation.ts';
export { MIN_CITIZENS_PER_CELL } from './deadlineViews.ts';
export { SqliteDeadlineQueries, type SqliteDeadlineQueriesOptions } from './sqliteDeadlineQueries.ts';
export { PostgresDeadlineQueries, type PostgresDeadlineQueriesOptions, type PostgresDeadlineSource } from './postgresDeadlineQueries.ts';
export {
  DeadlineAlertScheduler,
  type DeadlineAlert,
  type DeadlineAlertListener,
  type DeadlineAlertSchedulerOptions,
  type DeadlineAlertSource,
} from './alertScheduler.ts';
export { ManualTimers, systemTimers, type TimerHandle, type Timers } from './timers.ts';
export { monthRange as complianceMonthRange } from './months.ts';
