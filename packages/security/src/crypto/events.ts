/**
 * Encrypting `personal` on its way into the event store, for every path that appends: ingestion
 * (HTTP and Kafka), the coordinator commands, the demo loader. Best applied once, as a decorator of the
 * EventStore port's appendToStream/appendBatch, so a new path cannot forget it.
 *
 * Only CitizenRegistered carries personal data in catalog v1. An event whose `personal` is already an
 * encrypted envelope (a replay, a migration) passes unchanged; the caller's objects are never mutated.
 */
import { PersonalDataErasedError } from './errors.ts';
import { isEncryptedPersonal, PERSONAL_PURPOSE, type EncryptedPersonal, type PersonalDataProtector } from './personalData.ts';

interface EventLike {
  type: string;
  citizenId: string;
  data: object;
}

/** `personal` in the clear: present, an object, and not already an envelope. */
function plainPersonalOf(event: EventLike): object | undefined {
  if (event.type !== 'CitizenRegistered') return undefined;
  const personal = (event.data as { personal?: unknown }).personal;
  if (personal === undefined || personal === null || isEncryptedPersonal(personal)) return undefined;
  if (typeof personal !== 'object' || Array.isArray(personal)) throw new TypeError('CitizenRegistered data.personal must be an object');
  return personal;
}

/** The event with `data.personal` encrypted (a new object), or the same event when it has nothing to encrypt. */
export async function encryptEventPersonal<E extends EventLike>(protector: PersonalDataProtector, event: E): Promise<E> {
  const personal = plainPersonalOf(event);
  if (personal === undefined) return event;
  const encrypted: EncryptedPersonal = await protector.encryptPersonal(event.citizenId, personal, PERSONAL_PURPOSE);
  return { ...event, data: { ...event.data, personal: encrypted } };
}

/**
 * Every event of a batch with `personal` encrypted. When a citizen's key was erased the whole batch is
 * refused (all-or-nothing, like ingestion) with PersonalDataErasedError naming the event's index.
 */
export async function encryptPersonalInEvents<E extends EventLike>(protector: PersonalDataProtector, events: readonly E[]): Promise<E[]> {
  const out: E[] = [];
  for (let index = 0; index < events.length; index++) {
    try {
      out.push(await encryptEventPersonal(protector, events[index]!));
    } catch (error) {
      if (error instanceof PersonalDataErasedError) throw new PersonalDataErasedError(index);
      throw error;
    }
  }
  return out;
}

/** For the few reads allowed to see it (operation `query.personalData`): the decrypted `personal`, or null when erased or absent. */
export async function decryptEventPersonal<T extends object = { name?: string; cpr?: string }>(
  protector: PersonalDataProtector,
  event: EventLike,
): Promise<T | null> {
  if (event.type !== 'CitizenRegistered') return null;
  const personal = (event.data as { personal?: unknown }).personal;
  if (personal === undefined || personal === null) return null;
  return protector.decryptPersonal<T>(event.citizenId, personal, PERSONAL_PURPOSE);
}
