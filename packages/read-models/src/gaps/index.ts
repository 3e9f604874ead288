export * from './gapQueries.ts';
export * from './gapsDerivation.ts';
export { SqliteGapQueries } from './sqliteGapQueries.ts';
export { PostgresGapQueries, type PostgresGapSource } from './postgresGapQueries.ts';
