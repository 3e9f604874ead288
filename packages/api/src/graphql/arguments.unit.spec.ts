import { describe, expect, it } from 'vitest';
import { DEMO_UNITS_FILE, loadUnitsFile } from '@tracker/domain';
import { MAX_PAGE_SIZE, asOfArgument, citizenIdArgument, decodeCursor, encodeCursor, pageArguments, unitIdArgument } from './arguments.ts';

const now = () => new Date('2025-03-03T09:00:00Z');
const NOW_MS = Date.parse('2025-03-03T09:00:00Z');
const units = loadUnitsFile(DEMO_UNITS_FILE);

/** The error thrown, as a client would see its message and extensions. */
function refusal(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    return { message: (error as Error).message, extensions: (error as { extensions?: unknown }).extensions };
  }
  throw new Error('expected a refusal');
}

describe('citizen ids', () => {
  it('takes pseudonymous ids and refuses CPR-shaped ones without echoing them', () => {
    expect(citizenIdArgument('c-0101901234', 'id')).toBe('c-0101901234');
    for (const cpr of ['0101901234', '010190-1234']) {
      const { message, extensions } = refusal(() => citizenIdArgument(cpr, 'citizenId'));
      expect(message).toBe('Invalid citizenId: must be pseudonymous, not shaped like a CPR number');
      expect(extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'citizenId' });
    }
    expect(refusal(() => citizenIdArgument('has space', 'id')).message).toMatch(/^Invalid id: must be 1–64 characters/);
  });
});

describe('unit ids', () => {
  it('takes configured units only', () => {
    expect(unitIdArgument('0751-ppr', 'unitId', units)).toBe('0751-ppr');
    expect(refusal(() => unitIdArgument('0751-pp', 'unitId', units))).toEqual({
      message: 'Invalid unitId: is not a configured unit; units come from the units configuration',
      extensions: { code: 'BAD_USER_INPUT', field: 'unitId' },
    });
  });
});

describe('asOf', () => {
  it('defaults to the clock and keeps the offset of what was sent', () => {
    expect(asOfArgument(undefined, now)).toBe(NOW_MS);
    expect(asOfArgument(null, now)).toBe(NOW_MS);
    expect(asOfArgument('2025-03-03T10:00:00+01:00', now)).toBe(NOW_MS);
  });
});

describe('cursors', () => {
  it('round-trip and are opaque', () => {
    const cursor = encodeCursor({ index: 41, asOf: NOW_MS });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursor).not.toContain('41');
    expect(decodeCursor(cursor)).toEqual({ index: 41, asOf: NOW_MS });
    expect(decodeCursor(encodeCursor({ index: 0, asOf: -86_400_000 }))).toEqual({ index: 0, asOf: -86_400_000 });
  });

  it('refuse anything this API did not make', () => {
    const cursor = encodeCursor({ index: 3, asOf: NOW_MS });
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    for (const bad of ['', 'garbage!', `${cursor}=`, cursor.slice(0, -2), b64('handover:v1:-1:0'), b64('handover:v1:01:0'), b64('handover:v2:1:0'), b64('gap:v1:1:0'), b64('handover:v1:1:1e3'), 'x'.repeat(65)]) {
      expect(decodeCursor(bad), bad).toBeUndefined();
    }
  });
});

describe('page arguments', () => {
  it('default to 50 from the start at the clock\'s now', () => {
    expect(pageArguments({}, now)).toEqual({ first: 50, offset: 0, asOf: NOW_MS });
    expect(pageArguments({ first: 0 }, now)).toEqual({ first: 0, offset: 0, asOf: NOW_MS });
    expect(pageArguments({ first: MAX_PAGE_SIZE, asOf: '2025-01-01T00:00:00Z' }, now)).toEqual({ first: 500, offset: 0, asOf: Date.parse('2025-01-01T00:00:00Z') });
  });

  it('refuse more than 500 and negative sizes', () => {
    expect(refusal(() => pageArguments({ first: 501 }, now)).extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
    expect(refusal(() => pageArguments({ first: -1 }, now)).message).toBe('Invalid first: must not be negative');
  });

  it('continue after a cursor at the cursor\'s asOf', () => {
    const asOf = Date.parse('2024-12-31T23:00:00Z');
    const after = encodeCursor({ index: 9, asOf });
    expect(pageArguments({ first: 10, after }, now)).toEqual({ first: 10, offset: 10, asOf });
    expect(pageArguments({ after, asOf: '2025-01-01T00:00:00+01:00' }, now)).toEqual({ first: 50, offset: 10, asOf });
    expect(refusal(() => pageArguments({ after, asOf: '2025-01-01T00:00:00Z' }, now)).extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    expect(refusal(() => pageArguments({ after: 'nope' }, now)).message).toBe('Invalid after: is not a cursor of this connection; pass an endCursor from a previous page');
  });
});
