/**
 * The submitter that makes a Kafka ingest message exactly a `POST /v1/events`: it injects the message
 * bytes as the request body into the ingest service's own fastify instance (no network; fastify's
 * `inject`), so the content-type parsing, body limit, request shape, per-event validation (catalog,
 * units, CPR rules), all-or-nothing append, duplicate counting and error wording are those of
 * `ingestionPlugin` itself — there is no second copy of a rule to drift. The correlation id travels as
 * `x-request-id`, so the HTTP path's hooks (request logs, correlation log) treat it the same way.
 */
import type { IngestOutcome, IngestSubmitter } from './ingestConsumer.ts';
import type { IngestRefusal } from './dlq.ts';

/** What the submitter needs of a fastify instance. */
export interface InjectableApp {
  inject(options: { method: 'POST'; url: string; headers: Record<string, string>; payload: Buffer }): Promise<{ statusCode: number; body: string }>;
}

/** Ingestion failed for a reason other than the input (HTTP 5xx, or a door without rights): retried, not refused. */
export class IngestionUnavailableError extends Error {
  constructor(readonly statusCode: number) {
    super(`ingestion answered ${statusCode}; the message is retried`);
    this.name = 'IngestionUnavailableError';
  }
}

/**
 * What each answer means for the message:
 * - 200: stored (or all duplicates);
 * - 400 (and other 4xx about the body: too large, wrong type): refused — the input is wrong;
 * - 403 naming events (`events not permitted`: another source system's events): refused — the input is
 *   not this door's to give;
 * - 401, or 403 without events (the door itself may not ingest), 429, 5xx: the message is fine and the
 *   service is not; retried until it is (a refusal would throw good facts away).
 */
export function httpIngestionSubmitter(app: InjectableApp, path = '/v1/events'): IngestSubmitter {
  return async (body, correlationId): Promise<IngestOutcome> => {
    const response = await app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/json', 'x-request-id': correlationId },
      payload: body,
    });
    const status = response.statusCode;
    if (status === 200) {
      const { appended, duplicates } = JSON.parse(response.body) as { appended: number; duplicates: number };
      return { status: 'stored', appended, duplicates };
    }
    if (status >= 400 && status < 500 && status !== 401 && status !== 429) {
      const answer = parseRefusal(response.body);
      if (status !== 403 || answer.errors.length > 0) return { status: 'refused', ...answer };
    }
    throw new IngestionUnavailableError(status);
  };
}

function parseRefusal(body: string): IngestRefusal {
  try {
    const parsed = JSON.parse(body) as Partial<IngestRefusal>;
    return { error: typeof parsed.error === 'string' ? parsed.error : 'refused', errors: Array.isArray(parsed.errors) ? parsed.errors : [] };
  } catch {
    return { error: 'refused', errors: [] };
  }
}
