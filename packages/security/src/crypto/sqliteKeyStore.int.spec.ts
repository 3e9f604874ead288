/**
 * The SQLite key store runs the CitizenKeyStore contract on a file: each handle is its own connection to
 * the same file, and the scan reads the database file, its write-ahead log and shared memory from disk.
 * (Crypto-shredding across the event store, a Kafka-shaped log and a restart: cryptoShredding.int.spec.ts.)
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyStoreNotFoundError } from './errors.ts';
import { keyStoreContract } from './keyStoreContract.ts';
import { SqliteKeyStore } from './sqliteKeyStore.ts';

keyStoreContract('SQLite (file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracker-keys-'));
  const file = join(dir, 'keys.sqlite');
  return {
    open: async () => new SqliteKeyStore(file),
    storedBytesContain: async (needles) => {
      const files = readdirSync(dir).map((name) => readFileSync(join(dir, name)));
      return needles.map((needle) => files.some((bytes) => bytes.includes(Buffer.from(needle))));
    },
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('SqliteKeyStore', () => {
  it('with create: false, refuses a missing file instead of making an empty store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tracker-keys-'));
    try {
      const file = join(dir, 'keys.sqlite');
      expect(() => new SqliteKeyStore(file, { create: false })).toThrow(KeyStoreNotFoundError);
      expect(existsSync(file)).toBe(false);
      const created = new SqliteKeyStore(file);
      await created.bindKeyEncryptionKey('aaaaaaaaaaaaaaaa');
      await created.close();
      const existing = new SqliteKeyStore(file, { create: false });
      await expect(existing.bindKeyEncryptionKey('bbbbbbbbbbbbbbbb')).resolves.toBe('aaaaaaaaaaaaaaaa');
      await existing.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
