/**
 * `pnpm kek:rotate`: refuses bad input with exit 2 naming the variable (never a value), and rotates a
 * real key store — the embedded tracker's SQLite file while the tracker runs with both keys, and the
 * distributed PostgreSQL store (DATABASE_URL, else skipped with the reason; a fresh schema per test,
 * dropped at the end). Output is counts only: no citizen id, no key.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { createLogger, loadConfig } from '@tracker/platform';
import {
  generateKeyEncryptionKey,
  KeyEncryptionKeyMismatchError,
  parseKeyEncryptionKey,
  PersonalDataProtector,
  PostgresKeyStore,
  SqliteKeyStore,
  type CitizenKeyStore,
  type EncryptedPersonal,
} from '@tracker/security';
import { runKekRotation } from './kekRotation.ts';
import { KEY_STORE_FILE, startTracker } from './tracker.ts';

const clock = new ManualClock('2026-03-02T10:00:00+01:00');
const citizen = (i: number) => `c-${String(i).padStart(4, '0')}`;
const nameOf = (i: number) => `Testborger ${i}`;

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tracker-kek-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function rotate(args: string[], env: Record<string, string>, options: { pageSize?: number } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runKekRotation(args, env, { out: (line) => out.push(line), err: (line) => err.push(line) }, { cwd: dataDir(), ...options });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** `count` citizens with personal data in the store, under `kek`. */
async function register(store: CitizenKeyStore, kek: string, count: number): Promise<Map<string, EncryptedPersonal>> {
  const protector = await PersonalDataProtector.open({ kek: parseKeyEncryptionKey(kek), store, clock });
  const ciphertexts = new Map<string, EncryptedPersonal>();
  for (let i = 0; i < count; i++) ciphertexts.set(citizen(i), await protector.encryptPersonal(citizen(i), { name: nameOf(i) }));
  return ciphertexts;
}

async function expectReadable(protector: PersonalDataProtector, ciphertexts: Map<string, EncryptedPersonal>) {
  for (const [id, encrypted] of ciphertexts) await expect(protector.decryptPersonal(id, encrypted)).resolves.toEqual({ name: nameOf(Number(id.slice(2))) });
}

/** Nothing the command prints names a citizen or a key. */
function expectNoIdsOrKeys(output: string, ...keys: string[]) {
  expect(output).not.toMatch(/c-\d{4}/);
  for (const key of keys) expect(output).not.toContain(key);
}

