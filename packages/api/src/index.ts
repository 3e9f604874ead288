export * from './ingestion/ingestionPlugin.ts';
export * from './health/healthPlugin.ts';
export * from './graphql/graphqlPlugin.ts';
export type { GraphqlExtension } from './graphql/schema.ts';
export type { GraphqlDependencies, CitizenParent } from './graphql/resolvers.ts';
export { asOfArgument, citizenIdArgument, encodeCursor, pageArguments, unitIdArgument } from './graphql/arguments.ts';
export { DateTimeScalar, DateScalar } from './graphql/scalars.ts';
export * from './graphql/gaps/index.ts';
export * from './graphql/flows/index.ts';
export * from './exports/index.ts';
export * from './graphql/deadlines/index.ts';
export * from './auth/authPlugin.ts';
export * from './auth/securityHeaders.ts';
export * from './personalData/index.ts';
export * from './graphql/privacy/index.ts';
export { PURPOSE_HEADER, grantOf, disclose, type TrackerContext } from './graphql/authorization.ts';
export {
  DEFAULT_GRAPHQL_LIMITS,
  loadPersistedOperations,
  PersistedOperationsFileError,
  type GraphqlLimits,
  type PersistedOperations,
} from './graphql/hardening.ts';
export { storeLiveEvents, type LiveEventFeed } from './graphql/eventHub.ts';
