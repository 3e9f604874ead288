/**
 * The gaps feature's part of the GraphQL schema (gaps.graphql): the `gaps` connection and
 * `anomalyCounts` on Query; `gaps`, `relatives` and `anomalies` on Citizen. Thin mappings onto the
 * GapQueries port; the read model answers asOf, durations and flags.
 */
import { readFileSync } from 'node:fs';
import type { GapKind } from '@tracker/domain';
import type { AnomalyCountScope, GapQueries } from '@tracker/read-models';
import { ALL_UNITS, MIN_CELL_SIZE, type Grant, type Principal } from '@tracker/security';
import { asOfArgument, connectionOf, unitIdArgument } from '../arguments.ts';
import { disclose, grantOf, type TrackerContext } from '../authorization.ts';
import type { CitizenParent, GraphqlDependencies } from '../resolvers.ts';
import type { GraphqlExtension } from '../schema.ts';
import { encodeGapCursor, gapPageArguments } from './gapCursor.ts';

export const GAPS_TYPE_DEFS = readFileSync(new URL('./gaps.graphql', import.meta.url), 'utf8');

interface GapsArgs {
  kind?: GapKind | null;
  unitId?: string | null;
  open?: boolean | null;
  overdue?: boolean | null;
  asOf?: string | null;
  first?: number | null;
  after?: string | null;
}

const orUndefined = <T>(value: T | null | undefined): T | undefined => value ?? undefined;

/**
 * Whose anomalies the data-quality figures count: administrators all; managers the citizens of their
 * units, without rows resting on fewer than 5 citizens; integrators the facts of their own source
 * systems.
 */
export function anomalyCountScope(grant: Grant, principal: Principal): AnomalyCountScope {
  switch (grant.role) {
    case 'administrator':
      return { scope: ALL_UNITS };
    case 'integrator':
      return { scope: ALL_UNITS, sources: principal.sources };
    default:
      return { scope: grant.scope, minCitizens: MIN_CELL_SIZE };
  }
}

/**
 * The extension over a GapQueries adapter, or a function giving it once the read model exists (the
 * schema is built before a test harness has opened its read model).
 */
export function gapsGraphqlExtension(source: GapQueries | (() => GapQueries)): GraphqlExtension {
  const queries = typeof source === 'function' ? source : () => source;
  return {
    typeDefs: GAPS_TYPE_DEFS,
    resolvers(deps: GraphqlDependencies) {
      const now = () => deps.clock.now();
      return {
        Query: {
          async gaps(_: unknown, args: GapsArgs, context: TrackerContext) {
            const grant = grantOf(context, 'query.gaps');
            const unitId = args.unitId == null ? undefined : unitIdArgument(args.unitId, 'unitId', deps.units);
            const { first, offset, asOf } = gapPageArguments(args, now);
            const page = await queries().gaps(
              { kind: orUndefined(args.kind), unitId, open: orUndefined(args.open), overdue: orUndefined(args.overdue), asOf },
              { first, offset },
              grant.scope,
            );
            await disclose(deps.accessLog, context, grant, page.nodes.map((node) => node.citizenId));
            return connectionOf(page, (_node, i) => encodeGapCursor({ index: offset + i, asOf }), offset > 0);
          },
          anomalyCounts: (_: unknown, args: { asOf?: string | null }, context: TrackerContext) =>
            queries().anomalyCounts(asOfArgument(args.asOf, now), anomalyCountScope(grantOf(context, 'query.dataQuality'), context.principal!)),
        },
        Citizen: {
          gaps: (c: CitizenParent, args: { kind?: GapKind | null; open?: boolean | null }) =>
            queries().citizenGaps(c.id, c.asOf, { kind: orUndefined(args.kind), open: orUndefined(args.open) }, c.scope),
          relatives: (c: CitizenParent) => queries().relatives(c.id, c.asOf, c.scope),
          anomalies: (c: CitizenParent) => queries().anomalies(c.id, c.asOf, c.scope),
        },
      };
    },
  };
}
