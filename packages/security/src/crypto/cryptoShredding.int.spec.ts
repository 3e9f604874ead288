/**
 * Crypto-shredding, proven on disk: a data folder with an event-store-shaped SQLite file (events whose
 * CitizenRegistered.personal is encrypted), a Kafka-shaped message log (CloudEvents JSON lines), and
 * the key store with its write-ahead log. Every file in the folder is scanned byte by byte.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import { PersonalDataErasedError } from './errors.ts';
import { generateKeyEncryptionKey, parseKeyEncryptionKey, type KeyEncryptionKey } from './keyEncryptionKey.ts';
import { PersonalDataProtector, unwrapDataKey, type EncryptedPersonal } from './personalData.ts';
import { SqliteKeyStore } from './sqliteKeyStore.ts';

const CITIZENS = 400;
/** Spread over the whole key store, including the first and last keys written (page splits in between). */
const ERASED = new Set([0, 1, 57, 58, 123, 200, 311, 398, 399].map((i) => citizenId(i)));

function citizenId(i: number): string {
  return `c-${String(i).padStart(5, '0')}`;
}
const nameOf = (i: number) => `Testborger Nummer${String(i).padStart(5, '0')} Hansen`;
const cprOf = (i: number) => `${String((i % 28) + 1).padStart(2, '0')}0${(i % 9) + 1}${String(80 + (i % 20)).padStart(2, '0')}-${String(1000 + i).padStart(4, '0')}`;

