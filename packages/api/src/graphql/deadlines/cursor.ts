/**
 * Cursors of the `deadlines` connection: keyset cursors naming the last clock of a page in the
 * order (due, citizen, clock), plus the `asOf` the page was read at, so paging through "now" sees one
 * instant. Opaque to clients (base64url); only the canonical spelling of a cursor this API made is
 * accepted.
 */
import type { DeadlineKey } from '@tracker/read-models';

const PREFIX = 'deadline:v1:';
const MAX_LENGTH = 600;

export interface DeadlineCursor extends DeadlineKey {
  asOf: number;
}

export function encodeDeadlineCursor({ asOf, dueMs, citizenId, clockId }: DeadlineCursor): string {
  return Buffer.from(`${PREFIX}${JSON.stringify([asOf, dueMs, citizenId, clockId])}`, 'utf8').toString('base64url');
}

const isInstant = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n);

/** Decodes a cursor this connection made; anything else is undefined. */
export function decodeDeadlineCursor(cursor: string): DeadlineCursor | undefined {
  if (cursor.length === 0 || cursor.length > MAX_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(PREFIX)) return undefined;
  let parts: unknown;
  try {
    parts = JSON.parse(text.slice(PREFIX.length));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parts) || parts.length !== 4) return undefined;
  const [asOf, dueMs, citizenId, clockId] = parts as unknown[];
  if (!isInstant(asOf) || !isInstant(dueMs) || typeof citizenId !== 'string' || typeof clockId !== 'string') return undefined;
  const decoded = { asOf, dueMs, citizenId, clockId };
  return encodeDeadlineCursor(decoded) === cursor ? decoded : undefined;
}
