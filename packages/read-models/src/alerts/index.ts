export { GAP_ALERT_KINDS, type AlertListener, type AlertSource, type GapAlert, type GapAlertKind, type RecordedAlert, type UnsequencedAlert } from './alertRecords.ts';
export { gapTransitions, newAlerts, type AlertCandidates, type ClockCandidate, type DecisionContext, type GapCandidate, type NewAlert } from './alertDecisions.ts';
export { AlertScheduler, type AlertCheck, type AlertSchedulerOptions, type AlertStore } from './alertScheduler.ts';
export { SqliteAlertStore } from './sqliteAlertStore.ts';
export { PostgresAlertStore, type PostgresAlertStoreOptions } from './postgresAlertStore.ts';
export { ALERT_FEED_TABLE } from './postgresAlertFeed.ts';
export { OutboxAlertSource, type AlertOutbox, type OutboxAlertSourceOptions } from './outboxAlertSource.ts';
