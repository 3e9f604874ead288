/**
 * `pnpm erasures:reapply`: refuses bad input with exit 2 naming the variable (never a value), and
 * re-applies erasures to a key store restored from a backup taken before them — the embedded SQLite
 * files (the backup a copy of the file) and the distributed PostgreSQL schemas (DATABASE_URL, else
 * skipped with the reason; the backup the key rows saved and written back; fresh schemas, dropped at the
 * end). Output is counts only: no citizen id.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import {
  ERASURE_OPERATION,
  generateKeyEncryptionKey,
  parseKeyEncryptionKey,
  PersonalDataProtector,
  PostgresAccessLog,
  PostgresKeyStore,
  SqliteAccessLog,
  SqliteKeyStore,
  type AccessLog,
  type CitizenKeyStore,
  type EncryptedPersonal,
} from '@tracker/security';
import { runErasureReapply } from './erasureReapply.ts';
import { filesContaining } from './testing/securedTracker.ts';
import { ACCESS_LOG_FILE, KEY_STORE_FILE } from './tracker.ts';

const clock = new ManualClock('2026-03-02T10:00:00+01:00');
const citizen = (i: number) => `c-${String(i).padStart(4, '0')}`;
const nameOf = (i: number) => `Testborger ${i}`;
const KEK = generateKeyEncryptionKey();

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tracker-erasures-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function reapply(args: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runErasureReapply(args, env, { out: (line) => out.push(line), err: (line) => err.push(line) }, { cwd: dataDir() });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const protectorOver = (store: CitizenKeyStore) => PersonalDataProtector.open({ kek: parseKeyEncryptionKey(KEK), store, clock });

/** Three citizens with personal data in the store. */
async function register(store: CitizenKeyStore): Promise<Map<string, EncryptedPersonal>> {
  const protector = await protectorOver(store);
  const ciphertexts = new Map<string, EncryptedPersonal>();
  for (let i = 0; i < 3; i++) ciphertexts.set(citizen(i), await protector.encryptPersonal(citizen(i), { name: nameOf(i) }));
  return ciphertexts;
}

/** Erases as the GraphQL mutation does: the access-log entry first, durably, then the key. */
async function erase(store: CitizenKeyStore, accessLog: AccessLog, citizenId: string): Promise<void> {
  await accessLog.record({ actor: 'sub-admin-1', actorRole: 'administrator', citizenId, operation: ERASURE_OPERATION, purpose: 'anmodning om sletning' });
  clock.advance(60_000);
  await expect((await protectorOver(store)).eraseCitizenKey(citizenId)).resolves.toEqual({ erased: true });
}

/** The personal data each citizen's ciphertext decrypts to now (null: erased). */
async function readable(store: CitizenKeyStore, ciphertexts: Map<string, EncryptedPersonal>) {
  const protector = await protectorOver(store);
  return Promise.all([...ciphertexts].map(([id, encrypted]) => protector.decryptPersonal(id, encrypted)));
}

const expectNoIds = (output: string) => expect(output).not.toMatch(/c-\d{4}/);

