/**
 * The gaps read model on SQLite: the adapter contract (gapQueriesContract.ts) on an in-memory
 * SqliteReadModel, then what only SQLite shows — the query plans behind the latency target.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import { gapQueriesContract, gapReadModelOptions } from './gapQueriesContract.ts';
import { SqliteGapQueries } from './sqliteGapQueries.ts';
import { ALL_UNITS } from '@tracker/security';

const ADULT = '0751-voksen-handicap';
const PAGE = { first: 100, offset: 0 };

gapQueriesContract('SQLite', async (options) => {
  const readModel = new SqliteReadModel({ file: ':memory:', ...options });
  return {
    apply: async (events) => readModel.applyBatch(events),
    queries: new SqliteGapQueries(readModel.database),
    close: async () => readModel.close(),
  };
});

describe('gaps read model (SQLite): query plans', () => {
  let readModel: SqliteReadModel;

  beforeEach(() => {
    readModel = new SqliteReadModel({ file: ':memory:', ...gapReadModelOptions });
  });
  afterEach(() => readModel.close());

  it('the open gaps of one unit are counted and paged inside its index, without sorting the open-ended ones', () => {
    const plan = (sql: string, params: Record<string, unknown>) =>
      (readModel.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((p) => p.detail);
    const sqls: string[] = [];
    const spy = new SqliteGapQueries(
      new Proxy(readModel.database, {
        get: (db, key) => (key === 'prepare' ? (sql: string) => (sqls.push(sql), db.prepare(sql)) : Reflect.get(db, key)),
      }),
    );
    void spy.gaps({ unitId: ADULT, open: true, asOf: 0 }, PAGE, ALL_UNITS);
    const [count, page] = sqls.slice(-2) as [string, string];
    expect(plan(count, { unitId: ADULT, asOf: 0 }).join(' ')).toMatch(/SEARCH gaps USING COVERING INDEX gaps_by_unit_id_until_ms\w* \(unit_id=\? AND until_ms>\?\)/);
    const steps = plan(page, { unitId: ADULT, asOf: 0, limit: 1, offset: 0 });
    expect(steps).toContain('MERGE (UNION ALL)');
    const openEnded = steps.findIndex((d) => d.includes('until_ms=?'));
    expect(steps[openEnded]).toMatch(/COVERING INDEX gaps_by_unit_id/);
    expect(steps[openEnded + 1]).toBe('RIGHT'); // no sort between the open-ended range and the other arm

    // One citizen's rows come through the citizen index, not a scan of a wide index, whatever the scope.
    for (const scope of [ALL_UNITS, { allUnits: false as const, units: [ADULT] }]) {
      sqls.length = 0;
      void spy.citizenGaps('c-1', 0, {}, scope);
      void spy.relatives('c-1', 0, scope);
      void spy.anomalies('c-1', 0, scope);
      const scopeParams = scope.allUnits ? {} : { scopeUnits: JSON.stringify(scope.units) };
      for (const sql of sqls.filter((q) => q.includes(':citizenId'))) {
        expect(plan(sql, { citizenId: 'c-1', asOf: 0, ...scopeParams }).join(' ')).toMatch(/USING INDEX (gaps|citizen_relatives|citizen_anomalies)_by_citizen \(citizen_id=\?\)/);
      }
      expect(sqls.filter((q) => q.includes(':citizenId'))).toHaveLength(4);
    }
  });
});
