/**
 * The PostgreSQL access log against a real server (DATABASE_URL, else testcontainers, else skipped with
 * the reason): the unchanged AccessLog contract, then what only PostgreSQL shows — the triggers against
 * SQL from any connection, an ordinary role with only SELECT and INSERT, and several replicas appending
 * to one chain at once.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { AccessLogNotFoundError } from './accessLog.ts';
import { accessLogContract, accessRead as read } from './accessLogContract.ts';
import { POSTGRES_ACCESS_LOG_SCHEMA_VERSION, PostgresAccessLog, PostgresAccessLogError } from './postgresAccessLog.ts';

const database = await testDatabase();
const skipped = database.skipped;
if (skipped !== undefined) reportSkipped('PostgresAccessLog tests', skipped);
const url = database.url ?? '';
/** Every schema this file creates (one per test: the contract wants an empty log), dropped at the end. */
const schemas: string[] = [];
const fresh = () => {
  const schema = freshSchemaName();
  schemas.push(schema);
  return schema;
};

/** Runs SQL as whoever connects with the test database's URL (a superuser: it can drop the guard). */
async function asOwner<T>(work: (sql: pg.Client) => Promise<T>): Promise<T> {
  const sql = new pg.Client({ connectionString: url });
  await sql.connect();
  try {
    return await work(sql);
  } finally {
    await sql.end();
  }
}

afterAll(async () => {
  if (skipped !== undefined) return;
  for (const schema of schemas) await dropSchema(url, schema);
  await database.stop();
});

