/**
 * Privacy through the real embedded tracker: every read of a citizen is in the access log before it is
 * answered, a citizen's lookups can be listed for a request of insight (without employees), and
 * personal data is crypto-shredded — after erasure the name and CPR number are in no file of the data
 * folder (event store, read models, key store, access log, their write-ahead logs), the key is gone,
 * and the pseudonymous timeline is intact, also after a restart.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig } from '@tracker/platform';
import { decryptEventPersonal, ERASURE_OPERATION, generateKeyEncryptionKey } from '@tracker/security';
import { startTestIssuer, type TestIssuer } from '@tracker/security/testing';
import { ManualClock } from '@tracker/domain';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ADULT, CHILD, CPR, CPR_DIGITS, DEFAULT_CLAIMS, filesContaining, filesUnder, flowCitizen, kommune, NAME, NOW, startSecuredTracker, subscribe, readEvents, type SecuredTracker } from './testing/securedTracker.ts';
import { startTracker, KEY_STORE_FILE, type RunningTracker } from './tracker.ts';

describe('the access log', () => {
  let t: SecuredTracker;
  beforeAll(async () => {
    t = await startSecuredTracker();
  });
  afterAll(async () => t?.close());

  it('records a citizen read — who, when, what, why — before answering, and lists it for the citizen without the employee', async () => {
    const coordinator = await t.token('coordinator');
    const answer = await t.gql(`{ citizen(id: "${flowCitizen(2)}") { id timeline { type } } }`, {
      token: coordinator,
      headers: { 'x-purpose': encodeURIComponent('Visitationsmøde, sag 2025-117') },
    });
    expect(answer.errors).toBeUndefined();
    const [entry] = await t.tracker.accessLog.entries({ citizenId: flowCitizen(2) });
    expect(entry).toMatchObject({ actor: 'coordinator-child', actorRole: 'coordinator', citizenId: flowCitizen(2), operation: 'query.citizen', purpose: 'Visitationsmøde, sag 2025-117' });
    expect(Date.parse(entry!.at)).toBe(Date.parse(NOW));

    const insight = await t.gql(`{ accessLog(citizenId: "${flowCitizen(2)}") { at operation purpose } }`, { token: await t.token('administrator') });
    expect(insight.data.accessLog).toEqual([{ at: expect.any(String), operation: 'query.citizen', purpose: 'Visitationsmøde, sag 2025-117' }]);
    // A request of insight names no employee.
    expect(insight.text).not.toContain('coordinator-child');
    const investigation = await t.gql(`{ accessLogEntries(citizenId: "${flowCitizen(2)}") { actor actorRole operation } }`, { token: await t.token('administrator') });
    expect(investigation.data.accessLogEntries).toEqual([{ actor: 'coordinator-child', actorRole: 'coordinator', operation: 'query.citizen' }]);
  });

  it('records every citizen a list discloses, and the administrator’s own reads too', async () => {
    const admin = await t.token('administrator');
    const before = await t.tracker.accessLog.entries({ actor: 'administrator-1', limit: 10_000 });
    const answer = await t.gql('{ handovers(first: 3) { edges { node { citizenId } } } gaps(first: 2) { edges { node { citizenId } } } }', { token: admin });
    const shown = new Set<string>([...answer.data.handovers.edges, ...answer.data.gaps.edges].map((e: { node: { citizenId: string } }) => e.node.citizenId));
    const after = await t.tracker.accessLog.entries({ actor: 'administrator-1', limit: 10_000 });
    const logged = after.slice(before.length);
    expect(new Set(logged.map((e) => e.citizenId))).toEqual(shown);
    expect(new Set(logged.map((e) => e.operation))).toEqual(new Set(['query.handovers', 'query.gaps']));
    expect(logged.every((e) => e.actorRole === 'administrator' && e.purpose === null)).toBe(true);
  });

  it('records commands, personal-data reads, exports and live events', async () => {
    const coordinator = await t.token('coordinator');
    const admin = await t.token('administrator');
    const stream = await subscribe(t.tracker.url, 'subscription { eventRecorded { citizenId } }', coordinator);
    const command = await t.gql(`mutation { receiveContact(citizenId: "${flowCitizen(3)}", input: { contactId: "kt-log", unitId: "${CHILD}", from: "citizen" }) { events { type } } }`, {
      token: coordinator,
    });
    expect(command.errors).toBeUndefined();
    await readEvents(stream.response, stream.abort, (s) => s.includes(flowCitizen(3)));
    const personal = await t.gql(`{ citizen(id: "${flowCitizen(1)}") { personalData { name cpr erased } } }`, { token: admin });
    expect(personal.data.citizen.personalData).toEqual({ name: NAME, cpr: CPR, erased: false });
    const exported = await fetch(`${t.tracker.url}/v1/exports/xes?unitId=${ADULT}`, { headers: { authorization: `Bearer ${admin}`, 'x-purpose': 'procesanalyse' } });
    expect(exported.status).toBe(200);
    await exported.text();

    const operations = (await t.tracker.accessLog.entries({ limit: 10_000 })).map((e) => `${e.operation} ${e.citizenId}`);
    expect(operations).toContain(`mutation.command ${flowCitizen(3)}`);
    expect(operations).toContain(`subscribe.events ${flowCitizen(3)}`);
    expect(operations).toContain(`query.personalData ${flowCitizen(1)}`);
    expect(operations).toContain(`export.data c-adult-01`);
    expect(await t.tracker.accessLog.entries({ citizenId: 'c-adult-01' })).toEqual(
      expect.arrayContaining([expect.objectContaining({ operation: 'export.data', purpose: 'procesanalyse', actor: 'administrator-1' })]),
    );
  });

  it('answers nothing it could not log first (fail closed)', async () => {
    // A second tracker whose access log is closed under it: reads of citizens must fail, not be answered unlogged.
    const other = await startSecuredTracker();
    try {
      await other.tracker.accessLog.close();
      const answer = await other.gql(`{ citizen(id: "${flowCitizen(1)}") { id timeline { type } } }`, { token: await other.token('administrator') });
      expect(answer.data?.citizen ?? null).toBeNull();
      expect(answer.errors?.[0]?.message).toBe('Unexpected error.');
      expect(answer.text).not.toContain('timeline');
      // Reference data needs no log and still answers.
      expect((await other.gql('{ units { id } }', { token: await other.token('coordinator') })).errors).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  it('records an erasure — who, why — before the key is destroyed, and tells the citizen when, not who', async () => {
    const admin = await t.token('administrator');
    const citizenId = flowCitizen(1); // the one with personal data, read by the test before
    const erased = await t.gql(`mutation { erasePersonalData(citizenId: "${citizenId}") { erased } }`, { token: admin, headers: { 'x-purpose': 'anmodning om sletning' } });
    expect(erased.data.erasePersonalData).toEqual({ erased: true });
    const [entry] = (await t.tracker.accessLog.entries({ citizenId, limit: 10_000 })).filter((e) => e.operation === ERASURE_OPERATION);
    expect(entry).toMatchObject({ actor: 'administrator-1', actorRole: 'administrator', citizenId, purpose: 'anmodning om sletning' });
    expect(await t.tracker.accessLog.erasures()).toEqual(expect.arrayContaining([{ citizenId, erasedAt: entry!.at }]));
    const insight = await t.gql(`{ accessLog(citizenId: "${citizenId}") { at operation purpose } }`, { token: admin });
    expect(insight.data.accessLog).toContainEqual({ at: entry!.at, operation: ERASURE_OPERATION, purpose: 'anmodning om sletning' });
    expect(insight.text).not.toContain('administrator-1');
    // A purpose with a CPR number refuses the erasure before anything is recorded or destroyed.
    const refused = await t.gql(`mutation { erasePersonalData(citizenId: "${flowCitizen(5)}") { erased } }`, { token: admin, headers: { 'x-purpose': 'sag 010190-1234' } });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'x-purpose' });
    expect(refused.text).not.toContain('010190');
    expect(await t.tracker.personalData.isErased(flowCitizen(5))).toBe(false);
    expect((await t.tracker.accessLog.erasures()).map((e) => e.citizenId)).not.toContain(flowCitizen(5));
  });

  it('erases no key it could not record first', async () => {
    // A second tracker whose access log is closed under it: the erasure must fail and the key stay.
    const other = await startSecuredTracker();
    try {
      const admin = await other.token('administrator');
      const personal = `{ citizen(id: "${flowCitizen(1)}") { personalData { name erased } } }`;
      expect((await other.gql(personal, { token: admin })).data.citizen.personalData).toEqual({ name: NAME, erased: false });
      await other.tracker.accessLog.close();
      const answer = await other.gql(`mutation { erasePersonalData(citizenId: "${flowCitizen(1)}") { erased } }`, { token: admin });
      expect(answer.data?.erasePersonalData ?? null).toBeNull();
      expect(answer.errors?.[0]).toMatchObject({
        message: 'The erasure could not be recorded in the access log, so the key was not erased; try again.',
        extensions: { code: 'ERASURE_NOT_RECORDED' },
      });
      expect(await other.tracker.personalData.isErased(flowCitizen(1))).toBe(false);
      expect((await other.gql(personal, { token: admin })).errors?.[0]?.message).toBe('Unexpected error.'); // reads fail closed too
      const [registered] = await other.tracker.store.readStream(flowCitizen(1));
      expect(await decryptEventPersonal(other.tracker.personalData, registered!)).toMatchObject({ name: NAME });
    } finally {
      await other.close();
    }
  });

  it('is append-only: the file refuses changes, and the chain verifies', async () => {
    const db = new Database(join(t.dataDir, 'access-log.sqlite'));
    try {
      expect(() => db.prepare('DELETE FROM access_log').run()).toThrow(/append-only/);
      expect(() => db.prepare("UPDATE access_log SET actor = 'someone-else'").run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
    expect(await t.tracker.accessLog.verify()).toMatchObject({ ok: true });
  });
});

describe('crypto-shredding in the real embedded tracker', () => {
  let issuer: TestIssuer;
  let dataDir: string;
  let tracker: RunningTracker;
  const kek = generateKeyEncryptionKey();
  const clock = new ManualClock(NOW);
  const REGISTERED_NAME = 'Registreret Viagraphql Kommandosen';
  const REGISTERED_CPR = '121110-9876';
  const needles = [NAME, CPR, CPR_DIGITS, REGISTERED_NAME, REGISTERED_CPR, REGISTERED_CPR.replace('-', '')];

  const start = async () => {
    const config = loadConfig({ PORT: '0', DATA_DIR: dataDir, DEMO: 'off', AUTH_MODE: 'oidc', OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: issuer.audience, PERSONAL_DATA_KEK: kek });
    tracker = await startTracker({ config, logger: createLogger({ level: 'silent' }), clock });
  };
  const token = (role: keyof typeof DEFAULT_CLAIMS) => issuer.token({ claims: DEFAULT_CLAIMS[role] });
  const gql = async (query: string) => {
    const response = await fetch(`${tracker.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('administrator')}` },
      body: JSON.stringify({ query }),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads loosely shaped GraphQL answers
    return (await response.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  };
  const timelineOf = async (citizenId: string) => (await gql(`{ citizen(id: "${citizenId}") { timeline { type occurredAt } } }`)).data.citizen.timeline;
  const personalOf = async (citizenId: string) => (await gql(`{ citizen(id: "${citizenId}") { personalData { name cpr erased } } }`)).data.citizen.personalData;
  /** No needle in any file of the data folder: name and CPR, both spellings. */
  const assertNoPersonalDataOnDisk = () => {
    expect(filesUnder(dataDir).some((f) => f.endsWith('-wal'))).toBe(true);
    for (const needle of needles) expect(filesContaining(dataDir, needle), needle).toEqual([]);
  };
  const wrappedKeyOf = (citizenId: string): Buffer => {
    const db = new Database(join(dataDir, KEY_STORE_FILE), { readonly: true });
    try {
      return db.prepare('SELECT wrapped FROM data_keys WHERE citizen_id = ?').pluck().get(citizenId) as Buffer;
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    issuer = await startTestIssuer();
    dataDir = mkdtempSync(join(tmpdir(), 'tracker-shred-'));
    await start();
    const ingested = await fetch(`${tracker.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('administrator')}` },
      body: JSON.stringify({ events: kommune() }),
    });
    expect(ingested.status).toBe(200);
    const registered = await gql(
      `mutation { registerCitizen(citizenId: "c-registered", input: { birthDate: "2011-10-12", municipality: "0751", disability: false, personal: { name: "${REGISTERED_NAME}", cpr: "${REGISTERED_CPR}" } }) { events { type } } }`,
    );
    expect(registered.errors).toBeUndefined();
    await gql(`mutation { openCase(citizenId: "c-registered", input: { caseId: "k-r", unitId: "${CHILD}" }) { events { type } } }`);
    await tracker.projector.waitFor(await tracker.store.headPosition());
  });
  afterAll(async () => {
    await tracker?.close();
    await issuer?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores personal data only encrypted: in no file, in the clear, ever', async () => {
    expect(await personalOf(flowCitizen(1))).toEqual({ name: NAME, cpr: CPR, erased: false });
    expect(await personalOf('c-registered')).toEqual({ name: REGISTERED_NAME, cpr: REGISTERED_CPR, erased: false });
    const [stored] = await tracker.store.readStream(flowCitizen(1));
    expect(stored!.data).toMatchObject({ birthDate: '2008-05-17', personal: { v: 1, kid: expect.any(String), ct: expect.any(String) } });
    assertNoPersonalDataOnDisk();
  });

  it('after erasure: undecryptable everywhere, no key bytes left in any file, the timeline intact — also after a restart', async () => {
    const citizens = [flowCitizen(1), 'c-registered'];
    const timelines = await Promise.all(citizens.map(timelineOf));
    const wrapped = citizens.map(wrappedKeyOf);
    for (const key of wrapped) expect(filesContaining(dataDir, key).length).toBeGreaterThan(0);

    for (const citizenId of citizens) {
      const erased = await gql(`mutation { erasePersonalData(citizenId: "${citizenId}") { citizenId erased } }`);
      expect(erased.data.erasePersonalData).toEqual({ citizenId, erased: true });
    }
    const check = async () => {
      for (const [i, citizenId] of citizens.entries()) {
        expect(await personalOf(citizenId)).toEqual({ name: null, cpr: null, erased: true });
        expect(await timelineOf(citizenId)).toEqual(timelines[i]);
        expect(filesContaining(dataDir, wrapped[i]!)).toEqual([]);
      }
      // Others are untouched.
      expect((await timelineOf(flowCitizen(2))).length).toBe(4);
      assertNoPersonalDataOnDisk();
    };
    await check();

    await tracker.close();
    await start();
    await check();

    // No new personal data is taken for an erased citizen; the rest of the batch is not stored either.
    const head = await tracker.store.headPosition();
    const again = await fetch(`${tracker.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('administrator')}` },
      body: JSON.stringify({
        events: [
          { id: randomUUID(), type: 'CaseOpened', citizenId: flowCitizen(2), occurredAt: '2026-02-01T10:00:00+01:00', source: 'dubu', data: { caseId: 'k-z', unitId: CHILD } },
          { id: randomUUID(), type: 'CitizenRegistered', citizenId: flowCitizen(1), occurredAt: '2026-02-01T10:00:00+01:00', source: 'dubu', data: { birthDate: '2008-05-17', municipality: '0751', disability: false, personal: { name: NAME } } },
        ],
      }),
    });
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ error: 'invalid events', errors: [{ index: 1, field: 'data.personal', message: expect.stringContaining('erased') }] });
    expect(await tracker.store.headPosition()).toBe(head);
    // An erasure is recorded even before a citizen has a key: later personal data is refused all the same.
    expect((await gql('mutation { erasePersonalData(citizenId: "c-erased-first") { erased } }')).data.erasePersonalData).toEqual({ erased: false });
    const command = await gql(
      'mutation { registerCitizen(citizenId: "c-erased-first", input: { birthDate: "2011-10-12", municipality: "0751", disability: false, personal: { name: "Ny" } }) { events { type } } }',
    );
    expect(command.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.personal' });
    expect(await tracker.store.headPosition()).toBe(head);
    assertNoPersonalDataOnDisk();
  });

  it('erasure is for administrators only', async () => {
    const response = await fetch(`${tracker.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('coordinator')}` },
      body: JSON.stringify({ query: `mutation { erasePersonalData(citizenId: "${flowCitizen(3)}") { erased } }` }),
    });
    expect(response.status).toBe(403);
    expect(await personalOf(flowCitizen(3))).toBeNull();
  });
});
