/**
 * The role × operation matrix: the single answer to "may this role do this at all". What data an
 * allowed operation may then touch is the data scope (policy.ts), applied by the data layer.
 *
 * Deny by default: an operation missing here does not exist, and a GraphQL root field that maps to no
 * operation is refused (operationOfGraphqlField).
 */
import type { Role } from '../auth/principal.ts';

/**
 * What an operation discloses:
 * - `reference`: configuration everybody needs to read the rest (the unit list);
 * - `citizen`: citizen-level data (pseudonymous ids, timelines, handovers) — coordinators within scope;
 * - `aggregate`: counts and durations per unit, no citizen-level field, small cells suppressed;
 * - `write`: records facts;
 * - `stream`: live events or alerts;
 * - `administration`: configuration, exports, the access log.
 */
export type Disclosure = 'reference' | 'citizen' | 'aggregate' | 'write' | 'stream' | 'administration';

export interface OperationRule {
  roles: readonly Role[];
  disclosure: Disclosure;
  /** Every citizen this operation returns must be appended to the access log (domain.md §6). */
  audited: boolean;
  /** One line for the matrix in docs/security.md. */
  description: string;
}

const ALL: readonly Role[] = ['coordinator', 'manager', 'integrator', 'administrator'];

export const OPERATION_RULES = {
  'query.units': { roles: ALL, disclosure: 'reference', audited: false, description: 'the configured units' },
  'query.policies': { roles: ALL, disclosure: 'reference', audited: false, description: 'the configured deadline policies' },
  'query.schema': { roles: ALL, disclosure: 'reference', audited: false, description: '`__typename`, and introspection where it is enabled (not in production)' },
  'query.citizen': { roles: ['coordinator', 'administrator'], disclosure: 'citizen', audited: true, description: "one citizen's timeline, cases, handovers, gaps, deadlines, relatives" },
  'query.personalData': { roles: ['coordinator', 'administrator'], disclosure: 'citizen', audited: true, description: "a citizen's decrypted name/CPR (CitizenRegistered.personal)" },
  'query.handovers': { roles: ['coordinator', 'administrator'], disclosure: 'citizen', audited: true, description: 'handover list across citizens' },
  'query.gaps': { roles: ['coordinator', 'administrator'], disclosure: 'citizen', audited: true, description: 'gap list across citizens' },
  'query.deadlines': { roles: ['coordinator', 'administrator'], disclosure: 'citizen', audited: true, description: 'deadline list across citizens' },
  'query.flows': { roles: ['manager', 'administrator'], disclosure: 'aggregate', audited: false, description: 'unit → unit flows (counts, medians)' },
  'query.compliance': { roles: ['manager', 'administrator'], disclosure: 'aggregate', audited: false, description: 'deadline compliance per unit' },
  'query.dataQuality': { roles: ['manager', 'integrator', 'administrator'], disclosure: 'aggregate', audited: false, description: 'anomaly counts per source system (no citizen data)' },
  'mutation.command': { roles: ['coordinator', 'administrator'], disclosure: 'write', audited: true, description: 'coordinator commands (open case, initiate/accept/reject handover …)' },
  'ingest.events': { roles: ['integrator', 'administrator'], disclosure: 'write', audited: false, description: 'POST /v1/events and the Kafka ingest topic' },
  // A delivered event or alert names a citizen and what happened to them: a read like any other (domain.md §6).
  'subscribe.events': { roles: ['coordinator', 'integrator', 'administrator'], disclosure: 'stream', audited: true, description: 'live stored events (SSE)' },
  'subscribe.alerts': { roles: ['coordinator', 'integrator', 'administrator'], disclosure: 'stream', audited: true, description: 'live gap and deadline alerts (SSE)' },
  'export.data': { roles: ['administrator'], disclosure: 'administration', audited: true, description: 'bulk export of citizen-level data (XES/OCEL process-mining exports)' },
  'admin.configuration': { roles: ['administrator'], disclosure: 'administration', audited: false, description: 'units, policies, rebuilds, erasure (crypto-shredding)' },
  'audit.insight': { roles: ['administrator'], disclosure: 'administration', audited: false, description: "a citizen's lookups for a request of insight (no employee identities)" },
  'audit.investigation': { roles: ['administrator'], disclosure: 'administration', audited: false, description: 'access-log entries with employee identities, for misuse investigations' },
} as const satisfies Record<string, OperationRule>;

export type Operation = keyof typeof OPERATION_RULES;
export const OPERATIONS = Object.keys(OPERATION_RULES) as Operation[];

export const isOperation = (value: unknown): value is Operation => typeof value === 'string' && Object.hasOwn(OPERATION_RULES, value);

/**
 * GraphQL root fields → operations. A mutation is a coordinator command unless listed here (the
 * administrators' mutations); subscriptions and queries are listed one by one, so a Query or
 * Subscription field added to the schema without a line here is refused until someone decides who may
 * use it.
 */
const GRAPHQL_FIELDS: Record<'Query' | 'Mutation' | 'Subscription', Record<string, Operation>> = {
  Query: {
    units: 'query.units',
    deadlinePolicies: 'query.policies',
    citizen: 'query.citizen',
    handovers: 'query.handovers',
    gaps: 'query.gaps',
    deadlines: 'query.deadlines',
    atRiskDeadlines: 'query.deadlines',
    flows: 'query.flows',
    flowsBySector: 'query.flows',
    flowCohorts: 'query.flows',
    compliance: 'query.compliance',
    deadlineCompliance: 'query.compliance',
    anomalyCounts: 'query.dataQuality',
    accessLog: 'audit.insight',
    accessLogEntries: 'audit.investigation',
  },
  Mutation: {
    erasePersonalData: 'admin.configuration',
  },
  Subscription: {
    eventRecorded: 'subscribe.events',
    deadlineAlerts: 'subscribe.alerts',
    alerts: 'subscribe.alerts',
  },
};

export function operationOfGraphqlField(rootType: string, field: string): Operation | undefined {
  if (field.startsWith('__')) return 'query.schema';
  if (rootType !== 'Query' && rootType !== 'Mutation' && rootType !== 'Subscription') return undefined;
  const table = GRAPHQL_FIELDS[rootType];
  if (Object.hasOwn(table, field)) return table[field];
  return rootType === 'Mutation' ? 'mutation.command' : undefined;
}
