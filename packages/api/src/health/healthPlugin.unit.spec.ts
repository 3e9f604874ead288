import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { healthPlugin, type HealthPluginOptions } from './healthPlugin.ts';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function serve(options: HealthPluginOptions): Promise<FastifyInstance> {
  const app = Fastify();
  apps.push(app);
  await app.register(healthPlugin, options);
  await app.ready();
  return app;
}

describe('healthPlugin', () => {
  it('GET /healthz answers 200 ok even when a readiness check fails', async () => {
    const app = await serve({ checks: { eventStore: () => false } });
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('GET /readyz answers 200 when every check passes', async () => {
    const app = await serve({ checks: { eventStore: async () => true, units: () => true } });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { eventStore: 'ok', units: 'ok' } });
  });

  it('GET /readyz is ready with no checks', async () => {
    const app = await serve({ checks: {} });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready', checks: {} });
  });

  it('GET /readyz answers 503 naming the failed checks and nothing else', async () => {
    const app = await serve({
      checks: {
        eventStore: async () => {
          throw new Error('SQLITE_CANTOPEN /data/events.sqlite citizen 0101901234');
        },
        projections: async () => false,
        slow: () => new Promise<boolean>(() => {}),
        units: () => true,
      },
      timeoutMs: 50,
    });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'not ready', checks: { eventStore: 'failed', projections: 'failed', slow: 'failed', units: 'ok' } });
    expect(res.body).not.toMatch(/SQLITE|sqlite|0101901234/);
  });

  it('treats a truthy non-boolean answer as a failure', async () => {
    const app = await serve({ checks: { odd: (() => 'yes') as unknown as () => boolean } });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
  });

  it('refuses check names that are not plain identifiers', async () => {
    const app = Fastify();
    apps.push(app);
    await expect(app.register(healthPlugin, { checks: { 'has space': () => true } }).ready()).rejects.toThrow(/check names/);
  });
});
