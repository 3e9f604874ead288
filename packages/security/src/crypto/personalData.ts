/**
 * Personal data at rest (domain.md §6): the `personal` part of CitizenRegistered (name, CPR) is stored
 * only as AES-256-GCM ciphertext under a key that belongs to that one citizen. Erasing the citizen's key
 * (crypto-shredding) makes every copy of the ciphertext unreadable — in the event store, in Kafka
 * messages, in backups of either — while the pseudonymous timeline stays as it was.
 *
 * Envelope hierarchy: a random 256-bit data key per citizen, stored wrapped (AES-256-GCM) under the
 * key-encryption key from configuration, in a key store of its own (keyStore.ts).
 *
 * The additional authenticated data binds a ciphertext to its citizen, its field ("purpose") and its
 * data key: a ciphertext copied into another citizen's event, or from one field to another, fails
 * authentication instead of decrypting as someone else's name.
 *
 * The plaintext JSON is padded with spaces to a multiple of 64 bytes, so the ciphertext's length does
 * not tell a short name from a long one.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { isCprShaped, systemClock, type Clock } from '@tracker/domain';
import {
  KeyEncryptionKeyMismatchError,
  PersonalDataErasedError,
  PersonalDataIntegrityError,
  PersonalDataKeyMissingError,
} from './errors.ts';
import type { KeyEncryptionKey } from './keyEncryptionKey.ts';
import type { CitizenKeyStore, WrappedDataKey } from './keyStore.ts';

/** What an encrypted `personal` field looks like in an event: base64url strings, version 1. */
export interface EncryptedPersonal {
  v: 1;
  /** The citizen's data key id. */
  kid: string;
  iv: string;
  ct: string;
  tag: string;
}

/** CitizenRegistered's `personal` (domain.md §3). */
export interface PersonalData {
  name?: string;
  cpr?: string;
}

/** The field purpose of CitizenRegistered.personal; other fields that one day hold personal data name their own. */
export const PERSONAL_PURPOSE = 'CitizenRegistered.personal';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const DATA_KEY_BYTES = 32;
const PAD_TO = 64;
/** Larger plaintexts are refused: a `personal` part is a name and a CPR number, not a document. */
const MAX_PLAINTEXT_BYTES = 16 * 1024;

const PSEUDONYMOUS_ID = /^[A-Za-z0-9._-]{1,64}$/;
const PURPOSE = /^[A-Za-z0-9._:-]{1,64}$/;
const KID = /^[A-Za-z0-9_-]{16}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

export function isEncryptedPersonal(value: unknown): value is EncryptedPersonal {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    v.v === 1 &&
    typeof v.kid === 'string' &&
    KID.test(v.kid) &&
    typeof v.iv === 'string' &&
    v.iv.length === 16 &&
    B64URL.test(v.iv) &&
    typeof v.tag === 'string' &&
    v.tag.length === 22 &&
    B64URL.test(v.tag) &&
    typeof v.ct === 'string' &&
    v.ct.length > 0 &&
    B64URL.test(v.ct) &&
    Object.keys(v).length === 5
  );
}

function checkCitizenId(citizenId: string): void {
  if (typeof citizenId !== 'string' || !PSEUDONYMOUS_ID.test(citizenId) || isCprShaped(citizenId)) {
    throw new TypeError('citizenId must be a pseudonymous id (1–64 of A–Z, a–z, 0–9, ".", "_", "-"), never a CPR number');
  }
}

function checkPurpose(purpose: string): void {
  if (typeof purpose !== 'string' || !PURPOSE.test(purpose)) throw new TypeError('purpose must be 1–64 of A–Z, a–z, 0–9, ".", "_", ":", "-"');
}

/** Unambiguous (JSON array) encodings of what each ciphertext is bound to. */
const dataAad = (citizenId: string, purpose: string, kid: string) => Buffer.from(JSON.stringify(['tracker/personal', 1, purpose, citizenId, kid]));
const wrapAad = (citizenId: string, kid: string, kekId: string) => Buffer.from(JSON.stringify(['tracker/data-key', 1, citizenId, kid, kekId]));

export function wrapDataKey(kek: KeyEncryptionKey, citizenId: string, kid: string, dataKey: Buffer): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek.key, iv).setAAD(wrapAad(citizenId, kid, kek.id));
  const ct = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return new Uint8Array(Buffer.concat([iv, ct, cipher.getAuthTag()]));
}

/** The data key in the clear; the caller zeroes it after use. */
export function unwrapDataKey(kek: KeyEncryptionKey, citizenId: string, key: WrappedDataKey): Buffer {
  if (key.kekId !== kek.id) throw new KeyEncryptionKeyMismatchError();
  const wrapped = Buffer.from(key.wrapped);
  if (wrapped.length !== IV_BYTES + DATA_KEY_BYTES + TAG_BYTES) throw new PersonalDataIntegrityError('key is malformed in the key store');
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek.key, wrapped.subarray(0, IV_BYTES)).setAAD(wrapAad(citizenId, key.kid, kek.id));
    decipher.setAuthTag(wrapped.subarray(IV_BYTES + DATA_KEY_BYTES));
    return Buffer.concat([decipher.update(wrapped.subarray(IV_BYTES, IV_BYTES + DATA_KEY_BYTES)), decipher.final()]);
  } catch {
    throw new PersonalDataIntegrityError("key does not authenticate under PERSONAL_DATA_KEK: the key store was modified or belongs to another key");
  }
}

export interface PersonalDataProtectorOptions {
  kek: KeyEncryptionKey;
  store: CitizenKeyStore;
  /** Stamps key creation and erasure. */
  clock?: Clock;
}

