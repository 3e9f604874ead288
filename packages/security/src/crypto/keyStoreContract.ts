/**
 * The contract every CitizenKeyStore adapter passes unchanged (SQLite file, PostgreSQL). What an
 * adapter's own spec adds is what only its engine can show.
 *
 * `fresh()` gives an empty store per test. `open()` opens another handle on that same store — another
 * process, with connections of its own — so races and erasures are tried between handles, not only
 * within one. `storedBytesContain` scans the store's files on disk (as far as the engine lets a test
 * read them): an erased key's bytes must be in none of them, nor, after a KEK rotation, the keys as
 * the old KEK wrapped them.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import {
  KeyEncryptionKeyError,
  KeyEncryptionKeyMismatchError,
  KeyRotationIncompleteError,
  PersonalDataErasedError,
  UnknownKeyEncryptionKeyError,
} from './errors.ts';
import { generateKeyEncryptionKey, parseKeyEncryptionKey, type KeyEncryptionKey } from './keyEncryptionKey.ts';
import type { CitizenKeyStore, WrappedDataKey } from './keyStore.ts';
import { PersonalDataProtector, type EncryptedPersonal } from './personalData.ts';

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

const newKek = (): KeyEncryptionKey => parseKeyEncryptionKey(generateKeyEncryptionKey());

/** The same store, but `before` runs before each call of `method` reaches it: a crash, an erasure or a late key at the worst moment. */
function intercept<M extends 'rewrapKey' | 'rebindKeyEncryptionKey'>(
  store: CitizenKeyStore,
  method: M,
  before: (...args: Parameters<CitizenKeyStore[M]>) => Promise<void>,
): CitizenKeyStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === method) {
        return async (...args: Parameters<CitizenKeyStore[M]>) => {
          await before(...args);
          return (target[method] as (...a: Parameters<CitizenKeyStore[M]>) => unknown)(...args);
        };
      }
      // The adapter's own methods and getters run on the adapter itself (its private fields are not the proxy's).
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
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

    describe('KEK rotation', () => {
      const citizen = (i: number) => `c-${String(i).padStart(4, '0')}`;
      const clock = new ManualClock('2025-03-01T10:00:00Z');

      /** `count` citizens with personal data under `kek`; their ciphertexts, by citizen. */
      async function registered(kek: KeyEncryptionKey, count: number): Promise<Map<string, EncryptedPersonal>> {
        const protector = await PersonalDataProtector.open({ kek, store: keys, clock });
        const ciphertexts = new Map<string, EncryptedPersonal>();
        for (let i = 0; i < count; i++) ciphertexts.set(citizen(i), await protector.encryptPersonal(citizen(i), { name: `Testborger ${i}` }));
        return ciphertexts;
      }

      async function expectAllReadable(protector: PersonalDataProtector, ciphertexts: Map<string, EncryptedPersonal>, erased: ReadonlySet<string> = new Set()) {
        for (const [id, encrypted] of ciphertexts) {
          await expect(protector.decryptPersonal(id, encrypted)).resolves.toEqual(erased.has(id) ? null : { name: `Testborger ${Number(id.slice(2))}` });
        }
      }

      it('lists active keys in pages by citizen id, without erased ones, optionally leaving out one KEK’s', async () => {
        const stored = new Map(Array.from({ length: 23 }, (_, i) => [citizen(i), { ...wrappedKey(), kekId: i % 3 === 0 ? 'bbbbbbbbbbbbbbbb' : 'aaaaaaaaaaaaaaaa' }]));
        // Inserted out of order: the listing's order is the store's, not the insertion's.
        for (const id of [...stored.keys()].reverse()) await keys.insertIfAbsent(id, stored.get(id)!);
        await keys.erase(citizen(4), '2025-03-02T09:00:00.000Z');
        await keys.erase(citizen(9), '2025-03-02T09:00:00.000Z');
        const reader = await open();
        const listAll = async (notWrappedBy?: string) => {
          const pages: string[][] = [];
          let after: string | undefined;
          for (;;) {
            const page = await reader.activeKeys({ after, limit: 5, notWrappedBy });
            if (page.length === 0) return pages;
            for (const { citizenId, key } of page) expect(key).toEqual(stored.get(citizenId));
            pages.push(page.map((k) => k.citizenId));
            after = page.at(-1)!.citizenId;
          }
        };
        const active = [...stored.keys()].filter((id) => id !== citizen(4) && id !== citizen(9));
        const pages = await listAll();
        expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 5, 1]);
        expect(pages.flat()).toEqual(active);
        expect((await listAll('bbbbbbbbbbbbbbbb')).flat()).toEqual(active.filter((id) => stored.get(id)!.kekId === 'aaaaaaaaaaaaaaaa'));
        await expect(reader.countActiveKeys()).resolves.toEqual([
          { kekId: 'aaaaaaaaaaaaaaaa', keys: 14 },
          { kekId: 'bbbbbbbbbbbbbbbb', keys: 7 },
        ]);
        await expect(reader.activeKeys({ limit: 0 })).rejects.toThrow('page.limit must be a whole number from 1 to 10000');
        await expect(reader.activeKeys({ limit: 2.5 })).rejects.toThrow('page.limit');
      });

      it('rewraps a key only if it is still the one read (compare-and-set), keeping its kid and creation instant', async () => {
        const key = wrappedKey();
        await keys.insertIfAbsent('c-1', key);
        const rewrapped = { kekId: 'bbbbbbbbbbbbbbbb', wrapped: new Uint8Array(randomBytes(60)) };
        await expect(keys.rewrapKey('c-1', key, rewrapped)).resolves.toBe(true);
        const after = { ...key, ...rewrapped };
        await expect((await open()).find('c-1')).resolves.toEqual({ state: 'active', key: after });
        // The key read before is no longer the one stored: a second rewrap from it changes nothing.
        await expect((await open()).rewrapKey('c-1', key, { kekId: 'cccccccccccccccc', wrapped: new Uint8Array(randomBytes(60)) })).resolves.toBe(false);
        await expect(keys.rewrapKey('c-1', { ...after, wrapped: new Uint8Array(randomBytes(60)) }, rewrapped)).resolves.toBe(false);
        await expect(keys.find('c-1')).resolves.toEqual({ state: 'active', key: after });
        // Never a key for a citizen who has none.
        await expect(keys.rewrapKey('c-2', key, rewrapped)).resolves.toBe(false);
        await expect(keys.find('c-2')).resolves.toEqual({ state: 'absent' });
        await expect(keys.rewrapKey('c-1', after, { kekId: '', wrapped: rewrapped.wrapped })).rejects.toThrow('rewrapped.kekId must be a KEK id');
      });

      it('an erasure wins over a rewrap of the key it read: the erased key is never brought back', async () => {
        const key = wrappedKey();
        await keys.insertIfAbsent('c-1', key);
        await (await open()).erase('c-1', '2025-03-02T09:00:00.000Z');
        await expect(keys.rewrapKey('c-1', key, { kekId: 'bbbbbbbbbbbbbbbb', wrapped: new Uint8Array(randomBytes(60)) })).resolves.toBe(false);
        await expect(keys.find('c-1')).resolves.toEqual({ state: 'erased', erasedAt: '2025-03-02T09:00:00.000Z' });
        await expect(keys.activeKeys({ limit: 10 })).resolves.toEqual([]);
        await expect(keys.erasures()).resolves.toEqual([{ citizenId: 'c-1', erasedAt: '2025-03-02T09:00:00.000Z' }]);
      });

      it('rebinds to the new KEK only once every key is under it, only from the KEK it is bound to; again is a no-op', async () => {
        await keys.bindKeyEncryptionKey('aaaaaaaaaaaaaaaa');
        const key = { ...wrappedKey(), kekId: 'aaaaaaaaaaaaaaaa' };
        await keys.insertIfAbsent('c-1', key);
        await keys.insertIfAbsent('c-2', { ...wrappedKey(), kekId: 'bbbbbbbbbbbbbbbb' });
        const error = await keys.rebindKeyEncryptionKey('aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(KeyRotationIncompleteError);
        expect((error as KeyRotationIncompleteError).remaining).toBe(1);
        await expect(keys.bindKeyEncryptionKey('bbbbbbbbbbbbbbbb')).resolves.toBe('aaaaaaaaaaaaaaaa');

        await keys.rewrapKey('c-1', key, { kekId: 'bbbbbbbbbbbbbbbb', wrapped: new Uint8Array(randomBytes(60)) });
        await expect(keys.rebindKeyEncryptionKey('cccccccccccccccc', 'bbbbbbbbbbbbbbbb')).rejects.toThrow(KeyEncryptionKeyMismatchError);
        await keys.rebindKeyEncryptionKey('aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb');
        await expect((await open()).bindKeyEncryptionKey('aaaaaaaaaaaaaaaa')).resolves.toBe('bbbbbbbbbbbbbbbb');
        await keys.rebindKeyEncryptionKey('aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb');
        await expect(keys.bindKeyEncryptionKey('aaaaaaaaaaaaaaaa')).resolves.toBe('bbbbbbbbbbbbbbbb');
      });

      it('rotates every key under the new KEK and rebinds: the ciphertexts stay as they were and open with the new key alone', async () => {
        const [old, next] = [newKek(), newKek()];
        const ciphertexts = await registered(old, 25);
        const before = await keys.activeKeys({ limit: 100 });
        const rotator = await PersonalDataProtector.open({ kek: next, previousKek: old, store: await open(), clock });
        const progress: unknown[] = [];
        await expect(rotator.rotate({ pageSize: 10, onProgress: (p) => progress.push(p) })).resolves.toEqual({
          toRewrap: 25,
          rewrapped: 25,
          erasedMeanwhile: 0,
          alreadyCurrent: 0,
        });
        expect(progress).toEqual([10, 20, 25].map((rewrapped) => ({ toRewrap: 25, rewrapped, erasedMeanwhile: 0 })));
        await expect(keys.countActiveKeys()).resolves.toEqual([{ kekId: next.id, keys: 25 }]);
        // Same data keys: same kid and creation instant, other wrapped bytes.
        const after = await keys.activeKeys({ limit: 100 });
        expect(after.map(({ citizenId, key }) => ({ citizenId, kid: key.kid, createdAt: key.createdAt }))).toEqual(
          before.map(({ citizenId, key }) => ({ citizenId, kid: key.kid, createdAt: key.createdAt })),
        );
        for (const [i, { key }] of after.entries()) expect(Buffer.from(key.wrapped).equals(Buffer.from(before[i]!.key.wrapped))).toBe(false);

        const alone = await PersonalDataProtector.open({ kek: next, store: await open(), clock });
        await expectAllReadable(alone, ciphertexts);
        await expect(PersonalDataProtector.open({ kek: old, store: await open(), clock })).rejects.toThrow(KeyEncryptionKeyMismatchError);
        // Running it again finds nothing to do.
        await expect(rotator.rotate()).resolves.toEqual({ toRewrap: 0, rewrapped: 0, erasedMeanwhile: 0, alreadyCurrent: 25 });
      });

      it('an interrupted rotation leaves keys under both KEKs, all readable with both; run again, it finishes', async () => {
        const [old, next] = [newKek(), newKek()];
        const ciphertexts = await registered(old, 30);
        let rewraps = 0;
        const crashing = intercept(await open(), 'rewrapKey', async () => {
          if (++rewraps > 11) throw new Error('simulated crash');
        });
        const first = await PersonalDataProtector.open({ kek: next, previousKek: old, store: crashing, clock });
        await expect(first.rotate({ pageSize: 4 })).rejects.toThrow('simulated crash');
        await expect(keys.countActiveKeys()).resolves.toEqual(
          [
            { kekId: old.id, keys: 19 },
            { kekId: next.id, keys: 11 },
          ].sort((a, b) => (a.kekId < b.kekId ? -1 : 1)),
        );

        // Half-way, a process with both keys reads every citizen and makes new keys under the new KEK …
        const both = await PersonalDataProtector.open({ kek: next, previousKek: old, store: await open(), clock });
        await expectAllReadable(both, ciphertexts);
        ciphertexts.set(citizen(30), await both.encryptPersonal(citizen(30), { name: 'Testborger 30' }));
        const fresh = await keys.find(citizen(30));
        expect(fresh.state === 'active' && fresh.key.kekId).toBe(next.id);
        // … while the new key alone is refused (the store is still bound to the old one), and the old key
        // alone opens but cannot read what was rewrapped: every process needs both during a rotation.
        await expect(PersonalDataProtector.open({ kek: next, store: await open(), clock })).rejects.toThrow(KeyEncryptionKeyMismatchError);
        const oldOnly = await PersonalDataProtector.open({ kek: old, store: await open(), clock });
        await expect(oldOnly.decryptPersonal(citizen(0), ciphertexts.get(citizen(0)))).rejects.toThrow(KeyEncryptionKeyMismatchError);
        await expect(oldOnly.decryptPersonal(citizen(29), ciphertexts.get(citizen(29)))).resolves.toEqual({ name: 'Testborger 29' });

        await expect(both.rotate({ pageSize: 4 })).resolves.toEqual({ toRewrap: 19, rewrapped: 19, erasedMeanwhile: 0, alreadyCurrent: 12 });
        await expect(keys.countActiveKeys()).resolves.toEqual([{ kekId: next.id, keys: 31 }]);
        await expectAllReadable(await PersonalDataProtector.open({ kek: next, store: await open(), clock }), ciphertexts);
      });

      it('an erasure during the rotation wins, even between the read and the rewrap of that very key; nothing erased comes back', async () => {
        const [old, next] = [newKek(), newKek()];
        const ciphertexts = await registered(old, 24);
        const eraser = await PersonalDataProtector.open({ kek: next, previousKek: old, store: await open(), clock });
        // Erased by another process after the rotation read these keys, before it rewraps them.
        const atTheWorstMoment = new Set([citizen(1), citizen(10), citizen(23)]);
        const rotating = intercept(await open(), 'rewrapKey', async (id) => {
          if (atTheWorstMoment.has(id)) await eraser.eraseCitizenKey(id);
        });
        const rotator = await PersonalDataProtector.open({ kek: next, previousKek: old, store: rotating, clock });
        // And others erased concurrently, wherever the rotation happens to be.
        const concurrently = [citizen(5), citizen(6), citizen(17)];
        const [result] = await Promise.all([rotator.rotate({ pageSize: 5 }), ...concurrently.map((id) => eraser.eraseCitizenKey(id))]);
        expect(result.erasedMeanwhile).toBeGreaterThanOrEqual(atTheWorstMoment.size);
        expect(result.rewrapped + result.erasedMeanwhile).toBeLessThanOrEqual(24);
        expect(result.rewrapped).toBeGreaterThanOrEqual(24 - atTheWorstMoment.size - concurrently.length);

        const erased = new Set([...atTheWorstMoment, ...concurrently]);
        for (const id of erased) await expect(keys.find(id)).resolves.toEqual({ state: 'erased', erasedAt: '2025-03-01T10:00:00.000Z' });
        expect((await keys.erasures()).map((e) => e.citizenId).sort()).toEqual([...erased].sort());
        await expect(keys.countActiveKeys()).resolves.toEqual([{ kekId: next.id, keys: 24 - erased.size }]);
        const alone = await PersonalDataProtector.open({ kek: next, store: await open(), clock });
        await expectAllReadable(alone, ciphertexts, erased);
        await expect(alone.encryptPersonal(citizen(1), { name: 'Testborger 1' })).rejects.toThrow(PersonalDataErasedError);
      });

      it('two rotations at once, from two handles, rewrap each key once between them and both end done', async () => {
        const [old, next] = [newKek(), newKek()];
        const ciphertexts = await registered(old, 20);
        const one = await PersonalDataProtector.open({ kek: next, previousKek: old, store: await open(), clock });
        const other = await PersonalDataProtector.open({ kek: next, previousKek: old, store: await open(), clock });
        const [first, second] = await Promise.all([one.rotate({ pageSize: 3 }), other.rotate({ pageSize: 4 })]);
        expect(first.rewrapped + second.rewrapped).toBe(20);
        await expect(keys.countActiveKeys()).resolves.toEqual([{ kekId: next.id, keys: 20 }]);
        await expectAllReadable(await PersonalDataProtector.open({ kek: next, store: await open(), clock }), ciphertexts);
      });

      it('a key made under the old KEK behind the rotation (by a process with only that key) is caught by another pass', async () => {
        const [old, next] = [newKek(), newKek()];
        const ciphertexts = await registered(old, 10);
        const oldOnly = await PersonalDataProtector.open({ kek: old, store: await open(), clock });
        let late = true;
        const rotating = intercept(await open(), 'rebindKeyEncryptionKey', async () => {
          // Once, just before the first rebind: a citizen whose id sorts before every one the pass saw.
          if (late) ciphertexts.set('c-0', await oldOnly.encryptPersonal('c-0', { name: 'Testborger 0' }));
          late = false;
        });
        const rotator = await PersonalDataProtector.open({ kek: next, previousKek: old, store: rotating, clock });
        await expect(rotator.rotate({ pageSize: 4 })).resolves.toMatchObject({ toRewrap: 10, rewrapped: 11 });
        await expect(keys.countActiveKeys()).resolves.toEqual([{ kekId: next.id, keys: 11 }]);
        await expectAllReadable(await PersonalDataProtector.open({ kek: next, store: await open(), clock }), ciphertexts);
      });

      it('refuses what it cannot finish, before changing anything: the same key twice, a store bound to neither, keys under a third KEK', async () => {
        const [old, next, third] = [newKek(), newKek(), newKek()];
        await registered(old, 3);
        await expect(PersonalDataProtector.open({ kek: old, previousKek: old, store: keys, clock })).rejects.toThrow(KeyEncryptionKeyError);
        await expect(PersonalDataProtector.open({ kek: third, previousKek: next, store: keys, clock })).rejects.toThrow(
          /neither PERSONAL_DATA_KEK nor PERSONAL_DATA_KEK_PREVIOUS/,
        );
        // A rotation old → third begun (one key), then another one old → next started over it.
        const [stray] = await keys.activeKeys({ limit: 1 });
        const towardsThird = await PersonalDataProtector.open({ kek: third, previousKek: old, store: await open(), clock });
        await towardsThird.encryptPersonal('c-third', { name: 'Testborger' });
        const rotator = await PersonalDataProtector.open({ kek: next, previousKek: old, store: keys, clock });
        await expect(rotator.rotate()).rejects.toThrow(UnknownKeyEncryptionKeyError);
        await expect(keys.activeKeys({ limit: 1 })).resolves.toEqual([stray]);
        await expect(keys.bindKeyEncryptionKey(next.id)).resolves.toBe(old.id);
        await expect(rotator.rotate({ pageSize: 0 })).rejects.toThrow('pageSize must be a whole number from 1 to 10000');
      });

      it.skipIf(options.filesUnreadable !== undefined)('after a rotation no key as the old KEK wrapped it is left in the store’s files', async () => {
        const [old, next] = [newKek(), newKek()];
        await registered(old, 120);
        const before = await keys.activeKeys({ limit: 1000 });
        // The scan sees them before: it is not vacuous.
        expect(await store.storedBytesContain(before.map(({ key }) => key.wrapped))).toEqual(before.map(() => true));
        await (await PersonalDataProtector.open({ kek: next, previousKek: old, store: keys, clock })).rotate({ pageSize: 50 });
        expect(await store.storedBytesContain(before.map(({ key }) => key.wrapped))).toEqual(before.map(() => false));
        // Nor a part of one (every 8-byte window), for keys spread over the store.
        const sample = before.filter((_, i) => i % 17 === 0 || i === before.length - 1);
        const found = await store.storedBytesContain(sample.flatMap(({ key }) => fragmentsOf(key.wrapped)));
        expect(found.filter(Boolean)).toEqual([]);
      });
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
