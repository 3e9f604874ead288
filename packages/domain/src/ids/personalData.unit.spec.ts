import { describe, expect, it } from 'vitest';
import { containsCpr, isCprShaped, isPossibleCprDate } from './personalData.ts';

describe('CPR detection', () => {
  it.each([
    ['010190-1234', true],
    ['0101901234', true],
    ['2902001234', true],
    ['3102901234', false], // no 31 February
    ['3213901234', false], // no month 13
    ['123456-7890', true], // hyphenated form refused whatever the date
    ['c-0101901234', false], // whole-id rule: not the whole value
    ['citizen-42', false],
    ['12345678901', false],
  ])('isCprShaped(%s) = %s', (value, expected) => {
    expect(isCprShaped(value)).toBe(expected);
  });

  it('finds a CPR inside free text but not inside a longer number', () => {
    expect(containsCpr('sag vedr. 010190-1234 flyttet')).toBe(true);
    expect(containsCpr('ring 0101901234')).toBe(true);
    expect(containsCpr('journal 010190 1234')).toBe(true);
    expect(containsCpr('ordre 90101901234567')).toBe(false);
    expect(containsCpr('completed')).toBe(false);
  });

  it('knows which dates are possible', () => {
    expect(isPossibleCprDate('290200')).toBe(true);
    expect(isPossibleCprDate('310400')).toBe(false);
    expect(isPossibleCprDate('000190')).toBe(false);
  });
});
