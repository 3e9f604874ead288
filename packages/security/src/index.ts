/**
 * @tracker/security: authentication (OIDC bearer tokens), the authorisation policy (role × operation,
 * data scopes), personal data at rest (per-citizen keys, crypto-shredding) and the access log.
 * See docs/security.md for the threat model and how these are wired.
 */
// Authentication
export * from './auth/principal.ts';
export * from './auth/authenticationError.ts';
export { bearerTokenOf, MAX_AUTHORIZATION_HEADER_LENGTH } from './auth/bearer.ts';
export { DEFAULT_CLAIM_NAMES, principalFromClaims, type ClaimNames } from './auth/claims.ts';
export * from './auth/settings.ts';
export { createAuthenticator, DEVELOPMENT_MODE_WARNING, type Authenticator, type CreateAuthenticatorOptions, type SecurityLogger } from './auth/authenticator.ts';

// Authorisation
export * from './authorization/authorizationError.ts';
export * from './authorization/operations.ts';
export * from './authorization/policy.ts';
export * from './authorization/sqlScope.ts';

// Personal data at rest
export * from './crypto/errors.ts';
export { parseKeyEncryptionKey, generateKeyEncryptionKey, developmentKeyEncryptionKey, KEK_VARIABLE, PREVIOUS_KEK_VARIABLE, type KeyEncryptionKey } from './crypto/keyEncryptionKey.ts';
export { MAX_ACTIVE_KEYS_PAGE, type ActiveDataKey, type ActiveKeysPage, type CitizenKeyStore, type RewrappedDataKey, type StoredDataKey, type WrappedDataKey } from './crypto/keyStore.ts';
export { SqliteKeyStore } from './crypto/sqliteKeyStore.ts';
export {
  DEFAULT_KEY_STORE_SCHEMA,
  KeyStoreScrubError,
  POSTGRES_KEY_STORE_SCHEMA_VERSION,
  PostgresKeyStore,
  PostgresKeyStoreError,
  type PostgresKeyStoreOptions,
} from './crypto/postgresKeyStore.ts';
export {
  PersonalDataProtector,
  isEncryptedPersonal,
  PERSONAL_PURPOSE,
  type EncryptedPersonal,
  type PersonalData,
  type PersonalDataProtectorOptions,
  type KeyRotationOptions,
  type KeyRotationProgress,
  type KeyRotationResult,
} from './crypto/personalData.ts';

// Access log
export {
  AccessLogClosedError,
  AccessLogEntryError,
  AccessLogNotFoundError,
  ERASURE_OPERATION,
  type AccessLog,
  type AccessLogEntry,
  type AccessRecord,
  type EntriesFilter,
  type Lookup,
  type RecordedErasure,
} from './audit/accessLog.ts';
export type { ChainVerification } from './audit/hashChain.ts';
export { SqliteAccessLog, type SqliteAccessLogOptions, type SqliteAccessLogStats } from './audit/sqliteAccessLog.ts';
export {
  DEFAULT_ACCESS_LOG_SCHEMA,
  POSTGRES_ACCESS_LOG_SCHEMA_VERSION,
  PostgresAccessLog,
  PostgresAccessLogError,
  type PostgresAccessLogOptions,
  type PostgresAccessLogStats,
} from './audit/postgresAccessLog.ts';

// Answers
export { graphqlExtensionsOf, isSecurityError, securityResponseOf, type SecurityResponse } from './responses.ts';

// Encrypting personal on append
export { decryptEventPersonal, encryptEventPersonal, encryptPersonalInEvents } from './crypto/events.ts';
