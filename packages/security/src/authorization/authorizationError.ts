/**
 * A refusal by the authorisation policy. The message names the operation and the rule, never the data
 * asked for: not the citizen id, not the unit, not the event's content.
 */
export const AUTHORIZATION_FAILURES = {
  operation_not_permitted: 'Your role does not permit this operation.',
  out_of_scope: 'There is no citizen with this id within your units.',
  unit_out_of_scope: 'The unit is not one of your units.',
  source_not_permitted: "The event's source is not one of the source systems your token names.",
} as const;

export type AuthorizationFailure = keyof typeof AUTHORIZATION_FAILURES;

export class AuthorizationError extends Error {
  readonly statusCode = 403;
  /** GraphQL `extensions.code`. */
  readonly code = 'FORBIDDEN';
  constructor(
    readonly reason: AuthorizationFailure,
    /** The operation refused (a name from OPERATION_RULES), for logs and the error's extensions. */
    readonly operation?: string,
  ) {
    super(operation && reason === 'operation_not_permitted' ? `Your role does not permit ${operation}.` : AUTHORIZATION_FAILURES[reason]);
    this.name = 'AuthorizationError';
  }

  toJSON(): { error: 'FORBIDDEN'; reason: AuthorizationFailure; operation?: string; message: string } {
    return { error: this.code, reason: this.reason, ...(this.operation ? { operation: this.operation } : {}), message: this.message };
  }
}
