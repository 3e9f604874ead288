/**
 * The flow source contract (flowSourceContract.ts) on real SQLite read models, in memory.
 */
import { SqliteReadModel } from '../sqlite/sqliteReadModel.ts';
import { flowSourceContract } from './flowSourceContract.ts';
import { sqliteFlowQueries } from './sqliteFlowSource.ts';

flowSourceContract('SQLite', {
  open: async (options) => {
    const model = new SqliteReadModel({ file: ':memory:', ...options });
    const count = model.database.prepare<[number], number>('SELECT count(*) FROM handovers WHERE initiated_ms < ?').pluck(true);
    return {
      applyBatch: (events) => model.applyBatch(events),
      flows: sqliteFlowQueries(model, { units: options.projection.units }),
      handoversInitiatedBefore: async (ms) => count.get(ms)!,
      close: () => model.close(),
    };
  },
});
