/**
 * GapQueries on the embedded read models (SqliteReadModel's database, tables from gapsDerivation).
 * SQL selects the rows that exist, are open or are overdue at `asOf` (the rules of the domain's
 * gapAsOf, restated over stored instants); each row is then shaped by gapAsOf itself, so durations
 * and flags have one definition.
 */
import type Database from 'better-sqlite3';
import {
  ANOMALY_DESCRIPTIONS,
  formatCopenhagenInstant,
  gapAsOf,
  relativesAsOf,
  type StreamAnomalyKind,
  type Gap,
  type GapKind,
  type RelativeFact,
} from '@tracker/domain';
import type { Page, PageRequest } from '../queries.ts';
import { ANOMALIES_TABLE, GAPS_TABLE, OPEN_UNTIL, RELATIVES_TABLE } from './gapsDerivation.ts';
import type { AnomalyCountView, AnomalyView, CitizenGapFilter, GapFilter, GapQueries, GapView, RelativeContactView, RelativeView } from './gapQueries.ts';

interface GapRow {
  citizen_id: string;
  gap_key: string;
  kind: GapKind;
  from_unit_id: string | null;
  to_unit_id: string | null;
  relative_id: string | null;
  subject_id: string | null;
  started_ms: number;
  ended_ms: number | null;
  due_ms: number | null;
}

const GAP_COLUMNS = 'citizen_id, gap_key, kind, from_unit_id, to_unit_id, relative_id, subject_id, started_ms, ended_ms, due_ms';

/** Overdue at :asOf: due has passed and the gap did not end before it (until_ms is the end or "never"). */
const OVERDUE = 'due_ms <= :asOf AND until_ms >= due_ms';

export class SqliteGapQueries implements GapQueries {
  readonly #db: Database.Database;
  readonly #byShape = new Map<string, { count: Database.Statement; page: Database.Statement }>();
  readonly #statements;

