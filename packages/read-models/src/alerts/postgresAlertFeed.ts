/**
 * The change feed between the PostgreSQL read models and the alert scheduler (distributed mode).
 *
 * Several projector instances write the read models, each committing batches of its own citizens in
 * its own time, so a global position does not grow in commit order: a batch holding position 5 may
 * commit after one holding 9, and a "newer than the last position seen" watermark would miss it.
 * Instead, PostgresReadModel writes, in the transaction of each batch, one `alert_feed` row per
 * (citizen, position) the batch newly applied (a repeated event adds none); the scheduler consumes the
 * feed — reads and deletes rows in the transaction that records their alerts — and takes "arrived
 * since the last check" to mean "among the positions just consumed". Exact whatever the commit order.
 *
 * Rebuilds: a reset drops the read models and the projectors replay every event. Positions applied
 * before the reset come back as feed rows again; they are not news (as on SQLite, a rebuild
 * re-derives rows at their old positions). The reset records them as ranges (`meta` key
 * `alert_replay`, with how many are to come back); the scheduler counts the replayed rows it consumes
 * and, until all have come back, checks nothing else: half-rebuilt rows would show changes that never
 * happened, and missing rows none of those that did. Positions still in the feed at the reset (not
 * yet consumed) are left out of the ranges: they stay news.
 *
 * Until a scheduler first starts on the schema the feed only grows; that first start drops it as
 * history (what is already stored is not alerted). Run a scheduler wherever projectors run.
 */
import type pg from 'pg';

export const ALERT_FEED_TABLE = 'alert_feed';
export const REPLAY_META_KEY = 'alert_replay';

/** Positions that come back in a replay ([from, to], inclusive, disjoint), and how many have yet to. */
export interface Replay {
  ranges: [number, number][];
  remaining: number;
}

export function alertFeedDdl(q: string): string {
  return `CREATE TABLE IF NOT EXISTS ${q}.${ALERT_FEED_TABLE} (
    citizen_id text COLLATE "C" NOT NULL, position bigint NOT NULL, PRIMARY KEY (citizen_id, position))`;
}

export function parseReplay(value: string | undefined): Replay | undefined {
  if (value === undefined) return undefined;
  const replay = JSON.parse(value) as Replay;
  return replay.remaining > 0 && replay.ranges.length > 0 ? replay : undefined;
}

/** Merges ranges of positions into disjoint ones, in order (adjacent ones join). */
export function mergeRanges(ranges: readonly [number, number][]): [number, number][] {
  const merged: [number, number][] = [];
  for (const [from, to] of [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1])) {
    const last = merged.at(-1);
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

/**
 * Called by the reset, in its transaction, before the tables are dropped: what the replay will bring
 * back (with what an unfinished earlier replay still owes), the feed emptied. Returns the replay to
 * store in `meta` once it has been cleared, or undefined when nothing comes back.
 */
export async function replayForReset(client: pg.PoolClient, q: string): Promise<Replay | undefined> {
  const previous = await client.query<{ value: string }>(`SELECT value FROM ${q}.meta WHERE key = $1`, [REPLAY_META_KEY]);
  // Islands of consecutive applied positions; positions the scheduler has not consumed yet stay out.
  const { rows } = await client.query<{ from_position: string; to_position: string }>(
    `SELECT min(position) AS from_position, max(position) AS to_position FROM (
       SELECT position, position - row_number() OVER (ORDER BY position) AS island FROM ${q}.timeline t
       WHERE NOT EXISTS (SELECT 1 FROM ${q}.${ALERT_FEED_TABLE} f WHERE f.citizen_id = t.citizen_id AND f.position = t.position)
     ) applied GROUP BY island`,
  );
  await client.query(`DELETE FROM ${q}.${ALERT_FEED_TABLE}`);
  const ranges = mergeRanges([
    ...(parseReplay(previous.rows[0]?.value)?.ranges ?? []),
    ...rows.map((r): [number, number] => [Number(r.from_position), Number(r.to_position)]),
  ]);
  const remaining = ranges.reduce((n, [from, to]) => n + to - from + 1, 0);
  return remaining > 0 ? { ranges, remaining } : undefined;
}

export async function storeReplay(client: pg.PoolClient, q: string, replay: Replay | undefined): Promise<void> {
  if (replay === undefined) return;
  await client.query(`INSERT INTO ${q}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [
    REPLAY_META_KEY,
    JSON.stringify(replay),
  ]);
}
