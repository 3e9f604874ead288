/**
 * Correlation ids of ingested events (see messagingTables.ts): recorded by the ingest service before
 * it appends, looked up and forgotten by the relay when it publishes.
 */
import type pg from 'pg';
import { checkSchemaName } from './messagingTables.ts';

/** What a correlation id may look like: it travels into logs and messages, so nothing else is kept. */
export const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export class CorrelationLog {
  readonly #pool: pg.Pool;
  readonly #q: string;

  constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#q = checkSchemaName(schema);
  }

  /**
   * Notes that these events arrive with this request. A later request carrying the same event (a
   * retry) replaces the id: the one that finally stored the event is the newest.
   */
  async record(eventIds: readonly string[], correlationId: string): Promise<void> {
    if (eventIds.length === 0) return;
    if (!CORRELATION_ID.test(correlationId)) throw new TypeError('a correlation id must be 1–128 of A–Z, a–z, 0–9, ".", "_", ":" or "-"');
    const ids = [...new Set(eventIds)].sort(); // one order for every writer: concurrent requests cannot deadlock
    await this.#pool.query(
      `INSERT INTO ${this.#q}.event_correlations (event_id, correlation_id)
       SELECT id, $2 FROM unnest($1::text[]) AS id
       ON CONFLICT (event_id) DO UPDATE SET correlation_id = excluded.correlation_id, recorded_at = now()`,
      [ids, correlationId],
    );
  }

  async lookup(eventIds: readonly string[], client: pg.Pool | pg.PoolClient = this.#pool): Promise<Map<string, string>> {
    if (eventIds.length === 0) return new Map();
    const { rows } = await client.query<{ event_id: string; correlation_id: string }>(
      `SELECT event_id, correlation_id FROM ${this.#q}.event_correlations WHERE event_id = ANY($1::text[])`,
      [eventIds],
    );
    return new Map(rows.map((r) => [r.event_id, r.correlation_id]));
  }

  /** Deletes ids noted longer ago than `olderThanMs` (requests that were refused, retries of published events). */
  async prune(olderThanMs: number): Promise<number> {
    const result = await this.#pool.query(`DELETE FROM ${this.#q}.event_correlations WHERE recorded_at < now() - make_interval(secs => $1)`, [
      olderThanMs / 1000,
    ]);
    return result.rowCount ?? 0;
  }
}
