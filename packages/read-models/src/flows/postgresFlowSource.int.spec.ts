/**
 * The flow source contract (flowSourceContract.ts) on real PostgreSQL read models, each in a fresh
 * schema dropped afterwards (DATABASE_URL, else testcontainers, else skipped with the reason).
 */
import { afterAll, describe } from 'vitest';
import { dropSchema, freshSchemaName, reportSkipped, testDatabase } from '@tracker/event-store/testing';
import { PostgresReadModel } from '../postgres/postgresReadModel.ts';
import { flowSourceContract } from './flowSourceContract.ts';
import { postgresFlowQueries } from './postgresFlowSource.ts';

const database = await testDatabase();
const { skipped } = database;
if (skipped !== undefined) reportSkipped('PostgresFlowSource tests', skipped);
const schemas: string[] = [];

afterAll(async () => {
  if (database.skipped !== undefined) return;
  for (const schema of schemas) await dropSchema(database.url, schema);
  await database.stop();
});

(skipped === undefined ? describe : describe.skip)(`PostgreSQL flow source${skipped !== undefined ? ` (${skipped})` : ''}`, () => {
  flowSourceContract('PostgreSQL', {
    open: async (options) => {
      const schema = freshSchemaName();
      schemas.push(schema);
      const model = await PostgresReadModel.open({ connectionString: database.url!, schema, ...options });
      return {
        applyBatch: (events) => model.applyBatch(events),
        flows: postgresFlowQueries(model, { units: options.projection.units }),
        handoversInitiatedBefore: async (ms) => {
          const [row] = await model.query<{ n: number }>(`SELECT count(*) AS n FROM "${schema}".handovers WHERE initiated_ms < $1`, [ms]);
          return row!.n;
        },
        close: () => model.close(),
      };
    },
  });
});
