/**
 * Limits on what one GraphQL request may ask (docs/security.md, D): graphql-armor's envelop plugins
 * refuse, before anything executes, documents with too many tokens (checked while parsing, so a huge
 * document is not even built), too deep a selection, too high a cost, or too many aliases (the usual
 * way to multiply one expensive field). Request bodies are bounded by the server's body limit, and
 * requests per client by the rate limit (authPlugin).
 *
 * Persisted operations: the dashboard's operations can be registered by their SHA-256 (a JSON file
 * `{ "<sha256 hex>": "<document>" }`, PERSISTED_OPERATIONS_FILE) and sent as
 * `extensions.persistedQuery.sha256Hash`; with PERSISTED_OPERATIONS_ONLY nothing else is executed.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import type { Plugin } from 'graphql-yoga';

export interface GraphqlLimits {
  /** Deepest field nesting (fragments flattened); introspection is not counted (it is off in production). */
  maxDepth: number;
  /** graphql-armor's cost: 2 per object field, 1 per scalar, times 1.5 per level of depth, times a list's `first`. */
  maxCost: number;
  /** Aliased fields in one document. */
  maxAliases: number;
  /** Lexical tokens in one document. */
  maxTokens: number;
}

/**
 * Generous for every operation the schema has (its deepest selection, a command payload's citizen's
 * relatives' contacts, is 5 deep) and for GraphiQL; far below what a denial-of-service needs. The
 * cost multiplies a list's selection by its `first` argument: one full page (500 handovers with every
 * field, cost ≈ 30 000) fits, several aliased full pages do not.
 */
export const DEFAULT_GRAPHQL_LIMITS: Readonly<GraphqlLimits> = Object.freeze({ maxDepth: 10, maxCost: 60_000, maxAliases: 15, maxTokens: 2000 });

/** What a refused document is told (graphql-armor prefixes "Syntax Error: "). */
export const LIMIT_MESSAGES = {
  tokens: 'The document is too long (token limit).',
  depth: 'The query is nested too deeply (depth limit).',
  cost: 'The query asks for too much at once (cost limit): select fewer fields or smaller pages.',
  aliases: 'The query uses too many aliases (alias limit).',
} as const;

export function useQueryLimits(limits: Partial<GraphqlLimits> = {}): Plugin[] {
  const { maxDepth, maxCost, maxAliases, maxTokens } = { ...DEFAULT_GRAPHQL_LIMITS, ...limits };
  // exposeLimits off: the refusal says what was exceeded, not where the line is.
  return [
    maxTokensPlugin({ n: maxTokens, exposeLimits: false, errorMessage: LIMIT_MESSAGES.tokens }) as Plugin,
    maxDepthPlugin({ n: maxDepth, flattenFragments: true, ignoreIntrospection: true, exposeLimits: false, errorMessage: LIMIT_MESSAGES.depth }) as Plugin,
    costLimitPlugin({ maxCost, flattenFragments: true, ignoreIntrospection: true, exposeLimits: false, errorMessage: LIMIT_MESSAGES.cost }) as Plugin,
    maxAliasesPlugin({ n: maxAliases, exposeLimits: false, errorMessage: LIMIT_MESSAGES.aliases }) as Plugin,
  ];
}

export interface PersistedOperations {
  /** sha256 (hex, lower case) → the operation's document. */
  operations: ReadonlyMap<string, string>;
  /** Refuse every operation that is not persisted. */
  only: boolean;
}

export class PersistedOperationsFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'PersistedOperationsFileError';
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Reads and checks a persisted-operations file: every key must be the SHA-256 of its document. */
export function loadPersistedOperations(file: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new PersistedOperationsFileError(file, `cannot be read as JSON (${(error as NodeJS.ErrnoException).code ?? 'syntax error'})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PersistedOperationsFileError(file, 'must be a JSON object { "<sha256 hex>": "<GraphQL document>" }');
  }
  const operations = new Map<string, string>();
  for (const [key, document] of Object.entries(parsed)) {
    if (!SHA256_HEX.test(key) || typeof document !== 'string') {
      throw new PersistedOperationsFileError(file, 'every key must be a lower-case SHA-256 hex digest and every value a GraphQL document');
    }
    if (createHash('sha256').update(document).digest('hex') !== key) {
      throw new PersistedOperationsFileError(file, `the key ${key.slice(0, 12)}… is not the SHA-256 of its document`);
    }
    operations.set(key, document);
  }
  return operations;
}

/** yoga's persisted operations over a fixed map (Apollo's `extensions.persistedQuery.sha256Hash`). */
export function usePersistedOperationMap({ operations, only }: PersistedOperations): Plugin {
  return usePersistedOperations({
    getPersistedOperation: (key) => operations.get(key) ?? null,
    allowArbitraryOperations: !only,
    customErrors: {
      notFound: { message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } },
      persistedQueryOnly: { message: 'PersistedQueryOnly', extensions: { code: 'PERSISTED_QUERY_ONLY' } },
      keyNotFound: { message: 'PersistedQueryKeyNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } },
    },
  }) as Plugin;
}
