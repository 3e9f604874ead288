/**
 * The access log (domain.md §6, Datatilsynet 2024): every read of a citizen — who, when, which
 * citizen, which query, the stated purpose — appended to a stream that nothing in the product can
 * change or delete. A citizen's request of insight lists the lookups made on them with dates,
 * operations and purposes, not the employees' identities.
 *
 * The port has no update and no delete on purpose. Adapters: SQLite (sqliteAccessLog.ts), PostgreSQL
 * (postgresAccessLog.ts).
 *
 * Erasures of personal data are entries too (ERASURE_OPERATION), recorded before the key is destroyed:
 * they belong in the citizen's request of insight (the citizen is told their data was erased, and when,
 * not by whom), and the log, unlike the key store, survives a key-store restore.
 */
import { containsCpr, isCprShaped } from '@tracker/domain';
import { isRole, type Role } from '../auth/principal.ts';

/** What a caller records: `at` is stamped by the log's clock, not taken from the caller. */
export interface AccessRecord {
  /** The principal's subject (an employee or system id from the IdP, never a name). */
  actor: string;
  /** The role the read was performed under (`Grant.role`). */
  actorRole: Role;
  citizenId: string;
  /** The operation or query name, e.g. `query.citizen` or `citizen`. */
  operation: string;
  /** Why, when the client states it (e.g. a case number or "visitationsmøde"); never a CPR number. */
  purpose?: string | null | undefined;
}

export interface AccessLogEntry {
  /** Position in the log: dense and increasing. */
  seq: number;
  at: string;
  actor: string;
  actorRole: Role;
  citizenId: string;
  operation: string;
  purpose: string | null;
}

/** One lookup as shown to the citizen: no actor, no role. */
export interface Lookup {
  at: string;
  operation: string;
  purpose: string | null;
}

/**
 * The operation an erasure (crypto-shredding) is recorded under, before the key is destroyed. Not an
 * authorization operation (the mutation is authorized as `admin.configuration`, which covers all of
 * administration): this names what was done, which is what the citizen and `erasures()` need. The one
 * spelling of it: the recording resolver and both adapters' `erasures()` use this constant.
 */
export const ERASURE_OPERATION = 'admin.erasePersonalData';

/** A citizen whose personal data was erased, as the access log records it: the earliest erasure's instant. */
export interface RecordedErasure {
  citizenId: string;
  erasedAt: string;
}

export interface EntriesFilter {
  citizenId?: string;
  actor?: string;
  /** Inclusive ISO instants. */
  from?: string;
  to?: string;
  /** Default 1000, at most 10 000. */
  limit?: number;
  /** Entries after this seq (paging). */
  afterSeq?: number;
}

export interface AccessLog {
  /**
   * Appends one entry. The promise settles once it is durable (group commit: many concurrent reads
   * share one fsync). Await it before answering the read, so a read is never disclosed unlogged.
   */
  record(entry: AccessRecord): Promise<void>;
  /** Appends several entries (a list query disclosing many citizens) as one unit. */
  recordAll(entries: readonly AccessRecord[]): Promise<void>;
  /** For a citizen's request of insight: dates, operations and purposes, oldest first. */
  lookupsOf(citizenId: string): Promise<Lookup[]>;
  /** With actors: for investigating misuse (operation `audit.investigation`, administrators only). */
  entries(filter?: EntriesFilter): Promise<AccessLogEntry[]>;
  /**
   * Every citizen an erasure was recorded for (ERASURE_OPERATION), once each with its earliest
   * instant, in the order they were first erased. The durable list of erasures, kept and backed up apart
   * from the key store: after a key store is restored it says which keys to destroy again.
   */
  erasures(): Promise<RecordedErasure[]>;
  /** Writes what is queued now. */
  flush(): Promise<void>;
  /** Flushes everything queued, then closes; later records are refused. */
  close(): Promise<void>;
}

export class AccessLogEntryError extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`access log entry: ${field} ${reason}`);
    this.name = 'AccessLogEntryError';
  }
}

/** Opening with `create: false` found no access log there (a tool that reads the log must not make an empty one). */
export class AccessLogNotFoundError extends Error {
  constructor(where: string) {
    super(`there is no access log ${where}`);
    this.name = 'AccessLogNotFoundError';
  }
}

export class AccessLogClosedError extends Error {
  constructor() {
    super('the access log is closed; the read cannot be logged and must not be answered');
    this.name = 'AccessLogClosedError';
  }
}

const PSEUDONYMOUS_ID = /^[A-Za-z0-9._-]{1,64}$/;
const OPERATION = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_ACTOR = 255;
const MAX_PURPOSE = 500;

export function checkCitizenId(citizenId: unknown): asserts citizenId is string {
  if (typeof citizenId !== 'string' || !PSEUDONYMOUS_ID.test(citizenId) || isCprShaped(citizenId)) {
    throw new AccessLogEntryError('citizenId', 'must be a pseudonymous id, never a CPR number');
  }
}

/** Validates a record; messages name the field, never the value. Returns the normalised purpose. */
export function checkAccessRecord(entry: AccessRecord): string | null {
  if (typeof entry !== 'object' || entry === null) throw new AccessLogEntryError('entry', 'must be an object');
  if (typeof entry.actor !== 'string' || entry.actor.length === 0 || entry.actor.length > MAX_ACTOR || containsCpr(entry.actor)) {
    throw new AccessLogEntryError('actor', `must be the principal's subject (1–${MAX_ACTOR} characters, no CPR number)`);
  }
  if (!isRole(entry.actorRole)) throw new AccessLogEntryError('actorRole', 'must be a tracker role');
  checkCitizenId(entry.citizenId);
  if (typeof entry.operation !== 'string' || !OPERATION.test(entry.operation)) {
    throw new AccessLogEntryError('operation', 'must be an operation name (1–64 of A–Z, a–z, 0–9, ".", "_", ":", "-")');
  }
  if (entry.purpose === undefined || entry.purpose === null) return null;
  if (typeof entry.purpose !== 'string') throw new AccessLogEntryError('purpose', 'must be text');
  const purpose = entry.purpose.trim();
  if (purpose === '') return null;
  if (purpose.length > MAX_PURPOSE || containsCpr(purpose)) {
    throw new AccessLogEntryError('purpose', `must be at most ${MAX_PURPOSE} characters and must not contain a CPR number`);
  }
  return purpose;
}