(skipped === undefined ? describe : describe.skip)(`PostgreSQL access log${skipped ? ` (${skipped})` : ''}`, () => {
  accessLogContract('PostgreSQL', async (clock) => {
    const schema = fresh();
    const open = () => PostgresAccessLog.open({ connectionString: url, schema, clock });
    const intruder = (statement: string, params: unknown[]) =>
      asOwner(async (sql) => {
        // The owner (or a superuser) can drop the trigger; the chain must still tell.
        await sql.query(`DROP TRIGGER IF EXISTS access_log_append_only ON "${schema}".access_log`);
        await sql.query(statement, params);
      });
    return {
      log: await open(),
      reopen: open,
      tamperActor: (seq, actor) => intruder(`UPDATE "${schema}".access_log SET actor = $1 WHERE seq = $2`, [actor, seq]),
      tamperRemove: (seq) => intruder(`DELETE FROM "${schema}".access_log WHERE seq = $1`, [seq]),
      dispose: async () => {},
    };
  });

  describe('PostgresAccessLog', () => {
    let schema: string;
    let clock: ManualClock;
    const logs: PostgresAccessLog[] = [];
    const open = async (options: Partial<Parameters<typeof PostgresAccessLog.open>[0]> = {}) => {
      const log = await PostgresAccessLog.open({ connectionString: url, schema, clock, ...options });
      logs.push(log);
      return log;
    };

    beforeEach(() => {
      schema = fresh();
      clock = new ManualClock('2025-03-03T08:00:00Z');
    });
    afterEach(async () => {
      for (const log of logs.splice(0)) await log.close();
    });

    it('with create: false, a schema without the log is refused and not made; an existing log opens', async () => {
      await expect(open({ create: false })).rejects.toThrow(AccessLogNotFoundError);
      const found = await asOwner(async (sql) => (await sql.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount);
      expect(found).toBe(0);
      await (await open()).record(read());
      expect(await (await open({ create: false })).entries()).toHaveLength(1);
    });

    it('even SQL from another connection cannot update, delete, truncate, upsert or insert out of sequence', async () => {
      const log = await open();
      await log.recordAll([read(), read({ citizenId: 'c-43' })]);
      const refusals = await asOwner(async (sql) => {
        const refused: Record<string, string | undefined> = {};
        const statements: Record<string, string> = {
          update: `UPDATE "${schema}".access_log SET actor = 'someone-else'`,
          'update of no row': `UPDATE "${schema}".access_log SET actor = 'x' WHERE seq = 999`,
          delete: `DELETE FROM "${schema}".access_log WHERE seq = 1`,
          truncate: `TRUNCATE "${schema}".access_log`,
          upsert: `INSERT INTO "${schema}".access_log (seq, at, actor, actor_role, citizen_id, operation, purpose, hash)
                   VALUES (1, now(), 'x', 'coordinator', 'c-1', 'x', NULL, '\\x00') ON CONFLICT (seq) DO UPDATE SET actor = 'x'`,
          'a gap': `INSERT INTO "${schema}".access_log VALUES (4, now(), 'x', 'coordinator', 'c-1', 'x', NULL, '\\x00')`,
          'two rows with a gap': `INSERT INTO "${schema}".access_log VALUES (3, now(), 'x', 'coordinator', 'c-1', 'x', NULL, '\\x00'), (5, now(), 'x', 'coordinator', 'c-1', 'x', NULL, '\\x00')`,
        };
        for (const [name, statement] of Object.entries(statements)) {
          refused[name] = await sql.query(statement).then(
            () => undefined,
            (error: pg.DatabaseError) => `${error.code} ${error.message}`,
          );
        }
        return refused;
      });
      for (const [name, refusal] of Object.entries(refusals)) expect({ name, refusal }).toEqual({ name, refusal: expect.stringMatching(/^TRAOL the access log is append-only/) });
      expect(await log.entries()).toHaveLength(2);
      await expect(log.verify()).resolves.toEqual({ ok: true, entries: 2 });
    });

    it('an ordinary role granted SELECT and INSERT opens the log its owner created, appends and reads, and can change nothing', async () => {
      const owner = await open();
      await owner.record(read());
      const role = `t_${randomBytes(6).toString('hex')}_api`;
      await asOwner(async (sql) => {
        await sql.query(`CREATE ROLE ${role} LOGIN`);
        await sql.query(`GRANT USAGE ON SCHEMA "${schema}" TO ${role}`);
        await sql.query(`GRANT SELECT, INSERT ON "${schema}".access_log TO ${role}`);
        await sql.query(`GRANT SELECT ON "${schema}".access_log_schema TO ${role}`);
      });
      const asRole = new URL(url);
      asRole.username = role;
      asRole.password = '';
      try {
        const replica = await PostgresAccessLog.open({ connectionString: asRole.toString(), schema, clock });
        try {
          await replica.record(read({ citizenId: 'c-44' }));
          expect((await replica.entries()).map((e) => e.citizenId)).toEqual(['c-42', 'c-44']);
          await expect(replica.verify()).resolves.toEqual({ ok: true, entries: 2 });
        } finally {
          await replica.close();
        }
        const sql = new pg.Client({ connectionString: asRole.toString() });
        await sql.connect();
        try {
          for (const statement of [
            `ALTER TABLE "${schema}".access_log DISABLE TRIGGER access_log_append_only`,
            `DROP TRIGGER access_log_append_only ON "${schema}".access_log`,
            `UPDATE "${schema}".access_log SET actor = 'x'`,
            `DELETE FROM "${schema}".access_log`,
          ]) {
            const error = (await sql.query(statement).catch((e: unknown) => e)) as pg.DatabaseError;
            // 42501: insufficient privilege; 42501/TRAOL either way nothing changes.
            expect({ statement, code: error.code }).toEqual({ statement, code: expect.stringMatching(/^(42501|TRAOL)$/) });
          }
        } finally {
          await sql.end();
        }
      } finally {
        await asOwner(async (sql) => {
          await sql.query(`DROP OWNED BY ${role}`);
          await sql.query(`DROP ROLE ${role}`);
        });
      }
      await expect(owner.verify()).resolves.toEqual({ ok: true, entries: 2 });
    });

    it('two replicas appending at once keep one unbroken chain with dense sequence numbers', async () => {
      const replicas = [await open(), await open(), await open({ maxConnections: 1 })];
      const rounds = 20;
      // Each round, every replica records a burst in the same loop turn: their group commits contend for the chain's head.
      for (let round = 0; round < rounds; round++) {
        await Promise.all(
          replicas.flatMap((replica, r) => Array.from({ length: 5 }, (_, i) => replica.record(read({ actor: `sub-replica-${r}`, citizenId: `c-${round}-${i}` })))),
        );
      }
      const total = rounds * replicas.length * 5;
      for (const replica of replicas) await expect(replica.verify()).resolves.toEqual({ ok: true, entries: total });
      const entries = await replicas[0]!.entries({ limit: 10_000 });
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      for (let r = 0; r < replicas.length; r++) expect(entries.filter((e) => e.actor === `sub-replica-${r}`)).toHaveLength(rounds * 5);
      // Group commit per replica: fewer transactions than entries.
      for (const replica of replicas) expect(replica.stats.commits).toBeLessThan(replica.stats.entries);
    });

    it('one replica sees and continues what another wrote', async () => {
      const [a, b] = [await open(), await open()];
      await a.record(read());
      await b.record(read({ citizenId: 'c-43' }));
      await a.record(read({ citizenId: 'c-44' }));
      expect((await b.entries()).map((e) => [e.seq, e.citizenId])).toEqual([
        [1, 'c-42'],
        [2, 'c-43'],
        [3, 'c-44'],
      ]);
      await expect(b.lookupsOf('c-44')).resolves.toHaveLength(1);
    });

    it('a failed group commit rejects its reads (they must not be answered) and leaves nothing behind', async () => {
      const log = await open();
      await log.record(read());
      // The next append fails inside its transaction (a constraint the database enforces, as a full disk would fail it).
      await asOwner((sql) => sql.query(`ALTER TABLE "${schema}".access_log ADD CONSTRAINT refuse_more CHECK (seq < 2) NOT VALID`));
      const error = await log.recordAll([read({ citizenId: 'c-50' }), read({ citizenId: 'c-51' })]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PostgresAccessLogError);
      expect((error as Error).message).not.toContain('c-50');
      await asOwner((sql) => sql.query(`ALTER TABLE "${schema}".access_log DROP CONSTRAINT refuse_more`));
      await log.record(read({ citizenId: 'c-52' }));
      expect((await log.entries()).map((e) => [e.seq, e.citizenId])).toEqual([
        [1, 'c-42'],
        [2, 'c-52'],
      ]);
      await expect(log.verify()).resolves.toEqual({ ok: true, entries: 2 });
    });

    it('creates its tables once, records the schema version, and refuses a newer schema', async () => {
      const log = await open();
      await log.close();
      await open(); // reopening finds the tables
      const version = await asOwner(async (sql) => (await sql.query(`SELECT version FROM "${schema}".access_log_schema`)).rows);
      expect(version).toEqual([{ version: POSTGRES_ACCESS_LOG_SCHEMA_VERSION }]);
      await asOwner((sql) => sql.query(`UPDATE "${schema}".access_log_schema SET version = version + 1`));
      await expect(open()).rejects.toThrow(/newer than this software supports/);
      await expect(PostgresAccessLog.open({ connectionString: url, schema: 'Bad-Name' })).rejects.toThrow(/schema must be/);
    });
  });
});
