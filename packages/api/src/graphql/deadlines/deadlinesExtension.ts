/**
 * The deadlines part of the GraphQL API (deadlines.graphql): thin mappings onto the deadline read
 * models (`DeadlineQueries`: statuses, asOf and paging are answered there) and the alert feed.
 * Register with graphqlPlugin's `extensions` option.
 */
import { readFileSync } from 'node:fs';
import { asOfArgument, connectionOf, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, unitIdArgument } from '../arguments.ts';
import { disclose, filterStream, grantOf, type TrackerContext } from '../authorization.ts';
import { badField } from '../errors.ts';
import { liveItemFilter, type CitizenParent, type GraphqlDependencies } from '../resolvers.ts';
import type { GraphqlExtension } from '../schema.ts';
import type { DeadlineAlertFeed } from './alertFeed.ts';
import { decodeDeadlineCursor, encodeDeadlineCursor } from './cursor.ts';
import { deadlineStatusAt, formatDeadlineInstant, type DeadlinePolicy, type DeadlinePolicySet, type DeadlineStatus } from '@tracker/domain';
import { complianceMonthRange, type DeadlineAlert, type DeadlineQueries, type DeadlineView } from '@tracker/read-models';

export const DEADLINES_TYPE_DEFS = readFileSync(new URL('./deadlines.graphql', import.meta.url), 'utf8');

/** The longest compliance view, in months. */
export const MAX_COMPLIANCE_MONTHS = 36;

export interface DeadlinesExtensionOptions {
  /** The deadline read model, or a function giving it once it exists (a test harness opens its read model after building the schema). */
  queries: DeadlineQueries | (() => DeadlineQueries);
  policies: DeadlinePolicySet;
  /** Live alerts (or a function giving them); without, subscribing to deadlineAlerts is refused. */
  alerts?: DeadlineAlertFeed | (() => DeadlineAlertFeed | undefined);
}

