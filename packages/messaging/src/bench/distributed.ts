/**
 * Distributed mode under load, on the real engines (DATABASE_URL, KAFKA_BROKERS):
 *
 *   npx tsx packages/messaging/src/bench/distributed.ts [--rates 250,500,1000,2000] [--seconds 20]
 *       [--burst 20000] [--relay-events 50000] [--projectors 1] [--batch 50]
 *
 * 1. Relay throughput: a fresh PostgreSQL event store filled with `--relay-events` events, then one
 *    relay (in this process) publishes them all to Kafka; events per second until its checkpoint is at
 *    the head (acks = all, idempotent producer, checkpoint written per batch).
 * 2. Sustained ingestion through Kafka: the services run as their own processes (ingest, relay,
 *    `--projectors` projectors, api — `tsx services/<name>/src/main.ts`, as in production); this process
 *    produces ingestion requests (`--batch` events per message) to transitions.ingest.v1 at each rate for
 *    `--seconds`, and notes when every event becomes visible in the read models the API answers from.
 *    End-to-end lag = visible − produced: ingest consumer → append → relay → events topic → projector →
 *    committed read-model transaction. Visibility is observed through a trigger the benchmark adds to the
 *    timeline table (rows it inserts are read, and deleted, by a poller every 25 ms once committed), so
 *    it costs the API nothing; at the end a sample of citizens is read back through GraphQL.
 * 3. Burst: `--burst` events produced at once; the time until all are visible gives the sustained
 *    maximum of the pipeline.
 *
 * Everything runs in schemas and topics of its own (`bench_<hex>`, `bench-<hex>.`), removed at the end.
 * Numbers in docs/distributed.md ("Benchmarks").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { DEMO_UNITS_FILE, loadUnitsFile, type TransitionEvent } from '@tracker/domain';
import { PostgresEventStore } from '@tracker/event-store';
import { generateCitizens } from '@tracker/generator';
import { createLogger } from '@tracker/platform';
import { createKafka, createOrderedProducer, ensureTopics, withAdmin } from '../kafka/kafkaClient.ts';
import { ensureMessagingTables } from '../postgres/messagingTables.ts';
import { PostgresRelayLeases } from '../postgres/relayLease.ts';
import { EventRelay } from '../relay/eventRelay.ts';
import { topicNames, topicSpecs } from '../topics.ts';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const units = loadUnitsFile(DEMO_UNITS_FILE);

interface Args {
  rates: number[];
  seconds: number;
  burst: number;
  relayEvents: number;
  projectors: number;
  batch: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rates: [250, 500, 1000, 2000], seconds: 20, burst: 20_000, relayEvents: 50_000, projectors: 1, batch: 50 };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1] ?? '';
    switch (argv[i]) {
      case '--rates':
        args.rates = value.split(',').map(Number).filter((n) => n > 0);
        break;
      case '--seconds':
        args.seconds = Number(value);
        break;
      case '--burst':
        args.burst = Number(value);
        break;
      case '--relay-events':
        args.relayEvents = Number(value);
        break;
      case '--projectors':
        args.projectors = Number(value);
        break;
      case '--batch':
        args.batch = Number(value);
        break;
      default:
        continue;
    }
    i++;
  }
  return args;
}

const log = (message: string) => console.error(`[bench] ${message}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Citizens' histories, endlessly: each call gives the next citizens' events, in stream order. */
function eventSource(prefix: string) {
  let next = 0;
  let pending: TransitionEvent[] = [];
  return (n: number): TransitionEvent[] => {
    while (pending.length < n) {
      for (const citizen of generateCitizens({ seed: 11, citizens: 200, startIndex: next, units, now: new Date('2025-06-01T00:00:00Z'), idPrefix: prefix })) {
        pending.push(...citizen.events);
      }
      next += 200;
    }
    const out = pending.slice(0, n);
    pending = pending.slice(n);
    return out;
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

// ------------------------------------------------------------------------------------------------ 1

async function relayThroughput(url: string, brokers: string[], events: number): Promise<{ events: number; seconds: number; perSecond: number }> {
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const prefix = `bench-${randomBytes(5).toString('hex')}.`;
  const topics = topicNames(prefix);
  const logger = createLogger({ level: 'warn' });
  const kafka = createKafka({ brokers, clientId: 'bench-relay', logger });
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const store = await PostgresEventStore.open({ connectionString: url, schema });
  let producer: Producer | undefined;
  try {
    await ensureMessagingTables(pool, schema);
    await withAdmin(kafka, (admin) => ensureTopics(admin, topicSpecs(topics, { partitions: 3 })));
    const source = eventSource('relay');
    for (let done = 0; done < events; done += 1000) await store.appendBatch(source(Math.min(1000, events - done)));
    log(`relay: ${events} events stored; publishing`);
    producer = createOrderedProducer(kafka);
    await producer.connect();
    const relay = new EventRelay({ store, producer, topic: topics.events, leases: new PostgresRelayLeases(pool, schema, topics.events), source: 'urn:bench', logger, batchSize: 1000 });
    const started = performance.now();
    relay.start();
    await relay.caughtUp();
    const seconds = (performance.now() - started) / 1000;
    await relay.stop();
    return { events, seconds, perSecond: events / seconds };
  } finally {
    await producer?.disconnect();
    await store.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
    await withAdmin(kafka, async (admin) => admin.deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(prefix)) }));
  }
}

