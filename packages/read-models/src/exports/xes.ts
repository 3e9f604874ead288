/**
 * XES (IEEE 1849-2016) with the citizen as case: one trace per citizen, one event per fact in the
 * period, in world order (docs/exports.md). Written as text chunks, citizen by citizen, so a whole
 * kommune never sits in memory.
 */
import type { UnitDirectory } from '@tracker/domain';
import { CitizenInterpreter, formatInstant, type ExportAttribute, type ExportEvent } from './exportEvents.ts';
import type { CitizenHistory, ExportFilter } from './exportSnapshot.ts';

export interface ExportStats {
  citizens: number;
  events: number;
}

/** Text of an XML attribute value: escaped, and without characters XML 1.0 cannot carry. */
export function xmlText(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '').replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}
const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

const XES_ELEMENT = { string: 'string', integer: 'int', boolean: 'boolean', time: 'date' } as const;

function attribute(a: ExportAttribute): string {
  const value = a.type === 'time' ? formatInstant(a.value as number) : typeof a.value === 'string' ? xmlText(a.value) : String(a.value);
  return `<${XES_ELEMENT[a.type]} key="${a.key}" value="${value}"/>`;
}

function header(filter: ExportFilter): string {
  const period = [
    ...(filter.fromMs === undefined ? [] : [`<date key="exportFrom" value="${formatInstant(filter.fromMs)}"/>`]),
    `<date key="exportTo" value="${formatInstant(filter.toMs)}"/>`,
    ...(filter.unitId === undefined ? [] : [`<string key="exportUnitId" value="${xmlText(filter.unitId)}"/>`]),
    ...(filter.municipality === undefined ? [] : [`<string key="exportMunicipality" value="${xmlText(filter.municipality)}"/>`]),
    ...(filter.birthYearFrom === undefined ? [] : [`<int key="exportBirthYearFrom" value="${filter.birthYearFrom}"/>`]),
    ...(filter.birthYearTo === undefined ? [] : [`<int key="exportBirthYearTo" value="${filter.birthYearTo}"/>`]),
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!-- Transition tracker: citizens\' transitions between municipal units. Pseudonymous: no names, CPR numbers or free text. -->',
    '<log xes.version="1849.2016" xmlns="http://www.xes-standard.org/">',
    '<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>',
    '<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>',
    '<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>',
    '<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>',
    '<extension name="Identity" prefix="identity" uri="http://www.xes-standard.org/identity.xesext"/>',
    '<global scope="trace"><string key="concept:name" value="UNKNOWN"/></global>',
    '<global scope="event"><string key="concept:name" value="UNKNOWN"/><date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>' +
      '<string key="lifecycle:transition" value="complete"/><id key="identity:id" value="UNKNOWN"/></global>',
    '<classifier name="Activity" keys="concept:name"/>',
    '<classifier name="ActivityLifecycle" keys="concept:name lifecycle:transition"/>',
    '<classifier name="Resource" keys="org:resource"/>',
    '<string key="concept:name" value="Transition tracker"/>',
    ...period,
    '',
  ].join('\n');
}

function event(e: ExportEvent, units: UnitDirectory): string {
  const parts = [
    '<event>',
    `<string key="concept:name" value="${e.type}"/>`,
    `<date key="time:timestamp" value="${formatInstant(e.occurredMs)}"/>`,
    `<string key="lifecycle:transition" value="${e.lifecycle}"/>`,
    `<id key="identity:id" value="${xmlText(e.eventId)}"/>`,
  ];
  if (e.resource !== null) {
    parts.push(`<string key="org:resource" value="${xmlText(e.resource)}"/>`);
    const unit = units.get(e.resource);
    if (unit) parts.push(`<string key="org:group" value="${xmlText(unit.administration)}"/>`, `<string key="sector" value="${unit.sector}"/>`);
  }
  for (const a of e.attributes) parts.push(attribute(a));
  parts.push('</event>');
  return parts.join('');
}

/** One citizen's trace, or '' when none of their events falls in the period. */
export function xesTrace(history: CitizenHistory, filter: ExportFilter, units: UnitDirectory, stats: ExportStats): string {
  const interpreter = new CitizenInterpreter(history.citizenId);
  const events: string[] = [];
  const from = filter.fromMs ?? -Infinity;
  for (const row of history.events) {
    const e = interpreter.read(row);
    if (row.occurredMs >= from) events.push(event(e, units));
  }
  if (events.length === 0) return '';
  stats.citizens++;
  stats.events += events.length;
  const traceAttributes = [`<string key="concept:name" value="${xmlText(history.citizenId)}"/>`];
  const registered = interpreter.municipalities[0];
  if (registered) traceAttributes.push(`<string key="municipality" value="${xmlText(registered.municipality)}"/>`);
  if (interpreter.birthYear !== null && Number.isSafeInteger(interpreter.birthYear)) traceAttributes.push(`<int key="birthYear" value="${interpreter.birthYear}"/>`);
  return `<trace>${traceAttributes.join('')}\n${events.join('\n')}\n</trace>\n`;
}

/** Joins small strings into chunks of about `size` characters: fewer, larger writes. */
export class ChunkBuffer {
  #parts: string[] = [];
  #length = 0;
  constructor(readonly size = 64 * 1024) {}
  /** Adds text; returns a chunk when enough has gathered. */
  add(text: string): string | undefined {
    if (text.length === 0) return undefined;
    this.#parts.push(text);
    this.#length += text.length;
    return this.#length >= this.size ? this.flush() : undefined;
  }
  flush(): string | undefined {
    if (this.#length === 0) return undefined;
    const chunk = this.#parts.join('');
    this.#parts = [];
    this.#length = 0;
    return chunk;
  }
}

/**
 * The whole XES document as chunks, from citizens' histories read one at a time. Chunks stay ~64 KB:
 * each step of an async stream costs a turn of the microtask queue, so they are few.
 */
export async function* xesDocument(
  histories: AsyncIterable<CitizenHistory>,
  filter: ExportFilter,
  units: UnitDirectory,
  stats: ExportStats = { citizens: 0, events: 0 },
): AsyncGenerator<string, ExportStats, undefined> {
  const buffer = new ChunkBuffer();
  yield header(filter);
  for await (const history of histories) {
    const chunk = buffer.add(xesTrace(history, filter, units, stats));
    if (chunk !== undefined) yield chunk;
  }
  const rest = buffer.add('</log>\n') ?? buffer.flush();
  if (rest !== undefined) yield rest;
  return stats;
}