describe('kek:rotate refuses what it cannot do: exit 2, naming the variable and never a value', () => {
  const [OLD, NEW] = [generateKeyEncryptionKey(), generateKeyEncryptionKey()];

  it('needs the store to rotate: embedded or postgres', async () => {
    for (const args of [[], ['sqlite'], ['embedded', 'postgres']]) {
      const { code, err } = await rotate(args, { PERSONAL_DATA_KEK: NEW, PERSONAL_DATA_KEK_PREVIOUS: OLD });
      expect(code).toBe(2);
      expect(err).toContain('usage: pnpm kek:rotate <embedded|postgres>');
    }
  });

  it('needs both keys', async () => {
    const { code, out, err } = await rotate(['embedded'], {});
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(/PERSONAL_DATA_KEK: is required: the new key-encryption key/);
    expect(err).toMatch(/PERSONAL_DATA_KEK_PREVIOUS: is required: the key-encryption key the key store is bound to now/);
    expect((await rotate(['embedded'], { PERSONAL_DATA_KEK: NEW, PERSONAL_DATA_KEK_PREVIOUS: '  ' })).err).toMatch(/PERSONAL_DATA_KEK_PREVIOUS: is required/);
  });

  it.each([
    ['PERSONAL_DATA_KEK', 'c2VjcmV0LWJ1dC1zaG9ydA==', 'must decode to exactly 32 bytes'],
    ['PERSONAL_DATA_KEK_PREVIOUS', 'c2VjcmV0LWJ1dC1zaG9ydA==', 'must decode to exactly 32 bytes'],
    ['PERSONAL_DATA_KEK_PREVIOUS', 'not base64 at all!', 'must be base64'],
    ['PERSONAL_DATA_KEK', Buffer.alloc(32, 9).toString('base64'), 'is a placeholder'],
  ])('an invalid %s', async (variable, value, reason) => {
    const { code, err } = await rotate(['embedded'], { PERSONAL_DATA_KEK: NEW, PERSONAL_DATA_KEK_PREVIOUS: OLD, [variable]: value });
    expect(code).toBe(2);
    expect(err).toContain(`${variable}: ${reason}`);
    expect(err).not.toContain(value);
  });

  it('the same key twice', async () => {
    const { code, err } = await rotate(['embedded'], { PERSONAL_DATA_KEK: NEW, PERSONAL_DATA_KEK_PREVIOUS: NEW });
    expect(code).toBe(2);
    expect(err).toContain('PERSONAL_DATA_KEK_PREVIOUS: must differ from PERSONAL_DATA_KEK');
    expectNoIdsOrKeys(err, NEW);
  });

  it('a data folder without a key store: nothing is created there', async () => {
    const dir = dataDir();
    const { code, err } = await rotate(['embedded'], { DATA_DIR: dir, PERSONAL_DATA_KEK: NEW, PERSONAL_DATA_KEK_PREVIOUS: OLD });
    expect(code).toBe(2);
    expect(err).toContain(`DATA_DIR: holds no key store (${KEY_STORE_FILE})`);
    expect(existsSync(join(dir, KEY_STORE_FILE))).toBe(false);
  });

  it('a key store bound to neither key: nothing is changed', async () => {
    const dir = dataDir();
    const store = new SqliteKeyStore(join(dir, KEY_STORE_FILE));
    const third = generateKeyEncryptionKey();
    await register(store, third, 3);
    const { code, err } = await rotate(['embedded'], { DATA_DIR: dir, PERSONAL_DATA_KEK: NEW, PERSONAL_DATA_KEK_PREVIOUS: OLD });
    expect(code).toBe(2);
    expect(err).toContain('neither PERSONAL_DATA_KEK nor PERSONAL_DATA_KEK_PREVIOUS is the key-encryption key this key store is bound to');
    expect(await store.countActiveKeys()).toEqual([{ kekId: parseKeyEncryptionKey(third).id, keys: 3 }]);
    await store.close();
  });

  it('postgres: the database and schema, by the rules of the services', async () => {
    const keys = { PERSONAL_DATA_KEK: NEW, PERSONAL_DATA_KEK_PREVIOUS: OLD };
    expect((await rotate(['postgres'], keys)).err).toMatch(/DATABASE_URL: is required/);
    const secret = 'hunter2';
    const bad = await rotate(['postgres'], { ...keys, DATABASE_URL: `mysql://root:${secret}@db/tracker`, KEY_STORE_SCHEMA: 'Keys; DROP' });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('DATABASE_URL: must start with postgres:// or postgresql://');
    expect(bad.err).toContain('KEY_STORE_SCHEMA: must be a lower-case SQL identifier');
    expect(bad.err).not.toContain(secret);
  });

  it('as a process (the root package.json script runs this file): exit code 2 and the variable on stderr', async () => {
    const main = new URL('./kekRotationMain.ts', import.meta.url).pathname;
    const tsx = new URL('../node_modules/.bin/tsx', import.meta.url).pathname;
    const failure = await promisify(execFile)(tsx, [main, 'embedded'], { env: { ...process.env, PERSONAL_DATA_KEK: NEW, PERSONAL_DATA_KEK_PREVIOUS: '' } }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/PERSONAL_DATA_KEK_PREVIOUS: is required/);
    expect(failure?.stderr).not.toContain(NEW);
  });
});

describe('kek:rotate embedded', () => {
  it('rotates the data folder’s key store while the tracker runs with both keys; afterwards the new key alone opens it', async () => {
    const [OLD, NEW] = [generateKeyEncryptionKey(), generateKeyEncryptionKey()];
    const dir = dataDir();
    const logger = createLogger({ level: 'silent' });
    const start = (keys: Record<string, string>) => startTracker({ config: loadConfig({ PORT: '0', DATA_DIR: dir, DEMO: 'off', ...keys }), logger, clock });

    // Personal data stored under the old key, as ingestion stores it.
    let tracker = await start({ PERSONAL_DATA_KEK: OLD });
    const ciphertexts = new Map<string, EncryptedPersonal>();
    for (let i = 0; i < 40; i++) ciphertexts.set(citizen(i), await tracker.personalData.encryptPersonal(citizen(i), { name: nameOf(i) }));
    await tracker.close();

    // Step 2 of the procedure: the tracker restarted with both keys; step 3 while it runs.
    tracker = await start({ PERSONAL_DATA_KEK: NEW, PERSONAL_DATA_KEK_PREVIOUS: OLD });
    try {
      const { code, out, err } = await rotate(['embedded'], { DATA_DIR: dir, PERSONAL_DATA_KEK: NEW, PERSONAL_DATA_KEK_PREVIOUS: OLD }, { pageSize: 7 });
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(out).toContain('bound to PERSONAL_DATA_KEK_PREVIOUS; data keys: 40 under PERSONAL_DATA_KEK_PREVIOUS');
      expect(out).toContain('rewrapped 7 of 40');
      expect(out).toContain('done: 40 rewrapped, 0 erased meanwhile, 0 already under PERSONAL_DATA_KEK; the key store is bound to PERSONAL_DATA_KEK.');
      expectNoIdsOrKeys(out, OLD, NEW);
      // The running tracker reads every citizen throughout, and keeps taking new ones.
      await expectReadable(tracker.personalData, ciphertexts);
      ciphertexts.set(citizen(40), await tracker.personalData.encryptPersonal(citizen(40), { name: nameOf(40) }));
    } finally {
      await tracker.close();
    }

    // Step 4: the previous key removed. The old key alone is refused from now on.
    tracker = await start({ PERSONAL_DATA_KEK: NEW });
    try {
      await expectReadable(tracker.personalData, ciphertexts);
    } finally {
      await tracker.close();
    }
    await expect(start({ PERSONAL_DATA_KEK: OLD })).rejects.toThrow(KeyEncryptionKeyMismatchError);

    // Run again (say, after an interruption it did not see): nothing left to do, still exit 0.
    const again = await rotate(['embedded'], { DATA_DIR: dir, PERSONAL_DATA_KEK: NEW, PERSONAL_DATA_KEK_PREVIOUS: OLD });
    expect(again.code).toBe(0);
    expect(again.out).toContain('done: 0 rewrapped, 0 erased meanwhile, 41 already under PERSONAL_DATA_KEK');
  });
});

