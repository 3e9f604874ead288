export * from './ingestion/ingestionPlugin.ts';
export * from './health/healthPlugin.ts';
export * from './graphql/graphqlPlugin.ts';
export type { GraphqlExtension } from './graphql/schema.ts';
export type { GraphqlDependencies, CitizenParent } from './graphql/resolvers.ts';
export { asOfArgument, citizenIdArgument, encodeCursor, pageArguments, unitIdArgument } from './graphql/arguments.ts';
export { DateTimeScalar, DateScalar } from './graphql/scalars.ts';
export * from './graphql/gaps/index.ts';
