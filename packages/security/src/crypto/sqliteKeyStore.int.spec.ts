/**
 * The SQLite key store runs the CitizenKeyStore contract on a file: each handle is its own connection to
 * the same file, and the scan reads the database file, its write-ahead log and shared memory from disk.
 * (Crypto-shredding across the event store, a Kafka-shaped log and a restart: cryptoShredding.int.spec.ts.)
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
