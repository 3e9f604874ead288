/**
 * The PostgreSQL key store against a real server (DATABASE_URL, else testcontainers, else skipped with
 * the reason): the unchanged CitizenKeyStore contract — each handle its own pool, as separate processes
 * would be — then what only PostgreSQL shows: what DELETE + VACUUM really leaves in a heap page, why an
 * erasure waits for older snapshots, the least-privileged role of ingest, and crypto-shredding with the
 * PostgreSQL event store.
 *
 * The files are read from disk with pg_read_binary_file(pg_relation_filepath(…)) after a CHECKPOINT
 * (superuser only; without it those cases are skipped with the reason).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, type TransitionEvent } from '@tracker/domain';
import { PostgresEventStore } from '@tracker/event-store';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { KeyRotationIncompleteError, KeyStoreNotFoundError, PersonalDataErasedError } from './errors.ts';
import { encryptPersonalInEvents } from './events.ts';
import { generateKeyEncryptionKey, parseKeyEncryptionKey } from './keyEncryptionKey.ts';
import { fragmentsOf, keyStoreContract, wrappedKey } from './keyStoreContract.ts';
import { PersonalDataProtector, unwrapDataKey, type EncryptedPersonal } from './personalData.ts';
import { KeyStoreScrubError, POSTGRES_KEY_STORE_SCHEMA_VERSION, PostgresKeyStore } from './postgresKeyStore.ts';

const database = await testDatabase();
const skipped = database.skipped;
if (skipped !== undefined) reportSkipped('PostgresKeyStore tests', skipped);
const url = database.url ?? '';

/** Every schema this file creates, dropped at the end. */
const schemas: string[] = [];
const fresh = () => {
  const schema = freshSchemaName();
  schemas.push(schema);
  return schema;
};

async function withSql<T>(work: (sql: pg.Client) => Promise<T>, connectionString = url): Promise<T> {
  const sql = new pg.Client({ connectionString });
  await sql.connect();
  try {
    return await work(sql);
  } finally {
    await sql.end();
  }
}

