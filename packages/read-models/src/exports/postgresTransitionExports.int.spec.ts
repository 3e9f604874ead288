/**
 * The exports contract (exportsContract.ts) on real PostgreSQL read models, each in a fresh schema
 * dropped afterwards (DATABASE_URL, else testcontainers, else skipped with the reason); then the same
 * events exported from SQLite and PostgreSQL byte for byte, and the snapshot's transaction seen ending
 * on the server when a stream ends, fails or is abandoned.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instantMs } from '@tracker/domain';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { ALL_UNITS, type DataScope } from '@tracker/security';
import { PostgresReadModel } from '../postgres/postgresReadModel.ts';
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import type { ExportFilter } from './exportSnapshot.ts';
import { EXPORT_END, exportProjection, exportUnits, exportsContract, generatedExportEvents, readAll } from './exportsContract.ts';
import { PostgresTransitionExports } from './postgresTransitionExports.ts';
import { SqliteTransitionExports } from './sqliteTransitionExports.ts';

const database = await testDatabase();
const { skipped } = database;
if (skipped !== undefined) reportSkipped('PostgresTransitionExports tests', skipped);
const url = database.url ?? '';
const schemas: string[] = [];
const newSchema = () => {
  const schema = freshSchemaName();
  schemas.push(schema);
  return schema;
};

afterAll(async () => {
  if (database.skipped !== undefined) return;
  for (const schema of schemas) await dropSchema(url, schema);
  await database.stop();
});

const suite = skipped === undefined ? describe : describe.skip;

suite(`PostgreSQL exports${skipped !== undefined ? ` (${skipped})` : ''}`, () => {
  exportsContract('PostgreSQL', {
    open: async (options, { pageSize }) => {
      const model = await PostgresReadModel.open({ connectionString: url, schema: newSchema(), ...options });
      const exports = new PostgresTransitionExports(model, { connectionString: url, units: options.projection.units, ...(pageSize === undefined ? {} : { pageSize }) });
      return {
        applyBatch: (events) => model.applyBatch(events),
        exports,
        close: async () => {
          await exports.close();
          await model.close();
        },
      };
    },
  });

  describe('the same events, exported from SQLite and from PostgreSQL', () => {
    let dir: string;
    let sqlite: SqliteReadModel;
    let postgres: PostgresReadModel;
    let fromSqlite: SqliteTransitionExports;
    let fromPostgres: PostgresTransitionExports;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'exports-both-'));
      sqlite = new SqliteReadModel({ file: join(dir, 'rm.sqlite'), projection: exportProjection, configFingerprint: 'exports' });
      postgres = await PostgresReadModel.open({ connectionString: url, schema: newSchema(), projection: exportProjection, configFingerprint: 'exports' });
      const { stored } = generatedExportEvents();
      // In different batches: what is stored must not depend on how it arrived.
      for (let i = 0; i < stored.length; i += 2_000) sqlite.applyBatch(stored.slice(i, i + 2_000));
      for (let i = 0; i < stored.length; i += 777) await postgres.applyBatch(stored.slice(i, i + 777));
      fromSqlite = new SqliteTransitionExports(sqlite, { units: exportUnits, pageSize: 50 });
      fromPostgres = new PostgresTransitionExports(postgres, { connectionString: url, units: exportUnits, pageSize: 23 });
    });
    afterAll(async () => {
      await fromPostgres?.close();
      await postgres?.close();
      sqlite?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const cases: [string, ExportFilter, DataScope][] = [
      ['everything', { toMs: EXPORT_END }, ALL_UNITS],
      ['a period', { fromMs: instantMs('2024-01-01T00:00:00+01:00'), toMs: instantMs('2025-01-01T00:00:00+01:00') }, ALL_UNITS],
      ['a unit', { toMs: EXPORT_END, unitId: '0751-voksen-handicap' }, ALL_UNITS],
      ['a cohort', { toMs: EXPORT_END, municipality: '0751', birthYearFrom: 2005, birthYearTo: 2008 }, ALL_UNITS],
      ['a data scope', { toMs: EXPORT_END }, { allUnits: false, units: ['0751-ungeenhed', '0751-jobcenter'] }],
    ];

    it.each(cases)('writes byte-identical XES and OCEL: %s', async (_, filter, scope) => {
      const ids = await fromSqlite.citizenIds(filter, scope);
      expect(ids.length).toBeGreaterThan(0);
      expect(await fromPostgres.citizenIds(filter, scope)).toEqual(ids);
      const xes = await readAll(fromSqlite.xes(filter, scope));
      expect(await readAll(fromPostgres.xes(filter, scope))).toBe(xes);
      expect(await readAll(fromPostgres.xes({ ...filter, citizenIds: ids }, scope))).toBe(xes);
      expect(await readAll(fromPostgres.ocel(filter, scope))).toBe(await readAll(fromSqlite.ocel(filter, scope)));
    });
  });

  describe('the snapshot on the server', () => {
    const applicationName = `exports-test-${process.pid}`;
    let pool: pg.Pool;
    let model: PostgresReadModel;
    let exports: PostgresTransitionExports;
    const transactions = async () => {
      const { rows } = await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND backend_xid IS NULL AND state LIKE 'idle in transaction%'`,
        [applicationName],
      );
      return Number(rows[0]!.n);
    };

    beforeAll(async () => {
      pool = new pg.Pool({ connectionString: url, application_name: applicationName, max: 3 });
      model = await PostgresReadModel.open({ connectionString: url, schema: newSchema(), projection: exportProjection, configFingerprint: 'exports' });
      const { stored } = generatedExportEvents();
      await model.applyBatch(stored.slice(0, 3_000));
      exports = new PostgresTransitionExports(model, { pool, units: exportUnits, pageSize: 10 });
    });
    afterAll(async () => {
      await exports?.close();
      await model?.close();
      await pool?.end();
    });

    it('holds a read-only transaction while streaming, and ends it when the stream ends or is abandoned', async () => {
      const stream = exports.ocel({ toMs: EXPORT_END }, ALL_UNITS);
      await stream.next();
      expect(exports.openSnapshots).toBe(1);
      expect(await transactions()).toBe(1);
      await stream.return({ citizens: 0, events: 0 });
      expect(exports.openSnapshots).toBe(0);
      expect(await transactions()).toBe(0);

      await readAll(exports.xes({ toMs: EXPORT_END }, ALL_UNITS));
      expect(exports.openSnapshots).toBe(0);
      expect(await transactions()).toBe(0);
      // The pool got every client back.
      expect(pool.totalCount - pool.idleCount).toBe(0);
    });

    it('releases the snapshot when a read fails', async () => {
      const broken = new PostgresTransitionExports({ schema: 't_does_not_exist' }, { pool, units: exportUnits });
      await expect(readAll(broken.xes({ toMs: EXPORT_END }, ALL_UNITS))).rejects.toThrow(/does not exist/);
      expect(broken.openSnapshots).toBe(0);
      expect(await transactions()).toBe(0);
      expect(pool.totalCount - pool.idleCount).toBe(0);
    });

    it('fails the stream, gives the client back and keeps the process up when the connection is lost mid-export', async () => {
      const stream = exports.xes({ toMs: EXPORT_END }, ALL_UNITS);
      await stream.next();
      await stream.next();
      expect(exports.openSnapshots).toBe(1);
      const { rows } = await pool.query<{ ended: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1 AND state LIKE 'idle in transaction%'`,
        [applicationName],
      );
      expect(rows).toEqual([{ ended: true }]);
      await expect(readAll(stream)).rejects.toThrow();
      expect(exports.openSnapshots).toBe(0);
      expect(pool.totalCount - pool.idleCount).toBe(0);
      // The pool still serves exports.
      expect(await readAll(exports.xes({ toMs: EXPORT_END, citizenIds: [] }, ALL_UNITS))).toContain('</log>');
    });

    it('refuses bad options, naming them', () => {
      expect(() => new PostgresTransitionExports({ schema: 'Bad-Name' }, { pool, units: exportUnits })).toThrow(/schema/);
      expect(() => new PostgresTransitionExports(model, { pool, units: exportUnits, pageSize: 0 })).toThrow(/pageSize/);
      expect(() => new PostgresTransitionExports(model, { units: exportUnits })).toThrow(/connectionString or pool/);
    });
  });
});
