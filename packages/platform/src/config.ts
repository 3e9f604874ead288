/**
 * The tracker's configuration, read once from the environment at start and validated with zod.
 *
 * Rules:
 * - Every problem is reported at once (one line per variable, naming the variable and the reason),
 *   so an operator fixes the environment in one round trip.
 * - Values are never echoed back in errors: some variables are URLs that may carry credentials, and
 *   a mistyped value may be something pasted from elsewhere.
 * - An empty (or blank) variable counts as unset, as in most `.env` tooling.
 * - `loadConfig` does no I/O: files named here (UNITS_FILE, POLICIES_FILE) are read and validated by
 *   their own loaders, which name the file and the bad field.
 */
import path from 'node:path';
import { z } from 'zod';
import {
  AuthConfigurationError,
  authSettingsFromEnv,
  KeyEncryptionKeyError,
  parseKeyEncryptionKey,
  type AuthSettings,
  type KeyEncryptionKey,
} from '@tracker/security';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

/** Authentication modes: `oidc` (bearer tokens from the kommune's identity provider) or `development` (the local demo). */
export const AUTH_MODES = ['oidc', 'development'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** DATA_DIR when unset, resolved against the working directory. */
export const DEFAULT_DATA_DIR = 'data';

/** Where the development key-encryption key lives when PERSONAL_DATA_KEK is not set (never in production). */
export const DEVELOPMENT_KEK_FILE = 'personal-data-kek.development';

export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
export const DEFAULT_MAX_EVENTS_PER_REQUEST = 1000;

export interface TrackerConfig {
  /** PORT: 0–65535 (0 = any free port), default 4000. */
  port: number;
  /** HOST: interface to listen on, default 127.0.0.1 (loopback: nothing is exposed by accident). */
  host: string;
  /** DATA_DIR: embedded data folder, absolute; default `./data` resolved against the working directory. */
  dataDir: string;
  /** UNITS_FILE: absolute path; undefined = the demo kommune's units. */
  unitsFile: string | undefined;
  /** POLICIES_FILE: absolute path; undefined = the shipped deadline policies. */
  policiesFile: string | undefined;
  /** DEMO: load the demo kommune's history into an empty data folder (default true). */
  demo: boolean;
  /** DEMO_CITIZENS: how many citizens the demo history has (0–200000, default 300). */
  demoCitizens: number;
  nodeEnv: NodeEnv;
  logLevel: LogLevel;
  /** BODY_LIMIT_BYTES: largest accepted request body (default 1 MiB). */
  bodyLimitBytes: number;
  /** MAX_EVENTS_PER_REQUEST: largest ingestion batch (default 1000). */
  maxEventsPerRequest: number;
  auth: {
    mode: AuthMode;
    oidcIssuer: string | undefined;
    oidcAudience: string | undefined;
    oidcJwksUri: string | undefined;
    /** What `createAuthenticator` takes (from `authSettingsFromEnv`, @tracker/security). */
    settings: AuthSettings;
  };
  /**
   * The key-encryption key of personal data at rest: PERSONAL_DATA_KEK (parsed; never kept as text),
   * or — outside production only — a generated key in a file under DATA_DIR, read at start. During a
   * KEK rotation also PERSONAL_DATA_KEK_PREVIOUS, the key being rotated away from (docs/security.md §7).
   * (The logger redacts `personalData` whole.)
   */
  personalData: { kek: KeyEncryptionKey; previousKek?: KeyEncryptionKey | undefined } | { developmentKeyFile: string };
  /**
   * RATE_LIMIT_PER_MINUTE: requests per client (token subject, else address) per minute; 0 = off.
   * Default 600 with AUTH_MODE=oidc, off in development mode (every request is the same principal).
   */
  rateLimitPerMinute: number;
  /** PERSISTED_OPERATIONS_FILE: JSON `{ "<sha256 hex>": "<query>" }` of the dashboard's operations. */
  persistedOperationsFile: string | undefined;
  /** PERSISTED_OPERATIONS_ONLY: refuse any operation not in the persisted-operations file. */
  persistedOperationsOnly: boolean;
}

export interface ConfigProblem {
  /** The environment variable. */
  variable: string;
  /** Why it was refused; never contains the value. */
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`invalid configuration (environment):\n${problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

// ---------------------------------------------------------------------------------------------
// One schema per variable. Each takes the normalised raw value (trimmed string, or undefined when
// unset/blank) and produces the typed value, with messages that describe the expectation only.

const raw = z.string().optional();

const integer = (min: number, max: number, fallback: number) =>
  raw.transform((value, ctx) => {
    if (value === undefined) return fallback;
    const message = `must be a whole number from ${min} to ${max}`;
    if (!/^\d+$/.test(value)) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return n;
  });

const oneOf = <const T extends readonly string[]>(values: T, fallback: T[number] | undefined, label = values.join(', ')) =>
  raw.transform((value, ctx): T[number] | undefined => {
    if (value === undefined) return fallback;
    const lower = value.toLowerCase();
    const match = values.find((v) => v === lower);
    if (match === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be one of: ${label}` });
      return z.NEVER;
    }
    return match;
  });

