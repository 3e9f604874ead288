import { describe, expect, it } from 'vitest';
import { createPrincipal, describePrincipal, developmentPrincipal } from './principal.ts';

describe('Principal', () => {
  it('is frozen, with sorted, deduplicated units and sources', () => {
    const p = createPrincipal({ subject: 's', roles: ['manager', 'manager'], units: ['b', 'a', 'b'], sources: ['x'] });
    expect(p.units).toEqual(['a', 'b']);
    expect(Object.isFrozen(p) && Object.isFrozen(p.units)).toBe(true);
    expect(() => (p.roles as Set<string>).delete('manager')).toThrow(TypeError);
    expect(() => (p.units as string[]).push('c')).toThrow(TypeError);
    expect(describePrincipal(p)).toEqual({ subject: 's', roles: ['manager'], development: false });
  });

  it('needs a subject and a known role', () => {
    expect(() => createPrincipal({ subject: '', roles: ['manager'] })).toThrow(TypeError);
    expect(() => createPrincipal({ subject: 's', roles: [] })).toThrow(TypeError);
    expect(() => createPrincipal({ subject: 's', roles: ['root' as never] })).toThrow(TypeError);
  });

  it('the development principal says so', () => {
    expect(developmentPrincipal()).toMatchObject({ subject: 'development-mode', development: true, expiresAt: null });
  });
});
