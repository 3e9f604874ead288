/**
 * Errors of the personal-data crypto. Messages say what is wrong and what to do, never a key, a
 * ciphertext or a plaintext; the citizen id is not repeated either (callers know which they asked for).
 */

/** PERSONAL_DATA_KEK is missing or not 32 bytes of base64. */
export class KeyEncryptionKeyError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable} ${message}`);
    this.name = 'KeyEncryptionKeyError';
  }
}

/**
 * The configured KEK is not the one the key store is bound to (nor, during a rotation, the previous one):
 * nothing could be decrypted. Also raised for a key wrapped by a KEK the process was not given.
 */
export class KeyEncryptionKeyMismatchError extends Error {
  constructor(options: { previousConfigured?: boolean } = {}) {
    super(
      options.previousConfigured
        ? 'neither PERSONAL_DATA_KEK nor PERSONAL_DATA_KEK_PREVIOUS is the key-encryption key this key store is bound to: no personal data could be decrypted. ' +
            'Configure the key the store is bound to as one of them (a lost key means the personal data is lost; the pseudonymous timelines are unaffected).'
        : 'PERSONAL_DATA_KEK does not match the key-encryption key this key store is bound to: no personal data could be decrypted. ' +
            'Configure the original key — during a key rotation, the new one as PERSONAL_DATA_KEK and the old one as PERSONAL_DATA_KEK_PREVIOUS ' +
            '(a lost key means the personal data is lost; the pseudonymous timelines are unaffected).',
    );
    this.name = 'KeyEncryptionKeyMismatchError';
  }
}

/**
 * A KEK rotation found data keys wrapped by a key-encryption key it was not given (neither
 * PERSONAL_DATA_KEK nor PERSONAL_DATA_KEK_PREVIOUS), e.g. left by an earlier rotation to a third key
 * that was never finished. Nothing was changed; `keys` is a count, never which citizens.
 */
export class UnknownKeyEncryptionKeyError extends Error {
  constructor(readonly keys: number) {
    super(
      `${keys} data key(s) in the key store are wrapped by a key-encryption key that is neither PERSONAL_DATA_KEK nor PERSONAL_DATA_KEK_PREVIOUS: ` +
        'finish the earlier rotation with the keys it was started with first; nothing was changed',
    );
    this.name = 'UnknownKeyEncryptionKeyError';
  }
}

/**
 * The key store cannot be rebound to the new KEK yet: `remaining` data keys are still wrapped by
 * another one — made behind the rotation by a process still running with only the old PERSONAL_DATA_KEK.
 * Run the rotation again once every process has both keys.
 */
export class KeyRotationIncompleteError extends Error {
  constructor(readonly remaining: number) {
    super(
      `${remaining} data key(s) are still wrapped by another key-encryption key than the new one, so the key store stays bound to the old one: ` +
        'a process running with only the old PERSONAL_DATA_KEK is still making keys; give every process both keys, then run the rotation again',
    );
    this.name = 'KeyRotationIncompleteError';
  }
}

/** A tool asked for an existing key store (it must not create an empty one) and there is none where it was told to look. */
export class KeyStoreNotFoundError extends Error {
  constructor(where: string) {
    super(`there is no key store ${where}`);
    this.name = 'KeyStoreNotFoundError';
  }
}

/** A ciphertext that does not authenticate: modified, truncated, or moved to another citizen or field. */
export class PersonalDataIntegrityError extends Error {
  constructor(detail = 'failed authentication: it was modified, or belongs to another citizen or field') {
    super(`encrypted personal data ${detail}`);
    this.name = 'PersonalDataIntegrityError';
  }
}

/** The citizen's key was erased (crypto-shredded): no new personal data is taken for them. */
export class PersonalDataErasedError extends Error {
  constructor(
    /** The event's position in a batch, when raised for one (`encryptPersonalInEvents`). */
    readonly index?: number,
  ) {
    super("the citizen's personal data was erased; send the event without its personal part");
    this.name = 'PersonalDataErasedError';
  }
}

/** Ciphertext exists but the key store has neither the key nor a record of its erasure: the wrong or an incomplete key store. */
export class PersonalDataKeyMissingError extends Error {
  constructor() {
    super("no data key for the citizen and no record of its erasure: the key store is not the one this data was encrypted with, or it was restored incompletely");
    this.name = 'PersonalDataKeyMissingError';
  }
}
