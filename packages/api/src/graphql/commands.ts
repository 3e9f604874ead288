/**
 * The coordinator commands as mutations. Every mutation has the same shape —
 * `name(citizenId, input, occurredAt): NamePayload` — and the same steps:
 *
 * 1. check the input with the event catalog's own zod schema (`eventDataSchemas`: one set of field
 *    rules for ingestion and API) and the configured units;
 * 2. run the command through the citizen decider (`handleCitizenCommand`): refused → COMMAND_REFUSED;
 * 3. answer the recorded events, and the citizen read after the read models reached the last event's
 *    position (read-your-writes).
 */
import { createGraphQLError } from 'graphql-yoga';
import type { CitizenCommand, EventType, StoredEvent } from '@tracker/domain';
import { eventDataSchemas } from '@tracker/domain';
import { handleCitizenCommand } from '@tracker/event-store';
import type { TimelineEntry } from '@tracker/read-models';
import { primaryUnitOf, summarize } from '@tracker/read-models';
import { citizenIdArgument } from './arguments.ts';
import { badUserInput, commandError, type InputProblem } from './errors.ts';
import type { CitizenParent, GraphqlDependencies } from './resolvers.ts';

/** mutation field → command and the event it records. */
export const COMMANDS = {
  registerCitizen: { command: 'RegisterCitizen', event: 'CitizenRegistered' },
  openCase: { command: 'OpenCase', event: 'CaseOpened' },
  closeCase: { command: 'CloseCase', event: 'CaseClosed' },
  initiateHandover: { command: 'InitiateHandover', event: 'HandoverInitiated' },
  acceptHandover: { command: 'AcceptHandover', event: 'HandoverAccepted' },
  rejectHandover: { command: 'RejectHandover', event: 'HandoverRejected' },
  completeHandover: { command: 'CompleteHandover', event: 'HandoverCompleted' },
  cancelHandover: { command: 'CancelHandover', event: 'HandoverCancelled' },
  receiveContact: { command: 'ReceiveContact', event: 'ContactReceived' },
  answerContact: { command: 'AnswerContact', event: 'ContactAnswered' },
  linkRelative: { command: 'LinkRelative', event: 'RelativeLinked' },
  grantRepresentation: { command: 'GrantRepresentation', event: 'RepresentationGranted' },
} as const satisfies Record<string, { command: CitizenCommand['type']; event: EventType }>;

export type MutationName = keyof typeof COMMANDS;

/** Input fields naming units; each must be configured. */
const UNIT_FIELDS = ['unitId', 'fromUnitId', 'toUnitId'] as const;

export interface CommandArgs {
  citizenId: string;
  input: Record<string, unknown>;
  occurredAt?: string | null;
}

export interface CommandPayload {
  __typename: string;
  events: TimelineEntry[];
  citizenId: string;
  /** Global position of the last recorded event: the read models must reach it before the citizen is read. */
  position: number;
}

const withoutNulls = (input: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null && v !== undefined));

/** The command's data, checked by the catalog schema and the unit configuration. */
function commandData(event: EventType, input: Record<string, unknown>, deps: GraphqlDependencies): Record<string, unknown> {
  const parsed = eventDataSchemas[event].safeParse(withoutNulls(input));
  const problems: InputProblem[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({ field: ['input', ...issue.path.map(String)].join('.'), message: issue.message }));
  if (parsed.success) {
    const data = parsed.data as Record<string, unknown>;
    for (const key of UNIT_FIELDS) {
      const unitId = data[key];
      if (typeof unitId === 'string' && !deps.units.isKnownUnit(unitId)) {
        problems.push({ field: `input.${key}`, message: 'is not a configured unit; units come from the units configuration' });
      }
    }
  }
  const [first, ...rest] = problems;
  if (first) throw badUserInput([first, ...rest]);
  return parsed.data as Record<string, unknown>;
}

export function toTimelineEntry(event: StoredEvent, deps: Pick<GraphqlDependencies, 'units'>): TimelineEntry {
  return {
    eventId: event.id,
    type: event.type,
    occurredAt: event.occurredAt,
    recordedAt: event.recordedAt,
    unitId: primaryUnitOf(event),
    summary: summarize(event, deps.units),
  };
}

/** `openCase` → `OpenCasePayload`. */
export const payloadTypeName = (name: MutationName): string => `${name[0]!.toUpperCase()}${name.slice(1)}Payload`;

function commandResolver(name: MutationName, deps: GraphqlDependencies) {
  const { command, event } = COMMANDS[name];
  const __typename = payloadTypeName(name);
  return async (_: unknown, args: CommandArgs): Promise<CommandPayload> => {
    const citizenId = citizenIdArgument(args.citizenId, 'citizenId');
    const data = commandData(event, args.input, deps);
    let recorded: StoredEvent[];
    try {
      recorded = await handleCitizenCommand(
        { store: deps.store, clock: deps.clock },
        citizenId,
        { type: command, data } as CitizenCommand,
        args.occurredAt ? { occurredAt: args.occurredAt } : {},
      );
    } catch (error) {
      commandError(error);
    }
    return {
      __typename,
      events: recorded.map((e) => toTimelineEntry(e, deps)),
      citizenId,
      position: recorded.reduce((max, e) => Math.max(max, e.globalPosition), 0),
    };
  };
}

/** `Mutation`, the `CommandPayload` interface and each payload type. */
export function commandResolvers(deps: GraphqlDependencies) {
  const names = Object.keys(COMMANDS) as MutationName[];
  const citizen = (payload: CommandPayload) => payloadCitizen(payload, deps);
  return {
    Mutation: Object.fromEntries(names.map((name) => [name, commandResolver(name, deps)])),
    CommandPayload: { __resolveType: (payload: CommandPayload) => payload.__typename },
    ...Object.fromEntries(names.map((name) => [payloadTypeName(name), { citizen }])),
  };
}

/** The payload's citizen, as of now, once the read models include the command's events. */
async function payloadCitizen(payload: CommandPayload, deps: GraphqlDependencies): Promise<CitizenParent | null> {
  if (payload.position > 0) {
    try {
      await deps.projector.waitFor(payload.position);
    } catch (error) {
      deps.logger.warn({ err: error, position: payload.position }, 'read models did not reach a command\'s events in time');
      throw createGraphQLError('The command was recorded, but the read models have not caught up yet; read the citizen again shortly.', {
        extensions: { code: 'READ_MODEL_LAGGING' },
      });
    }
  }
  const asOf = deps.clock.now().getTime();
  const view = await deps.queries.citizen(payload.citizenId, asOf);
  return view ? { ...view, asOf } : null;
}
