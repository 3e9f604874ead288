/** Renders the event catalog as Markdown and JSON Schema (draft 2020-12) from the zod schemas. */
import { z } from 'zod';
import { EnvelopeSchema, EVENT_TYPES, eventDataSchemas } from './catalog.ts';

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema>; required?: string[]; enum?: unknown[]; items?: JsonSchema; format?: string; pattern?: string; minimum?: number; maximum?: number; anyOf?: JsonSchema[] };

function describeField(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (schema.type === 'array' && schema.items) return `array of ${describeField(schema.items)}`;
  if (schema.type === 'object') return schema.properties ? `object { ${Object.keys(schema.properties).join(', ')} }` : 'object';
  const facets = [schema.format, !schema.format && schema.pattern && `pattern \`${schema.pattern}\``, schema.minimum !== undefined && `≥ ${schema.minimum}`, schema.maximum !== undefined && `≤ ${schema.maximum}`].filter(Boolean);
  return `${String(schema.type ?? 'value')}${facets.length ? ` (${facets.join(', ')})` : ''}`.replaceAll('|', '\\|');
}

export function renderEventDocs(): { markdown: string; jsonSchema: string } {
  const envelope = z.toJSONSchema(EnvelopeSchema, { unrepresentable: 'any' }) as JsonSchema;
  const dataSchemas = Object.fromEntries(EVENT_TYPES.map((t) => [t, z.toJSONSchema(eventDataSchemas[t], { unrepresentable: 'any' }) as JsonSchema]));
  const lines = [
    '# Event catalog v1',
    '',
    'Generated from `packages/domain/src/events/catalog.ts` by `pnpm docs:events`; do not edit by hand.',
    'The contract is `../shared/domain.md` §3. JSON Schema: [`events.schema.json`](events.schema.json).',
    '',
    '## Envelope',
    '',
    '| field | required | type |',
    '|---|---|---|',
    ...Object.entries(envelope.properties ?? {}).map(([name, s]) => `| \`${name}\` | ${envelope.required?.includes(name) ? 'yes' : 'no'} | ${describeField(s)} |`),
    '',
    'Besides these rules: a `citizenId` or `relativeId` shaped like a CPR number is refused, free-text fields must not contain one, and every unit id must be in the units configuration.',
    '',
  ];
  for (const type of EVENT_TYPES) {
    const schema = dataSchemas[type]!;
    lines.push(`## ${type}`, '', '| field | required | type |', '|---|---|---|');
    for (const [name, s] of Object.entries(schema.properties ?? {})) {
      lines.push(`| \`${name}\` | ${schema.required?.includes(name) ? 'yes' : 'no'} | ${describeField(s)} |`);
    }
    lines.push('');
  }
  const jsonSchema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Transition tracker event catalog v1',
    oneOf: EVENT_TYPES.map((type) => ({
      ...envelope,
      properties: { ...envelope.properties, type: { const: type }, data: dataSchemas[type] },
    })),
  };
  return { markdown: lines.join('\n'), jsonSchema: JSON.stringify(jsonSchema, null, 2) + '\n' };
}
