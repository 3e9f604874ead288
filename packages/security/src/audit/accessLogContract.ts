/**
 * The contract every AccessLog adapter passes unchanged (SQLite file, PostgreSQL). What an adapter's
 * own spec adds is what only its engine can show (SQL from another connection, several replicas).
 *
 * `open` gives an empty log per test, stamping `at` from the given clock. The fixture can reopen the
 * same log (a restart) and tamper with it as an intruder who can remove the append-only guard would —
 * the hash chain must still tell.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tracker/domain';
import { AccessLogClosedError, AccessLogEntryError, ERASURE_OPERATION, type AccessLog, type AccessRecord } from './accessLog.ts';
import type { ChainVerification } from './hashChain.ts';

/** What the contract needs beyond the port: the chain check and the group-commit counters. */
export interface AccessLogUnderTest extends AccessLog {
  verify(): Promise<ChainVerification>;
  readonly stats: Readonly<{ commits: number; entries: number; largestGroup: number }>;
}

export interface OpenedAccessLog {
  log: AccessLogUnderTest;
  /** The same log opened anew (the previous instance was closed), as after a restart. */
  reopen(): Promise<AccessLogUnderTest>;
  /** Changes an entry's actor outside the API, the append-only guard removed first. The log is closed. */
  tamperActor(seq: number, actor: string): Promise<void>;
  /** Removes an entry outside the API, the append-only guard removed first. The log is closed. */
  tamperRemove(seq: number): Promise<void>;
  /** Releases everything; tolerates a log the test has already closed. */
  dispose(): Promise<void>;
}

export const accessRead = (over: Partial<AccessRecord> = {}): AccessRecord => ({
  actor: 'sub-employee-17',
  actorRole: 'coordinator',
  citizenId: 'c-42',
  operation: 'query.citizen',
  purpose: 'visitationsmøde',
  ...over,
});

