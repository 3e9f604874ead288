/**
 * XES and OCEL 2.0 exports from real SQLite read models: generated histories validate against the
 * IEEE 1849 schema (xmllint), OCEL parses with every relation pointing at an object, filters hold,
 * nothing personal leaves, and the streams are lazy, consistent snapshots released when abandoned.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_UNITS_FILE, instantMs, loadUnitsFile, unitIdsOf, type StoredEvent, type TransitionEvent } from '@tracker/domain';
import { generateCitizens } from '@tracker/generator';
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import { StoredEventFactory } from '../testing/storedEvents.ts';
import { SqliteTransitionExports } from './sqliteTransitionExports.ts';
import type { ExportFilter } from './exportSnapshot.ts';
import { ALL_UNITS } from '@tracker/security';

const DAY = 86_400_000;
const units = loadUnitsFile(DEMO_UNITS_FILE);
const projection = { units, handoverAcceptanceDue: (ms: number) => ms + 14 * DAY };
const NOW = new Date('2026-03-01T12:00:00+01:00');
const END = NOW.getTime();
const XSD = new URL('../../../../../shared/reference/xes-ieee-1849-2016-namespaced.xsd', import.meta.url).pathname;
/** Why the schema validation cannot run here, if it cannot (CI installs libxml2-utils). */
const CANNOT_VALIDATE =
  spawnSync('xmllint', ['--version']).status !== 0
    ? 'xmllint is not installed (Debian: apt-get install libxml2-utils)'
    : !existsSync(XSD)
      ? `the XES schema is not at ${XSD}`
      : undefined;
if (CANNOT_VALIDATE) console.error(`XES schema validation skipped: ${CANNOT_VALIDATE}`);
const YOUTH = '0751-ungeenhed';
const ADULT = '0751-voksen-handicap';

const read = (stream: Iterable<string>) => [...stream].join('');

interface Ocel {
  objectTypes: { name: string; attributes: { name: string; type: string }[] }[];
  eventTypes: { name: string; attributes: { name: string; type: string }[] }[];
  events: { id: string; type: string; time: string; attributes: { name: string; value: unknown }[]; relationships: { objectId: string; qualifier: string }[] }[];
  objects: { id: string; type: string; attributes: { name: string; time: string; value: unknown }[]; relationships?: { objectId: string; qualifier: string }[] }[];
}

/** Traces of an XES text: citizen id and event types, in document order. */
function traces(xes: string): { citizenId: string; events: { type: string; time: string; resource?: string; attrs: Record<string, string> }[] }[] {
  return [...xes.matchAll(/<trace><string key="concept:name" value="([^"]+)"\/>[^\n]*\n([\s\S]*?)\n<\/trace>/g)].map(([, citizenId, body]) => ({
    citizenId: citizenId!,
    events: [...body!.matchAll(/<event>(.*?)<\/event>/g)].map(([, e]) => {
      const attrs = Object.fromEntries([...e!.matchAll(/key="([^"]+)" value="([^"]*)"/g)].map(([, k, v]) => [k!, v!]));
      return { type: attrs['concept:name']!, time: attrs['time:timestamp']!, resource: attrs['org:resource'], attrs };
    }),
  }));
}

