import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { JsonSyntaxError, parseJsonWithLocations } from './jsonLocations.ts';

const syntaxError = (text: string): JsonSyntaxError => {
  try {
    parseJsonWithLocations(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error;
    throw error;
  }
  throw new Error('parsed without an error');
};

describe('JSON with locations', () => {
  it('parses what JSON.parse parses, to the same value', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(parseJsonWithLocations(text).value).toEqual(JSON.parse(text));
      }),
    );
    for (const text of ['{"a":[1,-2.5e3,true,false,null,"x\\n\\u00e6"]}', ' \n"ø" ', '\uFEFF{}', '[[[]]]', '{"__proto__": 1}']) {
      expect(parseJsonWithLocations(text).value).toEqual(JSON.parse(text.replace(/^\uFEFF/, '')));
    }
  });

  it('keeps "__proto__" an ordinary key', () => {
    const value = parseJsonWithLocations('{"__proto__": {"polluted": true}}').value as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('locates values by path, properties at their key, missing paths at the nearest ancestor', () => {
    const text = ['{', '  "policies": [', '    { "id": "a",', '      "limit": { "amount": 3 } }', '  ]', '}'].join('\n');
    const { locate } = parseJsonWithLocations(text);
    expect(locate([])).toEqual({ line: 1, column: 1 });
    expect(locate(['policies'])).toEqual({ line: 2, column: 3 });
    expect(locate(['policies', 0])).toEqual({ line: 3, column: 5 });
    expect(locate(['policies', 0, 'id'])).toEqual({ line: 3, column: 7 });
    expect(locate(['policies', 0, 'limit', 'amount'])).toEqual({ line: 4, column: 18 });
    expect(locate(['policies', 0, 'limit', 'unit'])).toEqual({ line: 4, column: 7 });
    expect(locate(['nothing', 'here'])).toEqual({ line: 1, column: 1 });
  });

  it('reports syntax errors with line and column', () => {
    expect(syntaxError('{\n  "a": 1,\n  "b": 2,\n}')).toMatchObject({ line: 4, column: 1 });
    expect(syntaxError('{\n  "a": 1\n  "b": 2\n}')).toMatchObject({ line: 3, column: 3, reason: expect.stringContaining("expected ',' or '}'") });
    expect(syntaxError('[1, 2,, 3]')).toMatchObject({ line: 1, column: 7 });
    expect(syntaxError('{"a": "unterminated}')).toMatchObject({ line: 1, column: 7, reason: 'unterminated string' });
    expect(syntaxError('{"a": tru}')).toMatchObject({ line: 1, column: 7 });
    expect(syntaxError('{"a": 01}').reason).toContain("expected ',' or '}'");
    expect(syntaxError('{} {}')).toMatchObject({ line: 1, column: 4 });
    expect(syntaxError('')).toMatchObject({ line: 1, column: 1, reason: 'expected a value, found the end of the file' });
    expect(syntaxError('{"a": "x\ty"}').reason).toContain('control character');
    expect(syntaxError('{"a": "\\q"}').reason).toBe('invalid escape in a string');
  });

  it('refuses duplicate keys at the second one', () => {
    expect(syntaxError('{\n "id": 1,\n "id": 2\n}')).toMatchObject({ line: 3, column: 2, reason: 'duplicate key "id"' });
  });

  it('refuses nesting deep enough to overflow the stack', () => {
    expect(syntaxError('['.repeat(10_000)).reason).toContain('nesting deeper');
  });
});