/** Reading relation files and CHECKPOINT need a superuser (the test database's user normally is). */
const filesUnreadable =
  skipped === undefined && !(await withSql(async (sql) => (await sql.query<{ rolsuper: boolean }>('SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).rows[0]!.rolsuper))
    ? 'the test database user is not a superuser: relation files cannot be read'
    : undefined;
if (filesUnreadable) reportSkipped('PostgresKeyStore file scans', filesUnreadable);

/** The file's bytes, NULL when it does not exist (PostgreSQL 15 has no two-argument form with missing_ok). */
const READ_FILE = (path: string) => `pg_read_binary_file(${path}, 0, (pg_stat_file(${path}, true)).size, true)`;

/**
 * For each needle, the files on disk of every relation in the schemas (tables, partitions, indexes, TOAST
 * tables and their indexes; main fork, free-space map, visibility map) that hold it, after a CHECKPOINT
 * wrote every dirty buffer out.
 */
async function filesHoldingEach(sql: pg.Client, inSchemas: string[], needles: readonly Uint8Array[]): Promise<string[][]> {
  await sql.query('CHECKPOINT');
  const { rows } = await sql.query<{ paths: string[] }>(
    `WITH own AS (
       SELECT c.oid, c.reltoastrelid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1)
     ), rels AS (
       SELECT oid FROM own
       UNION SELECT reltoastrelid FROM own WHERE reltoastrelid <> 0
       UNION SELECT i.indexrelid FROM pg_index i JOIN own ON i.indrelid = own.reltoastrelid
     ), files AS MATERIALIZED (
       SELECT path, coalesce(${READ_FILE('path')}, '') AS bytes
       FROM (SELECT pg_relation_filepath(oid) || fork AS path FROM rels, unnest(ARRAY['', '_fsm', '_vm']) AS fork
             WHERE pg_relation_filepath(oid) IS NOT NULL) AS paths
     )
     SELECT coalesce(array_agg(f.path ORDER BY f.path) FILTER (WHERE position(n.needle IN f.bytes) > 0), '{}') AS paths
     FROM unnest($2::bytea[]) WITH ORDINALITY AS n(needle, i) CROSS JOIN files f
     GROUP BY n.i ORDER BY n.i`,
    [inSchemas, needles.map((needle) => Buffer.from(needle))],
  );
  return rows.map((r) => r.paths);
}

const filesHolding = async (sql: pg.Client, inSchemas: string[], needle: Uint8Array) => (await filesHoldingEach(sql, inSchemas, [needle]))[0]!;

afterAll(async () => {
  if (skipped !== undefined) return;
  for (const schema of schemas) await dropSchema(url, schema);
  await database.stop();
});

(skipped === undefined ? describe : describe.skip)(`PostgreSQL key store${skipped ? ` (${skipped})` : ''}`, () => {
  keyStoreContract(
    'PostgreSQL',
    async () => {
      const schema = fresh();
      return {
        open: () => PostgresKeyStore.open({ connectionString: url, schema, maxConnections: 2 }),
        storedBytesContain: async (needles) => (await withSql((sql) => filesHoldingEach(sql, [schema], needles))).map((files) => files.length > 0),
        dispose: async () => {},
      };
    },
    { filesUnreadable },
  );

  describe('PostgresKeyStore', () => {
    let schema: string;
    const stores: PostgresKeyStore[] = [];
    const open = async (options: Partial<Parameters<typeof PostgresKeyStore.open>[0]> = {}) => {
      const store = await PostgresKeyStore.open({ connectionString: url, schema, ...options });
      stores.push(store);
      return store;
    };

    beforeEach(() => {
      schema = fresh();
    });
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
    });

    it.skipIf(filesUnreadable)('plain DELETE + VACUUM would not do: the last row on a page stays in its free space; VACUUM FULL removes it', async () => {
      await withSql(async (sql) => {
        await sql.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".naive (citizen_id text PRIMARY KEY, wrapped bytea NOT NULL)`);
        const keys = Array.from({ length: 40 }, () => randomBytes(60));
        for (const [i, key] of keys.entries()) await sql.query(`INSERT INTO "${schema}".naive VALUES ($1, $2)`, [`c-${i}`, key]);
        const [middle, last] = [keys[20]!, keys[39]!];
        await sql.query(`DELETE FROM "${schema}".naive WHERE citizen_id IN ('c-20', 'c-39')`);
        expect(await filesHolding(sql, [schema], last)).toHaveLength(1); // deleted, still in the heap
        await sql.query(`VACUUM "${schema}".naive`);
        // Compaction moves later rows over the middle one; nothing moves over the last one, and nothing zeroes it.
        expect(await filesHolding(sql, [schema], middle)).toEqual([]);
        expect(await filesHolding(sql, [schema], last)).toHaveLength(1);
        await sql.query(`VACUUM FULL "${schema}".naive`);
        expect(await filesHolding(sql, [schema], last)).toEqual([]);
      });
    });

    it.skipIf(filesUnreadable)('an erasure waits for snapshots older than it before rewriting, and can be retried when they last too long', async () => {
      const hasty = await open({ scrubWaitMs: 0 });
      const patient = await open();
      const [first, second] = [wrappedKey(), wrappedKey()];
      await hasty.insertIfAbsent('c-1', first);
      await hasty.insertIfAbsent('c-2', second);
      const firstFile = await withSql(async (sql) => (await filesHolding(sql, [schema], first.wrapped))[0]!);

      await withSql(async (reader) => {
        // A report (or a pg_dump) that started before the erasures: it may still read the old row versions.
        await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        await reader.query(`SELECT count(*) FROM "${schema}".citizen_keys`);

        await expect(hasty.erase('c-1', '2025-03-02T09:00:00.000Z')).rejects.toThrow(KeyStoreScrubError);
        // Unreadable by SQL at once, though its bytes wait for the old snapshot to end.
        await expect(hasty.find('c-1')).resolves.toEqual({ state: 'erased', erasedAt: '2025-03-02T09:00:00.000Z' });
        expect(await withSql((sql) => filesHolding(sql, [schema], first.wrapped))).toEqual([firstFile]);

        // With time to wait, an erasure waits for the reader rather than copying the old version along.
        let settled = false;
        const erasing = patient.erase('c-2', '2025-03-02T09:00:00.000Z').finally(() => (settled = true));
        while ((await patient.find('c-2')).state !== 'erased'); // its key is cleared: it is waiting now
        expect(settled).toBe(false);
        await reader.query('COMMIT');
        await expect(erasing).resolves.toEqual({ erased: true });
      });
      expect(await withSql((sql) => filesHolding(sql, [schema], second.wrapped))).toEqual([]);

      // Retrying the first erasure finishes it.
      await expect(patient.erase('c-1', '2025-03-03T09:00:00.000Z')).resolves.toEqual({ erased: false });
      expect(await withSql((sql) => filesHolding(sql, [schema], first.wrapped))).toEqual([]);
      await expect(patient.find('c-1')).resolves.toEqual({ state: 'erased', erasedAt: '2025-03-02T09:00:00.000Z' });
      // The partition's old file was truncated at commit (and is unlinked at the checkpoint).
      const old = await withSql(async (sql) => (await sql.query<{ bytes: Buffer | null }>(`SELECT ${READ_FILE('$1')} AS bytes`, [firstFile])).rows[0]!.bytes);
      expect(old === null || old.length === 0).toBe(true);
    });

    it('ingest’s role needs only SELECT and INSERT: it binds, finds and stores keys, and cannot erase', async () => {
      const owner = await open();
      await owner.bindKeyEncryptionKey('0123456789abcdef');
      const role = `t_${randomBytes(6).toString('hex')}_ingest`;
      await withSql(async (sql) => {
        await sql.query(`CREATE ROLE ${role} LOGIN`);
        await sql.query(`GRANT USAGE ON SCHEMA "${schema}" TO ${role}`);
        await sql.query(`GRANT SELECT, INSERT ON "${schema}".citizen_keys, "${schema}".key_store_meta TO ${role}`);
        await sql.query(`GRANT SELECT ON "${schema}".key_store_schema TO ${role}`);
      });
      const asRole = new URL(url);
      asRole.username = role;
      try {
        const ingest = await PostgresKeyStore.open({ connectionString: asRole.toString(), schema });
        try {
          await expect(ingest.bindKeyEncryptionKey('0123456789abcdef')).resolves.toBe('0123456789abcdef');
          const key = wrappedKey();
          await expect(ingest.insertIfAbsent('c-1', key)).resolves.toEqual({ state: 'active', key });
          await expect(owner.find('c-1')).resolves.toEqual({ state: 'active', key });
          await expect(ingest.erase('c-1', '2025-03-02T09:00:00.000Z')).rejects.toThrow(/SQLSTATE 42501/);
          // Nor rotate them: that is the owner's (the API's role) too.
          await expect(ingest.rewrapKey('c-1', key, { kekId: 'fedcba9876543210', wrapped: new Uint8Array(randomBytes(60)) })).rejects.toThrow(/SQLSTATE 42501/);
          await expect(ingest.rebindKeyEncryptionKey('0123456789abcdef', 'fedcba9876543210')).rejects.toThrow(/SQLSTATE 42501/);
          await expect(ingest.find('c-1')).resolves.toEqual({ state: 'active', key });
        } finally {
          await ingest.close();
        }
      } finally {
        await withSql(async (sql) => {
          await sql.query(`DROP OWNED BY ${role}`);
          await sql.query(`DROP ROLE ${role}`);
        });
      }
    });

    it('a key stored under the old KEK while the rotation rebinds is either counted or waits for the rebind: it never slips in between', async () => {
      // No waiting for older snapshots: a rebind that went past the open insert would fail at once on its rewrite.
      const store = await open({ scrubWaitMs: 0 });
      await store.bindKeyEncryptionKey('aaaaaaaaaaaaaaaa');
      await withSql(async (late) => {
        // A process that still has only the old KEK stores a key; its transaction is not committed yet.
        await late.query('BEGIN');
        await late.query(`INSERT INTO "${schema}".citizen_keys (citizen_id, kid, kek_id, wrapped, created_at) VALUES ('c-late', 'kkkkkkkkkkkkkkkk', 'aaaaaaaaaaaaaaaa', $1, now())`, [
          randomBytes(60),
        ]);
        let settled = false;
        const rebinding = store
          .rebindKeyEncryptionKey('aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb')
          .then(
            () => 'rebound',
            (error: unknown) => error,
          )
          .finally(() => (settled = true));
        // The rebind waits for the insert's lock rather than counting past the uncommitted key.
        const waiting = async () =>
          (await withSql((sql) => sql.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`LOCK TABLE "${schema}".citizen_keys%`])))
            .rowCount! > 0;
        while (!settled && !(await waiting()));
        await late.query('COMMIT');
        const outcome = await rebinding;
        expect(outcome).toBeInstanceOf(KeyRotationIncompleteError);
        expect((outcome as KeyRotationIncompleteError).remaining).toBe(1);
      });
      await expect(store.bindKeyEncryptionKey('bbbbbbbbbbbbbbbb')).resolves.toBe('aaaaaaaaaaaaaaaa');
    });

    it('with create: false, refuses a schema that holds no key store instead of making an empty one', async () => {
      await expect(PostgresKeyStore.open({ connectionString: url, schema, create: false })).rejects.toThrow(KeyStoreNotFoundError);
      const exists = await withSql(async (sql) => (await sql.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema])).rowCount);
      expect(exists).toBe(0);
      await (await open()).bindKeyEncryptionKey('aaaaaaaaaaaaaaaa');
      const existing = await open({ create: false });
      await expect(existing.bindKeyEncryptionKey('bbbbbbbbbbbbbbbb')).resolves.toBe('aaaaaaaaaaaaaaaa');
    });

    it('creates its tables once, records the schema version, refuses a newer schema and bad options', async () => {
      const store = await open();
      await store.close();
      await open();
      const version = await withSql(async (sql) => (await sql.query(`SELECT version FROM "${schema}".key_store_schema`)).rows);
      expect(version).toEqual([{ version: POSTGRES_KEY_STORE_SCHEMA_VERSION }]);
      await withSql((sql) => sql.query(`UPDATE "${schema}".key_store_schema SET version = version + 1`));
      await expect(open()).rejects.toThrow(/newer than this software supports/);
      await expect(PostgresKeyStore.open({ connectionString: url, schema: 'Bad-Name' })).rejects.toThrow(/schema must be/);
      await expect(PostgresKeyStore.open({ connectionString: url, scrubWaitMs: -1 })).rejects.toThrow(/scrubWaitMs/);
      await expect(PostgresKeyStore.open({})).rejects.toThrow(/connectionString or pool/);
    });

    it('refuses a malformed instant, naming the field', async () => {
      const store = await open();
      await expect(store.insertIfAbsent('c-1', { ...wrappedKey(), createdAt: 'yesterday' })).rejects.toThrow('key.createdAt must be an ISO 8601 instant');
      await expect(store.erase('c-1', 'soon')).rejects.toThrow('erasedAt must be an ISO 8601 instant');
      await expect(store.find('c-1')).resolves.toEqual({ state: 'absent' });
    });
  });

  describe.skipIf(filesUnreadable)('crypto-shredding with the PostgreSQL event store', () => {
    const CITIZENS = 120;
    const ERASED = [0, 1, 37, 64, 118, 119].map((i) => citizenId(i));
    function citizenId(i: number): string {
      return `c-${String(i).padStart(5, '0')}`;
    }
    const nameOf = (i: number) => `Testborger Nummer${String(i).padStart(5, '0')} Hansen`;
    const cprOf = (i: number) => `${String((i % 28) + 1).padStart(2, '0')}0${(i % 9) + 1}${String(80 + (i % 20)).padStart(2, '0')}-${String(1000 + i).padStart(4, '0')}`;

    it('nothing decryptable remains: wrapped keys gone from the key store’s rows and files, the events keep only undecryptable ciphertext and their timelines', async () => {
      const eventSchema = fresh();
      const keySchema = fresh();
      const kek = parseKeyEncryptionKey(generateKeyEncryptionKey());
      const clock = new ManualClock('2025-03-01T10:00:00Z');
      const events = await PostgresEventStore.open({ connectionString: url, schema: eventSchema, clock });
      let keys = await PostgresKeyStore.open({ connectionString: url, schema: keySchema });
      let protector = await PersonalDataProtector.open({ kek, store: keys, clock });
      const sql = new pg.Client({ connectionString: url });
      await sql.connect();
      try {
        // Ingestion as services/ingest does it: personal is encrypted on its way to the event store.
        const history: TransitionEvent[] = Array.from({ length: CITIZENS }, (_, i) => [
          {
            id: randomUUID(),
            type: 'CitizenRegistered',
            citizenId: citizenId(i),
            occurredAt: '2025-01-02T09:00:00+01:00',
            source: 'dubu',
            data: { birthDate: '2008-05-17', municipality: '0751', disability: i % 3 === 0, personal: { name: nameOf(i), cpr: cprOf(i) } },
          } as TransitionEvent,
          { id: randomUUID(), type: 'CaseOpened', citizenId: citizenId(i), occurredAt: '2025-01-03T09:00:00+01:00', source: 'dubu', data: { caseId: `k-${i}`, unitId: 'bf-myndighed' } } as TransitionEvent,
        ]).flat();
        for (let i = 0; i < history.length; i += 40) await events.appendBatch(await encryptPersonalInEvents(protector, history.slice(i, i + 40)));

        const personalOf = async (id: string) => ((await events.readStream(id))[0]!.data as unknown as { personal: EncryptedPersonal }).personal;
        const rowsText = async () => (await sql.query<{ text: string }>(`SELECT string_agg(data::text, '') AS text FROM "${eventSchema}".events`)).rows[0]!.text;
        const assertNoPlaintext = async () => {
          const text = await rowsText();
          const plains = Array.from({ length: CITIZENS }, (_, i) => [nameOf(i), cprOf(i), cprOf(i).replace('-', '')]).flat();
          for (const plain of plains) expect(text).not.toContain(plain);
          expect((await filesHoldingEach(sql, [eventSchema, keySchema], plains.map((plain) => Buffer.from(plain)))).flat()).toEqual([]);
        };
        await assertNoPlaintext();

        // What must disappear: each erased citizen's wrapped key (on disk now) and data key (never on disk).
        const secrets = new Map<string, { wrapped: Buffer; dataKey: Buffer }>();
        for (const id of ERASED) {
          const stored = await keys.find(id);
          if (stored.state !== 'active') throw new Error('expected an active key');
          secrets.set(id, { wrapped: Buffer.from(stored.key.wrapped), dataKey: unwrapDataKey(kek, id, stored.key) });
        }
        for (const { wrapped, dataKey } of secrets.values()) {
          expect(await filesHolding(sql, [keySchema], wrapped)).toHaveLength(1); // the scan is not vacuous
          expect(await filesHolding(sql, [eventSchema, keySchema], dataKey)).toEqual([]);
        }

        for (const id of ERASED) await expect(protector.eraseCitizenKey(id)).resolves.toEqual({ erased: true });

        const check = async (phase: string) => {
          const keyRows = await sql.query<{ wrapped: Buffer | null }>(`SELECT wrapped FROM "${keySchema}".citizen_keys WHERE citizen_id = ANY($1)`, [ERASED]);
          expect(keyRows.rows.map((r) => r.wrapped)).toEqual(ERASED.map(() => null));
          // Not even a part of either key (every 8-byte window), anywhere in either store's files.
          const ids = [...secrets.keys()];
          const fragments = ids.map((id) => [...fragmentsOf(secrets.get(id)!.wrapped), ...fragmentsOf(secrets.get(id)!.dataKey)]);
          const found = await filesHoldingEach(sql, [eventSchema, keySchema], fragments.flat());
          const remnants = fragments.map((own, i) => found.slice(i * own.length, (i + 1) * own.length).flat());
          expect(remnants, `${phase}: files holding fragments of each erased citizen's keys`).toEqual(ids.map(() => []));
          for (const id of ids) await expect(protector.decryptPersonal(id, await personalOf(id))).resolves.toBeNull();
          await assertNoPlaintext();
        };
        await check('while running');

        // Citizens not erased still decrypt; erased ones keep their pseudonymous timeline.
        for (const i of [2, 60, 117]) await expect(protector.decryptPersonal(citizenId(i), await personalOf(citizenId(i)))).resolves.toEqual({ name: nameOf(i), cpr: cprOf(i) });
        for (const id of ERASED) {
          const stream = await events.readStream(id);
          expect(stream.map((e) => e.type)).toEqual(['CitizenRegistered', 'CaseOpened']);
          expect(stream[0]!.data).toMatchObject({ birthDate: '2008-05-17', municipality: '0751' });
          expect(stream[1]!.data).toEqual({ caseId: expect.any(String), unitId: 'bf-myndighed' });
        }

        // After a restart: still nothing, still null, and the erasure holds.
        await keys.close();
        keys = await PostgresKeyStore.open({ connectionString: url, schema: keySchema });
        protector = await PersonalDataProtector.open({ kek, store: keys, clock });
        await check('after restart');
        await expect(protector.encryptPersonal(ERASED[0]!, { name: 'new' })).rejects.toThrow(PersonalDataErasedError);
        expect((await keys.erasures()).map((e) => e.citizenId).sort()).toEqual([...ERASED].sort());
      } finally {
        await sql.end();
        await keys.close();
        await events.close();
      }
    });
  });
});
