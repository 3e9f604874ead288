import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEMO_UNITS_FILE, loadUnitsFile } from '@tracker/domain';
import { SqliteEventStore, type EventStore } from '@tracker/event-store';
import { createLogger } from '@tracker/platform';
import { createAuthenticator } from '@tracker/security';
import { authPlugin } from '../auth/authPlugin.ts';
import { ingestionPlugin, type IngestionPluginOptions } from './ingestionPlugin.ts';

/** These tests are about ingestion itself: every request acts, explicitly, as the development administrator. */
const developmentAuth = { authenticator: createAuthenticator({ mode: 'development' }) };

const units = loadUnitsFile(DEMO_UNITS_FILE);
const RECEPTION = '0751-modtagelse';
const CHILD = '0751-bf-myndighed';

const CPR = '010190-1234';
const CPR_DIGITS = '0101901234';
const NAME = 'Karen Birgitte Jørgensen';
/** Nothing the server writes (answers or logs) may contain any of these. */
const PERSONAL = [CPR, CPR_DIGITS, '010190 1234', NAME];

const logLines: string[] = [];
const logStream = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    logLines.push(chunk.toString('utf8'));
    callback();
  },
});

const BODY_LIMIT = 16 * 1024;
const MAX_EVENTS = 5;

interface Harness {
  app: FastifyInstance;
  store: EventStore;
  post(payload: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => {
  const logs = logLines.join('');
  expect(logs.length).toBeGreaterThan(0);
  for (const value of PERSONAL) expect(logs).not.toContain(value);
});

async function harness(overrides: Partial<IngestionPluginOptions> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'tracker-ingestion-'));
  const store = await SqliteEventStore.open({ file: join(dir, 'events.sqlite') });
  // Widened to fastify's logger type so `app` is a plain FastifyInstance.
  const logger: FastifyBaseLogger = createLogger({ destination: logStream, level: 'debug' });
  const app = Fastify({ loggerInstance: logger });
  cleanups.push(async () => {
    await app.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  await app.register(authPlugin, developmentAuth);
    await app.register(ingestionPlugin, { store, units, bodyLimitBytes: BODY_LIMIT, maxEventsPerRequest: MAX_EVENTS, ...overrides });
  await app.ready();
  const post = (payload: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    app.inject({ method: 'POST', url: '/v1/events', headers, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
  return { app, store, post };
}

const envelope = (type: string, data: Record<string, unknown>, citizenId = 'c-000042') => ({
  id: randomUUID(),
  type,
  citizenId,
  occurredAt: '2025-03-01T09:30:00+01:00',
  source: 'dubu',
  data,
});

const registered = (citizenId = 'c-000042') =>
  envelope('CitizenRegistered', { birthDate: '2008-04-11', municipality: '0751', disability: false, personal: { name: NAME, cpr: CPR } }, citizenId);
const caseOpened = (unitId = CHILD) => envelope('CaseOpened', { caseId: `case-${randomUUID()}`, unitId });
const handoverInitiated = () =>
  envelope('HandoverInitiated', { handoverId: 'h-1', fromUnitId: RECEPTION, toUnitId: CHILD, kind: 'referral' });

interface ErrorBody {
  error: string;
  errors: { index: number | null; field: string; message: string }[];
}

/** 400, the documented shape, nothing personal echoed, nothing stored. */
async function expectRefused(h: Harness, res: LightMyRequestResponse, expected: { index: number | null; field: string; message?: string | RegExp }[]) {
  expect(res.statusCode).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  for (const value of PERSONAL) expect(res.body).not.toContain(value);
  const body = res.json<ErrorBody>();
  expect(body.error).toBe(expected.some((e) => e.index !== null) ? 'invalid events' : 'invalid request');
  expect(body.errors.map(({ index, field }) => ({ index, field }))).toEqual(expected.map(({ index, field }) => ({ index, field })));
  expected.forEach((e, i) => {
    if (e.message !== undefined) expect(body.errors[i]!.message).toMatch(e.message);
  });
  for (const e of body.errors) expect(Object.keys(e).sort()).toEqual(['field', 'index', 'message']);
  expect(await h.store.headPosition()).toBe(0);
  return body;
}

describe('POST /v1/events stores good batches', () => {
  it('stores a good batch, readable from the store in order', async () => {
    const h = await harness();
    const events = [registered(), caseOpened(), handoverInitiated(), caseOpened(RECEPTION)];
    const res = await h.post({ events });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ appended: 4, duplicates: 0 });
    expect(await h.store.headPosition()).toBe(4);
    const stream = await h.store.readStream('c-000042');
    expect(stream.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(stream[1]).toMatchObject({ type: 'CaseOpened', data: events[1]!.data, streamVersion: 1, globalPosition: 2 });
    for (const value of PERSONAL) expect(res.body).not.toContain(value);
  });

  it('accepts application/json with charset utf-8', async () => {
    const h = await harness();
    const res = await h.post({ events: [caseOpened()] }, { 'content-type': 'application/json; charset=UTF-8' });
    expect(res.json()).toEqual({ appended: 1, duplicates: 0 });
  });

  it('reports a repeated batch as duplicates, not errors', async () => {
    const h = await harness();
    const events = [registered(), caseOpened()];
    expect((await h.post({ events })).json()).toEqual({ appended: 2, duplicates: 0 });
    const again = await h.post({ events });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ appended: 0, duplicates: 2 });
    const mixed = await h.post({ events: [events[0], caseOpened()] });
    expect(mixed.json()).toEqual({ appended: 1, duplicates: 1 });
    expect(await h.store.headPosition()).toBe(3);
  });

  it('counts an id repeated inside one request (in any letter case) as a duplicate', async () => {
    const h = await harness();
    const first = caseOpened();
    const res = await h.post({ events: [first, { ...first, id: first.id.toUpperCase() }, caseOpened()] });
    expect(res.json()).toEqual({ appended: 2, duplicates: 1 });
    expect(await h.store.headPosition()).toBe(2);
  });
});

describe('POST /v1/events refuses bad events: 400, per-event errors, nothing stored', () => {
  it('an unknown event type', async () => {
    const h = await harness();
    const body = await expectRefused(h, await h.post({ events: [envelope('CitizenTeleported', {})] }), [
      { index: 0, field: 'type', message: /unknown event type/ },
    ]);
    expect(body.errors[0]!.message).not.toContain('CitizenTeleported');
  });

  it('a missing field', async () => {
    const h = await harness();
    await expectRefused(h, await h.post({ events: [envelope('CaseOpened', { unitId: CHILD })] }), [
      { index: 0, field: 'data.caseId', message: 'is required' },
    ]);
  });

  it('a missing envelope field', async () => {
    const h = await harness();
    const { citizenId: _, ...withoutCitizen } = caseOpened();
    await expectRefused(h, await h.post({ events: [withoutCitizen] }), [{ index: 0, field: 'citizenId', message: 'is required' }]);
  });

  it('a timestamp without an offset', async () => {
    const h = await harness();
    await expectRefused(h, await h.post({ events: [{ ...caseOpened(), occurredAt: '2025-03-01T09:30:00' }] }), [
      { index: 0, field: 'occurredAt', message: /offset/ },
    ]);
  });

  it('an unknown unit, without echoing the unit id', async () => {
    const h = await harness();
    const body = await expectRefused(h, await h.post({ events: [caseOpened('0751-bf-myndihed')] }), [
      { index: 0, field: 'data.unitId', message: /unknown unit/ },
    ]);
    expect(body.errors[0]!.message).not.toContain('myndihed');
  });

  it('a CPR number given as a unit id', async () => {
    const h = await harness();
    await expectRefused(h, await h.post({ events: [caseOpened(CPR_DIGITS)] }), [{ index: 0, field: 'data.unitId' }]);
  });

  it.each([CPR_DIGITS, CPR])('a CPR-shaped citizenId (%s)', async (cpr) => {
    const h = await harness();
    await expectRefused(h, await h.post({ events: [{ ...caseOpened(), citizenId: cpr }] }), [
      { index: 0, field: 'citizenId', message: /pseudonymous|must be/ },
    ]);
  });

  it('a CPR-shaped relativeId', async () => {
    const h = await harness();
    await expectRefused(h, await h.post({ events: [envelope('RelativeLinked', { relativeId: CPR_DIGITS, relation: 'parent', custody: true })] }), [
      { index: 0, field: 'data.relativeId' },
    ]);
  });

  it.each([
    ['HandoverRejected', { handoverId: 'h-1', reason: `borgeren ${CPR} er flyttet` }, 'data.reason'],
    ['CaseClosed', { caseId: 'case-1', reason: `cpr ${CPR_DIGITS}` }, 'data.reason'],
    ['NotificationReceived', { notificationId: 'n-1', unitId: RECEPTION, notifier: 'private', reason: 'ring 010190 1234' }, 'data.reason'],
  ])('a CPR inside a free-text field (%s)', async (type, data, field) => {
    const h = await harness();
    await expectRefused(h, await h.post({ events: [envelope(type, data)] }), [{ index: 0, field, message: 'must not contain a CPR number' }]);
  });

  it('one bad event among good ones refuses the whole batch, naming only the bad one', async () => {
    const h = await harness();
    const events = [registered(), caseOpened(), { ...caseOpened(), citizenId: CPR }, handoverInitiated()];
    await expectRefused(h, await h.post({ events }), [{ index: 2, field: 'citizenId' }]);
  });

  it('several bad events: one entry per problem, each with its index', async () => {
    const h = await harness();
    const events = [caseOpened('0751-nowhere'), registered(), envelope('CaseOpened', {}), 42];
    await expectRefused(h, await h.post({ events }), [
      { index: 0, field: 'data.unitId' },
      { index: 2, field: 'data.caseId' },
      { index: 2, field: 'data.unitId' },
      { index: 3, field: '(event)', message: 'must be a JSON object' },
    ]);
  });

  it('a repeat of an already stored event next to a bad one still stores nothing', async () => {
    const h = await harness();
    const stored = caseOpened();
    expect((await h.post({ events: [stored] })).statusCode).toBe(200);
    const res = await h.post({ events: [stored, caseOpened('nowhere')] });
    expect(res.statusCode).toBe(400);
    expect(res.json<ErrorBody>().errors).toEqual([{ index: 1, field: 'data.unitId', message: expect.any(String) }]);
    expect(await h.store.headPosition()).toBe(1);
  });
});

describe('POST /v1/events refuses malformed requests: 400, index null, nothing stored', () => {
  it('malformed JSON (with a CPR inside), without echoing the body', async () => {
    const h = await harness();
    const truncated = `{"events": [{"type": "CitizenRegistered", "data": {"personal": {"cpr": "${CPR}", "name": "${NAME}"`;
    await expectRefused(h, await h.post(truncated), [{ index: null, field: '(body)', message: 'request body is not valid JSON' }]);
  });

  it('an empty body', async () => {
    const h = await harness();
    await expectRefused(h, await h.post(''), [{ index: null, field: '(body)', message: /empty/ }]);
  });

  it('no body and no content type', async () => {
    const h = await harness();
    const res = await h.app.inject({ method: 'POST', url: '/v1/events' });
    await expectRefused(h, res, [{ index: null, field: '(body)', message: /is required/ }]);
  });

  it.each([['[]'], ['"0101901234"'], ['42'], ['null'], ['true']])('a body that is not an object: %s', async (payload) => {
    const h = await harness();
    await expectRefused(h, await h.post(payload), [{ index: null, field: '(body)', message: /must be a JSON object/ }]);
  });

  it('a body with other properties than events', async () => {
    const h = await harness();
    await expectRefused(h, await h.post({ events: [caseOpened()], dryRun: true }), [
      { index: null, field: '(body)', message: 'has unknown properties; only "events" is allowed' },
    ]);
  });

  it('a body with a prototype-poisoning key', async () => {
    const h = await harness();
    await expectRefused(h, await h.post(`{"events": [${JSON.stringify(caseOpened())}], "__proto__": {"admin": true}}`), [
      { index: null, field: '(body)' },
    ]);
  });

  it('a missing events array', async () => {
    const h = await harness();
    await expectRefused(h, await h.post({}), [{ index: null, field: 'events', message: 'is required' }]);
  });

  it('events that is not an array', async () => {
    const h = await harness();
    await expectRefused(h, await h.post({ events: registered() }), [{ index: null, field: 'events', message: 'must be an array of events' }]);
  });

  it('an empty events array', async () => {
    const h = await harness();
    await expectRefused(h, await h.post({ events: [] }), [{ index: null, field: 'events', message: 'must contain at least one event' }]);
  });

  it('too many events', async () => {
    const h = await harness();
    const events = Array.from({ length: MAX_EVENTS + 1 }, () => caseOpened());
    await expectRefused(h, await h.post({ events }), [
      { index: null, field: 'events', message: `must contain at most ${MAX_EVENTS} events per request; split the batch` },
    ]);
  });

  it('an oversized body (with a CPR inside)', async () => {
    const h = await harness();
    const big = JSON.stringify({ events: [registered()], padding: 'y'.repeat(BODY_LIMIT) });
    expect(big.length).toBeGreaterThan(BODY_LIMIT);
    await expectRefused(h, await h.post(big), [{ index: null, field: '(body)', message: `request body exceeds ${BODY_LIMIT} bytes` }]);
  });

  it('an oversized body under the default 1 MiB limit', async () => {
    const h = await harness({ bodyLimitBytes: 1024 * 1024, maxEventsPerRequest: 1000 });
    const event = envelope('CaseClosed', { caseId: 'case-1', reason: 'x'.repeat(500) });
    const big = JSON.stringify({ events: Array.from({ length: 1000 }, () => ({ ...event, id: randomUUID() })), filler: 'z'.repeat(600_000) });
    expect(big.length).toBeGreaterThan(1024 * 1024);
    await expectRefused(h, await h.post(big), [{ index: null, field: '(body)', message: 'request body exceeds 1048576 bytes' }]);
  });

  it.each([
    ['text/plain'],
    ['application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x'],
    ['application/json; charset=latin1'],
    ['not a content type'],
  ])('a wrong content type: %s', async (contentType) => {
    const h = await harness();
    await expectRefused(h, await h.post({ events: [registered()] }, { 'content-type': contentType }), [
      { index: null, field: '(body)', message: /content type must be application\/json/ },
    ]);
  });

  it('a JSON body without a content type', async () => {
    const h = await harness();
    await expectRefused(h, await h.post({ events: [registered()] }, {}), [
      { index: null, field: '(body)', message: 'content type must be application/json' },
    ]);
  });
});

describe('ingestionPlugin scope and faults', () => {
  it('answers a store fault with 500 and no details', async () => {
    const failing: EventStore = {
      appendBatch: async () => {
        throw new Error(`disk full while writing ${CPR}`);
      },
    } as unknown as EventStore;
    const app = Fastify({ loggerInstance: createLogger({ destination: logStream }) });
    cleanups.push(() => app.close());
    await app.register(authPlugin, developmentAuth);
    await app.register(ingestionPlugin, { store: failing, units, bodyLimitBytes: BODY_LIMIT, maxEventsPerRequest: MAX_EVENTS });
    const res = await app.inject({ method: 'POST', url: '/v1/events', payload: { events: [caseOpened()] } });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'internal error' });
  });

  it('keeps its parsers and error handler to itself', async () => {
    const h = await harness();
    const app = Fastify();
    cleanups.push(() => app.close());
    await app.register(authPlugin, developmentAuth);
    await app.register(ingestionPlugin, { store: h.store, units, bodyLimitBytes: 2048, maxEventsPerRequest: MAX_EVENTS });
    app.post('/echo-length', async (request) => ({ length: String(request.body).length }));
    const text = await app.inject({ method: 'POST', url: '/echo-length', headers: { 'content-type': 'text/plain' }, payload: 'a'.repeat(4096) });
    expect(text.statusCode).toBe(200);
    expect(text.json()).toEqual({ length: 4096 });
    const bad = await app.inject({ method: 'POST', url: '/echo-length', headers: { 'content-type': 'application/json' }, payload: '{' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).not.toHaveProperty('errors');
  });

  it('refuses bad options at registration', async () => {
    const h = await harness();
    const app = Fastify();
    cleanups.push(() => app.close());
    await app.register(authPlugin, developmentAuth);
    await expect(app.register(ingestionPlugin, { store: h.store, units, bodyLimitBytes: 0, maxEventsPerRequest: 1 }).ready()).rejects.toThrow(
      /bodyLimitBytes must be a positive integer/,
    );
  });
});

describe('ingestion request logging', () => {
  it('logs the path without the query string and no event content', async () => {
    const h = await harness();
    const before = logLines.length;
    const res = await h.app.inject({
      method: 'POST',
      url: `/v1/events?citizen=${CPR_DIGITS}&note=${encodeURIComponent(NAME)}`,
      headers: { 'content-type': 'application/json', authorization: 'Bearer secret-token-value' },
      payload: JSON.stringify({ events: [registered()] }),
    });
    expect(res.statusCode).toBe(200);
    const lines = logLines.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.msg === 'incoming request')).toMatchObject({ req: { method: 'POST', path: '/v1/events' }, reqId: expect.any(String) });
    expect(lines.find((l) => l.msg === 'request completed')).toMatchObject({ res: { statusCode: 200 }, responseTime: expect.any(Number) });
    expect(lines.find((l) => l.msg === 'events ingested')).toMatchObject({ appended: 1, duplicates: 0 });
    const text = logLines.slice(before).join('');
    for (const value of [...PERSONAL, 'Karen', 'secret-token-value', 'citizen=', '2008-04-11']) expect(text).not.toContain(value);
  });
});
