/**
 * Ingestion (design.md, "Public contracts"): `POST /v1/events` with `{"events": [ <envelope>, ... ]}`.
 *
 * Step 1 of the one-way flow: facts in → event store. All-or-nothing per request: every event is
 * validated against the catalog and the configured units before anything is stored; one bad event
 * refuses the whole batch with one entry per problem (index, field, message). A repeated event id,
 * whether already stored or repeated inside the request, is counted as a duplicate, not an error.
 *
 * Everything a client can get wrong is answered 400 in the same shape, including what fastify itself
 * refuses before the handler runs (malformed JSON, oversized body, wrong content type): this plugin
 * owns its content-type parser, body limit and error handler in its own encapsulated scope (it is NOT
 * wrapped with fastify-plugin), so none of that leaks into the rest of the server.
 *
 * Nothing a client sent is ever echoed back: an event may carry a CPR number or a name. Messages name
 * the field and the expectation only.
 *
 * Security (docs/security.md): only integrators and administrators may post (`ingest.events`, checked
 * against `request.principal` from authPlugin before the body is read: 401/403 otherwise), and an
 * integrator only events whose `source` is one of the source systems its token names (403, one error
 * per refused event, nothing stored). `store` is expected to encrypt personal data on append
 * (encryptingEventStore); an event with personal data for a citizen whose key was erased is refused.
 */
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { containsCpr, validateEvent, type TransitionEvent, type ValidationContext } from '@tracker/domain';
import type { EventStore } from '@tracker/event-store';
import { AuthenticationError, assertAllowed, checkEventSources, isSecurityError, PersonalDataErasedError } from '@tracker/security';
import { sendSecurityRefusal } from '../auth/authPlugin.ts';

export interface IngestionPluginOptions {
  store: EventStore;
  /** The configured units (a `UnitDirectory` is one); events naming any other unit are refused. */
  units: ValidationContext;
  /** Largest accepted request body, in bytes. */
  bodyLimitBytes: number;
  /** Most events accepted in one request. */
  maxEventsPerRequest: number;
}

/** One problem with a request: `index` is the event's position in `events`, or null for the body as a whole. */
export interface IngestionError {
  index: number | null;
  /** `(body)`, `events`, or a dotted path inside the event (e.g. `data.unitId`). */
  field: string;
  message: string;
}

export interface IngestionErrorResponse {
  /**
   * `invalid events` when events were refused, `invalid request` when the body itself was (both 400),
   * `events not permitted` when the principal may not post them (403: another source system's events).
   */
  error: 'invalid events' | 'invalid request' | 'events not permitted';
  errors: IngestionError[];
}

export interface IngestionResponse {
  /** Events stored by this request. */
  appended: number;
  /** Events whose id was already stored, or repeated earlier in the same request. */
  duplicates: number;
}

export const INGESTION_PATH = '/v1/events';

/** A refusal raised while reading the body (before the handler), answered 400 by the error handler. */
class BadRequestBody extends Error {
  readonly statusCode = 400;
  constructor(readonly errors: IngestionError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
    this.name = 'BadRequestBody';
  }
}

const bodyError = (message: string): IngestionError => ({ index: null, field: '(body)', message });

const BODY_SHAPE = 'a JSON object {"events": [ ... ]}';

/** The request shape (the events themselves are checked one by one by `validateEvent`). */
function requestSchema(maxEvents: number) {
  return z.strictObject(
    {
      events: z
        .array(z.unknown(), { error: (issue) => (issue.input === undefined ? 'is required' : 'must be an array of events') })
        .min(1, 'must contain at least one event')
        .max(maxEvents, `must contain at most ${maxEvents} events per request; split the batch`),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys' ? 'has unknown properties; only "events" is allowed' : `must be ${BODY_SHAPE}`,
    },
  );
}

const errorItemSchema = {
  type: 'object',
  required: ['index', 'field', 'message'],
  properties: { index: { type: ['integer', 'null'] }, field: { type: 'string' }, message: { type: 'string' } },
  additionalProperties: false,
} as const;

/** Response schemas: fast-json-stringify sends only the properties listed here. */
const responseSchemas = {
  200: {
    type: 'object',
    required: ['appended', 'duplicates'],
    properties: { appended: { type: 'integer' }, duplicates: { type: 'integer' } },
    additionalProperties: false,
  },
  400: {
    type: 'object',
    required: ['error', 'errors'],
    properties: { error: { type: 'string' }, errors: { type: 'array', items: errorItemSchema } },
    additionalProperties: false,
  },
  // The principal may not ingest at all (reason, message) or not these events (errors).
  '4xx': {
    type: 'object',
    required: ['error'],
    properties: {
      error: { type: 'string' },
      reason: { type: 'string' },
      message: { type: 'string' },
      operation: { type: 'string' },
      errors: { type: 'array', items: errorItemSchema },
    },
    additionalProperties: false,
  },
  '5xx': {
    type: 'object',
    required: ['error'],
    properties: { error: { type: 'string' } },
    additionalProperties: false,
  },
} as const;

/**
 * `validateEvent` names expectations, never values; the edge still drops anything quoted and replaces a
 * message that would carry a CPR number, so a future message that quotes input cannot leak it.
 */
function withoutEcho(message: string): string {
  const stripped = message.replace(/\s*'[^']*'/g, '');
  return containsCpr(stripped) ? 'is not valid' : stripped;
}

function checkOptions(options: IngestionPluginOptions): void {
  if (!options.store) throw new TypeError('ingestionPlugin: options.store is required');
  if (!options.units || typeof options.units.isKnownUnit !== 'function') throw new TypeError('ingestionPlugin: options.units is required');
  for (const key of ['bodyLimitBytes', 'maxEventsPerRequest'] as const) {
    if (!Number.isSafeInteger(options[key]) || options[key] < 1) throw new TypeError(`ingestionPlugin: options.${key} must be a positive integer`);
  }
}

