/**
 * How security refusals are answered, the same way at every entry point: HTTP status, the
 * WWW-Authenticate challenge, a body with a stable code and reason, and GraphQL error extensions.
 * Nothing in them comes from the request.
 */
import { AuthenticationError } from './auth/authenticationError.ts';
import { AuthorizationError } from './authorization/authorizationError.ts';

export interface SecurityResponse {
  statusCode: 401 | 403 | 503;
  headers: Record<string, string>;
  body: { error: string; reason: string; message: string; operation?: string };
}

export const isSecurityError = (error: unknown): error is AuthenticationError | AuthorizationError =>
  error instanceof AuthenticationError || error instanceof AuthorizationError;

/** The HTTP answer for a security refusal, or undefined when the error is something else. */
export function securityResponseOf(error: unknown): SecurityResponse | undefined {
  if (error instanceof AuthenticationError) {
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (error.wwwAuthenticate) headers['www-authenticate'] = error.wwwAuthenticate;
    if (error.statusCode === 503) headers['retry-after'] = '5';
    return { statusCode: error.statusCode, headers, body: error.toJSON() };
  }
  if (error instanceof AuthorizationError) {
    return { statusCode: 403, headers: { 'cache-control': 'no-store' }, body: error.toJSON() };
  }
  return undefined;
}

/** `extensions` for a GraphQL error (code UNAUTHENTICATED / FORBIDDEN / SERVICE_UNAVAILABLE, reason, http.status for yoga). */
export function graphqlExtensionsOf(error: AuthenticationError | AuthorizationError): Record<string, unknown> {
  const response = securityResponseOf(error)!;
  return {
    code: response.body.error,
    reason: response.body.reason,
    ...(response.body.operation ? { operation: response.body.operation } : {}),
    http: { status: response.statusCode, headers: response.headers },
  };
}
