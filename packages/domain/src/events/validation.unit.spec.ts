import { describe, expect, it } from 'vitest';
import { validateEvent } from './validation.ts';
import { loadUnitsFile, DEMO_UNITS_FILE } from '../units/units.ts';

const units = loadUnitsFile(DEMO_UNITS_FILE);
const valid = {
  id: '6f1c2d1e-8a4b-4c7e-9d2a-1b2c3d4e5f60',
  type: 'CaseOpened',
  citizenId: 'c-42',
  occurredAt: '2025-03-01T09:30:00+01:00',
  source: 'dubu',
  data: { caseId: 'k-1', unitId: '0751-bf-myndighed' },
};
const errorsOf = (input: unknown) => {
  const result = validateEvent(input, units);
  if (result.ok) throw new Error('expected the event to be refused');
  return result.errors;
};

describe('validateEvent', () => {
  it('accepts a well-formed event and normalises the id', () => {
    const result = validateEvent({ ...valid, id: valid.id.toUpperCase() }, units);
    expect(result).toEqual({ ok: true, event: valid });
  });

  it('accepts UTC "Z" timestamps and drops unknown fields', () => {
    const result = validateEvent({ ...valid, occurredAt: '2025-03-01T08:30:00Z', extra: 1, data: { ...valid.data, note: 'x' } }, units);
    expect(result.ok && result.event).toEqual({ ...valid, occurredAt: '2025-03-01T08:30:00Z' });
  });

  it.each([
    ['unknown type', { ...valid, type: 'CaseReopened' }, 'type', /unknown event type/],
    ['missing field', { ...valid, data: { unitId: '0751-bf-myndighed' } }, 'data.caseId', /./],
    ['timestamp without offset', { ...valid, occurredAt: '2025-03-01T09:30:00' }, 'occurredAt', /offset/],
    ['unknown unit', { ...valid, data: { caseId: 'k', unitId: '0751-nowhere' } }, 'data.unitId', /unknown unit/],
    ['CPR-shaped citizenId', { ...valid, citizenId: '0101901234' }, 'citizenId', /CPR/],
    ['hyphenated CPR citizenId', { ...valid, citizenId: '010190-1234' }, 'citizenId', /./],
    ['CPR in free text', { ...valid, type: 'CaseClosed', data: { caseId: 'k', reason: 'se 010190-1234' } }, 'data.reason', /CPR/],
    ['id not a UUID', { ...valid, id: 'abc' }, 'id', /UUID/],
    ['data not an object', { ...valid, data: [] }, 'data', /object/],
    ['bad step', { ...valid, type: 'InterventionStarted', data: { interventionId: 'i', unitId: '0751-ppr', code: 'x', step: 7 } }, 'data.step', /./],
  ])('refuses %s, naming the field', (_name, input, field, message) => {
    const errors = errorsOf(input);
    expect(errors.map((e) => e.field)).toContain(field);
    expect(errors.find((e) => e.field === field)!.message).toMatch(message);
    expect(JSON.stringify(errors)).not.toMatch(/010190|0101901234/);
  });

  it('names both sides of a handover to unknown units', () => {
    const errors = errorsOf({ ...valid, type: 'HandoverInitiated', data: { handoverId: 'h', fromUnitId: 'x1', toUnitId: 'x2', kind: 'age' } });
    expect(errors.map((e) => e.field)).toEqual(['data.fromUnitId', 'data.toUnitId']);
  });

  it('refuses something that is not an object', () => {
    expect(errorsOf('nope')).toEqual([{ field: '(event)', message: 'must be a JSON object' }]);
    expect(errorsOf(null)[0]!.field).toBe('(event)');
  });
});
