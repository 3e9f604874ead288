/**
 * The export endpoints on real SQLite read models, behind fastify: streamed XES (valid against the
 * IEEE 1849 schema) and OCEL, query parameters refused with the parameter named and no value echoed,
 * a client that hangs up ending the export, and the limit on exports running at once.
 */
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_UNITS_FILE, ManualClock, loadUnitsFile, type EventData, type EventType, type StoredEvent } from '@tracker/domain';
import { SqliteReadModel, SqliteTransitionExports, type ExportStream, type TransitionExports } from '@tracker/read-models';
import { createLogger } from '@tracker/platform';
import { createAuthenticator, SqliteAccessLog } from '@tracker/security';
import { authPlugin } from '../auth/authPlugin.ts';
import { EXPORT_PATHS, exportsPlugin } from './exportsPlugin.ts';

/** Every test here acts, explicitly, as the development administrator (exports are administrators' only). */
const developmentAuth = { authenticator: createAuthenticator({ mode: 'development' }) };

const DAY = 86_400_000;
const units = loadUnitsFile(DEMO_UNITS_FILE);
const YOUTH = '0751-ungeenhed';
const ADULT = '0751-voksen-handicap';
const CHILD = '0751-bf-myndighed';
const NOW = '2025-06-02T10:00:00+02:00';
const CPR = '010190-1234';
const XSD = new URL('../../../../../shared/reference/xes-ieee-1849-2016-namespaced.xsd', import.meta.url).pathname;
/** Schema validation runs where xmllint and the schema are (CI installs libxml2-utils); read-models' export tests say when they skip it. */
const XMLLINT = spawnSync('xmllint', ['--version']).status === 0 && existsSync(XSD);

/** Stored events for `count` citizens: a youth case, a handover to the adult unit, an acceptance, a new case. */
function population(count: number): StoredEvent[] {
  const events: StoredEvent[] = [];
  let position = 0;
  const add = <T extends EventType>(citizenId: string, type: T, ms: number, data: EventData<T>) =>
    events.push({ id: randomUUID(), type, citizenId, occurredAt: new Date(ms).toISOString(), data, recordedAt: NOW, streamVersion: 0, globalPosition: ++position } as StoredEvent);
  const start = Date.parse('2024-01-08T09:00:00+01:00');
  for (let i = 0; i < count; i++) {
    const c = `c-${String(i).padStart(6, '0')}`;
    const t = start + (i % 200) * DAY;
    add(c, 'CitizenRegistered', t - 400 * DAY, { birthDate: `${2006 + (i % 3)}-05-01`, municipality: i % 10 === 0 ? '0101' : '0751', disability: false, personal: { name: 'Jens Jensen', cpr: CPR } });
    add(c, 'RelativeLinked', t - 400 * DAY, { relativeId: `r-${i}`, relation: 'parent', custody: true });
    add(c, 'CaseOpened', t - 300 * DAY, { caseId: 'k1', unitId: i % 4 === 0 ? CHILD : YOUTH, legalBasis: 'Barnets Lov § 52' });
    add(c, 'HandoverInitiated', t, { handoverId: 'h1', fromUnitId: i % 4 === 0 ? CHILD : YOUTH, toUnitId: ADULT, kind: 'age', reason: 'Jens fylder 18' });
    add(c, 'HandoverAccepted', t + 3 * DAY, { handoverId: 'h1' });
    add(c, 'CaseClosed', t + 4 * DAY, { caseId: 'k1', reason: 'handover' });
    add(c, 'CaseOpened', t + 4 * DAY + 3_600_000, { caseId: 'k2', unitId: ADULT });
    add(c, 'HandoverCompleted', t + 4 * DAY + 7_200_000, { handoverId: 'h1' });
  }
  return events;
}

/** Exports whose streams say when they were ended, early or not. */
function observed(inner: TransitionExports) {
  const ended: Promise<void>[] = [];
  const wrap = (stream: ExportStream): ExportStream => {
    let done: () => void = () => {};
    ended.push(new Promise<void>((resolve) => (done = resolve)));
    return (async function* (): ExportStream {
      try {
        return yield* stream;
      } finally {
        await stream.return({ citizens: 0, events: 0 });
        done();
      }
    })();
  };
  return {
    exports: { xes: (f, scope) => wrap(inner.xes(f, scope)), ocel: (f, scope) => wrap(inner.ocel(f, scope)), citizenIds: (f, scope) => inner.citizenIds(f, scope) } satisfies TransitionExports,
    ended,
  };
}

