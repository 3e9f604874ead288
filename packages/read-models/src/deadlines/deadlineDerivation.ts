/**
 * Deadline clocks as a derived read model: after every batch, each touched citizen's clocks are
 * derived again from their whole history (clocksOf, pure) and their rows replaced. Rows hold the
 * instants that decide every answer — start, due, at-risk, stop, and the window in which the clock
 * exists — so queries compute status at any `asOf` in SQL (sqliteDeadlineQueries.ts).
 *
 * `start_position` and `source_position` (the latest global positions among the events that start,
 * and that start or stop, a clock) tell the alert scheduler which clocks a batch changed — a clock
 * re-derived because of an unrelated event keeps them — without the derivation doing anything but
 * return rows.
 */
import type { UnitDirectory } from '@tracker/domain';
import type { CitizenDerivation, DerivedRow, DerivedTable } from '../derived.ts';
import { clocksOf, type DeadlineClock, type DeadlinePolicySet, type SectorLookup } from '@tracker/domain';

export const DEADLINE_CLOCKS_TABLE = 'deadline_clocks';

/** Bump when the rows change meaning: stored clocks are then rebuilt. */
export const DEADLINE_DERIVATION_VERSION = 1;

/** One stored row of `deadline_clocks`, as the adapters read it (instants epoch ms). */
export interface DeadlineClockRow {
  citizen_id: string;
  clock_id: string;
  policy: string;
  unit_id: string | null;
  started_ms: number;
  due_ms: number;
  at_risk_ms: number;
  stopped_ms: number | null;
  visible_from_ms: number;
  visible_until_ms: number | null;
  start_position: number;
  source_position: number;
}

export const deadlineClocksTable: DerivedTable = {
  name: DEADLINE_CLOCKS_TABLE,
  columns: {
    clock_id: 'text',
    policy: 'text',
    unit_id: 'text',
    started_ms: 'integer',
    due_ms: 'integer',
    at_risk_ms: 'integer',
    stopped_ms: 'integer',
    visible_from_ms: 'integer',
    visible_until_ms: 'integer',
    start_position: 'integer',
    source_position: 'integer',
  },
  // Short indexes: each costs every write (rows are replaced per touched citizen), and ties on due
  // are few enough to sort.
  indexes: [
    // Lists in due order: all, per unit, per policy.
    ['due_ms'],
    ['unit_id', 'due_ms'],
    ['policy', 'due_ms'],
    // The at-risk worklist: per unit and policy, a short stretch of due instants after asOf.
    ['unit_id', 'policy', 'due_ms'],
    // The alert scheduler: instants passing (with due_ms above), and clocks whose events arrived.
    ['at_risk_ms'],
    ['stopped_ms'],
    ['visible_from_ms'],
    ['source_position'],
  ],
};

export interface DeadlineDerivationOptions {
  policies: DeadlinePolicySet;
  units: SectorLookup | UnitDirectory;
}

export function clockRow(clock: DeadlineClock): DerivedRow {
  return {
    clock_id: clock.clockId,
    policy: clock.policy,
    unit_id: clock.unitId,
    started_ms: clock.startedAt,
    due_ms: clock.dueAt,
    at_risk_ms: clock.atRiskAt,
    stopped_ms: clock.stoppedAt,
    visible_from_ms: clock.visibleFrom,
    visible_until_ms: clock.visibleUntil,
    start_position: clock.startPosition,
    source_position: clock.sourcePosition,
  };
}

/**
 * The deadline derivation for SqliteReadModel's `derived` option. Its name carries the policies'
 * fingerprint, so changing POLICIES_FILE (or the closed days) rebuilds the stored clocks.
 */
export function deadlineDerivation({ policies, units }: DeadlineDerivationOptions): CitizenDerivation {
  return {
    name: `deadlines#${policies.fingerprint.slice(0, 16)}`,
    version: DEADLINE_DERIVATION_VERSION,
    tables: [deadlineClocksTable],
    derive(_citizenId, history) {
      return { [DEADLINE_CLOCKS_TABLE]: clocksOf(history, policies, units).map(clockRow) };
    },
  };
}
