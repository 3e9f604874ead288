/**
 * The bearer token from an `Authorization` header (RFC 6750 §2.1), and nothing else: tokens in query
 * strings or form bodies are not accepted because URLs end up in proxy logs and browser history.
 */
import { AuthenticationError } from './authenticationError.ts';

/** Longer headers are refused before any parsing: real access tokens are a few KiB at most. */
export const MAX_AUTHORIZATION_HEADER_LENGTH = 8192;

/** `Bearer <header>.<payload>.<signature>`; an empty signature is let through so `alg: none` is named as such. */
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*) *$/i;

export function bearerTokenOf(authorization: string | readonly string[] | undefined | null): string {
  if (authorization === undefined || authorization === null) throw new AuthenticationError('missing_token');
  if (typeof authorization !== 'string') {
    // Several Authorization headers: which one was meant is ambiguous, so none is used.
    if (authorization.length === 0) throw new AuthenticationError('missing_token');
    if (authorization.length > 1) throw new AuthenticationError('malformed_token');
    return bearerTokenOf(authorization[0]);
  }
  if (authorization.trim() === '') throw new AuthenticationError('missing_token');
  if (authorization.length > MAX_AUTHORIZATION_HEADER_LENGTH) throw new AuthenticationError('malformed_token');
  const match = BEARER.exec(authorization);
  if (!match) throw new AuthenticationError('malformed_token');
  return match[1]!;
}
