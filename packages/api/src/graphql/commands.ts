/**
 * The coordinator commands as mutations. Every mutation has the same shape —
 * `name(citizenId, input, occurredAt): NamePayload` — and the same steps:
 *
 * 1. check the input with the event catalog's own zod schema (`eventDataSchemas`: one set of field
 *    rules for ingestion and API) and the configured units;
 * 2. run the command through the citizen decider (`handleCitizenCommand`): refused → COMMAND_REFUSED;
 * 3. answer the recorded events, and the citizen read after the read models reached the last event's
 *    position (read-your-writes).
 *
 * Authorisation (docs/security.md §6): a coordinator commands only for a citizen in their scope (or one
 * no unit is involved with yet: a new citizen), and only as one of their units — the unit a case is
 * opened or closed in, the sending unit of a handover initiation or cancellation, the receiving unit
 * of an acceptance, rejection or completion, the unit receiving or answering a contact. Both are
 * decided from the citizen's own stream. The command is recorded in the access log (it discloses the
 * citizen in its payload) before the answer.
 */
import { createGraphQLError } from 'graphql-yoga';
import type { CitizenCommand, EventType, StoredEvent } from '@tracker/domain';
import { eventDataSchemas } from '@tracker/domain';
import { CitizenStateCache, handleCitizenCommand } from '@tracker/event-store';
import type { DataScope, TimelineEntry } from '@tracker/read-models';
import { primaryUnitOf, summarize } from '@tracker/read-models';
import { assertActsForUnit, AuthorizationError, citizenInScope, involvedUnitsOf, PersonalDataErasedError, type Principal } from '@tracker/security';
import { citizenIdArgument } from './arguments.ts';
import { asGraphqlError, disclose, grantOf, type TrackerContext } from './authorization.ts';
import { badField, badUserInput, commandError, type InputProblem } from './errors.ts';
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
  /** The commander's data scope: the payload's citizen is read within it. */
  scope: DataScope;
}

/** Where a unit is named in the citizen's stream: by a case, a handover, a contact. */
function unitsNamedInStream(stream: readonly StoredEvent[]) {
  const caseUnit = new Map<string, string>();
  const handover = new Map<string, { from: string; to: string }>();
  const contactUnit = new Map<string, string>();
  for (const event of stream) {
    if (event.type === 'CaseOpened' && !caseUnit.has(event.data.caseId)) caseUnit.set(event.data.caseId, event.data.unitId);
    if (event.type === 'HandoverInitiated' && !handover.has(event.data.handoverId)) {
      handover.set(event.data.handoverId, { from: event.data.fromUnitId, to: event.data.toUnitId });
    }
    if (event.type === 'ContactReceived' && !contactUnit.has(event.data.contactId)) contactUnit.set(event.data.contactId, event.data.unitId);
  }
  return { caseUnit, handover, contactUnit };
}

/** The unit a command is given as, or undefined when it acts for no unit (or names one the stream does not know: the decider refuses that). */
export function actingUnitOf(name: MutationName, data: Record<string, unknown>, stream: readonly StoredEvent[]): string | undefined {
  const str = (key: string) => (typeof data[key] === 'string' ? (data[key] as string) : undefined);
  const named = unitsNamedInStream(stream);
  switch (name) {
    case 'openCase':
    case 'receiveContact':
      return str('unitId');
    case 'initiateHandover':
      return str('fromUnitId');
    case 'closeCase':
      return named.caseUnit.get(str('caseId') ?? '');
    case 'cancelHandover':
      return named.handover.get(str('handoverId') ?? '')?.from;
    case 'acceptHandover':
    case 'rejectHandover':
    case 'completeHandover':
      return named.handover.get(str('handoverId') ?? '')?.to;
    case 'answerContact':
      return named.contactUnit.get(str('contactId') ?? '');
    default:
      return undefined;
  }
}

/**
 * A coordinator's command must concern a citizen of theirs (or one no unit is involved with yet) and
 * act as one of their units. Administrators command for anyone. Throws the refusal as a GraphQL error.
 */
async function assertMayCommand(name: MutationName, principal: Principal, scope: DataScope, citizenId: string, data: Record<string, unknown>, deps: GraphqlDependencies): Promise<void> {
  if (scope.allUnits) return;
  const stream = await deps.store.readStream(citizenId);
  const involved = involvedUnitsOf(stream);
  try {
    if (involved.size > 0 && !citizenInScope(scope, involved)) throw new AuthorizationError('out_of_scope');
    const unitId = actingUnitOf(name, data, stream);
    if (unitId !== undefined) assertActsForUnit(principal, unitId);
  } catch (error) {
    throw asGraphqlError(error);
  }
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

function commandResolver(name: MutationName, deps: GraphqlDependencies, states: CitizenStateCache) {
  const { command, event } = COMMANDS[name];
  const __typename = payloadTypeName(name);
  return async (_: unknown, args: CommandArgs, context: TrackerContext): Promise<CommandPayload> => {
    const grant = grantOf(context, 'mutation.command');
    const citizenId = citizenIdArgument(args.citizenId, 'citizenId');
    const data = commandData(event, args.input, deps);
    await assertMayCommand(name, context.principal!, grant.scope, citizenId, data, deps);
    let recorded: StoredEvent[];
    try {
      recorded = await handleCitizenCommand(
        { store: deps.store, clock: deps.clock, states },
        citizenId,
        { type: command, data } as CitizenCommand,
        args.occurredAt ? { occurredAt: args.occurredAt } : {},
      );
    } catch (error) {
      // The citizen's key was erased: no new personal data is taken for them.
      if (error instanceof PersonalDataErasedError) throw badField('input.personal', "the citizen's personal data was erased; send the command without it");
      commandError(error);
    }
    await disclose(deps.accessLog, context, grant, [citizenId]);
    return {
      __typename,
      events: recorded.map((e) => toTimelineEntry(e, deps)),
      citizenId,
      position: recorded.reduce((max, e) => Math.max(max, e.globalPosition), 0),
      scope: grant.scope,
    };
  };
}

/** `Mutation`, the `CommandPayload` interface and each payload type. */
export function commandResolvers(deps: GraphqlDependencies) {
  const names = Object.keys(COMMANDS) as MutationName[];
  // Recently commanded citizens' folded state: a command then reads only the events since.
  const states = new CitizenStateCache();
  const citizen = (payload: CommandPayload) => payloadCitizen(payload, deps);
  return {
    Mutation: Object.fromEntries(names.map((name) => [name, commandResolver(name, deps, states)])),
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
  const view = await deps.queries.citizen(payload.citizenId, asOf, payload.scope);
  return view ? { ...view, asOf, scope: payload.scope } : null;
}
