import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, maskCpr, REDACT_CENSOR, serializeRequest } from './logger.ts';

/** A destination that keeps every line in memory. */
function memory() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  return { stream, lines, text: () => lines.join('\n'), json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const NAME = 'Karen Birgitte Jørgensen';
const CPR = '010190-1234';
const CPR_DIGITS = '0101901234';

const citizenRegistered = {
  id: '7d6b0a6e-0d4f-4a3c-9a55-3c1f6d1f2a10',
  type: 'CitizenRegistered',
  citizenId: 'c-000042',
  occurredAt: '2025-03-01T09:30:00+01:00',
  data: { birthDate: '1990-01-01', municipality: '0751', disability: false, personal: { name: NAME, cpr: CPR } },
};

describe('createLogger', () => {
  it('never writes a name or CPR number from an event, at any depth', () => {
    const out = memory();
    const log = createLogger({ destination: out.stream, level: 'trace', service: 'test' });
    log.info({ event: citizenRegistered }, 'stored');
    log.info(citizenRegistered, 'top level');
    log.info({ body: { events: [citizenRegistered, citizenRegistered] } }, 'request body');
    log.info({ batch: { request: { body: { events: [citizenRegistered] } } } }, 'deep');
    log.warn({ citizen: { name: NAME, cpr: CPR_DIGITS } }, 'lookup');
    log.child({ personal: { name: NAME } }).info('child bindings');
    log.error({ cpr: CPR, name: NAME }, 'top-level personal fields');

    const text = out.text();
    expect(out.lines).toHaveLength(7);
    for (const secret of [NAME, 'Karen', 'Jørgensen', CPR, CPR_DIGITS]) expect(text).not.toContain(secret);
    const [first, second, third] = out.json();
    expect(first).toMatchObject({ service: 'test', level: 'info', msg: 'stored', event: { citizenId: 'c-000042', data: { personal: REDACT_CENSOR, birthDate: '1990-01-01' } } });
    expect(second).toMatchObject({ data: { personal: REDACT_CENSOR } });
    expect(third).toMatchObject({ body: { events: [{ data: { personal: REDACT_CENSOR } }, { data: { personal: REDACT_CENSOR } }] } });
  });

  it('masks a CPR number written into a message or a free-text field', () => {
    const out = memory();
    const log = createLogger({ destination: out.stream });
    log.info({ event: { data: { reason: `sag vedr. ${CPR} flyttet` } } }, `handover for ${CPR_DIGITS} rejected`);
    log.info('journal 010190 1234');
    expect(out.text()).not.toMatch(/0101901234|010190-1234|010190 1234/);
    expect(out.json()[0]).toMatchObject({ msg: 'handover for [cpr] rejected', event: { data: { reason: 'sag vedr. [cpr] flyttet' } } });
  });

  it('redacts secrets such as the authorization header and tokens', () => {
    const out = memory();
    const log = createLogger({ destination: out.stream });
    log.info({ req: { headers: { authorization: 'Bearer eyJhbGciOi.secret', cookie: 'sid=abc' } }, auth: { token: 'tok-123', clientSecret: 'shh' } });
    expect(out.text()).not.toMatch(/eyJhbGciOi|sid=abc|tok-123|shh/);
  });

  it('redacts at any depth, in any case, in errors, in grandchildren’s bindings, and survives cycles', () => {
    const out = memory();
    const log = createLogger({ destination: out.stream });
    let deep: Record<string, unknown> = { personal: { name: NAME } };
    for (let i = 0; i < 12; i++) deep = { level: deep };
    log.info({ deep }, 'twelve levels down');
    log.info({ headers: { Authorization: 'Bearer eyJhbGciOi.secret', 'X-Api-Key': 'k-123', 'Set-Cookie': 'sid=abc' } }, 'headers as sent');
    const error = Object.assign(new Error('refused'), { details: { cpr: CPR, name: NAME } });
    log.error({ err: error }, 'an error with personal fields');
    log.error(error, 'an error as the first argument');
    log.info({ nested: { cause: error } }, 'an error inside an object');
    log.child({ request: { citizen: { name: NAME } } }).child({ personal: { cpr: CPR } }).info('grandchild');
    const cyclic: Record<string, unknown> = { citizenId: 'c-1', personal: { name: NAME } };
    cyclic.self = cyclic;
    log.info({ cyclic }, 'cycle');

    const text = out.text();
    expect(out.lines).toHaveLength(7);
    for (const secret of [NAME, CPR, 'eyJhbGciOi', 'k-123', 'sid=abc']) expect(text).not.toContain(secret);
    const lines = out.json();
    expect(lines[2]).toMatchObject({ err: { message: 'refused', details: { cpr: REDACT_CENSOR, name: REDACT_CENSOR } } });
    expect(lines[3]).toMatchObject({ err: { message: 'refused', type: 'Error' } });
    expect(lines[6]).toMatchObject({ cyclic: { citizenId: 'c-1', personal: REDACT_CENSOR, self: '[Circular]' } });
  });

  it('leaves what it does not redact untouched and logs requests by method and path only', () => {
    const out = memory();
    const log = createLogger({ destination: out.stream });
    const logged = { citizenId: 'c-1', at: new Date('2025-03-01T08:30:00Z'), count: 3, tags: ['a', 'b'] };
    log.info({ logged, req: { method: 'GET', url: '/graphql?q=1', headers: { host: 'x' } }, res: { statusCode: 200, body: 'secret' } }, 'plain');
    expect(out.json()[0]).toMatchObject({ logged: { citizenId: 'c-1', at: '2025-03-01T08:30:00.000Z', count: 3, tags: ['a', 'b'] }, req: { method: 'GET', path: '/graphql' }, res: { statusCode: 200 } });
    expect(out.text()).not.toContain('secret');
    expect(logged).toEqual({ citizenId: 'c-1', at: new Date('2025-03-01T08:30:00Z'), count: 3, tags: ['a', 'b'] }); // not mutated
  });

  it('honours the level', () => {
    const out = memory();
    const log = createLogger({ destination: out.stream, level: 'warn' });
    log.info('quiet');
    log.warn('loud');
    expect(out.json().map((l) => l.msg)).toEqual(['loud']);
  });
});

describe('serializeRequest', () => {
  it('keeps method and path and drops the query string', () => {
    expect(serializeRequest({ method: 'GET', url: '/v1/citizens/c-42?cpr=0101901234&q=name' })).toEqual({
      method: 'GET',
      path: '/v1/citizens/c-42',
    });
  });

  it('masks a CPR number put into the path by mistake', () => {
    expect(serializeRequest({ method: 'GET', url: '/v1/citizens/010190-1234' }).path).toBe('/v1/citizens/[cpr]');
  });
});

describe('maskCpr', () => {
  it.each([
    ['0101901234', '[cpr]'],
    ['x 010190-1234 y', 'x [cpr] y'],
    ['3213901234', '3213901234'], // month 13: not a date
    ['90101901234567', '90101901234567'], // part of a longer number
    ['2025-03-01T09:30:00.000Z', '2025-03-01T09:30:00.000Z'],
  ])('%s → %s', (input, expected) => {
    expect(maskCpr(input)).toBe(expected);
  });
});
