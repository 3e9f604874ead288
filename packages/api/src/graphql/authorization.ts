/**
 * Authorisation of GraphQL in one place (docs/security.md §6):
 *
 * - `useAuthorization`: an envelop plugin that, before anything executes, maps every root field of
 *   the operation (through inline fragments and fragment spreads, whatever `@skip`/`@include` say) to
 *   an operation of the policy (`operationOfGraphqlField`) and asks `authorize`. A field that maps to
 *   no operation is refused (deny by default); one refused field refuses the whole request, and
 *   nothing of it runs. The grants (role, data scope, audited) go into the context, where resolvers
 *   find them with `grantOf` and hand the scope to the data layer, whose SQL applies it.
 * - `disclose`: appends one access-log entry per citizen an answer discloses, and resolves only once
 *   they are durable — resolvers await it before returning, so an unlogged read is never answered.
 * - `useStreamDeadline`: a subscription (SSE) ends when the token that opened it expires; the client
 *   reconnects with a fresh token.
 *
 * A missing principal (no authentication plugin in front) is refused like a missing token: fail closed.
 */
import { Kind, getOperationAST, type DocumentNode, type FragmentDefinitionNode, type GraphQLError, type SelectionSetNode } from 'graphql';
import { createGraphQLError, isAsyncIterable, Repeater, type Plugin } from 'graphql-yoga';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { containsCpr } from '@tracker/domain';
import {
  AccessLogEntryError,
  AuthenticationError,
  AuthorizationError,
  authorize,
  graphqlExtensionsOf,
  isSecurityError,
  operationOfGraphqlField,
  type AccessLog,
  type Grant,
  type Operation,
  type Principal,
} from '@tracker/security';

/** What every resolver receives as its context. */
export interface TrackerContext {
  req: FastifyRequest;
  reply: FastifyReply;
  /** Who is asking: set by the authentication plugin; undefined is refused before execution. */
  principal: Principal | undefined;
  /** Why, as stated by the client in the `X-Purpose` header (logged with every citizen read); null when not stated. */
  purpose: string | null;
  /** The grants of the request's root fields, by operation (filled by useAuthorization). */
  grants: Map<Operation, Grant>;
}

/** The header a client states its purpose in (a case number, "visitationsmøde" …), percent-encoded when not ASCII. */
export const PURPOSE_HEADER = 'x-purpose';
export const MAX_PURPOSE_LENGTH = 500;

/** A control character (a line break, NUL …): not something a stated purpose holds. */
const hasControlCharacter = (text: string) => [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** The purpose stated in the request, or null; undefined when it is malformed (refused before execution). */
export function purposeOf(req: { headers: Record<string, string | string[] | undefined> }): string | null | undefined {
  const raw = req.headers[PURPOSE_HEADER];
  if (raw === undefined) return null;
  if (Array.isArray(raw)) return undefined;
  let text: string;
  try {
    text = /%[0-9A-Fa-f]{2}/.test(raw) ? decodeURIComponent(raw) : raw;
  } catch {
    return undefined;
  }
  text = text.trim();
  if (text === '') return null;
  if (text.length > MAX_PURPOSE_LENGTH || containsCpr(text) || hasControlCharacter(text)) return undefined;
  return text;
}

/** The context yoga builds per request from fastify's request. */
export function trackerContext({ req, reply }: { req: FastifyRequest; reply: FastifyReply }): TrackerContext {
  return { req, reply, principal: req.principal, purpose: purposeOf(req) ?? null, grants: new Map() };
}

/** A security refusal as a GraphQL error: code, reason and HTTP status from the policy, nothing from the request. */
export function securityGraphqlError(error: AuthenticationError | AuthorizationError): GraphQLError {
  return createGraphQLError(error.message, { extensions: graphqlExtensionsOf(error) });
}

/** Rethrows a security refusal as a GraphQL error; anything else unchanged. */
export function asGraphqlError(error: unknown): unknown {
  return isSecurityError(error) ? securityGraphqlError(error) : error;
}

/** The root fields an operation selects, through fragments; each fragment is read once. */
function rootFields(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen = new Set<string>()): string[] {
  const names: string[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) names.push(selection.name.value);
    else if (selection.kind === Kind.INLINE_FRAGMENT) names.push(...rootFields(selection.selectionSet, fragments, seen));
    else if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (fragment && !seen.has(name)) {
        seen.add(name);
        names.push(...rootFields(fragment.selectionSet, fragments, seen));
      }
    }
  }
  return names;
}

const ROOT_TYPES = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' } as const;

/**
 * The grants for an operation's root fields, or the refusal. Exported for tests; the plugin below is
 * what the endpoint uses.
 */
export function grantsFor(principal: Principal | undefined, document: DocumentNode, operationName: string | null | undefined): Map<Operation, Grant> {
  if (!principal) throw new AuthenticationError('missing_token');
  const operation = getOperationAST(document, operationName ?? undefined);
  // No (single) operation: graphql-js reports it on execution; nothing is granted.
  if (!operation) return new Map();
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const rootType = ROOT_TYPES[operation.operation];
  const grants = new Map<Operation, Grant>();
  for (const field of new Set(rootFields(operation.selectionSet, fragments))) {
    const mapped = operationOfGraphqlField(rootType, field);
    if (mapped === undefined) throw new AuthorizationError('operation_not_permitted', 'this field');
    if (!grants.has(mapped)) grants.set(mapped, authorize(principal, mapped));
  }
  return grants;
}

