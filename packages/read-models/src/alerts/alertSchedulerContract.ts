/**
 * What every alert store must give the scheduler, run against each adapter's real engine (SQLite in
 * deadlines/alertScheduler.int.spec.ts, PostgreSQL in alerts/postgresAlertScheduler.int.spec.ts):
 * on a manual clock and manual timers (nothing sleeps), each change is published once, at its
 * instant; a restart neither loses nor repeats one; late events are alerted when they arrive, old
 * ones recorded unpublished — for deadline clocks and gaps alike, in one stream.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEMO_UNITS_FILE,
  ManualClock,
  formatDeadlineInstant,
  loadPolicies,
  loadUnitsFile,
  parsePolicies,
  type DeadlinePolicySet,
  type EventData,
  type EventType,
  type TransitionEvent,
} from '@tracker/domain';
import { SqliteEventStore } from '@tracker/event-store';
import type { CitizenDerivation } from '../derived.ts';
import { deadlineDerivation } from '../deadlines/deadlineDerivation.ts';
import { ManualTimers } from '../deadlines/timers.ts';
import { gapsDerivation } from '../gaps/gapsDerivation.ts';
import { Projector, type ProjectionTarget } from '../projector.ts';
import type { ProjectionContext } from '../projections/projectEvent.ts';
import type { RecordedAlert } from './alertRecords.ts';
import { AlertScheduler, type AlertStore } from './alertScheduler.ts';

export const units = loadUnitsFile(DEMO_UNITS_FILE);
export const policies = loadPolicies(undefined);
export const RECEPTION = '0751-modtagelse';
export const YOUTH = '0751-ungeenhed';
export const ADULT = '0751-voksen-handicap';
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** How often the scheduler looks for new events; instants of change get their own timers. */
export const POLL = 60_000;
export const T0 = '2025-03-03T09:00:00+01:00';

/** Which read models a test runs on: the alerts come from their derived rows. */
export type Watched = 'deadlines' | 'gaps' | 'both';

const handoverAcceptanceDue = policies.dueFunction('overdragelse-accept', { amount: 10, unit: 'workingDays' });
const relativeAnswerDue = policies.dueFunction('paarorende-svar', { amount: 10, unit: 'workingDays' });

/** A kommune's own policy, added by configuration: acknowledge a professional's notification within the hour. */
export const KOMMUNE_POLICIES = parsePolicies(
  JSON.stringify({
    policies: [
      {
        id: 'kvittering-1t',
        title: 'Kvittering inden for en time',
        start: { event: 'NotificationReceived', where: { notifier: 'professional' }, key: 'notificationId' },
        stop: { event: 'NotificationAcknowledged' },
        limit: { amount: 1, unit: 'hours' },
      },
    ],
  }),
  'kommune-policies.json',
);

/** The projection and derivations the tracker configures, for the read models a test watches. */
export function readModelSetup(watched: Watched, policySet: DeadlinePolicySet = policies): { projection: ProjectionContext; derived: CitizenDerivation[]; configFingerprint: string } {
  const derived: CitizenDerivation[] = [];
  if (watched !== 'gaps') derived.push(deadlineDerivation({ policies: policySet, units }));
  if (watched !== 'deadlines') derived.push(gapsDerivation({ units, handoverAcceptanceDue, relativeAnswerDue }));
  return { projection: { units, handoverAcceptanceDue }, derived, configFingerprint: `alerts-test:${watched}` };
}

/** A fact about one citizen, as a source system would send it. */
export function fact<T extends EventType>(citizenId: string, type: T, occurredAt: string, data: EventData<T>): TransitionEvent {
  return { id: randomUUID(), citizenId, occurredAt, source: 'test', type, data } as TransitionEvent;
}

export const local = formatDeadlineInstant;
const subject = (a: RecordedAlert) => (a.about === 'deadline' ? a.clockId : a.gapKey);
export const brief = (a: RecordedAlert) => `${a.kind} ${subject(a)} at ${local(a.atMs)} seen ${local(a.detectedMs)}`;

