import { getSQLiteEventStore, sqliteConnection, appendToStream, createEventStoreSchema } from '@event-driven-io/emmett-sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
const log = console.log; console.log = () => {};
const dir = mkdtempSync(join('/tmp', 'em-'));
const file = join(dir, 'e.sqlite');
const conn = sqliteConnection({ fileName: file });
await createEventStoreSchema(conn);
const N = Number(process.argv[2] ?? 2000);
let t = performance.now();
for (let i = 0; i < N; i++) await appendToStream(conn, `c-x${i % 50}`, 'c', [{ type: 'CaseOpened', data: { caseId: 'k' + i, unitId: 'u' } }]);
let dt = performance.now() - t;
log('long-lived seq', (N / dt * 1000).toFixed(0), '/s');
t = performance.now();
let ok = 0, fail = 0;
await Promise.all(Array.from({ length: 64 }, async (_, w) => {
  for (let i = 0; i < N / 64; i++) {
    try { await appendToStream(conn, `c-w${w}`, 'c', [{ type: 'CaseOpened', data: { caseId: 'k' + i, unitId: 'u' } }]); ok++; } catch { fail++; }
  }
}));
dt = performance.now() - t;
log('long-lived 64', ok, fail, (ok / dt * 1000).toFixed(0), '/s');
conn.close();
// 64 instances
const stores = Array.from({ length: 64 }, () => getSQLiteEventStore({ fileName: file }));
t = performance.now(); ok = 0; fail = 0;
const errs = new Map<string, number>();
await Promise.all(stores.map(async (s, w) => {
  for (let i = 0; i < N / 64; i++) {
    try { await s.appendToStream(`c-v${w}`, [{ type: 'CaseOpened', data: { caseId: 'k' + i, unitId: 'u' } }]); ok++; } catch (e) { fail++; const m = String((e as Error).message).slice(0, 60); errs.set(m, (errs.get(m) ?? 0) + 1); }
  }
}));
dt = performance.now() - t;
log('64 instances', ok, fail, (ok / dt * 1000).toFixed(0), '/s', errs);
rmSync(dir, { recursive: true, force: true });