// ------------------------------------------------------------------------------------------------ 2, 3

interface Services {
  children: ChildProcess[];
  apiUrl: string;
}

async function startServices(env: Record<string, string>, projectors: number, portBase: number): Promise<Services> {
  const names = ['ingest', 'relay', ...Array.from({ length: projectors }, () => 'projector'), 'api'];
  const children: ChildProcess[] = [];
  const urls: string[] = [];
  for (const [i, name] of names.entries()) {
    const port = portBase + i;
    const child = spawn(process.execPath, ['--import', 'tsx', `services/${name}/src/main.ts`], {
      cwd: REPO,
      env: { ...process.env, ...env, PORT: String(port), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    urls.push(`http://127.0.0.1:${port}`);
    // One at a time: the projector decides its generation, the api opens the read models.
    await waitReady(`http://127.0.0.1:${port}`, name, child);
  }
  return { children, apiUrl: urls[urls.length - 1]! };
}

async function waitReady(url: string, name: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${name} was not ready within 90 s`);
}

class VisibilityWatch {
  readonly produced = new Map<string, number>();
  readonly lags: number[] = [];
  visible = 0;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  static async install(pool: pg.Pool, schema: string): Promise<VisibilityWatch> {
    const q = `"${schema}"`;
    await pool.query(`CREATE UNLOGGED TABLE IF NOT EXISTS ${q}.bench_seen (event_id text NOT NULL)`);
    await pool.query(`CREATE OR REPLACE FUNCTION ${q}.bench_seen() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO ${q}.bench_seen (event_id) VALUES (NEW.event_id); RETURN NULL; END $$`);
    await pool.query(`CREATE TRIGGER bench_seen AFTER INSERT ON ${q}.timeline FOR EACH ROW EXECUTE FUNCTION ${q}.bench_seen()`);
    const watch = new VisibilityWatch(pool, schema);
    watch.#timer = setInterval(() => void watch.#poll(), 25);
    return watch;
  }

  async #poll(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      // Only committed rows are visible, and each is read once (deleted as read): nothing is skipped.
      const { rows } = await this.pool.query<{ event_id: string }>(`DELETE FROM "${this.schema}".bench_seen RETURNING event_id`);
      const now = performance.now();
      for (const { event_id } of rows) {
        const at = this.produced.get(event_id);
        if (at === undefined) continue;
        this.produced.delete(event_id);
        this.lags.push(now - at);
        this.visible++;
      }
    } finally {
      this.#busy = false;
    }
  }

  async until(visible: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.visible < visible) {
      if (Date.now() > deadline) return false;
      await sleep(25);
    }
    return true;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

interface PhaseResult {
  phase: string;
  offered: number;
  events: number;
  seconds: number;
  visiblePerSecond: number;
  p50: number;
  p99: number;
  max: number;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const url = process.env.DATABASE_URL;
  const brokers = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  if (!url || brokers.length === 0) {
    console.error('set DATABASE_URL and KAFKA_BROKERS (infra/postgres/setup.sh, infra/kafka/kafka.sh start)');
    process.exit(2);
  }
  log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);

  const relay = await relayThroughput(url, brokers, args.relayEvents);
  log(`relay: ${relay.events} events in ${relay.seconds.toFixed(1)} s = ${Math.round(relay.perSecond)} events/s`);

  const run = randomBytes(5).toString('hex');
  const eventSchema = `bench_${run}_es`;
  const readSchema = `bench_${run}_rm`;
  const prefix = `bench-${run}.`;
  const env = {
    DATABASE_URL: url,
    KAFKA_BROKERS: brokers.join(','),
    EVENT_STORE_SCHEMA: eventSchema,
    READ_MODEL_SCHEMA: readSchema,
    KEY_STORE_SCHEMA: `bench_${run}_keys`,
    ACCESS_LOG_SCHEMA: `bench_${run}_audit`,
    // Ingest encrypts personal data and the API decrypts it, under one key for the run.
    PERSONAL_DATA_KEK: randomBytes(32).toString('base64'),
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_TOPIC_PARTITIONS: '3',
    HOST: '127.0.0.1',
  };
  const pool = new pg.Pool({ connectionString: url, max: 3 });
  const kafka = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  let services: Services | undefined;
  const results: PhaseResult[] = [];
  try {
    log(`starting ingest, relay, ${args.projectors} projector(s), api as processes`);
    services = await startServices(env, args.projectors, 47_100 + Math.floor(Math.random() * 500) * 8);
    const watch = await VisibilityWatch.install(pool, readSchema);
    await producer.connect();
    const source = eventSource(`b${run}`);
    const topic = `${prefix}transitions.ingest.v1`;

    /** Produces `events` events as ingestion requests of about `--batch` events, one citizen per key. */
    const produce = async (events: TransitionEvent[]) => {
      const messages: { key: string; value: string }[] = [];
      for (let i = 0; i < events.length; i += args.batch) {
        const slice = events.slice(i, i + args.batch);
        messages.push({ key: slice[0]!.citizenId, value: JSON.stringify({ events: slice }) });
      }
      const at = performance.now();
      for (const e of events) watch.produced.set(e.id.toLowerCase(), at);
      await producer.send({ topic, messages });
    };

    // Warm-up: JIT, connections, the consumer groups' first fetches.
    await produce(source(500));
    if (!(await watch.until(500, 60_000))) throw new Error('warm-up events did not become visible');
    watch.lags.length = 0;

    for (const rate of args.rates) {
      const before = watch.visible;
      const lagsBefore = watch.lags.length;
      const tickMs = 100;
      const perTick = (rate * tickMs) / 1000;
      let owed = 0;
      let sent = 0;
      const started = performance.now();
      while (performance.now() - started < args.seconds * 1000) {
        owed += perTick;
        const n = Math.floor(owed);
        owed -= n;
        if (n > 0) {
          await produce(source(n));
          sent += n;
        }
        const next = started + ((Math.floor((performance.now() - started) / tickMs) + 1) * tickMs);
        await sleep(Math.max(0, next - performance.now()));
      }
      const drained = await watch.until(before + sent, 120_000);
      const seconds = (performance.now() - started) / 1000;
      const lags = watch.lags.slice(lagsBefore).sort((a, b) => a - b);
      results.push({
        phase: `${rate}/s for ${args.seconds} s${drained ? '' : ' (not drained in 120 s)'}`,
        offered: rate,
        events: sent,
        seconds,
        visiblePerSecond: (watch.visible - before) / seconds,
        p50: percentile(lags, 50),
        p99: percentile(lags, 99),
        max: lags[lags.length - 1] ?? NaN,
      });
      log(`rate ${rate}/s: ${JSON.stringify(results[results.length - 1])}`);
    }

    if (args.burst > 0) {
      const before = watch.visible;
      const lagsBefore = watch.lags.length;
      const started = performance.now();
      for (let done = 0; done < args.burst; done += 5000) await produce(source(Math.min(5000, args.burst - done)));
      const drained = await watch.until(before + args.burst, 300_000);
      const seconds = (performance.now() - started) / 1000;
      const lags = watch.lags.slice(lagsBefore).sort((a, b) => a - b);
      results.push({
        phase: `burst of ${args.burst}${drained ? '' : ' (not drained in 300 s)'}`,
        offered: NaN,
        events: args.burst,
        seconds,
        visiblePerSecond: (watch.visible - before) / seconds,
        p50: percentile(lags, 50),
        p99: percentile(lags, 99),
        max: lags[lags.length - 1] ?? NaN,
      });
      log(`burst: ${JSON.stringify(results[results.length - 1])}`);
    }
    watch.stop();

    // GraphQL answers what the watch saw: a sample of citizens, read back through the API.
    const { rows } = await pool.query<{ citizen_id: string; n: string }>(
      `SELECT citizen_id, count(*) AS n FROM "${readSchema}".timeline GROUP BY citizen_id ORDER BY random() LIMIT 20`,
    );
    for (const row of rows) {
      const response = await fetch(`${services.apiUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'query ($id: ID!) { citizen(id: $id, asOf: "2100-01-01T00:00:00Z") { timeline { eventId } } }', variables: { id: row.citizen_id } }),
      });
      const body = (await response.json()) as { data?: { citizen: { timeline: unknown[] } | null } };
      if (body.data?.citizen?.timeline.length !== Number(row.n)) throw new Error(`GraphQL disagrees with the read models for a citizen`);
    }
    log(`GraphQL sample of ${rows.length} citizens agrees with the read models`);

    const print = (line = '') => process.stdout.write(`${line}\n`);
    const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} ms` : '–');
    print(`\nDistributed mode on ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}; ${args.projectors} projector(s), ${args.batch} events per ingest message\n`);
    print(`relay to Kafka: ${relay.events} stored events in ${relay.seconds.toFixed(1)} s = ${Math.round(relay.perSecond)} events/s\n`);
    print('| load | events | visible/s | lag p50 | lag p99 | lag max |');
    print('|---|---|---|---|---|---|');
    for (const r of results) print(`| ${r.phase} | ${r.events} | ${Math.round(r.visiblePerSecond)} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} |`);
  } finally {
    await producer.disconnect().catch(() => {});
    for (const child of services?.children ?? []) child.kill('SIGTERM');
    await Promise.all((services?.children ?? []).map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await pool.query(`DROP SCHEMA IF EXISTS "${eventSchema}" CASCADE`).catch(() => {});
    await pool.query(`DROP SCHEMA IF EXISTS "${readSchema}" CASCADE`).catch(() => {});
    for (const schema of [env.KEY_STORE_SCHEMA, env.ACCESS_LOG_SCHEMA]) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await pool.end();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(prefix)) }).catch(() => {});
    await admin.disconnect();
  }
}

await main();
