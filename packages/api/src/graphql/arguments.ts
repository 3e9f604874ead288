/**
 * Turning GraphQL arguments into what the ports take, refusing what does not fit with an error that
 * names the argument and never echoes the value.
 */
import { PseudonymousId, type UnitDirectory } from '@tracker/domain';
import { badField } from './errors.ts';

/** A citizen id: pseudonymous, never shaped like a CPR number (domain.md §3). */
export function citizenIdArgument(value: string, field: string): string {
  const parsed = PseudonymousId.safeParse(value);
  if (!parsed.success) throw badField(field, parsed.error.issues[0]?.message ?? 'is not a valid citizen id');
  return parsed.data;
}

/** A unit id that the units configuration knows. */
export function unitIdArgument(value: string, field: string, units: UnitDirectory): string {
  if (!units.isKnownUnit(value)) throw badField(field, 'is not a configured unit; units come from the units configuration');
  return value;
}

/** `asOf` in epoch ms; DateTime values were validated by the scalar, absent means the clock's now. */
export const asOfArgument = (value: string | null | undefined, now: () => Date): number =>
  value == null ? now().getTime() : Date.parse(value);

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/**
 * Opaque cursors over offset pages. A cursor names one edge (its index in the ordered result) and
 * the `asOf` its page was read at, so a client paging through "now" sees one consistent instant
 * instead of a moving target.
 */
export interface Cursor {
  index: number;
  asOf: number;
}

const CURSOR_PREFIX = 'handover:v1:';
const CURSOR_BODY = /^handover:v1:(0|[1-9]\d{0,8}):(-?(?:0|[1-9]\d{0,15}))$/;

export function encodeCursor({ index, asOf }: Cursor): string {
  return Buffer.from(`${CURSOR_PREFIX}${index}:${asOf}`, 'utf8').toString('base64url');
}

/** Decodes a cursor this API made; anything else is undefined. */
export function decodeCursor(cursor: string): Cursor | undefined {
  if (cursor.length === 0 || cursor.length > 64 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const match = CURSOR_BODY.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) return undefined;
  const decoded = { index: Number(match[1]), asOf: Number(match[2]) };
  // Only the canonical spelling is one of ours (base64url has look-alike spellings of the same bytes).
  return encodeCursor(decoded) === cursor ? decoded : undefined;
}

export interface PageArguments {
  first: number;
  offset: number;
  asOf: number;
}

/** `first`, `after` and `asOf` of a connection field, checked together. */
export function pageArguments(
  args: { first?: number | null; after?: string | null; asOf?: string | null },
  now: () => Date,
): PageArguments {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (first < 0) throw badField('first', 'must not be negative');
  if (first > MAX_PAGE_SIZE) throw badField('first', `must be at most ${MAX_PAGE_SIZE}; page with after instead`);
  if (args.after == null) return { first, offset: 0, asOf: asOfArgument(args.asOf, now) };

  const cursor = decodeCursor(args.after);
  if (!cursor) throw badField('after', 'is not a cursor of this connection; pass an endCursor from a previous page');
  if (args.asOf != null && Date.parse(args.asOf) !== cursor.asOf) {
    throw badField('after', 'belongs to a page read at another asOf; page with the same asOf, or leave asOf out to keep the cursor\'s');
  }
  return { first, offset: cursor.index + 1, asOf: cursor.asOf };
}

/** A Relay connection from one page of nodes and their cursors. */
export function connectionOf<T>(
  page: { nodes: readonly T[]; totalCount: number; hasNextPage: boolean },
  cursorOf: (node: T, index: number) => string,
  hasPreviousPage: boolean,
) {
  const edges = page.nodes.map((node, i) => ({ node, cursor: cursorOf(node, i) }));
  return {
    edges,
    totalCount: page.totalCount,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
