/**
 * Authentication settings, and reading them from the environment with every problem reported at once
 * (same shape as @tracker/platform's ConfigProblem, so its loadConfig can merge them). Messages name
 * the variable and the expectation, never the value.
 *
 * Variables: AUTH_MODE (`oidc` | `development`; default `oidc` with NODE_ENV=production, otherwise
 * `development`), OIDC_ISSUER, OIDC_AUDIENCE, OIDC_JWKS_URI, OIDC_ROLES_CLAIM, OIDC_UNITS_CLAIM,
 * OIDC_SOURCES_CLAIM, OIDC_CLOCK_TOLERANCE_SECONDS, OIDC_ALGORITHMS.
 */
import type { JWTVerifyGetKey } from 'jose';
import type { Clock } from '@tracker/domain';
import { DEFAULT_CLAIM_NAMES, type ClaimNames } from './claims.ts';

/**
 * Signature algorithms that can be accepted at all: asymmetric only. `none` is not a signature, and an
 * HMAC (HS*) "verified" with a public key lets anyone who has the public key sign (the classic
 * algorithm-confusion attack), so neither can be configured.
 */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** Accepted unless configured otherwise: what OIDC providers sign access tokens with in practice. */
export const DEFAULT_ALGORITHMS: readonly AsymmetricAlgorithm[] = Object.freeze(['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519']);

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;

export interface DevelopmentAuthSettings {
  mode: 'development';
}

export interface OidcAuthSettings {
  mode: 'oidc';
  /** OIDC_ISSUER: must equal the token's `iss` exactly (and the discovery document's `issuer`). */
  issuer: string;
  /** OIDC_AUDIENCE: the token's `aud` must contain one of these. */
  audience: string | readonly string[];
  /** OIDC_JWKS_URI; when absent it is discovered from `${issuer}/.well-known/openid-configuration`. */
  jwksUri?: string | undefined;
  claims?: Partial<ClaimNames> | undefined;
  /** Allowed difference between our clock and the issuer's, for exp/nbf/iat (default 60 s, at most 300 s). */
  clockToleranceSeconds?: number | undefined;
  /** A subset of ASYMMETRIC_ALGORITHMS (default DEFAULT_ALGORITHMS). */
  algorithms?: readonly AsymmetricAlgorithm[] | undefined;
  /** Timeout of one JWKS or discovery fetch (default 5000 ms). */
  fetchTimeoutMs?: number | undefined;
  /**
   * After a fetch, an unknown `kid` does not refetch the key set for this long (default 30 s), so a
   * stream of tokens with made-up key ids cannot make us hammer the identity provider.
   */
  jwksCooldownMs?: number | undefined;
  /** Keys are refetched when older than this (default 10 min). */
  jwksCacheMaxAgeMs?: number | undefined;
  /**
   * Plain http for the issuer and the key set. Loopback addresses (127.0.0.1, ::1, localhost) are always
   * allowed for local IdPs and tests; anything else must be https unless this is set.
   */
  allowInsecureHttp?: boolean | undefined;
  /** Keys from elsewhere than the network (jose's createLocalJWKSet, a test's key): replaces the JWKS fetch. */
  keys?: JWTVerifyGetKey | undefined;
  /** Source of "now" for exp/nbf; `authenticate` may also be given a clock per call. */
  clock?: Clock | undefined;
}

export type AuthSettings = DevelopmentAuthSettings | OidcAuthSettings;

export interface AuthConfigProblem {
  variable: string;
  message: string;
}

