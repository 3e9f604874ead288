/**
 * HTTP security headers for every answer (@fastify/helmet, registered at the root so it covers the
 * whole server): no MIME sniffing, no framing, no referrer, HSTS, cross-origin isolation, and a
 * Content-Security-Policy.
 *
 * The API serves JSON and Server-Sent Events only, so its policy allows nothing (`default-src 'none'`).
 * The one HTML page is GraphiQL, outside production only: yoga renders it with an inline script and
 * loads its bundle, styles and Monaco workers from unpkg, so the development policy allows exactly
 * that and nothing else.
 */
import fp from 'fastify-plugin';
import helmet from '@fastify/helmet';
import type { FastifyPluginAsync } from 'fastify';

export interface SecurityHeadersOptions {
  /** GraphiQL is served (outside production): its page needs scripts and styles from unpkg. */
  graphiql: boolean;
}

/** Where yoga's GraphiQL page loads its assets from (graphql-yoga's graphiql-html). */
const GRAPHIQL_ASSETS = 'https://unpkg.com';

export function contentSecurityPolicy(graphiql: boolean): Record<string, string[]> {
  const none = ["'none'"];
  if (!graphiql) {
    return { 'default-src': none, 'frame-ancestors': none, 'base-uri': none, 'form-action': none };
  }
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'", "'unsafe-inline'", GRAPHIQL_ASSETS],
    'style-src': ["'self'", "'unsafe-inline'", GRAPHIQL_ASSETS],
    'img-src': ["'self'", 'data:', 'https://raw.githubusercontent.com'],
    'font-src': ["'self'", 'data:', GRAPHIQL_ASSETS],
    'worker-src': ["'self'", 'blob:', GRAPHIQL_ASSETS],
    'connect-src': ["'self'"],
    'frame-ancestors': none,
    'base-uri': none,
    'form-action': ["'self'"],
    'object-src': none,
  };
}

const securityHeadersImpl: FastifyPluginAsync<SecurityHeadersOptions> = async (app, { graphiql }) => {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicy(graphiql) },
    // Monaco's workers are cross-origin scripts; isolation would block GraphiQL (development only).
    crossOriginEmbedderPolicy: !graphiql,
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
  });
};

export const securityHeadersPlugin = fp(securityHeadersImpl, { fastify: '5.x', name: 'tracker-security-headers' });
