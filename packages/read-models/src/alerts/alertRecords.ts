/**
 * What the alert scheduler records in its outbox and hands to live listeners: state changes of deadline
 * clocks (AT_RISK, BREACHED, MET_LATE) and of gaps (OPENED, OVERDUE, CLOSED), instants in epoch ms.
 * Plain data with no transport concerns: the Kafka relay (@tracker/messaging) and the GraphQL feed
 * (@tracker/api) map them to their own contracts.
 */
import type { DeadlineAlertKind, GapKind } from '@tracker/domain';

export const GAP_ALERT_KINDS = ['OPENED', 'OVERDUE', 'CLOSED'] as const;
export type GapAlertKind = (typeof GAP_ALERT_KINDS)[number];

export interface DeadlineAlert {
  about: 'deadline';
  /** Position in the alert stream: increasing (with gaps where an alert was recorded unpublished). */
  sequence: number;
  kind: DeadlineAlertKind;
  citizenId: string;
  clockId: string;
  policy: string;
  unitId: string | null;
  /** When the change happened (the at-risk, due or stop instant). */
  atMs: number;
  /** When the scheduler noticed it. */
  detectedMs: number;
  startedMs: number;
  dueMs: number;
  atRiskMs: number;
  stoppedMs: number | null;
}

export interface GapAlert {
  about: 'gap';
  sequence: number;
  kind: GapAlertKind;
  citizenId: string;
  /** The gap within the citizen (`<kind>:<subjectId>`, stable across re-derivations). */
  gapKey: string;
  gapKind: GapKind;
  fromUnitId: string | null;
  toUnitId: string | null;
  relativeId: string | null;
  /** When the change happened (the start, the due instant or the end). */
  atMs: number;
  detectedMs: number;
  startedMs: number;
  endedMs: number | null;
  dueMs: number | null;
}

export type RecordedAlert = DeadlineAlert | GapAlert;

/** An alert before the outbox gave it a sequence number. */
export type UnsequencedAlert = RecordedAlert extends infer A ? (A extends RecordedAlert ? Omit<A, 'sequence'> : never) : never;

export type AlertListener = (alert: RecordedAlert) => void;

/** What a live subscriber needs (the GraphQL feed depends on this, not on a scheduler). */
export interface AlertSource {
  /** Published alerts from now on, each once, in sequence order; returns the unsubscribe function. */
  subscribe(listener: AlertListener): () => void;
  /** Published alerts after a sequence number, in order: the durable stream (replay, Kafka relay). */
  alertsAfter(sequence: number, limit?: number): Promise<RecordedAlert[]>;
}
