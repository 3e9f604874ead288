/**
 * The contract every CitizenKeyStore adapter passes unchanged (SQLite file, PostgreSQL). What an
 * adapter's own spec adds is what only its engine can show.
 *
 * `fresh()` gives an empty store per test. `open()` opens another handle on that same store — another
 * process, with connections of its own — so races and erasures are tried between handles, not only
 * within one. `storedBytesContain` scans the store's files on disk (as far as the engine lets a test
 * read them): an erased key's bytes must be in none of them.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import { PersonalDataErasedError } from './errors.ts';
import { generateKeyEncryptionKey, parseKeyEncryptionKey } from './keyEncryptionKey.ts';
import type { CitizenKeyStore, WrappedDataKey } from './keyStore.ts';
import { PersonalDataProtector } from './personalData.ts';

export interface FreshKeyStore {
  /** A new handle on this test's store. */
  open(): Promise<CitizenKeyStore>;
  /** For each needle, whether any of the store's files holds its bytes now (after flushing what the engine buffers). */
  storedBytesContain(needles: readonly Uint8Array[]): Promise<boolean[]>;
  /** Releases the store (handles are closed by the contract). */
  dispose(): Promise<void>;
}

/** A well-formed wrapped key (random bytes: the store never unwraps). */
export const wrappedKey = (createdAt = '2025-03-01T10:00:00.000Z'): WrappedDataKey => ({
  kid: randomBytes(12).toString('base64url'),
  kekId: '0123456789abcdef',
  wrapped: new Uint8Array(randomBytes(60)),
  createdAt,
});

export interface KeyStoreContractOptions {
  /** Why the store's files cannot be read here (the file scan is then skipped with this reason). */
  filesUnreadable?: string | undefined;
}

/**
 * Every 8-byte window of a key: a remnant of part of a key (a page compacted over most of it) is found
 * too. A random 8-byte sequence turns up by chance in a few megabytes with odds of about 1 in 10^12.
 */
export function fragmentsOf(bytes: Uint8Array, size = 8): Uint8Array[] {
  return Array.from({ length: bytes.length - size + 1 }, (_, i) => bytes.subarray(i, i + size));
}

