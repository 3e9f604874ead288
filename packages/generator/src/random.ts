/**
 * A tiny seeded PRNG: sfc32 (Chris Doty-Humphrey's "Small Fast Counting" generator from PractRand).
 *
 * Why sfc32: 128 bits of state in four int32 words, a handful of 32-bit integer operations per draw
 * (fast in V8, no BigInt), passes PractRand and TestU01 BigCrush, and a built-in counter guarantees a
 * minimum period of 2^32 per seed (expected ~2^127). Math.random cannot be seeded, and the history
 * generator must be byte-identical for the same seed across machines and Node versions.
 *
 * Why not a dependency: the whole algorithm is ten lines, we need its exact output to stay stable
 * forever (a library upgrade that changes seeding would silently change every fixture and benchmark),
 * and the helpers we want (weighted pick, log-normal durations, UUID v4 from the stream) would need
 * writing anyway.
 */

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** splitmix32-style finaliser: a well-mixed 32-bit hash of a 32-bit input. */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Folds any finite number (e.g. a seed beyond 32 bits, or negative) into 32 bits deterministically. */
function fold(n: number): number {
  if (!Number.isFinite(n)) throw new RangeError(`seed must be a finite number, got ${n}`);
  const int = Math.trunc(n);
  const lo = int >>> 0;
  const hi = Math.floor(int / 4_294_967_296) >>> 0;
  return mix32(lo ^ mix32(hi));
}

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * @param seed any finite number
   * @param keys further numbers mixed into the seed: independent streams (e.g. citizen index, purpose)
   */
  constructor(seed: number, ...keys: number[]) {
    let h = fold(seed);
    for (const k of keys) h = mix32(h ^ fold(k));
    this.a = mix32(h);
    this.b = mix32(this.a ^ 0x6a09e667);
    this.c = mix32(this.b ^ 0xbb67ae85);
    this.d = 1; // sfc32's counter
    for (let i = 0; i < 15; i++) this.uint32(); // warm-up, as PractRand's seeding does
  }

  /** The next 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4_294_967_296;
  }

  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Uniform float in [min, max). */
  float(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Picks a value with probability proportional to its weight. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of entries) total += w;
    let r = this.next() * total;
    for (const [value, w] of entries) {
      r -= w;
      if (r < 0) return value;
    }
    return entries[entries.length - 1]![0];
  }

  /** Approximately standard normal (Irwin–Hall of four uniforms, rescaled): cheap and bounded to ±3.46. */
  normal(): number {
    return (this.next() + this.next() + this.next() + this.next() - 2) * 1.7320508075688772;
  }

  /**
   * A positive, right-skewed duration (log-normal-ish) with the given median; `spread` is the sigma
   * of the logarithm (0.5 ≈ half the draws within ×0.7–×1.4 of the median), clamped to [min, max].
   */
  duration(median: number, spread: number, min = 0, max = Number.POSITIVE_INFINITY): number {
    const value = median * Math.exp(spread * this.normal());
    return value < min ? min : value > max ? max : value;
  }

  /** Waiting time of a Poisson process with `ratePerUnit` events per unit (exponential). */
  exponential(ratePerUnit: number): number {
    return -Math.log(1 - this.next()) / ratePerUnit;
  }

  /** A UUID v4-shaped string (version nibble 4, RFC 4122 variant) drawn from this stream. */
  uuid(): string {
    const w0 = this.uint32();
    const w1 = this.uint32();
    const w2 = this.uint32();
    const w3 = this.uint32();
    return (
      HEX[w0 >>> 24]! +
      HEX[(w0 >>> 16) & 0xff]! +
      HEX[(w0 >>> 8) & 0xff]! +
      HEX[w0 & 0xff]! +
      '-' +
      HEX[w1 >>> 24]! +
      HEX[(w1 >>> 16) & 0xff]! +
      '-' +
      HEX[((w1 >>> 8) & 0x0f) | 0x40]! +
      HEX[w1 & 0xff]! +
      '-' +
      HEX[((w2 >>> 24) & 0x3f) | 0x80]! +
      HEX[(w2 >>> 16) & 0xff]! +
      '-' +
      HEX[(w2 >>> 8) & 0xff]! +
      HEX[w2 & 0xff]! +
      HEX[w3 >>> 24]! +
      HEX[(w3 >>> 16) & 0xff]! +
      HEX[(w3 >>> 8) & 0xff]! +
      HEX[w3 & 0xff]!
    );
  }
}
