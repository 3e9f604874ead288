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

/** The configured KEK is not the one the key store was created with: nothing could be decrypted. */
export class KeyEncryptionKeyMismatchError extends Error {
  constructor() {
    super(
      'PERSONAL_DATA_KEK does not match the key-encryption key this key store was created with: no personal data could be decrypted. ' +
        'Configure the original key (a lost key means the personal data is lost; the pseudonymous timelines are unaffected).',
    );
    this.name = 'KeyEncryptionKeyMismatchError';
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
