export * from './ingestion/ingestionPlugin.ts';
export * from './health/healthPlugin.ts';
export * from './graphql/graphqlPlugin.ts';
