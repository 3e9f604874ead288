/**
 * Who is asking: the result of authentication, the input of every authorisation decision.
 *
 * A principal is built only by the authenticator (from a verified token, or the explicit development
 * mode), never from request input, so nothing a client sends can widen what it may see.
 */

/** The tracker's roles (domain.md §1 users, plus administrators who manage configuration). */
export const ROLES = ['coordinator', 'manager', 'integrator', 'administrator'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

export interface Principal {
  /** The token's `sub`: a stable, opaque id of the employee or the integrating system. */
  readonly subject: string;
  /** Never empty: a token without a tracker role is refused at authentication. */
  readonly roles: ReadonlySet<Role>;
  /** Unit ids from the units claim: the units the subject works for (coordinator and manager scope). */
  readonly units: readonly string[];
  /** Source system names from the sources claim: what an integrator may post as and subscribe to. */
  readonly sources: readonly string[];
  /** True only for the AUTH_MODE=development principal; shown in logs so it is never mistaken for a user. */
  readonly development: boolean;
  /** When the token stops being valid (`exp`); long-lived streams (SSE subscriptions) must end here. Null in development mode. */
  readonly expiresAt: Date | null;
}

export interface PrincipalInput {
  subject: string;
  roles: Iterable<Role>;
  units?: Iterable<string>;
  sources?: Iterable<string>;
  development?: boolean;
  expiresAt?: Date | null;
}

/** A frozen principal (its arrays deduplicated and sorted so two equal principals compare and log alike). */
export function createPrincipal(input: PrincipalInput): Principal {
  const roles = new Set<Role>();
  for (const role of input.roles) {
    if (!isRole(role)) throw new TypeError('createPrincipal: unknown role');
    roles.add(role);
  }
  if (roles.size === 0) throw new TypeError('createPrincipal: a principal has at least one role');
  if (typeof input.subject !== 'string' || input.subject.length === 0) throw new TypeError('createPrincipal: subject is required');
  return Object.freeze({
    subject: input.subject,
    roles: new FrozenSet(roles),
    units: Object.freeze([...new Set(input.units ?? [])].sort()),
    sources: Object.freeze([...new Set(input.sources ?? [])].sort()),
    development: input.development ?? false,
    expiresAt: input.expiresAt ?? null,
  });
}

/** A Set whose mutators throw: a principal handed to resolvers cannot be given more roles. */
class FrozenSet<T> extends Set<T> {
  constructor(values: Iterable<T>) {
    super();
    for (const value of values) super.add(value);
  }
  override add(_value: T): this {
    throw new TypeError('a principal is immutable');
  }
  override delete(_value: T): boolean {
    throw new TypeError('a principal is immutable');
  }
  override clear(): void {
    throw new TypeError('a principal is immutable');
  }
}

export const DEVELOPMENT_SUBJECT = 'development-mode';

/**
 * The AUTH_MODE=development principal: an administrator of every unit, for the embedded demo only.
 * `development: true` travels with it into logs and the access log, so its reads are recognisable.
 */
export function developmentPrincipal(): Principal {
  return createPrincipal({ subject: DEVELOPMENT_SUBJECT, roles: ['administrator'], development: true });
}

/** For log lines: the subject and roles, never the token or claims beyond them. */
export function describePrincipal(principal: Principal): { subject: string; roles: Role[]; development: boolean } {
  return { subject: principal.subject, roles: [...principal.roles].sort(), development: principal.development };
}
