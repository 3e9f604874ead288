/**
 * The alert scheduler's store on the PostgreSQL read models of distributed mode: the outbox
 * (`alert_outbox`) and the time watermark (`alert_state`) in the read models' schema, the deadline
 * clocks and gaps the projectors write there, and the change feed they write with every batch
 * (postgresAlertFeed.ts) in place of a position watermark.
 *
 * A check is one transaction: it consumes (deletes) a share of the feed, reads the rows, records the
 * alerts and the watermark, and commits all of it or nothing. It holds two advisory locks:
 * - the scheduler's own, exclusive: checks of several schedulers on one schema (a standby, a second
 *   replica) run one after another, so each alert is recorded once and sequence numbers become
 *   visible in commit order — a relay reading "after sequence n" never skips one committed late;
 * - the read models' (PostgresReadModel's DDL lock), shared: a reset (which drops the tables) waits
 *   for a check, and a check for a reset, instead of the two deadlocking on table locks.
 */
import pg from 'pg';
import { DEADLINE_CLOCKS_TABLE } from '../deadlines/deadlineDerivation.ts';
import { GAPS_TABLE } from '../gaps/gapsDerivation.ts';
import { LOCK_CLASS as READ_MODEL_LOCK_CLASS } from '../postgres/postgresReadModel.ts';
import type { AlertCandidates, NewAlert } from './alertDecisions.ts';
import type { RecordedAlert } from './alertRecords.ts';
import type { AlertCheck, AlertStore } from './alertScheduler.ts';
import { ALERT_FEED_TABLE, alertFeedDdl, parseReplay, REPLAY_META_KEY, type Replay } from './postgresAlertFeed.ts';
import {
  CLOCK_COLUMNS,
  CLOCK_INSTANTS,
  clockCandidate,
  GAP_COLUMNS,
  GAP_INSTANTS,
  gapCandidate,
  OUTBOX_COLUMNS,
  OUTBOX_TABLE,
  outboxCells,
  recordedAlertOf,
  sequenced,
  STATE_TABLE,
  type ClockRow,
  type GapRow,
  type OutboxRow,
} from './outboxRows.ts';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;
/** Advisory lock class of the alert scheduler's checks and DDL ('AS'); the second key is the schema's hash. */
const CHECK_LOCK_CLASS = 0x4153;

/** int8 as a JS number: instants in ms, positions and sequence numbers are far below 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

const SQL_TYPE: Record<(typeof OUTBOX_COLUMNS)[number], string> = {
  about: 'text',
  citizen_id: 'text',
  subject_id: 'text',
  kind: 'text',
  at_ms: 'bigint',
  detected_ms: 'bigint',
  started_ms: 'bigint',
  due_ms: 'bigint',
  at_risk_ms: 'bigint',
  stopped_ms: 'bigint',
  ended_ms: 'bigint',
  policy: 'text',
  unit_id: 'text',
  gap_kind: 'text',
  from_unit_id: 'text',
  to_unit_id: 'text',
  relative_id: 'text',
  published: 'boolean',
};

export interface PostgresAlertStoreOptions {
  /** The pool of the read models' database (not ended by the store). */
  pool: pg.Pool;
  /** The read models' schema (PostgresReadModel's `schema`), opened before with the deadline and/or gaps derivation. */
  schema: string;
  /** Most feed rows (events that arrived) one check consumes; default 5000. A larger backlog is taken in further checks at once. */
  feedBatchSize?: number;
}

type Querier = Pick<pg.PoolClient, 'query'>;