/** The envelop plugin: every root field authorised before execution (queries, mutations, subscriptions). */
export function useAuthorization(): Plugin<TrackerContext> {
  const check = (
    args: { contextValue: TrackerContext; document: DocumentNode; operationName?: string | null | undefined },
    stop: (result: { errors: GraphQLError[] }) => void,
  ) => {
    const context = args.contextValue;
    try {
      for (const [operation, grant] of grantsFor(context.principal, args.document, args.operationName)) context.grants.set(operation, grant);
    } catch (error) {
      if (!isSecurityError(error)) throw error;
      context.req.log.info({ reason: error.reason, security: true }, 'GraphQL operation refused');
      stop({ errors: [securityGraphqlError(error)] });
      return;
    }
    if (purposeOf(context.req) === undefined) {
      stop({
        errors: [
          createGraphQLError(`Invalid ${PURPOSE_HEADER}: must be one header of at most ${MAX_PURPOSE_LENGTH} characters, without a CPR number`, {
            extensions: { code: 'BAD_USER_INPUT', field: PURPOSE_HEADER },
          }),
        ],
      });
    }
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      check(args as never, setResultAndStopExecution);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      check(args as never, setResultAndStopExecution);
    },
  };
}

/**
 * The grant of an operation this request may perform: from the root-field check, or — for an
 * operation reached below the root (a Citizen's `personalData`) — decided now. Throws the refusal as a
 * GraphQL error.
 */
export function grantOf(context: TrackerContext, operation: Operation): Grant {
  const granted = context.grants.get(operation);
  if (granted) return granted;
  if (!context.principal) throw securityGraphqlError(new AuthenticationError('missing_token'));
  try {
    const grant = authorize(context.principal, operation);
    context.grants.set(operation, grant);
    return grant;
  } catch (error) {
    throw asGraphqlError(error);
  }
}

/**
 * Records that the answer discloses these citizens (one entry each, deduplicated) under the grant,
 * if the operation is audited; resolves when the entries are durable. Await it before returning.
 */
export async function disclose(accessLog: AccessLog, context: TrackerContext, grant: Grant, citizenIds: Iterable<string>): Promise<void> {
  if (!grant.audited) return;
  const principal = context.principal;
  if (!principal) throw securityGraphqlError(new AuthenticationError('missing_token'));
  const ids = [...new Set(citizenIds)];
  if (ids.length === 0) return;
  try {
    await accessLog.recordAll(
      ids.map((citizenId) => ({ actor: principal.subject, actorRole: grant.role, citizenId, operation: grant.operation, purpose: context.purpose })),
    );
  } catch (error) {
    if (error instanceof AccessLogEntryError && error.field === 'purpose') {
      throw createGraphQLError(`Invalid ${PURPOSE_HEADER}: ${error.message.replace(/^access log entry: purpose /, '')}`, {
        extensions: { code: 'BAD_USER_INPUT', field: PURPOSE_HEADER },
      });
    }
    // Anything else (a closed or full log) is a server fault: masked, logged, and the read not answered.
    throw error;
  }
}

/** The GraphQL error a stream ends with when its token expires. */
export const streamExpired = (): GraphQLError => securityGraphqlError(new AuthenticationError('expired'));

/**
 * The source's values until `expiresAt`, then one `expired` error and the end. Returning early (the
 * client went away) returns the source too.
 */
export function untilExpiry<T>(source: AsyncIterable<T>, expiresAt: Date, expired: () => T, now: () => number = Date.now): AsyncIterableIterator<T> {
  return new Repeater<T>(async (push, stop) => {
    const iterator = source[Symbol.asyncIterator]();
    let timer: NodeJS.Timeout | undefined;
    // setTimeout keeps at most 2^31-1 ms (24.8 days); access tokens live minutes to hours.
    const expiry = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), Math.min(Math.max(0, expiresAt.getTime() - now()), 2 ** 31 - 1));
    });
    const stopped = stop.then(() => 'stopped' as const);
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), expiry, stopped]);
        if (next === 'stopped') break;
        if (next === 'expired') {
          await push(expired());
          break;
        }
        if (next.done) break;
        await push(next.value);
      }
    } finally {
      clearTimeout(timer);
      stop();
      await iterator.return?.();
    }
  });
}

/** The envelop plugin ending each subscription when its principal's token expires (not in development mode). */
export function useStreamDeadline(): Plugin<TrackerContext> {
  return {
    onSubscribe({ args }) {
      const expiresAt = (args.contextValue as TrackerContext).principal?.expiresAt;
      if (!expiresAt) return undefined;
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(untilExpiry(result, expiresAt, () => ({ errors: [streamExpired()] })));
        },
      };
    },
  };
}

/**
 * The values of a live stream that pass an asynchronous check (a read-model lookup), in order.
 * Returning early returns the source at once, even while it waits for its next value.
 */
export function filterStream<T>(source: AsyncIterable<T>, keep: (value: T) => Promise<boolean>): AsyncIterableIterator<T> {
  return new Repeater<T>(async (push, stop) => {
    const iterator = source[Symbol.asyncIterator]();
    const stopped = stop.then(() => 'stopped' as const);
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), stopped]);
        if (next === 'stopped' || next.done) break;
        if (await keep(next.value)) await push(next.value);
      }
    } finally {
      stop();
      await iterator.return?.();
    }
  });
}
