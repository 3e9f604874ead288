/**
 * `pnpm kek:rotate <embedded|postgres>`: rotates the key-encryption key of personal data
 * (docs/security.md §7, "Rotating the KEK") — every citizen's data key is rewrapped from
 * PERSONAL_DATA_KEK_PREVIOUS to PERSONAL_DATA_KEK, then the key store is rebound to the new key.
 *
 * - `embedded`: the embedded tracker's key store, DATA_DIR/keys.sqlite;
 * - `postgres`: the distributed services' key store, schema KEY_STORE_SCHEMA (default `tracker_keys`)
 *   of the DATABASE_URL database. Run it with the API's role: rewrapping needs UPDATE, and the final
 *   rewrite of the table its owner.
 *
 * Safe while the tracker or the services run (with both keys), and safe to run again after an
 * interruption. An existing key store is required: one is never created here.
 *
 * As the tracker's own start does: bad configuration exits 2 with one line per variable, naming it and
 * the reason, never a value; so does a key store bound to neither key. Other failures exit 1. Output is
 * counts only — never a citizen id, never a key.
 *
 * Lives beside the tracker (not in a root scripts/ folder) because the workspace packages it uses resolve
 * from here, and its tests run with the tracker's. It reads DATABASE_URL and KEY_STORE_SCHEMA by the rules
 * of @tracker/messaging's loadServiceConfig, which this package does not depend on.
 */
import { join, resolve } from 'node:path';
import { ConfigError, DEFAULT_DATA_DIR, personalDataKeysOf, type ConfigProblem } from '@tracker/platform';
import {
  DEFAULT_KEY_STORE_SCHEMA,
  KeyEncryptionKeyError,
  KeyEncryptionKeyMismatchError,
  KeyStoreNotFoundError,
  PersonalDataProtector,
  PostgresKeyStore,
  SqliteKeyStore,
  UnknownKeyEncryptionKeyError,
  type CitizenKeyStore,
} from '@tracker/security';
import { KEY_STORE_FILE } from './tracker.ts';

export const KEK_ROTATION_USAGE = [
  'usage: pnpm kek:rotate <embedded|postgres>',
  '  embedded   the embedded tracker’s key store: DATA_DIR/keys.sqlite (DATA_DIR default ./data)',
  '  postgres   the distributed key store: schema KEY_STORE_SCHEMA (default tracker_keys) of DATABASE_URL',
  'environment: PERSONAL_DATA_KEK (the new key), PERSONAL_DATA_KEK_PREVIOUS (the key the store is bound to now)',
  'procedure: docs/security.md §7, "Rotating the KEK"',
].join('\n');

export interface KekRotationIo {
  out(line: string): void;
  err(line: string): void;
}

export interface KekRotationOptions {
  /** Folder DATA_DIR is resolved against; default `process.cwd()`. */
  cwd?: string;
  /** Keys per page (default: the protector's). */
  pageSize?: number;
}

export type Target = { kind: 'embedded'; file: string } | { kind: 'postgres'; databaseUrl: string; schema: string };

/** The order problems are listed in. */
const VARIABLES = ['DATA_DIR', 'DATABASE_URL', 'KEY_STORE_SCHEMA', 'PERSONAL_DATA_KEK', 'PERSONAL_DATA_KEK_PREVIOUS'];