describe('export endpoints', () => {
  let dir: string;
  let model: SqliteReadModel;
  let exports: SqliteTransitionExports;
  let app: FastifyInstance;
  let accessLog: SqliteAccessLog;
  const logs: string[] = [];
  const clock = new ManualClock(NOW);
  const CITIZENS = 3_000;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'exports-api-'));
    model = new SqliteReadModel({ file: join(dir, 'rm.sqlite'), projection: { units, handoverAcceptanceDue: (ms) => ms + 14 * DAY }, configFingerprint: 'api' });
    const events = population(CITIZENS);
    for (let i = 0; i < events.length; i += 5_000) model.applyBatch(events.slice(i, i + 5_000));
    exports = new SqliteTransitionExports(model, { units });
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logs.push(chunk.toString('utf8'));
        callback();
      },
    });
    const logger: FastifyBaseLogger = createLogger({ destination, level: 'debug' });
    app = Fastify({ loggerInstance: logger });
    accessLog = new SqliteAccessLog({ file: join(dir, 'access-log.sqlite'), clock });
    await app.register(authPlugin, developmentAuth);
    await app.register(exportsPlugin, { exports, units, clock, accessLog });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    model?.close();
    await accessLog?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams the XES of every citizen as an attachment, valid against the IEEE 1849-2016 schema', async () => {
    const res = await app.inject({ method: 'GET', url: EXPORT_PATHS.xes });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/xml; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="transitions.xes"');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.body.match(/<trace>/g)).toHaveLength(CITIZENS);
    // The CPR whole: six digits of it turn up in one of the 24 000 random event ids about once in 70 runs.
    expect(res.body).not.toMatch(new RegExp(`Jens|${CPR}|${CPR.replace('-', '')}|§`));
    expect(res.body).toContain(`<date key="exportTo" value="2025-06-02T10:00:00.000+02:00"/>`);
    if (XMLLINT) {
      const file = join(dir, 'api.xes');
      writeFileSync(file, res.body);
      const result = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
      expect(result.stderr).toContain('validates');
    }
  });

  it('streams OCEL 2.0 JSON', async () => {
    const res = await app.inject({ method: 'GET', url: `${EXPORT_PATHS.ocel}?unitId=${CHILD}` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="transitions.ocel.json"');
    const ocel = JSON.parse(res.body) as { objects: { type: string }[]; events: unknown[] };
    expect(ocel.objects.filter((o) => o.type === 'Citizen')).toHaveLength(CITIZENS / 4);
    expect(ocel.objects.filter((o) => o.type === 'Relative')).toHaveLength(CITIZENS / 4);
    expect(ocel.events).toHaveLength((CITIZENS / 4) * 8);
  });

  it('filters by period and cohort, and cuts a `to` in the future to now', async () => {
    const res = await app.inject({
      method: 'GET',
      url: EXPORT_PATHS.xes,
      query: { from: '2024-01-08T00:00:00+01:00', to: '2024-01-09T00:00:00+01:00', municipality: '0751', birthYearFrom: '2006', birthYearTo: '2006' },
    });
    expect(res.statusCode).toBe(200);
    // Day 0 of the 200-day cycle, born 2006 (i % 3 = 0), in 0751 (i % 10 ≠ 0): i ≡ 0 (mod 600) but not 0 (mod 10) — none.
    expect(res.body.match(/<trace>/g)).toBeNull();
    const cycle = await app.inject({ method: 'GET', url: EXPORT_PATHS.xes, query: { from: '2024-01-08T00:00:00+01:00', to: '2024-01-09T00:00:00+01:00' } });
    expect(cycle.body.match(/<trace>/g)).toHaveLength(CITIZENS / 200);
    expect(cycle.body.match(/<event>/g)).toHaveLength(CITIZENS / 200);
    const future = await app.inject({ method: 'GET', url: EXPORT_PATHS.xes, query: { from: '2025-06-01T00:00:00+02:00', to: '2030-01-01T00:00:00+01:00' } });
    expect(future.body).toContain(`<date key="exportTo" value="2025-06-02T10:00:00.000+02:00"/>`);
  });

  it('records every citizen of the export in the access log before the first byte is written', async () => {
    const log = new SqliteAccessLog({ file: ':memory:', clock });
    let loggedBeforeFirstChunk: string[] | undefined;
    const checking: TransitionExports = {
      citizenIds: (f, scope) => exports.citizenIds(f, scope),
      ocel: (f, scope) => exports.ocel(f, scope),
      xes: (f, scope) =>
        (async function* (): ExportStream {
          loggedBeforeFirstChunk = (await log.entries({ limit: 10_000 })).map((e) => e.citizenId);
          return yield* exports.xes(f, scope);
        })(),
    };
    const local = Fastify();
    await local.register(authPlugin, developmentAuth);
    await local.register(exportsPlugin, { exports: checking, units, clock, accessLog: log });
    try {
      const res = await local.inject({ method: 'GET', url: `${EXPORT_PATHS.xes}?unitId=${CHILD}` });
      expect(res.statusCode).toBe(200);
      const exported = [...res.body.matchAll(/<trace><string key="concept:name" value="([^"]+)"/g)].map(([, id]) => id);
      expect(exported).toHaveLength(CITIZENS / 4);
      expect(loggedBeforeFirstChunk).toEqual(exported);
      expect(exports.openSnapshots).toBe(0);
    } finally {
      await local.close();
      await log.close();
    }
  });

  it('refuses bad parameters with 400, naming each parameter and never echoing a value', async () => {
    logs.length = 0;
    const bad = async (query: string) => {
      const res = await app.inject({ method: 'GET', url: `${EXPORT_PATHS.xes}?${query}` });
      expect(res.statusCode).toBe(400);
      expect(res.body).not.toContain('010190');
      return (res.json() as { error: string; errors: { parameter: string; message: string }[] }).errors;
    };
    expect(await bad(`from=${CPR}`)).toEqual([{ parameter: 'from', message: expect.stringContaining('ISO 8601') }]);
    expect(await bad(`to=2025-01-01T00:00:00`)).toMatchObject([{ parameter: 'to' }]);
    expect(await bad(`unitId=${CPR}`)).toEqual([{ parameter: 'unitId', message: 'is not a configured unit; units come from the units configuration' }]);
    expect(await bad(`municipality=${CPR}`)).toMatchObject([{ parameter: 'municipality' }]);
    expect(await bad(`birthYearFrom=2008&birthYearTo=2006`)).toMatchObject([{ parameter: 'birthYearFrom' }]);
    expect(await bad(`birthYearTo=${CPR}`)).toMatchObject([{ parameter: 'birthYearTo', message: 'must be a year YYYY' }]);
    expect(await bad(`from=2025-03-01T00:00:00%2B01:00&to=2025-01-01T00:00:00%2B01:00`)).toMatchObject([{ parameter: 'from', message: 'must be earlier than to' }]);
    expect(await bad(`unitId=${CHILD}&unitId=${YOUTH}`)).toMatchObject([{ parameter: 'unitId', message: 'must be given once' }]);
    expect(await bad(`cpr=${CPR}`)).toMatchObject([{ parameter: 'cpr' }]);
    expect(await bad(`${CPR}=1`)).toMatchObject([{ parameter: '(query)' }]);
    expect(logs.join('')).not.toContain('010190');
  });

  it('does not run an export for HEAD', async () => {
    const res = await app.inject({ method: 'HEAD', url: EXPORT_PATHS.xes });
    expect(res.statusCode).toBe(404);
  });
});

