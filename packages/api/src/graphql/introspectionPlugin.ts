/**
 * An envelop plugin refusing introspection (`__schema`, `__type`) at validation, for production: the
 * schema is published in docs/, not discoverable by probing. `__typename` stays allowed.
 *
 * The same check as graphql-js's NoSchemaIntrospectionCustomRule, by field name: those names are
 * reserved for introspection, and a name check works whichever copy of `graphql` built the schema.
 */
import type { ValidationRule } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);

export const NoIntrospection: ValidationRule = (context) => ({
  Field(node) {
    if (INTROSPECTION_FIELDS.has(node.name.value)) {
      context.reportError(
        createGraphQLError(`GraphQL introspection is disabled, but the operation asked for "${node.name.value}".`, {
          nodes: node,
          extensions: { code: 'INTROSPECTION_DISABLED' },
        }),
      );
    }
  },
});

export const useDisableIntrospection = (): Plugin => ({
  onValidate({ addValidationRule }) {
    addValidationRule(NoIntrospection);
  },
});
