/**
 * Resolvers for schema.graphql: thin mappings onto the ports. Reads go to `ReadModelQueries` (the
 * read models answer `asOf`, statuses, `overdue` and `dueAt`; nothing is recomputed here), commands to
 * the event store through the citizen decider (commands.ts), live events to the EventHub.
 */
import type { FastifyBaseLogger } from 'fastify';
import { unitIdsOf, type Clock, type HandoverStatus, type StoredEvent, type UnitDirectory } from '@tracker/domain';
import type { EventStore } from '@tracker/event-store';
import type { CitizenView, ReadModelQueries } from '@tracker/read-models';
import { asOfArgument, citizenIdArgument, encodeCursor, pageArguments, unitIdArgument } from './arguments.ts';
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
}

/** A citizen as seen at one instant; its fields are read at that same instant. */
export type CitizenParent = CitizenView & { asOf: number };

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

      async citizen(_: unknown, args: { id: string; asOf?: string | null }): Promise<CitizenParent | null> {
        const id = citizenIdArgument(args.id, 'id');
        const asOf = asOfArgument(args.asOf, now);
        const view = await deps.queries.citizen(id, asOf);
        return view ? { ...view, asOf } : null;
      },

      async handovers(_: unknown, args: HandoversArgs) {
        const unitId = args.unitId == null ? undefined : unitIdArgument(args.unitId, 'unitId', deps.units);
        const { first, offset, asOf } = pageArguments(args, now);
        const page = await deps.queries.handovers(
          { status: orUndefined(args.status), unitId, overdue: orUndefined(args.overdue), asOf },
          { first, offset },
        );
        const edges = page.nodes.map((node, i) => ({ node, cursor: encodeCursor({ index: offset + i, asOf }) }));
        return {
          edges,
          totalCount: page.totalCount,
          pageInfo: {
            hasNextPage: page.hasNextPage,
            hasPreviousPage: offset > 0,
            startCursor: edges[0]?.cursor ?? null,
            endCursor: edges.at(-1)?.cursor ?? null,
          },
        };
      },
    },

    Citizen: {
      timeline: (c: CitizenParent) => deps.queries.timeline(c.id, c.asOf),
      responsibilities: (c: CitizenParent) => deps.queries.responsibilities(c.id, c.asOf),
      handovers: (c: CitizenParent) => deps.queries.citizenHandovers(c.id, c.asOf),
    },

    ...commandResolvers(deps),

    Subscription: {
      eventRecorded: {
        subscribe(_: unknown, args: { citizenId?: string | null; unitId?: string | null }) {
          const citizenId = args.citizenId == null ? undefined : citizenIdArgument(args.citizenId, 'citizenId');
          const unitId = args.unitId == null ? undefined : unitIdArgument(args.unitId, 'unitId', deps.units);
          return deps.hub.subscribe(
            (event) => (citizenId === undefined || event.citizenId === citizenId) && (unitId === undefined || unitIdsOf(event).includes(unitId)),
          );
        },
        resolve: (event: StoredEvent) => ({ ...toTimelineEntry(event, deps), citizenId: event.citizenId, unitIds: unitIdsOf(event) }),
      },
    },
  };
}
