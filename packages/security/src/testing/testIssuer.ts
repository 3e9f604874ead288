/**
 * A real, local OpenID provider for tests: key pairs generated in the process, the discovery document
 * and the JWKS served by node:http on 127.0.0.1 (port 0), tokens signed with jose. No mocks: the
 * authenticator under test fetches keys over HTTP exactly as it would from an IdP.
 *
 * Also builds the tokens attacks are made of (`alg: none`, HS256 keyed with the public key, forged
 * signatures), so API tests can fire them at the real endpoints.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export type TestAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

export interface TestKey {
  kid: string;
  alg: TestAlgorithm;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export async function createTestKey(kid: string, alg: TestAlgorithm = 'RS256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

export interface TokenOptions {
  /** Claims merged over the defaults (iss, aud, sub, roles, iat, exp); `undefined` removes a default claim. */
  claims?: Record<string, unknown>;
  /** Instant the token is issued at (default: now); exp defaults to one hour later. */
  issuedAt?: Date;
  /** Sign with this key instead of the issuer's current one (it need not be published). */
  key?: TestKey;
  /** Header fields merged over { alg, kid, typ: 'JWT' }. */
  header?: Record<string, unknown>;
}

export interface TestIssuer {
  /** The issuer URL (`iss`, and where discovery is served). */
  readonly issuer: string;
  readonly jwksUri: string;
  readonly audience: string;
  /** The key tokens are signed with by default (the first published). */
  readonly currentKey: TestKey;
  /** How many times the JWKS and the discovery document were fetched. */
  readonly jwksRequests: number;
  readonly discoveryRequests: number;
  /** Replace the published keys (rotation); later tokens are signed with the first. */
  publish(keys: readonly TestKey[]): void;
  /** Make the JWKS endpoint answer 503 (IdP down) or come back. */
  setAvailable(available: boolean): void;
  /** A signed access token with the default claims (sub "employee-1", roles ["coordinator"]). */
  token(options?: TokenOptions): Promise<string>;
  close(): Promise<void>;
}

export const TEST_AUDIENCE = 'transition-tracker';

export async function startTestIssuer(options: { keys?: TestKey[]; discoveryIssuer?: string } = {}): Promise<TestIssuer> {
  let keys = options.keys ?? [await createTestKey('key-1')];
  let available = true;
  let jwksRequests = 0;
  let discoveryRequests = 0;
  let base = '';

  const server: Server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      discoveryRequests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: options.discoveryIssuer ?? base, jwks_uri: `${base}/jwks` }));
      return;
    }
    if (req.url === '/jwks') {
      jwksRequests++;
      if (!available) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(JSON.stringify({ keys: keys.map((k) => k.publicJwk) }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer: base,
    jwksUri: `${base}/jwks`,
    audience: TEST_AUDIENCE,
    get currentKey() {
      return keys[0]!;
    },
    get jwksRequests() {
      return jwksRequests;
    },
    get discoveryRequests() {
      return discoveryRequests;
    },
    publish(next) {
      keys = [...next];
    },
    setAvailable(value) {
      available = value;
    },
    token(tokenOptions = {}) {
      return signToken({ issuer: base, audience: TEST_AUDIENCE, key: keys[0]!, ...tokenOptions });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A token signed by `key` with default claims for `issuer`/`audience`, overridable as in TokenOptions. */
export async function signToken(options: TokenOptions & { issuer: string; audience: string; key: TestKey }): Promise<string> {
  const issuedAt = Math.floor((options.issuedAt ?? new Date()).getTime() / 1000);
  const key = options.key;
  const claims: Record<string, unknown> = {
    iss: options.issuer,
    aud: options.audience,
    sub: 'employee-1',
    roles: ['coordinator'],
    units: ['bf-modtagelse'],
    iat: issuedAt,
    exp: issuedAt + 3600,
    ...options.claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return new SignJWT(claims as JWTPayload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header })
    .sign(key.privateKey);
}

const b64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

/** An unsecured JWT (`alg: none`, empty signature), built by hand: no library will make one for us. */
export function unsecuredToken(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'none', typ: 'JWT' }): string {
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}.`;
}

/**
 * The algorithm-confusion attack: an HS256 token whose HMAC secret is the issuer's PUBLIC key (as PEM,
 * the form a naive verifier would pass to its HMAC), so anyone holding the public key can mint it.
 */
export async function hmacWithPublicKeyToken(claims: Record<string, unknown>, key: TestKey): Promise<string> {
  const pem = await exportSPKI(key.publicKey);
  const signingInput = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: key.kid }))}.${b64url(JSON.stringify(claims))}`;
  return `${signingInput}.${createHmac('sha256', pem).update(signingInput).digest('base64url')}`;
}

/** The same token with its payload replaced (e.g. roles raised) and the original signature kept. */
export function withTamperedPayload(token: string, claims: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return `${header}.${b64url(JSON.stringify(claims))}.${signature}`;
}
