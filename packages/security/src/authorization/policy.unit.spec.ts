import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { TransitionEvent } from '@tracker/domain';
import { createPrincipal, developmentPrincipal, ROLES, type Principal, type Role } from '../auth/principal.ts';
import { AuthorizationError } from './authorizationError.ts';
import { OPERATIONS, operationOfGraphqlField, type Operation } from './operations.ts';
import {
  assertActsForUnit,
  assertAllowed,
  assertCitizenInScope,
  authorize,
  checkEventSources,
  citizenInScope,
  involvedUnitsOf,
  mayPerform,
  mayReceive,
  scopeFor,
  suppressSmallCell,
  aggregateInScope,
  assertEventSources,
} from './policy.ts';
import { citizenScopeSql, citizenScopeSqliteNamed, scopeShape, unitScopeSql, unitScopeSqliteNamed } from './sqlScope.ts';

const as = (role: Role, extra: Partial<{ units: string[]; sources: string[] }> = {}): Principal =>
  createPrincipal({ subject: `${role}-1`, roles: [role], units: extra.units ?? ['bf-modtagelse'], sources: extra.sources ?? ['dubu'] });

/**
 * The policy, written out by hand (C coordinator, M manager, I integrator, A administrator). The test
 * compares the implementation with this table cell by cell, and checks the table covers every operation.
 */
const MATRIX: Record<Operation, string> = {
  'query.units': 'CMIA',
  'query.schema': 'CMIA',
  'query.policies': 'CMIA',
  'query.citizen': 'C--A',
  'query.personalData': 'C--A',
  'query.handovers': 'C--A',
  'query.gaps': 'C--A',
  'query.deadlines': 'C--A',
  'query.flows': '-M-A',
  'query.compliance': '-M-A',
  'query.dataQuality': '-MIA',
  'mutation.command': 'C--A',
  'ingest.events': '--IA',
  'subscribe.events': 'C-IA',
  'subscribe.alerts': 'C-IA',
  'export.data': '---A',
  'admin.configuration': '---A',
  'audit.insight': '---A',
  'audit.investigation': '---A',
};

const LETTER: Record<Role, string> = { coordinator: 'C', manager: 'M', integrator: 'I', administrator: 'A' };

