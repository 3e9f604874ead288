/**
 * The port for citizens' data keys. Keys are stored only wrapped (encrypted under the KEK); the store
 * never sees a key in the clear. Adapters: SQLite (embedded, its own file); a PostgreSQL adapter for the
 * distributed mode implements the same port and must pass the same tests (in particular: an erased key
 * leaves no bytes behind in the store's files).
 */

export interface WrappedDataKey {
  /** The data key's id, carried in every ciphertext it made. */
  kid: string;
  /** Id of the KEK that wrapped it. */
  kekId: string;
  /** iv (12) ‖ ciphertext (32) ‖ tag (16) of AES-256-GCM under the KEK. */
  wrapped: Uint8Array;
  createdAt: string;
}

/** A citizen's active key, as listed for a KEK rotation. */
export interface ActiveDataKey {
  citizenId: string;
  key: WrappedDataKey;
}

/** One page of active keys (keyset pagination by citizen id, so a page costs the same wherever it starts). */
export interface ActiveKeysPage {
  /** Only keys of citizens after this one in the store's order of citizen ids: the last of the previous page. */
  after?: string | undefined;
  /** At most this many keys: a whole number from 1 to MAX_ACTIVE_KEYS_PAGE. */
  limit: number;
  /** Leaves out keys wrapped by this KEK: those a rotation to it needs no more. */
  notWrappedBy?: string | undefined;
}

export const MAX_ACTIVE_KEYS_PAGE = 10_000;

/** The rewrapped form of a key: the same data key (same `kid`, same `createdAt`) under another KEK. */
export interface RewrappedDataKey {
  kekId: string;
  wrapped: Uint8Array;
}

export type StoredDataKey =
  | { state: 'active'; key: WrappedDataKey }
  /** Crypto-shredded: the key is gone; only the citizen id and the instant remain, so it is never recreated. */
  | { state: 'erased'; erasedAt: string }
  | { state: 'absent' };

export interface CitizenKeyStore {
  /**
   * Binds the store to a KEK on first use and answers the id it is bound to. The caller compares:
   * a different id means the configured KEK is not the store's.
   */
  bindKeyEncryptionKey(kekId: string): Promise<string>;
  find(citizenId: string): Promise<StoredDataKey>;
  /** Stores the key unless the citizen already has one or was erased; answers what is stored now (a race keeps the first). */
  insertIfAbsent(citizenId: string, key: WrappedDataKey): Promise<StoredDataKey>;
  /**
   * Deletes the wrapped key so that its bytes remain in none of the store's files, and records the
   * erasure. `erased` is false when there was no key (already erased, or never had one); the erasure is
   * recorded either way, so no key is made for the citizen later.
   */
  erase(citizenId: string, erasedAt: string): Promise<{ erased: boolean }>;
  /** Citizens whose keys were erased, for re-applying erasures to a key store restored from a backup. */
  erasures(): Promise<{ citizenId: string; erasedAt: string }[]>;

  // KEK rotation (PersonalDataProtector.rotate, docs/security.md §7): every data key is rewrapped under
  // the new KEK — the data keys themselves, and so every ciphertext, stay as they are — then the store
  // is rebound to it.

  /** Active keys, ordered by citizen id (the order `after` continues in). Erased citizens are not listed. */
  activeKeys(page: ActiveKeysPage): Promise<ActiveDataKey[]>;
  /** How many active keys each KEK wraps, by KEK id (progress and checks of a rotation; no citizen ids). */
  countActiveKeys(): Promise<{ kekId: string; keys: number }[]>;
  /**
   * Compare-and-set: replaces the citizen's wrapped key by `rewrapped` only if the stored key is still
   * `expected` (same kid, KEK id and bytes). False when it is not — erased meanwhile (an erasure always
   * wins: an erased key is never brought back), or rewrapped by someone else.
   */
  rewrapKey(citizenId: string, expected: WrappedDataKey, rewrapped: RewrappedDataKey): Promise<boolean>;
  /**
   * Ends a rotation: binds the store to KEK `to` in place of `from`, only once no active key is wrapped
   * by another KEK than `to` (else KeyRotationIncompleteError, with the count), then removes the old
   * wrapped bytes from the store's files as far as `erase` does. Already bound to `to`: only the
   * removal (a rebind interrupted after its commit is finished by calling it again). Bound to neither:
   * KeyEncryptionKeyMismatchError.
   */
  rebindKeyEncryptionKey(from: string, to: string): Promise<void>;
  close(): Promise<void>;
}

/** Shared by the adapters: a bad page or rewrapped key is refused naming the field, before any I/O. */
export function checkActiveKeysPage(page: ActiveKeysPage): void {
  if (typeof page !== 'object' || page === null) throw new TypeError('page must be an object { after?, limit, notWrappedBy? }');
  if (!Number.isSafeInteger(page.limit) || page.limit < 1 || page.limit > MAX_ACTIVE_KEYS_PAGE) {
    throw new TypeError(`page.limit must be a whole number from 1 to ${MAX_ACTIVE_KEYS_PAGE}`);
  }
  if (page.after !== undefined && typeof page.after !== 'string') throw new TypeError('page.after must be a citizen id');
  if (page.notWrappedBy !== undefined && (typeof page.notWrappedBy !== 'string' || page.notWrappedBy === '')) {
    throw new TypeError('page.notWrappedBy must be a KEK id');
  }
}

export function checkRewrapped(expected: WrappedDataKey, rewrapped: RewrappedDataKey): void {
  if (!(expected?.wrapped instanceof Uint8Array) || typeof expected.kid !== 'string' || typeof expected.kekId !== 'string') {
    throw new TypeError('expected must be the wrapped key as read from the store');
  }
  if (typeof rewrapped?.kekId !== 'string' || rewrapped.kekId === '') throw new TypeError('rewrapped.kekId must be a KEK id');
  if (!(rewrapped.wrapped instanceof Uint8Array) || rewrapped.wrapped.length === 0) throw new TypeError('rewrapped.wrapped must be bytes');
}
