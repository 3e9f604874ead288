export { deadlinesExtension, alertPayload, DEADLINES_TYPE_DEFS, MAX_COMPLIANCE_MONTHS, type DeadlinesExtensionOptions } from './deadlinesExtension.ts';
export { DeadlineAlertFeed, type DeadlineAlertFeedOptions, type DeadlineAlertFilter } from './alertFeed.ts';
export { decodeDeadlineCursor, encodeDeadlineCursor, type DeadlineCursor } from './cursor.ts';
