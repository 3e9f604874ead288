/**
 * The alert scheduler on the embedded SQLite read-model database, under the name it had when it
 * alerted deadlines only. The scheduler itself (exactly-once through an outbox, time and data
 * watermarks, late-discovery horizon, first start skips history) is storage-independent and lives in
 * alerts/alertScheduler.ts; this is it over SqliteAlertStore. On a read model with the gaps derivation
 * it alerts gaps too: the stream carries both (`about`), and deadline-only consumers filter.
 */
import type Database from 'better-sqlite3';
import { AlertScheduler, type AlertSchedulerOptions } from '../alerts/alertScheduler.ts';
import type { AlertListener, AlertSource } from '../alerts/alertRecords.ts';
import { SqliteAlertStore } from '../alerts/sqliteAlertStore.ts';

export type { DeadlineAlert } from '../alerts/alertRecords.ts';
export type DeadlineAlertListener = AlertListener;
export type DeadlineAlertSource = AlertSource;

export interface DeadlineAlertSchedulerOptions extends Omit<AlertSchedulerOptions, 'store'> {
  /** The read-model database holding `deadline_clocks` and/or `gaps` (SqliteReadModel.database). */
  database: Database.Database;
}

export class DeadlineAlertScheduler extends AlertScheduler {
  constructor({ database, ...options }: DeadlineAlertSchedulerOptions) {
    super({ ...options, store: new SqliteAlertStore(database) });
  }
}
