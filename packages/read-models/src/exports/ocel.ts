/**
 * OCEL 2.0 JSON (docs/exports.md): the same facts as objects and their relations — citizens, cases,
 * units, handovers and relatives — for object-centric process mining.
 *
 * The document is one JSON object, but it is written as a stream: the fixed type lists first, then
 * `events` citizen by citizen, then `objects` in a second pass over the same snapshot (each citizen's
 * cases and handovers that the period's events name, the citizen, the relatives, the units). Nothing
 * but one citizen's history and the set of unconfigured unit ids (a handful at most) is held.
 */
import { EVENT_TYPES, type UnitDirectory } from '@tracker/domain';
import { CitizenInterpreter, EXPORTED_ATTRIBUTES, type AttributeType, type ObjectKind, type ObjectReference } from './exportEvents.ts';
import type { CitizenHistory, ExportFilter } from './exportSnapshot.ts';
import { ChunkBuffer, type ExportStats } from './xes.ts';

/** The object types an export holds, with their attributes. */
export const OCEL_OBJECT_TYPES = [
  { name: 'Citizen', attributes: [{ name: 'birthYear', type: 'integer' }, { name: 'municipality', type: 'string' }] },
  { name: 'Case', attributes: [{ name: 'status', type: 'string' }, { name: 'closeReason', type: 'string' }] },
  { name: 'Handover', attributes: [{ name: 'kind', type: 'string' }, { name: 'status', type: 'string' }] },
  {
    name: 'Unit',
    attributes: [
      { name: 'name', type: 'string' },
      { name: 'administration', type: 'string' },
      { name: 'sector', type: 'string' },
      { name: 'municipality', type: 'string' },
    ],
  },
  { name: 'Relative', attributes: [] },
] as const;

const OCEL_TYPE: Record<AttributeType, string> = { string: 'string', integer: 'integer', boolean: 'boolean', time: 'time' };

/** Object ids are global in OCEL: prefixed by type; cases and handovers are scoped by their citizen (their ids are the source systems'). */
export const objectId = {
  citizen: (citizenId: string) => `citizen:${citizenId}`,
  case: (citizenId: string, caseId: string) => `case:${citizenId}:${caseId}`,
  handover: (citizenId: string, handoverId: string) => `handover:${citizenId}:${handoverId}`,
  unit: (unitId: string) => `unit:${unitId}`,
  relative: (relativeId: string) => `relative:${relativeId}`,
};

/** The time OCEL uses for attributes that do not change. */
const STATIC = '1970-01-01T00:00:00.000Z';

/**
 * OCEL times are written in UTC: object-centric tools load them into one timestamp column, and some
 * refuse a column that mixes +01:00 and +02:00. (XES keeps Copenhagen time with its offset.)
 */
const utc = (ms: number): string => new Date(ms).toISOString();

const refId = (citizenId: string, ref: ObjectReference): string => {
  switch (ref.kind) {
    case 'case':
      return objectId.case(citizenId, ref.id);
    case 'handover':
      return objectId.handover(citizenId, ref.id);
    case 'unit':
      return objectId.unit(ref.id);
    case 'relative':
      return objectId.relative(ref.id);
  }
};

interface OcelObject {
  id: string;
  type: string;
  attributes: { name: string; time: string; value: string | number | boolean }[];
  relationships: { objectId: string; qualifier: string }[];
}

const json = (value: unknown) => JSON.stringify(value);

/** The period's events of one citizen as OCEL events (JSON texts), and which objects they name. */
function citizenEvents(history: CitizenHistory, filter: ExportFilter, named: Set<string>): { interpreter: CitizenInterpreter; events: string[] } {
  const interpreter = new CitizenInterpreter(history.citizenId);
  const from = filter.fromMs ?? -Infinity;
  const events: string[] = [];
  for (const row of history.events) {
    const e = interpreter.read(row);
    if (row.occurredMs < from) continue;
    const relationships = [{ objectId: objectId.citizen(history.citizenId), qualifier: 'citizen' }];
    const seen = new Set<string>();
    for (const ref of e.objects) {
      const id = refId(history.citizenId, ref);
      if (ref.kind === 'case' || ref.kind === 'handover' || ref.kind === 'unit') named.add(`${ref.kind}\u0000${ref.id}`);
      const key = `${id}\u0000${ref.qualifier}`;
      if (seen.has(key)) continue;
      seen.add(key);
      relationships.push({ objectId: id, qualifier: ref.qualifier });
    }
    events.push(
      json({
        id: e.eventId,
        type: e.type,
        time: utc(e.occurredMs),
        attributes: e.attributes.map((a) => ({ name: a.key, value: a.type === 'time' ? utc(a.value as number) : a.value })),
        relationships,
      }),
    );
  }
  return { interpreter, events };
}

