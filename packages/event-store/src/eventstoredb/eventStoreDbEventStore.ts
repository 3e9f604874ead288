/**
 * The event store on EventStoreDB / KurrentDB (`@eventstore/db-client` 6, `esdb://` connection strings),
 * for distributed mode.
 *
 * Streams and positions. One stream per citizen, `<category>-<citizenId>` (category `citizen` by
 * default, so `$ce-citizen` and stream-name filters select them). The server's single writer appends to
 * one log, so `$all` is in commit order and a reader never sees it out of order. An event's `$all`
 * position is (commit, prepare); for the implicitly committed events the gRPC API writes, both are the
 * event record's own log offset (the server's AllReader reports `TFPos(prepare.LogPosition,
 * prepare.LogPosition)`), so the global position is that offset and reading resumes at (p, p) — which
 * includes the event at p, hence the `> after` filter. (Only the legacy TCP API's explicit transactions
 * gave events a separate commit position.) Positions are byte offsets: strictly increasing, sparse, not
 * 1-based; a checkpoint is just the number.
 *
 * Expected versions map to revisions: 'no_stream' → NO_STREAM, n → BigInt(n), 'any' → the revision read
 * just before (so the numbering of duplicates and new events is exact), with a retry if another writer
 * got in between.
 *
 * Idempotency by event id across streams. The server only recognises a repeated event id within the
 * same stream, so every new event id is first claimed: a tiny event in the stream
 * `<category>EventId-<eventId>` appended with NO_STREAM names the citizen stream that owns the id. A
 * claim that names another stream makes the event a duplicate if that stream holds it; a claim whose
 * append never happened (a conflict, a crash) is stale and is taken over. Within the citizen's own
 * stream the ids are compared exactly (citizen streams are short and read whole).
 *
 * appendBatch: EventStoreDB (before KurrentDB's multi-stream appends) commits atomically per stream
 * only. A batch is checked and serialised completely before anything is written, then appended as runs
 * of consecutive same-citizen events, in request order (so positions grow in request order). If the
 * server fails in the middle, the runs before stay stored; retrying the batch (what ingestion does on
 * an error) stores the rest and reports the stored part as duplicates.
 *
 * Subscriptions are the server's catch-up subscriptions to `$all`, filtered server-side to the citizen
 * streams, started from the checkpoint's position and restarted from the last delivered position when
 * the connection drops.
 */
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  jsonEvent,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendExpectedRevision,
  type JSONType,
  type ReadPosition,
  type RecordedEvent,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { systemClock, type Clock, type StoredEvent, type TransitionEvent } from '@tracker/domain';
import {
  WrongExpectedVersionError,
  type AppendBatchResult,
  type AppendToStreamResult,
  type BatchHandler,
  type EventStore,
  type ExpectedVersion,
  type ReadAllOptions,
  type SubscribeToAllOptions,
} from '../eventStore.ts';
import { EventStoreClosedError, SubscriptionStoppedError } from '../errors.ts';
import { checkCitizenId, checkMaxCount, checkSubscribeOptions, expectedAsNumber, prepareEvents, storedFrom, type PreparedEvent } from '../preparedEvents.ts';
import type { ObservableSubscription } from '../pullSubscription.ts';

export interface EventStoreDbEventStoreOptions {
  /** `esdb://host:2113?tls=false` (client 6 parses only `esdb://` and `esdb+discover://`); or give `client`. */
  connectionString?: string;
  /** A client owned by the caller (not disposed by `close()`). */
  client?: EventStoreDBClient;
  /** Stream category of the citizen streams (no '-'); default `citizen`. */
  category?: string;
  /** Source of `recordedAt`; defaults to the system clock. */
  clock?: Clock;
  /** First delay before a dropped subscription is restarted (doubling up to 5 s); default 100 ms. */
  resubscribeDelayMs?: number;
}

/** What the envelope keeps besides type and data (EventStoreDB event metadata). */
interface EnvelopeMetadata {
  citizenId: string;
  occurredAt: string;
  recordedAt: string;
  source?: string;
}

