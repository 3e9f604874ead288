/**
 * Structured logging (pino) that keeps personal data out of the logs (domain.md §6).
 *
 * Three layers, because one is not enough for children's welfare data:
 * 1. Redaction by field name: personal fields and secrets are replaced by `[redacted]` wherever they
 *    stand, at any depth, in the logged object and in child bindings — one walk over what is logged
 *    (`redactLogged`, pino's `formatters`), because pino's redact paths have no recursive wildcard and
 *    listing every key at every depth cost ~170 µs per request (two lines) against ~2 µs for the walk.
 *    Keys match case-insensitively. Unit names are redacted too (`name`): a small price for never
 *    logging a citizen's name that happens to sit under `name`.
 * 2. Request serializers that log only method and path (the query string is dropped: it is where
 *    clients put ids and search terms; no headers, no client address); the response serializer logs
 *    only the status code. Fastify binds the request id (`reqId`) to every line of a request and adds
 *    `responseTime` to the completion line.
 * 3. A last line of defence on the serialized line: any run shaped like a CPR number (DDMMYY-SSSS or
 *    ten digits starting with a possible date) is masked, wherever it stands, messages included.
 */
import { hostname } from 'node:os';
import { pino, type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino';
import type { LogLevel } from './config.ts';

export const REDACT_CENSOR = '[redacted]';

/** Field names whose values never reach a log line, at any depth up to REDACT_DEPTH. */
export const REDACTED_KEYS = [
  // personal data (the encrypted part of CitizenRegistered and anything shaped like it)
  'personal',
  'cpr',
  'cprNumber',
  'name',
  'fullName',
  'firstName',
  'lastName',
  'address',
  'email',
  'phone',
  // secrets
  'authorization',
  'cookie',
  'token',
  'accessToken',
  'refreshToken',
  'idToken',
  'password',
  'secret',
  'clientSecret',
  'apiKey',
  // the key-encryption key of personal data (docs/security.md §7), however it is named
  'kek',
  'personalDataKek',
  'PERSONAL_DATA_KEK',
  'personalData',
] as const;

/** Further keys, spelled as they arrive in headers. */
const REDACTED_HEADER_KEYS = ['x-api-key', 'set-cookie'] as const;

const REDACTED = new Set<string>([...REDACTED_KEYS, ...REDACTED_HEADER_KEYS].map((key) => key.toLowerCase()));

/** Deeper than this, a logged value is replaced whole: nothing legitimate is logged that deep. */
export const REDACT_MAX_DEPTH = 24;

/**
 * The value with every REDACTED_KEYS field (any depth, any case) replaced by the censor, errors
 * serialized first (their own enumerable fields are walked too), cycles cut. Copy on write: a value
 * with nothing to redact is returned as it is, so the common line allocates nothing.
 */
export function redactLogged(value: unknown, depth = 0, ancestors: object[] = []): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > REDACT_MAX_DEPTH) return REDACT_CENSOR;
  if (ancestors.includes(value)) return '[Circular]';
  if (value instanceof Error) return redactLogged(serializeError(value), depth, ancestors);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return value instanceof Date ? value : redactLogged(toJSON.call(value), depth, ancestors);
  ancestors.push(value);
  try {
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        const redacted = redactLogged(item, depth + 1, ancestors);
        if (redacted !== item) (copy ??= value.slice())[i] = redacted;
      }
      return copy ?? value;
    }
    let copy: Record<string, unknown> | undefined;
    const record = value as Record<string, unknown>;
    for (const key in record) {
      if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
      const item = record[key];
      const redacted = REDACTED.has(key.toLowerCase()) ? REDACT_CENSOR : redactLogged(item, depth + 1, ancestors);
      if (redacted !== item) (copy ??= { ...record })[key] = redacted;
    }
    return copy ?? value;
  } finally {
    ancestors.pop();
  }
}

/** Request, response and error serialized before the walk, so the walk never enters a socket or a reply. */
function redactLine(object: Record<string, unknown>): Record<string, unknown> {
  let line = object;
  for (const key of ['req', 'res', 'err'] as const) {
    if (line[key] !== undefined) line = { ...line, [key]: logSerializers[key](line[key] as never) };
  }
  return redactLogged(line) as Record<string, unknown>;
}

const CPR_RUN = /(?<!\d)(\d{2})(\d{2})(\d{2})([- ]?)(\d{4})(?!\d)/g;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** Replaces every CPR-shaped run in the text (DDMMYY-SSSS, DDMMYY SSSS, DDMMYYSSSS with a possible date) by `[cpr]`. */
export function maskCpr(text: string): string {
  if (!/\d{4}/.test(text)) return text; // fast path: most lines have no long digit run
  return text.replace(CPR_RUN, (run, dd: string, mm: string) => {
    const day = Number(dd);
    const month = Number(mm);
    const possible = month >= 1 && month <= 12 && day >= 1 && day <= DAYS_IN_MONTH[month - 1]!;
    return possible ? '[cpr]' : run;
  });
}

/** What the request serializer accepts: a Fastify request or a Node IncomingMessage. */
export interface LoggableRequest {
  method?: string | undefined;
  url?: string | undefined;
}

export interface SerializedRequest {
  method?: string;
  /** The URL path; the query string is dropped. */
  path?: string;
}

export function serializeRequest(req: LoggableRequest): SerializedRequest {
  const out: SerializedRequest = {};
  if (typeof req.method === 'string') out.method = req.method;
  if (typeof req.url === 'string') {
    const q = req.url.search(/[?#]/);
    out.path = maskCpr(q === -1 ? req.url : req.url.slice(0, q));
  }
  return out;
}

export function serializeResponse(res: { statusCode?: number | undefined }): { statusCode?: number } {
  return typeof res.statusCode === 'number' ? { statusCode: res.statusCode } : {};
}

export function serializeError(err: unknown): unknown {
  return err instanceof Error ? pino.stdSerializers.err(err) : err;
}

export const logSerializers = { req: serializeRequest, res: serializeResponse, err: serializeError };

export interface CreateLoggerOptions {
  /** Default `info`. */
  level?: LogLevel;
  /** Where lines go; default stdout. Tests pass a memory stream. */
  destination?: DestinationStream;
  /** Bound to every line as `service` (pino's `name` is not used: top-level `name` is redacted). */
  service?: string;
}

const alreadySerialized = (serialized: unknown): unknown => serialized;

/** A pino logger with personal-data redaction, safe request serializers and CPR masking. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pinoOptions: PinoOptions = {
    level: options.level ?? 'info',
    base: { pid: process.pid, hostname: hostname(), ...(options.service === undefined ? {} : { service: options.service }) },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Serializers run inside the formatter (pino would run them after it, on an already-walked line).
    formatters: { level: (label) => ({ level: label }), log: redactLine, bindings: (bindings) => redactLogged(bindings) as Record<string, unknown> },
    // Serialized already by the formatter. Declared, so nothing serializes them again: pino's default
    // `err` serializer (it would make the error an Object), and fastify's `req`/`res` serializers, which it
    // adds to its child of this logger unless the logger has its own (it would drop the path).
    serializers: { req: alreadySerialized, res: alreadySerialized, err: alreadySerialized },
    hooks: { streamWrite: maskCpr },
  };
  const logger = options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination);
  // pino applies the bindings formatter to the base bindings only, so children's bindings are walked
  // here; every child (and its children) inherits this `child` through the prototype chain.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, redactLogged(bindings) as typeof bindings, childOptions);
  } as typeof child;
  return logger;
}
