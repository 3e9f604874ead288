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
import { citizenScopeSqliteNamed, scopeShape } from '@tracker/security';
import type { DataScope, Page, PageRequest } from '../queries.ts';
import { ANOMALIES_TABLE, GAPS_TABLE, OPEN_UNTIL, RELATIVES_TABLE } from './gapsDerivation.ts';
import type { AnomalyCountScope, AnomalyCountView, AnomalyView, CitizenGapFilter, GapFilter, GapQueries, GapView, RelativeContactView, RelativeView } from './gapQueries.ts';

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
  readonly #prepared = new Map<string, Database.Statement>();

  /** `database` is SqliteReadModel#database, built with gapsDerivation among its derived models. */
  constructor(database: Database.Database) {
    this.#db = database;
  }

  /** A statement prepared once per SQL text (the scope's condition changes the text only by its shape). */
  #prepare(sql: string): Database.Statement {
    let statement = this.#prepared.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#prepared.set(sql, statement);
    }
    return statement;
  }

  /** One citizen's rows of a table, with the scope ANDed in: `sql` receives the condition over citizen_id. */
  #citizenRows<R>(scope: DataScope, params: Record<string, unknown>, sql: (inScope: string) => string): R[] {
    const inScope = citizenScopeSqliteNamed(scope, { citizenColumn: 'citizen_id' });
    return this.#prepare(sql(inScope.sql)).all({ ...params, ...inScope.params }) as R[];
  }

  async gaps(filter: GapFilter, page: PageRequest, scope: DataScope): Promise<Page<GapView>> {
    const inScope = citizenScopeSqliteNamed(scope, { citizenColumn: 'citizen_id' });
    const { count, page: pageStatement } = this.#statementsFor(filter, scope, inScope.sql);
    const params: Record<string, unknown> = { asOf: filter.asOf, ...inScope.params };
    if (filter.unitId !== undefined) params.unitId = filter.unitId;
    if (filter.kind !== undefined) params.kind = filter.kind;
    const totalCount = (count.get(params) as { n: number }).n;
    const rows = pageStatement.all({ ...params, limit: page.first + 1, offset: page.offset }) as GapRow[];
    return { nodes: rows.slice(0, page.first).map((r) => toGapView(r, filter.asOf)), totalCount, hasNextPage: rows.length > page.first };
  }

  // One citizen's rows are found by citizen_id; the unary + keeps SQLite's planner (which has no
  // statistics here) from preferring the wide kind/is_primary indexes and scanning every citizen.

  async citizenGaps(citizenId: string, asOf: number, filter: CitizenGapFilter, scope: DataScope): Promise<GapView[]> {
    return this.#citizenRows<GapRow>(
      scope,
      { citizenId, asOf },
      (inScope) => `SELECT ${GAP_COLUMNS} FROM ${GAPS_TABLE} WHERE citizen_id = :citizenId AND +is_primary = 1 AND started_ms <= :asOf AND ${inScope} ORDER BY started_ms, gap_key`,
    )
      .map((r) => toGapView(r, asOf))
      .filter((g) => (filter.kind === undefined || g.kind === filter.kind) && (filter.open === undefined || g.open === filter.open));
  }

  async relatives(citizenId: string, asOf: number, scope: DataScope): Promise<RelativeView[]> {
    const factRows = this.#citizenRows<{
      fact: 'linked' | 'representation';
      relative_id: string;
      at_ms: number;
      relation: string | null;
      custody: number | null;
      custody_ends_ms: number | null;
      basis: string | null;
    }>(
      scope,
      { citizenId, asOf },
      (inScope) =>
        `SELECT fact, relative_id, at_ms, relation, custody, custody_ends_ms, basis FROM ${RELATIVES_TABLE} WHERE citizen_id = :citizenId AND at_ms <= :asOf AND ${inScope} ORDER BY at_ms, rowid`,
    );
    const facts: RelativeFact[] = factRows.map((r) =>
      r.fact === 'linked'
        ? { kind: 'linked', relativeId: r.relative_id, ms: r.at_ms, relation: r.relation ?? 'other', custody: r.custody === 1, custodyEndsMs: r.custody_ends_ms }
        : { kind: 'representation', relativeId: r.relative_id, ms: r.at_ms, basis: r.basis ?? '' },
    );
    const contacts = new Map<string, RelativeContactView[]>();
    const contactRows = this.#citizenRows<GapRow>(
      scope,
      { citizenId, asOf },
      (inScope) => `SELECT ${GAP_COLUMNS} FROM ${GAPS_TABLE}
         WHERE citizen_id = :citizenId AND +is_primary = 1 AND +kind = 'RELATIVE_UNANSWERED' AND relative_id IS NOT NULL AND started_ms <= :asOf AND ${inScope}
         ORDER BY started_ms, gap_key`,
    );
    for (const row of contactRows) {
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

  async anomalies(citizenId: string, asOf: number, scope: DataScope): Promise<AnomalyView[]> {
    const rows = this.#citizenRows<{ kind: StreamAnomalyKind; event_id: string; event_type: string; occurred_ms: number; source: string | null; subject_id: string | null }>(
      scope,
      { citizenId, asOf },
      (inScope) =>
        `SELECT kind, event_id, event_type, occurred_ms, source, subject_id FROM ${ANOMALIES_TABLE} WHERE citizen_id = :citizenId AND occurred_ms <= :asOf AND ${inScope} ORDER BY occurred_ms, rowid`,
    );
    return rows.map((r) => ({
      kind: r.kind,
      eventId: r.event_id,
      eventType: r.event_type,
      occurredAt: formatCopenhagenInstant(r.occurred_ms),
      source: r.source,
      subjectId: r.subject_id,
      description: ANOMALY_DESCRIPTIONS[r.kind],
    }));
  }

  async anomalyCounts(asOf: number, { scope, sources, minCitizens = 1 }: AnomalyCountScope): Promise<AnomalyCountView[]> {
    const inScope = citizenScopeSqliteNamed(scope, { citizenColumn: 'citizen_id' });
    const bySource = sources === undefined ? '1 = 1' : 'source IN (SELECT value FROM json_each(:sources))';
    const rows = this.#prepare(
      `SELECT source, kind, count(*) AS n, count(DISTINCT citizen_id) AS citizens FROM ${ANOMALIES_TABLE}
       WHERE occurred_ms <= :asOf AND ${inScope.sql} AND ${bySource} GROUP BY source, kind ORDER BY source, kind`,
    ).all({ asOf, ...inScope.params, ...(sources === undefined ? {} : { sources: JSON.stringify(sources) }) }) as {
      source: string | null;
      kind: StreamAnomalyKind;
      n: number;
      citizens: number;
    }[];
    return rows.filter((r) => r.citizens >= minCitizens).map((r) => ({ source: r.source, kind: r.kind, count: r.n }));
  }

  /**
   * One prepared pair per combination of filters: the WHERE clause differs, the parameters are named.
   * The page is chosen on index keys alone (rowid and the order columns), then only its rows are read.
   * For open gaps the keys come from two ranges merged in order: the gaps without an end (one
   * until_ms value, so already in page order in the index: the LIMIT stops the scan) and those that
   * end after asOf (few for a recent asOf; sorted).
   */
  #statementsFor(filter: GapFilter, dataScope: DataScope, inScope: string) {
    const shape = [filter.unitId !== undefined, filter.kind !== undefined, filter.open, filter.overdue, scopeShape(dataScope)].join(':');
    let statements = this.#byShape.get(shape);
    if (!statements) {
      const scope = [filter.unitId !== undefined ? 'unit_id = :unitId' : 'is_primary = 1', 'started_ms <= :asOf', inScope];
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
