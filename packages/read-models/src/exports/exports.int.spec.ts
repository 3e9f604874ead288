/**
 * The exports contract (exportsContract.ts) on real SQLite read models, each in a file of its own (an
 * export reads its snapshot through a connection of its own), and what only SQLite has to say.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_UNITS } from '@tracker/security';
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import { EXPORT_END, exportProjection, exportUnits, exportsContract } from './exportsContract.ts';
import { SqliteTransitionExports } from './sqliteTransitionExports.ts';

exportsContract('SQLite', {
  open: async (options, { pageSize }) => {
    const dir = mkdtempSync(join(tmpdir(), 'exports-'));
    const model = new SqliteReadModel({ file: join(dir, 'rm.sqlite'), ...options });
    return {
      applyBatch: (events) => model.applyBatch(events),
      exports: new SqliteTransitionExports(model, { units: options.projection.units, ...(pageSize === undefined ? {} : { pageSize }) }),
      close: () => {
        model.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});

describe('SQLite exports', () => {
  it('refuses an in-memory database with a reason, holding nothing', async () => {
    const memory = new SqliteReadModel({ file: ':memory:', projection: exportProjection, configFingerprint: 'exports' });
    const exports = new SqliteTransitionExports(memory, { units: exportUnits });
    await expect(exports.xes({ toMs: EXPORT_END }, ALL_UNITS).next()).rejects.toThrow(/in-memory/);
    expect(exports.openSnapshots).toBe(0);
    memory.close();
  });
});
