/**
 * Structured logging (pino) that keeps personal data out of the logs (domain.md §6).
 *
 * Three layers, because one is not enough for children's welfare data:
 * 1. Redaction by field name: personal fields and secrets are replaced by `[redacted]` wherever they
 *    stand, up to REDACT_DEPTH levels deep (pino's redact paths have no recursive wildcard, so every
 *    depth is listed). Unit names are redacted too (`*.name`): a small price for never logging a
 *    citizen's name that happens to sit under `name`.
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

/** Deepest level (0 = top) at which REDACTED_KEYS are redacted: e.g. `body.events.0.data.personal` is level 4. */
export const REDACT_DEPTH = 6;

/** Paths that are not covered by the key list (keys with characters pino paths must quote). */
const EXTRA_PATHS = ['req.headers["x-api-key"]', 'headers["x-api-key"]', 'res.headers["set-cookie"]', 'headers["set-cookie"]'];

export const REDACT_PATHS: readonly string[] = [
  ...REDACTED_KEYS.flatMap((key) => Array.from({ length: REDACT_DEPTH + 1 }, (_, depth) => [...Array<string>(depth).fill('*'), key].join('.'))),
  ...EXTRA_PATHS,
];

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
  /** More redact paths (pino path syntax), added to REDACT_PATHS. */
  redactPaths?: readonly string[];
}

/** A pino logger with personal-data redaction, safe request serializers and CPR masking. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pinoOptions: PinoOptions = {
    level: options.level ?? 'info',
    base: { pid: process.pid, hostname: hostname(), ...(options.service === undefined ? {} : { service: options.service }) },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS, ...(options.redactPaths ?? [])], censor: REDACT_CENSOR },
    serializers: logSerializers,
    hooks: { streamWrite: maskCpr },
  };
  return options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination);
}
