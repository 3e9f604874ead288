import { describe, expect, it } from 'vitest';
import { valueFreeReason } from './inputErrorsPlugin.ts';
import { INSTANT_EXPECTATION } from './scalars.ts';

const CPR = '0101901234';
const reason = (message: string) => valueFreeReason(new Error(message));

describe('value-free reasons', () => {
  it('cut the value off what graphql-js says about it', () => {
    expect(reason(`Int cannot represent non-integer value: "${CPR}"`)).toBe('Int cannot represent non-integer value');
    expect(reason(`Int cannot represent non 32-bit signed integer value: ${CPR}0`)).toBe('Int cannot represent non 32-bit signed integer value');
    expect(reason(`String cannot represent a non string value: ${CPR}`)).toBe('String cannot represent a non string value');
    expect(reason(`ID cannot represent value: { a: "${CPR}" }`)).toBe('ID cannot represent value');
    expect(reason(`Enum "HandoverStatus" cannot represent non-string value: ${CPR}.`)).toBe('must be a value of enum HandoverStatus');
    expect(reason(`Value "X${CPR}" does not exist in "HandoverStatus" enum. Did you mean the enum value "PENDING"?`)).toBe('must be a value of enum HandoverStatus');
    expect(reason(`Expected value of type "Int", found "${CPR}".`)).toBe('must be a value of type Int');
    expect(reason(`Expected type "Int". ${CPR}`)).toBe('must be a value of type Int');
  });

  it('keep value-free expectations and the scalars\' own messages', () => {
    for (const message of [
      'Field "caseId" of required type "ID!" was not provided.',
      'Field "foo" is not defined by type "OpenCaseInput".',
      'Field "foo" is not defined by type "OpenCaseInput". Did you mean "caseId"?',
      'Expected type "OpenCaseInput" to be an object.',
      INSTANT_EXPECTATION,
    ]) {
      expect(reason(message)).toBe(message);
    }
  });

  it('say nothing specific about anything else', () => {
    expect(reason(`something new quoting ${CPR}`)).toBe('is not a valid value');
    expect(valueFreeReason(undefined)).toBe('is not a valid value');
  });
});