const database = await testDatabase();
const skipped = database.skipped;
if (skipped !== undefined) reportSkipped('kek:rotate postgres tests', skipped);
const url = database.url ?? '';
const schemas: string[] = [];
afterAll(async () => {
  if (skipped !== undefined) return;
  for (const schema of schemas) await dropSchema(url, schema);
  await database.stop();
});

(skipped === undefined ? describe : describe.skip)(`kek:rotate postgres${skipped ? ` (${skipped})` : ''}`, () => {
  const fresh = () => {
    const schema = freshSchemaName();
    schemas.push(schema);
    return schema;
  };

  it('rotates the distributed key store; afterwards the new key alone opens it', async () => {
    const [OLD, NEW] = [generateKeyEncryptionKey(), generateKeyEncryptionKey()];
    const schema = fresh();
    const store = await PostgresKeyStore.open({ connectionString: url, schema });
    try {
      const ciphertexts = await register(store, OLD, 30);
      const env = { DATABASE_URL: url, KEY_STORE_SCHEMA: schema, PERSONAL_DATA_KEK: NEW, PERSONAL_DATA_KEK_PREVIOUS: OLD };
      const { code, out, err } = await rotate(['postgres'], env, { pageSize: 8 });
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(out).toContain(`key store: schema ${schema} of the DATABASE_URL database`);
      expect(out).toContain('done: 30 rewrapped, 0 erased meanwhile, 0 already under PERSONAL_DATA_KEK');
      expectNoIdsOrKeys(out, OLD, NEW, url);
      await expect(store.countActiveKeys()).resolves.toEqual([{ kekId: parseKeyEncryptionKey(NEW).id, keys: 30 }]);
      await expectReadable(await PersonalDataProtector.open({ kek: parseKeyEncryptionKey(NEW), store, clock }), ciphertexts);
      await expect(PersonalDataProtector.open({ kek: parseKeyEncryptionKey(OLD), store, clock })).rejects.toThrow(KeyEncryptionKeyMismatchError);

      // The old key as the new one and a third as the previous: bound to neither, exit 2, nothing changed.
      const neither = await rotate(['postgres'], { ...env, PERSONAL_DATA_KEK: OLD, PERSONAL_DATA_KEK_PREVIOUS: generateKeyEncryptionKey() });
      expect(neither.code).toBe(2);
      expect(neither.err).toContain('neither PERSONAL_DATA_KEK nor PERSONAL_DATA_KEK_PREVIOUS');
      await expect(store.countActiveKeys()).resolves.toEqual([{ kekId: parseKeyEncryptionKey(NEW).id, keys: 30 }]);
    } finally {
      await store.close();
    }
  });

  it('a schema without a key store is refused, naming KEY_STORE_SCHEMA, and not created', async () => {
    const schema = fresh();
    const { code, err } = await rotate(['postgres'], {
      DATABASE_URL: url,
      KEY_STORE_SCHEMA: schema,
      PERSONAL_DATA_KEK: generateKeyEncryptionKey(),
      PERSONAL_DATA_KEK_PREVIOUS: generateKeyEncryptionKey(),
    });
    expect(code).toBe(2);
    expect(err).toContain('KEY_STORE_SCHEMA: names a schema of the DATABASE_URL database that holds no key store');
    await expect(PostgresKeyStore.open({ connectionString: url, schema, create: false })).rejects.toThrow(/no key store/);
  });
});