export const ingestionPlugin: FastifyPluginAsync<IngestionPluginOptions> = async (app: FastifyInstance, options) => {
  checkOptions(options);
  const { store, units, bodyLimitBytes, maxEventsPerRequest } = options;
  const schema = requestSchema(maxEventsPerRequest);

  // Only JSON in UTF-8 is accepted here; any other content type finds no parser and fastify raises
  // FST_ERR_CTP_INVALID_MEDIA_TYPE, mapped to 400 below. Prototype-poisoning keys are refused.
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: bodyLimitBytes }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(new BadRequestBody([bodyError('content type must be application/json with charset utf-8')]), undefined);
      return;
    }
    parseJson(request, typeof body === 'string' ? body : body.toString('utf8'), done);
  });

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const refused = refusalOf(error, bodyLimitBytes);
    if (refused) {
      request.log.info({ code: error.code ?? error.name, problems: refused.length }, 'ingestion request refused');
      const answer: IngestionErrorResponse = { error: 'invalid request', errors: refused };
      return reply.code(400).send(answer);
    }
    request.log.error({ err: error }, 'ingestion failed');
    return reply.code(500).send({ error: 'internal error' });
  });

  // Who may post is decided before the body is even read.
  const mayIngest = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      if (!request.principal) throw new AuthenticationError('missing_token');
      assertAllowed(request.principal, 'ingest.events');
    } catch (error) {
      if (!isSecurityError(error)) throw error;
      request.log.info({ reason: error.reason, security: true }, 'ingestion refused');
      return sendSecurityRefusal(reply, error, false);
    }
  };

  app.post(INGESTION_PATH, { bodyLimit: bodyLimitBytes, schema: { response: responseSchemas }, onRequest: mayIngest }, async (request, reply) => {
    const checked = checkRequest(request.body, schema, units);
    if (!checked.ok) {
      const refusedEvents = new Set(checked.answer.errors.map((e) => e.index)).size;
      request.log.info({ refusedEvents, problems: checked.answer.errors.length }, 'ingestion batch refused');
      return reply.code(400).send(checked.answer);
    }
    // An integrator posts only as its own source systems (the token's sources claim); nothing is stored otherwise.
    const notPermitted = checkEventSources(request.principal!, checked.events);
    if (notPermitted.length > 0) {
      request.log.info({ refusedEvents: notPermitted.length, security: true }, 'ingestion batch refused: sources not permitted');
      const answer: IngestionErrorResponse = { error: 'events not permitted', errors: notPermitted };
      return reply.code(403).send(answer);
    }
    // A repeat inside the request is a duplicate of its first occurrence (validateEvent lower-cases ids).
    const seen = new Set<string>();
    const positions: number[] = [];
    const unique = checked.events.filter((event, index) => !seen.has(event.id) && seen.add(event.id) && positions.push(index) > 0);
    let result;
    try {
      result = await store.appendBatch(unique);
    } catch (error) {
      if (!(error instanceof PersonalDataErasedError)) throw error;
      const index = error.index === undefined ? null : (positions[error.index] ?? null);
      const answer: IngestionErrorResponse = { error: 'invalid events', errors: [{ index, field: 'data.personal', message: error.message }] };
      request.log.info({ refusedEvents: 1 }, 'ingestion batch refused: personal data of an erased citizen');
      return reply.code(400).send(answer);
    }
    const answer: IngestionResponse = {
      appended: result.appended.length,
      duplicates: result.duplicates.length + (checked.events.length - unique.length),
    };
    request.log.info(answer, 'events ingested');
    return answer;
  });
};

type Checked = { ok: true; events: TransitionEvent[] } | { ok: false; answer: IngestionErrorResponse };

/** The request shape first, then every event; all problems are reported, not just the first. */
function checkRequest(body: unknown, schema: ReturnType<typeof requestSchema>, units: ValidationContext): Checked {
  if (body === undefined) {
    return { ok: false, answer: { error: 'invalid request', errors: [bodyError(`is required: ${BODY_SHAPE}`)] } };
  }
  const shape = schema.safeParse(body);
  if (!shape.success) {
    const errors = shape.error.issues.map((issue) => ({
      index: null,
      field: issue.path.length === 0 ? '(body)' : issue.path.map(String).join('.'),
      message: issue.message,
    }));
    return { ok: false, answer: { error: 'invalid request', errors } };
  }
  const events: TransitionEvent[] = [];
  const errors: IngestionError[] = [];
  shape.data.events.forEach((input, index) => {
    const result = validateEvent(input, units);
    if (result.ok) events.push(result.event);
    else for (const e of result.errors) errors.push({ index, field: e.field, message: withoutEcho(e.message) });
  });
  return errors.length > 0 ? { ok: false, answer: { error: 'invalid events', errors } } : { ok: true, events };
}

/** The 400 answer for an error raised before the handler, or undefined for a server fault. */
function refusalOf(error: FastifyError, bodyLimitBytes: number): IngestionError[] | undefined {
  if (error instanceof BadRequestBody) return error.errors;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return [bodyError(`request body exceeds ${bodyLimitBytes} bytes`)];
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return [bodyError('content type must be application/json')];
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return [bodyError(`request body is empty; expected ${BODY_SHAPE}`)];
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return [bodyError('request body is not valid JSON')];
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return [bodyError('request body size does not match Content-Length')];
    default:
      // Other client errors fastify raises while reading a request (aborted upload, bad encoding …).
      if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
        return [bodyError('request body could not be read')];
      }
      return undefined;
  }
}