/** The citizen, and the cases and handovers the period's events name, as OCEL objects. */
function citizenObjects(interpreter: CitizenInterpreter, named: Set<string>, units: UnitDirectory, unknownUnits: Set<string>): OcelObject[] {
  const c = interpreter.citizenId;
  const isNamed = (kind: ObjectKind, id: string) => named.has(`${kind}\u0000${id}`);
  const unitRelation = (unitId: string | null, qualifier: string) => {
    if (unitId === null) return [];
    if (!units.isKnownUnit(unitId)) unknownUnits.add(unitId);
    return [{ objectId: objectId.unit(unitId), qualifier }];
  };
  for (const key of named) {
    const [kind, id] = key.split('\u0000') as [string, string];
    if (kind === 'unit' && !units.isKnownUnit(id)) unknownUnits.add(id);
  }
  const objects: OcelObject[] = [];
  const citizen: OcelObject = {
    id: objectId.citizen(c),
    type: 'Citizen',
    attributes: [
      ...(interpreter.birthYear !== null && Number.isSafeInteger(interpreter.birthYear) ? [{ name: 'birthYear', time: STATIC, value: interpreter.birthYear }] : []),
      ...interpreter.municipalities.map((m) => ({ name: 'municipality', time: utc(m.ms), value: m.municipality })),
    ],
    relationships: interpreter.relatives.map((r) => ({ objectId: objectId.relative(r.relativeId), qualifier: r.qualifier })),
  };
  objects.push(citizen);
  for (const [caseId, state] of interpreter.cases) {
    if (!isNamed('case', caseId)) continue;
    citizen.relationships.push({ objectId: objectId.case(c, caseId), qualifier: 'case' });
    objects.push({
      id: objectId.case(c, caseId),
      type: 'Case',
      attributes: [
        ...state.changes.map((ch) => ({ name: 'status', time: utc(ch.ms), value: ch.status })),
        ...(state.closeReason === null ? [] : [{ name: 'closeReason', time: utc(state.changes.find((ch) => ch.status === 'closed')!.ms), value: state.closeReason }]),
      ],
      relationships: unitRelation(state.unitId, 'responsible unit'),
    });
  }
  for (const [handoverId, state] of interpreter.handovers) {
    if (!isNamed('handover', handoverId)) continue;
    citizen.relationships.push({ objectId: objectId.handover(c, handoverId), qualifier: 'handover' });
    objects.push({
      id: objectId.handover(c, handoverId),
      type: 'Handover',
      attributes: [
        ...(state.kind === null ? [] : [{ name: 'kind', time: STATIC, value: state.kind }]),
        ...state.changes.map((ch) => ({ name: 'status', time: utc(ch.ms), value: ch.status })),
      ],
      relationships: [...unitRelation(state.fromUnitId, 'from unit'), ...unitRelation(state.toUnitId, 'to unit')],
    });
  }
  return objects;
}

function unitObject(units: UnitDirectory, unitId: string): OcelObject {
  const unit = units.get(unitId);
  return {
    id: objectId.unit(unitId),
    type: 'Unit',
    attributes: unit
      ? [
          { name: 'name', time: STATIC, value: unit.name },
          { name: 'administration', time: STATIC, value: unit.administration },
          { name: 'sector', time: STATIC, value: unit.sector },
          { name: 'municipality', time: STATIC, value: unit.municipality },
        ]
      : [],
    relationships: [],
  };
}

export interface OcelSource {
  /** A fresh pass over the selected citizens' histories, in the same order each time. */
  citizens(): AsyncIterable<CitizenHistory>;
  /** Relative ids the selected citizens' events name, each once. */
  relativeIds(): AsyncIterable<string>;
}

/** The whole OCEL 2.0 JSON document as chunks. */
export async function* ocelDocument(
  source: OcelSource,
  filter: ExportFilter,
  units: UnitDirectory,
  stats: ExportStats = { citizens: 0, events: 0 },
): AsyncGenerator<string, ExportStats, undefined> {
  const buffer = new ChunkBuffer();
  const eventTypes = EVENT_TYPES.map((name) => ({ name, attributes: EXPORTED_ATTRIBUTES[name].map((a) => ({ name: a.key, type: OCEL_TYPE[a.type] })) }));
  yield `{"objectTypes":${json(OCEL_OBJECT_TYPES)},\n"eventTypes":${json(eventTypes)},\n"events":[`;

  let first = true;
  const list = (texts: readonly string[]): string => {
    if (texts.length === 0) return '';
    const text = (first ? '\n' : ',\n') + texts.join(',\n');
    first = false;
    return text;
  };

  for await (const history of source.citizens()) {
    const { events } = citizenEvents(history, filter, new Set());
    if (events.length === 0) continue;
    stats.citizens++;
    stats.events += events.length;
    const chunk = buffer.add(list(events));
    if (chunk !== undefined) yield chunk;
  }
  const eventsDone = buffer.add('],\n"objects":[');
  if (eventsDone !== undefined) yield eventsDone;

  // Second pass: the same citizens from the same snapshot, now for their objects.
  first = true;
  const unknownUnits = new Set<string>();
  for await (const history of source.citizens()) {
    const named = new Set<string>();
    const { interpreter, events } = citizenEvents(history, filter, named);
    if (events.length === 0) continue;
    const chunk = buffer.add(list(citizenObjects(interpreter, named, units, unknownUnits).map(json)));
    if (chunk !== undefined) yield chunk;
  }
  for await (const relativeId of source.relativeIds()) {
    const chunk = buffer.add(list([json({ id: objectId.relative(relativeId), type: 'Relative', attributes: [], relationships: [] })]));
    if (chunk !== undefined) yield chunk;
  }
  // Every configured unit, and any unit the events name that the configuration no longer has.
  const unitIds = [...units.units.map((u) => u.id), ...[...unknownUnits].filter((id) => !units.isKnownUnit(id))];
  const rest = buffer.add(list(unitIds.map((id) => json(unitObject(units, id)))) + '\n]}\n') ?? buffer.flush();
  if (rest !== undefined) yield rest;
  return stats;
}
