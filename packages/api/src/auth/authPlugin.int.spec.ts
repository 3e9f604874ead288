/**
 * authPlugin on a bare fastify server with real tokens from a local identity provider: what is
 * public, what is refused and how, the principal handed to routes, and the rate limit.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type Principal } from '@tracker/security';
import { startTestIssuer, type TestIssuer } from '@tracker/security/testing';
import { authPlugin } from './authPlugin.ts';
import { contentSecurityPolicy, securityHeadersPlugin } from './securityHeaders.ts';

let issuer: TestIssuer;
let app: FastifyInstance;

beforeAll(async () => {
  issuer = await startTestIssuer();
  app = Fastify();
  await app.register(securityHeadersPlugin, { graphiql: false });
  await app.register(authPlugin, {
    authenticator: createAuthenticator({ mode: 'oidc', issuer: issuer.issuer, audience: issuer.audience }),
    rateLimit: { max: 5, timeWindowMs: 60_000 },
  });
  // Registered after the plugin, in a child scope: still covered.
  await app.register(async (child) => {
    child.get('/who', async (request) => view(request.principal!));
    child.get('/healthz', async () => ({ status: 'ok' }));
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await issuer?.close();
});

const view = (p: Principal) => ({ subject: p.subject, roles: [...p.roles], units: p.units, development: p.development });
const get = (url: string, token?: string) => app.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('authPlugin', () => {
  it('hands the verified principal to every route, in any scope', async () => {
    const token = await issuer.token({ claims: { sub: 'emp-7', roles: ['coordinator', 'somebody-elses-role'], units: ['u1'] } });
    const res = await get('/who', token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ subject: 'emp-7', roles: ['coordinator'], units: ['u1'], development: false });
  });

  it('refuses without a token with a challenge; unknown paths too; the probes are public', async () => {
    const missing = await get('/who');
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="tracker"');
    expect(missing.json()).toEqual({ error: 'UNAUTHENTICATED', reason: 'missing_token', message: expect.any(String) });
    expect((await get('/no-such-route')).statusCode).toBe(401);
    expect((await get('/healthz')).statusCode).toBe(200);
  });

  it('answers every refusal with security headers and no-store', async () => {
    const res = await get('/who', 'a.b.c');
    expect(res.statusCode).toBe(401);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'");
    expect(contentSecurityPolicy(true)['script-src']).toContain('https://unpkg.com');
  });

  it('limits requests per subject', async () => {
    const token = await issuer.token({ claims: { sub: 'busy', roles: ['manager'] } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await get('/who', token)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect((await get('/who', await issuer.token({ claims: { sub: 'calm', roles: ['manager'] } }))).statusCode).toBe(200);
  });

  it('development mode: every request is the development administrator, and it is refused in production', async () => {
    const dev = Fastify();
    await dev.register(authPlugin, { authenticator: createAuthenticator({ mode: 'development' }) });
    dev.get('/who', async (request) => view(request.principal!));
    expect((await dev.inject({ method: 'GET', url: '/who' })).json()).toEqual({ subject: 'development-mode', roles: ['administrator'], units: [], development: true });
    await dev.close();
    expect(() => createAuthenticator({ mode: 'development' }, { nodeEnv: 'production' })).toThrow(/refused with NODE_ENV=production/);
  });
});
