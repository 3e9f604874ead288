import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'graphql';
import { Repeater } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { AuthenticationError, AuthorizationError, createPrincipal } from '@tracker/security';
import { filterStream, grantsFor, purposeOf, untilExpiry } from './authorization.ts';
import { loadPersistedOperations, PersistedOperationsFileError } from './hardening.ts';

const coordinator = createPrincipal({ subject: 's', roles: ['coordinator'], units: ['u1'] });

describe('grantsFor: every root field, through fragments', () => {
  it('grants each field its operation with the scope', () => {
    const grants = grantsFor(coordinator, parse('{ citizen(id: "c") { id } handovers { totalCount } __typename }'), undefined);
    expect([...grants.keys()].sort()).toEqual(['query.citizen', 'query.handovers', 'query.schema']);
    expect(grants.get('query.citizen')).toMatchObject({ role: 'coordinator', scope: { allUnits: false, units: ['u1'] }, audited: true });
  });

  it.each([
    ['an inline fragment', '{ ... on Query { flows { count } } }'],
    ['a fragment spread', 'query { ...A } fragment A on Query { ...B } fragment B on Query { accessLog(citizenId: "c") { at } }'],
    ['a skipped field', '{ units { id } flows @skip(if: true) { count } }'],
    ['a cycle of fragments next to a refused field', 'query { ...A } fragment A on Query { ...A flows { count } }'],
  ])('refuses a forbidden field reached through %s', (_, query) => {
    expect(() => grantsFor(coordinator, parse(query), undefined)).toThrow(AuthorizationError);
  });

  it('refuses a root field the policy does not map, and a missing principal', () => {
    expect(() => grantsFor(coordinator, parse('{ somethingNew }'), undefined)).toThrow(expect.objectContaining({ reason: 'operation_not_permitted' }));
    expect(() => grantsFor(undefined, parse('{ units { id } }'), undefined)).toThrow(AuthenticationError);
  });

  it('judges the operation that runs, by name', () => {
    const document = parse('query Mine { units { id } } query Theirs { flows { count } }');
    expect([...grantsFor(coordinator, document, 'Mine').keys()]).toEqual(['query.units']);
    expect(() => grantsFor(coordinator, document, 'Theirs')).toThrow(AuthorizationError);
  });
});

describe('purposeOf (X-Purpose)', () => {
  it.each([
    [undefined, null],
    ['  ', null],
    ['sag 2025-117', 'sag 2025-117'],
    [encodeURIComponent('Visitationsmøde'), 'Visitationsmøde'],
    ['sag om 010190-1234', undefined],
    ['x'.repeat(501), undefined],
    ['%E0%A4%A', undefined],
    ['line\nbreak', undefined],
  ])('%j → %j', (header, expected) => {
    expect(purposeOf({ headers: header === undefined ? {} : { 'x-purpose': header } })).toBe(expected);
  });
  it('refuses the header given twice', () => {
    expect(purposeOf({ headers: { 'x-purpose': ['a', 'b'] } })).toBeUndefined();
  });
});

describe('live streams', () => {
  /** Lets the streams' executors run (they start on the first `next()`, asynchronously). */
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  const source = () => {
    let push: (n: number) => Promise<unknown> = async () => {};
    let returned = false;
    const repeater = new Repeater<number>(async (p, stop) => {
      push = p;
      await stop;
      returned = true;
    });
    return { repeater, push: (n: number) => push(n), returned: () => returned };
  };

  it('untilExpiry ends with the expiry value at once when the token has already expired, and returns its source', async () => {
    const s = source();
    const stream = untilExpiry(s.repeater, new Date(1000), () => -1, () => 2000);
    expect(await stream.next()).toEqual({ value: -1, done: false });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    await tick();
    expect(s.returned()).toBe(true);
  });

  it('untilExpiry passes values before the expiry, and returns its source when the client leaves', async () => {
    const s = source();
    const stream = untilExpiry(s.repeater, new Date(Date.now() + 60_000), () => -1);
    const first = stream.next();
    await tick();
    void s.push(7);
    expect(await first).toEqual({ value: 7, done: false });
    await stream.return!(undefined);
    await tick();
    expect(s.returned()).toBe(true);
  });

  it('filterStream keeps what the asynchronous check keeps, in order', async () => {
    const s = source();
    const stream = filterStream(s.repeater, async (n) => n % 2 === 0);
    const got = (async () => [(await stream.next()).value, (await stream.next()).value])();
    await tick();
    for (const n of [1, 2, 3, 4]) void s.push(n);
    expect(await got).toEqual([2, 4]);
    await stream.return!(undefined);
    await tick();
    expect(s.returned()).toBe(true);
  });
});

describe('persisted operations file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'persisted-'));
  const write = (content: string) => {
    const file = join(dir, `${Math.random()}.json`);
    writeFileSync(file, content);
    return file;
  };
  it('reads operations keyed by their SHA-256', () => {
    const document = '{ units { id } }';
    const hash = createHash('sha256').update(document).digest('hex');
    expect(loadPersistedOperations(write(JSON.stringify({ [hash]: document })))).toEqual(new Map([[hash, document]]));
  });
  it.each([['not json'], ['[]'], [JSON.stringify({ abc: '{ units { id } }' })], [JSON.stringify({ ['0'.repeat(64)]: '{ units { id } }' })]])('refuses %s', (content) => {
    expect(() => loadPersistedOperations(write(content))).toThrow(PersistedOperationsFileError);
  });
  it('cleans up', () => rmSync(dir, { recursive: true, force: true }));
});
