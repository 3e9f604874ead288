/** Builds stored events by hand for read-model tests: positions in arrival order. */
import { randomUUID } from 'node:crypto';
import type { EventData, EventType, StoredEvent } from '@tracker/domain';

export class StoredEventFactory {
  #position = 0;
  #versions = new Map<string, number>();

  constructor(private readonly recordedAt = '2026-01-01T00:00:00.000Z') {}

  event<T extends EventType>(citizenId: string, type: T, occurredAt: string, data: EventData<T>): StoredEvent {
    const version = (this.#versions.get(citizenId) ?? -1) + 1;
    this.#versions.set(citizenId, version);
    return {
      id: randomUUID(),
      type,
      citizenId,
      occurredAt,
      data,
      recordedAt: this.recordedAt,
      streamVersion: version,
      globalPosition: ++this.#position,
    } as StoredEvent;
  }
}