describe('exports of generated histories', () => {
  let dir: string;
  let model: SqliteReadModel;
  let exports: SqliteTransitionExports;
  let generated: TransitionEvent[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'exports-'));
    model = new SqliteReadModel({ file: join(dir, 'rm.sqlite'), projection, configFingerprint: 'exports' });
    generated = [...generateCitizens({ seed: 3, citizens: 300, units, now: NOW, nameShare: 1, anomalyRate: 0.05 })].flatMap((c) => c.events);
    const stored = generated.map((e, i) => ({ ...e, recordedAt: NOW.toISOString(), streamVersion: 0, globalPosition: i + 1 }) as StoredEvent);
    for (let i = 0; i < stored.length; i += 2_000) model.applyBatch(stored.slice(i, i + 2_000));
    exports = new SqliteTransitionExports(model, { units, pageSize: 37 });
  });
  afterAll(() => {
    model.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(CANNOT_VALIDATE !== undefined)('writes XES that validates against the IEEE 1849-2016 schema (xmllint)', () => {
    const file = join(dir, 'all.xes');
    writeFileSync(file, read(exports.xes({ toMs: END }, ALL_UNITS)));
    const result = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
    expect(result.stderr).toContain('validates');
    expect(result.status).toBe(0);
  });

  it('makes one trace per citizen with every event in world order, the unit as resource', () => {
    const xes = read(exports.xes({ toMs: END }, ALL_UNITS));
    const all = traces(xes);
    const citizens = new Set(generated.map((e) => e.citizenId));
    expect(all.map((t) => t.citizenId)).toEqual([...citizens].sort());
    expect(all.reduce((n, t) => n + t.events.length, 0)).toBe(generated.length);
    for (const t of all) {
      const times = t.events.map((e) => instantMs(e.time));
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    const accepted = all.flatMap((t) => t.events).filter((e) => e.type === 'HandoverAccepted' && e.attrs.toUnitId);
    expect(accepted.length).toBeGreaterThan(10);
    for (const e of accepted) expect(e.resource).toBe(e.attrs.toUnitId);
    expect(xes).toContain('<string key="lifecycle:transition" value="start"/>');
  });

  it('carries no personal data: no names, no free text', () => {
    const personal = new Set<string>();
    for (const e of generated) {
      if (e.type === 'CitizenRegistered' && e.data.personal?.name) personal.add(e.data.personal.name);
      for (const key of ['reason', 'legalBasis', 'channel'] as const) {
        const value = (e.data as Record<string, unknown>)[key];
        if (typeof value === 'string' && !['completed', 'handover', 'moved', 'no-need'].includes(value)) personal.add(value);
      }
    }
    expect(personal.size).toBeGreaterThan(100);
    const texts = [read(exports.xes({ toMs: END }, ALL_UNITS)), read(exports.ocel({ toMs: END }, ALL_UNITS))];
    const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
    const leaked = texts.flatMap((text) => [...personal].filter((p) => text.includes(p) || text.includes(escape(p))));
    expect(leaked).toEqual([]);
  });

  it('filters by period: only events in [from, to), traces only for citizens with one', () => {
    const filter = { fromMs: instantMs('2024-01-01T00:00:00+01:00'), toMs: instantMs('2025-01-01T00:00:00+01:00') };
    const all = traces(read(exports.xes(filter, ALL_UNITS)));
    const expected = generated.filter((e) => instantMs(e.occurredAt) >= filter.fromMs && instantMs(e.occurredAt) < filter.toMs);
    expect(all.reduce((n, t) => n + t.events.length, 0)).toBe(expected.length);
    expect(new Set(all.map((t) => t.citizenId))).toEqual(new Set(expected.map((e) => e.citizenId)));
    for (const t of all) for (const e of t.events) expect(instantMs(e.time)).toBeGreaterThanOrEqual(filter.fromMs);
  });

  it('filters by unit: whole traces of the citizens with an event naming the unit in the period', () => {
    const filter: ExportFilter = { toMs: END, unitId: ADULT };
    const all = traces(read(exports.xes(filter, ALL_UNITS)));
    const expected = new Set(generated.filter((e) => unitIdsOf(e).includes(ADULT)).map((e) => e.citizenId));
    expect(expected.size).toBeGreaterThan(5);
    expect(new Set(all.map((t) => t.citizenId))).toEqual(expected);
    const citizen = all[0]!;
    expect(citizen.events.length).toBe(generated.filter((e) => e.citizenId === citizen.citizenId).length);
  });

  it('filters by cohort: kommune and birth years at registration', () => {
    const registered = generated.filter((e): e is Extract<TransitionEvent, { type: 'CitizenRegistered' }> => e.type === 'CitizenRegistered');
    const expected = new Set(registered.filter((e) => Number(e.data.birthDate.slice(0, 4)) >= 2005 && Number(e.data.birthDate.slice(0, 4)) <= 2008).map((e) => e.citizenId));
    const all = traces(read(exports.xes({ toMs: END, municipality: '0751', birthYearFrom: 2005, birthYearTo: 2008 }, ALL_UNITS)));
    expect(expected.size).toBeGreaterThan(5);
    expect(new Set(all.map((t) => t.citizenId))).toEqual(expected);
    expect(traces(read(exports.xes({ toMs: END, municipality: '0101' }, ALL_UNITS)))).toEqual([]);
  });

  it('writes OCEL 2.0 JSON with citizens, cases, units, handovers and relatives, every relation resolving', () => {
    const ocel = JSON.parse(read(exports.ocel({ toMs: END }, ALL_UNITS))) as Ocel;
    expect(ocel.objectTypes.map((t) => t.name)).toEqual(['Citizen', 'Case', 'Handover', 'Unit', 'Relative']);
    expect(ocel.eventTypes.map((t) => t.name)).toContain('HandoverInitiated');
    expect(ocel.events).toHaveLength(generated.length);

    const ids = new Set(ocel.objects.map((o) => o.id));
    expect(ids.size).toBe(ocel.objects.length);
    const types = new Map(ocel.objects.map((o) => [o.id, o.type]));
    for (const e of ocel.events) for (const r of e.relationships) expect(ids.has(r.objectId), `${e.type} → ${r.objectId}`).toBe(true);
    for (const o of ocel.objects) for (const r of o.relationships ?? []) expect(ids.has(r.objectId), `${o.id} → ${r.objectId}`).toBe(true);

    const count = (type: string) => ocel.objects.filter((o) => o.type === type).length;
    expect(count('Citizen')).toBe(new Set(generated.map((e) => e.citizenId)).size);
    expect(count('Unit')).toBe(units.units.length);
    expect(count('Relative')).toBe(new Set(generated.flatMap((e) => (e.type === 'RelativeLinked' ? [e.data.relativeId] : []))).size);
    expect(count('Case')).toBeGreaterThan(50);
    expect(count('Handover')).toBeGreaterThan(20);

    const initiated = ocel.events.find((e) => e.type === 'HandoverInitiated')!;
    expect(initiated.relationships.map((r) => r.qualifier)).toEqual(['citizen', 'handover', 'from unit', 'to unit']);
    const handover = ocel.objects.find((o) => o.id === initiated.relationships[1]!.objectId)!;
    expect(handover.relationships?.map((r) => [types.get(r.objectId), r.qualifier])).toEqual([
      ['Unit', 'from unit'],
      ['Unit', 'to unit'],
    ]);
    expect(handover.attributes.filter((a) => a.name === 'status')[0]).toMatchObject({ value: 'PENDING' });
    const citizen = ocel.objects.find((o) => o.type === 'Citizen' && o.relationships?.some((r) => types.get(r.objectId) === 'Relative'))!;
    expect(citizen.relationships?.some((r) => /^(parent|guardian|sibling|partner|other)/.test(r.qualifier))).toBe(true);
  });

  it('keeps OCEL objects to those the period names', () => {
    const filter = { fromMs: instantMs('2025-06-01T00:00:00+02:00'), toMs: instantMs('2025-09-01T00:00:00+02:00') };
    const ocel = JSON.parse(read(exports.ocel(filter, ALL_UNITS))) as Ocel;
    const ids = new Set(ocel.objects.map((o) => o.id));
    for (const e of ocel.events) for (const r of e.relationships) expect(ids.has(r.objectId)).toBe(true);
    const named = new Set(ocel.events.flatMap((e) => e.relationships.map((r) => r.objectId)).filter((id) => id.startsWith('case:') || id.startsWith('handover:')));
    expect(new Set(ocel.objects.filter((o) => o.type === 'Case' || o.type === 'Handover').map((o) => o.id))).toEqual(named);
    expect(ocel.events.length).toBe(traces(read(exports.xes(filter, ALL_UNITS))).reduce((n, t) => n + t.events.length, 0));
  });

  it('reads lazily and releases its snapshot when the reader stops early', () => {
    const stream = exports.xes({ toMs: END }, ALL_UNITS);
    expect(exports.openSnapshots).toBe(0);
    const first = stream.next();
    expect(first.value).toContain('<log ');
    expect(exports.openSnapshots).toBe(1);
    stream.next();
    stream.return({ citizens: 0, events: 0 });
    expect(exports.openSnapshots).toBe(0);

    const ocel = exports.ocel({ toMs: END }, ALL_UNITS);
    let chunks = 0;
    for (const _ of ocel) if (++chunks === 3) break;
    expect(exports.openSnapshots).toBe(0);
  });

  it('returns how many citizens and events it wrote', () => {
    const stream = exports.xes({ toMs: END }, ALL_UNITS);
    let result = stream.next();
    while (!result.done) result = stream.next();
    expect(result.value).toEqual({ citizens: new Set(generated.map((e) => e.citizenId)).size, events: generated.length });
  });
});

describe('exports of hand-built histories', () => {
  let dir: string;
  let model: SqliteReadModel;
  let exports: SqliteTransitionExports;
  const make = new StoredEventFactory();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'exports-hand-'));
    model = new SqliteReadModel({ file: join(dir, 'rm.sqlite'), projection, configFingerprint: 'exports' });
    exports = new SqliteTransitionExports(model, { units });
    model.applyBatch([
      make.event('c-1', 'CitizenRegistered', '2015-01-01T09:00:00+01:00', { birthDate: '2007-06-01', municipality: '0751', disability: true, personal: { name: 'Anna Hansen' } }),
      make.event('c-1', 'CaseOpened', '2022-01-03T10:00:00+01:00', { caseId: 'k1', unitId: YOUTH, legalBasis: 'Barnets Lov § 32' }),
      make.event('c-1', 'InterventionStarted', '2022-02-03T10:00:00+01:00', { interventionId: 'i1', unitId: YOUTH, code: 'samtaler med Anna', step: 2 }),
      make.event('c-1', 'InterventionEnded', '2023-02-03T10:00:00+01:00', { interventionId: 'i1', reason: 'Anna flyttede' }),
      make.event('c-1', 'HandoverInitiated', '2024-12-02T10:00:00+01:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age', reason: 'Anna fylder 18' }),
      make.event('c-1', 'HandoverAccepted', '2025-01-06T10:00:00+01:00', { handoverId: 'h1' }),
      make.event('c-1', 'CaseClosed', '2025-01-07T10:00:00+01:00', { caseId: 'k1', reason: 'Anna overgår til voksen' }),
    ]);
  });
  afterAll(() => {
    model.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the acting unit of each event, maps lifecycles, and keeps reason codes and codes only when they are codes', () => {
    const xes = read(exports.xes({ fromMs: instantMs('2023-01-01T00:00:00+01:00'), toMs: END }, ALL_UNITS));
    expect(xes).not.toMatch(/Anna|§/);
    const [trace] = traces(xes);
    expect(trace!.events.map((e) => [e.type, e.resource, e.attrs['lifecycle:transition']])).toEqual([
      ['InterventionEnded', YOUTH, 'complete'],
      ['HandoverInitiated', YOUTH, 'start'],
      ['HandoverAccepted', ADULT, 'assign'],
      ['CaseClosed', YOUTH, 'complete'],
    ]);
    expect(trace!.events[2]!.attrs).toMatchObject({ handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, sector: 'adult', 'org:group': 'Sociale Forhold og Beskæftigelse' });
    expect(trace!.events[3]!.attrs.closeReason).toBe('other');
    expect(xes).toContain('<string key="municipality" value="0751"/><int key="birthYear" value="2007"/>');
    expect(xes).toContain('<date key="time:timestamp" value="2025-01-06T10:00:00.000+01:00"/>');
    expect(xes).not.toContain('disability');
  });

  it('reads from the snapshot it began with while the read models move on', () => {
    const stream = exports.xes({ toMs: END }, ALL_UNITS);
    stream.next();
    model.applyBatch([make.event('c-2', 'CitizenRegistered', '2020-01-01T09:00:00+01:00', { birthDate: '2010-01-01', municipality: '0751', disability: false })]);
    const rest = [...stream].join('');
    expect(rest).toContain('value="c-1"');
    expect(rest).not.toContain('c-2');
    expect(read(exports.xes({ toMs: END }, ALL_UNITS))).toContain('value="c-2"');
  });

  it('refuses an in-memory database with a reason', () => {
    const memory = new SqliteReadModel({ file: ':memory:', projection, configFingerprint: 'exports' });
    expect(() => new SqliteTransitionExports(memory, { units }).xes({ toMs: END }, ALL_UNITS).next()).toThrow(/in-memory/);
    memory.close();
  });

  it.skipIf(CANNOT_VALIDATE !== undefined)('validates a trace-less export too', () => {
    const file = join(dir, 'empty.xes');
    writeFileSync(file, read(exports.xes({ toMs: instantMs('2000-01-01T00:00:00+01:00') }, ALL_UNITS)));
    execFileSync('xmllint', ['--noout', '--schema', XSD, file], { stdio: 'pipe' });
  });
});
