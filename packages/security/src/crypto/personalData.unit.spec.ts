import { describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import {
  KeyEncryptionKeyError,
  KeyEncryptionKeyMismatchError,
  PersonalDataErasedError,
  PersonalDataIntegrityError,
  PersonalDataKeyMissingError,
} from './errors.ts';
import { generateKeyEncryptionKey, parseKeyEncryptionKey } from './keyEncryptionKey.ts';
import { isEncryptedPersonal, PersonalDataProtector, type EncryptedPersonal } from './personalData.ts';
import { SqliteKeyStore } from './sqliteKeyStore.ts';

const NAME = 'Freja Testesen';
const CPR = '010190-1234';

async function protector(store = new SqliteKeyStore(':memory:'), kek = parseKeyEncryptionKey(generateKeyEncryptionKey())) {
  return { store, kek, p: await PersonalDataProtector.open({ kek, store, clock: new ManualClock('2025-03-01T10:00:00Z') }) };
}

const flip = (b64: string, at = 0) => {
  const bytes = Buffer.from(b64, 'base64url');
  bytes[at] = bytes[at]! ^ 0x01;
  return bytes.toString('base64url');
};

describe('encryptPersonal / decryptPersonal', () => {
  it('round-trips, and the envelope holds no plaintext', async () => {
    const { p } = await protector();
    const encrypted = await p.encryptPersonal('c-1', { name: NAME, cpr: CPR });
    expect(isEncryptedPersonal(encrypted)).toBe(true);
    expect(Object.keys(encrypted).sort()).toEqual(['ct', 'iv', 'kid', 'tag', 'v']);
    const text = JSON.stringify(encrypted);
    expect(text).not.toContain('Freja');
    expect(text).not.toContain('010190');
    await expect(p.decryptPersonal('c-1', encrypted)).resolves.toEqual({ name: NAME, cpr: CPR });
  });

  it('one key per citizen, a fresh iv per ciphertext, lengths padded', async () => {
    const { p } = await protector();
    const a = await p.encryptPersonal('c-1', { name: 'Al' });
    const b = await p.encryptPersonal('c-1', { name: 'Alexandra Bodil Christensen-Mortensen' });
    const c = await p.encryptPersonal('c-2', { name: 'Al' });
    expect(a.kid).toBe(b.kid);
    expect(a.kid).not.toBe(c.kid);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ct.length).toBe(b.ct.length);
  });

  it('concurrent first encryptions of one citizen agree on one key', async () => {
    const { p } = await protector();
    const all = await Promise.all(Array.from({ length: 20 }, () => p.encryptPersonal('c-9', { name: NAME })));
    expect(new Set(all.map((e) => e.kid)).size).toBe(1);
    for (const e of all) await expect(p.decryptPersonal('c-9', e)).resolves.toEqual({ name: NAME });
  });

  it('refuses a CPR-shaped citizen id without echoing it', async () => {
    const { p } = await protector();
    const error = await p.encryptPersonal('0101901234', { name: NAME }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).not.toContain('0101901234');
  });
});

describe('tampering', () => {
  const cases: [string, (e: EncryptedPersonal) => EncryptedPersonal][] = [
    ['a flipped ciphertext bit', (e) => ({ ...e, ct: flip(e.ct, 3) })],
    ['a flipped tag bit', (e) => ({ ...e, tag: flip(e.tag) })],
    ['a flipped iv bit', (e) => ({ ...e, iv: flip(e.iv) })],
    ['a truncated ciphertext', (e) => ({ ...e, ct: e.ct.slice(0, -4) })],
  ];
  it.each(cases)('%s fails authentication', async (_name, tamper) => {
    const { p } = await protector();
    const encrypted = await p.encryptPersonal('c-1', { name: NAME });
    await expect(p.decryptPersonal('c-1', tamper(encrypted))).rejects.toThrow(PersonalDataIntegrityError);
  });

  it('a ciphertext moved to another citizen or another field does not decrypt (AAD)', async () => {
    const { p } = await protector();
    const encrypted = await p.encryptPersonal('c-1', { name: NAME });
    await p.encryptPersonal('c-2', { name: 'someone else' });
    // Under c-2 the kid differs; with c-2's kid put in, the AAD (citizen id) still differs.
    await expect(p.decryptPersonal('c-2', encrypted)).rejects.toThrow(PersonalDataIntegrityError);
    const c2kid = (await p.encryptPersonal('c-2', {})).kid;
    await expect(p.decryptPersonal('c-2', { ...encrypted, kid: c2kid })).rejects.toThrow(PersonalDataIntegrityError);
    await expect(p.decryptPersonal('c-1', encrypted, 'RelativeLinked.personal')).rejects.toThrow(PersonalDataIntegrityError);
  });

  it('malformed envelopes are refused without decrypting', async () => {
    const { p } = await protector();
    const encrypted = await p.encryptPersonal('c-1', { name: NAME });
    for (const bad of [null, 'x', { ...encrypted, v: 2 }, { ...encrypted, extra: 1 }, { ...encrypted, tag: 'short' }, { name: NAME }]) {
      await expect(p.decryptPersonal('c-1', bad)).rejects.toThrow(PersonalDataIntegrityError);
    }
  });

  it('the error never carries the plaintext or the ciphertext', async () => {
    const { p } = await protector();
    const encrypted = await p.encryptPersonal('c-1', { name: NAME, cpr: CPR });
    const error = (await p.decryptPersonal('c-1', { ...encrypted, tag: flip(encrypted.tag) }).catch((e: Error) => e)) as Error;
    expect(`${error.message} ${error.stack}`).not.toContain(encrypted.ct);
    expect(error.cause).toBeUndefined();
  });
});

