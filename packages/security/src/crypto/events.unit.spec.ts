import { describe, expect, it } from 'vitest';
import { PersonalDataErasedError } from './errors.ts';
import { decryptEventPersonal, encryptEventPersonal, encryptPersonalInEvents } from './events.ts';
import { generateKeyEncryptionKey, parseKeyEncryptionKey } from './keyEncryptionKey.ts';
import { isEncryptedPersonal, PersonalDataProtector } from './personalData.ts';
import { SqliteKeyStore } from './sqliteKeyStore.ts';

const registered = (citizenId: string, personal?: object) => ({
  id: `e-${citizenId}`,
  type: 'CitizenRegistered',
  citizenId,
  occurredAt: '2025-01-01T09:00:00+01:00',
  data: { birthDate: '2010-02-03', municipality: '0751', disability: false, ...(personal ? { personal } : {}) },
});

describe('encrypting personal on append', () => {
  it('encrypts CitizenRegistered.personal, keeps everything else, and does not mutate the input', async () => {
    const p = await PersonalDataProtector.open({ kek: parseKeyEncryptionKey(generateKeyEncryptionKey()), store: new SqliteKeyStore(':memory:') });
    const input = registered('c-1', { name: 'Freja Testesen', cpr: '010190-1234' });
    const stored = await encryptEventPersonal(p, input);
    expect(input.data).toHaveProperty('personal.name', 'Freja Testesen');
    expect(isEncryptedPersonal(stored.data.personal)).toBe(true);
    expect(stored).toMatchObject({ id: 'e-c-1', citizenId: 'c-1', data: { birthDate: '2010-02-03', municipality: '0751', disability: false } });
    expect(JSON.stringify(stored)).not.toMatch(/Freja|010190/);
    // Idempotent: an already-encrypted event passes unchanged.
    expect(await encryptEventPersonal(p, stored)).toBe(stored);
    await expect(decryptEventPersonal(p, stored)).resolves.toEqual({ name: 'Freja Testesen', cpr: '010190-1234' });

    const other = { ...input, type: 'CaseOpened', data: { caseId: 'k', unitId: 'u' } };
    expect(await encryptEventPersonal(p, other)).toBe(other);
    const without = registered('c-2');
    expect(await encryptEventPersonal(p, without)).toBe(without);
  });

  it('a batch naming an erased citizen is refused with the event’s index', async () => {
    const p = await PersonalDataProtector.open({ kek: parseKeyEncryptionKey(generateKeyEncryptionKey()), store: new SqliteKeyStore(':memory:') });
    await p.eraseCitizenKey('c-2');
    const error = await encryptPersonalInEvents(p, [registered('c-1', { name: 'A' }), registered('c-2', { name: 'B' })]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PersonalDataErasedError);
    expect(error).toMatchObject({ index: 1 });
    await expect(decryptEventPersonal(p, registered('c-2'))).resolves.toBeNull();
  });
});