describe('role × operation matrix', () => {
  it('the table names every operation and nothing else', () => {
    expect(Object.keys(MATRIX).sort()).toEqual([...OPERATIONS].sort());
  });

  const cells = ROLES.flatMap((role) => OPERATIONS.map((operation) => ({ role, operation, allowed: MATRIX[operation].includes(LETTER[role]) })));

  it.each(cells)('$role × $operation → allowed: $allowed', ({ role, operation, allowed }) => {
    const principal = as(role);
    expect(mayPerform(principal, operation)).toBe(allowed);
    if (allowed) {
      expect(assertAllowed(principal, operation)).toBe(role);
    } else {
      const error = (() => {
        try {
          assertAllowed(principal, operation);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(AuthorizationError);
      expect(error).toMatchObject({ statusCode: 403, code: 'FORBIDDEN', reason: 'operation_not_permitted', operation });
    }
  });

  it('refuses an operation name that does not exist', () => {
    expect(() => assertAllowed(as('administrator'), 'query.everything' as Operation)).toThrow(AuthorizationError);
    expect(mayPerform(as('administrator'), '__proto__' as Operation)).toBe(false);
  });

  it('several roles: the union, performed under the most privileged role that allows it', () => {
    const both = createPrincipal({ subject: 's', roles: ['manager', 'coordinator'], units: ['u1'] });
    expect(assertAllowed(both, 'query.flows')).toBe('manager');
    expect(assertAllowed(both, 'query.citizen')).toBe('coordinator');
    expect(() => assertAllowed(both, 'ingest.events')).toThrow(AuthorizationError);
    const adminToo = createPrincipal({ subject: 's', roles: ['coordinator', 'administrator'] });
    expect(assertAllowed(adminToo, 'query.citizen')).toBe('administrator');
  });

  it('development mode may do everything', () => {
    for (const operation of OPERATIONS) expect(mayPerform(developmentPrincipal(), operation)).toBe(true);
    expect(scopeFor(developmentPrincipal())).toEqual({ allUnits: true });
  });

  it('authorize carries the scope and whether the access log applies', () => {
    expect(authorize(as('coordinator', { units: ['a', 'b'] }), 'query.citizen')).toEqual({
      operation: 'query.citizen',
      role: 'coordinator',
      scope: { allUnits: false, units: ['a', 'b'] },
      disclosure: 'citizen',
      audited: true,
    });
    expect(authorize(as('manager'), 'query.flows')).toMatchObject({ disclosure: 'aggregate', audited: false });
  });
});

describe('GraphQL root fields', () => {
  it.each([
    ['Query', 'citizen', 'query.citizen'],
    ['Query', 'handovers', 'query.handovers'],
    ['Query', 'flows', 'query.flows'],
    ['Query', 'deadlineCompliance', 'query.compliance'],
    ['Query', 'atRiskDeadlines', 'query.deadlines'],
    ['Subscription', 'deadlineAlerts', 'subscribe.alerts'],
    ['Query', '__typename', 'query.schema'],
    ['Mutation', 'initiateHandover', 'mutation.command'],
    ['Mutation', 'erasePersonalData', 'admin.configuration'],
    ['Query', 'accessLog', 'audit.insight'],
    ['Query', 'accessLogEntries', 'audit.investigation'],
    ['Mutation', 'constructor', 'mutation.command'],
    ['Subscription', 'eventRecorded', 'subscribe.events'],
    ['Query', 'somethingNew', undefined],
    ['Query', 'constructor', undefined],
    ['Other', 'citizen', undefined],
  ])('%s.%s → %s', (root, field, operation) => {
    expect(operationOfGraphqlField(root, field)).toBe(operation);
  });
});

describe('citizen scope', () => {
  const event = (type: string, data: Record<string, unknown>) => ({ id: 'e', citizenId: 'c1', occurredAt: '2025-01-01T00:00:00Z', type, data }) as unknown as TransitionEvent;
  const history = [
    event('CitizenRegistered', { birthDate: '2010-01-01', municipality: '0751', disability: false }),
    event('CaseOpened', { caseId: 'k1', unitId: 'bf-myndighed' }),
    event('HandoverInitiated', { handoverId: 'h1', fromUnitId: 'bf-myndighed', toUnitId: 'ung-myndighed', kind: 'age' }),
    event('MeetingHeld', { meetingId: 'm1', kind: 'transition', unitIds: ['ppr'], citizenParticipated: true, relativesParticipated: false }),
  ];

  it('involved units: every unit any event names', () => {
    expect([...involvedUnitsOf(history)].sort()).toEqual(['bf-myndighed', 'ppr', 'ung-myndighed']);
  });

  it('a coordinator sees citizens their units are, were, or are being handed to; not others; unknown looks the same', () => {
    const units = involvedUnitsOf(history);
    expect(citizenInScope(scopeFor(as('coordinator', { units: ['bf-myndighed'] })), units)).toBe(true);
    expect(citizenInScope(scopeFor(as('coordinator', { units: ['ung-myndighed'] })), units)).toBe(true);
    expect(citizenInScope(scopeFor(as('coordinator', { units: ['voksen-myndighed'] })), units)).toBe(false);
    expect(citizenInScope(scopeFor(as('coordinator', { units: [] })), units)).toBe(false);
    expect(citizenInScope(scopeFor(as('administrator', { units: [] })), [])).toBe(true);

    const other = captured(() => assertCitizenInScope(scopeFor(as('coordinator', { units: ['voksen-myndighed'] })), units));
    const unknown = captured(() => assertCitizenInScope(scopeFor(as('coordinator', { units: ['voksen-myndighed'] })), []));
    expect(other).toBeInstanceOf(AuthorizationError);
    expect(other?.message).toBe(unknown?.message);
  });

  it('commands act only for the coordinator’s own units', () => {
    expect(() => assertActsForUnit(as('coordinator', { units: ['bf-myndighed'] }), 'bf-myndighed')).not.toThrow();
    expect(captured(() => assertActsForUnit(as('coordinator', { units: ['bf-myndighed'] }), 'ung-myndighed'))).toMatchObject({ reason: 'unit_out_of_scope' });
    expect(() => assertActsForUnit(as('administrator', { units: [] }), 'ung-myndighed')).not.toThrow();
  });
});

describe('integrator sources', () => {
  it('every event must name one of the principal’s sources; administrators post any', () => {
    const integrator = as('integrator', { sources: ['dubu', 'nexus'] });
    expect(checkEventSources(integrator, [{ source: 'dubu' }, { source: 'nexus' }])).toEqual([]);
    const refusals = checkEventSources(integrator, [{ source: 'dubu' }, { source: 'sbsys' }, {}, { source: null }]);
    expect(refusals.map((r) => r.index)).toEqual([1, 2, 3]);
    expect(JSON.stringify(refusals)).not.toContain('sbsys');
    expect(() => assertEventSources(integrator, [{ source: 'sbsys' }])).toThrow(expect.objectContaining({ reason: 'source_not_permitted' }));
    expect(checkEventSources(as('administrator'), [{}, { source: 'anything' }])).toEqual([]);
  });
});

describe('subscriptions', () => {
  const handover = { source: 'nexus', unitIds: ['bf-myndighed', 'ung-myndighed'] };
  it.each([
    ['administrator', {}, handover, true],
    ['integrator', { sources: ['nexus'], units: [] }, handover, true],
    ['integrator', { sources: ['dubu'], units: ['ung-myndighed'] }, handover, true],
    ['integrator', { sources: ['dubu'], units: [] }, handover, false],
    ['coordinator', { units: ['ung-myndighed'] }, handover, true],
    ['coordinator', { units: ['voksen-myndighed'] }, handover, false],
    ['coordinator', { units: ['ppr'] }, { source: null, unitIds: [], citizenUnitIds: ['ppr'] }, true],
    ['manager', { units: ['ung-myndighed'] }, handover, false],
  ] as const)('%s %j receives %j: %s', (role, claims, item, expected) => {
    expect(mayReceive(as(role, claims as { units?: string[]; sources?: string[] }), item)).toBe(expected);
  });
});

describe('aggregates', () => {
  it('suppresses cells of 1–4 citizens, keeps 0 and 5+', () => {
    expect([0, 1, 4, 5, 120].map((n) => suppressSmallCell(n))).toEqual([0, null, null, 5, 120]);
  });
  it('an edge is in a manager’s scope when either side is theirs', () => {
    const scope = scopeFor(as('manager', { units: ['ung-myndighed'] }));
    expect(aggregateInScope(scope, ['bf-myndighed', 'ung-myndighed'])).toBe(true);
    expect(aggregateInScope(scope, ['bf-myndighed', null])).toBe(false);
  });
});

describe('scope as SQL, run against SQLite', () => {
  const db = new Database(':memory:');
  db.exec(`CREATE TABLE handovers (citizen_id TEXT, from_unit TEXT);
           CREATE TABLE citizen_units (citizen_id TEXT, unit_id TEXT);
           INSERT INTO handovers VALUES ('c1', 'bf'), ('c2', 'ung'), ('c3', 'voksen');
           INSERT INTO citizen_units VALUES ('c1', 'bf'), ('c2', 'ung'), ('c2', 'bf'), ('c3', 'voksen');`);
  const citizens = (fragment: { sql: string; params: unknown[] }) =>
    db.prepare(`SELECT citizen_id FROM handovers h WHERE ${fragment.sql} ORDER BY 1`).pluck().all(...fragment.params);

  it('filters by the scope’s units with one bound parameter', () => {
    expect(citizens(citizenScopeSql({ allUnits: false, units: ['bf'] }, { citizenColumn: 'h.citizen_id' }))).toEqual(['c1', 'c2']);
    expect(citizens(unitScopeSql({ allUnits: false, units: ['ung', 'voksen'] }, 'h.from_unit'))).toEqual(['c2', 'c3']);
    expect(citizens(citizenScopeSql({ allUnits: true }, { citizenColumn: 'h.citizen_id' }))).toEqual(['c1', 'c2', 'c3']);
    expect(citizens(unitScopeSql({ allUnits: false, units: [] }, 'h.from_unit'))).toEqual([]);
  });

  it('a unit id is data, never SQL', () => {
    expect(citizens(unitScopeSql({ allUnits: false, units: ["bf') OR 1=1 --"] }, 'h.from_unit'))).toEqual([]);
    expect(() => unitScopeSql({ allUnits: false, units: ['bf'] }, 'from_unit; DROP TABLE handovers')).toThrow(TypeError);
  });

  it('PostgreSQL: an array parameter, numbered', () => {
    expect(unitScopeSql({ allUnits: false, units: ['a', 'b'] }, 'unit_id', 'postgres', 3)).toEqual({ sql: 'unit_id = ANY($3::text[])', params: [['a', 'b']] });
  });
});

function captured(fn: () => void): AuthorizationError | undefined {
  try {
    fn();
  } catch (error) {
    return error as AuthorizationError;
  }
  return undefined;
}

describe('scope as SQL with a named parameter (SQLite)', () => {
  const db = new Database(':memory:');
  db.exec(`CREATE TABLE handovers (citizen_id TEXT, from_unit TEXT);
           CREATE TABLE citizen_units (citizen_id TEXT, unit_id TEXT);
           INSERT INTO handovers VALUES ('c1', 'bf'), ('c2', 'ung'), ('c3', 'voksen');
           INSERT INTO citizen_units VALUES ('c1', 'bf'), ('c2', 'ung'), ('c2', 'bf'), ('c3', 'voksen');`);
  const citizens = (fragment: { sql: string; params: Record<string, string> }) =>
    db.prepare(`SELECT citizen_id FROM handovers h WHERE ${fragment.sql} AND h.citizen_id <> @nobody ORDER BY 1`).pluck().all({ nobody: 'x', ...fragment.params });

  it('filters as the positional form does, with the units as one named JSON parameter', () => {
    expect(citizens(citizenScopeSqliteNamed({ allUnits: false, units: ['bf'] }, { citizenColumn: 'h.citizen_id' }))).toEqual(['c1', 'c2']);
    expect(citizens(unitScopeSqliteNamed({ allUnits: false, units: ['ung', 'voksen'] }, 'h.from_unit'))).toEqual(['c2', 'c3']);
    expect(citizens(citizenScopeSqliteNamed({ allUnits: true }, { citizenColumn: 'h.citizen_id' }))).toEqual(['c1', 'c2', 'c3']);
    expect(citizens(citizenScopeSqliteNamed({ allUnits: false, units: [] }, { citizenColumn: 'h.citizen_id' }))).toEqual([]);
    expect(citizens(unitScopeSqliteNamed({ allUnits: false, units: ["bf') OR 1=1 --"] }, 'h.from_unit'))).toEqual([]);
    expect(() => unitScopeSqliteNamed({ allUnits: false, units: ['bf'] }, 'h.from_unit', 'x; DROP')).toThrow(TypeError);
    expect(scopeShape({ allUnits: true })).toBe('all');
    expect(scopeShape({ allUnits: false, units: [] })).toBe('none');
    expect(scopeShape({ allUnits: false, units: ['a'] })).toBe('units');
  });
});
