/**
 * The errors a GraphQL client can expect, and the mask over everything else.
 *
 * Expected errors are GraphQLErrors with a stable `extensions.code`:
 * - `BAD_USER_INPUT`: `extensions.field` names the argument (dotted for input fields, e.g.
 *   `input.unitId`); `extensions.problems` lists every problem when there are several.
 * - `COMMAND_REFUSED`: the citizen's state does not allow the command; `extensions.refusal` is the
 *   decider's code (e.g. HANDOVER_NOT_FOUND), `extensions.reason` its sentence.
 * - `CONFLICT`: the citizen's stream kept changing under the command; retrying is safe.
 * - `READ_MODEL_LAGGING`: a command was recorded but its result could not be read back in time.
 *
 * Messages name the argument and the expectation, never the value sent: a value may be a CPR number.
 * Anything else is masked by yoga as "Unexpected error." (code INTERNAL_SERVER_ERROR) and logged.
 *
 * Errors are made with yoga's `createGraphQLError` and recognised by name (`isGraphQLError`), never
 * by `instanceof` against a `graphql` import: where `graphql` is loaded twice (its CJS and ESM builds,
 * as under vitest), yoga's masking would otherwise take our expected errors for unexpected ones.
 */
import type { GraphQLError } from 'graphql';
import { createGraphQLError, type YogaMaskedErrorOpts } from 'graphql-yoga';
import { CommandRefusedError } from '@tracker/domain';
import { WrongExpectedVersionError } from '@tracker/event-store';

export interface InputProblem {
  /** The argument, dotted for fields inside an input object (`input.unitId`). */
  field: string;
  message: string;
}

/** Bad input: names the field and the expectation, never the value. */
export function badUserInput(problems: readonly [InputProblem, ...InputProblem[]]): GraphQLError {
  const [first] = problems;
  const message = problems.length === 1 ? `Invalid ${first.field}: ${first.message}` : `Invalid input: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`;
  return createGraphQLError(message, {
    extensions: { code: 'BAD_USER_INPUT', field: first.field, ...(problems.length > 1 ? { problems: [...problems] } : {}) },
  });
}

/** A GraphQLError from whichever copy of `graphql` made it. */
export const isGraphQLError = (error: unknown): error is GraphQLError => error instanceof Error && error.name === 'GraphQLError';

export const badField = (field: string, message: string): GraphQLError => badUserInput([{ field, message }]);

/** Turns what a command may throw on purpose into an expected error; anything else is rethrown. */
export function commandError(error: unknown): never {
  if (error instanceof CommandRefusedError) {
    throw createGraphQLError(`Command refused: ${error.reason}`, {
      extensions: { code: 'COMMAND_REFUSED', refusal: error.code, reason: error.reason },
    });
  }
  if (error instanceof WrongExpectedVersionError) {
    throw createGraphQLError("The citizen's events changed while the command was being decided; try again.", {
      extensions: { code: 'CONFLICT' },
    });
  }
  throw error;
}

export const UNEXPECTED_ERROR_MESSAGE = 'Unexpected error.';

/**
 * yoga's error masking, never in development mode: that would put the original error and its stack
 * into the response whenever NODE_ENV=development. yoga logs what it masks through its logger.
 */
export const MASKED_ERRORS = { errorMessage: UNEXPECTED_ERROR_MESSAGE, isDev: false } as const satisfies Partial<YogaMaskedErrorOpts>;
