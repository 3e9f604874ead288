/** The executable schema: schema.graphql (the contract, kept readable as SDL) plus the resolvers. */
import { readFileSync } from 'node:fs';
import type { GraphQLSchema } from 'graphql';
import { createSchema } from 'graphql-yoga';
import { createResolvers, type GraphqlDependencies } from './resolvers.ts';

export const TYPE_DEFS = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

export function createTrackerSchema(deps: GraphqlDependencies): GraphQLSchema {
  return createSchema({ typeDefs: TYPE_DEFS, resolvers: createResolvers(deps) });
}
