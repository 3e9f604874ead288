/**
 * The executable schema: schema.graphql (the contract, kept readable as SDL) plus the resolvers, and
 * the extensions that features add (their own SDL with `extend type Query` / `extend type Citizen`,
 * and their resolvers), so each feature's API lives beside its feature.
 */
import { readFileSync } from 'node:fs';
import type { GraphQLSchema } from 'graphql';
import { createSchema } from 'graphql-yoga';
import { createResolvers, type GraphqlDependencies } from './resolvers.ts';

export const TYPE_DEFS = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

/** A feature's part of the schema. */
export interface GraphqlExtension {
  /** SDL extending the base schema (e.g. `extend type Citizen { gaps: [Gap!]! }`). */
  typeDefs: string;
  resolvers(deps: GraphqlDependencies): Resolvers;
}

type Resolvers = NonNullable<Exclude<Parameters<typeof createSchema>[0]['resolvers'], unknown[]>>;

export function createTrackerSchema(deps: GraphqlDependencies, extensions: readonly GraphqlExtension[] = []): GraphQLSchema {
  return createSchema({
    typeDefs: [TYPE_DEFS, ...extensions.map((e) => e.typeDefs)],
    resolvers: [createResolvers(deps), ...extensions.map((e) => e.resolvers(deps))],
  });
}
