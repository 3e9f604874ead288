/**
 * The deadline read model on SQLite: the deadline query contract (deadlineQueriesContract.ts) —
 * stored clocks equal the pure derivation, statuses computed in SQL equal the domain's rules at every
 * asOf, keyset pages add up, the compliance view counts and suppresses small cells, the worklist is
 * ordered by time left, the data scope applies — and the rows do not depend on the order events
 * arrived in.
 */
import { deadlineQueriesContract } from './deadlineQueriesContract.ts';
import { deadlineTestbed } from './testing.ts';

deadlineQueriesContract('SQLite', { testbed: (options) => deadlineTestbed(options) });
