/**
 * citizen-query: `citizen(id, asOf)` with its timeline, responsibilities and handovers, on the read
 * models of the generated population (default 100 000 citizens), three ways:
 * - through the real HTTP endpoint (`startTracker` on the data folder, POST /graphql from a client in a
 *   worker thread), sequential requests after a warm-up: the number the target is about;
 * - through fastify without a socket (`app.inject`): GraphQL + fastify, no TCP / HTTP parsing;
 * - the read-model calls alone, in process (what the resolvers call for that query).
 * Citizens and asOf instants (within the 3 years before the histories' end) are drawn at random (seeded).
 */
import { now, summarize, watchStalls, type Benchmark, type Metric, type Summary } from './harness.ts';
import { ALL_UNITS, DATASET_NOW, baseReadModelOptions, citizenIdOf, demoUnits, ensureEventStore, ensureTrackerReadModel, removeReadModel, startBenchTracker } from './dataset.ts';
import { httpLoad } from './httpClient.ts';
import { Random, SqliteReadModel } from './workspace.ts';

const TARGET_P99_MS = 5;
const YEAR_MS = 365.25 * 86_400_000;

const QUERY = `query Citizen($id: ID!, $asOf: DateTime) {
  citizen(id: $id, asOf: $asOf) {
    id
    birthDate
    timeline { eventId type occurredAt recordedAt unitId summary }
    responsibilities { caseId unitId openedAt closedAt }
    handovers { id status fromUnitId toUnitId kind initiatedAt resolvedAt dueAt overdue }
  }
}`;

interface Ask {
  id: string;
  asOf: string;
}

function asks(count: number, citizens: number, seed: number): Ask[] {
  const random = new Random(seed);
  return Array.from({ length: count }, () => ({
    id: citizenIdOf(random.int(0, citizens - 1)),
    asOf: new Date(DATASET_NOW.getTime() - random.float(0, 3 * YEAR_MS)).toISOString(),
  }));
}

const body = (a: Ask) => JSON.stringify({ query: QUERY, variables: { id: a.id, asOf: a.asOf } });

const run: Benchmark = async ({ quick, citizens, runDir, log }) => {
  const dataset = await ensureEventStore(runDir, citizens, log);
  await ensureTrackerReadModel(dataset, log);
  const warmup = quick ? 100 : 300;
  const measured = quick ? 400 : 3_000;
  const metrics: Metric[] = [];
  const notes: string[] = [];

  const t0 = now();
  const tracker = await startBenchTracker(dataset.dir);
  const startMs = now() - t0;
  let injectLatency: Summary;
  try {
    const head = await tracker.store.headPosition();
    if (tracker.projector.position() !== head) notes.push(`the tracker's read models were at ${tracker.projector.position()} of ${head} after start`);
    log(`tracker started on ${dataset.events} events in ${(startMs / 1000).toFixed(1)} s; ${measured} sequential requests …`);

    const { value: http, stalls } = await watchStalls(() =>
      httpLoad({ url: `${tracker.url}/graphql`, bodies: asks(warmup + measured, citizens, 11).map(body), warmup, concurrency: 1, expect: 'graphql' }),
    );
    if (http.errors) notes.push(`${http.errors} GraphQL requests failed; first: ${http.firstError}`);
    metrics.push({
      case: 'citizen(id, asOf) over HTTP, sequential',
      value: http.latencyMs.p99,
      unit: 'ms p99',
      dist: http.latencyMs,
      distLabel: 'latency ms',
      target: { cmp: '<=', value: TARGET_P99_MS, on: 'p99' },
      extra: { 'response bytes (mean)': Math.round(http.responseBytes), 'tracker start': `${(startMs / 1000).toFixed(1)} s`, ...stalls },
    });
    log(`HTTP: p50 ${http.latencyMs.p50.toFixed(2)} ms, p99 ${http.latencyMs.p99.toFixed(2)} ms`);

    const latencies: number[] = [];
    for (const [i, a] of asks(warmup + measured, citizens, 12).entries()) {
      const t = now();
      const response = await tracker.app.inject({ method: 'POST', url: '/graphql', headers: { 'content-type': 'application/json' }, payload: body(a) });
      if (i >= warmup) latencies.push(now() - t);
      if (response.statusCode !== 200) throw new Error(`app.inject: ${response.statusCode} ${response.body.slice(0, 200)}`);
    }
    injectLatency = summarize(latencies);
  } finally {
    await tracker.close();
  }
  metrics.push({ case: 'the same through app.inject (no socket)', value: injectLatency.p99, unit: 'ms p99', dist: injectLatency, distLabel: 'latency ms' });

  // The same HTTP requests with LOG_LEVEL=warn: what the two request log lines (with redaction) cost.
  const quiet = await startBenchTracker(dataset.dir, 'warn');
  try {
    const http = await httpLoad({ url: `${quiet.url}/graphql`, bodies: asks(warmup + measured, citizens, 14).map(body), warmup, concurrency: 1, expect: 'graphql' });
    metrics.push({ case: 'the same over HTTP with LOG_LEVEL=warn', value: http.latencyMs.p99, unit: 'ms p99', dist: http.latencyMs, distLabel: 'latency ms' });
  } finally {
    await quiet.close();
  }

  // The read-model calls the resolvers make for this query, alone (a fresh connection, the tracker closed).
  // SqliteReadModel stamps its own configuration into the file, so the tracker would rebuild it next time:
  // this is the last use of these read models in the run.
  const readModel = new SqliteReadModel({ file: dataset.readModelFile, ...baseReadModelOptions(demoUnits()) });
  try {
    const latencies: number[] = [];
    let timelineEntries = 0;
    for (const [i, a] of asks(warmup + measured, citizens, 13).entries()) {
      const asOf = Date.parse(a.asOf);
      const t = now();
      const view = await readModel.citizen(a.id, asOf, ALL_UNITS);
      if (view) {
        const [timeline] = await Promise.all([
          readModel.timeline(a.id, asOf, ALL_UNITS),
          readModel.responsibilities(a.id, asOf, ALL_UNITS),
          readModel.citizenHandovers(a.id, asOf, ALL_UNITS),
        ]);
        if (i >= warmup) timelineEntries += timeline.length;
      }
      if (i >= warmup) latencies.push(now() - t);
    }
    const d = summarize(latencies);
    metrics.push({
      case: 'read-model calls alone, in process',
      value: d.p99,
      unit: 'ms p99',
      dist: d,
      distLabel: 'latency ms',
      extra: { 'timeline entries per answer (mean)': timelineEntries / measured },
    });
  } finally {
    readModel.close();
    removeReadModel(dataset);
  }
  notes.push(`${measured} measured after ${warmup} warm-up requests, one at a time; asOf uniform over the 3 years before the histories end`);
  return { metrics, notes };
};

export default run;
