/**
 * Bearer-token authentication for every entry point (HTTP, GraphQL, SSE subscriptions).
 *
 * A token is accepted only when all of these hold (jose does the cryptography and the claim checks):
 * - it is a compact JWS whose header `alg` is one of the configured asymmetric algorithms — checked
 *   before any key is looked up, so `none` and HS* (HMAC keyed with our public key) are refused by name;
 * - its signature verifies with a key from the issuer's JWKS (OIDC_JWKS_URI, or discovered), found by
 *   `kid`; an unknown `kid` refetches the key set once (key rotation), at most once per cooldown;
 * - `iss` equals OIDC_ISSUER, `aud` contains OIDC_AUDIENCE, `exp` is present and not passed, `nbf`
 *   and `iat` are not in the future, each with the configured clock tolerance (default 60 s);
 * - its `typ`, when present, names an access token (`JWT`, `at+jwt`), not a logout or DPoP token;
 * - `sub` is present and the roles claim grants at least one tracker role.
 *
 * Failures are AuthenticationErrors with a reason code and a fixed sentence; the token and its claims
 * never appear in them (see authenticationError.ts).
 */
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { systemClock, type Clock } from '@tracker/domain';
import { AuthenticationError, type AuthenticationFailure } from './authenticationError.ts';
import { bearerTokenOf } from './bearer.ts';
import { DEFAULT_CLAIM_NAMES, principalFromClaims, type ClaimNames } from './claims.ts';
import { discoverJwksUri } from './discovery.ts';
import { developmentPrincipal, type Principal } from './principal.ts';
import {
  AuthConfigurationError,
  checkAuthSettings,
  DEFAULT_ALGORITHMS,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  type AuthSettings,
  type OidcAuthSettings,
} from './settings.ts';

export interface Authenticator {
  readonly mode: 'development' | 'oidc';
  /**
   * The principal behind an `Authorization` header value (as node gives it: string, array or
   * undefined). `clock` overrides the configured clock for this call (tests, replay).
   */
  authenticate(authorization: string | readonly string[] | undefined | null, clock?: Clock): Promise<Principal>;
  /** Discovers the key set and fetches it now (for readiness); throws AuthenticationError('issuer_unavailable'). */
  warmUp(): Promise<void>;
}

/** What the authenticator logs through: a pino logger fits. */
export interface SecurityLogger {
  warn(object: object, message: string): void;
}

export interface CreateAuthenticatorOptions {
  /** Development mode announces itself here, loudly. */
  logger?: SecurityLogger;
  /** `production` refuses development mode. */
  nodeEnv?: string | undefined;
}

export const DEVELOPMENT_MODE_WARNING =
  'AUTH_MODE=development: every request acts as an ADMINISTRATOR of all units without a token. For the local demo only; never expose this process.';

const ACCESS_TOKEN_TYPES = new Set(['jwt', 'at+jwt', 'application/jwt', 'application/at+jwt']);

/** A discovery failure is not retried before this has passed, so a down IdP is not asked on every request. */
const DISCOVERY_RETRY_MS = 5000;

export function createAuthenticator(settings: AuthSettings, options: CreateAuthenticatorOptions = {}): Authenticator {
  if (settings.mode === 'development') {
    if (options.nodeEnv === 'production') {
      throw new AuthConfigurationError([{ variable: 'AUTH_MODE', message: 'development mode is refused with NODE_ENV=production' }]);
    }
    options.logger?.warn({ authMode: 'development', security: true }, DEVELOPMENT_MODE_WARNING);
    const principal = developmentPrincipal();
    return {
      mode: 'development',
      authenticate: async () => principal,
      warmUp: async () => {},
    };
  }
  checkAuthSettings(settings);
  return new OidcAuthenticator(settings);
}

class OidcAuthenticator implements Authenticator {
  readonly mode = 'oidc' as const;
  readonly #settings: OidcAuthSettings;
  readonly #claimNames: ClaimNames;
  readonly #algorithms: string[];
  readonly #tolerance: number;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  #keys: JWTVerifyGetKey | undefined;
  #discovering: Promise<JWTVerifyGetKey> | undefined;
  #discoveryFailedAt = Number.NEGATIVE_INFINITY;

  constructor(settings: OidcAuthSettings) {
    this.#settings = settings;
    this.#claimNames = { ...DEFAULT_CLAIM_NAMES, ...settings.claims };
    this.#algorithms = [...(settings.algorithms ?? DEFAULT_ALGORITHMS)];
    this.#tolerance = settings.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
    this.#clock = settings.clock ?? systemClock;
    this.#timeoutMs = settings.fetchTimeoutMs ?? 5000;
    if (settings.keys) this.#keys = settings.keys;
    else if (settings.jwksUri !== undefined) this.#keys = this.#remoteKeys(new URL(settings.jwksUri));
  }

