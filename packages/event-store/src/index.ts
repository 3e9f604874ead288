export * from './eventStore.ts';
export * from './errors.ts';
export * from './commandHandling.ts';
export {
  SqliteEventStore,
  SQLITE_EVENT_STORE_SCHEMA_VERSION,
  type SqliteEventStoreOptions,
  type SqliteEventStoreStats,
  type SqliteSubscription,
} from './sqlite/sqliteEventStore.ts';
export { PostgresEventStore, PostgresEventStoreError, POSTGRES_EVENT_STORE_SCHEMA_VERSION, type PostgresEventStoreOptions } from './postgres/postgresEventStore.ts';
export type { ObservableSubscription } from './pullSubscription.ts';
export { EventStoreDbEventStore, type EventStoreDbEventStoreOptions } from './eventstoredb/eventStoreDbEventStore.ts';
