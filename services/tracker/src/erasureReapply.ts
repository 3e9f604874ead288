/**
 * `pnpm erasures:reapply <embedded|postgres>`: after a key store was restored from a backup, destroys
 * again every data key the access log says was erased (docs/security.md §7, "Restoring the key store").
 * The access log is the durable record of erasures: it is written before each key is destroyed, and it
 * is kept and backed up apart from the keys, so a key-store backup from before an erasure does not
 * bring the record back with the key.
 *
 * - `embedded`: the access log DATA_DIR/access-log.sqlite and the key store DATA_DIR/keys.sqlite;
 * - `postgres`: the access log in schema ACCESS_LOG_SCHEMA (default `tracker_audit`) and the key store
 *   in schema KEY_STORE_SCHEMA (default `tracker_keys`) of the DATABASE_URL database. Run it with the
 *   API's role: erasing rewrites the key table, which needs its owner.
 *
 * Needs no key-encryption key: an erasure deletes the wrapped key, it never unwraps it. Idempotent: a
 * citizen already erased is counted and left alone; one the restored store has no key for gets the
 * erasure recorded, so no key is ever made for them. Neither the log nor the key store is created here.
 *
 * Exit codes and output as `kek:rotate` (kekRotation.ts): 2 for bad configuration or a missing log or key
 * store, one line per variable naming it, never a value; 1 for anything else (run it again); 0 done.
 * Counts only — never a citizen id.
 */
import { dirname, join } from 'node:path';
import { ConfigError, type ConfigProblem } from '@tracker/platform';
import {
  AccessLogNotFoundError,
  DEFAULT_ACCESS_LOG_SCHEMA,
  KeyStoreNotFoundError,
  PostgresAccessLog,
  PostgresKeyStore,
  SqliteAccessLog,
  SqliteKeyStore,
  type AccessLog,
  type CitizenKeyStore,
} from '@tracker/security';
import { embeddedTarget, postgresTarget, type KekRotationIo } from './kekRotation.ts';
import { ACCESS_LOG_FILE, KEY_STORE_FILE } from './tracker.ts';

export const ERASURE_REAPPLY_USAGE = [
  'usage: pnpm erasures:reapply <embedded|postgres>',
  '  embedded   DATA_DIR/access-log.sqlite → DATA_DIR/keys.sqlite (DATA_DIR default ./data)',
  '  postgres   schema ACCESS_LOG_SCHEMA (default tracker_audit) → schema KEY_STORE_SCHEMA (default tracker_keys) of DATABASE_URL',
  'run it after restoring the key store from a backup, before starting the services: docs/security.md §7',
].join('\n');

export type ErasureReapplyIo = KekRotationIo;

export interface ErasureReapplyOptions {
  /** Folder DATA_DIR is resolved against; default `process.cwd()`. */
  cwd?: string;
}

type Stores =
  | { kind: 'embedded'; accessLogFile: string; keyStoreFile: string }
  | { kind: 'postgres'; databaseUrl: string; accessLogSchema: string; keyStoreSchema: string };

/** The order problems are listed in. */
const VARIABLES = ['DATA_DIR', 'DATABASE_URL', 'ACCESS_LOG_SCHEMA', 'KEY_STORE_SCHEMA'];

