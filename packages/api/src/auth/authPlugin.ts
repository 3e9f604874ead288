/**
 * Authentication on every entry point (docs/security.md §5), and rate limiting per client.
 *
 * Wrapped with fastify-plugin, so its hooks run for the WHOLE server — every route registered anywhere,
 * and the 404 handler (an unknown path without a token is 401, so probing does not map the routes).
 * Three `onRequest` hooks, in this order:
 *
 * 1. authenticate: `Authorization: Bearer …` → `request.principal` (verified by the authenticator:
 *    signature against the IdP's JWKS, issuer, audience, expiry, roles). A failure is kept, not yet
 *    answered, so that…
 * 2. …the rate limit counts every request, refused ones included, per client: the token's subject
 *    when it verified, the client address otherwise (a flood of forged tokens is limited per address);
 * 3. refuse: a request that did not authenticate is answered 401/403/503 with the reason code and a
 *    fixed sentence (`securityResponseOf`); the token, its claims and the verifier's error are never
 *    in the answer or the log.
 *
 * Only the liveness and readiness probes go without a token. `allowAnonymous` may let more through
 * (GraphiQL's static page in development); what runs after it must then refuse a missing principal —
 * GraphQL does, in its authorization plugin (fail closed).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import { AuthenticationError, describePrincipal, securityResponseOf, type Authenticator, type Principal } from '@tracker/security';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking; set by authPlugin for every request that is answered (undefined only on public routes). */
    principal: Principal | undefined;
  }
}

export interface RateLimitOptions {
  /** Requests per client per window. */
  max: number;
  /** The window, in milliseconds. */
  timeWindowMs: number;
}

export interface AuthPluginOptions {
  authenticator: Authenticator;
  /** Route patterns answered without a token; default the probes `/healthz` and `/readyz`. */
  publicRoutes?: readonly string[];
  /** Further requests that may go without a token (their handlers must refuse what needs one). */
  allowAnonymous?: (request: FastifyRequest) => boolean;
  /** Paths whose refusals are answered in GraphQL's response shape; default `/graphql`. */
  graphqlPaths?: readonly string[];
  /** Requests per client; `false` turns the limit off. */
  rateLimit?: RateLimitOptions | false;
}

export const PUBLIC_ROUTES: readonly string[] = ['/healthz', '/readyz'];

const AUTH_ERROR = Symbol('tracker.authenticationError');
type WithAuthError = FastifyRequest & { [AUTH_ERROR]?: AuthenticationError };

/** The answer to a refused request: the security response, in GraphQL's shape on GraphQL paths. */
export function sendSecurityRefusal(reply: FastifyReply, error: unknown, graphql: boolean): FastifyReply {
  const response = securityResponseOf(error)!;
  reply.code(response.statusCode).headers(response.headers);
  if (!graphql) return reply.send(response.body);
  return reply
    .type('application/json; charset=utf-8')
    .send({ errors: [{ message: response.body.message, extensions: { code: response.body.error, reason: response.body.reason } }] });
}

const authPluginImpl: FastifyPluginAsync<AuthPluginOptions> = async (app: FastifyInstance, options) => {
  const { authenticator } = options;
  if (!authenticator || typeof authenticator.authenticate !== 'function') throw new TypeError('authPlugin: options.authenticator is required');
  const publicRoutes = new Set(options.publicRoutes ?? PUBLIC_ROUTES);
  const graphqlPaths = new Set(options.graphqlPaths ?? ['/graphql']);
  const isPublic = (request: FastifyRequest) => {
    const route = request.routeOptions.url;
    return route !== undefined && publicRoutes.has(route);
  };

  app.decorateRequest('principal', undefined);

  app.addHook('onRequest', async (request: WithAuthError) => {
    if (isPublic(request)) return;
    try {
      request.principal = await authenticator.authenticate(request.headers.authorization);
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      request[AUTH_ERROR] = error;
    }
  });

  if (options.rateLimit) {
    const { max, timeWindowMs } = options.rateLimit;
    if (!Number.isSafeInteger(max) || max < 1 || !Number.isSafeInteger(timeWindowMs) || timeWindowMs < 1) {
      throw new TypeError('authPlugin: rateLimit.max and rateLimit.timeWindowMs must be positive integers');
    }
    await app.register(rateLimit, { global: false });
    const limit = app.createRateLimit({
      max,
      timeWindow: timeWindowMs,
      // The subject is the client when the token verified; prefixes keep a subject from colliding with an address.
      keyGenerator: (request: FastifyRequest) => (request.principal ? `sub:${request.principal.subject}` : `ip:${request.ip}`),
    });
    app.addHook('onRequest', async (request, reply) => {
      if (isPublic(request)) return;
      const outcome = await limit(request);
      if (outcome.isAllowed) return;
      reply.header('x-ratelimit-limit', outcome.max).header('x-ratelimit-remaining', outcome.remaining).header('x-ratelimit-reset', outcome.ttlInSeconds);
      if (!outcome.isExceeded) return;
      request.log.warn({ ...(request.principal ? { principal: describePrincipal(request.principal) } : {}), security: true }, 'rate limit exceeded');
      reply.header('retry-after', outcome.ttlInSeconds).header('cache-control', 'no-store');
      const message = 'Too many requests from this client; try again later.';
      return graphqlPaths.has(request.routeOptions.url ?? '')
        ? reply.code(429).type('application/json; charset=utf-8').send({ errors: [{ message, extensions: { code: 'RATE_LIMITED' } }] })
        : reply.code(429).send({ error: 'RATE_LIMITED', message });
    });
  }

  app.addHook('onRequest', async (request: WithAuthError, reply) => {
    if (isPublic(request) || request.principal) return;
    const error = request[AUTH_ERROR] ?? new AuthenticationError('missing_token');
    // A request without any token may still be one of the anonymous ones (GraphiQL's page in development).
    if (error.reason === 'missing_token' && options.allowAnonymous?.(request)) return;
    request.log.info({ reason: error.reason, security: true }, 'request not authenticated');
    return sendSecurityRefusal(reply, error, graphqlPaths.has(request.routeOptions.url ?? ''));
  });
};

export const authPlugin = fp(authPluginImpl, { fastify: '5.x', name: 'tracker-auth' });
