import { describe, expect, it } from 'vitest';
import { AuthenticationError } from './auth/authenticationError.ts';
import { AuthorizationError } from './authorization/authorizationError.ts';
import { graphqlExtensionsOf, securityResponseOf } from './responses.ts';

describe('security answers', () => {
  it('401 with a challenge, 403 without, 503 with Retry-After; never cached', () => {
    expect(securityResponseOf(new AuthenticationError('expired'))).toMatchObject({
      statusCode: 401,
      headers: { 'www-authenticate': expect.stringContaining('invalid_token'), 'cache-control': 'no-store' },
      body: { error: 'UNAUTHENTICATED', reason: 'expired' },
    });
    expect(securityResponseOf(new AuthorizationError('out_of_scope'))).toEqual({
      statusCode: 403,
      headers: { 'cache-control': 'no-store' },
      body: { error: 'FORBIDDEN', reason: 'out_of_scope', message: 'There is no citizen with this id within your units.' },
    });
    expect(securityResponseOf(new AuthenticationError('issuer_unavailable'))?.headers).toEqual({ 'cache-control': 'no-store', 'retry-after': '5' });
    expect(securityResponseOf(new Error('other'))).toBeUndefined();
  });

  it('GraphQL extensions carry code, reason, operation and the HTTP status', () => {
    expect(graphqlExtensionsOf(new AuthorizationError('operation_not_permitted', 'query.flows'))).toEqual({
      code: 'FORBIDDEN',
      reason: 'operation_not_permitted',
      operation: 'query.flows',
      http: { status: 403, headers: { 'cache-control': 'no-store' } },
    });
  });
});
