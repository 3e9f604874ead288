import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { renderEventDocs } from './docs.ts';

describe('generated event docs', () => {
  it('are current with the catalog (run `pnpm docs:events` after changing it)', () => {
    const docs = renderEventDocs();
    expect(readFileSync(new URL('../../../../docs/events.md', import.meta.url), 'utf8')).toBe(docs.markdown);
    expect(readFileSync(new URL('../../../../docs/events.schema.json', import.meta.url), 'utf8')).toBe(docs.jsonSchema);
  });
});