/** Runs the command; answers the exit code (0 done, 2 usage, configuration or nothing to read or erase in, 1 anything else). */
export async function runErasureReapply(args: readonly string[], env: NodeJS.ProcessEnv, io: ErasureReapplyIo, options: ErasureReapplyOptions = {}): Promise<number> {
  const words = args[0] === '--' ? args.slice(1) : args;
  const kind = words[0];
  if (words.length !== 1 || (kind !== 'embedded' && kind !== 'postgres')) {
    io.err(ERASURE_REAPPLY_USAGE);
    return 2;
  }

  const problems: ConfigProblem[] = [];
  const stores = kind === 'embedded' ? embeddedStores(env, options.cwd ?? process.cwd(), problems) : postgresStores(env, problems);
  if (problems.length > 0 || stores === undefined) {
    io.err(configError(problems));
    return 2;
  }

  let accessLog: AccessLog;
  try {
    accessLog =
      stores.kind === 'embedded'
        ? new SqliteAccessLog({ file: stores.accessLogFile, create: false })
        : await PostgresAccessLog.open({ connectionString: stores.databaseUrl, schema: stores.accessLogSchema, create: false, maxConnections: 1 });
  } catch (error) {
    if (!(error instanceof AccessLogNotFoundError)) return failed(io, error);
    io.err(
      configError([
        stores.kind === 'embedded'
          ? { variable: 'DATA_DIR', message: `holds no access log (${ACCESS_LOG_FILE}): no erasures to re-apply; name the tracker’s data folder` }
          : { variable: 'ACCESS_LOG_SCHEMA', message: 'names a schema of the DATABASE_URL database that holds no access log: no erasures to re-apply' },
      ]),
    );
    return 2;
  }

  let store: CitizenKeyStore | undefined;
  try {
    try {
      store =
        stores.kind === 'embedded'
          ? new SqliteKeyStore(stores.keyStoreFile, { create: false })
          : await PostgresKeyStore.open({ connectionString: stores.databaseUrl, schema: stores.keyStoreSchema, create: false, maxConnections: 2 });
    } catch (error) {
      if (!(error instanceof KeyStoreNotFoundError)) return failed(io, error);
      io.err(
        configError([
          stores.kind === 'embedded'
            ? { variable: 'DATA_DIR', message: `holds no key store (${KEY_STORE_FILE}): nothing to re-apply the erasures to; restore it there first` }
            : { variable: 'KEY_STORE_SCHEMA', message: 'names a schema of the DATABASE_URL database that holds no key store: nothing to re-apply the erasures to' },
        ]),
      );
      return 2;
    }

    io.out(
      stores.kind === 'embedded'
        ? `access log: ${stores.accessLogFile}; key store: ${stores.keyStoreFile}`
        : `access log: schema ${stores.accessLogSchema}; key store: schema ${stores.keyStoreSchema} of the DATABASE_URL database`,
    );
    const erasures = await accessLog.erasures();
    io.out(`erasures in the access log: ${erasures.length}`);
    let reapplied = 0;
    let alreadyErased = 0;
    let withoutKey = 0;
    for (const { citizenId, erasedAt } of erasures) {
      const stored = await store.find(citizenId);
      if (stored.state === 'erased') {
        alreadyErased += 1;
        continue;
      }
      // The original instant, so the key store's own record says when the erasure was decided.
      const { erased } = await store.erase(citizenId, erasedAt);
      if (erased) reapplied += 1;
      else withoutKey += 1; // absent from the restored store: the erasure is recorded so no key is made later
    }
    io.out(
      `done: ${reapplied} re-applied (keys destroyed again), ${alreadyErased} already erased` +
        (withoutKey > 0 ? `, ${withoutKey} without a key in the store (the erasure is recorded there now)` : '') +
        '.',
    );
    return 0;
  } catch (error) {
    return failed(io, error);
  } finally {
    await store?.close();
    await accessLog.close();
  }
}

function configError(problems: ConfigProblem[]): string {
  return new ConfigError([...problems].sort((a, b) => VARIABLES.indexOf(a.variable) - VARIABLES.indexOf(b.variable))).message;
}

function failed(io: ErasureReapplyIo, error: unknown): number {
  // Our errors never carry a citizen id or a key; the database's are reduced to their SQLSTATE by the stores.
  io.err(`the erasure re-application failed: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
}

function embeddedStores(env: NodeJS.ProcessEnv, cwd: string, problems: ConfigProblem[]): Stores | undefined {
  const target = embeddedTarget(env, cwd, problems);
  if (target?.kind !== 'embedded') return undefined;
  return { kind: 'embedded', keyStoreFile: target.file, accessLogFile: join(dirname(target.file), ACCESS_LOG_FILE) };
}

/** DATABASE_URL and KEY_STORE_SCHEMA as kek:rotate reads them; ACCESS_LOG_SCHEMA by the same rules as the services. */
function postgresStores(env: NodeJS.ProcessEnv, problems: ConfigProblem[]): Stores | undefined {
  const target = postgresTarget(env, problems);
  const accessLogSchema = env.ACCESS_LOG_SCHEMA?.trim() || DEFAULT_ACCESS_LOG_SCHEMA;
  const before = problems.length;
  if (!/^[a-z_][a-z0-9_]{0,47}$/.test(accessLogSchema)) {
    problems.push({ variable: 'ACCESS_LOG_SCHEMA', message: 'must be a lower-case SQL identifier (a–z, 0–9, _) of at most 48 characters' });
  } else if (target?.kind === 'postgres' && target.schema === accessLogSchema) {
    problems.push({ variable: 'ACCESS_LOG_SCHEMA', message: 'must differ from KEY_STORE_SCHEMA: the access log is kept and backed up apart from the keys' });
  }
  if (target?.kind !== 'postgres' || problems.length > before) return undefined;
  return { kind: 'postgres', databaseUrl: target.databaseUrl, accessLogSchema, keyStoreSchema: target.schema };
}
