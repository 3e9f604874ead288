/**
 * Writes docs/events.md and docs/events.schema.json from the zod catalog, so the documentation
 * cannot drift from validation. Run: pnpm docs:events (a test checks the files are current).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderEventDocs } from '../src/events/docs.ts';

const docs = renderEventDocs();
const root = new URL('../../../docs/', import.meta.url);
writeFileSync(fileURLToPath(new URL('events.md', root)), docs.markdown);
writeFileSync(fileURLToPath(new URL('events.schema.json', root)), docs.jsonSchema);
console.log('wrote docs/events.md and docs/events.schema.json');
