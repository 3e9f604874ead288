/**
 * Resolvers for schema.graphql: thin mappings onto the ports. Reads go to `ReadModelQueries` (the
 * read models answer `asOf`, statuses, `overdue` and `dueAt`; nothing is recomputed here), commands to
 * the event store through the citizen decider (commands.ts), live events to the EventHub.
 *
 * Security is not decided here: the root field was authorised before execution (authorization.ts) and
 * its grant carries the data scope, which each resolver hands to the data layer — the read models AND
 * it into their SQL. Resolvers only record what their answer discloses in the access log, before
 * answering.
 */
import type { FastifyBaseLogger } from 'fastify';
import { unitIdsOf, type Clock, type HandoverStatus, type StoredEvent, type UnitDirectory } from '@tracker/domain';
import type { EventStore } from '@tracker/event-store';
import type { CitizenView, DataScope, ReadModelQueries } from '@tracker/read-models';
import { AuthorizationError, mayReceive, type AccessLog, type PersonalDataProtector, type Principal } from '@tracker/security';
import { asOfArgument, connectionOf, citizenIdArgument, encodeCursor, pageArguments, unitIdArgument } from './arguments.ts';
import { disclose, filterStream, grantOf, securityGraphqlError, type TrackerContext } from './authorization.ts';
import { commandResolvers, toTimelineEntry } from './commands.ts';
import type { EventHub } from './eventHub.ts';
import { DateScalar, DateTimeScalar } from './scalars.ts';

export interface GraphqlDependencies {
  queries: ReadModelQueries;
  store: EventStore;
  projector: { waitFor(position: number): Promise<void> };
  units: UnitDirectory;
  clock: Clock;
  hub: EventHub;
  logger: Pick<FastifyBaseLogger, 'warn' | 'error'>;
  /** Every read of a citizen is recorded here before it is answered. */
  accessLog: AccessLog;
  /** Decrypts personal data and erases keys; absent: `personalData` is null and erasure refused. */
  personalData?: PersonalDataProtector | undefined;
}

/**
 * A citizen as seen at one instant and within one data scope: its fields are read at that same
 * instant and within that same scope.
 */
export type CitizenParent = CitizenView & { asOf: number; scope: DataScope };

/**
 * The citizen, or the refusal: outside a restricted scope an unknown citizen and another unit's get
 * the same FORBIDDEN answer; administrators (all units) get null for an unknown one.
 */
export function citizenOrRefusal(view: CitizenView | null, scope: DataScope): CitizenView | null {
  if (view === null && !scope.allUnits) throw securityGraphqlError(new AuthorizationError('out_of_scope'));
  return view;
}

/**
 * Whether a live item (an event, an alert) about a citizen may go to the principal (`mayReceive`),
 * looking up the units the citizen was ever involved with only when the answer depends on them (a
 * coordinator who is not an administrator). The item's own units count too: the read models may not
 * have applied it yet.
 */
export function liveItemFilter(principal: Principal, queries: Pick<ReadModelQueries, 'citizenUnits'>) {
  const needsCitizenUnits = principal.roles.has('coordinator') && !principal.roles.has('administrator');
  return {
    quick: (item: { source?: string | null | undefined; unitIds: readonly string[] }) => needsCitizenUnits || mayReceive(principal, item),
    full: needsCitizenUnits
      ? async (item: { citizenId: string; source?: string | null | undefined; unitIds: readonly string[] }) =>
          mayReceive(principal, { ...item, citizenUnitIds: [...(await queries.citizenUnits(item.citizenId)), ...item.unitIds] })
      : undefined,
  };
}

interface HandoversArgs {
  status?: HandoverStatus | null;
  unitId?: string | null;
  overdue?: boolean | null;
  asOf?: string | null;
  first?: number | null;
  after?: string | null;
}

const orUndefined = <T>(value: T | null | undefined): T | undefined => value ?? undefined;

export function createResolvers(deps: GraphqlDependencies) {
  const now = () => deps.clock.now();
  return {
    DateTime: DateTimeScalar,
    Date: DateScalar,

    Query: {
      units: () => deps.units.units,

      async citizen(_: unknown, args: { id: string; asOf?: string | null }, context: TrackerContext): Promise<CitizenParent | null> {
        const grant = grantOf(context, 'query.citizen');
        const id = citizenIdArgument(args.id, 'id');
        const asOf = asOfArgument(args.asOf, now);
        const view = citizenOrRefusal(await deps.queries.citizen(id, asOf, grant.scope), grant.scope);
        if (!view) return null;
        await disclose(deps.accessLog, context, grant, [id]);
        return { ...view, asOf, scope: grant.scope };
      },

      async handovers(_: unknown, args: HandoversArgs, context: TrackerContext) {
        const grant = grantOf(context, 'query.handovers');
        const unitId = args.unitId == null ? undefined : unitIdArgument(args.unitId, 'unitId', deps.units);
        const { first, offset, asOf } = pageArguments(args, now);
        const page = await deps.queries.handovers(
          { status: orUndefined(args.status), unitId, overdue: orUndefined(args.overdue), asOf },
          { first, offset },
          grant.scope,
        );
        await disclose(deps.accessLog, context, grant, page.nodes.map((node) => node.citizenId));
        return connectionOf(page, (_node, i) => encodeCursor({ index: offset + i, asOf }), offset > 0);
      },
    },

    Citizen: {
      timeline: (c: CitizenParent) => deps.queries.timeline(c.id, c.asOf, c.scope),
      responsibilities: (c: CitizenParent) => deps.queries.responsibilities(c.id, c.asOf, c.scope),
      handovers: (c: CitizenParent) => deps.queries.citizenHandovers(c.id, c.asOf, c.scope),
    },

    ...commandResolvers(deps),

    Subscription: {
      eventRecorded: {
        subscribe(_: unknown, args: { citizenId?: string | null; unitId?: string | null }, context: TrackerContext) {
          grantOf(context, 'subscribe.events');
          const citizenId = args.citizenId == null ? undefined : citizenIdArgument(args.citizenId, 'citizenId');
          const unitId = args.unitId == null ? undefined : unitIdArgument(args.unitId, 'unitId', deps.units);
          // Only what the principal may receive: integrators their sources and units, coordinators their citizens.
          const allowed = liveItemFilter(context.principal!, deps.queries);
          const item = (event: StoredEvent) => ({ citizenId: event.citizenId, source: event.source, unitIds: unitIdsOf(event) });
          const events = deps.hub.subscribe(
            (event) =>
              (citizenId === undefined || event.citizenId === citizenId) &&
              (unitId === undefined || unitIdsOf(event).includes(unitId)) &&
              allowed.quick(item(event)),
          );
          const full = allowed.full;
          return full ? filterStream(events, (event) => full(item(event))) : events;
        },
        // Every delivered event discloses its citizen: logged before it is sent.
        resolve: async (event: StoredEvent, _args: unknown, context: TrackerContext) => {
          await disclose(deps.accessLog, context, grantOf(context, 'subscribe.events'), [event.citizenId]);
          return { ...toTimelineEntry(event, deps), citizenId: event.citizenId, unitIds: unitIdsOf(event) };
        },
      },
    },
  };
}