const DEFAULT_BATCH_SIZE = 500;
const CATEGORY = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Attempts of an append whose reads were overtaken by other writers ('any' appends, claim races). */
const MAX_ATTEMPTS = 10;
const CLAIM_TYPE = 'EventIdClaimed';

type ClaimOutcome = 'mine' | 'elsewhere' | 'raced';

const revisionOf = (expected: number): AppendExpectedRevision => (expected < 0 ? NO_STREAM : BigInt(expected));
const actualOf = (error: EsdbWrongExpectedVersionError): number => (typeof error.actualVersion === 'bigint' ? Number(error.actualVersion) : -1);

function positionOf(after: number): ReadPosition {
  return after <= 0 ? START : { commit: BigInt(after), prepare: BigInt(after) };
}

function toEventData(e: PreparedEvent, recordedAt: string) {
  const metadata: EnvelopeMetadata = { citizenId: e.citizenId, occurredAt: e.occurredAt, recordedAt };
  if (e.source !== null) metadata.source = e.source;
  return jsonEvent({ id: e.id, type: e.type, data: e.data as unknown as JSONType, metadata: metadata as unknown as JSONType });
}

/** A recorded citizen event as a StoredEvent; undefined for anything else (system or claim events). */
function toStoredEvent(recorded: RecordedEvent | undefined): StoredEvent | undefined {
  if (!recorded || !recorded.isJson || recorded.position === undefined) return undefined;
  const metadata = recorded.metadata as Partial<EnvelopeMetadata> | undefined;
  if (typeof metadata?.citizenId !== 'string' || typeof metadata.occurredAt !== 'string') return undefined;
  const event = { id: recorded.id, type: recorded.type, citizenId: metadata.citizenId, occurredAt: metadata.occurredAt } as Record<string, unknown>;
  if (typeof metadata.source === 'string') event.source = metadata.source;
  event.data = recorded.data;
  event.recordedAt = metadata.recordedAt ?? recorded.created.toISOString();
  event.streamVersion = Number(recorded.revision);
  event.globalPosition = Number(recorded.position.prepare);
  return event as unknown as StoredEvent;
}

export class EventStoreDbEventStore implements EventStore {
  /** Connects (lazily: the client connects on first use) and returns the store. */
  static async open(options: EventStoreDbEventStoreOptions): Promise<EventStoreDbEventStore> {
    const category = options.category ?? 'citizen';
    if (!CATEGORY.test(category)) throw new TypeError('category must be letters, digits or _ (no -), at most 40 characters');
    let client = options.client;
    if (!client) {
      const url = options.connectionString ?? '';
      if (!/^esdb(\+discover)?:\/\//.test(url)) {
        throw new TypeError('connectionString must start with esdb:// or esdb+discover:// (@eventstore/db-client 6 parses no other scheme)');
      }
      client = EventStoreDBClient.connectionString(url);
    }
    return new EventStoreDbEventStore(client, options.client === undefined, category, options.clock ?? systemClock, options.resubscribeDelayMs ?? 100);
  }

  readonly #client: EventStoreDBClient;
  readonly #ownsClient: boolean;
  readonly #prefix: string;
  readonly #claimPrefix: string;
  readonly #clock: Clock;
  readonly #resubscribeDelayMs: number;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #subscriptions = new Set<EsdbSubscription>();
  #closing: Promise<void> | undefined;
  #closed = false;

  private constructor(client: EventStoreDBClient, ownsClient: boolean, category: string, clock: Clock, resubscribeDelayMs: number) {
    this.#client = client;
    this.#ownsClient = ownsClient;
    this.#prefix = `${category}-`;
    this.#claimPrefix = `${category}EventId-`;
    this.#clock = clock;
    this.#resubscribeDelayMs = resubscribeDelayMs;
  }

