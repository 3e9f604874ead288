import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStore } from '@tracker/event-store';
import { ADULT, CHILD, YOUTH, citizenId, fact, startHarness, type Harness } from './testing/harness.ts';

interface RecordedEvent {
  eventId: string;
  type: string;
  citizenId: string;
  occurredAt: string;
  recordedAt: string;
  unitId: string | null;
  unitIds: string[];
  summary: string;
}

const EVENT_RECORDED = `subscription ($citizenId: ID, $unitId: ID) {
  eventRecorded(citizenId: $citizenId, unitId: $unitId) { eventId type citizenId occurredAt recordedAt unitId unitIds summary }
}`;

const TIMEOUT_MS = 10_000;

/**
 * Opens an SSE subscription on a real socket and hands back its first `next` event. Resolves `opened`
 * once the response headers arrived; everything is bounded by TIMEOUT_MS and aborted by `close`.
 */
function subscribe(url: string, variables: Record<string, unknown>) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no event within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  const response = fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: EVENT_RECORDED, variables }),
    signal: controller.signal,
  });
  const first = (async (): Promise<{ contentType: string | null; event: RecordedEvent }> => {
    const res = await response;
    expect(res.status).toBe(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended before an event arrived');
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = message.split('\n');
        if (!lines.includes('event: next')) continue;
        const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        const payload = JSON.parse(data) as { data?: { eventRecorded: RecordedEvent }; errors?: unknown };
        expect(payload.errors).toBeUndefined();
        return { contentType: res.headers.get('content-type'), event: payload.data!.eventRecorded };
      }
    }
  })();
  first.catch(() => {}); // observed by the test; never an unhandled rejection
  return {
    opened: response.then(() => undefined),
    first,
    close: () => {
      clearTimeout(timer);
      controller.abort();
    },
  };
}

/**
 * Appends events, one round after another, until the subscriber has something: the stream may need
 * a moment after its headers before it listens. Returns the ids appended.
 */
async function appendUntil<T>(first: Promise<T>, round: () => Promise<string[]>): Promise<{ result: T; appended: Set<string> }> {
  const appended = new Set<string>();
  let settled = false;
  const result = first.finally(() => (settled = true));
  while (!settled) {
    for (const id of await round()) appended.add(id);
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 100))]);
  }
  return { result: await result, appended };
}

describe('GraphQL subscriptions (Server-Sent Events)', () => {
  let h: Harness;
  let url: string;
  const storeSubscriptions: number[] = [];

  beforeAll(async () => {
    h = await startHarness({
      // Counts the store subscriptions the plugin makes (the projector has its own, on the real store).
      store: (store) =>
        new Proxy(store, {
          get(target, prop: keyof EventStore) {
            if (prop === 'subscribeToAll') {
              return (...args: Parameters<EventStore['subscribeToAll']>) => {
                storeSubscriptions.push(args[0].after);
                return target.subscribeToAll(...args);
              };
            }
            const value = target[prop];
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
    });
    url = `${await h.app.listen({ port: 0, host: '127.0.0.1' })}/graphql`;
  });
  afterAll(async () => h?.close());

  it('delivers an event stored after subscribing, for the citizen asked about only', async () => {
    const id = citizenId('live');
    const other = citizenId('other');
    await h.append([fact(id, 'CitizenRegistered', '2020-01-01T09:00:00+01:00', { birthDate: '2007-01-01', municipality: '0751', disability: false })]);
    const before = await h.store.headPosition();

    const stream = subscribe(url, { citizenId: id });
    try {
      await stream.opened;
      let n = 0;
      const { result, appended } = await appendUntil(stream.first, async () => {
        n++;
        // Another citizen's event first: it must not reach this subscriber.
        await h.append([fact(other, 'CaseOpened', '2025-03-01T09:00:00+01:00', { caseId: `x${n}`, unitId: CHILD })]);
        const { json } = await h.gql(
          `mutation ($c: ID!, $caseId: ID!) { openCase(citizenId: $c, input: { caseId: $caseId, unitId: "${YOUTH}" }) { events { eventId } } }`,
          { c: id, caseId: `k${n}` },
        );
        return (json.data?.openCase as { events: { eventId: string }[] }).events.map((e) => e.eventId);
      });
      expect(result.contentType).toMatch(/^text\/event-stream/);
      expect(appended.has(result.event.eventId)).toBe(true);
      expect(result.event).toMatchObject({ type: 'CaseOpened', citizenId: id, unitId: YOUTH, unitIds: [YOUTH], summary: 'Case k1 opened at Ungeenheden (15–23 år)' });
      const stored = (await h.store.readAll({ after: before })).find((e) => e.id === result.event.eventId);
      expect(stored).toMatchObject({ citizenId: id, occurredAt: result.event.occurredAt, recordedAt: result.event.recordedAt });
    } finally {
      stream.close();
    }
  });

  it('keeps events naming a unit on either side, and fans one store subscription out to every client', async () => {
    const manager = subscribe(url, { unitId: ADULT });
    const everyone = subscribe(url, {});
    try {
      await Promise.all([manager.opened, everyone.opened]);
      const id = citizenId('unit');
      let n = 0;
      const { result } = await appendUntil(Promise.all([manager.first, everyone.first]), async () => {
        n++;
        const events = [
          fact(id, 'CaseOpened', '2025-03-01T09:00:00+01:00', { caseId: `k${n}`, unitId: CHILD }),
          fact(id, 'HandoverInitiated', '2025-03-02T09:00:00+01:00', { handoverId: `h${n}`, fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
        ];
        await h.append(events);
        return events.map((e) => e.id);
      });
      const [forManager, forEveryone] = result;
      expect(forManager.event).toMatchObject({ type: 'HandoverInitiated', citizenId: id, unitId: YOUTH, unitIds: [YOUTH, ADULT] });
      expect(forEveryone.event.citizenId).toBe(id);

      // One store subscription, made from the head when the plugin started, whatever the number of clients.
      expect(storeSubscriptions).toEqual([0]);
    } finally {
      manager.close();
      everyone.close();
    }
  });
});

describe('closing the server', () => {
  it('ends open event streams, so the server is not held open by its subscribers', async () => {
    const h = await startHarness({ forceCloseConnections: false });
    try {
      const url = `${await h.app.listen({ port: 0, host: '127.0.0.1' })}/graphql`;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: EVENT_RECORDED }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const ended = (async () => {
        const reader = response.body!.getReader();
        while (!(await reader.read()).done);
        return 'ended';
      })();
      const started = Date.now();
      await h.app.close();
      expect(await ended).toBe('ended');
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await h.close();
    }
  });
});