interface DeadlinesArgs {
  policy?: string | null;
  status?: DeadlineStatus | null;
  unitId?: string | null;
  asOf?: string | null;
  first?: number | null;
  after?: string | null;
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

function firstArgument(first: number | null | undefined): number {
  const n = first ?? DEFAULT_PAGE_SIZE;
  if (n < 0) throw badField('first', 'must not be negative');
  if (n > MAX_PAGE_SIZE) throw badField('first', `must be at most ${MAX_PAGE_SIZE}; page with after instead`);
  return n;
}

function describeLimit(policy: DeadlinePolicy): string {
  const { limit } = policy;
  if (limit.kind === 'age') return `due at ${limit.age.years} years${limit.age.months ? ` ${limit.age.months} months` : ''}`;
  return `${limit.amount} ${limit.unit}`;
}

/** What an alert carries: the deadline as it stood when the alert was detected. */
export function alertPayload(alert: DeadlineAlert) {
  const stoppedAt = alert.stoppedMs !== null && alert.stoppedMs <= alert.detectedMs ? alert.stoppedMs : null;
  const deadline: DeadlineView = {
    id: `${alert.citizenId}/${alert.clockId}`,
    clockId: alert.clockId,
    policy: alert.policy,
    citizenId: alert.citizenId,
    unitId: alert.unitId,
    startedAt: formatDeadlineInstant(alert.startedMs),
    dueAt: formatDeadlineInstant(alert.dueMs),
    atRiskAt: formatDeadlineInstant(alert.atRiskMs),
    stoppedAt: stoppedAt === null ? null : formatDeadlineInstant(stoppedAt),
    status: deadlineStatusAt({ dueAt: alert.dueMs, atRiskAt: alert.atRiskMs, stoppedAt }, alert.detectedMs),
  };
  return { sequence: alert.sequence, kind: alert.kind, at: formatDeadlineInstant(alert.atMs), detectedAt: formatDeadlineInstant(alert.detectedMs), deadline };
}

export function deadlinesExtension(options: DeadlinesExtensionOptions): GraphqlExtension {
  const { policies } = options;
  const source = options.queries;
  const queries = (): DeadlineQueries => (typeof source === 'function' ? source() : source);
  const feed = options.alerts;
  const alerts = (): DeadlineAlertFeed | undefined => (typeof feed === 'function' ? feed() : feed);
  const policyArgument = (value: string | null | undefined): string | undefined => {
    if (value == null) return undefined;
    if (!policies.has(value)) throw badField('policy', 'is not a deadline policy in force; see deadlinePolicies');
    return value;
  };

  return {
    typeDefs: DEADLINES_TYPE_DEFS,
    resolvers: (deps: GraphqlDependencies) => {
      const now = () => deps.clock.now();
      const unitArgument = (value: string | null | undefined): string | undefined => (value == null ? undefined : unitIdArgument(value, 'unitId', deps.units));
      return {
        Query: {
          async deadlines(_: unknown, args: DeadlinesArgs, context: TrackerContext) {
            const grant = grantOf(context, 'query.deadlines');
            const policy = policyArgument(args.policy);
            const unitId = unitArgument(args.unitId);
            const first = firstArgument(args.first);
            let asOf: number;
            let after;
            if (args.after != null) {
              const cursor = decodeDeadlineCursor(args.after);
              if (!cursor) throw badField('after', 'is not a cursor of this connection; pass an endCursor from a previous page');
              if (args.asOf != null && Date.parse(args.asOf) !== cursor.asOf) {
                throw badField('after', "belongs to a page read at another asOf; page with the same asOf, or leave asOf out to keep the cursor's");
              }
              asOf = cursor.asOf;
              after = { dueMs: cursor.dueMs, citizenId: cursor.citizenId, clockId: cursor.clockId };
            } else {
              asOf = asOfArgument(args.asOf, now);
            }
            const page = await queries().deadlines(
              { asOf, ...(policy ? { policy } : {}), ...(unitId ? { unitId } : {}), ...(args.status ? { status: args.status } : {}) },
              { first, ...(after ? { after } : {}) },
              grant.scope,
            );
            await disclose(deps.accessLog, context, grant, page.nodes.map((node) => node.citizenId));
            return connectionOf(page, (node) => encodeDeadlineCursor({ asOf, ...node.key }), after !== undefined);
          },

          async deadlineCompliance(
            _: unknown,
            args: { unitId?: string | null; policy?: string | null; from: string; to: string; asOf?: string | null },
            context: TrackerContext,
          ) {
            const grant = grantOf(context, 'query.compliance');
            const policy = policyArgument(args.policy);
            const unitId = unitArgument(args.unitId);
            if (!MONTH.test(args.from)) throw badField('from', 'must be a month YYYY-MM');
            if (!MONTH.test(args.to)) throw badField('to', 'must be a month YYYY-MM');
            const { months } = complianceMonthRange(args.from, args.to);
            if (months < 1) throw badField('to', 'must not be before from');
            if (months > MAX_COMPLIANCE_MONTHS) throw badField('to', `must be at most ${MAX_COMPLIANCE_MONTHS} months after from`);
            const asOf = asOfArgument(args.asOf, now);
            const view = await queries().compliance({ fromMonth: args.from, toMonth: args.to, asOf, ...(policy ? { policy } : {}), ...(unitId ? { unitId } : {}) }, grant.scope);
            return { asOf: formatDeadlineInstant(asOf), ...view };
          },

          async atRiskDeadlines(_: unknown, args: { unitId: string; asOf?: string | null; first?: number | null }, context: TrackerContext) {
            const grant = grantOf(context, 'query.deadlines');
            const unitId = unitIdArgument(args.unitId, 'unitId', deps.units);
            const clocks = await queries().atRisk(unitId, asOfArgument(args.asOf, now), firstArgument(args.first), grant.scope);
            await disclose(deps.accessLog, context, grant, clocks.map((clock) => clock.citizenId));
            return clocks;
          },

          deadlinePolicies: () =>
            policies.policies.map((p) => ({ id: p.id, title: p.title, basis: p.basis ?? null, limit: describeLimit(p), atRiskThreshold: p.atRiskThreshold, latenessUnit: p.latenessUnit })),
        },

        Citizen: {
          deadlines: (c: CitizenParent) => queries().citizenDeadlines(c.id, c.asOf, c.scope),
        },

        Deadline: {
          title: (d: DeadlineView) => policies.get(d.policy)?.title ?? d.policy,
          basis: (d: DeadlineView) => policies.get(d.policy)?.basis ?? null,
        },

        Subscription: {
          deadlineAlerts: {
            subscribe(_: unknown, args: { unitId?: string | null; policy?: string | null; afterSequence?: number | null }, context: TrackerContext) {
              grantOf(context, 'subscribe.alerts');
              const unitId = unitArgument(args.unitId);
              const policy = policyArgument(args.policy);
              if (args.afterSequence != null && args.afterSequence < 0) throw badField('afterSequence', 'must not be negative');
              const live = alerts();
              if (!live) throw badField('deadlineAlerts', 'alerts are not enabled on this server');
              // Only alerts the principal may receive: coordinators their citizens', integrators their units'.
              const allowed = liveItemFilter(context.principal!, deps.queries);
              const item = (a: DeadlineAlert) => ({ citizenId: a.citizenId, unitIds: a.unitId === null ? [] : [a.unitId] });
              const stream = live.subscribe(
                (a) => (unitId === undefined || a.unitId === unitId) && (policy === undefined || a.policy === policy) && allowed.quick(item(a)),
                args.afterSequence ?? undefined,
              );
              const full = allowed.full;
              return full ? filterStream(stream, (a) => full(item(a))) : stream;
            },
            // Every alert discloses its citizen: logged before it is sent.
            resolve: async (alert: DeadlineAlert, _args: unknown, context: TrackerContext) => {
              await disclose(deps.accessLog, context, grantOf(context, 'subscribe.alerts'), [alert.citizenId]);
              return alertPayload(alert);
            },
          },
        },
      };
    },
  };
}
