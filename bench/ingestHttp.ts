/**
 * ingest-http: batch ingestion over HTTP into the real tracker (`startTracker`, demo off, temp data
 * folder, port 0): `POST /v1/events` with 500 generated events per request (generateEvents on the demo
 * units) from a few concurrent clients. The clients (fetch/undici, keep-alive) run in a worker thread so
 * the server's event loop has its core; the bodies are serialised before timing. The projector runs as in
 * production (it follows the store while ingestion goes on); the time until the read models have caught
 * up is reported too.
 */
import { join } from 'node:path';
import { freshDir, now, rate, removeDir, type Benchmark, type Metric } from './harness.ts';
import { demoUnits, generated, startBenchTracker } from './dataset.ts';
import { httpLoad } from './httpClient.ts';
import { SqliteEventStore, validateEvent, type TransitionEvent } from './workspace.ts';

const BATCH = 500;
const CLIENTS = 4;
const WARMUP_REQUESTS = 10;

const run: Benchmark = async ({ quick, runDir, log }) => {
  const citizens = quick ? 1_500 : 12_000;
  const units = demoUnits();
  const bodies: string[] = [];
  let batch: unknown[] = [];
  for (const event of generated(citizens, units, 500_000)) {
    batch.push(event);
    if (batch.length === BATCH) {
      bodies.push(JSON.stringify({ events: batch }));
      batch = [];
    }
  }
  const events = (bodies.length - WARMUP_REQUESTS) * BATCH;
  log(`${bodies.length} requests of ${BATCH} events (${citizens} citizens), ${CLIENTS} clients`);

  const dir = freshDir(runDir, 'ingest');
  const tracker = await startBenchTracker(dir);
  const metrics: Metric[] = [];
  const notes: string[] = [];
  try {
    const statsBefore = tracker.store.stats();
    const result = await httpLoad({ url: `${tracker.url}/v1/events`, bodies, warmup: WARMUP_REQUESTS, concurrency: CLIENTS, expect: 'ingest' });
    const tEnd = now();
    const stats = tracker.store.stats();
    const head = await tracker.store.headPosition();
    await tracker.projector.waitFor(head, { timeoutMs: 600_000 });
    const catchUpMs = now() - tEnd;
    if (result.errors > 0) notes.push(`${result.errors} requests failed; first: ${result.firstError}`);
    if (result.appended !== events) notes.push(`expected ${events} appended events, the answers say ${result.appended}`);
    const commits = stats.commits - statsBefore.commits;
    const appends = stats.appendsCommitted - statsBefore.appendsCommitted;
    metrics.push({
      case: `POST /v1/events, ${BATCH} events/request, ${CLIENTS} clients`,
      value: rate(result.appended, result.elapsedMs),
      unit: 'events/s',
      dist: result.latencyMs,
      distLabel: 'request latency ms',
      extra: {
        requests: result.requests,
        'requests/s': rate(result.requests, result.elapsedMs),
        'batches per commit (mean)': appends / Math.max(1, commits),
        'read models caught up after': `${(catchUpMs / 1000).toFixed(1)} s`,
      },
    });
    metrics.push({
      case: 'ingested and projected (until the read models are current)',
      value: rate(result.appended, result.elapsedMs + catchUpMs),
      unit: 'events/s',
    });
    log(`${rate(result.appended, result.elapsedMs).toFixed(0)} events/s, p50 ${result.latencyMs.p50.toFixed(1)} ms p99 ${result.latencyMs.p99.toFixed(1)} ms`);
  } finally {
    await tracker.close();
    removeDir(dir);
  }

  // The same batches without HTTP: what validation costs per event, and appendBatch alone.
  const parsed = bodies.slice(WARMUP_REQUESTS).map((b) => (JSON.parse(b) as { events: unknown[] }).events);
  let t = now();
  let valid = 0;
  for (const batch of parsed) for (const e of batch) if (validateEvent(e, units).ok) valid++;
  const validateMs = now() - t;
  const direct = freshDir(runDir, 'ingest-direct');
  const store = await SqliteEventStore.open({ file: join(direct, 'events.sqlite') });
  try {
    let next = 0;
    t = now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < parsed.length) await store.appendBatch(parsed[next++] as TransitionEvent[]);
      }),
    );
    const appendMs = now() - t;
    metrics.push({
      case: `appendBatch alone, in process (same batches, ${CLIENTS} concurrent)`,
      value: rate(events, appendMs),
      unit: 'events/s',
      extra: { 'validateEvent alone': `${((1000 * validateMs) / (valid || 1)).toFixed(1)} µs/event (${rate(valid, validateMs).toFixed(0)} events/s)` },
    });
  } finally {
    await store.close();
    removeDir(direct);
  }
  notes.push(`${events} events measured after ${WARMUP_REQUESTS} warm-up requests; LOG_LEVEL=info into a sink; the projector runs concurrently, as in production`);
  return { metrics, notes };
};

export default run;
