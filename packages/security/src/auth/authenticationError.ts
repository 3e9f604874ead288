/**
 * Why a request was not authenticated, as a stable reason code with a fixed sentence.
 *
 * The message is chosen from the table below and never built from the token, its claims or the
 * verifier's own error (jose's claim errors carry the whole payload): a token is a credential, and its
 * claims may name the employee. No `cause` is attached for the same reason.
 */

export const AUTHENTICATION_FAILURES = {
  missing_token: 'Authentication required: send an Authorization header with a bearer access token.',
  malformed_token: 'The bearer token is not a well-formed signed JWT.',
  unsupported_algorithm: 'The bearer token is signed with an algorithm this service does not accept.',
  bad_signature: "The bearer token's signature does not verify against the issuer's keys.",
  unknown_key: "The bearer token is signed with a key the issuer does not publish.",
  expired: 'The bearer token has expired.',
  not_yet_valid: 'The bearer token is not valid yet.',
  wrong_audience: 'The bearer token was issued for another audience.',
  wrong_issuer: 'The bearer token was issued by another issuer.',
  invalid_claims: 'The bearer token lacks a required claim or has a claim of the wrong shape.',
  no_roles: 'The bearer token grants no role in this service.',
  issuer_unavailable: "The identity provider's keys cannot be fetched right now; try again shortly.",
} as const;

export type AuthenticationFailure = keyof typeof AUTHENTICATION_FAILURES;

/** 401 for a token that is missing or bad, 403 for a good token without a role here, 503 when the IdP is unreachable. */
const STATUS: Record<AuthenticationFailure, 401 | 403 | 503> = {
  missing_token: 401,
  malformed_token: 401,
  unsupported_algorithm: 401,
  bad_signature: 401,
  unknown_key: 401,
  expired: 401,
  not_yet_valid: 401,
  wrong_audience: 401,
  wrong_issuer: 401,
  invalid_claims: 401,
  no_roles: 403,
  issuer_unavailable: 503,
};

export class AuthenticationError extends Error {
  /** HTTP status to answer with. */
  readonly statusCode: 401 | 403 | 503;
  /** GraphQL `extensions.code`. */
  readonly code: 'UNAUTHENTICATED' | 'FORBIDDEN' | 'SERVICE_UNAVAILABLE';

  constructor(readonly reason: AuthenticationFailure) {
    super(AUTHENTICATION_FAILURES[reason]);
    this.name = 'AuthenticationError';
    this.statusCode = STATUS[reason];
    this.code = this.statusCode === 401 ? 'UNAUTHENTICATED' : this.statusCode === 403 ? 'FORBIDDEN' : 'SERVICE_UNAVAILABLE';
  }

  /**
   * The `WWW-Authenticate` header value for a 401/403 answer (RFC 6750 §3): no `error` attribute when
   * no token was sent, `invalid_token` for a bad one, `insufficient_scope` for a token without a role.
   */
  get wwwAuthenticate(): string | undefined {
    if (this.statusCode === 503) return undefined;
    if (this.reason === 'missing_token') return 'Bearer realm="tracker"';
    const error = this.reason === 'no_roles' ? 'insufficient_scope' : 'invalid_token';
    return `Bearer realm="tracker", error="${error}", error_description="${this.message.replace(/"/g, "'")}"`;
  }

  /** What an HTTP answer's body carries: the reason code and the fixed sentence. */
  toJSON(): { error: string; reason: AuthenticationFailure; message: string } {
    return { error: this.code, reason: this.reason, message: this.message };
  }
}
