/**
 * `DateTime` and `Date`, validated by the event catalog's own rules (an instant must carry an offset,
 * the same rule as for events), so the API and ingestion cannot drift apart. Declared in
 * schema.graphql; these are their resolvers.
 *
 * Input values are kept as sent (a string); the resolvers turn instants into epoch ms where the read
 * models want them. Errors state the expectation only; `inputErrorsPlugin.ts` names the argument.
 */
import type { GraphQLScalarTypeConfig, ValueNode } from 'graphql';
import { Kind } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import { CalendarDate, Instant } from '@tracker/domain';
import type { z } from 'zod';

export const INSTANT_EXPECTATION = 'must be an ISO 8601 date-time with an offset, e.g. 2025-03-01T09:30:00+01:00';
export const DATE_EXPECTATION = 'must be a date YYYY-MM-DD';

/** The scalars' error messages: value-free, so they are passed on as they are. */
export const SCALAR_EXPECTATIONS: ReadonlySet<string> = new Set([INSTANT_EXPECTATION, DATE_EXPECTATION]);

type ScalarResolver = Omit<GraphQLScalarTypeConfig<string, string>, 'name'>;

function stringScalar(name: string, schema: z.ZodType<string>, expectation: string): ScalarResolver {
  const parse = (value: unknown, node?: ValueNode): string => {
    if (typeof value === 'string' && schema.safeParse(value).success) return value;
    throw createGraphQLError(expectation, { ...(node ? { nodes: node } : {}), extensions: { code: 'BAD_USER_INPUT' } });
  };
  return {
    serialize(value) {
      if (value instanceof Date) return name === 'Date' ? value.toISOString().slice(0, 10) : value.toISOString();
      if (typeof value === 'string') return value;
      throw new TypeError(`${name} cannot serialize a ${typeof value}`);
    },
    parseValue: (value) => parse(value),
    parseLiteral: (node) => parse(node.kind === Kind.STRING ? node.value : undefined, node),
  };
}

export const DateTimeScalar = stringScalar('DateTime', Instant, INSTANT_EXPECTATION);
export const DateScalar = stringScalar('Date', CalendarDate, DATE_EXPECTATION);
