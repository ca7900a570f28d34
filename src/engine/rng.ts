/**
 * Seeded pseudo-random numbers (mulberry32 core, Box–Muller normals). Every random choice in hti
 * draws from one of these, so the same seed gives the same surrogate.
 */
/** A 32-bit finaliser (murmur3's): every input bit affects every output bit. */
function mix32(x: number): number {
  let s = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35) >>> 0;
  return (s ^ (s >>> 16)) >>> 0;
}

export class Rng {
  private state: number;
  private spare: number | null = null;

  /**
   * Any finite seed; integers 0 … 2^53 − 1 give distinct streams (a seed is taken as a whole
   * number: its low and high 32 bits are both mixed in, so 2^32 and 0 differ).
   */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`a seed must be a finite number, got ${seed}`);
    const whole = Math.floor(seed);
    // Mix the seed so that nearby seeds give unrelated streams. Seeds below 2^32 keep the stream
    // they always had; above, the high word is mixed in as well.
    let s = mix32((whole ^ 0x9e3779b9) >>> 0);
    const high = whole >= 2 ** 32 ? Math.floor(whole / 2 ** 32) : whole < 0 ? Math.floor(whole / 2 ** 32) + 1 : 0;
    if (high !== 0) s = mix32((s ^ Math.imul(high >>> 0, 0x9e3779b1) ^ (Math.floor(high / 2 ** 32) >>> 0)) >>> 0);
    this.state = s;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u <= 1e-300) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A new independent stream derived from this one and a label (for reproducible sub-tasks). */
  fork(label: string): Rng {
    let h = this.int(0x7fffffff);
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
    return new Rng(h);
  }

  /** Fisher–Yates permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** k distinct indices from 0..n-1 (all of them, shuffled, when k >= n). */
  sample(n: number, k: number): Int32Array {
    return this.permutation(n).subarray(0, Math.min(k, n));
  }

  normals(count: number, scale = 1): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.normal() * scale;
    return out;
  }

  uniforms(count: number, low: number, high: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = low + (high - low) * this.next();
    return out;
  }
}