export class PersonalDataProtector {
  readonly #kek: KeyEncryptionKey;
  readonly #store: CitizenKeyStore;
  readonly #clock: Clock;

  private constructor(options: PersonalDataProtectorOptions) {
    this.#kek = options.kek;
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Opens over a key store, binding the store to the KEK on first use. A store created with another
   * KEK is refused here, at start, with KeyEncryptionKeyMismatchError — not later, request by request.
   */
  static async open(options: PersonalDataProtectorOptions): Promise<PersonalDataProtector> {
    const bound = await options.store.bindKeyEncryptionKey(options.kek.id);
    if (bound !== options.kek.id) throw new KeyEncryptionKeyMismatchError();
    return new PersonalDataProtector(options);
  }

  /**
   * The ciphertext to store in place of `personal`. Creates the citizen's data key on first use.
   * Throws PersonalDataErasedError when the citizen's key was erased: new personal data for an erased
   * citizen is refused, never stored under a fresh key.
   */
  async encryptPersonal<T extends object = PersonalData>(citizenId: string, personal: T, purpose: string = PERSONAL_PURPOSE): Promise<EncryptedPersonal> {
    checkCitizenId(citizenId);
    checkPurpose(purpose);
    if (typeof personal !== 'object' || personal === null) throw new TypeError('personal must be an object');
    const json = JSON.stringify(personal);
    const length = Buffer.byteLength(json);
    if (length > MAX_PLAINTEXT_BYTES) throw new TypeError(`personal must serialise to at most ${MAX_PLAINTEXT_BYTES} bytes`);
    const plaintext = Buffer.alloc(Math.max(PAD_TO, Math.ceil(length / PAD_TO) * PAD_TO), 0x20);
    plaintext.write(json, 'utf8');

    const { kid, dataKey } = await this.#dataKeyFor(citizenId);
    try {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', dataKey, iv).setAAD(dataAad(citizenId, purpose, kid));
      const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return { v: 1, kid, iv: iv.toString('base64url'), ct: ct.toString('base64url'), tag: cipher.getAuthTag().toString('base64url') };
    } finally {
      dataKey.fill(0);
      plaintext.fill(0);
    }
  }

  /**
   * The personal data, or null when the citizen's key was erased (crypto-shredded). Throws
   * PersonalDataIntegrityError when the ciphertext was modified or belongs to another citizen or
   * field, PersonalDataKeyMissingError when the key store knows nothing of the citizen.
   */
  async decryptPersonal<T extends object = PersonalData>(citizenId: string, encrypted: unknown, purpose: string = PERSONAL_PURPOSE): Promise<T | null> {
    checkCitizenId(citizenId);
    checkPurpose(purpose);
    if (!isEncryptedPersonal(encrypted)) throw new PersonalDataIntegrityError('is malformed (expected {v: 1, kid, iv, ct, tag})');
    const stored = await this.#store.find(citizenId);
    if (stored.state === 'erased') return null;
    if (stored.state === 'absent') throw new PersonalDataKeyMissingError();
    if (stored.key.kid !== encrypted.kid) throw new PersonalDataIntegrityError("was made with another data key than the citizen's");

    const dataKey = unwrapDataKey(this.#kek, citizenId, stored.key);
    let plaintext: Buffer | undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(encrypted.iv, 'base64url')).setAAD(dataAad(citizenId, purpose, encrypted.kid));
      decipher.setAuthTag(Buffer.from(encrypted.tag, 'base64url'));
      plaintext = Buffer.concat([decipher.update(Buffer.from(encrypted.ct, 'base64url')), decipher.final()]);
    } catch {
      throw new PersonalDataIntegrityError();
    } finally {
      dataKey.fill(0);
    }
    try {
      const value: unknown = JSON.parse(plaintext.toString('utf8'));
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PersonalDataIntegrityError('does not hold an object');
      return value as T;
    } catch (error) {
      if (error instanceof PersonalDataIntegrityError) throw error;
      throw new PersonalDataIntegrityError('does not hold JSON');
    } finally {
      plaintext.fill(0);
    }
  }

  /**
   * Crypto-shredding: deletes the citizen's data key so that every ciphertext made with it — wherever
   * copies of it live — can no longer be decrypted, and records the erasure so no new key is made.
   * The events and their pseudonymous fields are untouched. `erased` is false when there was no key.
   */
  async eraseCitizenKey(citizenId: string): Promise<{ erased: boolean }> {
    checkCitizenId(citizenId);
    return this.#store.erase(citizenId, this.#clock.now().toISOString());
  }

  /** Whether the citizen's key was erased. */
  async isErased(citizenId: string): Promise<boolean> {
    checkCitizenId(citizenId);
    return (await this.#store.find(citizenId)).state === 'erased';
  }

  async #dataKeyFor(citizenId: string): Promise<{ kid: string; dataKey: Buffer }> {
    let stored = await this.#store.find(citizenId);
    if (stored.state === 'absent') {
      const kid = randomBytes(12).toString('base64url');
      const fresh = randomBytes(DATA_KEY_BYTES);
      try {
        const wrapped = wrapDataKey(this.#kek, citizenId, kid, fresh);
        stored = await this.#store.insertIfAbsent(citizenId, { kid, kekId: this.#kek.id, wrapped, createdAt: this.#clock.now().toISOString() });
      } finally {
        fresh.fill(0);
      }
    }
    if (stored.state === 'erased') throw new PersonalDataErasedError();
    if (stored.state === 'absent') throw new PersonalDataKeyMissingError();
    return { kid: stored.key.kid, dataKey: unwrapDataKey(this.#kek, citizenId, stored.key) };
  }
}
