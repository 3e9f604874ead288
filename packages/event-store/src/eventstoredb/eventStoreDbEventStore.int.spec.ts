/**
 * The EventStoreDB / KurrentDB event store against a real server: EVENTSTORE_URL when set (an `esdb://`
 * connection string), else a throw-away server started with testcontainers when a Docker engine
 * answers, else skipped with the reason. The contract suite runs unchanged; each run uses a stream
 * category of its own, so runs against a shared server do not see each other's streams.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type * as Testcontainers from 'testcontainers';
import { eventStoreContract } from '../contract/eventStoreContract.ts';
import { caseOpened } from '../contract/testEvents.ts';
import { EventStoreDbEventStore } from './eventStoreDbEventStore.ts';

const NO_EVENTSTORE = 'no EventStoreDB: set EVENTSTORE_URL or run where Docker exists';

type Server = { url: string; stop(): Promise<void>; skipped?: undefined } | { url?: undefined; skipped: string };

async function eventStoreDb(): Promise<Server> {
  const fromEnvironment = process.env.EVENTSTORE_URL;
  if (fromEnvironment) return { url: fromEnvironment, stop: async () => {} };
  let testcontainers: typeof Testcontainers;
  try {
    testcontainers = await import('testcontainers');
    await testcontainers.getContainerRuntimeClient();
  } catch {
    return { skipped: NO_EVENTSTORE };
  }
  const container = await new testcontainers.GenericContainer(process.env.EVENTSTORE_IMAGE ?? 'eventstore/eventstore:24.10')
    .withEnvironment({
      EVENTSTORE_INSECURE: 'true',
      EVENTSTORE_MEM_DB: 'true',
      EVENTSTORE_RUN_PROJECTIONS: 'None',
      EVENTSTORE_ENABLE_ATOM_PUB_OVER_HTTP: 'false',
      // KurrentDB images read the same settings under their new prefix.
      KURRENTDB_INSECURE: 'true',
      KURRENTDB_MEM_DB: 'true',
      KURRENTDB_RUN_PROJECTIONS: 'None',
    })
    .withExposedPorts(2113)
    .withWaitStrategy(testcontainers.Wait.forHttp('/health/live', 2113).forStatusCodeMatching((status) => status >= 200 && status < 300))
    .start();
  return {
    url: `esdb://${container.getHost()}:${container.getMappedPort(2113)}?tls=false`,
    stop: async () => {
      await container.stop();
    },
  };
}

const server = await eventStoreDb();
if (server.skipped !== undefined) console.error(`EventStoreDbEventStore tests skipped: ${server.skipped}`);
const category = `t${randomBytes(5).toString('hex')}`;

afterAll(async () => {
  if (server.skipped === undefined) await server.stop();
});

(server.skipped === undefined ? describe : describe.skip)(`EventStoreDB event store${server.skipped ? ` (${server.skipped})` : ''}`, () => {
  eventStoreContract('EventStoreDB', async () => {
    const store = await EventStoreDbEventStore.open({ connectionString: server.url!, category });
    return { store, dispose: () => store.close() };
  });

  describe('EventStoreDbEventStore', () => {
    it('keeps citizen streams apart from claim and system streams: readAll and the head see citizen events only', async () => {
      const store = await EventStoreDbEventStore.open({ connectionString: server.url!, category: `${category}x` });
      try {
        const { appended } = await store.appendBatch([caseOpened('c-1'), caseOpened('c-2')]);
        expect(await store.headPosition()).toBe(appended[1]!.globalPosition);
        expect((await store.readAll()).map((e) => e.id)).toEqual(appended.map((e) => e.id));
      } finally {
        await store.close();
      }
    });
  });
});

describe('EventStoreDbEventStore without a server', () => {
  it('refuses a connection string that client 6 cannot parse, and a category with a dash', async () => {
    await expect(EventStoreDbEventStore.open({ connectionString: 'kurrentdb://localhost:2113' })).rejects.toThrow(/esdb:\/\//);
    await expect(EventStoreDbEventStore.open({ connectionString: 'esdb://localhost:2113?tls=false', category: 'a-b' })).rejects.toThrow(TypeError);
  });

  it('refuses event ids that are not UUIDs before connecting', async () => {
    const store = await EventStoreDbEventStore.open({ connectionString: 'esdb://127.0.0.1:1?tls=false' });
    try {
      await expect(store.appendBatch([{ ...caseOpened('c-1'), id: 'not-a-uuid' }])).rejects.toThrow(/index 0: id must be a UUID/);
    } finally {
      await store.close();
    }
  });
});
