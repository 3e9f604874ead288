/**
 * HTTP hardening of the real embedded tracker: rate limits per client, security headers, subscriptions
 * ending with their token, persisted operations, GraphiQL's page, development mode, and the log.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger, loadConfig } from '@tracker/platform';
import { DEVELOPMENT_MODE_WARNING, generateKeyEncryptionKey } from '@tracker/security';
import { PersistedOperationsFileError } from '@tracker/api';
import { startTracker } from './tracker.ts';
import { flowCitizen, NAME, CPR, readEvents, startSecuredTracker, subscribe, type SecuredTracker } from './testing/securedTracker.ts';

const running: SecuredTracker[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.close();
});
async function secured(env: Record<string, string> = {}, data = true): Promise<SecuredTracker> {
  const t = await startSecuredTracker({ env, data });
  running.push(t);
  return t;
}

describe('rate limiting per client', () => {
  it('limits each token subject on its own, and clients without a valid token by address; probes are never limited', async () => {
    const t = await secured({ RATE_LIMIT_PER_MINUTE: '3' }, false);
    const alice = await t.token('coordinator', { claims: { sub: 'alice' } });
    const bob = await t.token('coordinator', { claims: { sub: 'bob' } });
    const statuses = async (token: string | null, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await t.gql('{ units { id } }', { token })).status);
      return out;
    };
    expect(await statuses(alice, 4)).toEqual([200, 200, 200, 429]);
    expect(await statuses(bob, 1)).toEqual([200]);
    // Without a token the address is the client: the refusals count, and then the limit answers.
    expect(await statuses(null, 4)).toEqual([401, 401, 401, 429]);
    const limited = await fetch(`${t.tracker.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${alice}` }, body: '{"query":"{ units { id } }"}' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toEqual({ errors: [{ message: 'Too many requests from this client; try again later.', extensions: { code: 'RATE_LIMITED' } }] });
    for (let i = 0; i < 5; i++) expect((await fetch(`${t.tracker.url}/healthz`)).status).toBe(200);
  });
});

describe('security headers', () => {
  it('outside production: GraphiQL’s page loads without a token, under a CSP that allows exactly its assets', async () => {
    const t = await secured({}, false);
    const page = await fetch(`${t.tracker.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<!doctype html>');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self' 'unsafe-inline' https://unpkg.com");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    // The page executes nothing: a query on the same GET needs a token.
    expect((await fetch(`${t.tracker.url}/graphql?query=${encodeURIComponent('{ units { id } }')}`, { headers: { accept: 'text/html' } })).status).toBe(401);
  });

  it('in production: no GraphiQL, a CSP that allows nothing, and the usual hardening headers on every answer', async () => {
    const t = await secured({ NODE_ENV: 'production' }, false);
    for (const response of [
      await fetch(`${t.tracker.url}/graphql`, { headers: { accept: 'text/html' } }),
      await fetch(`${t.tracker.url}/healthz`),
      await fetch(`${t.tracker.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await t.token('coordinator')}` }, body: '{"query":"{ units { id } }"}' }),
    ]) {
      expect(response.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('strict-transport-security')).toContain('max-age=');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    }
    expect((await fetch(`${t.tracker.url}/graphql`, { headers: { accept: 'text/html' } })).status).toBe(401);
    const introspection = await t.gql('{ __schema { types { name } } }', { token: await t.token('administrator') });
    expect(introspection.errors?.[0]?.extensions).toMatchObject({ code: 'INTROSPECTION_DISABLED' });
  });
});

describe('subscriptions end with their token', () => {
  it('a stream opened with a token that has just expired (within the clock tolerance) ends at once, with the reason', async () => {
    const t = await secured({}, false);
    const expiring = await t.token('administrator', { issuedAt: new Date(Date.now() - 3_610_000) });
    const { response, abort } = await subscribe(t.tracker.url, 'subscription { eventRecorded { eventId } }', expiring);
    expect(response.status).toBe(200);
    const text = await readEvents(response, abort, (s) => s.includes('event: complete'));
    expect(text).toContain('"code":"UNAUTHENTICATED"');
    expect(text).toContain('"reason":"expired"');
    expect(text).toContain('event: complete');
  });

  it('a stream with a valid token stays open until the client leaves', async () => {
    const t = await secured({}, false);
    const { response, abort } = await subscribe(t.tracker.url, 'subscription { eventRecorded { eventId } }', await t.token('administrator'));
    const text = await readEvents(response, abort, (s) => s.includes('event: complete'), 300);
    expect(text).not.toContain('event: complete');
  });
});

describe('persisted operations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracker-persisted-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const dashboard = '{ handovers(first: 5) { totalCount } }';
  const hash = createHash('sha256').update(dashboard).digest('hex');

  it('runs the dashboard’s operations by hash, and only those when enforced', async () => {
    const file = join(dir, 'operations.json');
    writeFileSync(file, JSON.stringify({ [hash]: dashboard }));
    const t = await secured({ PERSISTED_OPERATIONS_FILE: file, PERSISTED_OPERATIONS_ONLY: 'on' });
    const token = await t.token('coordinator');
    const byHash = await fetch(`${t.tracker.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
    });
    expect(await byHash.json()).toEqual({ data: { handovers: { totalCount: 10 } } });
    const arbitrary = await t.gql(dashboard, { token });
    expect(arbitrary.errors?.[0]).toMatchObject({ message: 'PersistedQueryOnly', extensions: { code: 'PERSISTED_QUERY_ONLY' } });
    const unknown = await fetch(`${t.tracker.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }),
    });
    expect(((await unknown.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    // Persisted or not, an operation is authorised like any other.
    const manager = await fetch(`${t.tracker.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await t.token('manager')}` },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
    });
    expect(manager.status).toBe(403);
  });

  it('refuses a file whose keys are not the hashes of their documents, at start', async () => {
    const file = join(dir, 'tampered.json');
    writeFileSync(file, JSON.stringify({ [hash]: '{ accessLogEntries { actor } }' }));
    await expect(startSecuredTracker({ env: { PERSISTED_OPERATIONS_FILE: file }, data: false })).rejects.toThrow(PersistedOperationsFileError);
  });
});

describe('development mode', () => {
  it('acts as an administrator without a token, and says so loudly at start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tracker-dev-'));
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString('utf8'));
        callback();
      },
    });
    const tracker = await startTracker({ config: loadConfig({ PORT: '0', DATA_DIR: dataDir, DEMO: 'off', AUTH_MODE: 'development' }), logger: createLogger({ destination, level: 'info' }) });
    try {
      const warning = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).find((l) => l.msg === DEVELOPMENT_MODE_WARNING);
      expect(warning?.level).toBe('warn');
      const response = await fetch(`${tracker.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ accessLogEntries { seq } }"}' });
      expect(await response.json()).toEqual({ data: { accessLogEntries: [] } });
    } finally {
      await tracker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('is refused with NODE_ENV=production, and so is a production start without PERSONAL_DATA_KEK', async () => {
    const main = new URL('./main.ts', import.meta.url).pathname;
    const tsx = new URL('../node_modules/.bin/tsx', import.meta.url).pathname;
    for (const [env, variable] of [
      [{ NODE_ENV: 'production', AUTH_MODE: 'development', PERSONAL_DATA_KEK: generateKeyEncryptionKey() }, /AUTH_MODE: development is refused/],
      [{ NODE_ENV: 'production', AUTH_MODE: 'oidc', OIDC_ISSUER: 'https://idp.example.dk', OIDC_AUDIENCE: 'tracker' }, /PERSONAL_DATA_KEK: is required/],
    ] as const) {
      const dataDir = mkdtempSync(join(tmpdir(), 'tracker-prod-'));
      const failure = await promisify(execFile)(tsx, [main], { env: { ...process.env, DATA_DIR: dataDir, ...env } }).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      rmSync(dataDir, { recursive: true, force: true });
      expect(failure?.code).toBe(2);
      expect(failure?.stderr).toMatch(variable);
    }
  });
});

describe('the log', () => {
  it('never holds a token, a name or a CPR number, whatever the requests carried', async () => {
    const t = await secured();
    const token = await t.token('administrator');
    await t.gql(`{ citizen(id: "${flowCitizen(1)}") { personalData { name cpr } } }`, { token, headers: { 'x-purpose': 'kontrol' } });
    await t.gql('{ units { id } }', { token: `${token}x` });
    await fetch(`${t.tracker.url}/v1/events?cpr=${CPR}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ events: [{ broken: NAME }] }) });
    const logs = t.logs.join('');
    expect(logs).toContain('request completed');
    for (const secret of [token, token.split('.')[1]!, token.split('.')[2]!, NAME, CPR, CPR.replace('-', '')]) expect(logs).not.toContain(secret);
  });
});
