/**
 * The read models of distributed mode, configured exactly as the embedded tracker configures its own
 * (services/tracker/src/tracker.ts): the same projection context, the same derivations (gaps, flows,
 * deadlines), the same configuration fingerprint. Every service that opens the PostgreSQL read models
 * (the projector writes, the API reads) must open them with these options: `PostgresReadModel.open`
 * records the fingerprint, and a service opening them with another one would make the stored models
 * look out of date.
 */
import { createHash } from 'node:crypto';
import { loadPolicies, type DeadlinePolicySet, type UnitDirectory } from '@tracker/domain';
import { createFlowDerivation, deadlineDerivation, gapsDerivation, POSTGRES_READ_MODEL_VERSION, type PostgresReadModelOptions } from '@tracker/read-models';

export type TrackerReadModelOptions = Pick<PostgresReadModelOptions, 'projection' | 'derived' | 'configFingerprint'>;

/** `policies`: the kommune's deadline policies (POLICIES_FILE), default the shipped ones. */
export function trackerReadModelOptions(units: UnitDirectory, policies: DeadlinePolicySet = loadPolicies(undefined)): TrackerReadModelOptions {
  // The local service levels of domain.md §5 (10 hverdage) unless the kommune's policies say otherwise; as tracker.ts.
  const handoverAcceptanceDue = policies.dueFunction('overdragelse-accept', { amount: 10, unit: 'workingDays' });
  const relativeAnswerDue = policies.dueFunction('paarorende-svar', { amount: 10, unit: 'workingDays' });
  return {
    projection: { units, handoverAcceptanceDue },
    derived: [gapsDerivation({ units, handoverAcceptanceDue, relativeAnswerDue }), createFlowDerivation(units), deadlineDerivation({ policies, units })],
    // Unit names feed the timeline summaries and the policies feed due instants: a change rebuilds.
    configFingerprint: createHash('sha256').update(JSON.stringify({ units: units.units, policies: policies.fingerprint })).digest('hex'),
  };
}

/** What the read models' rows depend on: the storage shape, configuration and the derivations' versions. */
export function readModelIdentity(options: TrackerReadModelOptions): string {
  return createHash('sha256')
    .update(JSON.stringify({ storage: POSTGRES_READ_MODEL_VERSION, config: options.configFingerprint, derived: (options.derived ?? []).map((d) => `${d.name}@${d.version}`) }))
    .digest('hex');
}
