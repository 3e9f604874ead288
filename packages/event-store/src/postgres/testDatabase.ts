/**
 * The PostgreSQL server a test uses, by the harness rule: DATABASE_URL when set; else a throw-away
 * server started with testcontainers when a Docker engine answers; else none, with the reason to print
 * when the tests are skipped. Each test file works in a schema of its own (`t_<random>`) and drops it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type * as Testcontainers from 'testcontainers';

export type TestDatabase = { url: string; stop(): Promise<void>; skipped?: undefined } | { url?: undefined; skipped: string };

const NO_DATABASE = 'no PostgreSQL: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) or run where Docker exists';

/** Finds or starts the server. Call once per test file (top-level await), then `stop()` in afterAll. */
export async function testDatabase(): Promise<TestDatabase> {
  const fromEnvironment = process.env.DATABASE_URL;
  if (fromEnvironment) return { url: fromEnvironment, stop: async () => {} };
  let testcontainers: typeof Testcontainers;
  try {
    testcontainers = await import('testcontainers');
    await testcontainers.getContainerRuntimeClient();
  } catch {
    return { skipped: NO_DATABASE };
  }
  const container = await new testcontainers.GenericContainer('postgres:16-alpine')
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
    .withExposedPorts(5432)
    // The image's entrypoint starts the server twice (initialisation, then for real).
    .withWaitStrategy(testcontainers.Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  return {
    url: `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`,
    stop: async () => {
      await container.stop();
    },
  };
}

/** A schema name unique to this run: `t_` and 12 hex digits. */
export function freshSchemaName(): string {
  return `t_${randomBytes(6).toString('hex')}`;
}

/** Drops a test schema and everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  if (!/^t_[0-9a-f]+$/.test(schema)) throw new Error('only test schemas (t_<hex>) are dropped');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Prints why tests are skipped (vitest shows only "skipped"). */
export function reportSkipped(what: string, reason: string): void {
  console.error(`${what} skipped: ${reason}`);
}
