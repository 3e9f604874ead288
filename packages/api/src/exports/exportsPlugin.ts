/**
 * Process-mining exports over HTTP (docs/exports.md): `GET /v1/exports/xes` and `GET /v1/exports/ocel`.
 *
 * The documents are streamed: the read models hand over text chunks citizen by citizen, and the
 * response pulls the next chunk only when the socket has taken the last one (Node stream
 * backpressure), so exporting the whole kommune holds one page of citizens in memory, not the
 * document. A client that hangs up ends the export and releases its snapshot.
 *
 * One encapsulated plugin (NOT wrapped with fastify-plugin): its error handler stays in its scope.
 * Bad query parameters are answered 400 naming the parameter, never echoing its value.
 *
 * Security (docs/security.md): exports are bulk citizen-level data, for administrators only
 * (`export.data`, checked against `request.principal` from authPlugin; no principal is refused). The
 * export is read within the grant's data scope, and every citizen it holds is appended to the access
 * log — all of them, durably, before the first byte is sent; the export then holds exactly those.
 */
import { Readable } from 'node:stream';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Instant, MunicipalityCode, type Clock } from '@tracker/domain';
import type { ExportFilter, ExportStats, ExportStream, TransitionExports } from '@tracker/read-models';
import { AuthenticationError, authorize, isSecurityError, type AccessLog } from '@tracker/security';
import { sendSecurityRefusal } from '../auth/authPlugin.ts';
import { MAX_PURPOSE_LENGTH, PURPOSE_HEADER, purposeOf } from '../graphql/authorization.ts';

export const EXPORT_PATHS = { xes: '/v1/exports/xes', ocel: '/v1/exports/ocel' } as const;
export type ExportFormat = keyof typeof EXPORT_PATHS;

export interface ExportsPluginOptions {
  exports: TransitionExports;
  /** The configured units (a `UnitDirectory` is one): `unitId` must name one. */
  units: { isKnownUnit(id: string): boolean };
  /** `to` defaults to its now, and a later `to` is cut to now. */
  clock: Clock;
  /** Exports running at once (default 2); more are answered 503 with Retry-After. */
  maxConcurrentExports?: number;
  /** Every exported citizen is recorded here before the export is sent. */
  accessLog: AccessLog;
}

export interface ExportQueryError {
  /** The query parameter, or `(query)` for the query as a whole. */
  parameter: string;
  message: string;
}

export interface ExportErrorResponse {
  error: 'invalid query';
  errors: ExportQueryError[];
}

const PARAMETERS = ['from', 'to', 'unitId', 'municipality', 'birthYearFrom', 'birthYearTo'] as const;
const Year = z.string().regex(/^\d{4}$/, 'must be a year YYYY');

const QuerySchema = z.object({
  from: Instant.optional(),
  to: Instant.optional(),
  unitId: z.string().optional(),
  municipality: MunicipalityCode.optional(),
  birthYearFrom: Year.optional(),
  birthYearTo: Year.optional(),
});

type Checked = { ok: true; filter: ExportFilter } | { ok: false; errors: ExportQueryError[] };

/** The query's parameters as an export filter, or every problem with them. */
export function exportFilterOf(query: unknown, units: ExportsPluginOptions['units'], now: number): Checked {
  const errors: ExportQueryError[] = [];
  const raw = (query ?? {}) as Record<string, unknown>;
  const single: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!(PARAMETERS as readonly string[]).includes(name)) {
      // Named when it is plainly a parameter name; anything else could be data typed in the wrong place.
      errors.push({ parameter: /^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(name) ? name : '(query)', message: `is not a parameter of this export; use ${PARAMETERS.join(', ')}` });
    } else if (Array.isArray(value)) {
      errors.push({ parameter: name, message: 'must be given once' });
    } else if (typeof value === 'string') {
      single[name] = value;
    }
  }
  const parsed = QuerySchema.safeParse(single);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) errors.push({ parameter: String(issue.path[0] ?? '(query)'), message: issue.message });
  }
  if (errors.length > 0 || !parsed.success) return { ok: false, errors };

  const q = parsed.data;
  if (q.unitId !== undefined && !units.isKnownUnit(q.unitId)) {
    errors.push({ parameter: 'unitId', message: 'is not a configured unit; units come from the units configuration' });
  }
  const fromMs = q.from === undefined ? undefined : Date.parse(q.from);
  const toMs = q.to === undefined ? now : Date.parse(q.to);
  if (fromMs !== undefined && !(fromMs < toMs)) errors.push({ parameter: 'from', message: 'must be earlier than to' });
  const birthYearFrom = q.birthYearFrom === undefined ? undefined : Number(q.birthYearFrom);
  const birthYearTo = q.birthYearTo === undefined ? undefined : Number(q.birthYearTo);
  if (birthYearFrom !== undefined && birthYearTo !== undefined && birthYearFrom > birthYearTo) {
    errors.push({ parameter: 'birthYearFrom', message: 'must not be after birthYearTo' });
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    filter: {
      ...(fromMs === undefined ? {} : { fromMs }),
      // Nothing is exported ahead of time: a later `to` is cut to now.
      toMs: Math.min(toMs, now),
      ...(q.unitId === undefined ? {} : { unitId: q.unitId }),
      ...(q.municipality === undefined ? {} : { municipality: q.municipality }),
      ...(birthYearFrom === undefined ? {} : { birthYearFrom }),
      ...(birthYearTo === undefined ? {} : { birthYearTo }),
    },
  };
}