/** A host name (RFC 1123 labels) or an IPv4/IPv6 literal. */
const HOST_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const host = raw.transform((value, ctx) => {
  if (value === undefined) return '127.0.0.1';
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  const isIpv6 = bare.includes(':') && z.ipv6().safeParse(bare).success;
  if (!isIpv6 && !(value.length <= 253 && HOST_PATTERN.test(value))) {
    ctx.addIssue({ code: 'custom', message: 'must be a host name or an IP address, e.g. 127.0.0.1, 0.0.0.0 or ::' });
    return z.NEVER;
  }
  return bare;
});

const filePath = (what: string) =>
  raw.transform((value, ctx) => {
    if (value === undefined) return undefined;
    if (value.includes('\0')) {
      ctx.addIssue({ code: 'custom', message: `must be a ${what} path` });
      return z.NEVER;
    }
    return value;
  });

const onOff = (fallback: boolean) =>
  raw.transform((value, ctx) => {
    if (value === undefined) return fallback;
    switch (value.toLowerCase()) {
      case 'on':
      case 'true':
      case '1':
        return true;
      case 'off':
      case 'false':
      case '0':
        return false;
      default:
        ctx.addIssue({ code: 'custom', message: 'must be on or off (true/false and 1/0 are accepted too)' });
        return z.NEVER;
    }
  });

const demo = onOff(true);

const url = raw.transform((value, ctx) => {
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' });
    return z.NEVER;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' });
    return z.NEVER;
  }
  if (parsed.username !== '' || parsed.password !== '') {
    ctx.addIssue({ code: 'custom', message: 'must not contain credentials (user:password@)' });
    return z.NEVER;
  }
  return value;
});

const audience = raw.transform((value, ctx) => {
  if (value === undefined) return undefined;
  if (value.length > 256 || /\s/.test(value)) {
    ctx.addIssue({ code: 'custom', message: 'must be 1–256 characters without spaces' });
    return z.NEVER;
  }
  return value;
});

/** The environment variables the tracker reads, each to its typed value. */
export const TrackerEnvSchema = z.object({
  PORT: integer(0, 65535, 4000),
  HOST: host,
  DATA_DIR: filePath('folder'),
  UNITS_FILE: filePath('file'),
  POLICIES_FILE: filePath('file'),
  DEMO: demo,
  DEMO_CITIZENS: integer(0, 200_000, 300),
  AUTH_MODE: raw,
  OIDC_ISSUER: url,
  OIDC_AUDIENCE: audience,
  OIDC_JWKS_URI: url,
  // Checked by authSettingsFromEnv (@tracker/security) together with the mode.
  OIDC_ROLES_CLAIM: raw,
  OIDC_UNITS_CLAIM: raw,
  OIDC_SOURCES_CLAIM: raw,
  OIDC_CLOCK_TOLERANCE_SECONDS: raw,
  OIDC_ALGORITHMS: raw,
  // Secrets: parsed by parseKeyEncryptionKey, never echoed, never kept as text.
  PERSONAL_DATA_KEK: raw,
  PERSONAL_DATA_KEK_PREVIOUS: raw,
  // Default: DEFAULT_RATE_LIMIT_PER_MINUTE with real tokens; off in development mode (one local user).
  RATE_LIMIT_PER_MINUTE: integer(0, 1_000_000, -1),
  PERSISTED_OPERATIONS_FILE: filePath('file'),
  PERSISTED_OPERATIONS_ONLY: onOff(false),
  NODE_ENV: oneOf(NODE_ENVS, 'development'),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
  BODY_LIMIT_BYTES: integer(1024, 100 * 1024 * 1024, DEFAULT_BODY_LIMIT_BYTES),
  MAX_EVENTS_PER_REQUEST: integer(1, 100_000, DEFAULT_MAX_EVENTS_PER_REQUEST),
});

