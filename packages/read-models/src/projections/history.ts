/**
 * A citizen's history read back from the timeline projection (it keeps each event whole), for the
 * derivations: the same columns and the same mapping on every read-model adapter.
 */
import type { StoredEvent } from '@tracker/domain';

/** The timeline columns a history is read from. */
export const HISTORY_COLUMNS = 'event_id, type, citizen_id, occurred_at, recorded_at, source, data, stream_version, position';

export interface HistoryRow {
  event_id: string;
  type: string;
  citizen_id: string;
  occurred_at: string;
  recorded_at: string;
  source: string | null;
  data: string;
  stream_version: number;
  position: number;
}

export const storedEventOf = (r: HistoryRow): StoredEvent =>
  ({
    id: r.event_id,
    type: r.type,
    citizenId: r.citizen_id,
    occurredAt: r.occurred_at,
    ...(r.source === null ? {} : { source: r.source }),
    data: JSON.parse(r.data),
    recordedAt: r.recorded_at,
    streamVersion: r.stream_version,
    globalPosition: r.position,
  }) as StoredEvent;