  #stream(citizenId: string): string {
    return this.#prefix + citizenId;
  }

  // ---------------------------------------------------------------- appends

  appendToStream(citizenId: string, events: readonly TransitionEvent[], options?: { expectedVersion?: ExpectedVersion }): Promise<AppendToStreamResult> {
    return this.#track(async () => {
      checkCitizenId(citizenId);
      const expectedAsGiven = options?.expectedVersion ?? 'any';
      const expected = expectedAsNumber(expectedAsGiven);
      const prepared = prepareForEsdb(events, citizenId);
      return this.#appendRun(citizenId, prepared, expected, expectedAsGiven, this.#clock.now().toISOString());
    });
  }

  appendBatch(events: readonly TransitionEvent[]): Promise<AppendBatchResult> {
    return this.#track(async () => {
      const prepared = prepareForEsdb(events, undefined);
      const recordedAt = this.#clock.now().toISOString();
      const appended: StoredEvent[] = [];
      const duplicates: string[] = [];
      // An id repeated later in the batch (in another run) is a duplicate of its first occurrence.
      const seen = new Set<string>();
      let run: PreparedEvent[] = [];
      const flush = async () => {
        if (run.length === 0) return;
        const result = await this.#appendRun(run[0]!.citizenId, run, undefined, 'any', recordedAt);
        appended.push(...result.appended);
        duplicates.push(...result.duplicates);
        run = [];
      };
      for (const e of prepared) {
        if (run.length > 0 && run[0]!.citizenId !== e.citizenId) await flush();
        if (seen.has(e.id)) {
          await flush(); // keep duplicates in request order
          duplicates.push(e.id);
          continue;
        }
        seen.add(e.id);
        run.push(e);
      }
      await flush();
      return { appended, duplicates };
    });
  }

  #track<T>(append: () => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new EventStoreClosedError());
    const running = append();
    this.#inFlight.add(running);
    const forget = () => this.#inFlight.delete(running);
    running.then(forget, forget);
    return running;
  }

  /** Appends events of one citizen; see the module comment for the steps. */
  async #appendRun(
    citizenId: string,
    events: PreparedEvent[],
    expected: number | undefined,
    expectedAsGiven: ExpectedVersion,
    recordedAt: string,
  ): Promise<AppendToStreamResult> {
    const stream = this.#stream(citizenId);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const stored = await this.#readWhole(stream);
      const revision = stored.length === 0 ? -1 : Number(stored[stored.length - 1]!.revision);
      const inStream = new Set(stored.map((e) => e.id));

      if (expected !== undefined && expected !== revision) {
        // An idempotent retry (every event already stored) succeeds whatever version it expected.
        if (events.length > 0 && (await this.#allStored(events, stream, inStream))) {
          return { appended: [], duplicates: events.map((e) => e.id), nextExpectedVersion: revision };
        }
        throw new WrongExpectedVersionError(citizenId, expectedAsGiven, revision);
      }

      const candidates: PreparedEvent[] = [];
      const firstOccurrence = new Set<string>();
      for (const e of events) {
        if (inStream.has(e.id) || firstOccurrence.has(e.id)) continue;
        firstOccurrence.add(e.id);
        candidates.push(e);
      }
      const outcomes = await Promise.all(candidates.map((e) => this.#claim(e.id, stream)));
      if (outcomes.includes('raced')) continue;
      const fresh = candidates.filter((_, i) => outcomes[i] === 'mine');
      const freshIds = new Set(fresh.map((e) => e.id));
      const duplicates: string[] = [];
      const counted = new Set<string>();
      for (const e of events) {
        if (!freshIds.has(e.id) || counted.has(e.id)) duplicates.push(e.id);
        counted.add(e.id);
      }
      if (fresh.length === 0) return { appended: [], duplicates, nextExpectedVersion: revision };

      try {
        await this.#client.appendToStream(
          stream,
          fresh.map((e) => toEventData(e, recordedAt)),
          { expectedRevision: revisionOf(revision) },
        );
      } catch (error) {
        if (!(error instanceof EsdbWrongExpectedVersionError)) throw error;
        if (expected !== undefined) throw new WrongExpectedVersionError(citizenId, expectedAsGiven, actualOf(error));
        continue; // 'any': someone appended after our read; number the events again
      }
      const written = await this.#read(stream, { fromRevision: BigInt(revision + 1), maxCount: fresh.length });
      const positions = new Map(written.map((r) => [r.id, r]));
      const appended = fresh.map((e) => {
        const recorded = positions.get(e.id);
        if (!recorded?.position) throw new Error('the server did not return the position of an appended event (EventStoreDB ≥ 22.6 is needed)');
        return storedFrom(e, recordedAt, Number(recorded.revision), Number(recorded.position.prepare));
      });
      return { appended, duplicates, nextExpectedVersion: appended[appended.length - 1]!.streamVersion };
    }
    throw new Error(`the append was overtaken by other writers ${MAX_ATTEMPTS} times; try again`);
  }

  /** Every event is stored: in this stream, or in the stream its id's claim names. */
  async #allStored(events: PreparedEvent[], stream: string, inStream: Set<string>): Promise<boolean> {
    for (const e of events) {
      if (inStream.has(e.id)) continue;
      const claim = await this.#readClaim(e.id);
      if (!claim || claim.owner === stream || !(await this.#streamHolds(claim.owner, e.id))) return false;
    }
    return true;
  }

  /** Claims an event id for a stream: 'mine', 'elsewhere' (stored in another stream) or 'raced'. */
  async #claim(eventId: string, stream: string): Promise<ClaimOutcome> {
    const claimStream = this.#claimPrefix + eventId;
    const claimEvent = () => jsonEvent({ type: CLAIM_TYPE, data: { stream } });
    try {
      await this.#client.appendToStream(claimStream, claimEvent(), { expectedRevision: NO_STREAM });
      return 'mine';
    } catch (error) {
      if (!(error instanceof EsdbWrongExpectedVersionError)) throw error;
    }
    const claim = await this.#readClaim(eventId);
    if (!claim) return 'raced';
    if (claim.owner === stream) return 'mine'; // our own earlier claim, whose append did not happen
    if (await this.#streamHolds(claim.owner, eventId)) return 'elsewhere';
    try {
      // A stale claim (its append failed or never came): take it over, unless someone else just did.
      await this.#client.appendToStream(claimStream, claimEvent(), { expectedRevision: claim.revision });
      return 'mine';
    } catch (error) {
      if (error instanceof EsdbWrongExpectedVersionError) return 'raced';
      throw error;
    }
  }

  async #readClaim(eventId: string): Promise<{ owner: string; revision: bigint } | undefined> {
    const [last] = await this.#read(this.#claimPrefix + eventId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 });
    if (!last) return undefined;
    return { owner: (last.data as { stream: string }).stream, revision: last.revision };
  }

  async #streamHolds(stream: string, eventId: string): Promise<boolean> {
    return (await this.#readWhole(stream)).some((e) => e.id === eventId);
  }

  #readWhole(stream: string): Promise<RecordedEvent[]> {
    return this.#read(stream, {});
  }

  /** A stream's events; a stream that does not exist reads as empty. */
  async #read(stream: string, options: Parameters<EventStoreDBClient['readStream']>[1]): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    try {
      for await (const resolved of this.#client.readStream(stream, { direction: FORWARDS, ...options }) as AsyncIterable<ResolvedEvent>) {
        if (resolved.event) out.push(resolved.event);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return out;
  }

  // ---------------------------------------------------------------- reads

  async readStream(citizenId: string, options: { fromVersion?: number; maxCount?: number } = {}): Promise<StoredEvent[]> {
    this.#assertReadable();
    const from = options.fromVersion ?? 0;
    if (!Number.isSafeInteger(from)) throw new TypeError('fromVersion must be an integer');
    checkMaxCount(options.maxCount);
    if (options.maxCount === 0) return [];
    const recorded = await this.#read(this.#stream(citizenId), {
      fromRevision: BigInt(Math.max(0, from)),
      ...(options.maxCount !== undefined ? { maxCount: options.maxCount } : {}),
    });
    return recorded.map((r) => toStoredEvent(r)).filter((e): e is StoredEvent => e !== undefined);
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    this.#assertReadable();
    const after = options.after ?? 0;
    if (!Number.isSafeInteger(after)) throw new TypeError('after must be an integer');
    checkMaxCount(options.maxCount);
    return this.#readAll(after, options.maxCount ?? Number.POSITIVE_INFINITY);
  }

  /** Citizen events after a position, skipping system and claim events. */
  async #readAll(after: number, limit: number): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    if (limit <= 0) return out;
    for await (const resolved of this.#client.readAll({ fromPosition: positionOf(after), direction: FORWARDS }) as AsyncIterable<AllStreamResolvedEvent>) {
      const event = this.#citizenEvent(resolved);
      if (event && event.globalPosition > after) out.push(event);
      if (out.length >= limit) break; // leaving the loop cancels the read
    }
    return out;
  }

  #citizenEvent(resolved: AllStreamResolvedEvent): StoredEvent | undefined {
    const recorded = resolved.event;
    if (!recorded || !recorded.streamId.startsWith(this.#prefix)) return undefined;
    return toStoredEvent(recorded);
  }

  async headPosition(): Promise<number> {
    this.#assertReadable();
    return this.#head();
  }

  /** Position of the newest citizen event (system and claim events after it are skipped). */
  async #head(): Promise<number> {
    for await (const resolved of this.#client.readAll({ fromPosition: END, direction: BACKWARDS }) as AsyncIterable<AllStreamResolvedEvent>) {
      const event = this.#citizenEvent(resolved);
      if (event) return event.globalPosition;
    }
    return 0;
  }

  #assertReadable(): void {
    if (this.#closed) throw new EventStoreClosedError();
  }

  // ---------------------------------------------------------------- subscriptions

  /**
   * The server's catch-up subscription to `$all` from the checkpoint, filtered to citizen streams and
   * handed over in batches of at most `batchSize` (default 500); restarted from the last delivered
   * position when it drops. Throws `EventStoreClosedError` synchronously once `close()` was called.
   */
  subscribeToAll(options: SubscribeToAllOptions, handler: BatchHandler): ObservableSubscription {
    if (this.#closing) throw new EventStoreClosedError();
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    checkSubscribeOptions(options.after, batchSize);
    const subscription = new EsdbSubscription({
      after: options.after,
      batchSize,
      handler,
      resubscribeDelayMs: this.#resubscribeDelayMs,
      head: () => this.#head(),
      subscribe: (after) =>
        this.#client.subscribeToAll({ fromPosition: positionOf(after), filter: streamNameFilter({ prefixes: [this.#prefix] }) }),
      convert: (resolved) => this.#citizenEvent(resolved),
      ended: (s) => this.#subscriptions.delete(s),
    });
    this.#subscriptions.add(subscription);
    return subscription;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Lets running appends finish, stops subscriptions, disposes the client (if it made it). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
    await Promise.all([...this.#subscriptions].map((s) => s.stop()));
    this.#closed = true;
    if (this.#ownsClient) await this.#client.dispose();
  }
}

/** The envelope checks, plus what EventStoreDB needs: event ids are UUIDs. */
function prepareForEsdb(events: readonly TransitionEvent[], streamId: string | undefined): PreparedEvent[] {
  const prepared = prepareEvents(events, streamId);
  prepared.forEach((e, i) => {
    if (!UUID.test(e.id)) throw new TypeError(`event at index ${i}: id must be a UUID`);
  });
  return prepared;
}

interface EsdbSubscriptionParams {
  after: number;
  batchSize: number;
  handler: BatchHandler;
  resubscribeDelayMs: number;
  head(): Promise<number>;
  subscribe(after: number): AllStreamSubscription;
  convert(resolved: AllStreamResolvedEvent): StoredEvent | undefined;
  ended(subscription: EsdbSubscription): void;
}

/**
 * Buffers what the server pushes, hands it to the handler in batches (never two at once), pauses the
 * server stream while the buffer is full, and restarts the server subscription from the last delivered
 * position when it fails or ends.
 */
class EsdbSubscription implements ObservableSubscription {
  readonly caughtUp: Promise<void>;
  readonly done: Promise<void>;
  readonly #params: EsdbSubscriptionParams;
  readonly #loop: Promise<void>;
  #resolveCaughtUp!: () => void;
  #rejectCaughtUp!: (error: unknown) => void;
  #caughtUpSettled = false;
  #stopped = false;
  #server: AllStreamSubscription | undefined;
  #buffer: StoredEvent[] = [];
  #dropped: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(params: EsdbSubscriptionParams) {
    this.#params = params;
    this.caughtUp = new Promise<void>((resolve, reject) => {
      this.#resolveCaughtUp = resolve;
      this.#rejectCaughtUp = reject;
    });
    this.caughtUp.catch(() => {});
    let resolveDone!: () => void;
    let rejectDone!: (error: unknown) => void;
    this.done = new Promise<void>((resolve, reject) => {
      resolveDone = resolve;
      rejectDone = reject;
    });
    this.done.catch(() => {});
    this.#loop = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#run()).then(resolveDone, rejectDone);
  }

  stop(): Promise<void> {
    this.#stopped = true;
    this.#kick();
    return this.#loop.then(
      () => undefined,
      () => undefined,
    );
  }

  #kick(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #settleCaughtUp(error?: unknown): void {
    if (this.#caughtUpSettled) return;
    this.#caughtUpSettled = true;
    if (error === undefined) this.#resolveCaughtUp();
    else this.#rejectCaughtUp(error);
  }

  #open(after: number): void {
    const highWater = this.#params.batchSize * 2;
    const server = this.#params.subscribe(after);
    this.#server = server;
    this.#buffer = [];
    this.#dropped = undefined;
    server.on('data', (resolved: AllStreamResolvedEvent) => {
      if (this.#server !== server) return;
      const event = this.#params.convert(resolved);
      if (!event) return;
      this.#buffer.push(event);
      if (this.#buffer.length >= highWater) server.pause(); // backpressure until the handler catches up
      this.#kick();
    });
    const drop = (error: Error) => {
      if (this.#server !== server || this.#stopped) return;
      this.#dropped = error;
      this.#kick();
    };
    server.on('error', drop);
    server.on('end', () => drop(new Error('the server ended the subscription')));
  }

  async #close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) await server.unsubscribe().catch(() => {});
  }

  async #run(): Promise<void> {
    const { batchSize, handler } = this.#params;
    let position = this.#params.after;
    let delay = this.#params.resubscribeDelayMs;
    try {
      const target = await this.#params.head();
      if (position >= target) this.#settleCaughtUp();
      this.#open(position);
      while (!this.#stopped) {
        if (this.#dropped && this.#buffer.length === 0) {
          // Restart from what was delivered; anything buffered but undelivered is read again.
          await this.#close();
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(delay * 2, 5_000);
          if (this.#stopped) break;
          this.#open(position);
          continue;
        }
        if (this.#buffer.length === 0) {
          await new Promise<void>((resolve) => (this.#wake = resolve));
          continue;
        }
        const batch = this.#buffer.splice(0, batchSize).filter((e) => e.globalPosition > position);
        if (this.#buffer.length < batchSize) this.#server?.resume();
        if (batch.length === 0) continue;
        await handler(batch);
        delay = this.#params.resubscribeDelayMs;
        position = batch[batch.length - 1]!.globalPosition;
        if (position >= target) this.#settleCaughtUp();
      }
      this.#settleCaughtUp(new SubscriptionStoppedError());
    } catch (error) {
      this.#stopped = true;
      this.#settleCaughtUp(error);
      throw error;
    } finally {
      await this.#close();
      this.#params.ended(this);
    }
  }
}
