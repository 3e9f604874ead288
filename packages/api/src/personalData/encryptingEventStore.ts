/**
 * Personal data is encrypted on its way into the event store, at the port (docs/security.md §7): this
 * decorator wraps any EventStore so that both append paths — `appendBatch` (ingestion over HTTP and
 * Kafka, the demo loader) and `appendToStream` (the coordinator commands) — pass every event through
 * `encryptPersonalInEvents` first. Whoever appends through it cannot store `CitizenRegistered.personal`
 * in the clear, and a new append path gets it by being given this store.
 *
 * Reads return what is stored (ciphertext); only the audited `personalData` field decrypts. A
 * citizen whose key was erased gets no new personal data: the append is refused as a whole with
 * PersonalDataErasedError naming the event's index in the batch.
 */
import type { TransitionEvent } from '@tracker/domain';
import type { EventStore } from '@tracker/event-store';
import { encryptPersonalInEvents, type PersonalDataProtector } from '@tracker/security';

export function encryptingEventStore(store: EventStore, protector: PersonalDataProtector): EventStore {
  const encrypt = (events: readonly TransitionEvent[]) => encryptPersonalInEvents(protector, events);
  return {
    appendToStream: async (citizenId, events, options) => store.appendToStream(citizenId, await encrypt(events), options),
    appendBatch: async (events) => store.appendBatch(await encrypt(events)),
    readStream: (citizenId, options) => store.readStream(citizenId, options),
    readAll: (options) => store.readAll(options),
    subscribeToAll: (options, handler) => store.subscribeToAll(options, handler),
    headPosition: () => store.headPosition(),
    close: () => store.close(),
  };
}