export function keyStoreContract(adapterName: string, fresh: () => Promise<FreshKeyStore>, options: KeyStoreContractOptions = {}): void {
  describe(`CitizenKeyStore contract: ${adapterName}`, () => {
    let store: FreshKeyStore;
    let handles: CitizenKeyStore[];
    let keys: CitizenKeyStore;

    const open = async () => {
      const handle = await store.open();
      handles.push(handle);
      return handle;
    };

    beforeEach(async () => {
      store = await fresh();
      handles = [];
      keys = await open();
    });
    afterEach(async () => {
      for (const handle of handles) await handle.close();
      await store.dispose();
    });

    it('binds to the first KEK id it is given and answers that one ever after', async () => {
      await expect(keys.bindKeyEncryptionKey('aaaaaaaaaaaaaaaa')).resolves.toBe('aaaaaaaaaaaaaaaa');
      await expect(keys.bindKeyEncryptionKey('bbbbbbbbbbbbbbbb')).resolves.toBe('aaaaaaaaaaaaaaaa');
      await expect((await open()).bindKeyEncryptionKey('bbbbbbbbbbbbbbbb')).resolves.toBe('aaaaaaaaaaaaaaaa');
    });

    it('stores a key and finds it, byte for byte', async () => {
      await expect(keys.find('c-1')).resolves.toEqual({ state: 'absent' });
      const key = wrappedKey();
      await expect(keys.insertIfAbsent('c-1', key)).resolves.toEqual({ state: 'active', key });
      await expect(keys.find('c-1')).resolves.toEqual({ state: 'active', key });
      await expect((await open()).find('c-1')).resolves.toEqual({ state: 'active', key });
      await expect(keys.find('c-2')).resolves.toEqual({ state: 'absent' });
    });

    it('racing first keys of one citizen, from several handles, all end with the first key stored', async () => {
      const others = [await open(), await open(), await open()];
      for (let round = 0; round < 10; round++) {
        const citizen = `c-race-${round}`;
        const candidates = Array.from({ length: 12 }, () => wrappedKey());
        const answers = await Promise.all(candidates.map((key, i) => [keys, ...others][i % 4]!.insertIfAbsent(citizen, key)));
        const stored = await keys.find(citizen);
        expect(stored.state).toBe('active');
        for (const answer of answers) expect(answer).toEqual(stored);
        expect(candidates).toContainEqual(stored.state === 'active' ? stored.key : undefined);
      }
    });

    it('erasure: the key is gone, the instant kept, and no key is ever stored for the citizen again', async () => {
      const key = wrappedKey();
      await keys.insertIfAbsent('c-1', key);
      await expect(keys.erase('c-1', '2025-03-02T09:00:00.000Z')).resolves.toEqual({ erased: true });
      await expect(keys.find('c-1')).resolves.toEqual({ state: 'erased', erasedAt: '2025-03-02T09:00:00.000Z' });
      // Again: nothing to erase, and the first instant stays.
      await expect(keys.erase('c-1', '2025-03-05T09:00:00.000Z')).resolves.toEqual({ erased: false });
      await expect(keys.find('c-1')).resolves.toEqual({ state: 'erased', erasedAt: '2025-03-02T09:00:00.000Z' });
      await expect(keys.insertIfAbsent('c-1', wrappedKey())).resolves.toEqual({ state: 'erased', erasedAt: '2025-03-02T09:00:00.000Z' });
      await expect((await open()).insertIfAbsent('c-1', wrappedKey())).resolves.toEqual({ state: 'erased', erasedAt: '2025-03-02T09:00:00.000Z' });
    });

    it('erasing a citizen who never had a key records it, so none is made later', async () => {
      await expect(keys.erase('c-5', '2025-03-02T09:00:00.000Z')).resolves.toEqual({ erased: false });
      await expect(keys.insertIfAbsent('c-5', wrappedKey())).resolves.toEqual({ state: 'erased', erasedAt: '2025-03-02T09:00:00.000Z' });
    });

    it('an erasure racing a first key from another handle always ends erased, and agrees on whether a key was destroyed', async () => {
      const other = await open();
      const citizens = Array.from({ length: 10 }, (_, i) => `c-erase-race-${i}`);
      const outcomes = await Promise.all(
        citizens.map(async (citizen, i) => {
          // Started in both orders: which one the store serves first is up to it.
          const insert = () => keys.insertIfAbsent(citizen, wrappedKey());
          const erase = () => other.erase(citizen, '2025-03-02T09:00:00.000Z');
          const [inserted, erasure] =
            i % 2 === 0 ? await Promise.all([insert(), erase()]) : await Promise.all([erase(), insert()]).then(([e, k]) => [k, e] as const);
          return { citizen, inserted, erasure, after: await keys.find(citizen) };
        }),
      );
      for (const { inserted, erasure, after } of outcomes) {
        expect(after).toEqual({ state: 'erased', erasedAt: '2025-03-02T09:00:00.000Z' });
        // Either the key came first and the erasure destroyed it, or the erasure came first and refused the key.
        expect(inserted.state === 'active' ? erasure.erased : !erasure.erased).toBe(true);
      }
    });

    it('lists erasures (citizen and instant only), oldest first', async () => {
      await keys.insertIfAbsent('c-b', wrappedKey());
      await keys.erase('c-b', '2025-03-02T09:00:00.000Z');
      await keys.erase('c-a', '2025-03-02T09:00:00.000Z');
      await keys.erase('c-0', '2025-03-03T09:00:00.000Z');
      await keys.insertIfAbsent('c-kept', wrappedKey());
      await expect((await open()).erasures()).resolves.toEqual([
        { citizenId: 'c-a', erasedAt: '2025-03-02T09:00:00.000Z' },
        { citizenId: 'c-b', erasedAt: '2025-03-02T09:00:00.000Z' },
        { citizenId: 'c-0', erasedAt: '2025-03-03T09:00:00.000Z' },
      ]);
    });

    it.skipIf(options.filesUnreadable !== undefined)('an erased key leaves its bytes in none of the store’s files; other keys stay', async () => {
      const stored = new Map(Array.from({ length: 300 }, (_, i) => [`c-${String(i).padStart(4, '0')}`, wrappedKey()]));
      for (const [citizen, key] of stored) await keys.insertIfAbsent(citizen, key);
      // Erased: the first and last written, and some in between.
      const erased = [...stored.keys()].filter((_, i) => [0, 1, 57, 150, 298, 299].includes(i));
      // The scan sees the keys before erasure: it is not vacuous.
      expect(await store.storedBytesContain(erased.map((citizen) => stored.get(citizen)!.wrapped))).toEqual(erased.map(() => true));
      for (const citizen of erased) await expect(keys.erase(citizen, '2025-03-02T09:00:00.000Z')).resolves.toEqual({ erased: true });
      const fragments = erased.map((citizen) => fragmentsOf(stored.get(citizen)!.wrapped));
      const found = await store.storedBytesContain(fragments.flat());
      const remaining = erased.map((citizen, i) => ({ citizen, fragmentsInFiles: found.slice(i * fragments[i]!.length, (i + 1) * fragments[i]!.length).filter(Boolean).length }));
      expect(remaining).toEqual(erased.map((citizen) => ({ citizen, fragmentsInFiles: 0 })));
      for (const citizen of ['c-0002', 'c-0100', 'c-0297']) await expect(keys.find(citizen)).resolves.toEqual({ state: 'active', key: stored.get(citizen) });
    });

    it('an erasure through one handle stops every other at once: protectors cache no keys', async () => {
      const kek = parseKeyEncryptionKey(generateKeyEncryptionKey());
      const clock = new ManualClock('2025-03-01T10:00:00Z');
      const replica = await PersonalDataProtector.open({ kek, store: keys, clock });
      const ingest = await PersonalDataProtector.open({ kek, store: await open(), clock });
      const encrypted = await ingest.encryptPersonal('c-1', { name: 'Freja Testesen' });
      // Both have used the key (a cache, if there were one, would be warm now).
      await expect(replica.decryptPersonal('c-1', encrypted)).resolves.toEqual({ name: 'Freja Testesen' });
      await expect(ingest.decryptPersonal('c-1', encrypted)).resolves.toEqual({ name: 'Freja Testesen' });
      await ingest.encryptPersonal('c-1', { name: 'Freja Testesen' });

      await expect(replica.eraseCitizenKey('c-1')).resolves.toEqual({ erased: true });
      await expect(ingest.decryptPersonal('c-1', encrypted)).resolves.toBeNull();
      await expect(ingest.encryptPersonal('c-1', { name: 'Freja Testesen' })).rejects.toThrow(PersonalDataErasedError);
    });

    it('refuses work once closed', async () => {
      const handle = await open();
      await handle.close();
      await handle.close();
      await expect(handle.find('c-1')).rejects.toThrow(/closed/);
      await expect(handle.insertIfAbsent('c-1', wrappedKey())).rejects.toThrow(/closed/);
    });
  });
}
