import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { promisify } from 'node:util';
import { ManualClock } from '@tracker/domain';
import { createLogger, loadConfig } from '@tracker/platform';
import { startTracker, type RunningTracker } from './tracker.ts';

const run = promisify(execFile);
const clock = new ManualClock('2026-03-02T10:00:00+01:00');
const logger = createLogger({ level: 'silent' });
const dirs: string[] = [];
const trackers: RunningTracker[] = [];

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tracker-'));
  dirs.push(dir);
  return dir;
}

async function start(env: Record<string, string>): Promise<RunningTracker> {
  const tracker = await startTracker({ config: loadConfig({ PORT: '0', DEMO_CITIZENS: '25', ...env }), logger, clock });
  trackers.push(tracker);
  return tracker;
}

async function graphql(tracker: RunningTracker, query: string, variables?: Record<string, unknown>) {
  const response = await fetch(`${tracker.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads loosely shaped GraphQL answers
  return (await response.json()) as { data?: any; errors?: Array<{ message: string }> };
}

afterEach(async () => {
  for (const t of trackers.splice(0)) await t.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the embedded tracker', () => {
  it('loads the demo kommune into an empty data folder and answers citizen timelines', async () => {
    const tracker = await start({ DATA_DIR: dataDir() });
    expect((await fetch(`${tracker.url}/readyz`)).status).toBe(200);

    const { data } = await graphql(tracker, '{ handovers(first: 500) { totalCount edges { node { citizenId } } } }');
    expect(data.handovers.totalCount).toBeGreaterThan(0);
    const citizenId = data.handovers.edges[0].node.citizenId as string;
    const answer = await graphql(tracker, 'query($id: ID!) { citizen(id: $id) { id birthDate timeline { type occurredAt summary } handovers { status } } }', { id: citizenId });
    expect(answer.errors).toBeUndefined();
    expect(answer.data.citizen.timeline.length).toBeGreaterThan(2);
    expect(answer.data.citizen.timeline[0].type).toBe('CitizenRegistered');
    const times = answer.data.citizen.timeline.map((e: { occurredAt: string }) => Date.parse(e.occurredAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('stores ingested facts, keeps them across a restart and does not load the demo twice', async () => {
    const DATA_DIR = dataDir();
    const first = await start({ DATA_DIR });
    const head = await first.store.headPosition();
    const response = await fetch(`${first.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [
          { id: '0b9f3c1e-2f4a-4f7b-9a51-1b4c2d3e4f50', type: 'CaseOpened', citizenId: 'c-int-1', occurredAt: '2026-02-02T09:00:00+01:00', source: 'dubu', data: { caseId: 'k-1', unitId: '0751-ungeenhed' } },
        ],
      }),
    });
    expect(await response.json()).toEqual({ appended: 1, duplicates: 0 });
    await first.projector.waitFor(head + 1);
    await first.close();
    trackers.splice(trackers.indexOf(first), 1);

    const second = await start({ DATA_DIR });
    expect(await second.store.headPosition()).toBe(head + 1);
    const { data } = await graphql(second, '{ citizen(id: "c-int-1") { responsibilities { caseId unitId closedAt } } }');
    expect(data.citizen.responsibilities).toEqual([{ caseId: 'k-1', unitId: '0751-ungeenhed', closedAt: null }]);
  });

  it('finishes an in-flight request before shutting down, and flushes the store', async () => {
    const DATA_DIR = dataDir();
    const tracker = await start({ DATA_DIR, DEMO: 'off' });
    const body = JSON.stringify({
      events: [{ id: '5c0e7a3b-1d2e-4f60-8a9b-0c1d2e3f4a5b', type: 'ContactReceived', citizenId: 'c-int-2', occurredAt: '2026-02-03T09:00:00+01:00', data: { contactId: 'kt-1', unitId: '0751-modtagelse', from: 'citizen' } }],
    });
    const { port } = new URL(tracker.url);
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port, path: '/v1/events', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      });
      request.on('error', reject);
      // Shutdown begins once the server has the request but only half its body; then the rest arrives.
      tracker.app.server.once('request', () =>
        setImmediate(() => {
          closed = tracker.close();
          setImmediate(() => request.end(body.slice(20)));
        }),
      );
      request.write(body.slice(0, 20));
    });
    let closed: Promise<void> | undefined;
    expect(await answered).toEqual({ status: 200, text: JSON.stringify({ appended: 1, duplicates: 0 }) });
    await closed;
    trackers.splice(trackers.indexOf(tracker), 1);

    const reopened = await start({ DATA_DIR, DEMO: 'off' });
    expect(await reopened.store.headPosition()).toBe(1);
  });

  it('starts empty with DEMO=off', async () => {
    const tracker = await start({ DATA_DIR: dataDir(), DEMO: 'off' });
    expect(await tracker.store.headPosition()).toBe(0);
    expect((await graphql(tracker, '{ units { id } }')).data.units.length).toBeGreaterThan(5);
  });

  it('refuses a bad units file with the field and the reason', async () => {
    const dir = dataDir();
    const file = join(dir, 'units.json');
    writeFileSync(file, JSON.stringify({ units: [{ id: 'u1', name: 'X', administration: 'Y', sector: 'elderly', municipality: '0751' }] }));
    await expect(start({ DATA_DIR: dir, UNITS_FILE: file })).rejects.toThrow(/units\.0\.sector/);
  });
});

describe('the tracker command line', () => {
  const main = new URL('./main.ts', import.meta.url).pathname;
  const tsx = new URL('../node_modules/.bin/tsx', import.meta.url).pathname;

  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ DEMO: 'maybe' }, /DEMO/],
    [{ AUTH_MODE: 'none' }, /AUTH_MODE/],
  ])('exits with status 2 and names the variable for %o', async (env, variable) => {
    const failure = await run(tsx, [main], { env: { ...process.env, DATA_DIR: dataDir(), ...env } }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(variable);
  });

  it('exits with status 2 naming the line and the field when POLICIES_FILE is bad', async () => {
    const dir = dataDir();
    const file = join(dir, 'policies.json');
    writeFileSync(file, '{\n  "policies": [\n    { "id": "sel-108", "start": { "event": "CaseOpend" }, "stop": { "event": "DecisionMade" }, "limit": { "amount": 90, "unit": "workingDays" } }\n  ]\n}\n');
    const failure = await run(tsx, [main], { env: { ...process.env, DATA_DIR: dir, POLICIES_FILE: file } }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/policies\.json/);
    expect(failure?.stderr).toMatch(/line 3, column \d+ \(policies\.0\.start\.event\)/);
  });

  it('exits with status 2 naming the file when UNITS_FILE is bad', async () => {
    const dir = dataDir();
    const failure = await run(tsx, [main], { env: { ...process.env, DATA_DIR: dir, UNITS_FILE: join(dir, 'missing.json') } }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/missing\.json.*\n.*cannot be read: ENOENT/);
  });
});