export const CONFIG_VARIABLES = Object.keys(TrackerEnvSchema.shape) as (keyof typeof TrackerEnvSchema.shape)[];

/** Trimmed value, or undefined when unset or blank. */
function normalise(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of CONFIG_VARIABLES) {
    const value = env[name]?.trim();
    out[name] = value === undefined || value === '' ? undefined : value;
  }
  return out;
}

export interface LoadConfigOptions {
  /** Folder that relative paths are resolved against; default `process.cwd()`. */
  cwd?: string;
  /**
   * The process never touches personal data (the distributed relay and projector): PERSONAL_DATA_KEK is
   * then not required with NODE_ENV=production (a given one is still validated).
   */
  withoutPersonalData?: boolean;
}

/**
 * Reads and validates the configuration. Throws ConfigError listing every bad variable.
 * Reads only the variables above; anything else in `env` is ignored.
 */
export function loadConfig(env: NodeJS.ProcessEnv, options: LoadConfigOptions = {}): TrackerConfig {
  const cwd = options.cwd ?? process.cwd();
  const values = normalise(env);
  const parsed = TrackerEnvSchema.safeParse(values);
  const problems: ConfigProblem[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '(environment)'), message: issue.message }));

  // AUTH_MODE depends on NODE_ENV, so it is checked here rather than in its own schema
  // (and still checked when other variables are bad, so the operator sees every problem at once).
  const nodeEnv = parsed.success ? parsed.data.NODE_ENV : TrackerEnvSchema.shape.NODE_ENV.safeParse(values.NODE_ENV).data;
  const authMode = authModeOf(values.AUTH_MODE, nodeEnv, problems);
  const authSettings = authMode === undefined ? undefined : authSettingsOf(values, authMode, nodeEnv, problems);
  const production = nodeEnv === 'production';
  const { kek, previousKek } = personalDataKeysOf(values, problems);
  if (kek === undefined && values.PERSONAL_DATA_KEK === undefined && production && options.withoutPersonalData !== true) {
    problems.push({
      variable: 'PERSONAL_DATA_KEK',
      message: 'is required with NODE_ENV=production: 32 random bytes in base64 from a secret store (`openssl rand -base64 32`)',
    });
  }

  if (parsed.success && parsed.data.PERSISTED_OPERATIONS_ONLY && parsed.data.PERSISTED_OPERATIONS_FILE === undefined) {
    problems.push({ variable: 'PERSISTED_OPERATIONS_ONLY', message: 'needs PERSISTED_OPERATIONS_FILE: the operations that may run' });
  }

  if (!parsed.success || problems.length > 0 || authMode === undefined || authSettings === undefined) {
    throw new ConfigError(sortProblems(problems));
  }
  const v = parsed.data;
  const dataDir = path.resolve(cwd, v.DATA_DIR ?? DEFAULT_DATA_DIR);
  return {
    port: v.PORT,
    host: v.HOST,
    dataDir,
    unitsFile: v.UNITS_FILE === undefined ? undefined : path.resolve(cwd, v.UNITS_FILE),
    policiesFile: v.POLICIES_FILE === undefined ? undefined : path.resolve(cwd, v.POLICIES_FILE),
    demo: v.DEMO,
    demoCitizens: v.DEMO_CITIZENS,
    nodeEnv: v.NODE_ENV ?? 'development',
    logLevel: v.LOG_LEVEL ?? 'info',
    bodyLimitBytes: v.BODY_LIMIT_BYTES,
    maxEventsPerRequest: v.MAX_EVENTS_PER_REQUEST,
    auth: { mode: authMode, oidcIssuer: v.OIDC_ISSUER, oidcAudience: v.OIDC_AUDIENCE, oidcJwksUri: v.OIDC_JWKS_URI, settings: authSettings },
    personalData: kek === undefined ? { developmentKeyFile: path.join(dataDir, DEVELOPMENT_KEK_FILE) } : { kek, previousKek },
    rateLimitPerMinute: v.RATE_LIMIT_PER_MINUTE >= 0 ? v.RATE_LIMIT_PER_MINUTE : authMode === 'development' ? 0 : DEFAULT_RATE_LIMIT_PER_MINUTE,
    persistedOperationsFile: v.PERSISTED_OPERATIONS_FILE === undefined ? undefined : path.resolve(cwd, v.PERSISTED_OPERATIONS_FILE),
    persistedOperationsOnly: v.PERSISTED_OPERATIONS_ONLY,
  };
}