describe('erasure (crypto-shredding)', () => {
  it('after erasure decrypt answers null, other citizens are unaffected, and no new key is made', async () => {
    const { p } = await protector();
    const one = await p.encryptPersonal('c-1', { name: NAME });
    const two = await p.encryptPersonal('c-2', { name: 'Other Person' });
    await expect(p.eraseCitizenKey('c-1')).resolves.toEqual({ erased: true });
    await expect(p.decryptPersonal('c-1', one)).resolves.toBeNull();
    await expect(p.decryptPersonal('c-2', two)).resolves.toEqual({ name: 'Other Person' });
    await expect(p.encryptPersonal('c-1', { name: NAME })).rejects.toThrow(PersonalDataErasedError);
    await expect(p.eraseCitizenKey('c-1')).resolves.toEqual({ erased: false });
    await expect(p.isErased('c-1')).resolves.toBe(true);
  });

  it('erasing a citizen who never had a key still blocks future keys', async () => {
    const { p } = await protector();
    await expect(p.eraseCitizenKey('c-5')).resolves.toEqual({ erased: false });
    await expect(p.encryptPersonal('c-5', { name: NAME })).rejects.toThrow(PersonalDataErasedError);
  });

  it('a ciphertext whose citizen the key store does not know is a clear error, not null', async () => {
    const { p } = await protector();
    const encrypted = await p.encryptPersonal('c-1', { name: NAME });
    const { p: other } = await protector();
    await expect(other.decryptPersonal('c-1', encrypted)).rejects.toThrow(PersonalDataKeyMissingError);
  });
});

describe('the key-encryption key', () => {
  it('a store opened with another KEK is refused at open with a clear error', async () => {
    const store = new SqliteKeyStore(':memory:');
    await protector(store);
    const error = await protector(store).catch((e: Error) => e);
    expect(error).toBeInstanceOf(KeyEncryptionKeyMismatchError);
    expect((error as Error).message).toContain('PERSONAL_DATA_KEK does not match');
  });

  it('during a rotation (a previous KEK given) reads keys wrapped by either, and wraps new keys under the current one only', async () => {
    const store = new SqliteKeyStore(':memory:');
    const { kek: old, p: before } = await protector(store);
    const early = await before.encryptPersonal('c-1', { name: NAME });
    const next = parseKeyEncryptionKey(generateKeyEncryptionKey());
    const during = await PersonalDataProtector.open({ kek: next, previousKek: old, store });
    await expect(during.decryptPersonal('c-1', early)).resolves.toEqual({ name: NAME });
    // An existing key is used as it is (the rotation rewraps it); a new one is made under the current KEK.
    await expect(during.decryptPersonal('c-1', await during.encryptPersonal('c-1', { cpr: CPR }))).resolves.toEqual({ cpr: CPR });
    const late = await during.encryptPersonal('c-2', { name: NAME });
    expect(await store.countActiveKeys()).toEqual([
      { kekId: old.id, keys: 1 },
      { kekId: next.id, keys: 1 },
    ].sort((a, b) => (a.kekId < b.kekId ? -1 : 1)));
    await expect(during.decryptPersonal('c-2', late)).resolves.toEqual({ name: NAME });
    // The store stays bound to the old KEK until a rotation completes.
    await expect(store.bindKeyEncryptionKey(next.id)).resolves.toBe(old.id);
  });

  it('refuses the same key as current and previous, naming the variable and never the key', async () => {
    const value = generateKeyEncryptionKey();
    const kek = parseKeyEncryptionKey(value);
    const error = await PersonalDataProtector.open({ kek, previousKek: parseKeyEncryptionKey(value), store: new SqliteKeyStore(':memory:') }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(KeyEncryptionKeyError);
    expect((error as KeyEncryptionKeyError).variable).toBe('PERSONAL_DATA_KEK_PREVIOUS');
    expect((error as Error).message).toContain('must differ from PERSONAL_DATA_KEK');
    expect((error as Error).message).not.toContain(value);
  });

  it.each([
    [undefined, 'is required'],
    ['', 'is required'],
    ['not base64!', 'must be base64'],
    [Buffer.alloc(16, 7).toString('base64'), 'exactly 32 bytes; it decodes to 16'],
    [Buffer.alloc(32, 0).toString('base64'), 'placeholder'],
  ])('PERSONAL_DATA_KEK %j → %s', (value, message) => {
    let error: unknown;
    try {
      parseKeyEncryptionKey(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeyEncryptionKeyError);
    expect((error as Error).message).toContain('PERSONAL_DATA_KEK');
    expect((error as Error).message).toContain(message);
    if (value) expect((error as Error).message).not.toContain(value);
  });

  it('accepts standard and url-safe base64; the id is stable and not the key', () => {
    const raw = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff));
    const a = parseKeyEncryptionKey(raw.toString('base64'));
    const b = parseKeyEncryptionKey(raw.toString('base64url'));
    expect(a.id).toBe(b.id);
    expect(a.id).toMatch(/^[0-9a-f]{16}$/);
    expect(raw.toString('hex')).not.toContain(a.id);
  });
});
