/**
 * OpenID Connect Discovery (OIDC Discovery 1.0 §4): the key set's address from the issuer's metadata.
 *
 * The document's `issuer` must equal the configured issuer exactly (§4.3), so a document served from a
 * wrong or hijacked path cannot point us at someone else's keys; its `jwks_uri` must pass the same URL
 * rules as a configured one. Redirects are not followed.
 */
import { urlProblem } from './settings.ts';

export class DiscoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiscoveryError';
  }
}

export function discoveryUrl(issuer: string): URL {
  return new URL(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
}

export async function discoverJwksUri(issuer: string, options: { timeoutMs: number; allowInsecureHttp?: boolean | undefined }): Promise<URL> {
  let response: Response;
  try {
    response = await fetch(discoveryUrl(issuer), {
      redirect: 'manual',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch {
    throw new DiscoveryError('the discovery document could not be fetched');
  }
  if (response.status !== 200) throw new DiscoveryError(`the discovery document answered HTTP ${response.status}`);
  let metadata: unknown;
  try {
    metadata = await response.json();
  } catch {
    throw new DiscoveryError('the discovery document is not JSON');
  }
  if (typeof metadata !== 'object' || metadata === null) throw new DiscoveryError('the discovery document is not a JSON object');
  const { issuer: stated, jwks_uri: jwksUri } = metadata as Record<string, unknown>;
  if (stated !== issuer) throw new DiscoveryError("the discovery document's issuer differs from OIDC_ISSUER");
  if (typeof jwksUri !== 'string' || urlProblem(jwksUri, options.allowInsecureHttp) !== undefined) {
    throw new DiscoveryError("the discovery document's jwks_uri is missing or not an acceptable https URL");
  }
  return new URL(jwksUri);
}