  async warmUp(): Promise<void> {
    const keys = await this.#keySet();
    const remote = keys as Partial<{ reload(): Promise<void> }>;
    if (typeof remote.reload === 'function') {
      try {
        await remote.reload();
      } catch {
        throw new AuthenticationError('issuer_unavailable');
      }
    }
  }

  async authenticate(authorization: string | readonly string[] | undefined | null, clock: Clock = this.#clock): Promise<Principal> {
    const token = bearerTokenOf(authorization);

    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new AuthenticationError('malformed_token');
    }
    if (typeof header.alg !== 'string' || !this.#algorithms.includes(header.alg)) throw new AuthenticationError('unsupported_algorithm');
    if (header.typ !== undefined && (typeof header.typ !== 'string' || !ACCESS_TOKEN_TYPES.has(header.typ.toLowerCase()))) {
      throw new AuthenticationError('malformed_token');
    }

    const keys = await this.#keySet();
    let payload: Record<string, unknown>;
    try {
      const verified = await jwtVerify(token, keys, {
        issuer: this.#settings.issuer,
        audience: typeof this.#settings.audience === 'string' ? this.#settings.audience : [...this.#settings.audience],
        algorithms: this.#algorithms,
        clockTolerance: this.#tolerance,
        currentDate: clock.now(),
        requiredClaims: ['exp', 'sub'],
      });
      payload = verified.payload as Record<string, unknown>;
    } catch (error) {
      throw new AuthenticationError(failureOf(error));
    }
    // jose checks `iat` only with maxTokenAge; a token issued in the future is as suspect as one with a future nbf.
    const now = Math.floor(clock.now().getTime() / 1000);
    if (payload.iat !== undefined && (typeof payload.iat !== 'number' || payload.iat > now + this.#tolerance)) {
      throw new AuthenticationError(typeof payload.iat === 'number' ? 'not_yet_valid' : 'invalid_claims');
    }
    return principalFromClaims(payload, this.#claimNames);
  }

  #remoteKeys(url: URL): JWTVerifyGetKey {
    const remote = createRemoteJWKSet(url, {
      timeoutDuration: this.#timeoutMs,
      cooldownDuration: this.#settings.jwksCooldownMs ?? 30_000,
      cacheMaxAge: this.#settings.jwksCacheMaxAgeMs ?? 600_000,
    });
    // Anything the key set throws other than "no such key" is the IdP being unreachable or broken,
    // not the token being bad: answered 503, not 401.
    const keys: JWTVerifyGetKey = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) throw error;
        throw new IssuerUnavailable();
      }
    };
    return Object.assign(keys, {
      reload: async () => {
        try {
          await remote.reload();
        } catch {
          throw new IssuerUnavailable();
        }
      },
    });
  }

  async #keySet(): Promise<JWTVerifyGetKey> {
    if (this.#keys) return this.#keys;
    if (!this.#discovering) {
      if (performance.now() - this.#discoveryFailedAt < DISCOVERY_RETRY_MS) throw new AuthenticationError('issuer_unavailable');
      this.#discovering = discoverJwksUri(this.#settings.issuer, {
        timeoutMs: this.#timeoutMs,
        allowInsecureHttp: this.#settings.allowInsecureHttp,
      }).then(
        (url) => (this.#keys = this.#remoteKeys(url)),
        (error: unknown) => {
          this.#discovering = undefined;
          this.#discoveryFailedAt = performance.now();
          throw error;
        },
      );
    }
    try {
      return await this.#discovering;
    } catch {
      throw new AuthenticationError('issuer_unavailable');
    }
  }
}

/** Marks a key-set failure that is the IdP's, not the token's. */
class IssuerUnavailable extends Error {
  constructor() {
    super('the issuer key set is unavailable');
    this.name = 'IssuerUnavailable';
  }
}

function failureOf(error: unknown): AuthenticationFailure {
  if (error instanceof AuthenticationError) return error.reason;
  if (error instanceof IssuerUnavailable) return 'issuer_unavailable';
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
      case 'iat':
        return error.reason === 'check_failed' ? 'not_yet_valid' : 'invalid_claims';
      case 'aud':
        return 'wrong_audience';
      case 'iss':
        return 'wrong_issuer';
      case 'typ':
        return 'malformed_token';
      default:
        return 'invalid_claims';
    }
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'unsupported_algorithm';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) return 'unknown_key';
  // A key of the wrong type for the header's alg (an RSA key named by an ES256 token): the token lies about its key.
  if (error instanceof TypeError) return 'bad_signature';
  // An unrecognised `crit` extension, an unsupported key type: the token asks for what we do not do.
  if (error instanceof joseErrors.JOSENotSupported) return 'malformed_token';
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'malformed_token';
  // Fail closed: whatever else went wrong, the token is not accepted.
  return 'malformed_token';
}
