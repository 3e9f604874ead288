/**
 * The event ids a request body names, read before the request is validated, so the ingest service can
 * note which request (correlation id) delivers which events before it appends them (see
 * postgres/correlations.ts). Only well-formed ids are taken, lower-cased as `validateEvent` stores
 * them; anything else is ignored here (validation answers for it).
 */
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function eventIdsInRequest(body: unknown, maxEvents: number): string[] {
  if (!isObject(body) || !Array.isArray(body.events)) return [];
  const ids: string[] = [];
  for (const event of body.events.slice(0, maxEvents)) {
    if (isObject(event) && typeof event.id === 'string' && UUID.test(event.id)) ids.push(event.id.toLowerCase());
  }
  return ids;
}
