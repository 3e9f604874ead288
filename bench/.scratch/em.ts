import { getSQLiteEventStore, sqliteConnection } from '@event-driven-io/emmett-sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
const dir = mkdtempSync(join('/tmp', 'em-'));
const file = join(dir, 'e.sqlite');
console.log('execArgv', process.execArgv);
const store = getSQLiteEventStore({ fileName: file });
const N = Number(process.argv[2] ?? 500);
let t = performance.now();
for (let i = 0; i < N; i++) {
  await store.appendToStream(`c-x${i % 50}`, [{ type: 'CaseOpened', data: { caseId: 'k' + i, unitId: 'u' } }]);
}
let dt = performance.now() - t;
console.log('seq', N, (N / dt * 1000).toFixed(0), '/s');
const conn = sqliteConnection({ fileName: file });
console.log(await conn.query('PRAGMA synchronous'), await conn.query('PRAGMA journal_mode'));
conn.close();
// concurrent
t = performance.now();
let ok = 0, fail = 0; const errs = new Map<string, number>();
await Promise.all(Array.from({ length: 64 }, async (_, w) => {
  for (let i = 0; i < N / 64; i++) {
    try { await store.appendToStream(`c-w${w}`, [{ type: 'CaseOpened', data: { caseId: 'k' + i, unitId: 'u' } }]); ok++; }
    catch (e) { fail++; const m = String((e as Error).message).slice(0, 80); errs.set(m, (errs.get(m) ?? 0) + 1); }
  }
}));
dt = performance.now() - t;
console.log('conc', ok, fail, (ok / dt * 1000).toFixed(0), '/s', errs);
const c2 = sqliteConnection({ fileName: file });
console.log(await c2.query('SELECT count(*) n FROM emt_messages'));
c2.close();
rmSync(dir, { recursive: true, force: true });
