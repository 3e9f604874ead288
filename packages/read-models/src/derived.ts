/**
 * Derived read models: answers that depend on a citizen's whole history rather than on one event
 * at a time (gaps, deadline clocks, relatives, anomalies). After each batch, every citizen the batch
 * touched is derived again from all of their events in world order (occurredAt, then global
 * position), inside the batch's transaction. A derivation is a pure function of the citizen's event
 * set, so late events land in place and a rebuild equals incremental processing by construction.
 *
 * A derived model stores intervals and instants (start, end, due …) computed from the full history;
 * queries restrict them to `asOf`. That is exact for rules whose opening and closing depend only on
 * what happened before, which holds for every gap kind and deadline in domain.md.
 */
import type Database from 'better-sqlite3';
import type { StoredEvent } from '@tracker/domain';

export interface DerivedReadModel {
  /** Short name, for logs and errors. */
  readonly name: string;
  /** DDL creating its tables and indexes (CREATE … IF NOT EXISTS), run on open. */
  readonly schema: string;
  /** Its tables, emptied on reset. */
  readonly tables: readonly string[];
  /** Bumped when the derivation changes meaning: stored rows then need a rebuild. */
  readonly version: number;
  /** Called once with the read-model database after the schema exists: prepare statements here. */
  attach(db: Database.Database): void;
  /** Replaces everything derived for one citizen, given all their events in world order. */
  replaceCitizen(citizenId: string, history: readonly StoredEvent[]): void;
}