export class AuthConfigurationError extends Error {
  constructor(readonly problems: readonly AuthConfigProblem[]) {
    super(`invalid authentication configuration:\n${problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'AuthConfigurationError';
  }
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Why a URL is not acceptable for the issuer or its keys, or undefined when it is. */
export function urlProblem(value: string, allowInsecureHttp = false): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute https URL';
  }
  if (url.username !== '' || url.password !== '') return 'must not contain credentials (user:password@)';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && (allowInsecureHttp || LOOPBACK_HOSTS.has(url.hostname))) return undefined;
  return url.protocol === 'http:' ? 'must use https (plain http is allowed only for loopback addresses)' : 'must be an absolute https URL';
}

const CLAIM_NAME = /^[\x21-\x7e]{1,256}$/;

/** Checks settings given in code (the same rules as the environment); throws AuthConfigurationError. */
export function checkAuthSettings(settings: AuthSettings): void {
  if (settings.mode === 'development') return;
  const problems: AuthConfigProblem[] = [];
  const add = (variable: string, message: string) => problems.push({ variable, message });
  const issuerProblem = typeof settings.issuer === 'string' ? urlProblem(settings.issuer, settings.allowInsecureHttp) : 'is required';
  if (issuerProblem) add('OIDC_ISSUER', issuerProblem);
  const audiences = typeof settings.audience === 'string' ? [settings.audience] : (settings.audience ?? []);
  if (audiences.length === 0 || !audiences.every((a) => typeof a === 'string' && a.length > 0 && a.length <= 256 && !/\s/.test(a))) {
    add('OIDC_AUDIENCE', 'is required: 1–256 characters without spaces');
  }
  if (settings.jwksUri !== undefined) {
    const problem = urlProblem(settings.jwksUri, settings.allowInsecureHttp);
    if (problem) add('OIDC_JWKS_URI', problem);
  }
  for (const key of ['roles', 'units', 'sources'] as const) {
    const name = settings.claims?.[key];
    if (name !== undefined && !CLAIM_NAME.test(name)) add(`OIDC_${key.toUpperCase()}_CLAIM`, 'must be a claim name: 1–256 visible characters');
  }
  const tolerance = settings.clockToleranceSeconds;
  if (tolerance !== undefined && !(Number.isInteger(tolerance) && tolerance >= 0 && tolerance <= MAX_CLOCK_TOLERANCE_SECONDS)) {
    add('OIDC_CLOCK_TOLERANCE_SECONDS', `must be a whole number of seconds from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS}`);
  }
  if (settings.algorithms !== undefined) {
    const allowed = ASYMMETRIC_ALGORITHMS as readonly string[];
    if (settings.algorithms.length === 0 || !settings.algorithms.every((a) => allowed.includes(a))) {
      add('OIDC_ALGORITHMS', `must be a comma-separated list of asymmetric algorithms: ${ASYMMETRIC_ALGORITHMS.join(', ')} (never none or HS*)`);
    }
  }
  for (const [key, variable] of [
    ['fetchTimeoutMs', 'fetchTimeoutMs'],
    ['jwksCooldownMs', 'jwksCooldownMs'],
    ['jwksCacheMaxAgeMs', 'jwksCacheMaxAgeMs'],
  ] as const) {
    const value = settings[key];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) add(variable, 'must be a non-negative whole number of milliseconds');
  }
  if (problems.length > 0) throw new AuthConfigurationError(problems);
}

/**
 * Settings from environment variables. Development mode is refused with NODE_ENV=production whatever
 * else is set: a production deployment that forgot its IdP must not come up as an administrator.
 */
export function authSettingsFromEnv(env: Record<string, string | undefined>): AuthSettings {
  const value = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const production = value('NODE_ENV')?.toLowerCase() === 'production';
  const mode = value('AUTH_MODE')?.toLowerCase() ?? (production ? 'oidc' : 'development');
  const problems: AuthConfigProblem[] = [];

  if (mode !== 'oidc' && mode !== 'development') {
    throw new AuthConfigurationError([{ variable: 'AUTH_MODE', message: 'must be one of: oidc, development' }]);
  }
  if (mode === 'development') {
    if (production) problems.push({ variable: 'AUTH_MODE', message: 'development mode is refused with NODE_ENV=production; configure OIDC_ISSUER and OIDC_AUDIENCE' });
    if (problems.length > 0) throw new AuthConfigurationError(problems);
    return { mode: 'development' };
  }

  const issuer = value('OIDC_ISSUER');
  const audience = value('OIDC_AUDIENCE');
  if (issuer === undefined) problems.push({ variable: 'OIDC_ISSUER', message: 'is required with AUTH_MODE=oidc' });
  if (audience === undefined) problems.push({ variable: 'OIDC_AUDIENCE', message: 'is required with AUTH_MODE=oidc' });

  let clockToleranceSeconds: number | undefined;
  const tolerance = value('OIDC_CLOCK_TOLERANCE_SECONDS');
  if (tolerance !== undefined) {
    clockToleranceSeconds = /^\d{1,4}$/.test(tolerance) ? Number(tolerance) : Number.NaN;
  }
  const algorithms = value('OIDC_ALGORITHMS')
    ?.split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '') as AsymmetricAlgorithm[] | undefined;

  const settings: OidcAuthSettings = {
    mode: 'oidc',
    issuer: issuer ?? '',
    audience: audience ?? '',
    jwksUri: value('OIDC_JWKS_URI'),
    claims: {
      roles: value('OIDC_ROLES_CLAIM') ?? DEFAULT_CLAIM_NAMES.roles,
      units: value('OIDC_UNITS_CLAIM') ?? DEFAULT_CLAIM_NAMES.units,
      sources: value('OIDC_SOURCES_CLAIM') ?? DEFAULT_CLAIM_NAMES.sources,
    },
    clockToleranceSeconds,
    algorithms,
  };
  try {
    checkAuthSettings(settings);
  } catch (error) {
    if (!(error instanceof AuthConfigurationError)) throw error;
    // Missing issuer/audience were reported above with a clearer message.
    for (const p of error.problems) {
      if (!problems.some((q) => q.variable === p.variable)) problems.push(p);
    }
  }
  if (problems.length > 0) throw new AuthConfigurationError(problems);
  return settings;
}
