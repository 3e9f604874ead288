/**
 * Deadline alerts on a manual clock and manual timers (nothing sleeps): each change is published once,
 * at its instant; a restart neither loses nor repeats one; late events are alerted when they arrive.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import { SqliteEventStore } from '@tracker/event-store';
import { DeadlineAlertScheduler, type DeadlineAlert } from './alertScheduler.ts';
import { formatDeadlineInstant } from '@tracker/domain';
import { ManualTimers } from './timers.ts';
import { ADULT, DAY, RECEPTION, YOUTH, deadlineTestbed, fact, type DeadlineTestbed } from './testing.ts';

const HOUR = 3_600_000;
/** How often the scheduler looks for new events; at-risk and due instants get their own timers. */
const POLL = 60_000;
const T0 = '2025-03-03T09:00:00+01:00';
const local = formatDeadlineInstant;
const brief = (a: DeadlineAlert) => `${a.kind} ${a.clockId} at ${local(a.atMs)} seen ${local(a.detectedMs)}`;

interface Running {
  bed: DeadlineTestbed;
  scheduler: DeadlineAlertScheduler;
  delivered: DeadlineAlert[];
}

describe('deadline alert scheduler', () => {
  let dir: string;
  let clock: ManualClock;
  let timers: ManualTimers;
  let store: SqliteEventStore;
  const running: Running[] = [];

  /** The tracker's read side as after a (re)start: read models caught up, then the scheduler started. */
  async function start(options: { lateDiscoveryHorizonMs?: number } = {}): Promise<Running> {
    const bed = await deadlineTestbed({ store, readModelFile: join(dir, 'read-models.sqlite') });
    const scheduler = new DeadlineAlertScheduler({ database: bed.readModel.database, clock, timers, pollIntervalMs: POLL, ...options });
    const delivered: DeadlineAlert[] = [];
    scheduler.subscribe((a) => delivered.push(a));
    scheduler.start();
    const r = { bed, scheduler, delivered };
    running.push(r);
    return r;
  }

  async function stop(r: Running): Promise<void> {
    r.scheduler.stop();
    await r.bed.close();
    running.splice(running.indexOf(r), 1);
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deadline-alerts-'));
    clock = new ManualClock(T0);
    timers = new ManualTimers(clock);
    store = await SqliteEventStore.open({ file: join(dir, 'events.sqlite'), clock });
  });
  afterEach(async () => {
    for (const r of [...running]) await stop(r);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('does not alert the history already stored at the first start', async () => {
    await store.appendBatch([fact('c-old', 'NotificationReceived', '2025-02-03T09:00:00+01:00', { notificationId: 'n0', unitId: RECEPTION, notifier: 'private' })]);
    const r = await start();
    timers.advance(DAY);
    expect(r.delivered).toEqual([]);
    expect(r.scheduler.alertsAfter(0)).toEqual([]);
  });

  it('publishes AT_RISK and BREACHED at their instants, each once', async () => {
    const r = await start();
    await r.bed.append([fact('c-1', 'NotificationReceived', T0, { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' })]);
    timers.advance(17 * HOUR);
    expect(r.delivered).toEqual([]);
    timers.advance(HOUR); // 18 h: 75 % of 24 h
    timers.advance(6 * HOUR); // 24 h: due
    timers.advance(3 * DAY);
    expect(r.delivered.map(brief)).toEqual([
      'AT_RISK underretning-24h:n1 at 2025-03-04T03:00:00+01:00 seen 2025-03-04T03:00:00+01:00',
      'BREACHED underretning-24h:n1 at 2025-03-04T09:00:00+01:00 seen 2025-03-04T09:00:00+01:00',
    ]);
    expect(r.delivered[1]).toMatchObject({ citizenId: 'c-1', policy: 'underretning-24h', unitId: RECEPTION, stoppedMs: null });
    expect(r.scheduler.alertsAfter(0)).toEqual(r.delivered);
    expect(r.scheduler.alertsAfter(r.delivered[0]!.sequence)).toEqual([r.delivered[1]]);
    expect(r.scheduler.tick()).toEqual([]);
  });

  it('fires at the due instant itself when the next instant is nearer than the poll interval', async () => {
    const r = await start();
    await r.bed.append([fact('c-1', 'HandoverInitiated', T0, { handoverId: 'h1', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' })]);
    timers.advanceTo('2025-03-18T00:00:00+01:00');
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
    timers.advanceTo('2025-03-04T10:00:00+01:00'); // c-1 at risk and breached; c-2 at risk (09:00)
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
    timers.advance(10 * DAY);
    expect(second.delivered).toHaveLength(2);
    const all = second.scheduler.alertsAfter(0).map(brief);
    expect(all).toEqual([...before, ...second.delivered.map(brief)]);
    expect(new Set(all).size).toBe(all.length);
  });

  it('alerts a stop that arrives after the breach as MET_LATE, and a timely one not at all', async () => {
    const r = await start();
    await r.bed.append([
      fact('c-1', 'NotificationReceived', T0, { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' }),
      fact('c-2', 'NotificationReceived', T0, { notificationId: 'n2', unitId: RECEPTION, notifier: 'private' }),
    ]);
    timers.advanceTo('2025-03-04T12:00:00+01:00');
    await r.bed.append([
      fact('c-1', 'NotificationAssessed', '2025-03-04T11:00:00+01:00', { notificationId: 'n1', urgent: false }), // late
      fact('c-2', 'NotificationAssessed', '2025-03-04T08:00:00+01:00', { notificationId: 'n2', urgent: false }), // in time, recorded late
    ]);
    timers.advance(POLL);
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
    timers.advance(POLL);
    // Its AT_RISK was superseded by the breach before anyone knew: the breach is the news.
    expect(r.delivered.map(brief)).toEqual(['BREACHED underretning-24h:n1 at 2025-06-01T09:00:00+02:00 seen 2025-06-02T09:01:00+02:00']);
    expect(r.scheduler.alertsAfter(0).map((a) => a.citizenId)).toEqual(['c-recent']);
    const recorded = r.bed.readModel.database.prepare('SELECT citizen_id, kind, published FROM deadline_alerts ORDER BY sequence').all();
    expect(recorded).toEqual([
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
    timers.advance(POLL);
    expect(r.delivered).toEqual([]);
    // …while the late stop of that same clock is news.
    await r.bed.append([fact('c-1', 'NotificationAssessed', '2025-03-02T09:00:00+01:00', { notificationId: 'n0', urgent: false })]);
    timers.advance(POLL);
    expect(r.delivered.map(brief)).toEqual(['MET_LATE underretning-24h:n0 at 2025-03-02T09:00:00+01:00 seen 2025-03-03T09:02:00+01:00']);
  });

  it('alerts a late start that arrives after its own late stop', async () => {
    const r = await start();
    await r.bed.append([fact('c-1', 'NotificationAssessed', '2025-03-03T08:00:00+01:00', { notificationId: 'n1', urgent: false })]);
    timers.advance(POLL);
    await r.bed.append([fact('c-1', 'NotificationReceived', '2025-03-02T07:00:00+01:00', { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' })]);
    timers.advance(POLL);
    expect(r.delivered.map((a) => a.kind)).toEqual(['BREACHED', 'MET_LATE']);
  });

  it('alerts a late clock that is still at risk when it arrives', async () => {
    const r = await start();
    await r.bed.append([fact('c-1', 'NotificationReceived', '2025-03-02T14:00:00+01:00', { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' })]);
    timers.advance(POLL);
    expect(r.delivered.map(brief)).toEqual(['AT_RISK underretning-24h:n1 at 2025-03-03T08:00:00+01:00 seen 2025-03-03T09:01:00+01:00']);
  });

  it('keeps running when a listener throws, and reports the error', async () => {
    const errors: unknown[] = [];
    const bed = await deadlineTestbed({ store, readModelFile: join(dir, 'read-models.sqlite') });
    const scheduler = new DeadlineAlertScheduler({ database: bed.readModel.database, clock, timers, pollIntervalMs: POLL, onError: (e) => errors.push(e) });
    running.push({ bed, scheduler, delivered: [] });
    const seen: string[] = [];
    scheduler.subscribe(() => {
      throw new Error('listener failed');
    });
    scheduler.subscribe((a) => seen.push(a.kind));
    scheduler.start();
    await bed.append([fact('c-1', 'NotificationReceived', T0, { notificationId: 'n1', unitId: RECEPTION, notifier: 'private' })]);
    timers.advance(2 * DAY);
    expect(seen).toEqual(['AT_RISK', 'BREACHED']);
    expect(errors).toHaveLength(2);
  });
});
