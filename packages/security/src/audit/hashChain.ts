/**
 * The access log's hash chain, one format for every adapter: entry n's hash is
 * SHA-256(hash of entry n-1 ‖ JSON [seq, at, actor, actorRole, citizenId, operation, purpose]), the first
 * entry chained on 32 zero bytes. Whoever edits, removes or reorders an entry without recomputing every
 * later hash breaks the chain at that entry; the same log verifies the same whether it lives in SQLite or
 * PostgreSQL.
 */
import { createHash } from 'node:crypto';

/** What the first entry is chained on. */
export const GENESIS: Buffer = Buffer.alloc(32);

/** An entry as stored (column names), without its hash. */
export interface ChainedEntry {
  seq: number;
  /** ISO 8601 instant, as `Date.prototype.toISOString` writes it. */
  at: string;
  actor: string;
  actor_role: string;
  citizen_id: string;
  operation: string;
  purpose: string | null;
}

export type ChainVerification = { ok: true; entries: number } | { ok: false; entries: number; firstBrokenSeq: number };

export function chainHash(previous: Buffer, entry: ChainedEntry): Buffer {
  return createHash('sha256')
    .update(previous)
    .update(JSON.stringify([entry.seq, entry.at, entry.actor, entry.actor_role, entry.citizen_id, entry.operation, entry.purpose]))
    .digest();
}
