/**
 * Liveness and readiness probes.
 *
 * `GET /healthz`: the process is up and its event loop answers. It checks nothing else on purpose: a
 * liveness failure gets the process restarted, and a restart does not fix a database that is down.
 *
 * `GET /readyz`: every named readiness check passes (event store open, projections caught up, …), so the
 * instance may receive traffic. 503 otherwise, naming which checks failed and nothing more: no error
 * messages, which could carry connection strings or data. A check that throws, rejects, answers anything
 * but `true`, or takes longer than `timeoutMs` has failed; the reason goes to the log only.
 *
 * Checks run concurrently. Probe requests are logged only at warn and above, so they do not drown the log.
 */
import type { FastifyPluginAsync } from 'fastify';

export type ReadinessCheck = () => Promise<boolean> | boolean;

export interface HealthPluginOptions {
  /** Named readiness checks; names appear in the /readyz answer. */
  checks: Record<string, ReadinessCheck>;
  /** A check still running after this long has failed; default 2000 ms. */
  timeoutMs?: number;
}

export type CheckStatus = 'ok' | 'failed';

export interface ReadinessResponse {
  status: 'ready' | 'not ready';
  checks: Record<string, CheckStatus>;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

const readinessSchema = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not ready'] },
    checks: { type: 'object', additionalProperties: { type: 'string', enum: ['ok', 'failed'] } },
  },
  additionalProperties: false,
} as const;

export const healthPlugin: FastifyPluginAsync<HealthPluginOptions> = async (app, options) => {
  const checks = Object.entries(options.checks ?? {});
  for (const [name, check] of checks) {
    if (!NAME.test(name)) throw new TypeError('healthPlugin: check names must be 1–64 characters of A–Z, a–z, 0–9, ".", "_" or "-"');
    if (typeof check !== 'function') throw new TypeError(`healthPlugin: check ${name} must be a function`);
  }
  const timeoutMs = options.timeoutMs ?? 2000;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new TypeError('healthPlugin: timeoutMs must be a positive integer');

  const probe = { logLevel: 'warn' as const };

  app.get(
    '/healthz',
    {
      ...probe,
      schema: {
        response: { 200: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } }, additionalProperties: false } },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return { status: 'ok' as const };
    },
  );

  app.get('/readyz', { ...probe, schema: { response: { 200: readinessSchema, 503: readinessSchema } } }, async (request, reply) => {
    const results = await Promise.all(
      checks.map(async ([name, check]): Promise<[string, CheckStatus]> => {
        const outcome = await runCheck(check, timeoutMs);
        if (outcome !== true) request.log.warn({ check: name, reason: outcome.reason, err: outcome.error }, 'readiness check failed');
        return [name, outcome === true ? 'ok' : 'failed'];
      }),
    );
    const ready = results.every(([, status]) => status === 'ok');
    const body: ReadinessResponse = { status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) };
    reply.header('cache-control', 'no-store');
    return reply.code(ready ? 200 : 503).send(body);
  });
};

type Outcome = true | { reason: 'false' | 'threw' | 'timeout'; error?: unknown };

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ reason: 'timeout' }), timeoutMs);
    timer.unref();
  });
  const run = (async (): Promise<Outcome> => {
    try {
      return (await check()) === true ? true : { reason: 'false' };
    } catch (error) {
      return { reason: 'threw', error };
    }
  })();
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