export class PostgresAlertStore implements AlertStore {
  /** Creates the outbox and watermark tables if missing; the read models' tables must exist. */
  static async open({ pool, schema, feedBatchSize = 5_000 }: PostgresAlertStoreOptions): Promise<PostgresAlertStore> {
    if (!SCHEMA_NAME.test(schema)) throw new TypeError('schema must be a lower-case SQL identifier of at most 48 characters');
    if (!Number.isSafeInteger(feedBatchSize) || feedBatchSize < 1) throw new TypeError('feedBatchSize must be a positive integer');
    const q = `"${schema}"`;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CHECK_LOCK_CLASS, schema]);
      const { rows } = await client.query<{ meta: boolean; clocks: boolean; gaps: boolean }>(
        `SELECT to_regclass($1) IS NOT NULL AS meta, to_regclass($2) IS NOT NULL AS clocks, to_regclass($3) IS NOT NULL AS gaps`,
        [`${q}.meta`, `${q}.${DEADLINE_CLOCKS_TABLE}`, `${q}.${GAPS_TABLE}`],
      );
      const found = rows[0]!;
      if (!found.meta || (!found.clocks && !found.gaps)) {
        throw new Error(`schema ${schema} holds no read models with deadline clocks or gaps: open the read models (PostgresReadModel.open) there first`);
      }
      await client.query(alertFeedDdl(q));
      await client.query(`CREATE TABLE IF NOT EXISTS ${q}.${OUTBOX_TABLE} (
        sequence bigserial PRIMARY KEY,
        about text NOT NULL, citizen_id text COLLATE "C" NOT NULL, subject_id text COLLATE "C" NOT NULL, kind text NOT NULL,
        at_ms bigint NOT NULL, detected_ms bigint NOT NULL, started_ms bigint NOT NULL,
        due_ms bigint, at_risk_ms bigint, stopped_ms bigint, ended_ms bigint,
        policy text, unit_id text, gap_kind text, from_unit_id text, to_unit_id text, relative_id text,
        -- false: discovered too late to be news (or superseded); kept so it is never published later
        published boolean NOT NULL,
        UNIQUE (about, citizen_id, subject_id, kind))`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${q}.${STATE_TABLE} (name text PRIMARY KEY, value bigint NOT NULL)`);
      await client.query('COMMIT');
      return new PostgresAlertStore(pool, schema, { clocks: found.clocks, gaps: found.gaps }, feedBatchSize);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #q: string;
  readonly #tables: { clocks: boolean; gaps: boolean };
  readonly #feedBatchSize: number;

  private constructor(pool: pg.Pool, schema: string, tables: { clocks: boolean; gaps: boolean }, feedBatchSize: number) {
    this.#pool = pool;
    this.#schema = schema;
    this.#q = `"${schema}"`;
    this.#tables = tables;
    this.#feedBatchSize = feedBatchSize;
  }

  async #query<R extends pg.QueryResultRow>(db: Querier, text: string, values: unknown[] = []): Promise<R[]> {
    return (await db.query<R>({ text, values, types: TYPES })).rows;
  }

  async check<T>(work: (check: AlertCheck) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CHECK_LOCK_CLASS, this.#schema]);
      await client.query('SELECT pg_advisory_xact_lock_shared($1, hashtext($2))', [READ_MODEL_LOCK_CLASS, this.#schema]);
      const result = await work(this.#check(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  #check(client: pg.PoolClient): AlertCheck {
    const q = this.#q;
    const setCheckedUntil = (checkedUntil: number) =>
      client.query(`INSERT INTO ${q}.${STATE_TABLE} (name, value) VALUES ('checked_until_ms', $1) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, [checkedUntil]);
    return {
      checkedUntil: async () => (await this.#query<{ value: number }>(client, `SELECT value FROM ${q}.${STATE_TABLE} WHERE name = 'checked_until_ms'`))[0]?.value,
      startFresh: async (now) => {
        // History: every event in the feed (counted in the database: it may hold the whole store).
        // Replayed positions still count towards a rebuild in progress.
        const replay = await this.#replay(client);
        const ranges = replay?.ranges ?? [];
        const [{ replayed } = { replayed: 0 }] = await this.#query<{ replayed: number }>(
          client,
          `WITH ranges AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS r(lo, hi)),
           gone AS (DELETE FROM ${q}.${ALERT_FEED_TABLE} RETURNING position)
           SELECT count(*) AS replayed FROM gone WHERE EXISTS (SELECT 1 FROM ranges WHERE gone.position BETWEEN lo AND hi)`,
          [ranges.map(([lo]) => lo), ranges.map(([, hi]) => hi)],
        );
        await this.#countOff(client, replay, replayed);
        await setCheckedUntil(now);
      },
      candidates: async (from, to) => {
        const replay = await this.#replay(client);
        if (replay !== undefined) {
          await this.#consume(client, replay, { limit: this.#feedBatchSize, onlyReplayed: true });
          return 'rebuilding';
        }
        const consumed = await this.#consume(client, undefined, { limit: this.#feedBatchSize, onlyReplayed: false });
        return this.#candidates(client, from, to, consumed);
      },
      record: async (alerts, checkedUntil) => {
        const published = await this.#record(client, alerts);
        await setCheckedUntil(checkedUntil);
        return published;
      },
    };
  }

  async #replay(client: pg.PoolClient): Promise<Replay | undefined> {
    const rows = await this.#query<{ value: string }>(client, `SELECT value FROM ${this.#q}.meta WHERE key = $1`, [REPLAY_META_KEY]);
    return parseReplay(rows[0]?.value);
  }

  /**
   * Deletes feed rows (at most `limit`; only replayed ones while a rebuild is under way) and returns
   * the others, the news. Replayed ones are counted off the replay; once all came back, it is over.
   */
  async #consume(client: pg.PoolClient, replay: Replay | undefined, { limit, onlyReplayed }: { limit: number; onlyReplayed: boolean }): Promise<{ citizenId: string; position: number }[]> {
    const q = this.#q;
    const ranges = replay?.ranges ?? [];
    const rows = await this.#query<{ citizen_id: string; position: number; replayed: boolean }>(
      client,
      `WITH ranges AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS r(lo, hi)),
       chosen AS (
         SELECT citizen_id, position FROM ${q}.${ALERT_FEED_TABLE} c
         ${onlyReplayed ? 'WHERE EXISTS (SELECT 1 FROM ranges WHERE c.position BETWEEN lo AND hi)' : ''}
         LIMIT ${limit}),
       gone AS (
         DELETE FROM ${q}.${ALERT_FEED_TABLE} g USING chosen WHERE g.citizen_id = chosen.citizen_id AND g.position = chosen.position
         RETURNING g.citizen_id, g.position)
       SELECT citizen_id, position, EXISTS (SELECT 1 FROM ranges WHERE gone.position BETWEEN lo AND hi) AS replayed FROM gone`,
      [ranges.map(([lo]) => lo), ranges.map(([, hi]) => hi)],
    );
    await this.#countOff(client, replay, rows.filter((r) => r.replayed).length);
    return rows.filter((r) => !r.replayed).map((r) => ({ citizenId: r.citizen_id, position: r.position }));
  }

  /** Counts replayed positions that came back off the replay; when none is owed any more, the rebuild is over. */
  async #countOff(client: pg.PoolClient, replay: Replay | undefined, replayed: number): Promise<void> {
    if (replay === undefined || replayed === 0) return;
    const remaining = replay.remaining - replayed;
    if (remaining > 0) {
      await client.query(`UPDATE ${this.#q}.meta SET value = $2 WHERE key = $1`, [REPLAY_META_KEY, JSON.stringify({ ...replay, remaining } satisfies Replay)]);
    } else {
      await client.query(`DELETE FROM ${this.#q}.meta WHERE key = $1`, [REPLAY_META_KEY]);
    }
  }

  async #candidates(client: pg.PoolClient, from: number, to: number, consumed: { citizenId: string; position: number }[]): Promise<AlertCandidates> {
    const q = this.#q;
    const arrived = new Map<string, Set<number>>();
    for (const { citizenId, position } of consumed) {
      const positions = arrived.get(citizenId);
      if (positions) positions.add(position);
      else arrived.set(citizenId, new Set([position]));
    }
    const citizens = [...arrived.keys()].sort();
    const inWindow = (column: string) => `${column} > $1 AND ${column} <= $2`;
    const clocks: ClockRow[] = [];
    const gaps: GapRow[] = [];
    if (this.#tables.clocks) {
      const T = `${q}.${DEADLINE_CLOCKS_TABLE}`;
      if (to > from) clocks.push(...(await this.#query<ClockRow>(client, CLOCK_INSTANTS.map((c) => `SELECT ${CLOCK_COLUMNS} FROM ${T} WHERE ${inWindow(c)}`).join(' UNION '), [from, to])));
      if (citizens.length > 0) clocks.push(...(await this.#query<ClockRow>(client, `SELECT ${CLOCK_COLUMNS} FROM ${T} WHERE citizen_id = ANY($1::text[])`, [citizens])));
    }
    if (this.#tables.gaps) {
      const T = `${q}.${GAPS_TABLE}`;
      if (to > from) {
        gaps.push(...(await this.#query<GapRow>(client, GAP_INSTANTS.map((c) => `SELECT ${GAP_COLUMNS} FROM ${T} WHERE is_primary = 1 AND ${inWindow(c)}`).join(' UNION '), [from, to])));
      }
      if (citizens.length > 0) gaps.push(...(await this.#query<GapRow>(client, `SELECT ${GAP_COLUMNS} FROM ${T} WHERE is_primary = 1 AND citizen_id = ANY($1::text[])`, [citizens])));
    }
    return {
      clocks: clocks.map(clockCandidate),
      gaps: gaps.map(gapCandidate),
      news: (citizenId, position) => arrived.get(citizenId)?.has(position) === true,
      more: consumed.length >= this.#feedBatchSize,
    };
  }

  /** Inserts in the given order (so sequence numbers follow it); returns the newly recorded published ones. */
  async #record(client: pg.PoolClient, alerts: readonly NewAlert[]): Promise<RecordedAlert[]> {
    if (alerts.length === 0) return [];
    const cells = alerts.map(outboxCells);
    const columns = OUTBOX_COLUMNS.join(', ');
    const inserted = await this.#query<{ sequence: number; about: string; citizen_id: string; subject_id: string; kind: string }>(
      client,
      `INSERT INTO ${this.#q}.${OUTBOX_TABLE} (${columns})
       SELECT ${columns} FROM unnest(${OUTBOX_COLUMNS.map((c, i) => `$${i + 1}::${SQL_TYPE[c]}[]`).join(', ')}) WITH ORDINALITY AS a(${columns}, n) ORDER BY n
       ON CONFLICT (about, citizen_id, subject_id, kind) DO NOTHING
       RETURNING sequence, about, citizen_id, subject_id, kind`,
      OUTBOX_COLUMNS.map((c) => cells.map((row) => row[c])),
    );
    const key = (about: string, citizenId: string, subjectId: string, kind: string) => `${about}\u0000${citizenId}\u0000${subjectId}\u0000${kind}`;
    const sequenceOf = new Map(inserted.map((r) => [key(r.about, r.citizen_id, r.subject_id, r.kind), r.sequence]));
    const published: RecordedAlert[] = [];
    for (const alert of alerts) {
      const sequence = sequenceOf.get(key(alert.about, alert.citizenId, alert.about === 'deadline' ? alert.clockId : alert.gapKey, alert.kind));
      if (sequence !== undefined && alert.publish) published.push(sequenced(alert, sequence));
    }
    return published.sort((a, b) => a.sequence - b.sequence);
  }

  async alertsAfter(sequence: number, limit: number): Promise<RecordedAlert[]> {
    const rows = await this.#query<OutboxRow>(
      this.#pool,
      `SELECT sequence, ${OUTBOX_COLUMNS.filter((c) => c !== 'published').join(', ')} FROM ${this.#q}.${OUTBOX_TABLE}
       WHERE sequence > $1 AND published ORDER BY sequence LIMIT $2`,
      [sequence, limit],
    );
    return rows.map(recordedAlertOf);
  }

  async lastSequence(): Promise<number> {
    const rows = await this.#query<{ s: number | null }>(this.#pool, `SELECT max(sequence) AS s FROM ${this.#q}.${OUTBOX_TABLE} WHERE published`);
    return rows[0]?.s ?? 0;
  }

  async quiet(from: number, to: number): Promise<boolean> {
    const q = this.#q;
    const inWindow = (column: string) => `${column} > $2 AND ${column} <= $3`;
    const busy = [
      `EXISTS (SELECT 1 FROM ${q}.${ALERT_FEED_TABLE})`,
      `EXISTS (SELECT 1 FROM ${q}.meta WHERE key = $1)`,
      ...(to > from && this.#tables.clocks ? CLOCK_INSTANTS.map((c) => `EXISTS (SELECT 1 FROM ${q}.${DEADLINE_CLOCKS_TABLE} WHERE ${inWindow(c)})`) : []),
      ...(to > from && this.#tables.gaps ? GAP_INSTANTS.map((c) => `EXISTS (SELECT 1 FROM ${q}.${GAPS_TABLE} WHERE is_primary = 1 AND ${inWindow(c)})`) : []),
    ];
    const rows = await this.#query<{ busy: boolean }>(this.#pool, `SELECT ${busy.join(' OR ')} AS busy`, to > from ? [REPLAY_META_KEY, from, to] : [REPLAY_META_KEY]);
    return rows[0]?.busy === false;
  }

  async nextInstant(now: number): Promise<number | null> {
    const q = this.#q;
    const parts = [
      ...(this.#tables.clocks ? CLOCK_INSTANTS.map((c) => `SELECT min(${c}) AS t FROM ${q}.${DEADLINE_CLOCKS_TABLE} WHERE ${c} > $1`) : []),
      ...(this.#tables.gaps ? GAP_INSTANTS.map((c) => `SELECT min(${c}) AS t FROM ${q}.${GAPS_TABLE} WHERE is_primary = 1 AND ${c} > $1`) : []),
    ];
    const rows = await this.#query<{ t: number | null }>(this.#pool, `SELECT min(t) AS t FROM (${parts.map((p) => `(${p})`).join(' UNION ALL ')}) instants`, [now]);
    return rows[0]?.t ?? null;
  }
}
