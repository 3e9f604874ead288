/**
 * Which configured units play which part in a generated history. Units are chosen by sector from the
 * UnitDirectory, so any units file with child, youth and adult units in the home kommune works; the
 * name is only used to prefer a better fit inside a sector (a "handicap" unit for disabled citizens,
 * a "psyk" unit for psychiatric needs) and never required.
 */
import type { Unit, UnitDirectory, UnitSector } from '@tracker/domain';

export interface UnitRoles {
  /** The home kommune: the one most non-external units belong to, unless given. */
  municipality: string;
  /** Where notifications and first contacts land; the child units when no reception is configured. */
  reception: readonly string[];
  /** Child units for children without disabilities (handicap units left out unless they are all there is). */
  child: readonly string[];
  /** Child units for disabled children (name mentions handicap); all child units when none does. */
  childDisability: readonly string[];
  youth: readonly string[];
  /** Adult units for young adults (elder care left out unless it is the only adult unit). */
  adult: readonly string[];
  adultDisability: readonly string[];
  adultPsychiatry: readonly string[];
  /** Optional sectors: empty when the units file has none (those parts of a history are skipped). */
  employment: readonly string[];
  health: readonly string[];
  school: readonly string[];
  /** Other kommuners' units (for moves), with their kommune codes. */
  external: readonly Unit[];
  sectorOf(unitId: string): UnitSector;
}

const label = (u: Unit): string => `${u.name} ${u.id}`;
const ids = (units: readonly Unit[]): string[] => units.map((u) => u.id);

/** The units matching the pattern, or all of them when none does. */
const prefer = (units: readonly Unit[], pattern: RegExp): Unit[] => {
  const matching = units.filter((u) => pattern.test(label(u)));
  return matching.length > 0 ? matching : [...units];
};

/** The units not matching the pattern, or all of them when every one does. */
const avoid = (units: readonly Unit[], pattern: RegExp): Unit[] => {
  const others = units.filter((u) => !pattern.test(label(u)));
  return others.length > 0 ? others : [...units];
};

const DISABILITY = /handicap|funktionsneds/i;
const ELDER_CARE = /ældre|aeldre|omsorg|pleje/i;

function homeMunicipality(units: readonly Unit[]): string {
  const counts = new Map<string, number>();
  for (const u of units) if (u.sector !== 'external') counts.set(u.municipality, (counts.get(u.municipality) ?? 0) + 1);
  const [best] = [...counts].sort(([a, n], [b, m]) => m - n || (a < b ? -1 : 1));
  if (!best) throw new Error('the units configuration has no non-external unit to generate histories for');
  return best[0];
}

export function resolveUnitRoles(directory: UnitDirectory, municipality?: string): UnitRoles {
  const home = municipality ?? homeMunicipality(directory.units);
  const inHome = (sector: UnitSector): Unit[] => directory.units.filter((u) => u.sector === sector && u.municipality === home);
  const missing = (['child', 'youth', 'adult'] as const).filter((s) => inHome(s).length === 0);
  if (missing.length > 0) {
    throw new Error(`the units configuration has no ${missing.join(', ')} unit in kommune ${home}; the generator needs child, youth and adult units`);
  }
  const child = inHome('child');
  const adult = avoid(inHome('adult'), ELDER_CARE);
  const reception = inHome('reception');
  return {
    municipality: home,
    reception: ids(reception.length > 0 ? reception : child),
    child: ids(avoid(child, DISABILITY)),
    childDisability: ids(prefer(child, DISABILITY)),
    youth: ids(inHome('youth')),
    adult: ids(adult),
    adultDisability: ids(prefer(adult, DISABILITY)),
    adultPsychiatry: ids(prefer(adult, /psyk/i)),
    employment: ids(inHome('employment')),
    health: ids(inHome('health')),
    school: ids(inHome('school')),
    external: directory.units.filter((u) => u.sector === 'external' && u.municipality !== home),
    sectorOf: (unitId) => {
      const sector = directory.sectorOf(unitId);
      if (sector === undefined) throw new Error(`unknown unit ${unitId}`);
      return sector;
    },
  };
}
