/**
 * What the messaging side keeps in PostgreSQL, beside the event store (same database and schema):
 *
 * - `relay_checkpoints`: per relay name, the global position up to which every event has been acked by
 *   Kafka. Written only by the relay holding the lease (below), only after the acks, never backwards.
 * - `event_correlations`: which ingestion request (its correlation id) delivered an event, so the relay
 *   can put it on the CloudEvent (`correlationid`) and an event can be followed from the HTTP request to
 *   every consumer's log. Written by the ingest service before the append, deleted by the relay once the
 *   event is published. UNLOGGED: it is diagnostics, not data — a database crash may empty it (events
 *   then travel without a correlation id), and in exchange writing it costs no WAL flush.
 */
import type pg from 'pg';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;
/** Advisory lock class for creating these tables ('MS'). */
const DDL_LOCK_CLASS = 0x4d53;

export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new TypeError('schema must be a lower-case SQL identifier of at most 48 characters');
  return `"${schema}"`;
}

/** Creates the tables if missing, one process at a time (concurrent CREATE … IF NOT EXISTS can collide). */
export async function ensureMessagingTables(pool: pg.Pool, schema: string): Promise<void> {
  const q = checkSchemaName(schema);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [DDL_LOCK_CLASS, schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${q}.relay_checkpoints (
      name text PRIMARY KEY, position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
    await client.query(`CREATE UNLOGGED TABLE IF NOT EXISTS ${q}.event_correlations (
      event_id text PRIMARY KEY, correlation_id text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
