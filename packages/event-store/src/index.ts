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
