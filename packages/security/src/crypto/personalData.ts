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
 *
 * KEK rotation (`rotate`): every data key is unwrapped with the previous KEK and wrapped again under the
 * current one, then the store is rebound to it. The data keys do not change, so no ciphertext — and no
 * event — does. Each wrapped key names the KEK that wrapped it (`kekId`, bound into its AAD too), so
 * while a rotation is under way or interrupted a protector given both KEKs opens either kind.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { isCprShaped, systemClock, type Clock } from '@tracker/domain';
import {
  KeyEncryptionKeyError,
  KeyEncryptionKeyMismatchError,
  KeyRotationIncompleteError,
  PersonalDataErasedError,
  PersonalDataIntegrityError,
  PersonalDataKeyMissingError,
  UnknownKeyEncryptionKeyError,
} from './errors.ts';
import { KEK_VARIABLE, PREVIOUS_KEK_VARIABLE, type KeyEncryptionKey } from './keyEncryptionKey.ts';
import { MAX_ACTIVE_KEYS_PAGE, type CitizenKeyStore, type WrappedDataKey } from './keyStore.ts';

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
    throw new PersonalDataIntegrityError("key does not authenticate under the key-encryption key that wrapped it: the key store was modified or belongs to another key");
  }
}

export interface PersonalDataProtectorOptions {
  /** PERSONAL_DATA_KEK: wraps every new key, and every key once a rotation to it is done. */
  kek: KeyEncryptionKey;
  /**
   * PERSONAL_DATA_KEK_PREVIOUS, during a KEK rotation only: the key being rotated away from. Keys still
   * wrapped by it are read; none is ever wrapped by it.
   */
  previousKek?: KeyEncryptionKey | undefined;
  store: CitizenKeyStore;
  /** Stamps key creation and erasure. */
  clock?: Clock;
}

export interface KeyRotationProgress {
  /** Keys not under the current KEK when the rotation started (the work to do). */
  toRewrap: number;
  /** Rewrapped by this run so far. */
  rewrapped: number;
  /** Erased while the rotation ran, before it reached them: their erasure won, nothing was rewrapped. */
  erasedMeanwhile: number;
}

export interface KeyRotationResult extends KeyRotationProgress {
  /** Already under the current KEK: made since the processes got it, or rewrapped by an earlier (interrupted) or concurrent run. */
  alreadyCurrent: number;
}

export interface KeyRotationOptions {
  /** Keys read per page (default 500, at most MAX_ACTIVE_KEYS_PAGE). */
  pageSize?: number;
  /** Called after each page: counts only, never citizen ids. */
  onProgress?: (progress: KeyRotationProgress) => void;
}

/** How often a rotation starts over when keys under the old KEK appeared behind it (a process that had only that key). */
const ROTATION_PASSES = 3;

export class PersonalDataProtector {
  readonly #kek: KeyEncryptionKey;
  readonly #previousKek: KeyEncryptionKey | undefined;
  readonly #store: CitizenKeyStore;
  readonly #clock: Clock;

