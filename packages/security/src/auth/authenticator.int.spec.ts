/**
 * Token verification against a real local IdP (node:http on 127.0.0.1 serving discovery and JWKS,
 * keys generated in the test). Time is a ManualClock handed to `authenticate`; nothing sleeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet } from 'jose';
import { ManualClock } from '@tracker/domain';
import {
  createTestKey,
  hmacWithPublicKeyToken,
  signToken,
  startTestIssuer,
  unsecuredToken,
  withTamperedPayload,
  type TestIssuer,
} from '../testing/testIssuer.ts';
import { AuthenticationError, type AuthenticationFailure } from './authenticationError.ts';
import { createAuthenticator, DEVELOPMENT_MODE_WARNING, type Authenticator } from './authenticator.ts';
import { AuthConfigurationError, type OidcAuthSettings } from './settings.ts';

const T0 = new Date('2025-03-03T09:00:00Z');
const T0s = T0.getTime() / 1000;

let idp: TestIssuer;
let auth: Authenticator;

const bearer = (token: string) => `Bearer ${token}`;

function settings(overrides: Partial<OidcAuthSettings> = {}): OidcAuthSettings {
  return { mode: 'oidc', issuer: idp.issuer, audience: idp.audience, jwksUri: idp.jwksUri, ...overrides };
}

/** Asserts the refusal's reason and that nothing of the token is in the error, however it is serialised. */
async function refused(promise: Promise<unknown>, reason: AuthenticationFailure, token?: string): Promise<AuthenticationError> {
  const error = await promise.then(
    () => expect.unreachable('the token was accepted'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthenticationError);
  const authError = error as AuthenticationError;
  expect(authError.reason).toBe(reason);
  expect(authError.cause).toBeUndefined();
  if (token) {
    const rendered = [authError.message, String(authError), JSON.stringify(authError), authError.stack ?? '', authError.wwwAuthenticate ?? ''].join('\n');
    for (const part of token.split('.').filter((p) => p.length > 8)) expect(rendered).not.toContain(part);
    expect(rendered).not.toContain('employee-1');
  }
  return authError;
}

beforeAll(async () => {
  idp = await startTestIssuer();
  auth = createAuthenticator(settings());
});
afterAll(async () => {
  await idp.close();
});

describe('valid tokens', () => {
  it('gives a principal with subject, roles, units, sources and expiry from the claims', async () => {
    const token = await idp.token({
      issuedAt: T0,
      claims: { sub: 'c-ansat-7', roles: ['coordinator', 'manager', 'some-other-app-role'], units: ['bf-modtagelse', 'ung-myndighed'], sources: ['dubu'] },
    });
    const principal = await auth.authenticate(bearer(token), new ManualClock(T0));
    expect(principal.subject).toBe('c-ansat-7');
    expect([...principal.roles].sort()).toEqual(['coordinator', 'manager']);
    expect(principal.units).toEqual(['bf-modtagelse', 'ung-myndighed']);
    expect(principal.sources).toEqual(['dubu']);
    expect(principal.development).toBe(false);
    expect(principal.expiresAt).toEqual(new Date((T0s + 3600) * 1000));
    expect(() => (principal.roles as Set<string>).add('administrator')).toThrow(TypeError);
  });

  it.each(['RS256', 'PS256', 'ES256', 'EdDSA'] as const)('accepts %s', async (alg) => {
    const key = await createTestKey(`key-${alg}`, alg);
    const local = createAuthenticator(settings({ jwksUri: undefined, keys: createLocalJWKSet({ keys: [key.publicJwk] }) }));
    const token = await signToken({ issuer: idp.issuer, audience: idp.audience, key, issuedAt: T0 });
    await expect(local.authenticate(bearer(token), new ManualClock(T0))).resolves.toMatchObject({ subject: 'employee-1' });
  });

  it('accepts an audience array that contains ours and the scheme in any case', async () => {
    const token = await idp.token({ issuedAt: T0, claims: { aud: ['account', idp.audience] } });
    await expect(auth.authenticate(`bearer  ${token}`, new ManualClock(T0))).resolves.toBeDefined();
  });

  it('reads roles and units from configured claim names: a dotted path and a namespaced URL', async () => {
    const custom = createAuthenticator(settings({ claims: { roles: 'realm_access.roles', units: 'https://tracker.example/units' } }));
    const token = await idp.token({
      issuedAt: T0,
      claims: { roles: undefined, units: undefined, realm_access: { roles: ['manager'] }, 'https://tracker.example/units': ['voksen-myndighed'] },
    });
    const principal = await custom.authenticate(bearer(token), new ManualClock(T0));
    expect([...principal.roles]).toEqual(['manager']);
    expect(principal.units).toEqual(['voksen-myndighed']);
  });

  it('discovers the JWKS from the issuer when OIDC_JWKS_URI is not set', async () => {
    const discovering = createAuthenticator(settings({ jwksUri: undefined }));
    const before = idp.discoveryRequests;
    const token = await idp.token({ issuedAt: T0 });
    await discovering.authenticate(bearer(token), new ManualClock(T0));
    await discovering.authenticate(bearer(token), new ManualClock(T0));
    expect(idp.discoveryRequests).toBe(before + 1);
  });
});

describe('refused tokens (attacks)', () => {
  const clock = new ManualClock(T0);

  it('no header, an empty one, another scheme, a JWE-shaped or oversized value', async () => {
    await refused(auth.authenticate(undefined, clock), 'missing_token');
    await refused(auth.authenticate('', clock), 'missing_token');
    await refused(auth.authenticate('Basic dXNlcjpwYXNz', clock), 'malformed_token');
    await refused(auth.authenticate('Bearer a.b.c.d.e', clock), 'malformed_token');
    await refused(auth.authenticate(`Bearer ${'a'.repeat(9000)}.b.c`, clock), 'malformed_token');
    await refused(auth.authenticate(['Bearer a.b.c', 'Bearer d.e.f'], clock), 'malformed_token');
    await refused(auth.authenticate('Bearer bm90IGpzb24.e30.c2ln', clock), 'malformed_token');
  });

  it('a forged signature: signed by a key the attacker made, under the real kid', async () => {
    const attacker = await createTestKey(idp.currentKey.kid);
    const token = await signToken({ issuer: idp.issuer, audience: idp.audience, key: attacker, issuedAt: T0, claims: { roles: ['administrator'] } });
    await refused(auth.authenticate(bearer(token), clock), 'bad_signature', token);
  });

  it('a genuine token with its payload altered (roles raised) keeps its old signature and is refused', async () => {
    const token = await idp.token({ issuedAt: T0 });
    const forged = withTamperedPayload(token, { iss: idp.issuer, aud: idp.audience, sub: 'employee-1', roles: ['administrator'], iat: T0s, exp: T0s + 3600 });
    await refused(auth.authenticate(bearer(forged), clock), 'bad_signature', forged);
  });

  it('alg: none, crafted by hand, in any spelling', async () => {
    const claims = { iss: idp.issuer, aud: idp.audience, sub: 'employee-1', roles: ['administrator'], iat: T0s, exp: T0s + 3600 };
    for (const alg of ['none', 'None', 'NONE']) {
      const token = unsecuredToken(claims, { alg, typ: 'JWT' });
      await refused(auth.authenticate(bearer(token), clock), 'unsupported_algorithm', token);
    }
    // The same with a (meaningless) signature attached.
    await refused(auth.authenticate(bearer(`${unsecuredToken(claims)}c2lnbmF0dXJl`), clock), 'unsupported_algorithm');
  });

  it('HS256 with the public key as the HMAC secret (algorithm confusion)', async () => {
    const token = await hmacWithPublicKeyToken(
      { iss: idp.issuer, aud: idp.audience, sub: 'employee-1', roles: ['administrator'], iat: T0s, exp: T0s + 3600 },
      idp.currentKey,
    );
    await refused(auth.authenticate(bearer(token), clock), 'unsupported_algorithm', token);
  });

  it('an algorithm that is asymmetric but not configured', async () => {
    const es = createAuthenticator(settings({ algorithms: ['ES256'] }));
    const token = await idp.token({ issuedAt: T0 });
    await refused(es.authenticate(bearer(token), clock), 'unsupported_algorithm', token);
  });

  it('a header naming RS256 over an EC key id (key/alg mismatch)', async () => {
    const ec = await createTestKey('ec-key', 'ES256');
    const local = createAuthenticator(settings({ jwksUri: undefined, keys: createLocalJWKSet({ keys: [ec.publicJwk, idp.currentKey.publicJwk] }) }));
    const token = await idp.token({ issuedAt: T0, header: { kid: 'ec-key' } });
    const error = await refused(local.authenticate(bearer(token), clock), 'unknown_key', token);
    expect(error.statusCode).toBe(401);
  });

  it('expired, not yet valid, issued in the future', async () => {
    const expired = await idp.token({ issuedAt: new Date(T0.getTime() - 2 * 3600_000) });
    await refused(auth.authenticate(bearer(expired), clock), 'expired', expired);
    const early = await idp.token({ issuedAt: T0, claims: { nbf: T0s + 600 } });
    await refused(auth.authenticate(bearer(early), clock), 'not_yet_valid', early);
    const future = await idp.token({ issuedAt: new Date(T0.getTime() + 600_000) });
    await refused(auth.authenticate(bearer(future), clock), 'not_yet_valid', future);
  });

  it('wrong audience, missing audience, wrong issuer, missing issuer', async () => {
    const other = await idp.token({ issuedAt: T0, claims: { aud: 'another-service' } });
    await refused(auth.authenticate(bearer(other), clock), 'wrong_audience', other);
    const noAud = await idp.token({ issuedAt: T0, claims: { aud: undefined } });
    await refused(auth.authenticate(bearer(noAud), clock), 'wrong_audience', noAud);
    const wrongIss = await idp.token({ issuedAt: T0, claims: { iss: 'https://evil.example' } });
    await refused(auth.authenticate(bearer(wrongIss), clock), 'wrong_issuer', wrongIss);
    const noIss = await idp.token({ issuedAt: T0, claims: { iss: undefined } });
    await refused(auth.authenticate(bearer(noIss), clock), 'wrong_issuer', noIss);
  });

  it('missing sub or exp, claims of the wrong shape', async () => {
    for (const claims of [
      { sub: undefined },
      { exp: undefined },
      { sub: 42 },
      { roles: { coordinator: true } },
      { units: 'bf-modtagelse; DROP TABLE' },
      { units: [42] },
      { sources: ['dubu', 'not a source!'] },
    ]) {
      const token = await idp.token({ issuedAt: T0, claims });
      await refused(auth.authenticate(bearer(token), clock), 'invalid_claims', token);
    }
  });

  it('no tracker role: none at all, or only other applications’ roles (403)', async () => {
    for (const roles of [undefined, [], ['admin', 'Coordinator', 'user']]) {
      const token = await idp.token({ issuedAt: T0, claims: { roles } });
      const error = await refused(auth.authenticate(bearer(token), clock), 'no_roles', token);
      expect(error.statusCode).toBe(403);
      expect(error.wwwAuthenticate).toContain('insufficient_scope');
    }
  });

  it('a logout token or any non-access-token typ', async () => {
    const token = await idp.token({ issuedAt: T0, header: { typ: 'logout+jwt' } });
    await refused(auth.authenticate(bearer(token), clock), 'malformed_token', token);
  });

  it('answers 401 with a WWW-Authenticate challenge', async () => {
    const missing = await refused(auth.authenticate(undefined, clock), 'missing_token');
    expect(missing.statusCode).toBe(401);
    expect(missing.wwwAuthenticate).toBe('Bearer realm="tracker"');
    const expired = await refused(auth.authenticate(bearer(await idp.token({ issuedAt: new Date(0) })), clock), 'expired');
    expect(expired.wwwAuthenticate).toContain('error="invalid_token"');
    expect(expired.toJSON()).toEqual({ error: 'UNAUTHENTICATED', reason: 'expired', message: expired.message });
  });
});

describe('clock skew (default tolerance 60 s; time from an injected clock)', () => {
  const at = (seconds: number) => new ManualClock(new Date(seconds * 1000));

  it('exp: valid until 60 s after it, refused from exp + 60 s on', async () => {
    const token = await idp.token({ issuedAt: T0, claims: { exp: T0s + 300 } });
    await expect(auth.authenticate(bearer(token), at(T0s + 300 + 59))).resolves.toBeDefined();
    await refused(auth.authenticate(bearer(token), at(T0s + 300 + 60)), 'expired');
  });

  it('nbf: valid from 60 s before it, refused 61 s before', async () => {
    const token = await idp.token({ issuedAt: new Date((T0s - 100) * 1000), claims: { nbf: T0s } });
    await expect(auth.authenticate(bearer(token), at(T0s - 60))).resolves.toBeDefined();
    await refused(auth.authenticate(bearer(token), at(T0s - 61)), 'not_yet_valid');
  });

  it('iat in the future within the tolerance is accepted, beyond it refused', async () => {
    const token = await idp.token({ issuedAt: T0 });
    await expect(auth.authenticate(bearer(token), at(T0s - 60))).resolves.toBeDefined();
    await refused(auth.authenticate(bearer(token), at(T0s - 61)), 'not_yet_valid');
  });

  it('a configured tolerance of 0 s is exact', async () => {
    const strict = createAuthenticator(settings({ clockToleranceSeconds: 0 }));
    const token = await idp.token({ issuedAt: T0, claims: { exp: T0s + 300 } });
    await expect(strict.authenticate(bearer(token), at(T0s + 299))).resolves.toBeDefined();
    await refused(strict.authenticate(bearer(token), at(T0s + 300)), 'expired');
  });

  it('uses the configured clock when none is passed', async () => {
    const clocked = createAuthenticator(settings({ clock: new ManualClock(new Date((T0s + 7200) * 1000)) }));
    await refused(clocked.authenticate(bearer(await idp.token({ issuedAt: T0 }))), 'expired');
  });
});

describe('key rotation and the key set', () => {
  it('an unknown kid refetches the key set once; a new key then verifies', async () => {
    const rotating = await startTestIssuer();
    try {
      const a = createAuthenticator({ mode: 'oidc', issuer: rotating.issuer, audience: rotating.audience, jwksUri: rotating.jwksUri, jwksCooldownMs: 0 });
      await a.authenticate(bearer(await rotating.token({ issuedAt: T0 })), new ManualClock(T0));
      expect(rotating.jwksRequests).toBe(1);

      const next = await createTestKey('key-2');
      rotating.publish([next, rotating.currentKey]);
      await a.authenticate(bearer(await rotating.token({ issuedAt: T0 })), new ManualClock(T0));
      expect(rotating.jwksRequests).toBe(2);

      // A kid the IdP never published: one refetch, then refused.
      const stranger = await createTestKey('never-published');
      const token = await signToken({ issuer: rotating.issuer, audience: rotating.audience, key: stranger, issuedAt: T0 });
      await refused(a.authenticate(bearer(token), new ManualClock(T0)), 'unknown_key', token);
      expect(rotating.jwksRequests).toBe(3);
    } finally {
      await rotating.close();
    }
  });

  it('within the cooldown, tokens with made-up kids do not make us refetch', async () => {
    const rotating = await startTestIssuer();
    try {
      const a = createAuthenticator({ mode: 'oidc', issuer: rotating.issuer, audience: rotating.audience, jwksUri: rotating.jwksUri });
      await a.warmUp();
      expect(rotating.jwksRequests).toBe(1);
      for (let i = 0; i < 5; i++) {
        const key = await createTestKey(`made-up-${i}`);
        const token = await signToken({ issuer: rotating.issuer, audience: rotating.audience, key, issuedAt: T0 });
        await refused(a.authenticate(bearer(token), new ManualClock(T0)), 'unknown_key');
      }
      expect(rotating.jwksRequests).toBe(1);
    } finally {
      await rotating.close();
    }
  });

  it('an unreachable key set is 503 issuer_unavailable, not a bad token', async () => {
    const down = await startTestIssuer();
    try {
      down.setAvailable(false);
      const a = createAuthenticator({ mode: 'oidc', issuer: down.issuer, audience: down.audience, jwksUri: down.jwksUri });
      const error = await refused(a.authenticate(bearer(await down.token({ issuedAt: T0 })), new ManualClock(T0)), 'issuer_unavailable');
      expect(error.statusCode).toBe(503);
      await expect(a.warmUp()).rejects.toMatchObject({ reason: 'issuer_unavailable' });
      down.setAvailable(true);
      await expect(a.authenticate(bearer(await down.token({ issuedAt: T0 })), new ManualClock(T0))).resolves.toBeDefined();
    } finally {
      await down.close();
    }
  });

  it('a discovery document naming another issuer is not trusted', async () => {
    const impostor = await startTestIssuer({ discoveryIssuer: 'https://real-idp.example' });
    try {
      const a = createAuthenticator({ mode: 'oidc', issuer: impostor.issuer, audience: impostor.audience });
      await refused(a.authenticate(bearer(await impostor.token({ issuedAt: T0 })), new ManualClock(T0)), 'issuer_unavailable');
    } finally {
      await impostor.close();
    }
  });
});

describe('configuration and development mode', () => {
  it('refuses plain http for a non-loopback issuer, HS256 or none among the algorithms, a silly tolerance', () => {
    const bad = () =>
      createAuthenticator({
        mode: 'oidc',
        issuer: 'http://idp.kommune.example',
        audience: 'x',
        algorithms: ['HS256' as never, 'none' as never],
        clockToleranceSeconds: 3600,
      });
    expect(bad).toThrow(AuthConfigurationError);
    try {
      bad();
    } catch (error) {
      expect((error as AuthConfigurationError).problems.map((p) => p.variable).sort()).toEqual(['OIDC_ALGORITHMS', 'OIDC_CLOCK_TOLERANCE_SECONDS', 'OIDC_ISSUER']);
    }
  });

  it('development mode: an administrator of everything, announced in the log, refused in production', async () => {
    const warnings: string[] = [];
    const dev = createAuthenticator({ mode: 'development' }, { logger: { warn: (_o, message) => warnings.push(message) }, nodeEnv: 'development' });
    const principal = await dev.authenticate(undefined);
    expect(principal).toMatchObject({ development: true, units: [], sources: [] });
    expect([...principal.roles]).toEqual(['administrator']);
    expect(warnings).toEqual([DEVELOPMENT_MODE_WARNING]);
    expect(() => createAuthenticator({ mode: 'development' }, { nodeEnv: 'production' })).toThrow(AuthConfigurationError);
  });
});
