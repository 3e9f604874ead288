/**
 * HTTP load from a worker thread: the requests' client side (fetch, i.e. undici, keep-alive) runs on the
 * second core, not on the event loop of the server being measured. The worker is plain JavaScript (eval),
 * so it needs no TypeScript loader.
 */
import { Worker } from 'node:worker_threads';
import { summarize, type Summary } from './harness.ts';

export interface HttpLoadOptions {
  url: string;
  /** Request bodies (JSON), sent once each in order; the first `warmup` are not measured. */
  bodies: string[];
  warmup: number;
  concurrency: number;
  /** Checked on every response; a failing check counts the request as an error. */
  expect: 'ingest' | 'graphql';
}

export interface HttpLoadResult {
  requests: number;
  elapsedMs: number;
  latencyMs: Summary;
  errors: number;
  firstError: string | undefined;
  /** Sum of "appended" of the ingestion answers (measured requests only). */
  appended: number;
  /** Mean response size in bytes. */
  responseBytes: number;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, bodies, warmup, concurrency, expect } = workerData;
async function send(body) {
  const t0 = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await response.text();
  const ms = performance.now() - t0;
  let ok = response.status === 200, appended = 0, problem;
  try {
    const json = JSON.parse(text);
    if (expect === 'ingest') appended = json.appended ?? 0;
    if (expect === 'graphql' && json.errors) { ok = false; problem = JSON.stringify(json.errors).slice(0, 300); }
  } catch { ok = false; }
  if (!ok && !problem) problem = response.status + ' ' + text.slice(0, 300);
  return { ms, ok, appended, bytes: text.length, problem };
}
async function phase(from, to, record) {
  let next = from;
  const latencies = [];
  let errors = 0, appended = 0, bytes = 0, firstError;
  async function client() {
    while (next < to) {
      const r = await send(bodies[next++]);
      if (!record) continue;
      latencies.push(r.ms); appended += r.appended; bytes += r.bytes;
      if (!r.ok) { errors++; firstError ??= r.problem; }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, client));
  return { latencies, errors, appended, bytes, firstError };
}
(async () => {
  await phase(0, warmup, false);
  const t0 = performance.now();
  const r = await phase(warmup, bodies.length, true);
  parentPort.postMessage({ ...r, elapsedMs: performance.now() - t0 });
})().catch((e) => parentPort.postMessage({ fatal: String(e && e.stack || e) }));
`;

export function httpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: options, execArgv: [] });
    worker.once('error', reject);
    worker.once('message', (m: { fatal?: string; latencies: number[]; errors: number; appended: number; bytes: number; firstError?: string; elapsedMs: number }) => {
      void worker.terminate();
      if (m.fatal) return reject(new Error(`http client: ${m.fatal}`));
      resolve({
        requests: m.latencies.length,
        elapsedMs: m.elapsedMs,
        latencyMs: summarize(m.latencies),
        errors: m.errors,
        firstError: m.firstError,
        appended: m.appended,
        responseBytes: m.latencies.length ? m.bytes / m.latencies.length : 0,
      });
    });
  });
}
