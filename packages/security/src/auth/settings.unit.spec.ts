import { describe, expect, it } from 'vitest';
import { AuthConfigurationError, authSettingsFromEnv } from './settings.ts';
import { bearerTokenOf } from './bearer.ts';
import { claimValue } from './claims.ts';

function problems(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    authSettingsFromEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(AuthConfigurationError);
    return [...(error as AuthConfigurationError).problems];
  }
  return expect.unreachable('the environment was accepted') as never;
}

describe('authSettingsFromEnv', () => {
  it('defaults to development outside production and to oidc in production', () => {
    expect(authSettingsFromEnv({})).toEqual({ mode: 'development' });
    expect(problems({ NODE_ENV: 'production' }).map((p) => p.variable)).toEqual(['OIDC_ISSUER', 'OIDC_AUDIENCE']);
  });

  it('refuses development mode with NODE_ENV=production, loudly and by name', () => {
    const [problem] = problems({ NODE_ENV: 'production', AUTH_MODE: 'development' });
    expect(problem).toMatchObject({ variable: 'AUTH_MODE' });
    expect(problem!.message).toContain('refused with NODE_ENV=production');
  });

  it('reads the OIDC settings with claim names, tolerance and algorithms', () => {
    const settings = authSettingsFromEnv({
      AUTH_MODE: 'oidc',
      OIDC_ISSUER: 'https://login.kommune.example/realms/tracker',
      OIDC_AUDIENCE: 'transition-tracker',
      OIDC_JWKS_URI: 'https://login.kommune.example/realms/tracker/certs',
      OIDC_ROLES_CLAIM: 'realm_access.roles',
      OIDC_CLOCK_TOLERANCE_SECONDS: '30',
      OIDC_ALGORITHMS: 'RS256, ES256',
    });
    expect(settings).toMatchObject({
      mode: 'oidc',
      issuer: 'https://login.kommune.example/realms/tracker',
      audience: 'transition-tracker',
      claims: { roles: 'realm_access.roles', units: 'units', sources: 'sources' },
      clockToleranceSeconds: 30,
      algorithms: ['RS256', 'ES256'],
    });
  });

  it('reports every problem at once without echoing values', () => {
    const secretish = 'https://user:hunter2@idp.example';
    const found = problems({
      AUTH_MODE: 'oidc',
      OIDC_ISSUER: secretish,
      OIDC_AUDIENCE: 'two words',
      OIDC_JWKS_URI: 'ftp://idp.example/keys',
      OIDC_CLOCK_TOLERANCE_SECONDS: '-5',
      OIDC_ALGORITHMS: 'RS256,HS256',
    });
    expect(found.map((p) => p.variable).sort()).toEqual(['OIDC_ALGORITHMS', 'OIDC_AUDIENCE', 'OIDC_CLOCK_TOLERANCE_SECONDS', 'OIDC_ISSUER', 'OIDC_JWKS_URI']);
    expect(JSON.stringify(found)).not.toContain('hunter2');
    expect(problems({ AUTH_MODE: 'kerberos' })).toEqual([{ variable: 'AUTH_MODE', message: 'must be one of: oidc, development' }]);
  });
});

describe('bearerTokenOf', () => {
  it('takes the token after the Bearer scheme and nothing else', () => {
    expect(bearerTokenOf('Bearer aaa.bbb.ccc')).toBe('aaa.bbb.ccc');
    expect(bearerTokenOf(['BEARER aaa.bbb.ccc'])).toBe('aaa.bbb.ccc');
    for (const bad of ['Bearer', 'Bearer aaa', 'Bearer aaa.bbb', 'Token aaa.bbb.ccc', 'Bearer aaa.bbb.ccc extra', 'Bearer aa+a.bbb.ccc']) {
      expect(() => bearerTokenOf(bad)).toThrow(expect.objectContaining({ reason: 'malformed_token' }));
    }
    expect(() => bearerTokenOf('  ')).toThrow(expect.objectContaining({ reason: 'missing_token' }));
  });
});

describe('claimValue', () => {
  it('prefers the whole name, then follows dots, and never walks the prototype', () => {
    expect(claimValue({ 'a.b': 1, a: { b: 2 } }, 'a.b')).toBe(1);
    expect(claimValue({ a: { b: 2 } }, 'a.b')).toBe(2);
    expect(claimValue({ a: {} }, 'a.constructor')).toBeUndefined();
    expect(claimValue({}, '__proto__')).toBeUndefined();
  });
});
