/**
 * The deadline alert feed over an asynchronous source: a replay read while live alerts keep coming
 * loses none and repeats none, in sequence order; gap alerts of the same stream are not passed on.
 */
import { describe, expect, it } from 'vitest';
import type { AlertListener, AlertSource, DeadlineAlert, GapAlert, RecordedAlert } from '@tracker/read-models';
import { DeadlineAlertFeed } from './alertFeed.ts';

const deadline = (sequence: number, unitId = 'u-1'): DeadlineAlert => ({
  about: 'deadline',
  sequence,
  kind: 'BREACHED',
  citizenId: `c-${sequence}`,
  clockId: `underretning-24h:n${sequence}`,
  policy: 'underretning-24h',
  unitId,
  atMs: sequence,
  detectedMs: sequence,
  startedMs: 0,
  dueMs: sequence,
  atRiskMs: 0,
  stoppedMs: null,
});

const gap = (sequence: number): GapAlert => ({
  about: 'gap',
  sequence,
  kind: 'OPENED',
  citizenId: `c-${sequence}`,
  gapKey: 'HANDOVER_PENDING:h1',
  gapKind: 'HANDOVER_PENDING',
  fromUnitId: 'u-1',
  toUnitId: 'u-2',
  relativeId: null,
  atMs: sequence,
  detectedMs: sequence,
  startedMs: sequence,
  endedMs: null,
  dueMs: null,
});

/** An outbox whose reads take as long as the test says: each read sees the outbox as it was when it began. */
class SlowSource implements AlertSource {
  readonly outbox: RecordedAlert[] = [];
  readonly #listeners = new Set<AlertListener>();
  #release: (() => void) | undefined;
  #gate: Promise<void> | undefined;

  subscribe(listener: AlertListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async alertsAfter(sequence: number, limit = 1_000): Promise<RecordedAlert[]> {
    const page = this.outbox.filter((a) => a.sequence > sequence).slice(0, limit);
    await this.#gate;
    return page;
  }

  hold(): void {
    this.#gate = new Promise((resolve) => (this.#release = resolve));
  }

  release(): void {
    this.#gate = undefined;
    this.#release?.();
  }

  /** Recorded and then handed to the listeners, as the scheduler does. */
  publish(alert: RecordedAlert, { inOutbox = true } = {}): void {
    if (inOutbox) this.outbox.push(alert);
    for (const listener of this.#listeners) listener(alert);
  }
}

async function take<T>(stream: AsyncIterable<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  if (n === 0) return out;
  for await (const item of stream) {
    out.push(item);
    if (out.length >= n) break;
  }
  return out;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('deadline alert feed', () => {
  it('replays what a subscriber missed, then goes live: an alert published during the replay comes once, in order', async () => {
    const source = new SlowSource();
    const feed = new DeadlineAlertFeed(source);
    source.publish(deadline(1));
    source.publish(gap(2));
    source.publish(deadline(3));
    source.hold();
    const received = take(feed.subscribe(() => true, 0), 4);
    await tick(); // the replay's first read has begun: it will not see 4
    source.publish(deadline(4));
    source.release();
    await tick();
    source.publish(deadline(5));
    expect((await received).map((a) => a.sequence)).toEqual([1, 3, 4, 5]);
    feed.close();
  });

  it('delivers what the live listener held during the replay when the outbox did not show it yet', async () => {
    const source = new SlowSource();
    const feed = new DeadlineAlertFeed(source);
    source.publish(deadline(1));
    source.hold();
    const received = take(feed.subscribe(() => true, 0), 3);
    await tick();
    source.publish(deadline(2), { inOutbox: false });
    source.release();
    await tick();
    source.publish(deadline(3));
    expect((await received).map((a) => a.sequence)).toEqual([1, 2, 3]);
    feed.close();
  });

  it('passes live deadline alerts through the subscriber\'s filter, and no gap alerts', async () => {
    const source = new SlowSource();
    const feed = new DeadlineAlertFeed(source);
    const received = take(feed.subscribe((a) => a.unitId === 'u-2'), 2);
    await tick();
    source.publish(deadline(1, 'u-1'));
    source.publish(gap(2));
    source.publish(deadline(3, 'u-2'));
    source.publish(deadline(4, 'u-2'));
    expect((await received).map((a) => a.sequence)).toEqual([3, 4]);
    feed.close();
  });

  it('ends a replay the outbox cannot answer with the reason', async () => {
    const feed = new DeadlineAlertFeed({ subscribe: () => () => {}, alertsAfter: () => Promise.reject(new Error('outbox unavailable')) });
    await expect(take(feed.subscribe(() => true, 0), 1)).rejects.toThrow('outbox unavailable');
    feed.close();
  });
});
