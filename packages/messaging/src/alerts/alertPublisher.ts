/**
 * Alerts on `transitions.alerts.v1`: state changes of deadlines (a clock turned AT_RISK, was BREACHED, or
 * was MET_LATE) and of gaps (a gap OPENED, became OVERDUE, CLOSED), for integrators that act on them —
 * a case system that puts a task in a caseworker's inbox, a manager's dashboard.
 *
 * The port is `AlertPublisher`: whoever detects the changes (the deadline alert scheduler, a gap watcher)
 * calls `publish` with the changes it has recorded and marks them published once it resolves. It
 * rejects when Kafka did not take all of them; publishing the same alerts again is safe, because an
 * alert's id is derived from what it is about (citizen, clock or gap, change), so a repeat carries the
 * same CloudEvents id and consumers drop it.
 *
 * Every alert is a CloudEvent (structured JSON, like the events topic), key = citizenId, so a citizen's
 * alerts stay in order; `type` is `dk.kommune.transitions.DeadlineAlert.v1` or `…GapAlert.v1`,
 * `subject` the citizenId, `time` the instant of the change. No personal data: ids, units, policies
 * and instants only.
 */
import { createHash } from 'node:crypto';
import { DEADLINE_ALERT_KINDS, type GapKind } from '@tracker/domain';
import { GAP_ALERT_KINDS, type RecordedAlert } from '@tracker/read-models';

/** The deadline changes worth an alert: the scheduler's alert kinds (domain `alertTransitions`). */
export const DEADLINE_ALERT_CHANGES = DEADLINE_ALERT_KINDS;
export type DeadlineAlertChange = (typeof DEADLINE_ALERT_CHANGES)[number];

/** The gap changes worth an alert: the scheduler's gap alert kinds. */
export const GAP_ALERT_CHANGES = GAP_ALERT_KINDS;
export type GapAlertChange = (typeof GAP_ALERT_CHANGES)[number];

export interface DeadlineAlert {
  kind: 'deadline';
  citizenId: string;
  /** The policy id, e.g. `bfu-4-maaneder`. */
  policy: string;
  /** The clock within the citizen (stable across re-derivations). */
  clockId: string;
  unitId: string | null;
  change: DeadlineAlertChange;
  /** When the change happened (ISO 8601): the at-risk instant, the due instant or the stop. */
  at: string;
  /** When it was detected; later than `at` when an event arrived late. */
  detectedAt: string;
  startedAt: string;
  dueAt: string;
  atRiskAt: string;
  stoppedAt: string | null;
  /** Position in the detector's own alert stream (its outbox), when it has one. */
  sequence?: number;
}

export interface GapAlert {
  kind: 'gap';
  citizenId: string;
  gapKind: GapKind;
  /** The gap within the citizen (`<kind>:<subjectId>`, stable across re-derivations). */
  gapKey: string;
  change: GapAlertChange;
  fromUnitId: string | null;
  toUnitId: string | null;
  relativeId: string | null;
  at: string;
  detectedAt: string;
  startedAt: string;
  endedAt: string | null;
  dueAt: string | null;
  sequence?: number;
}

export type TrackerAlert = DeadlineAlert | GapAlert;

/** The port the detectors call. */
export interface AlertPublisher {
  /** Resolves once every alert is durably published; rejects otherwise (publish them again). */
  publish(alerts: readonly TrackerAlert[]): Promise<void>;
}

export const ALERT_TYPES = {
  deadline: 'dk.kommune.transitions.DeadlineAlert.v1',
  gap: 'dk.kommune.transitions.GapAlert.v1',
} as const;

/** The same id for the same change of the same thing, however often it is published. */
export function alertId(alert: TrackerAlert): string {
  const about = alert.kind === 'deadline' ? `deadline\u0000${alert.citizenId}\u0000${alert.clockId}` : `gap\u0000${alert.citizenId}\u0000${alert.gapKey}`;
  const hex = createHash('sha256').update(`${about}\u0000${alert.change}`).digest('hex');
  // Shaped as a UUID (version 8: custom), as event ids are.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface AlertCloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: (typeof ALERT_TYPES)[keyof typeof ALERT_TYPES];
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  partitionkey: string;
  data: Omit<DeadlineAlert, 'kind' | 'citizenId'> | Omit<GapAlert, 'kind' | 'citizenId'>;
}

export function toAlertCloudEvent(alert: TrackerAlert, source: string): AlertCloudEvent {
  const { kind, citizenId, ...data } = alert;
  return {
    specversion: '1.0',
    id: alertId(alert),
    source,
    type: ALERT_TYPES[kind],
    subject: citizenId,
    time: alert.at,
    datacontenttype: 'application/json',
    partitionkey: citizenId,
    data,
  };
}

/** What the alert scheduler records per deadline alert (instants in ms): its outbox record, untagged. */
export type ScheduledDeadlineAlert = Omit<Extract<RecordedAlert, { about: 'deadline' }>, 'about'>;

/** What the alert scheduler records per gap alert (instants in ms): its outbox record, untagged. */
export type ScheduledGapAlert = Omit<Extract<RecordedAlert, { about: 'gap' }>, 'about'>;

const iso = (ms: number) => new Date(ms).toISOString();

/** The scheduler's alert as the Kafka contract's DeadlineAlert. */
export function deadlineAlertOf(a: ScheduledDeadlineAlert): DeadlineAlert {
  return {
    kind: 'deadline',
    citizenId: a.citizenId,
    policy: a.policy,
    clockId: a.clockId,
    unitId: a.unitId,
    change: a.kind,
    at: iso(a.atMs),
    detectedAt: iso(a.detectedMs),
    startedAt: iso(a.startedMs),
    dueAt: iso(a.dueMs),
    atRiskAt: iso(a.atRiskMs),
    stoppedAt: a.stoppedMs === null ? null : iso(a.stoppedMs),
    sequence: a.sequence,
  };
}

/** The scheduler's gap alert as the Kafka contract's GapAlert. */
export function gapAlertOf(a: ScheduledGapAlert): GapAlert {
  return {
    kind: 'gap',
    citizenId: a.citizenId,
    gapKind: a.gapKind,
    gapKey: a.gapKey,
    change: a.kind,
    fromUnitId: a.fromUnitId,
    toUnitId: a.toUnitId,
    relativeId: a.relativeId,
    at: iso(a.atMs),
    detectedAt: iso(a.detectedMs),
    startedAt: iso(a.startedMs),
    endedAt: a.endedMs === null ? null : iso(a.endedMs),
    dueAt: a.dueMs === null ? null : iso(a.dueMs),
    sequence: a.sequence,
  };
}

/** An alert of the scheduler's outbox (@tracker/read-models) as the Kafka contract's alert. */
export function trackerAlertOf(alert: RecordedAlert): TrackerAlert {
  return alert.about === 'deadline' ? deadlineAlertOf(alert) : gapAlertOf(alert);
}

/** Keeps what it is given: for the embedded mode and for tests of detectors. */
export class InMemoryAlertPublisher implements AlertPublisher {
  readonly published: TrackerAlert[] = [];
  async publish(alerts: readonly TrackerAlert[]): Promise<void> {
    this.published.push(...alerts);
  }
}