/** The authenticator's settings; its problems join the others (a variable already reported is not repeated). */
function authSettingsOf(
  values: Record<string, string | undefined>,
  mode: AuthMode,
  nodeEnv: string | undefined,
  problems: ConfigProblem[],
): AuthSettings | undefined {
  try {
    return authSettingsFromEnv({ ...values, AUTH_MODE: mode, NODE_ENV: nodeEnv });
  } catch (error) {
    if (!(error instanceof AuthConfigurationError)) throw error;
    for (const p of error.problems) if (!problems.some((q) => q.variable === p.variable)) problems.push({ variable: p.variable, message: p.message });
    return undefined;
  }
}

/**
 * PERSONAL_DATA_KEK and PERSONAL_DATA_KEK_PREVIOUS, parsed alike; each undefined when unset or bad, a bad
 * one a problem naming it (the value is never echoed). The previous key exists only to rotate away from:
 * it must differ from PERSONAL_DATA_KEK and is refused without it. Whether PERSONAL_DATA_KEK is required
 * is the caller's to say (loadConfig: in production). For tools that need the keys and little else
 * (`pnpm kek:rotate`). A blank variable counts as unset, as everywhere here.
 */
export function personalDataKeysOf(
  values: { PERSONAL_DATA_KEK?: string | undefined; PERSONAL_DATA_KEK_PREVIOUS?: string | undefined },
  problems: ConfigProblem[],
): { kek: KeyEncryptionKey | undefined; previousKek: KeyEncryptionKey | undefined } {
  const kekValue = values.PERSONAL_DATA_KEK?.trim() || undefined;
  const kek = keyEncryptionKeyOf('PERSONAL_DATA_KEK', kekValue, problems);
  let previousKek = keyEncryptionKeyOf('PERSONAL_DATA_KEK_PREVIOUS', values.PERSONAL_DATA_KEK_PREVIOUS?.trim() || undefined, problems);
  if (previousKek !== undefined && kekValue === undefined) {
    problems.push({
      variable: 'PERSONAL_DATA_KEK_PREVIOUS',
      message: 'needs PERSONAL_DATA_KEK: during a key rotation PERSONAL_DATA_KEK is the new key and PERSONAL_DATA_KEK_PREVIOUS the old one',
    });
    previousKek = undefined;
  }
  if (previousKek !== undefined && previousKek.id === kek?.id) {
    problems.push({ variable: 'PERSONAL_DATA_KEK_PREVIOUS', message: 'must differ from PERSONAL_DATA_KEK: it is the key being rotated away from' });
    previousKek = undefined;
  }
  return { kek, previousKek };
}

function keyEncryptionKeyOf(variable: string, value: string | undefined, problems: ConfigProblem[]): KeyEncryptionKey | undefined {
  if (value === undefined) return undefined;
  try {
    return parseKeyEncryptionKey(value, variable);
  } catch (error) {
    if (!(error instanceof KeyEncryptionKeyError)) throw error;
    problems.push({ variable, message: error.message.slice(error.variable.length + 1) });
    return undefined;
  }
}

function authModeOf(value: string | undefined, nodeEnv: string | undefined, problems: ConfigProblem[]): AuthMode | undefined {
  const production = nodeEnv === 'production';
  if (value === undefined) {
    if (!production) return 'development';
    problems.push({
      variable: 'AUTH_MODE',
      message: 'must be set when NODE_ENV=production; development authentication is for the local demo only',
    });
    return undefined;
  }
  const mode = value.toLowerCase();
  if (mode === 'oidc') return 'oidc';
  if (mode !== 'development') {
    problems.push({ variable: 'AUTH_MODE', message: `must be one of: ${AUTH_MODES.join(', ')}` });
    return undefined;
  }
  if (production) {
    problems.push({
      variable: 'AUTH_MODE',
      message: 'development is refused when NODE_ENV=production; development authentication is for the local demo only',
    });
    return undefined;
  }
  return 'development';
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  const order = new Map<string, number>(CONFIG_VARIABLES.map((v, i) => [v, i]));
  return [...problems].sort((a, b) => (order.get(a.variable) ?? 99) - (order.get(b.variable) ?? 99));
}
