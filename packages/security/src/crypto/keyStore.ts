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
  close(): Promise<void>;
}
