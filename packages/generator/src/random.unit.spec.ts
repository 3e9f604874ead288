import { describe, expect, it } from 'vitest';
import { Random } from './random.ts';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('Random (sfc32)', () => {
  it('pins its output: fixtures and benchmarks depend on these exact numbers', () => {
    const r = new Random(1);
    expect([r.uint32(), r.uint32(), r.uint32()]).toEqual([1035898096, 4008048918, 6906728]);
    expect(new Random(1, 2).uuid()).toBe('966fb418-9a1c-4ade-b2a5-01f0e18a899a');
  });

  it('repeats a sequence for the same seed and keys, and differs for other seeds or keys', () => {
    const draw = (r: Random) => Array.from({ length: 8 }, () => r.uint32());
    expect(draw(new Random(42, 7))).toEqual(draw(new Random(42, 7)));
    expect(draw(new Random(42, 7))).not.toEqual(draw(new Random(43, 7)));
    expect(draw(new Random(42, 7))).not.toEqual(draw(new Random(42, 8)));
    // seeds beyond 32 bits are not truncated into each other
    expect(draw(new Random(2 ** 32 + 5))).not.toEqual(draw(new Random(5)));
    expect(() => new Random(Number.NaN)).toThrow(RangeError);
  });

  it('int covers [min, max] inclusively and nothing outside', () => {
    const r = new Random(3);
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const v = r.int(-2, 3);
      expect(v).toBeGreaterThanOrEqual(-2);
      expect(v).toBeLessThanOrEqual(3);
      seen.add(v);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2, 3]);
  });

  it('chance and weighted follow their probabilities', () => {
    const r = new Random(4);
    const n = 20_000;
    let hits = 0;
    for (let i = 0; i < n; i++) if (r.chance(0.3)) hits++;
    expect(hits / n).toBeGreaterThan(0.28);
    expect(hits / n).toBeLessThan(0.32);
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < n; i++) counts[r.weighted([['a', 1], ['b', 3], ['c', 0]] as const)]++;
    expect(counts.c).toBe(0);
    expect(counts.b / n).toBeGreaterThan(0.72);
    expect(counts.b / n).toBeLessThan(0.78);
  });

  it('duration is centred on its median and clamped', () => {
    const r = new Random(5);
    const values = Array.from({ length: 10_001 }, () => r.duration(100, 0.5, 30, 250)).sort((a, b) => a - b);
    expect(values[0]).toBeGreaterThanOrEqual(30);
    expect(values[values.length - 1]).toBeLessThanOrEqual(250);
    expect(values[5000]).toBeGreaterThan(95);
    expect(values[5000]).toBeLessThan(105);
  });

  it('draws UUID v4-shaped ids without repeats', () => {
    const r = new Random(6);
    const ids = Array.from({ length: 10_000 }, () => r.uuid());
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
