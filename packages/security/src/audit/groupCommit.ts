/**
 * How both access-log adapters take entries: each is checked and stamped (`at`, from the log's clock)
 * when recorded, gathered until the next turn of the event loop, and then written by the adapter as one
 * group — one transaction, one hash-chain extension, one fsync for every read made meanwhile. The
 * caller's promise settles when its group is durable (or failed).
 */
import type { Clock } from '@tracker/domain';
import { checkAccessRecord, type AccessRecord } from './accessLog.ts';
import type { ChainedEntry } from './hashChain.ts';

/** An entry as it will be chained: everything but its sequence number. */
export type StampedEntry = Omit<ChainedEntry, 'seq'>;

export interface PendingRecord {
  rows: StampedEntry[];
  resolve(): void;
  reject(error: unknown): void;
}

export class GroupCommitQueue {
  readonly #clock: Clock;
  readonly #write: () => void;
  #pending: PendingRecord[] = [];
  #scheduled = false;

  /** `write` is called on the turn after entries arrive; it takes the group with `take()`. */
  constructor(clock: Clock, write: () => void) {
    this.#clock = clock;
    this.#write = write;
  }

  /** Checks and stamps the entries and queues them; rejects at once (naming the field) when one is refused. */
  add(entries: readonly AccessRecord[]): Promise<void> {
    let rows: StampedEntry[];
    try {
      const at = this.#clock.now().toISOString();
      rows = entries.map((entry) => {
        const purpose = checkAccessRecord(entry);
        return { at, actor: entry.actor, actor_role: entry.actorRole, citizen_id: entry.citizenId, operation: entry.operation, purpose };
      });
    } catch (error) {
      return Promise.reject(error);
    }
    if (rows.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ rows, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#write();
        });
      }
    });
  }

  /** Everything queued so far, taken out of the queue. */
  take(): PendingRecord[] {
    const group = this.#pending;
    this.#pending = [];
    return group;
  }

  get size(): number {
    return this.#pending.length;
  }
}