export function accessLogContract(adapterName: string, open: (clock: ManualClock) => Promise<OpenedAccessLog>): void {
  describe(`AccessLog contract: ${adapterName}`, () => {
    let clock: ManualClock;
    let opened: OpenedAccessLog;
    let log: AccessLogUnderTest;
    const read = accessRead;

    beforeEach(async () => {
      clock = new ManualClock('2025-03-03T08:00:00Z');
      opened = await open(clock);
      log = opened.log;
    });
    afterEach(async () => {
      await log.close();
      await opened.dispose();
    });

    const reopen = async () => {
      log = await opened.reopen();
    };

    it('a request of insight lists dates, operations and purposes — not who looked', async () => {
      await log.record(read());
      clock.advance(3600_000);
      await log.record(read({ actor: 'sub-employee-99', actorRole: 'administrator', operation: 'query.handovers', purpose: undefined }));
      await log.record(read({ citizenId: 'c-43' }));
      const lookups = await log.lookupsOf('c-42');
      expect(lookups).toEqual([
        { at: '2025-03-03T08:00:00.000Z', operation: 'query.citizen', purpose: 'visitationsmøde' },
        { at: '2025-03-03T09:00:00.000Z', operation: 'query.handovers', purpose: null },
      ]);
      const text = JSON.stringify(lookups);
      expect(text).not.toContain('sub-employee');
      expect(text).not.toContain('coordinator');
    });

    it('entries for an investigation carry the actors, filtered and paged', async () => {
      await log.recordAll([read(), read({ citizenId: 'c-43', actor: 'sub-other' })]);
      clock.advance(86_400_000);
      await log.record(read({ purpose: '  ' }));
      expect(await log.entries({ actor: 'sub-other' })).toEqual([
        { seq: 2, at: '2025-03-03T08:00:00.000Z', actor: 'sub-other', actorRole: 'coordinator', citizenId: 'c-43', operation: 'query.citizen', purpose: 'visitationsmøde' },
      ]);
      expect((await log.entries({ citizenId: 'c-42' })).map((e) => e.seq)).toEqual([1, 3]);
      expect((await log.entries({ from: '2025-03-04T00:00:00Z' })).map((e) => [e.seq, e.purpose])).toEqual([[3, null]]);
      expect((await log.entries({ to: '2025-03-03T08:00:00.000Z' })).map((e) => e.seq)).toEqual([1, 2]);
      expect((await log.entries({ afterSeq: 1, limit: 1 })).map((e) => e.seq)).toEqual([2]);
      expect(await log.entries({ from: '2025-03-05T00:00:00Z' })).toEqual([]);
      await expect(log.entries({ from: 'yesterday' })).rejects.toThrow(AccessLogEntryError);
    });

    it('lists the erased citizens once each, with the earliest erasure, in the order first erased — and survives a restart', async () => {
      const erasure = (citizenId: string) => read({ citizenId, operation: ERASURE_OPERATION, actorRole: 'administrator', actor: 'sub-admin-1', purpose: 'anmodning om sletning' });
      expect(await log.erasures()).toEqual([]);
      await log.record(read({ citizenId: 'c-9' }));
      await log.record(erasure('c-9'));
      clock.advance(60_000);
      await log.recordAll([erasure('c-3'), read({ citizenId: 'c-3' })]);
      clock.advance(60_000);
      // Erasing again (the mutation is idempotent) does not move the first instant.
      await log.record(erasure('c-9'));
      // Neither an operation that merely resembles it nor a read of an erased citizen counts.
      await log.record(read({ citizenId: 'c-5', operation: `${ERASURE_OPERATION}.x` }));
      const expected = [
        { citizenId: 'c-9', erasedAt: '2025-03-03T08:00:00.000Z' },
        { citizenId: 'c-3', erasedAt: '2025-03-03T08:01:00.000Z' },
      ];
      expect(await log.erasures()).toEqual(expected);
      // The citizen's request of insight shows the erasure too: when, and what — not who.
      const insight = await log.lookupsOf('c-3');
      expect(insight).toEqual([
        { at: '2025-03-03T08:01:00.000Z', operation: ERASURE_OPERATION, purpose: 'anmodning om sletning' },
        { at: '2025-03-03T08:01:00.000Z', operation: 'query.citizen', purpose: 'visitationsmøde' },
      ]);
      expect(JSON.stringify(insight)).not.toContain('sub-admin');
      // An erasure queued but not yet written is listed (the read flushes first).
      const queued = log.record(erasure('c-7'));
      expect((await log.erasures()).map((e) => e.citizenId)).toEqual(['c-9', 'c-3', 'c-7']);
      await queued;
      await log.close();
      await reopen();
      expect((await log.erasures()).slice(0, 2)).toEqual(expected);
      await log.close();
      await expect(log.erasures()).rejects.toThrow(AccessLogClosedError);
    });

    it('the API offers no way to change or remove an entry', () => {
      let prototype: object | null = Object.getPrototypeOf(log);
      while (prototype !== null && prototype !== Object.prototype) {
        for (const name of Object.getOwnPropertyNames(prototype)) expect(name).not.toMatch(/update|delete|remove|erase|purge|truncate|edit|clear/i);
        prototype = Object.getPrototypeOf(prototype);
      }
      const port: (keyof AccessLog)[] = ['record', 'recordAll', 'lookupsOf', 'entries', 'erasures', 'flush', 'close'];
      expect(port).toHaveLength(7);
    });

    it('whoever removes the append-only guard still cannot edit or remove an entry unnoticed (hash chain)', async () => {
      for (let i = 0; i < 5; i++) await log.record(read({ citizenId: `c-${i}` }));
      await expect(log.verify()).resolves.toEqual({ ok: true, entries: 5 });
      await log.close();

      await opened.tamperActor(3, 'someone-else');
      await reopen();
      await expect(log.verify()).resolves.toEqual({ ok: false, entries: 2, firstBrokenSeq: 3 });
      await log.close();

      // Put back, the edit is invisible to the chain; a removal is not.
      await opened.tamperActor(3, 'sub-employee-17');
      await reopen();
      await expect(log.verify()).resolves.toEqual({ ok: true, entries: 5 });
      await log.close();
      await opened.tamperRemove(2);
      await reopen();
      await expect(log.verify()).resolves.toEqual({ ok: false, entries: 1, firstBrokenSeq: 2 });
    });

    it('group commit: many concurrent reads, one transaction', async () => {
      await Promise.all(Array.from({ length: 500 }, (_, i) => log.record(read({ citizenId: `c-${i}` }))));
      expect(log.stats).toEqual({ commits: 1, entries: 500, largestGroup: 500 });
      await expect(log.verify()).resolves.toEqual({ ok: true, entries: 500 });
    });

    it('close flushes what was recorded but not yet written; later records are refused', async () => {
      const pending = Array.from({ length: 50 }, (_, i) => log.record(read({ citizenId: `c-${i}` })));
      await log.close();
      await Promise.all(pending);
      await expect(log.record(read())).rejects.toThrow(AccessLogClosedError);
      await expect(log.entries()).rejects.toThrow(AccessLogClosedError);

      await reopen();
      expect(await log.entries({ limit: 10_000 })).toHaveLength(50);
      // The chain continues across a restart.
      await log.record(read());
      await expect(log.verify()).resolves.toEqual({ ok: true, entries: 51 });
    });

    it('refuses entries that would put a CPR number or garbage into the log, naming the field only', async () => {
      const cases: [Partial<AccessRecord>, string][] = [
        [{ citizenId: '010190-1234' }, 'citizenId'],
        [{ citizenId: '0101901234' }, 'citizenId'],
        [{ purpose: 'sag vedr. 010190-1234' }, 'purpose'],
        [{ purpose: 'x'.repeat(501) }, 'purpose'],
        [{ actor: '' }, 'actor'],
        [{ actorRole: 'root' as never }, 'actorRole'],
        [{ operation: 'query citizen; drop' }, 'operation'],
      ];
      for (const [over, field] of cases) {
        const error = await log.record(read(over)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AccessLogEntryError);
        expect(error).toMatchObject({ field });
        expect((error as Error).message).not.toContain('010190');
      }
      // A refused entry in a batch refuses the batch: nothing half-logged.
      await expect(log.recordAll([read(), read({ citizenId: '0101901234' })])).rejects.toThrow(AccessLogEntryError);
      expect(await log.entries()).toEqual([]);
      await expect(log.lookupsOf('010190-1234')).rejects.toThrow(AccessLogEntryError);
      await expect(log.entries({ citizenId: '0101901234' })).rejects.toThrow(AccessLogEntryError);
    });

    it('`at` comes from the log’s clock when recorded, not when flushed', async () => {
      const first = log.record(read());
      clock.advance(60_000);
      await first;
      expect((await log.entries())[0]!.at).toBe('2025-03-03T08:00:00.000Z');
    });
  });
}
