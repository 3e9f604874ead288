export * from './queries.ts';
export * from './projector.ts';
export * from './projections/projectEvent.ts';
export * from './projections/summaries.ts';
export { SqliteReadModel, type SqliteReadModelOptions } from './sqlite/sqliteReadModel.ts';
export * from './derived.ts';
export { PostgresReadModel, type PostgresReadModelOptions } from './postgres/postgresReadModel.ts';
export * from './gaps/index.ts';
