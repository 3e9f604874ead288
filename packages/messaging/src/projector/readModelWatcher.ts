/**
 * Read-your-writes for the API in distributed mode. A GraphQL command appends to the event store and
 * then answers with the citizen as the read models show it, once they include the command's events
 * (`projector.waitFor(position)` in graphqlPlugin). Here the projector is another process behind
 * Kafka, so the API watches the read models instead: it looks the event at that position up in the
 * store (for its citizen) and waits until the citizen's timeline holds it. The projector writes a
 * batch in one transaction and a citizen's events in order, so once that event is visible, so is
 * everything of the citizen up to it, derived rows included.
 */
import type { EventStore } from '@tracker/event-store';

export interface TimelineQuery {
  /** PostgresReadModel.query */
  query<R extends Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>;
  /** PostgresReadModel.schema */
  readonly schema: string;
}

export interface ReadModelWatcherOptions {
  store: EventStore;
  readModel: TimelineQuery;
  /** Default 5000 ms, as the embedded projector's waitFor. */
  timeoutMs?: number;
  /** Default 25 ms. */
  pollIntervalMs?: number;
}

export class ReadModelWatcher {
  readonly #options: Required<ReadModelWatcherOptions>;

  constructor(options: ReadModelWatcherOptions) {
    this.#options = { timeoutMs: 5_000, pollIntervalMs: 25, ...options };
  }

  /** Resolves once the read models include the event at this global position; rejects after the timeout. */
  async waitFor(position: number, { timeoutMs = this.#options.timeoutMs }: { timeoutMs?: number } = {}): Promise<void> {
    const { store, readModel, pollIntervalMs } = this.#options;
    const [event] = await store.readAll({ after: position - 1, maxCount: 1 });
    if (!event || event.globalPosition !== position) throw new Error(`no event is stored at position ${position}`);
    const deadline = Date.now() + timeoutMs;
    const sql = `SELECT 1 AS found FROM "${readModel.schema}".timeline WHERE citizen_id = $1 AND position = $2 LIMIT 1`;
    for (;;) {
      const rows = await readModel.query(sql, [event.citizenId, position]);
      if (rows.length > 0) return;
      if (Date.now() >= deadline) throw new Error(`read models did not reach position ${position} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
    }
  }
}