describe('erasures:reapply refuses what it cannot do: exit 2, naming the variable and never a value', () => {
  it('needs the stores to work on: embedded or postgres', async () => {
    for (const args of [[], ['sqlite'], ['embedded', 'postgres']]) {
      const { code, err } = await reapply(args, {});
      expect(code).toBe(2);
      expect(err).toContain('usage: pnpm erasures:reapply <embedded|postgres>');
    }
  });

  it('a data folder without an access log: nothing is created there', async () => {
    const dir = dataDir();
    new SqliteKeyStore(join(dir, KEY_STORE_FILE)).close();
    const { code, err } = await reapply(['embedded'], { DATA_DIR: dir });
    expect(code).toBe(2);
    expect(err).toContain(`DATA_DIR: holds no access log (${ACCESS_LOG_FILE})`);
    expect(existsSync(join(dir, ACCESS_LOG_FILE))).toBe(false);
  });

  it('a data folder without a key store: nothing is created there', async () => {
    const dir = dataDir();
    await new SqliteAccessLog({ file: join(dir, ACCESS_LOG_FILE) }).close();
    const { code, err } = await reapply(['embedded'], { DATA_DIR: dir });
    expect(code).toBe(2);
    expect(err).toContain(`DATA_DIR: holds no key store (${KEY_STORE_FILE})`);
    expect(existsSync(join(dir, KEY_STORE_FILE))).toBe(false);
  });

  it('postgres: the database and schemas, by the rules of the services', async () => {
    expect((await reapply(['postgres'], {})).err).toMatch(/DATABASE_URL: is required/);
    const secret = 'hunter2';
    const bad = await reapply(['postgres'], { DATABASE_URL: `mysql://root:${secret}@db/tracker`, KEY_STORE_SCHEMA: 'Keys; DROP', ACCESS_LOG_SCHEMA: 'Audit!' });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('DATABASE_URL: must start with postgres:// or postgresql://');
    expect(bad.err).toContain('KEY_STORE_SCHEMA: must be a lower-case SQL identifier');
    expect(bad.err).toContain('ACCESS_LOG_SCHEMA: must be a lower-case SQL identifier');
    expect(bad.err).not.toContain(secret);
    const same = await reapply(['postgres'], { DATABASE_URL: 'postgres://u@db/tracker', KEY_STORE_SCHEMA: 'tracker_x', ACCESS_LOG_SCHEMA: 'tracker_x' });
    expect(same.code).toBe(2);
    expect(same.err).toContain('ACCESS_LOG_SCHEMA: must differ from KEY_STORE_SCHEMA');
  });

  it('as a process (the root package.json script runs this file): exit code 2 and the variable on stderr', async () => {
    const main = new URL('./erasureReapplyMain.ts', import.meta.url).pathname;
    const tsx = new URL('../node_modules/.bin/tsx', import.meta.url).pathname;
    const failure = await promisify(execFile)(tsx, [main, 'postgres'], { env: { ...process.env, DATABASE_URL: '' } }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/DATABASE_URL: is required/);
  });
});

describe('erasures:reapply embedded', () => {
  it('after the key store is restored from a copy taken before two erasures, destroys those two keys again and leaves the third', async () => {
    const dir = dataDir();
    const keyFile = join(dir, KEY_STORE_FILE);
    const backup = join(dataDir(), 'keys.sqlite.backup');
    let store: CitizenKeyStore = new SqliteKeyStore(keyFile);
    const accessLog = new SqliteAccessLog({ file: join(dir, ACCESS_LOG_FILE), clock });
    const ciphertexts = await register(store);
    const wrapped = await Promise.all([0, 1].map(async (i) => Buffer.from(((await store.find(citizen(i))) as { key: { wrapped: Uint8Array } }).key.wrapped)));
    await store.close(); // closing checkpoints the write-ahead log into the file: the copy is the whole store
    copyFileSync(keyFile, backup);

    store = new SqliteKeyStore(keyFile);
    for (const i of [0, 1]) await erase(store, accessLog, citizen(i));
    expect(await readable(store, ciphertexts)).toEqual([null, null, { name: nameOf(2) }]);
    await store.close();
    await accessLog.close();

    // The restore brings the erased keys back: the situation the command is for.
    copyFileSync(backup, keyFile);
    store = new SqliteKeyStore(keyFile);
    expect(await readable(store, ciphertexts)).toEqual([{ name: nameOf(0) }, { name: nameOf(1) }, { name: nameOf(2) }]);
    await store.close();

    const first = await reapply(['embedded'], { DATA_DIR: dir });
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toContain('erasures in the access log: 2');
    expect(first.out).toContain('done: 2 re-applied (keys destroyed again), 0 already erased.');
    expectNoIds(first.out);

    store = new SqliteKeyStore(keyFile);
    try {
      expect(await readable(store, ciphertexts)).toEqual([null, null, { name: nameOf(2) }]);
      // Gone from the files too, as an erasure leaves them; and recorded, so no key is made again.
      for (const key of wrapped) expect(filesContaining(dir, key)).toEqual([]);
      expect((await store.erasures()).map((e) => e.citizenId)).toEqual([citizen(0), citizen(1)]);
      await expect((await protectorOver(store)).encryptPersonal(citizen(0), { name: 'Ny' })).rejects.toThrow(/erased/);
    } finally {
      await store.close();
    }

    // Idempotent.
    const again = await reapply(['embedded'], { DATA_DIR: dir });
    expect(again.code).toBe(0);
    expect(again.out).toContain('done: 0 re-applied (keys destroyed again), 2 already erased.');
  });
});