  private constructor(options: PersonalDataProtectorOptions) {
    this.#kek = options.kek;
    this.#previousKek = options.previousKek;
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Opens over a key store, binding the store to the KEK on first use. A store bound to another KEK —
   * neither `kek` nor, during a rotation, `previousKek` — is refused here, at start, with
   * KeyEncryptionKeyMismatchError — not later, request by request.
   */
  static async open(options: PersonalDataProtectorOptions): Promise<PersonalDataProtector> {
    const previous = options.previousKek;
    if (previous !== undefined && previous.id === options.kek.id) {
      throw new KeyEncryptionKeyError(PREVIOUS_KEK_VARIABLE, `must differ from ${KEK_VARIABLE}: it is the key being rotated away from`);
    }
    const bound = await options.store.bindKeyEncryptionKey(options.kek.id);
    if (bound !== options.kek.id && bound !== previous?.id) throw new KeyEncryptionKeyMismatchError({ previousConfigured: previous !== undefined });
    return new PersonalDataProtector(options);
  }

  /**
   * KEK rotation: rewraps every data key still wrapped by the previous KEK under the current one, then
   * rebinds the store to the current KEK (and has it remove the old wrapped bytes from its files). The
   * data keys stay the same, so no ciphertext and no event changes.
   *
   * Safe to run while other processes (with both KEKs) encrypt, decrypt and erase: each key is replaced
   * only if it is still the one read (compare-and-set), so an erasure meanwhile wins and no erased key
   * comes back. Interrupted, it leaves keys under either KEK, all readable with both; run it again to
   * finish. Keys under a KEK that is neither: UnknownKeyEncryptionKeyError, before anything changes.
   */
  async rotate(options: KeyRotationOptions = {}): Promise<KeyRotationResult> {
    const pageSize = options.pageSize ?? 500;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_ACTIVE_KEYS_PAGE) {
      throw new TypeError(`pageSize must be a whole number from 1 to ${MAX_ACTIVE_KEYS_PAGE}`);
    }
    const current = this.#kek;
    const previous = this.#previousKek;
    const bound = await this.#store.bindKeyEncryptionKey(current.id);
    if (bound !== current.id && bound !== previous?.id) throw new KeyEncryptionKeyMismatchError({ previousConfigured: previous !== undefined });

    const counts = await this.#store.countActiveKeys();
    const under = (kekId: string | undefined) => counts.filter((c) => c.kekId === kekId).reduce((sum, c) => sum + c.keys, 0);
    const unknown = counts.filter((c) => c.kekId !== current.id && c.kekId !== previous?.id).reduce((sum, c) => sum + c.keys, 0);
    if (unknown > 0) throw new UnknownKeyEncryptionKeyError(unknown);

    const result: KeyRotationResult = { toRewrap: under(previous?.id), rewrapped: 0, erasedMeanwhile: 0, alreadyCurrent: under(current.id) };
    for (let pass = 1; ; pass++) {
      let after: string | undefined;
      for (;;) {
        const page = await this.#store.activeKeys({ after, limit: pageSize, notWrappedBy: current.id });
        if (page.length === 0) break;
        for (const { citizenId, key } of page) result[await this.#rewrap(citizenId, key)]++;
        after = page.at(-1)!.citizenId;
        options.onProgress?.({ toRewrap: result.toRewrap, rewrapped: result.rewrapped, erasedMeanwhile: result.erasedMeanwhile });
      }
      try {
        await this.#store.rebindKeyEncryptionKey(bound, current.id);
        return result;
      } catch (error) {
        // Keys made under the old KEK behind the cursor, by a process that had only that key: another pass.
        if (!(error instanceof KeyRotationIncompleteError) || pass === ROTATION_PASSES) throw error;
      }
    }
  }

  /** Rewraps one key under the current KEK unless it changed since it was read; says what became of it. */
  async #rewrap(citizenId: string, read: WrappedDataKey): Promise<'rewrapped' | 'erasedMeanwhile' | 'alreadyCurrent'> {
    let key = read;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (key.kekId === this.#kek.id) return 'alreadyCurrent';
      const dataKey = this.#unwrap(citizenId, key);
      let wrapped: Uint8Array;
      try {
        wrapped = wrapDataKey(this.#kek, citizenId, key.kid, dataKey);
      } finally {
        dataKey.fill(0);
      }
      if (await this.#store.rewrapKey(citizenId, key, { kekId: this.#kek.id, wrapped })) return 'rewrapped';
      // Changed since it was read: erased (the erasure wins), or rewrapped by a concurrent rotation.
      const now = await this.#store.find(citizenId);
      if (now.state !== 'active') return 'erasedMeanwhile';
      key = now.key;
    }
    throw new Error('a data key kept changing while it was being rewrapped; run the rotation again');
  }

  /** The data key in the clear, unwrapped with whichever configured KEK wrapped it; the caller zeroes it. */
  #unwrap(citizenId: string, key: WrappedDataKey): Buffer {
    if (key.kekId === this.#kek.id) return unwrapDataKey(this.#kek, citizenId, key);
    if (this.#previousKek !== undefined && key.kekId === this.#previousKek.id) return unwrapDataKey(this.#previousKek, citizenId, key);
    throw new KeyEncryptionKeyMismatchError({ previousConfigured: this.#previousKek !== undefined });
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

    const dataKey = this.#unwrap(citizenId, stored.key);
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
    return { kid: stored.key.kid, dataKey: this.#unwrap(citizenId, stored.key) };
  }
}
