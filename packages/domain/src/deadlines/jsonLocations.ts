/**
 * JSON with line numbers: a configuration file that fails validation must say on which line the bad
 * value stands (issue 3: "a bad policy file fails at start with the line and the reason").
 * `JSON.parse` keeps no positions, and no position-keeping parser is a dependency of this package,
 * so this is a small recursive-descent parser (RFC 8259) that records where every value starts,
 * keyed by its path. Duplicate keys are refused: in a configuration file the second silently winning
 * is always a mistake.
 */

export type JsonPath = readonly PropertyKey[];

/** 1-based line and column. */
export interface JsonLocation {
  line: number;
  column: number;
}

export class JsonSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = 'JsonSyntaxError';
  }
}

export interface LocatedJson {
  value: unknown;
  /**
   * Where the value at `path` starts; for a path that does not exist (a missing field), where its
   * nearest existing ancestor starts. An object's key is located at the key itself.
   */
  locate(path: JsonPath): JsonLocation;
}

const MAX_DEPTH = 256;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

const pathKey = (path: JsonPath): string => path.map(String).join('\u0000');

export function parseJsonWithLocations(text: string): LocatedJson {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const locationOf = (offset: number): JsonLocation => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - lineStarts[lo]! + 1 };
  };
  const fail = (offset: number, reason: string): never => {
    const { line, column } = locationOf(Math.min(offset, text.length));
    throw new JsonSyntaxError(line, column, reason);
  };

  const offsets = new Map<string, number>();
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;

  const skipWhitespace = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else return;
    }
  };
  const describe = (offset: number) => (offset >= text.length ? 'the end of the file' : JSON.stringify(text[offset]));

  const parseString = (): string => {
    const start = i;
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail(start, 'unterminated string');
      const c = text.charCodeAt(i);
      if (c === 34) break;
      if (c === 92) i += 2;
      else if (c < 0x20) fail(i, 'control character in a string (escape it)');
      else i++;
    }
    i++; // closing quote
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail(start, 'invalid escape in a string');
    }
  };

  const parseValue = (path: (string | number)[], depth: number): unknown => {
    if (depth > MAX_DEPTH) fail(i, `nesting deeper than ${MAX_DEPTH}`);
    skipWhitespace();
    offsets.set(pathKey(path), i);
    const c = text[i];
    if (c === '{') return parseObject(path, depth);
    if (c === '[') return parseArray(path, depth);
    if (c === '"') return parseString();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) return fail(i, 'invalid number');
      i += m[0].length;
      return Number(m[0]);
    }
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return value;
      }
    }
    return fail(i, `expected a value, found ${describe(i)}`);
  };

  const parseObject = (path: (string | number)[], depth: number): Record<string, unknown> => {
    const object: Record<string, unknown> = {};
    const seen = new Set<string>();
    i++;
    skipWhitespace();
    if (text[i] === '}') {
      i++;
      return object;
    }
    for (;;) {
      skipWhitespace();
      if (text[i] !== '"') fail(i, `expected a property name in double quotes, found ${describe(i)}`);
      const keyOffset = i;
      const key = parseString();
      if (seen.has(key)) fail(keyOffset, `duplicate key ${JSON.stringify(key)}`);
      seen.add(key);
      skipWhitespace();
      if (text[i] !== ':') fail(i, `expected ':' after a property name, found ${describe(i)}`);
      i++;
      const childPath = [...path, key];
      const value = parseValue(childPath, depth + 1);
      // Locate a property at its key: that is the line a reader looks for.
      offsets.set(pathKey(childPath), keyOffset);
      // defineProperty: a "__proto__" key stays an ordinary property, as with JSON.parse.
      Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
      skipWhitespace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return object;
      }
      fail(i, `expected ',' or '}' after a property, found ${describe(i)}`);
    }
  };

  const parseArray = (path: (string | number)[], depth: number): unknown[] => {
    const array: unknown[] = [];
    i++;
    skipWhitespace();
    if (text[i] === ']') {
      i++;
      return array;
    }
    for (;;) {
      array.push(parseValue([...path, array.length], depth + 1));
      skipWhitespace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return array;
      }
      fail(i, `expected ',' or ']' after an array element, found ${describe(i)}`);
    }
  };

  const value = parseValue([], 0);
  skipWhitespace();
  if (i < text.length) fail(i, `unexpected ${describe(i)} after the JSON value`);

  return {
    value,
    locate(path) {
      for (let n = path.length; n >= 0; n--) {
        const offset = offsets.get(pathKey(path.slice(0, n)));
        if (offset !== undefined) return locationOf(offset);
      }
      return { line: 1, column: 1 };
    },
  };
}