const FORMATS = {
  xes: { contentType: 'application/xml; charset=utf-8', filename: 'transitions.xes' },
  ocel: { contentType: 'application/json; charset=utf-8', filename: 'transitions.ocel.json' },
} as const;

const errorsSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['parameter', 'message'],
        properties: { parameter: { type: 'string' }, message: { type: 'string' } },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
} as const;

export const exportsPlugin: FastifyPluginAsync<ExportsPluginOptions> = async (app, options) => {
  const { exports, units, clock } = options;
  const maxConcurrent = options.maxConcurrentExports ?? 2;
  if (!exports || typeof exports.xes !== 'function' || typeof exports.citizenIds !== 'function') throw new TypeError('exportsPlugin: options.exports is required');
  if (!units || typeof units.isKnownUnit !== 'function') throw new TypeError('exportsPlugin: options.units is required');
  const { accessLog } = options;
  if (!accessLog || typeof accessLog.recordAll !== 'function') throw new TypeError('exportsPlugin: options.accessLog is required');
  if (!Number.isSafeInteger(maxConcurrent) || maxConcurrent < 1) throw new TypeError('exportsPlugin: options.maxConcurrentExports must be a positive integer');
  let running = 0;
  const streaming = new Set<Readable>();
  // Shutdown does not wait for a long export: its response is cut off (the client sees a broken
  // connection, not a complete-looking document) and its snapshot released.
  app.addHook('preClose', async () => {
    for (const readable of streaming) readable.destroy();
  });

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    request.log.error({ err: error }, 'export failed');
    return reply.code(500).send({ error: 'internal error' });
  });

  const route = (format: ExportFormat) =>
    app.get(
      EXPORT_PATHS[format],
      // HEAD would run the whole export only to throw the body away.
      { exposeHeadRoute: false, schema: { response: { 400: errorsSchema, 503: errorsSchema, 500: errorsSchema } } },
      async (request, reply) => {
        let grant;
        try {
          if (!request.principal) throw new AuthenticationError('missing_token');
          grant = authorize(request.principal, 'export.data');
        } catch (error) {
          if (!isSecurityError(error)) throw error;
          request.log.info({ format, reason: error.reason, security: true }, 'export refused');
          return sendSecurityRefusal(reply, error, false);
        }
        const checked = exportFilterOf(request.query, units, clock.now().getTime());
        const purpose = purposeOf(request);
        if (purpose === undefined) {
          const message = `must be one header of at most ${MAX_PURPOSE_LENGTH} characters, without a CPR number`;
          if (checked.ok) return reply.code(400).send({ error: 'invalid query', errors: [{ parameter: PURPOSE_HEADER, message }] } satisfies ExportErrorResponse);
          checked.errors.push({ parameter: PURPOSE_HEADER, message });
        }
        if (!checked.ok) {
          request.log.info({ format, problems: checked.errors.length }, 'export refused');
          const answer: ExportErrorResponse = { error: 'invalid query', errors: checked.errors };
          return reply.code(400).send(answer);
        }
        if (running >= maxConcurrent) {
          return reply.code(503).header('retry-after', '30').send({ error: 'too many exports are running; try again later' });
        }
        // The slot is taken before the first await, so exports starting at once cannot overrun the limit.
        running++;
        let stream: ExportStream;
        let first: IteratorResult<string, ExportStats>;
        try {
          // Who is in it, logged before anything of it is sent; then exactly those are exported.
          const citizenIds = await exports.citizenIds(checked.filter, grant.scope);
          const principal = request.principal!;
          await accessLog.recordAll(
            citizenIds.map((citizenId) => ({ actor: principal.subject, actorRole: grant.role, citizenId, operation: grant.operation, purpose })),
          );
          const filter: ExportFilter = { ...checked.filter, citizenIds };
          stream = format === 'xes' ? exports.xes(filter, grant.scope) : exports.ocel(filter, grant.scope);
          // The first chunk is read before answering, so a failure to open the snapshot is a 500, not a cut-off 200.
          first = await stream.next();
        } catch (error) {
          running--;
          throw error;
        }
        const started = performance.now();
        const log = request.log;
        let finished = false;
        async function* body(): AsyncGenerator<string, void, undefined> {
          let stats: ExportStats;
          if (first.done) stats = first.value;
          else {
            yield first.value;
            stats = yield* stream;
          }
          finished = true;
          log.info({ format, ...stats, ms: Math.round(performance.now() - started) }, 'export finished');
        }
        const readable = Readable.from(body(), { objectMode: false, highWaterMark: 64 * 1024 });
        readable.once('error', (error) => log.error({ err: error, format }, 'export failed while streaming'));
        // 'close' comes after the end, an error, or the client hanging up — even before the first read.
        streaming.add(readable);
        readable.once('close', () => {
          streaming.delete(readable);
          running--;
          if (!finished) {
            // End the export and release its snapshot (after a read still under way, if any).
            stream.return({ citizens: 0, events: 0 }).then(
              () => log.info({ format, ms: Math.round(performance.now() - started) }, 'export ended before its end'),
              (error: unknown) => log.error({ err: error, format }, 'export failed to release its snapshot'),
            );
          }
        });
        const { contentType, filename } = FORMATS[format];
        return reply
          .header('content-type', contentType)
          .header('content-disposition', `attachment; filename="${filename}"`)
          .header('cache-control', 'no-store')
          .header('x-content-type-options', 'nosniff')
          .send(readable);
      },
    );
  route('xes');
  route('ocel');
};