  /** `database` is SqliteReadModel#database, built with gapsDerivation among its derived models. */
  constructor(database: Database.Database) {
    this.#db = database;
    // One citizen's rows are found by citizen_id; the unary + keeps SQLite's planner (which has no
    // statistics here) from preferring the wide kind/is_primary indexes and scanning every citizen.
    this.#statements = {
      citizenGaps: database.prepare<{ citizenId: string; asOf: number }, GapRow>(
        `SELECT ${GAP_COLUMNS} FROM ${GAPS_TABLE} WHERE citizen_id = :citizenId AND +is_primary = 1 AND started_ms <= :asOf ORDER BY started_ms, gap_key`,
      ),
      relativeFacts: database.prepare<
        { citizenId: string; asOf: number },
        { fact: 'linked' | 'representation'; relative_id: string; at_ms: number; relation: string | null; custody: number | null; custody_ends_ms: number | null; basis: string | null }
      >(`SELECT fact, relative_id, at_ms, relation, custody, custody_ends_ms, basis FROM ${RELATIVES_TABLE} WHERE citizen_id = :citizenId AND at_ms <= :asOf ORDER BY at_ms, rowid`),
      relativeContacts: database.prepare<{ citizenId: string; asOf: number }, GapRow>(
        `SELECT ${GAP_COLUMNS} FROM ${GAPS_TABLE}
         WHERE citizen_id = :citizenId AND +is_primary = 1 AND +kind = 'RELATIVE_UNANSWERED' AND relative_id IS NOT NULL AND started_ms <= :asOf
         ORDER BY started_ms, gap_key`,
      ),
      anomalies: database.prepare<
        { citizenId: string; asOf: number },
        { kind: StreamAnomalyKind; event_id: string; event_type: string; occurred_ms: number; source: string | null; subject_id: string | null }
      >(`SELECT kind, event_id, event_type, occurred_ms, source, subject_id FROM ${ANOMALIES_TABLE} WHERE citizen_id = :citizenId AND occurred_ms <= :asOf ORDER BY occurred_ms, rowid`),
      anomalyCounts: database.prepare<{ asOf: number }, { source: string | null; kind: StreamAnomalyKind; n: number }>(
        `SELECT source, kind, count(*) AS n FROM ${ANOMALIES_TABLE} WHERE occurred_ms <= :asOf GROUP BY source, kind ORDER BY source, kind`,
      ),
    };
  }

  async gaps(filter: GapFilter, page: PageRequest): Promise<Page<GapView>> {
    const { count, page: pageStatement } = this.#statementsFor(filter);
    const params: Record<string, unknown> = { asOf: filter.asOf };
    if (filter.unitId !== undefined) params.unitId = filter.unitId;
    if (filter.kind !== undefined) params.kind = filter.kind;
    const totalCount = (count.get(params) as { n: number }).n;
    const rows = pageStatement.all({ ...params, limit: page.first + 1, offset: page.offset }) as GapRow[];
    return { nodes: rows.slice(0, page.first).map((r) => toGapView(r, filter.asOf)), totalCount, hasNextPage: rows.length > page.first };
  }

  async citizenGaps(citizenId: string, asOf: number, filter: CitizenGapFilter = {}): Promise<GapView[]> {
    return this.#statements.citizenGaps
      .all({ citizenId, asOf })
      .map((r) => toGapView(r, asOf))
      .filter((g) => (filter.kind === undefined || g.kind === filter.kind) && (filter.open === undefined || g.open === filter.open));
  }

  async relatives(citizenId: string, asOf: number): Promise<RelativeView[]> {
    const facts: RelativeFact[] = this.#statements.relativeFacts.all({ citizenId, asOf }).map((r) =>
      r.fact === 'linked'
        ? { kind: 'linked', relativeId: r.relative_id, ms: r.at_ms, relation: r.relation ?? 'other', custody: r.custody === 1, custodyEndsMs: r.custody_ends_ms }
        : { kind: 'representation', relativeId: r.relative_id, ms: r.at_ms, basis: r.basis ?? '' },
    );
    const contacts = new Map<string, RelativeContactView[]>();
    for (const row of this.#statements.relativeContacts.all({ citizenId, asOf })) {
      const g = toGapView(row, asOf);
      const list = contacts.get(row.relative_id!) ?? [];
      list.push({ contactId: g.subjectId!, unitId: g.toUnitId, receivedAt: g.startedAt, answeredAt: g.endedAt, dueAt: g.dueAt, overdue: g.overdue });
      contacts.set(row.relative_id!, list);
    }
    return relativesAsOf(facts, asOf).map((r) => ({
      id: r.relativeId,
      relation: r.relation,
      custody: r.custody,
      representation: r.representation,
      linkedAt: formatCopenhagenInstant(r.linkedMs),
      representationGrantedAt: r.representationMs === null ? null : formatCopenhagenInstant(r.representationMs),
      contacts: contacts.get(r.relativeId) ?? [],
    }));
  }

  async anomalies(citizenId: string, asOf: number): Promise<AnomalyView[]> {
    return this.#statements.anomalies.all({ citizenId, asOf }).map((r) => ({
      kind: r.kind,
      eventId: r.event_id,
      eventType: r.event_type,
      occurredAt: formatCopenhagenInstant(r.occurred_ms),
      source: r.source,
      subjectId: r.subject_id,
      description: ANOMALY_DESCRIPTIONS[r.kind],
    }));
  }

  async anomalyCounts(asOf: number): Promise<AnomalyCountView[]> {
    return this.#statements.anomalyCounts.all({ asOf }).map((r) => ({ source: r.source, kind: r.kind, count: r.n }));
  }

  /**
   * One prepared pair per combination of filters: the WHERE clause differs, the parameters are named.
   * The page is chosen on index keys alone (rowid and the order columns), then only its rows are read.
   * For open gaps the keys come from two ranges merged in order: the gaps without an end (one
   * until_ms value, so already in page order in the index: the LIMIT stops the scan) and those that
   * end after asOf (few for a recent asOf; sorted).
   */
  #statementsFor(filter: GapFilter) {
    const shape = [filter.unitId !== undefined, filter.kind !== undefined, filter.open, filter.overdue].join(':');
    let statements = this.#byShape.get(shape);
    if (!statements) {
      const scope = [filter.unitId !== undefined ? 'unit_id = :unitId' : 'is_primary = 1', 'started_ms <= :asOf'];
      if (filter.kind !== undefined) scope.push('kind = :kind');
      if (filter.overdue === true) scope.push(OVERDUE);
      if (filter.overdue === false) scope.push(`NOT (due_ms IS NOT NULL AND ${OVERDUE})`);
      const within = (...extra: string[]) => [...scope, ...extra].join(' AND ');
      const keys = (where: string) => `SELECT rowid AS r, started_ms AS s, citizen_id AS c, gap_key AS k FROM ${GAPS_TABLE} WHERE ${where}`;
      const openness = filter.open === true ? ['until_ms > :asOf'] : filter.open === false ? ['until_ms <= :asOf'] : [];
      const pageKeys =
        filter.open === true
          ? `${keys(within(`until_ms = ${OPEN_UNTIL}`))} UNION ALL ${keys(within('until_ms > :asOf', `until_ms < ${OPEN_UNTIL}`))}`
          : keys(within(...openness));
      statements = {
        count: this.#db.prepare(`SELECT count(*) AS n FROM ${GAPS_TABLE} WHERE ${within(...openness)}`),
        page: this.#db.prepare(
          `WITH page AS (${pageKeys} ORDER BY 2, 3, 4 LIMIT :limit OFFSET :offset)
           SELECT ${GAP_COLUMNS.split(', ').map((c) => `g.${c}`).join(', ')} FROM page JOIN ${GAPS_TABLE} g ON g.rowid = page.r ORDER BY page.s, page.c, page.k`,
        ),
      };
      this.#byShape.set(shape, statements);
    }
    return statements;
  }
}

function toGapView(row: GapRow, asOf: number): GapView {
  const gap: Gap = {
    kind: row.kind,
    key: row.gap_key,
    subjectId: row.subject_id,
    fromUnitId: row.from_unit_id,
    toUnitId: row.to_unit_id,
    relativeId: row.relative_id,
    startedMs: row.started_ms,
    endedMs: row.ended_ms,
    dueMs: row.due_ms,
  };
  const g = gapAsOf(gap, asOf)!;
  return {
    kind: g.kind,
    citizenId: row.citizen_id,
    fromUnitId: g.fromUnitId,
    toUnitId: g.toUnitId,
    relativeId: g.relativeId,
    subjectId: g.subjectId,
    startedAt: formatCopenhagenInstant(g.startedMs),
    endedAt: g.endedMs === null ? null : formatCopenhagenInstant(g.endedMs),
    dueAt: g.dueMs === null ? null : formatCopenhagenInstant(g.dueMs),
    durationDays: g.durationDays,
    open: g.open,
    overdue: g.overdue,
  };
}
