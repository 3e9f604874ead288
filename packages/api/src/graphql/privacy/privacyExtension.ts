/**
 * Personal data and the access log in GraphQL (privacy.graphql):
 * - `Citizen.personalData`: the decrypted name and CPR number (operation `query.personalData`), read
 *   from the citizen's CitizenRegistered event in the event store — the read models never hold it —
 *   and recorded in the access log before it is answered;
 * - `erasePersonalData` (administrators, `admin.configuration`): crypto-shredding, recorded in the access
 *   log (ERASURE_OPERATION) durably before the key is destroyed — the log is the record of erasures that
 *   outlives a key-store restore (`pnpm erasures:reapply`), and it tells the citizen's request of insight
 *   that their data was erased, and when, without the employee;
 * - `accessLog(citizenId)` (administrators, `audit.insight`): the lookups made on a citizen, without
 *   employees, for a request of insight; `accessLogEntries` (`audit.investigation`) with them.
 */
import { readFileSync } from 'node:fs';
import { createGraphQLError } from 'graphql-yoga';
import {
  AccessLogEntryError,
  AuthenticationError,
  AuthorizationError,
  citizenInScope,
  decryptEventPersonal,
  ERASURE_OPERATION,
  PersonalDataIntegrityError,
  PersonalDataKeyMissingError,
} from '@tracker/security';
import { asOfArgument, citizenIdArgument } from '../arguments.ts';
import { disclose, grantOf, PURPOSE_HEADER, securityGraphqlError, type TrackerContext } from '../authorization.ts';
import { badField } from '../errors.ts';
import type { CitizenParent, GraphqlDependencies } from '../resolvers.ts';
import type { GraphqlExtension } from '../schema.ts';
import { Instant } from '@tracker/domain';

export const PRIVACY_TYPE_DEFS = readFileSync(new URL('./privacy.graphql', import.meta.url), 'utf8');

export const DEFAULT_ENTRIES = 100;
export const MAX_ENTRIES = 1000;

interface EntriesArgs {
  citizenId?: string | null;
  actor?: string | null;
  from?: string | null;
  to?: string | null;
  first?: number | null;
  afterSeq?: number | null;
}

export function privacyExtension(): GraphqlExtension {
  return {
    typeDefs: PRIVACY_TYPE_DEFS,
    resolvers(deps: GraphqlDependencies) {
      const unavailable = () => createGraphQLError('Personal data is not available on this server.', { extensions: { code: 'NOT_AVAILABLE' } });
      return {
        Citizen: {
          async personalData(c: CitizenParent, _args: unknown, context: TrackerContext) {
            const grant = grantOf(context, 'query.personalData');
            const protector = deps.personalData;
            if (!protector) throw unavailable();
            // The event store is not scoped like the read models: the scope is checked here, again.
            if (!citizenInScope(grant.scope, await deps.queries.citizenUnits(c.id))) throw securityGraphqlError(new AuthorizationError('out_of_scope'));
            const registration = (await deps.store.readStream(c.id)).find(
              (event) => event.type === 'CitizenRegistered' && Date.parse(event.occurredAt) <= c.asOf && event.data.personal !== undefined,
            );
            if (!registration) return null;
            await disclose(deps.accessLog, context, grant, [c.id]);
            try {
              const personal = await decryptEventPersonal<{ name?: string; cpr?: string }>(protector, registration);
              return personal === null ? { name: null, cpr: null, erased: true } : { name: personal.name ?? null, cpr: personal.cpr ?? null, erased: false };
            } catch (error) {
              if (error instanceof PersonalDataIntegrityError || error instanceof PersonalDataKeyMissingError) {
                deps.logger.error({ err: error, citizenId: c.id }, 'personal data could not be decrypted');
                throw createGraphQLError('The personal data cannot be decrypted; the key store does not match the events.', {
                  extensions: { code: 'PERSONAL_DATA_UNAVAILABLE' },
                });
              }
              throw error;
            }
          },
        },
        Query: {
          async accessLog(_: unknown, args: { citizenId: string }, context: TrackerContext) {
            grantOf(context, 'audit.insight');
            return deps.accessLog.lookupsOf(citizenIdArgument(args.citizenId, 'citizenId'));
          },
          async accessLogEntries(_: unknown, args: EntriesArgs, context: TrackerContext) {
            grantOf(context, 'audit.investigation');
            const first = args.first ?? DEFAULT_ENTRIES;
            if (first < 1 || first > MAX_ENTRIES) throw badField('first', `must be from 1 to ${MAX_ENTRIES}`);
            if (args.afterSeq != null && args.afterSeq < 0) throw badField('afterSeq', 'must not be negative');
            if (args.actor != null && (args.actor.length === 0 || args.actor.length > 255)) throw badField('actor', 'must be a token subject of 1–255 characters');
            for (const key of ['from', 'to'] as const) if (args[key] != null && !Instant.safeParse(args[key]).success) throw badField(key, 'must be an instant');
            return deps.accessLog.entries({
              ...(args.citizenId == null ? {} : { citizenId: citizenIdArgument(args.citizenId, 'citizenId') }),
              ...(args.actor == null ? {} : { actor: args.actor }),
              ...(args.from == null ? {} : { from: new Date(asOfArgument(args.from, () => new Date())).toISOString() }),
              ...(args.to == null ? {} : { to: new Date(asOfArgument(args.to, () => new Date())).toISOString() }),
              ...(args.afterSeq == null ? {} : { afterSeq: args.afterSeq }),
              limit: first,
            });
          },
        },
        Mutation: {
          async erasePersonalData(_: unknown, args: { citizenId: string }, context: TrackerContext) {
            const grant = grantOf(context, 'admin.configuration');
            const citizenId = citizenIdArgument(args.citizenId, 'citizenId');
            const protector = deps.personalData;
            if (!protector) throw unavailable();
            const principal = context.principal;
            if (!principal) throw securityGraphqlError(new AuthenticationError('missing_token'));
            // Recorded, durably, before the key is destroyed: a crash in between leaves a record whose
            // re-application is harmless, never an erasure the log does not know of.
            try {
              await deps.accessLog.record({ actor: principal.subject, actorRole: grant.role, citizenId, operation: ERASURE_OPERATION, purpose: context.purpose });
            } catch (error) {
              if (error instanceof AccessLogEntryError && error.field === 'purpose') {
                throw createGraphQLError(`Invalid ${PURPOSE_HEADER}: ${error.message.replace(/^access log entry: purpose /, '')}`, {
                  extensions: { code: 'BAD_USER_INPUT', field: PURPOSE_HEADER },
                });
              }
              deps.logger.error({ err: error, security: true }, 'an erasure could not be recorded in the access log; the key was not erased');
              throw createGraphQLError('The erasure could not be recorded in the access log, so the key was not erased; try again.', {
                extensions: { code: 'ERASURE_NOT_RECORDED' },
              });
            }
            const { erased } = await protector.eraseCitizenKey(citizenId);
            context.req.log.warn({ citizenId, erased, actor: context.principal?.subject, security: true }, 'personal data erased (crypto-shredding)');
            return { citizenId, erased };
          },
        },
      };
    },
  };
}
