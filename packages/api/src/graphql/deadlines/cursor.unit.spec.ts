import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeDeadlineCursor, encodeDeadlineCursor } from './cursor.ts';

describe('deadline cursors', () => {
  it('round-trip every key', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer(), fc.string({ maxLength: 64 }), fc.string({ maxLength: 200 }), (asOf, dueMs, citizenId, clockId) => {
        const cursor = { asOf, dueMs, citizenId, clockId };
        expect(decodeDeadlineCursor(encodeDeadlineCursor(cursor))).toEqual(cursor);
      }),
    );
  });

  it('refuses anything it did not make', () => {
    const good = encodeDeadlineCursor({ asOf: 1, dueMs: 2, citizenId: 'c', clockId: 'p:k' });
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
    for (const bad of ['', 'x'.repeat(601), 'not base64!', b64('handover:v1:0:1'), b64('deadline:v1:[1,2,"c"]'), b64('deadline:v1:[1.5,2,"c","k"]'), b64('deadline:v1:{'), `${good}A`]) {
      expect(decodeDeadlineCursor(bad)).toBeUndefined();
    }
  });
});