describe('export endpoints over a real socket', () => {
  let dir: string;
  let model: SqliteReadModel;
  let inner: SqliteTransitionExports;
  let app: FastifyInstance;
  let base: string;
  let watch: ReturnType<typeof observed>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'exports-socket-'));
    model = new SqliteReadModel({ file: join(dir, 'rm.sqlite'), projection: { units, handoverAcceptanceDue: (ms) => ms + 14 * DAY }, configFingerprint: 'api' });
    const events = population(6_000);
    for (let i = 0; i < events.length; i += 5_000) model.applyBatch(events.slice(i, i + 5_000));
    inner = new SqliteTransitionExports(model, { units });
    watch = observed(inner);
    app = Fastify({ forceCloseConnections: true });
    await app.register(authPlugin, developmentAuth);
    await app.register(exportsPlugin, { exports: watch.exports, units, clock: new ManualClock(NOW), maxConcurrentExports: 1, accessLog: new SqliteAccessLog({ file: ':memory:' }) });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    model?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the document in chunks as it is written', async () => {
    const res = await fetch(`${base}${EXPORT_PATHS.xes}`);
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    let chunks = 0;
    let bytes = 0;
    const reader = res.body!.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      chunks++;
      bytes += read.value.byteLength;
    }
    expect(chunks).toBeGreaterThan(10);
    expect(bytes).toBeGreaterThan(1_000_000);
    await Promise.all(watch.ended);
    expect(inner.openSnapshots).toBe(0);
  });

  it('ends the export and releases its snapshot when the client hangs up; one export at a time here', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}${EXPORT_PATHS.ocel}`, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    expect(inner.openSnapshots).toBe(1);

    const busy = await fetch(`${base}${EXPORT_PATHS.xes}`);
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('30');
    await busy.body?.cancel();

    controller.abort();
    await reader.cancel().catch(() => {});
    await Promise.all(watch.ended);
    expect(inner.openSnapshots).toBe(0);
    // The slot is free again.
    const again = await fetch(`${base}${EXPORT_PATHS.ocel}?unitId=${CHILD}&from=2025-01-01T00:00:00%2B01:00`);
    expect(again.status).toBe(200);
    expect(JSON.parse(await again.text())).toHaveProperty('objects');
  });

  it('cuts a running export off when the server closes, rather than waiting for it', async () => {
    const res = await fetch(`${base}${EXPORT_PATHS.xes}`);
    const reader = res.body!.getReader();
    await reader.read();
    expect(inner.openSnapshots).toBe(1);
    await app.close();
    await Promise.all(watch.ended);
    expect(inner.openSnapshots).toBe(0);
    // The client is left with a broken stream, not a document that looks complete.
    let text = '';
    const error = await (async () => {
      try {
        for (let read = await reader.read(); !read.done; read = await reader.read()) text += Buffer.from(read.value).toString('utf8');
      } catch (e) {
        return e;
      }
    })();
    expect(error !== undefined || !text.endsWith('</log>\n')).toBe(true);
  });
});
