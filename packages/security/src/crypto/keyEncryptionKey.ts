/**
 * The key-encryption key (KEK): 32 random bytes from configuration (PERSONAL_DATA_KEK, base64) that
 * wraps every citizen's data key. It never touches disk through us and lives in a KeyObject.
 *
 * Its id is an HMAC of a constant under the key: stable, reveals nothing about the key, and lets the
 * key store tell at start whether it is being opened with the key it was created with.
 */
import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { KeyEncryptionKeyError } from './errors.ts';

export const KEK_VARIABLE = 'PERSONAL_DATA_KEK';
/** During a KEK rotation: the key being rotated away from (docs/security.md §7). */
export const PREVIOUS_KEK_VARIABLE = 'PERSONAL_DATA_KEK_PREVIOUS';
export const KEK_BYTES = 32;

export interface KeyEncryptionKey {
  /** 16 hex characters identifying the key (not derived reversibly from it). */
  readonly id: string;
  readonly key: KeyObject;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Parses PERSONAL_DATA_KEK; the error says what is expected and how to make one, never the value. */
export function parseKeyEncryptionKey(value: string | undefined, variable = KEK_VARIABLE): KeyEncryptionKey {
  const text = value?.trim();
  if (text === undefined || text === '') {
    throw new KeyEncryptionKeyError(variable, 'is required: 32 random bytes in base64, e.g. from `openssl rand -base64 32`');
  }
  let bytes: Buffer;
  if (BASE64.test(text)) bytes = Buffer.from(text, 'base64');
  else if (BASE64URL.test(text)) bytes = Buffer.from(text, 'base64url');
  else throw new KeyEncryptionKeyError(variable, 'must be base64 (32 random bytes, e.g. from `openssl rand -base64 32`)');
  try {
    if (bytes.length !== KEK_BYTES) {
      throw new KeyEncryptionKeyError(variable, `must decode to exactly ${KEK_BYTES} bytes; it decodes to ${bytes.length} (use \`openssl rand -base64 32\`)`);
    }
    if (bytes.every((b) => b === bytes[0])) {
      throw new KeyEncryptionKeyError(variable, 'is a placeholder (every byte the same); use 32 random bytes from `openssl rand -base64 32`');
    }
    return keyEncryptionKeyOf(bytes);
  } finally {
    bytes.fill(0);
  }
}

function keyEncryptionKeyOf(bytes: Buffer): KeyEncryptionKey {
  const key = createSecretKey(Buffer.from(bytes));
  const id = createHmac('sha256', key).update('tracker/kek-id/v1').digest('hex').slice(0, 16);
  return Object.freeze({ id, key });
}

/** A fresh KEK in the form PERSONAL_DATA_KEK takes. */
export function generateKeyEncryptionKey(): string {
  return randomBytes(KEK_BYTES).toString('base64');
}

/**
 * For the embedded demo only (AUTH_MODE=development, no PERSONAL_DATA_KEK): a KEK kept in a file
 * (mode 0600) beside the data, so the demo survives restarts. Keeping the KEK next to what it
 * protects defeats crypto-shredding against anyone who copies the folder; refused in production.
 */
export function developmentKeyEncryptionKey(file: string, options: { nodeEnv?: string | undefined } = {}): KeyEncryptionKey {
  if (options.nodeEnv === 'production') {
    throw new KeyEncryptionKeyError(KEK_VARIABLE, 'is required with NODE_ENV=production (a generated development key is refused)');
  }
  if (!existsSync(file)) writeFileSync(file, `${generateKeyEncryptionKey()}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return parseKeyEncryptionKey(readFileSync(file, 'utf8'), `${KEK_VARIABLE} (development key file)`);
}
