import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadUnitsFile, DEMO_UNITS_FILE } from '@tracker/domain';
import { SqliteReadModel } from './sqliteReadModel.ts';
import type { CitizenDerivation } from '../derived.ts';
import { StoredEventFactory } from '../testing/storedEvents.ts';

const DAY = 86_400_000;
const units = loadUnitsFile(DEMO_UNITS_FILE);
const projection = { units, handoverAcceptanceDue: (ms: number) => ms + 14 * DAY };
const at = (iso: string) => Date.parse(iso);

describe('SqliteReadModel', () => {
  let dir: string;
  let model: SqliteReadModel;
  let make: StoredEventFactory;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'readmodel-'));
    model = new SqliteReadModel({ file: join(dir, 'rm.sqlite'), projection, configFingerprint: 'test' });
    make = new StoredEventFactory();
  });
  afterEach(() => {
    model.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('orders the timeline by occurredAt, placing a late event where it happened', async () => {
    model.applyBatch([
      make.event('c-1', 'CitizenRegistered', '2020-01-01T09:00:00+01:00', { birthDate: '2008-05-01', municipality: '0751', disability: false }),
      make.event('c-1', 'CaseOpened', '2021-03-01T10:00:00+01:00', { caseId: 'k1', unitId: '0751-bf-myndighed' }),
    ]);
    model.applyBatch([make.event('c-1', 'NotificationReceived', '2021-02-01T08:00:00+01:00', { notificationId: 'n1', unitId: '0751-modtagelse', notifier: 'professional' })]);
    const timeline = await model.timeline('c-1', at('2030-01-01T00:00:00Z'));
    expect(timeline.map((e) => e.type)).toEqual(['CitizenRegistered', 'NotificationReceived', 'CaseOpened']);
    expect(timeline[2]).toMatchObject({ unitId: '0751-bf-myndighed', summary: 'Case k1 opened at Børn og Familie, Myndighed' });
    expect(await model.checkpoint()).toBe(3);
  });

  it('answers as the world stood at asOf', async () => {
    model.applyBatch([
      make.event('c-2', 'CitizenRegistered', '2020-01-01T09:00:00+01:00', { birthDate: '2007-01-01', municipality: '0751', disability: true }),
      make.event('c-2', 'CaseOpened', '2021-01-04T10:00:00+01:00', { caseId: 'k1', unitId: '0751-ungeenhed' }),
      make.event('c-2', 'HandoverInitiated', '2024-12-02T10:00:00+01:00', { handoverId: 'h1', fromUnitId: '0751-ungeenhed', toUnitId: '0751-voksen-handicap', kind: 'age' }),
      make.event('c-2', 'HandoverAccepted', '2024-12-20T10:00:00+01:00', { handoverId: 'h1' }),
      make.event('c-2', 'CaseClosed', '2025-01-01T10:00:00+01:00', { caseId: 'k1', reason: 'handover' }),
      make.event('c-2', 'HandoverCompleted', '2025-01-02T10:00:00+01:00', { handoverId: 'h1' }),
    ]);
    expect(await model.citizen('c-2', at('2019-12-31T00:00:00Z'))).toBeNull();
    expect(await model.citizen('c-2', at('2020-06-01T00:00:00Z'))).toMatchObject({ birthDate: '2007-01-01' });

    const before = at('2024-12-10T00:00:00Z');
    expect(await model.responsibilities('c-2', before)).toEqual([{ caseId: 'k1', unitId: '0751-ungeenhed', openedAt: '2021-01-04T10:00:00+01:00', closedAt: null }]);
    expect(await model.citizenHandovers('c-2', before)).toMatchObject([{ id: 'h1', status: 'PENDING', resolvedAt: null, overdue: false }]);

    const overdueInstant = at('2024-12-18T00:00:00Z');
    expect(await model.citizenHandovers('c-2', overdueInstant)).toMatchObject([{ status: 'PENDING', overdue: true }]);

    const accepted = at('2024-12-21T00:00:00Z');
    expect(await model.citizenHandovers('c-2', accepted)).toMatchObject([{ status: 'ACCEPTED', resolvedAt: '2024-12-20T10:00:00+01:00', overdue: true }]);

    const after = at('2025-02-01T00:00:00Z');
    expect((await model.responsibilities('c-2', after))[0]!.closedAt).toBe('2025-01-01T10:00:00+01:00');
    expect(await model.citizenHandovers('c-2', after)).toMatchObject([{ status: 'COMPLETED', resolvedAt: '2024-12-20T10:00:00+01:00' }]);
  });

  it('is overdue exactly from the due instant, and not when resolved before it', async () => {
    const initiated = '2025-03-03T10:00:00+01:00';
    model.applyBatch([
      make.event('c-3', 'HandoverInitiated', initiated, { handoverId: 'h1', fromUnitId: '0751-bf-myndighed', toUnitId: '0751-ppr', kind: 'referral' }),
      make.event('c-3', 'HandoverInitiated', initiated, { handoverId: 'h2', fromUnitId: '0751-bf-myndighed', toUnitId: '0751-jobcenter', kind: 'referral' }),
      make.event('c-3', 'HandoverRejected', '2025-03-04T10:00:00+01:00', { handoverId: 'h2', reason: 'wrong unit' }),
    ]);
    const due = at(initiated) + 14 * DAY;
    expect((await model.citizenHandovers('c-3', due - 1))[0]!.overdue).toBe(false);
    expect((await model.citizenHandovers('c-3', due))[0]!.overdue).toBe(true);
    expect((await model.citizenHandovers('c-3', due))[1]).toMatchObject({ status: 'REJECTED', overdue: false });
  });

  it('filters and pages handovers across citizens', async () => {
    for (let i = 0; i < 5; i++) {
      model.applyBatch([
        make.event(`c-${i}`, 'HandoverInitiated', `2025-0${i + 1}-10T10:00:00+01:00`, { handoverId: 'h', fromUnitId: '0751-ungeenhed', toUnitId: i % 2 ? '0751-jobcenter' : '0751-socialpsykiatri', kind: 'referral' }),
      ]);
    }
    model.applyBatch([make.event('c-0', 'HandoverAccepted', '2025-01-11T10:00:00+01:00', { handoverId: 'h' })]);
    const asOf = at('2026-01-01T00:00:00Z');
    const page1 = await model.handovers({ asOf }, { first: 2, offset: 0 });
    expect(page1).toMatchObject({ totalCount: 5, hasNextPage: true });
    expect(page1.nodes.map((h) => h.citizenId)).toEqual(['c-0', 'c-1']);
    const page3 = await model.handovers({ asOf }, { first: 2, offset: 4 });
    expect(page3).toMatchObject({ totalCount: 5, hasNextPage: false });
    expect((await model.handovers({ asOf, unitId: '0751-jobcenter' }, { first: 10, offset: 0 })).totalCount).toBe(2);
    expect((await model.handovers({ asOf, status: 'ACCEPTED' }, { first: 10, offset: 0 })).nodes.map((h) => h.citizenId)).toEqual(['c-0']);
    expect((await model.handovers({ asOf, status: 'PENDING', overdue: true }, { first: 10, offset: 0 })).totalCount).toBe(4);
    expect((await model.handovers({ asOf: at('2025-02-01T00:00:00Z') }, { first: 10, offset: 0 })).totalCount).toBe(1);
  });

  it('keeps a resolution that arrives before its initiation, showing the handover once initiated', async () => {
    model.applyBatch([make.event('c-4', 'HandoverAccepted', '2025-01-12T10:00:00+01:00', { handoverId: 'h' })]);
    expect(await model.citizenHandovers('c-4', at('2026-01-01T00:00:00Z'))).toEqual([]);
    model.applyBatch([make.event('c-4', 'HandoverInitiated', '2025-01-10T10:00:00+01:00', { handoverId: 'h', fromUnitId: '0751-ungeenhed', toUnitId: '0751-jobcenter', kind: 'referral' })]);
    expect(await model.citizenHandovers('c-4', at('2026-01-01T00:00:00Z'))).toMatchObject([{ status: 'ACCEPTED' }]);
  });

  it('derives per-citizen read models from the whole history in world order, again when a late event arrives', async () => {
    const file = join(dir, 'derived.sqlite');
    const seen: Array<[string, string[]]> = [];
    const orderOfTypes: CitizenDerivation = {
      name: 'order-of-types',
      version: 1,
      tables: [{ name: 'order_of_types', columns: { types: 'text', events: 'integer' }, indexes: [['events']] }],
      derive: (citizenId, history) => {
        seen.push([citizenId, history.map((e) => e.type)]);
        return { order_of_types: [{ types: history.map((e) => e.type).join(','), events: history.length }] };
      },
    };
    const derivedModel = new SqliteReadModel({ file, projection, configFingerprint: 'test', derived: [orderOfTypes] });
    derivedModel.applyBatch([
      make.event('c-6', 'CaseOpened', '2025-02-01T10:00:00+01:00', { caseId: 'k', unitId: '0751-ppr' }),
      make.event('c-7', 'CaseOpened', '2025-02-01T10:00:00+01:00', { caseId: 'k', unitId: '0751-ppr' }),
      make.event('c-6', 'CaseClosed', '2025-03-01T10:00:00+01:00', { caseId: 'k' }),
    ]);
    derivedModel.applyBatch([make.event('c-6', 'NotificationReceived', '2025-01-01T10:00:00+01:00', { notificationId: 'n', unitId: '0751-modtagelse', notifier: 'private' })]);
    expect(seen).toEqual([
      ['c-6', ['CaseOpened', 'CaseClosed']],
      ['c-7', ['CaseOpened']],
      ['c-6', ['NotificationReceived', 'CaseOpened', 'CaseClosed']],
    ]);
    expect(derivedModel.database.prepare('SELECT citizen_id, types, events FROM order_of_types ORDER BY citizen_id').all()).toEqual([
      { citizen_id: 'c-6', types: 'NotificationReceived,CaseOpened,CaseClosed', events: 3 },
      { citizen_id: 'c-7', types: 'CaseOpened', events: 1 },
    ]);
    expect(derivedModel.history('c-6')[0]).toMatchObject({ type: 'NotificationReceived', data: { notificationId: 'n', notifier: 'private' } });
    derivedModel.close();
    const otherVersion = new SqliteReadModel({ file, projection, configFingerprint: 'test', derived: [{ ...orderOfTypes, version: 2 }] });
    expect(otherVersion.needsRebuild).toBe(true);
    otherVersion.close();
  });

  it('asks for a rebuild when the configuration changed, and reset forgets everything', async () => {
    model.applyBatch([make.event('c-5', 'CaseOpened', '2025-01-10T10:00:00+01:00', { caseId: 'k', unitId: '0751-ppr' })]);
    const file = join(dir, 'rm.sqlite');
    const same = new SqliteReadModel({ file, projection, configFingerprint: 'test' });
    expect(same.needsRebuild).toBe(false);
    same.close();
    const changed = new SqliteReadModel({ file, projection, configFingerprint: 'other' });
    expect(changed.needsRebuild).toBe(true);
    changed.reset();
    expect(await changed.checkpoint()).toBe(0);
    expect(await changed.timeline('c-5', Date.now())).toEqual([]);
    changed.close();
  });
});