export interface AlertBed {
  store: AlertStore;
  /** Appends to the event store and waits until the read models include it. */
  append(events: readonly TransitionEvent[]): Promise<void>;
  /** Every outbox row, published or not, in sequence order. */
  recorded(): Promise<{ citizen_id: string; kind: string; published: number }[]>;
  /** Drops the read models and replays the event store into them (Projector.rebuild). */
  rebuild(): Promise<void>;
  close(): Promise<void>;
}

export interface AlertAdapter {
  /** A fresh place for one test's read models (an SQLite file in `dir`, a PostgreSQL schema). */
  place(dir: string): Promise<string>;
  /** Opens (or reopens) the read models there with a projector from `events`, and the alert store over them. */
  open(options: { place: string; events: SqliteEventStore; watched: Watched; policies?: DeadlinePolicySet }): Promise<AlertBed>;
  /**
   * How often an idle scheduler writes its watermark (default: the scheduler's). Idle checks that
   * write nothing cost one query; a server engine's transaction per simulated minute makes days slow.
   */
  persistEveryMs?: number;
}

/** A projector from the event store into a read-model target, as the tracker runs it. */
export async function projectedBed(events: SqliteEventStore, target: ProjectionTarget, parts: Omit<AlertBed, 'append' | 'rebuild' | 'close'> & { close(): Promise<void> }): Promise<AlertBed> {
  const projector = new Projector({ store: events, target });
  await projector.start();
  return {
    ...parts,
    rebuild: () => projector.rebuild(),
    async append(facts) {
      const { appended } = await events.appendBatch(facts);
      const last = appended.at(-1)?.globalPosition;
      if (last !== undefined) await projector.waitFor(last);
    },
    async close() {
      await projector.stop();
      await parts.close();
    },
  };
}

interface Running {
  bed: AlertBed;
  scheduler: AlertScheduler;
  delivered: RecordedAlert[];
}

