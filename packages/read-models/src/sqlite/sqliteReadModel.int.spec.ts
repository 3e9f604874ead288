/** The read-model contract on the embedded SQLite adapter (one temporary file per place). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { SqliteReadModel } from './sqliteReadModel.ts';
import { readModelContract } from '../contract/readModelContract.ts';

const dir = mkdtempSync(join(tmpdir(), 'readmodel-contract-'));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

readModelContract('SQLite', {
  place: async () => join(dir, `rm-${++files}.sqlite`),
  open: async (file, options) => new SqliteReadModel({ file, ...options }),
  close: async (model) => model.close(),
  derivedRows: async (model, table, columns) =>
    model.database.prepare(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY citizen_id`).all() as Record<string, unknown>[],
});