/** Runs the command; answers the exit code (0 done, 2 usage or configuration, 1 anything else). */
export async function runKekRotation(args: readonly string[], env: NodeJS.ProcessEnv, io: KekRotationIo, options: KekRotationOptions = {}): Promise<number> {
  const words = args[0] === '--' ? args.slice(1) : args;
  const kind = words[0];
  if (words.length !== 1 || (kind !== 'embedded' && kind !== 'postgres')) {
    io.err(KEK_ROTATION_USAGE);
    return 2;
  }

  const problems: ConfigProblem[] = [];
  const { kek, previousKek } = personalDataKeysOf(env, problems);
  const named = (variable: string) => problems.some((p) => p.variable === variable);
  if (!env.PERSONAL_DATA_KEK?.trim()) {
    problems.push({ variable: 'PERSONAL_DATA_KEK', message: 'is required: the new key-encryption key, which every data key is rewrapped under' });
  }
  if (!env.PERSONAL_DATA_KEK_PREVIOUS?.trim() && !named('PERSONAL_DATA_KEK_PREVIOUS')) {
    problems.push({ variable: 'PERSONAL_DATA_KEK_PREVIOUS', message: 'is required: the key-encryption key the key store is bound to now, which the rotation moves away from' });
  }
  const target = kind === 'embedded' ? embeddedTarget(env, options.cwd ?? process.cwd(), problems) : postgresTarget(env, problems);
  if (problems.length > 0 || kek === undefined || previousKek === undefined || target === undefined) {
    io.err(new ConfigError([...problems].sort((a, b) => VARIABLES.indexOf(a.variable) - VARIABLES.indexOf(b.variable))).message);
    return 2;
  }

  let store: CitizenKeyStore;
  try {
    store =
      target.kind === 'embedded'
        ? new SqliteKeyStore(target.file, { create: false })
        : await PostgresKeyStore.open({ connectionString: target.databaseUrl, schema: target.schema, create: false, maxConnections: 2 });
  } catch (error) {
    if (!(error instanceof KeyStoreNotFoundError)) return failed(io, error);
    io.err(
      new ConfigError([
        target.kind === 'embedded'
          ? { variable: 'DATA_DIR', message: `holds no key store (${KEY_STORE_FILE}): nothing to rotate; name the tracker’s data folder` }
          : { variable: 'KEY_STORE_SCHEMA', message: `names a schema of the DATABASE_URL database that holds no key store: nothing to rotate` },
      ]).message,
    );
    return 2;
  }

  try {
    io.out(target.kind === 'embedded' ? `key store: ${target.file}` : `key store: schema ${target.schema} of the DATABASE_URL database`);
    const protector = await PersonalDataProtector.open({ kek, previousKek, store });
    const nameOf = (kekId: string) => (kekId === kek.id ? 'PERSONAL_DATA_KEK' : kekId === previousKek.id ? 'PERSONAL_DATA_KEK_PREVIOUS' : 'another key');
    const counts = await store.countActiveKeys();
    const keys = counts.length === 0 ? 'no data keys' : counts.map((c) => `${c.keys} under ${nameOf(c.kekId)}`).join(', ');
    io.out(`bound to ${nameOf(await store.bindKeyEncryptionKey(kek.id))}; data keys: ${keys}`);

    // Progress at every tenth of the work, so a large store prints a dozen lines, not one per page.
    let reported = 0;
    const result = await protector.rotate({
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
      onProgress: ({ toRewrap, rewrapped, erasedMeanwhile }) => {
        const done = rewrapped + erasedMeanwhile;
        if (toRewrap === 0 || Math.floor((done * 10) / toRewrap) <= Math.floor((reported * 10) / toRewrap)) return;
        reported = done;
        io.out(`rewrapped ${rewrapped} of ${toRewrap}${erasedMeanwhile > 0 ? ` (${erasedMeanwhile} erased meanwhile)` : ''}`);
      },
    });
    io.out(
      `done: ${result.rewrapped} rewrapped, ${result.erasedMeanwhile} erased meanwhile, ${result.alreadyCurrent} already under PERSONAL_DATA_KEK; ` +
        'the key store is bound to PERSONAL_DATA_KEK.',
    );
    io.out(
      'next: remove PERSONAL_DATA_KEK_PREVIOUS from every process and restart them; keep the old key (offline) only while key-store backups from before the rotation are kept.',
    );
    return 0;
  } catch (error) {
    if (error instanceof KeyEncryptionKeyMismatchError || error instanceof UnknownKeyEncryptionKeyError || error instanceof KeyEncryptionKeyError) {
      io.err(`${error.message}`);
      return 2;
    }
    return failed(io, error);
  } finally {
    await store.close();
  }
}

function failed(io: KekRotationIo, error: unknown): number {
  // Our errors never carry a citizen id or a key; the database's are reduced to their SQLSTATE by the store.
  io.err(`the key rotation failed: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
}

export function embeddedTarget(env: NodeJS.ProcessEnv, cwd: string, problems: ConfigProblem[]): Target | undefined {
  const dataDir = env.DATA_DIR?.trim() || DEFAULT_DATA_DIR;
  if (dataDir.includes('\0')) {
    problems.push({ variable: 'DATA_DIR', message: 'must be a folder path' });
    return undefined;
  }
  return { kind: 'embedded', file: join(resolve(cwd, dataDir), KEY_STORE_FILE) };
}

/** DATABASE_URL and KEY_STORE_SCHEMA by the rules of the distributed services' configuration. */
export function postgresTarget(env: NodeJS.ProcessEnv, problems: ConfigProblem[]): Target | undefined {
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  const schema = env.KEY_STORE_SCHEMA?.trim() || DEFAULT_KEY_STORE_SCHEMA;
  const before = problems.length;
  if (databaseUrl === undefined) {
    problems.push({ variable: 'DATABASE_URL', message: 'is required: a PostgreSQL URL, e.g. postgres://postgres@127.0.0.1:5432/tracker' });
  } else {
    let url: URL | undefined;
    try {
      url = new URL(databaseUrl);
    } catch {
      problems.push({ variable: 'DATABASE_URL', message: 'must be a PostgreSQL URL, e.g. postgres://user@host:5432/database' });
    }
    if (url !== undefined && url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      problems.push({ variable: 'DATABASE_URL', message: 'must start with postgres:// or postgresql://' });
    } else if (url !== undefined && url.hostname === '' && !url.searchParams.has('host')) {
      problems.push({ variable: 'DATABASE_URL', message: 'must name a host' });
    }
  }
  if (!/^[a-z_][a-z0-9_]{0,47}$/.test(schema)) {
    problems.push({ variable: 'KEY_STORE_SCHEMA', message: 'must be a lower-case SQL identifier (a–z, 0–9, _) of at most 48 characters' });
  }
  return problems.length > before || databaseUrl === undefined ? undefined : { kind: 'postgres', databaseUrl, schema };
}