export function alertSchedulerContract(adapterName: string, adapter: AlertAdapter): void {
  describe(`alert scheduler on ${adapterName}`, () => {
    let dir: string;
    let place: string;
    let clock: ManualClock;
    let timers: ManualTimers;
    let store: SqliteEventStore;
    const running: Running[] = [];

    /** The tracker's read side as after a (re)start: read models caught up, then the scheduler started. */
    async function start(
      options: { lateDiscoveryHorizonMs?: number; watched?: Watched; policies?: DeadlinePolicySet; onError?: (error: unknown) => void } = {},
    ): Promise<Running> {
      const bed = await adapter.open({ place, events: store, watched: options.watched ?? 'deadlines', ...(options.policies ? { policies: options.policies } : {}) });
      const scheduler = new AlertScheduler({
        store: bed.store,
        clock,
        timers,
        pollIntervalMs: POLL,
        ...(adapter.persistEveryMs === undefined ? {} : { persistEveryMs: adapter.persistEveryMs }),
        ...(options.lateDiscoveryHorizonMs === undefined ? {} : { lateDiscoveryHorizonMs: options.lateDiscoveryHorizonMs }),
        ...(options.onError ? { onError: options.onError } : {}),
      });
      const delivered: RecordedAlert[] = [];
      scheduler.subscribe((a) => delivered.push(a));
      const r = { bed, scheduler, delivered };
      running.push(r);
      await scheduler.start();
      return r;
    }

    async function stop(r: Running): Promise<void> {
      await r.scheduler.stop();
      await r.bed.close();
      running.splice(running.indexOf(r), 1);
    }

    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'alerts-'));
      place = await adapter.place(dir);
      clock = new ManualClock(T0);
      timers = new ManualTimers(clock);
      store = await SqliteEventStore.open({ file: join(dir, 'events.sqlite'), clock });
    });
    afterEach(async () => {
      for (const r of [...running]) await stop(r);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    describe('deadlines', () => {
      it('does not alert the history already stored at the first start', async () => {
        await store.appendBatch([fact('c-old', 'NotificationReceived', '2025-02-03T09:00:00+01:00', { notificationId: 'n0', unitId: RECEPTION, notifier: 'private' })]);
        const r = await start();
        await timers.advance(DAY);
        expect(r.delivered).toEqual([]);
        expect(await r.scheduler.alertsAfter(0)).toEqual([]);
      });

      it('publishes AT_RISK and BREACHED at their instants, each once', async () => {
        const r = await start();
        await r.bed.append([fact('c-1', 'NotificationReceived', T0, { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' })]);
        await timers.advance(17 * HOUR);
        expect(r.delivered).toEqual([]);
        await timers.advance(HOUR); // 18 h: 75 % of 24 h
        await timers.advance(6 * HOUR); // 24 h: due
        await timers.advance(3 * DAY);
        expect(r.delivered.map(brief)).toEqual([
          'AT_RISK underretning-24h:n1 at 2025-03-04T03:00:00+01:00 seen 2025-03-04T03:00:00+01:00',
          'BREACHED underretning-24h:n1 at 2025-03-04T09:00:00+01:00 seen 2025-03-04T09:00:00+01:00',
        ]);
        expect(r.delivered[1]).toMatchObject({ about: 'deadline', citizenId: 'c-1', policy: 'underretning-24h', unitId: RECEPTION, stoppedMs: null });
        expect(await r.scheduler.alertsAfter(0)).toEqual(r.delivered);
        expect(await r.scheduler.alertsAfter(r.delivered[0]!.sequence)).toEqual([r.delivered[1]]);
        expect(await r.scheduler.lastSequence()).toBe(r.delivered[1]!.sequence);
        expect(await r.scheduler.tick()).toEqual([]);
      });

      it('fires at the due instant itself when the next instant is nearer than the poll interval', async () => {
        const r = await start();
        await r.bed.append([fact('c-1', 'HandoverInitiated', T0, { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' })]);
        await timers.advanceTo('2025-03-18T00:00:00+01:00');
        expect(r.delivered.map(brief)).toEqual([
          // Tue 4 … Thu 13 March is the 8th hverdag: noon, 7½ of 10 used
          'AT_RISK overdragelse-accept:h1 at 2025-03-13T12:00:00+01:00 seen 2025-03-13T12:00:00+01:00',
          'BREACHED overdragelse-accept:h1 at 2025-03-18T00:00:00+01:00 seen 2025-03-18T00:00:00+01:00',
        ]);
      });

      it('neither loses nor repeats alerts across a restart', async () => {
        const first = await start();
        await first.bed.append([
          fact('c-1', 'NotificationReceived', T0, { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' }),
          fact('c-2', 'NotificationReceived', '2025-03-03T15:00:00+01:00', { notificationId: 'n2', unitId: RECEPTION, notifier: 'private' }),
        ]);
        await timers.advanceTo('2025-03-04T10:00:00+01:00'); // c-1 at risk and breached; c-2 at risk (09:00)
        const before = first.delivered.map(brief);
        expect(before).toEqual([
          'AT_RISK underretning-24h:n1 at 2025-03-04T03:00:00+01:00 seen 2025-03-04T03:00:00+01:00',
          'AT_RISK underretning-24h:n2 at 2025-03-04T09:00:00+01:00 seen 2025-03-04T09:00:00+01:00',
          'BREACHED underretning-24h:n1 at 2025-03-04T09:00:00+01:00 seen 2025-03-04T09:00:00+01:00',
        ]);
        await stop(first);

        // Down while c-2 falls due, and while a late answer to c-1 is stored.
        clock.set('2025-03-05T08:00:00+01:00');
        await store.appendBatch([fact('c-1', 'NotificationAssessed', '2025-03-04T16:00:00+01:00', { notificationId: 'n1', urgent: false })]);

        const second = await start();
        expect(second.delivered.map(brief)).toEqual([
          'BREACHED underretning-24h:n2 at 2025-03-04T15:00:00+01:00 seen 2025-03-05T08:00:00+01:00',
          'MET_LATE underretning-24h:n1 at 2025-03-04T16:00:00+01:00 seen 2025-03-05T08:00:00+01:00',
        ]);
        await timers.advance(10 * DAY);
        expect(second.delivered).toHaveLength(2);
        const all = (await second.scheduler.alertsAfter(0)).map(brief);
        expect(all).toEqual([...before, ...second.delivered.map(brief)]);
        expect(new Set(all).size).toBe(all.length);
      });

      it('alerts a stop that arrives after the breach as MET_LATE, and a timely one not at all', async () => {
        const r = await start();
        await r.bed.append([
          fact('c-1', 'NotificationReceived', T0, { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' }),
          fact('c-2', 'NotificationReceived', T0, { notificationId: 'n2', unitId: RECEPTION, notifier: 'private' }),
        ]);
        await timers.advanceTo('2025-03-04T12:00:00+01:00');
        await r.bed.append([
          fact('c-1', 'NotificationAssessed', '2025-03-04T11:00:00+01:00', { notificationId: 'n1', urgent: false }), // late
          fact('c-2', 'NotificationAssessed', '2025-03-04T08:00:00+01:00', { notificationId: 'n2', urgent: false }), // in time, recorded late
        ]);
        await timers.advance(POLL);
        expect(r.delivered.map((a) => `${a.kind} ${a.citizenId}`)).toEqual(['AT_RISK c-1', 'AT_RISK c-2', 'BREACHED c-1', 'BREACHED c-2', 'MET_LATE c-1']);
      });

      it('alerts a clock that arrives late when its change is recent, and records old ones unpublished', async () => {
        clock.set('2025-06-02T09:00:00+02:00');
        const r = await start({ lateDiscoveryHorizonMs: 7 * DAY });
        await r.bed.append([
          // Received 2 days ago, never assessed: breached yesterday; news.
          fact('c-recent', 'NotificationReceived', '2025-05-31T09:00:00+02:00', { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' }),
          // A backfill from last year: not news.
          fact('c-old', 'NotificationReceived', '2024-05-01T09:00:00+02:00', { notificationId: 'n2', unitId: RECEPTION, notifier: 'private' }),
        ]);
        await timers.advance(POLL);
        // Its AT_RISK was superseded by the breach before anyone knew: the breach is the news.
        expect(r.delivered.map(brief)).toEqual(['BREACHED underretning-24h:n1 at 2025-06-01T09:00:00+02:00 seen 2025-06-02T09:01:00+02:00']);
        expect((await r.scheduler.alertsAfter(0)).map((a) => a.citizenId)).toEqual(['c-recent']);
        expect(await r.bed.recorded()).toEqual([
          { citizen_id: 'c-old', kind: 'AT_RISK', published: 0 },
          { citizen_id: 'c-old', kind: 'BREACHED', published: 0 },
          { citizen_id: 'c-recent', kind: 'AT_RISK', published: 0 },
          { citizen_id: 'c-recent', kind: 'BREACHED', published: 1 },
        ]);
      });

      it('does not alert the past of a clock re-derived because of an unrelated event', async () => {
        await store.appendBatch([fact('c-1', 'NotificationReceived', '2025-02-27T09:00:00+01:00', { notificationId: 'n0', unitId: RECEPTION, notifier: 'private' })]);
        const r = await start(); // history: breached two days before the first start
        await r.bed.append([fact('c-1', 'MeetingHeld', T0, { meetingId: 'm1', kind: 'network', unitIds: [RECEPTION], citizenParticipated: true, relativesParticipated: false })]);
        await timers.advance(POLL);
        expect(r.delivered).toEqual([]);
        // …while the late stop of that same clock is news.
        await r.bed.append([fact('c-1', 'NotificationAssessed', '2025-03-02T09:00:00+01:00', { notificationId: 'n0', urgent: false })]);
        await timers.advance(POLL);
        expect(r.delivered.map(brief)).toEqual(['MET_LATE underretning-24h:n0 at 2025-03-02T09:00:00+01:00 seen 2025-03-03T09:02:00+01:00']);
      });

      it('alerts a late start that arrives after its own late stop', async () => {
        const r = await start();
        await r.bed.append([fact('c-1', 'NotificationAssessed', '2025-03-03T08:00:00+01:00', { notificationId: 'n1', urgent: false })]);
        await timers.advance(POLL);
        await r.bed.append([fact('c-1', 'NotificationReceived', '2025-03-02T07:00:00+01:00', { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' })]);
        await timers.advance(POLL);
        expect(r.delivered.map((a) => a.kind)).toEqual(['BREACHED', 'MET_LATE']);
      });

      it('alerts a late clock that is still at risk when it arrives', async () => {
        const r = await start();
        await r.bed.append([fact('c-1', 'NotificationReceived', '2025-03-02T14:00:00+01:00', { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' })]);
        await timers.advance(POLL);
        expect(r.delivered.map(brief)).toEqual(['AT_RISK underretning-24h:n1 at 2025-03-03T08:00:00+01:00 seen 2025-03-03T09:01:00+01:00']);
      });

      it('keeps running when a listener throws, and reports the error', async () => {
        const errors: unknown[] = [];
        const r = await start({ onError: (e) => errors.push(e) });
        const seen: string[] = [];
        r.scheduler.subscribe(() => {
          throw new Error('listener failed');
        });
        r.scheduler.subscribe((a) => seen.push(a.kind));
        await r.bed.append([fact('c-1', 'NotificationReceived', T0, { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' })]);
        await timers.advance(2 * DAY);
        expect(seen).toEqual(['AT_RISK', 'BREACHED']);
        expect(errors).toHaveLength(2);
      });
    });

    describe('gaps', () => {
      it('publishes OPENED when a gap starts, OVERDUE at its due instant, CLOSED when it ends, each once', async () => {
        const r = await start({ watched: 'gaps' });
        await r.bed.append([fact('c-1', 'HandoverInitiated', T0, { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' })]);
        // Due after 10 hverdage: the end of Monday 17 March.
        await timers.advanceTo('2025-03-19T10:00:00+01:00');
        await r.bed.append([fact('c-1', 'HandoverAccepted', '2025-03-19T10:00:00+01:00', { handoverId: 'h1' })]);
        await timers.advance(DAY);
        expect(r.delivered.map(brief)).toEqual([
          'OPENED HANDOVER_PENDING:h1 at 2025-03-03T09:00:00+01:00 seen 2025-03-03T09:01:00+01:00',
          'OVERDUE HANDOVER_PENDING:h1 at 2025-03-18T00:00:00+01:00 seen 2025-03-18T00:00:00+01:00',
          'CLOSED HANDOVER_PENDING:h1 at 2025-03-19T10:00:00+01:00 seen 2025-03-19T10:01:00+01:00',
        ]);
        expect(r.delivered[2]).toMatchObject({
          about: 'gap',
          citizenId: 'c-1',
          gapKind: 'HANDOVER_PENDING',
          fromUnitId: YOUTH,
          toUnitId: ADULT,
          relativeId: null,
          startedMs: Date.parse(T0),
          endedMs: Date.parse('2025-03-19T10:00:00+01:00'),
          dueMs: Date.parse('2025-03-18T00:00:00+01:00'),
        });
        expect(await r.scheduler.alertsAfter(0)).toEqual(r.delivered);
        expect(await r.scheduler.tick()).toEqual([]);
      });

      it('does not alert the history already stored at the first start, and alerts what happens after it', async () => {
        await store.appendBatch([fact('c-old', 'HandoverInitiated', '2025-02-03T09:00:00+01:00', { handoverId: 'h0', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' })]);
        const r = await start({ watched: 'gaps' });
        await timers.advance(DAY);
        expect(r.delivered).toEqual([]);
        // Rejected an hour before it is stored: the pending handover ends, the rejection opens a gap of its own.
        await r.bed.append([fact('c-old', 'HandoverRejected', '2025-03-04T08:00:00+01:00', { handoverId: 'h0', reason: 'not ours' })]);
        await timers.advance(POLL);
        expect(r.delivered.map(brief)).toEqual([
          'OPENED HANDOVER_REJECTED:h0 at 2025-03-04T08:00:00+01:00 seen 2025-03-04T09:01:00+01:00',
          'CLOSED HANDOVER_PENDING:h0 at 2025-03-04T08:00:00+01:00 seen 2025-03-04T09:01:00+01:00',
        ]);
      });

      it('alerts a gap that arrives late when its change is recent, and records old ones unpublished', async () => {
        clock.set('2025-06-02T09:00:00+02:00');
        const r = await start({ lateDiscoveryHorizonMs: 7 * DAY, watched: 'gaps' });
        await r.bed.append([
          // Opened 3 days ago, due in June: the opening is news.
          fact('c-recent', 'HandoverInitiated', '2025-05-30T09:00:00+02:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
          // Opened three weeks ago (not news), overdue since the end of 26 May (news).
          fact('c-mid', 'HandoverInitiated', '2025-05-12T09:00:00+02:00', { handoverId: 'h2', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
          // A backfill from last year: not news.
          fact('c-old', 'HandoverInitiated', '2024-05-01T09:00:00+02:00', { handoverId: 'h3', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
        ]);
        await timers.advance(POLL);
        expect(r.delivered.map((a) => `${brief(a)} ${a.citizenId}`)).toEqual([
          'OVERDUE HANDOVER_PENDING:h2 at 2025-05-27T00:00:00+02:00 seen 2025-06-02T09:01:00+02:00 c-mid',
          'OPENED HANDOVER_PENDING:h1 at 2025-05-30T09:00:00+02:00 seen 2025-06-02T09:01:00+02:00 c-recent',
        ]);
        expect(await r.bed.recorded()).toEqual([
          { citizen_id: 'c-old', kind: 'OPENED', published: 0 },
          { citizen_id: 'c-old', kind: 'OVERDUE', published: 0 },
          { citizen_id: 'c-mid', kind: 'OPENED', published: 0 },
          { citizen_id: 'c-mid', kind: 'OVERDUE', published: 1 },
          { citizen_id: 'c-recent', kind: 'OPENED', published: 1 },
        ]);
      });

      it('does not alert the past of a gap re-derived because of a later event, but alerts its late end', async () => {
        await store.appendBatch([fact('c-1', 'HandoverInitiated', '2025-02-24T09:00:00+01:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' })]);
        const r = await start({ watched: 'gaps' }); // history: opened a week before the first start
        await r.bed.append([fact('c-1', 'MeetingHeld', T0, { meetingId: 'm1', kind: 'network', unitIds: [YOUTH], citizenParticipated: true, relativesParticipated: false })]);
        await timers.advance(POLL);
        expect(r.delivered).toEqual([]);
        await r.bed.append([fact('c-1', 'HandoverAccepted', '2025-03-03T08:00:00+01:00', { handoverId: 'h1' })]);
        await timers.advance(POLL);
        expect(r.delivered.map(brief)).toEqual(['CLOSED HANDOVER_PENDING:h1 at 2025-03-03T08:00:00+01:00 seen 2025-03-03T09:02:00+01:00']);
      });

      it('alerts a ping-pong marker once, as OPENED only', async () => {
        const r = await start({ watched: 'gaps' });
        await r.bed.append([
          fact('c-1', 'HandoverInitiated', '2025-03-03T08:00:00+01:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
          fact('c-1', 'HandoverAccepted', '2025-03-03T08:10:00+01:00', { handoverId: 'h1' }),
          fact('c-1', 'HandoverInitiated', '2025-03-03T08:30:00+01:00', { handoverId: 'h2', fromUnitId: ADULT, toUnitId: YOUTH, kind: 'referral' }),
        ]);
        await timers.advance(POLL);
        expect(r.delivered.filter((a) => a.about === 'gap' && a.gapKind === 'PING_PONG').map(brief)).toEqual([
          'OPENED PING_PONG:h2 at 2025-03-03T08:30:00+01:00 seen 2025-03-03T09:01:00+01:00',
        ]);
      });
    });

    describe('rebuilds', () => {
      it('alerts nothing again when the read models are rebuilt, and goes on alerting after', async () => {
        // History, never alerted: a breach a month ago, a gap opened four days ago (within the horizon).
        await store.appendBatch([
          fact('c-old', 'NotificationReceived', '2025-02-03T09:00:00+01:00', { notificationId: 'n0', unitId: RECEPTION, notifier: 'private' }),
          fact('c-old', 'HandoverInitiated', '2025-02-27T09:00:00+01:00', { handoverId: 'h0', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
        ]);
        const r = await start({ watched: 'both' });
        await r.bed.append([fact('c-1', 'HandoverInitiated', '2025-02-28T09:00:00+01:00', { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' })]);
        await timers.advance(POLL);
        const before = r.delivered.map(brief);
        expect(before).toEqual(['OPENED HANDOVER_PENDING:h1 at 2025-02-28T09:00:00+01:00 seen 2025-03-03T09:01:00+01:00']);
        const recorded = await r.bed.recorded();

        await r.bed.rebuild();
        await timers.advance(2 * POLL);
        expect(r.delivered.map(brief)).toEqual(before);
        expect(await r.bed.recorded()).toEqual(recorded);

        // Received yesterday, never assessed: breached two hours ago.
        await r.bed.append([fact('c-2', 'NotificationReceived', '2025-03-02T07:00:00+01:00', { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' })]);
        await timers.advance(POLL);
        expect(r.delivered.slice(before.length).map(brief)).toEqual(['BREACHED underretning-24h:n1 at 2025-03-03T07:00:00+01:00 seen 2025-03-03T09:04:00+01:00']);
      });

      it('alerts a policy added by configuration from then on, not for the past', async () => {
        const professional = { unitId: RECEPTION, notifier: 'professional' } as const;
        await store.appendBatch([fact('c-old', 'NotificationReceived', '2025-03-03T07:00:00+01:00', { notificationId: 'n0', ...professional })]);
        const first = await start();
        await stop(first);
        // Restarted with the kommune's policy: the stored clocks are rebuilt, c-old's new one breached at 08:00.
        const r = await start({ policies: KOMMUNE_POLICIES });
        await r.bed.append([fact('c-new', 'NotificationReceived', T0, { notificationId: 'n1', ...professional })]);
        await timers.advance(2 * HOUR);
        expect(r.delivered.map((a) => `${brief(a)} ${a.citizenId}`)).toEqual([
          'AT_RISK kvittering-1t:n1 at 2025-03-03T09:45:00+01:00 seen 2025-03-03T09:45:00+01:00 c-new',
          'BREACHED kvittering-1t:n1 at 2025-03-03T10:00:00+01:00 seen 2025-03-03T10:00:00+01:00 c-new',
        ]);
      });
    });

    it('alerts deadlines and gaps in one stream, in the order they happened', async () => {
      const r = await start({ watched: 'both' });
      await r.bed.append([fact('c-1', 'HandoverInitiated', T0, { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' })]);
      await timers.advanceTo('2025-03-18T00:00:00+01:00');
      expect(r.delivered.map((a) => `${a.about} ${brief(a)}`)).toEqual([
        'gap OPENED HANDOVER_PENDING:h1 at 2025-03-03T09:00:00+01:00 seen 2025-03-03T09:01:00+01:00',
        'deadline AT_RISK overdragelse-accept:h1 at 2025-03-13T12:00:00+01:00 seen 2025-03-13T12:00:00+01:00',
        'deadline BREACHED overdragelse-accept:h1 at 2025-03-18T00:00:00+01:00 seen 2025-03-18T00:00:00+01:00',
        'gap OVERDUE HANDOVER_PENDING:h1 at 2025-03-18T00:00:00+01:00 seen 2025-03-18T00:00:00+01:00',
      ]);
      const stream = await r.scheduler.alertsAfter(0);
      expect(stream).toEqual(r.delivered);
      expect(stream.map((a) => a.sequence)).toEqual([...stream.map((a) => a.sequence)].sort((a, b) => a - b));
      expect(await r.scheduler.alertsAfter(0, 2)).toEqual(stream.slice(0, 2));
    });
  });
}
