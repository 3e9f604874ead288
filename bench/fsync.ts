/**
 * fsync: how many times a second this disk makes a write durable. It bounds every durable append path:
 * a lone writer cannot commit faster than one sync per commit allows, however fast the code is.
 *
 * Four patterns, 4 KiB per write: overwriting a page of a preallocated file (what SQLite's WAL does once
 * it has been reset after a checkpoint) and appending to the file (a growing WAL: the file size changes,
 * so the sync also commits file-system metadata), each with fsync and with fdatasync.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { freshDir, now, rate, removeDir, summarize, type Benchmark, type Metric } from './harness.ts';

const PAGE = 4096;
const PREALLOCATED_PAGES = 256;

const run: Benchmark = async ({ quick, runDir, log }) => {
  const dir = freshDir(runDir, 'fsync');
  // Bounded in count and in time: on a busy disk a sync can take milliseconds.
  const maxSyncs = quick ? 2_000 : 10_000;
  const maxMs = quick ? 500 : 2_000;
  const metrics: Metric[] = [];
  try {
    const page = Buffer.alloc(PAGE, 7);
    for (const [label, sync, append] of [
      ['fsync, overwrite 4 KiB', fsyncSync, false],
      ['fdatasync, overwrite 4 KiB', fdatasyncSync, false],
      ['fsync, append 4 KiB', fsyncSync, true],
      ['fdatasync, append 4 KiB', fdatasyncSync, true],
    ] as const) {
      const fd = openSync(join(dir, `f${metrics.length}`), 'w+');
      try {
        writeSync(fd, Buffer.alloc(PAGE * PREALLOCATED_PAGES), 0, PAGE * PREALLOCATED_PAGES, 0);
        fsyncSync(fd);
        const latencies = new Float64Array(maxSyncs);
        const t0 = now();
        let syncs = 0;
        while (syncs < maxSyncs && now() - t0 < maxMs) {
          const t = now();
          writeSync(fd, page, 0, PAGE, PAGE * (append ? PREALLOCATED_PAGES + syncs : syncs % PREALLOCATED_PAGES));
          sync(fd);
          latencies[syncs++] = now() - t;
        }
        const elapsed = now() - t0;
        metrics.push({ case: label, value: rate(syncs, elapsed), unit: 'syncs/s', dist: summarize(latencies.subarray(0, syncs)), distLabel: 'latency ms' });
        log(`${label}: ${rate(syncs, elapsed).toFixed(0)}/s`);
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    removeDir(dir);
  }
  return {
    metrics,
    notes: ['one thread, sequential: the ceiling of commits/s for a lone writer; group commit shares one sync among many appends'],
  };
};

export default run;
