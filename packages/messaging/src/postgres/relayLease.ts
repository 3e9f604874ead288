/**
 * One relay publishes at a time: whoever holds the lease (a PostgreSQL session advisory lock) relays,
 * the others stand by and try again. One publisher is what makes "in stream order per citizen" hold —
 * two relays publishing the same positions concurrently would interleave them.
 *
 * The checkpoint is read and written over the lease's own connection: if that connection is gone, so is
 * the lock, and so is any chance to write — a relay that lost its lease (a network cut, a paused VM) can
 * no longer move the checkpoint. The checkpoint only moves forward (GREATEST), and moves after Kafka acked
 * every event up to it, together with forgetting those events' correlation ids (one transaction).
 */
import type pg from 'pg';
import { checkSchemaName } from './messagingTables.ts';

/** Advisory lock class of relay leases ('RL'); the second key is the hash of schema and relay name. */
const LEASE_LOCK_CLASS = 0x524c;

export interface RelayLease {
  /** Resolves when the lease is lost (its connection ended or failed). */
  readonly lost: Promise<void>;
  /** The last position acked by Kafka (0 when nothing was ever published). */
  checkpoint(): Promise<number>;
  /** Moves the checkpoint to `position` (never backwards) and forgets the published events' correlation ids. */
  advance(position: number, publishedEventIds: readonly string[]): Promise<void>;
  /** Correlation ids of these events, where known. */
  correlationsOf(eventIds: readonly string[]): Promise<Map<string, string>>;
  /** Gives the lease up (and the connection back). */
  release(): Promise<void>;
}

export class PostgresRelayLeases {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #q: string;
  readonly #name: string;

  /** `name` identifies the relay (its source and target): relays of one name share one lease and checkpoint. */
  constructor(pool: pg.Pool, schema: string, name: string) {
    this.#pool = pool;
    this.#q = checkSchemaName(schema);
    this.#schema = schema;
    this.#name = name;
  }

  /** The stored checkpoint, read without the lease (for readiness and lag). */
  async checkpoint(): Promise<number> {
    const { rows } = await this.#pool.query<{ position: string }>(`SELECT position FROM ${this.#q}.relay_checkpoints WHERE name = $1`, [this.#name]);
    return Number(rows[0]?.position ?? 0);
  }

  /** The lease, or undefined when another relay holds it. */
  async tryAcquire(): Promise<RelayLease | undefined> {
    const client = await this.#pool.connect();
    let acquired = false;
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [
        LEASE_LOCK_CLASS,
        `${this.#schema}:${this.#name}`,
      ]);
      acquired = rows[0]?.ok === true;
    } finally {
      if (!acquired) client.release();
    }
    if (!acquired) return undefined;
    return this.#lease(client);
  }

  #lease(client: pg.PoolClient): RelayLease {
    const q = this.#q;
    const name = this.#name;
    let released = false;
    let broken = false;
    let markLost!: () => void;
    const lost = new Promise<void>((resolve) => (markLost = resolve));
    const onEnd = () => {
      broken = true;
      markLost();
    };
    client.on('error', onEnd);
    client.on('end', onEnd);
    return {
      lost,
      async checkpoint() {
        const { rows } = await client.query<{ position: string }>(`SELECT position FROM ${q}.relay_checkpoints WHERE name = $1`, [name]);
        return Number(rows[0]?.position ?? 0);
      },
      async advance(position, publishedEventIds) {
        try {
          await client.query('BEGIN');
          await client.query(
            `INSERT INTO ${q}.relay_checkpoints (name, position) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET position = GREATEST(${q}.relay_checkpoints.position, excluded.position), updated_at = now()`,
            [name, position],
          );
          if (publishedEventIds.length > 0) {
            await client.query(`DELETE FROM ${q}.event_correlations WHERE event_id = ANY($1::text[])`, [[...publishedEventIds].sort()]);
          }
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        }
      },
      async correlationsOf(eventIds) {
        if (eventIds.length === 0) return new Map();
        const { rows } = await client.query<{ event_id: string; correlation_id: string }>(
          `SELECT event_id, correlation_id FROM ${q}.event_correlations WHERE event_id = ANY($1::text[])`,
          [eventIds],
        );
        return new Map(rows.map((r) => [r.event_id, r.correlation_id]));
      },
      async release() {
        if (released) return;
        released = true;
        client.off('error', onEnd);
        client.off('end', onEnd);
        // Ending the session releases the lock; a connection that may be broken is not handed back.
        if (!broken) {
          try {
            await client.query('SELECT pg_advisory_unlock_all()');
          } catch {
            broken = true;
          }
        }
        client.release(broken);
        markLost();
      },
    };
  }
}
