/**
 * Request ids that become correlation ids: an HTTP request's `x-request-id` (when a caller sends a
 * usable one) or a fresh UUID, bound by fastify to every log line of the request, answered back in
 * the `x-request-id` response header, recorded for the events the request stores, and carried by the
 * relay into the CloudEvent (`correlationid`) — so one id follows an event from ingestion to Kafka and
 * into every consumer's logs. A caller's id is only kept when it looks like an id (it goes into logs
 * and messages; nothing shaped like data is let through).
 */
import { randomUUID } from 'node:crypto';
import { CORRELATION_ID } from '../postgres/correlations.ts';

export const REQUEST_ID_HEADER = 'x-request-id';

/** For fastify's `genReqId` (with `requestIdHeader: false`). */
export function requestIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const sent = request.headers[REQUEST_ID_HEADER];
  const value = Array.isArray(sent) ? sent[0] : sent;
  return value !== undefined && CORRELATION_ID.test(value) ? value : randomUUID();
}

/** The fastify options every service uses (spread into `Fastify({...})`). */
export function serviceServerOptions(bodyLimitBytes: number) {
  return {
    bodyLimit: bodyLimitBytes,
    // Lets close() wait for in-flight requests instead of cutting them off.
    forceCloseConnections: 'idle' as const,
    requestIdHeader: false as const,
    genReqId: requestIdOf,
  };
}
