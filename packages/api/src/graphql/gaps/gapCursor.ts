/**
 * Opaque cursors of the gaps connection, the same approach as the handovers' (../arguments.ts): a
 * cursor names one edge (its index in the ordered result) and the `asOf` its page was read at, so
 * paging through "now" stays at one instant. Its own prefix, so a handover cursor is refused here.
 */
import { asOfArgument, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type PageArguments } from '../arguments.ts';
import { badField } from '../errors.ts';

const PREFIX = 'gap:v1:';
const BODY = /^gap:v1:(0|[1-9]\d{0,8}):(-?(?:0|[1-9]\d{0,15}))$/;

export interface GapCursor {
  index: number;
  asOf: number;
}

export function encodeGapCursor({ index, asOf }: GapCursor): string {
  return Buffer.from(`${PREFIX}${index}:${asOf}`, 'utf8').toString('base64url');
}

/** Decodes a cursor this connection made; anything else is undefined. */
export function decodeGapCursor(cursor: string): GapCursor | undefined {
  if (cursor.length === 0 || cursor.length > 64 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const match = BODY.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) return undefined;
  const decoded = { index: Number(match[1]), asOf: Number(match[2]) };
  // Only the canonical spelling is one of ours (base64url has look-alike spellings of the same bytes).
  return encodeGapCursor(decoded) === cursor ? decoded : undefined;
}

/** `first`, `after` and `asOf` of the gaps connection, checked together. */
export function gapPageArguments(args: { first?: number | null; after?: string | null; asOf?: string | null }, now: () => Date): PageArguments {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (first < 0) throw badField('first', 'must not be negative');
  if (first > MAX_PAGE_SIZE) throw badField('first', `must be at most ${MAX_PAGE_SIZE}; page with after instead`);
  if (args.after == null) return { first, offset: 0, asOf: asOfArgument(args.asOf, now) };
  const cursor = decodeGapCursor(args.after);
  if (!cursor) throw badField('after', 'is not a cursor of this connection; pass an endCursor from a previous page');
  if (args.asOf != null && Date.parse(args.asOf) !== cursor.asOf) {
    throw badField('after', "belongs to a page read at another asOf; page with the same asOf, or leave asOf out to keep the cursor's");
  }
  return { first, offset: cursor.index + 1, asOf: cursor.asOf };
}
