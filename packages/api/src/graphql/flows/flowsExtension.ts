/**
 * The flow matrix in GraphQL (flows.graphql; definitions in docs/flows.md): `flows` as contracted,
 * exact, and the managers' views `flowsBySector` and `flowCohorts` with small cells suppressed. The
 * resolvers only turn arguments into a period; the read models count.
 */
import { readFileSync } from 'node:fs';
import { Sector, addCopenhagenMonths } from '@tracker/domain';
import { UNKNOWN_SECTOR, type FlowPeriod, type FlowQueries } from '@tracker/read-models';
import { badField } from '../errors.ts';
import { grantOf, type TrackerContext } from '../authorization.ts';
import type { GraphqlDependencies } from '../resolvers.ts';
import type { GraphqlExtension } from '../schema.ts';

export const FLOWS_TYPE_DEFS = readFileSync(new URL('./flows.graphql', import.meta.url), 'utf8');

/** The default period: the twelve months before `to`. */
export const DEFAULT_FLOW_PERIOD_MONTHS = 12;

export interface FlowsExtensionOptions {
  flows: FlowQueries;
}

interface PeriodArgs {
  from?: string | null;
  to?: string | null;
}

interface CohortArgs extends PeriodArgs {
  fromSector?: string | null;
  toSector?: string | null;
}

const SECTORS: readonly string[] = [...Sector.options, UNKNOWN_SECTOR];

/**
 * [from, to) from the arguments (DateTime values were validated by the scalar). The period is judged
 * at `to`, or at now while it has not ended: nothing is judged ahead of time (a lapse that began last
 * week is not "lost" because `to` is next year).
 */
export function flowPeriodArguments(args: PeriodArgs, now: () => Date): FlowPeriod {
  const nowMs = now().getTime();
  const to = args.to == null ? nowMs : Date.parse(args.to);
  const from = args.from == null ? addCopenhagenMonths(to, -DEFAULT_FLOW_PERIOD_MONTHS) : Date.parse(args.from);
  if (!(from < to)) throw badField('from', 'must be earlier than to');
  return { fromMs: from, toMs: Math.min(to, nowMs) };
}

function sectorArgument(value: string | null | undefined, field: string): string | undefined {
  if (value == null) return undefined;
  if (!SECTORS.includes(value)) throw badField(field, `must be one of ${SECTORS.join(', ')}`);
  return value;
}

export function flowsExtension({ flows }: FlowsExtensionOptions): GraphqlExtension {
  return {
    typeDefs: FLOWS_TYPE_DEFS,
    resolvers(deps: GraphqlDependencies) {
      const now = () => deps.clock.now();
      return {
        Query: {
          // Aggregates of the handovers touching the grant's units; managers' views withhold small cells.
          flows: (_: unknown, args: PeriodArgs, context: TrackerContext) => flows.flows(flowPeriodArguments(args, now), grantOf(context, 'query.flows').scope),
          flowsBySector: (_: unknown, args: PeriodArgs, context: TrackerContext) =>
            flows.flowsBySector(flowPeriodArguments(args, now), grantOf(context, 'query.flows').scope),
          flowCohorts(_: unknown, args: CohortArgs, context: TrackerContext) {
            const { scope } = grantOf(context, 'query.flows');
            const fromSector = sectorArgument(args.fromSector, 'fromSector');
            const toSector = sectorArgument(args.toSector, 'toSector');
            return flows.flowCohorts(
              flowPeriodArguments(args, now),
              {
                ...(fromSector === undefined ? {} : { fromSector }),
                ...(toSector === undefined ? {} : { toSector }),
              },
              scope,
            );
          },
        },
      };
    },
  };
}
