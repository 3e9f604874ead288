/**
 * From a verified token's claims to a Principal.
 *
 * Claim names are configurable because identity providers put roles in different places: Entra ID
 * app roles in `roles`, Keycloak in `realm_access.roles`, Auth0 under a namespaced URL. A name is
 * looked up as a whole key first (so `https://tracker.example/roles` works), then, when it contains
 * dots, as a path into nested objects.
 *
 * Role values a token carries for other applications are ignored; a token left with no tracker role
 * is refused (`no_roles`). Units and sources must be well-formed ids: a malformed entry refuses the
 * token (`invalid_claims`) rather than being dropped, because a silently narrowed scope hides an IdP
 * misconfiguration and a silently widened one is worse.
 */
import { AuthenticationError } from './authenticationError.ts';
import { createPrincipal, isRole, type Principal, type Role } from './principal.ts';

export interface ClaimNames {
  /** Default `roles`. */
  roles: string;
  /** Default `units`. */
  units: string;
  /** Default `sources`. */
  sources: string;
}

export const DEFAULT_CLAIM_NAMES: Readonly<ClaimNames> = Object.freeze({ roles: 'roles', units: 'units', sources: 'sources' });

/** Same shape as a unit id in the event catalog. */
const UNIT_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Same shape as an event's `source` in the event catalog. */
const SOURCE = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_SUBJECT_LENGTH = 255;
/** More entries than any employee has units: a bigger list is a misconfigured IdP or an attack on memory. */
const MAX_LIST_LENGTH = 1000;

/** The claim's value: the whole key first, then a dotted path. */
export function claimValue(claims: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  if (!name.includes('.')) return undefined;
  let current: unknown = claims;
  for (const segment of name.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** An array of strings, or one string of space-separated values (as OAuth's `scope`); absent is empty. */
function stringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === 'string' ? value.split(/\s+/).filter((v) => v !== '') : value;
  if (!Array.isArray(list) || list.length > MAX_LIST_LENGTH || !list.every((v): v is string => typeof v === 'string')) {
    throw new AuthenticationError('invalid_claims');
  }
  return list;
}

export function principalFromClaims(claims: Record<string, unknown>, names: ClaimNames = DEFAULT_CLAIM_NAMES): Principal {
  const subject = claims.sub;
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH) throw new AuthenticationError('invalid_claims');
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) throw new AuthenticationError('invalid_claims');

  const roles: Role[] = stringList(claimValue(claims, names.roles)).filter(isRole);
  const units = stringList(claimValue(claims, names.units));
  const sources = stringList(claimValue(claims, names.sources));
  if (!units.every((u) => UNIT_ID.test(u)) || !sources.every((s) => SOURCE.test(s))) throw new AuthenticationError('invalid_claims');
  if (roles.length === 0) throw new AuthenticationError('no_roles');

  return createPrincipal({ subject, roles, units, sources, development: false, expiresAt: new Date(claims.exp * 1000) });
}