function filesUnder(folder: string): string[] {
  return readdirSync(folder).flatMap((entry) => {
    const path = join(folder, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Which files of the folder contain the needle (as bytes). */
function filesContaining(folder: string, needle: Buffer): string[] {
  return filesUnder(folder).filter((file) => readFileSync(file).includes(needle));
}

describe('crypto-shredding leaves nothing decryptable', () => {
  let dataDir: string;
  let kek: KeyEncryptionKey;
  let store: SqliteKeyStore;
  let protector: PersonalDataProtector;
  let events: Database.Database;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tracker-shred-'));
    kek = parseKeyEncryptionKey(generateKeyEncryptionKey());
    store = new SqliteKeyStore(join(dataDir, 'keys.sqlite'));
    protector = await PersonalDataProtector.open({ kek, store, clock: new ManualClock('2025-03-01T10:00:00Z') });
    events = new Database(join(dataDir, 'events.sqlite'));
    events.pragma('journal_mode = WAL');
    events.exec(`CREATE TABLE events (global_position INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, citizen_id TEXT NOT NULL,
                 type TEXT NOT NULL, occurred_at TEXT NOT NULL, source TEXT, data TEXT NOT NULL) STRICT`);
  });

  afterEach(async () => {
    events.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Ingestion as it will be wired: personal is encrypted before the event is appended or published. */
  async function ingestAll(): Promise<void> {
    const insert = events.prepare('INSERT INTO events (event_id, citizen_id, type, occurred_at, source, data) VALUES (?, ?, ?, ?, ?, ?)');
    const kafka: string[] = [];
    for (let i = 0; i < CITIZENS; i++) {
      const id = citizenId(i);
      const data = {
        birthDate: '2008-05-17',
        municipality: '0751',
        disability: i % 3 === 0,
        personal: await protector.encryptPersonal(id, { name: nameOf(i), cpr: cprOf(i) }),
      };
      insert.run(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, id, 'CitizenRegistered', '2025-01-02T09:00:00+01:00', 'dubu', JSON.stringify(data));
      insert.run(`00000000-0000-4000-9000-${String(i).padStart(12, '0')}`, id, 'CaseOpened', '2025-01-03T09:00:00+01:00', 'dubu', JSON.stringify({ caseId: `k-${i}`, unitId: 'bf-myndighed' }));
      kafka.push(JSON.stringify({ specversion: '1.0', type: 'CitizenRegistered', subject: id, data }));
    }
    writeFileSync(join(dataDir, 'kafka-transitions.events.v1.jsonl'), `${kafka.join('\n')}\n`);
  }

  function personalOf(id: string): EncryptedPersonal {
    const row = events.prepare("SELECT data FROM events WHERE citizen_id = ? AND type = 'CitizenRegistered'").pluck().get(id) as string;
    return (JSON.parse(row) as { personal: EncryptedPersonal }).personal;
  }

  function assertNoPlaintextOnDisk(): void {
    for (let i = 0; i < CITIZENS; i += 7) {
      expect(filesContaining(dataDir, Buffer.from(nameOf(i)))).toEqual([]);
      expect(filesContaining(dataDir, Buffer.from(cprOf(i)))).toEqual([]);
      expect(filesContaining(dataDir, Buffer.from(cprOf(i).replace('-', '')))).toEqual([]);
    }
  }

  it('no plaintext ever reaches disk; after erasure no key bytes remain, decrypt answers null, the timeline is intact', async () => {
    await ingestAll();
    assertNoPlaintextOnDisk();

    // What must disappear: each erased citizen's wrapped key (on disk now) and data key (never on disk).
    const secrets = new Map<string, { wrapped: Buffer; dataKey: Buffer }>();
    for (const id of ERASED) {
      const stored = await store.find(id);
      if (stored.state !== 'active') throw new Error('expected an active key');
      secrets.set(id, { wrapped: Buffer.from(stored.key.wrapped), dataKey: unwrapDataKey(kek, id, stored.key) });
    }
    // The scan can see the wrapped keys before erasure (in the key store or its WAL): it is not vacuous.
    for (const { wrapped, dataKey } of secrets.values()) {
      expect(filesContaining(dataDir, wrapped).length).toBeGreaterThan(0);
      expect(filesContaining(dataDir, dataKey)).toEqual([]);
    }
    const keyStoreFiles = filesUnder(dataDir).filter((f) => f.includes('keys.sqlite'));
    expect(keyStoreFiles.some((f) => f.endsWith('-wal'))).toBe(true);

    for (const id of ERASED) await expect(protector.eraseCitizenKey(id)).resolves.toEqual({ erased: true });

    const check = async (phase: string) => {
      for (const [id, { wrapped, dataKey }] of secrets) {
        expect(filesContaining(dataDir, wrapped), `${phase}: wrapped key of ${id}`).toEqual([]);
        expect(filesContaining(dataDir, dataKey), `${phase}: data key of ${id}`).toEqual([]);
        await expect(protector.decryptPersonal(id, personalOf(id))).resolves.toBeNull();
      }
      assertNoPlaintextOnDisk();
    };
    await check('while running');

    // Citizens not erased still decrypt; erased ones keep their pseudonymous timeline.
    for (const i of [2, 100, 397]) await expect(protector.decryptPersonal(citizenId(i), personalOf(citizenId(i)))).resolves.toEqual({ name: nameOf(i), cpr: cprOf(i) });
    for (const id of ERASED) {
      const rows = events.prepare('SELECT type, data FROM events WHERE citizen_id = ? ORDER BY global_position').all(id) as { type: string; data: string }[];
      expect(rows.map((r) => r.type)).toEqual(['CitizenRegistered', 'CaseOpened']);
      expect(JSON.parse(rows[0]!.data)).toMatchObject({ birthDate: '2008-05-17', municipality: '0751' });
      expect(JSON.parse(rows[1]!.data)).toEqual({ caseId: expect.any(String), unitId: 'bf-myndighed' });
    }

    // After a restart: still nothing, still null, and the erasure holds.
    await store.close();
    store = new SqliteKeyStore(join(dataDir, 'keys.sqlite'));
    protector = await PersonalDataProtector.open({ kek, store });
    await check('after restart');
    await expect(protector.encryptPersonal([...ERASED][0]!, { name: 'new' })).rejects.toThrow(PersonalDataErasedError);
    expect((await store.erasures()).map((e) => e.citizenId).sort()).toEqual([...ERASED].sort());
  });
});
