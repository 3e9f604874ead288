import { DEMO_UNITS_FILE, loadUnitsFile } from '@tracker/domain';
import { describe, expect, it } from 'vitest';
import { resolveUnitRoles } from './unitRoles.ts';

describe('resolveUnitRoles', () => {
  it('casts the demo kommune’s units by sector, refined by name inside a sector', () => {
    const roles = resolveUnitRoles(loadUnitsFile(DEMO_UNITS_FILE));
    expect(roles).toMatchObject({
      municipality: '0751',
      reception: ['0751-modtagelse'],
      child: ['0751-bf-myndighed'],
      childDisability: ['0751-bf-handicap'],
      youth: ['0751-ungeenhed'],
      adult: ['0751-voksen-handicap', '0751-socialpsykiatri'], // elder care left out
      adultDisability: ['0751-voksen-handicap'],
      adultPsychiatry: ['0751-socialpsykiatri'],
      employment: ['0751-jobcenter'],
      health: ['0751-boernepsykiatri'],
      school: ['0751-ppr'],
    });
    expect(roles.external.map((u) => [u.id, u.municipality])).toEqual([['0101-bf-myndighed', '0101']]);
    expect(roles.sectorOf('0751-ppr')).toBe('school');
    expect(() => roles.sectorOf('0751-nope')).toThrow(/unknown unit/);
  });
});
