/**
 * What the PostgreSQL key store and access log share: a transaction on a pooled client, and their
 * schema migrations — numbered DDL steps applied one process at a time (an advisory lock), the version
 * kept in a one-row table. A schema already at the current version needs no DDL, so a role with only
 * SELECT and INSERT (ingest; the API on the access log) can open what its owner created.
 */
import type pg from 'pg';

/** Runs `work` in one transaction on one pooled client: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

export interface SchemaMigration {
  schema: string;
  /** The table holding the version, in the schema, e.g. `key_store_schema`. */
  versionTable: string;
  /** Advisory lock class serialising migrations of this kind (per schema). */
  lockClass: number;
  /** The DDL steps; the version is the number of steps applied. */
  steps: readonly string[];
  /** What the schema holds, for errors: `key store`, `access log`. */
  what: string;
  /** False: a missing schema is refused with `notFound()` instead of created. */
  create: boolean;
  notFound: () => Error;
}

/** Brings the schema to the current version, creating it if missing (unless `create` is false). */
export function migrateSchema(pool: pg.Pool, { schema, versionTable, lockClass, steps, what, create, notFound }: SchemaMigration): Promise<void> {
  const q = `"${schema}"`;
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [lockClass, schema]);
    const exists = (await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [`${q}.${versionTable}`])).rows[0]!.found;
    if (!exists && !create) throw notFound();
    const version = exists ? ((await client.query<{ version: number }>(`SELECT version FROM ${q}.${versionTable}`)).rows[0]?.version ?? 0) : 0;
    if (version > steps.length) throw new Error(`the ${what} schema has version ${version}, newer than this software supports (${steps.length})`);
    if (version === steps.length) return;
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${q}.${versionTable} (version integer NOT NULL)`);
    for (let v = version; v < steps.length; v++) await client.query(steps[v]!);
    await client.query(`DELETE FROM ${q}.${versionTable}`);
    await client.query(`INSERT INTO ${q}.${versionTable} (version) VALUES ($1)`, [steps.length]);
  });
}