const database = await testDatabase();
const skipped = database.skipped;
if (skipped !== undefined) reportSkipped('erasures:reapply postgres tests', skipped);
const url = database.url ?? '';
const schemas: string[] = [];
afterAll(async () => {
  if (skipped !== undefined) return;
  for (const schema of schemas) await dropSchema(url, schema);
  await database.stop();
});

(skipped === undefined ? describe : describe.skip)(`erasures:reapply postgres${skipped ? ` (${skipped})` : ''}`, () => {
  const fresh = () => {
    const schema = freshSchemaName();
    schemas.push(schema);
    return schema;
  };

  it('after the key store is restored from before two erasures into a fresh schema, destroys those two keys again and leaves the third', async () => {
    const [keySchema, restoredSchema, logSchema] = [fresh(), fresh(), fresh()];
    const store = await PostgresKeyStore.open({ connectionString: url, schema: keySchema });
    const accessLog = await PostgresAccessLog.open({ connectionString: url, schema: logSchema, clock });
    let restored: CitizenKeyStore | undefined;
    try {
      const ciphertexts = await register(store);
      // The backup: every wrapped key as it was before the erasures.
      const saved = await Promise.all([0, 1, 2].map(async (i) => [citizen(i), await store.find(citizen(i))] as const));
      for (const i of [0, 1]) await erase(store, accessLog, citizen(i));
      expect(await readable(store, ciphertexts)).toEqual([null, null, { name: nameOf(2) }]);

      // The restore: a fresh schema bound to the same KEK, holding the saved keys — the erased ones readable again.
      restored = await PostgresKeyStore.open({ connectionString: url, schema: restoredSchema });
      await protectorOver(restored);
      for (const [citizenId, stored] of saved) {
        if (stored.state !== 'active') throw new Error('the backup holds active keys only');
        await restored.insertIfAbsent(citizenId, stored.key);
      }
      expect(await readable(restored, ciphertexts)).toEqual([{ name: nameOf(0) }, { name: nameOf(1) }, { name: nameOf(2) }]);

      const env = { DATABASE_URL: url, KEY_STORE_SCHEMA: restoredSchema, ACCESS_LOG_SCHEMA: logSchema };
      const first = await reapply(['postgres'], env);
      expect(first.err).toBe('');
      expect(first.code).toBe(0);
      expect(first.out).toContain(`access log: schema ${logSchema}; key store: schema ${restoredSchema} of the DATABASE_URL database`);
      expect(first.out).toContain('done: 2 re-applied (keys destroyed again), 0 already erased.');
      expectNoIds(first.out);
      expect(first.out).not.toContain(url);
      expect(await readable(restored, ciphertexts)).toEqual([null, null, { name: nameOf(2) }]);
      expect(await Promise.all([0, 1, 2].map(async (i) => (await restored!.find(citizen(i))).state))).toEqual(['erased', 'erased', 'active']);
      // The restored store records the erasures with the instants the access log has.
      expect(await restored.erasures()).toEqual(await accessLog.erasures());

      const again = await reapply(['postgres'], env);
      expect(again.code).toBe(0);
      expect(again.out).toContain('done: 0 re-applied (keys destroyed again), 2 already erased.');
    } finally {
      await restored?.close();
      await accessLog.close();
      await store.close();
    }
  });

  it('schemas without an access log or a key store are refused, naming the variable, and not created', async () => {
    const [keySchema, logSchema] = [fresh(), fresh()];
    const noLog = await reapply(['postgres'], { DATABASE_URL: url, KEY_STORE_SCHEMA: keySchema, ACCESS_LOG_SCHEMA: logSchema });
    expect(noLog.code).toBe(2);
    expect(noLog.err).toContain('ACCESS_LOG_SCHEMA: names a schema of the DATABASE_URL database that holds no access log');
    await (await PostgresAccessLog.open({ connectionString: url, schema: logSchema })).close();
    const noKeys = await reapply(['postgres'], { DATABASE_URL: url, KEY_STORE_SCHEMA: keySchema, ACCESS_LOG_SCHEMA: logSchema });
    expect(noKeys.code).toBe(2);
    expect(noKeys.err).toContain('KEY_STORE_SCHEMA: names a schema of the DATABASE_URL database that holds no key store');
    await expect(PostgresKeyStore.open({ connectionString: url, schema: keySchema, create: false })).rejects.toThrow(/no key store/);
  });
});
