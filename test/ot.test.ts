import { describe, expect, it } from 'vitest';
import { Rng } from '../src/engine/rng.js';
import { exactAssignment, exactOtCost, exactTransportPlan, solveAssignment, squaredDistances } from '../src/eval/ot.js';

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) {
    for (let k = 0; k <= p.length; k++) out.push([...p.slice(0, k), n - 1, ...p.slice(k)]);
  }
  return out;
}

function bruteForce(a: Float64Array | Float32Array, b: Float64Array | Float32Array, dim: number): number {
  const n = a.length / dim;
  const c = squaredDistances(a, b, dim);
  let best = Infinity;
  for (const p of permutations(n)) {
    let s = 0;
    for (let i = 0; i < n; i++) s += c[i * n + p[i]];
    best = Math.min(best, s / n);
  }
  return best;
}

/** Each point repeated `times` times: uniform clouds of sizes n, m become equal-size clouds of lcm. */
function replicate(p: Float64Array, dim: number, times: number): Float64Array {
  const n = p.length / dim;
  const out = new Float64Array(n * times * dim);
  for (let i = 0; i < n; i++) for (let t = 0; t < times; t++) out.set(p.subarray(i * dim, (i + 1) * dim), (i * times + t) * dim);
  return out;
}

function cloud(rng: Rng, n: number, dim: number, scale = 1, shift = 0): Float64Array {
  const out = new Float64Array(n * dim);
  for (let i = 0; i < out.length; i++) out[i] = shift + scale * rng.normal();
  return out;
}

/** 1-D W2² between uniform empirical measures: ∫ (F⁻¹(u) − G⁻¹(u))² du over merged breakpoints. */
function quantileW2(a: Float64Array, b: Float64Array): number {
  const x = Array.from(a).sort((p, q) => p - q);
  const y = Array.from(b).sort((p, q) => p - q);
  const n = x.length;
  const m = y.length;
  let i = 0;
  let j = 0;
  let u = 0;
  let s = 0;
  while (i < n && j < m) {
    const next = Math.min((i + 1) / n, (j + 1) / m);
    s += (next - u) * (x[i] - y[j]) ** 2;
    u = next;
    if (Math.abs(next - (i + 1) / n) < 1e-15) i++;
    if (Math.abs(next - (j + 1) / m) < 1e-15) j++;
  }
  return s;
}

describe('exact assignment (equal sizes)', () => {
  it('matches brute force over all permutations for n ≤ 7', () => {
    const rng = new Rng(1);
    for (let trial = 0; trial < 30; trial++) {
      const n = 1 + (trial % 7);
      const dim = 1 + (trial % 3);
      const a = cloud(rng, n, dim);
      const b = cloud(rng, n, dim, 1.5, trial % 2);
      expect(exactOtCost(a, b, dim)).toBeCloseTo(bruteForce(a, b, dim), 12);
    }
  });

  it('matches the sorted matching in 1-D for n = 200', () => {
    const rng = new Rng(2);
    for (let trial = 0; trial < 5; trial++) {
      const a = cloud(rng, 200, 1);
      const b = cloud(rng, 200, 1, 0.5 + trial, trial - 2);
      const x = Array.from(a).sort((p, q) => p - q);
      const y = Array.from(b).sort((p, q) => p - q);
      const sorted = x.reduce((s, v, i) => s + (v - y[i]) ** 2, 0) / 200;
      expect(exactOtCost(a, b, 1)).toBeCloseTo(sorted, 10);
    }
  });

  it('returns a permutation and recovers a shuffled copy with zero cost', () => {
    const rng = new Rng(3);
    const a = cloud(rng, 300, 2);
    const perm = rng.permutation(300);
    const b = new Float64Array(600);
    for (let i = 0; i < 300; i++) b.set(a.subarray(2 * perm[i], 2 * perm[i] + 2), 2 * i);
    const asg = exactAssignment(a, b, 2);
    expect(new Set(asg).size).toBe(300);
    for (let i = 0; i < 300; i++) expect(perm[asg[i]]).toBe(i);
    expect(exactOtCost(a, b, 2)).toBe(0);
    // A wider b is solved transposed internally; the pairing must still be a → b.
    const wide = b.map((x) => 2 * x);
    const asgWide = exactAssignment(a, wide, 2);
    expect(new Set(asgWide).size).toBe(300);
    for (let i = 0; i < 300; i++) expect(perm[asgWide[i]]).toBe(i);
  });

  it('is symmetric, permutation invariant and shifts by the closed form under translation', () => {
    const rng = new Rng(4);
    const a = cloud(rng, 120, 3);
    const b = cloud(rng, 120, 3, 0.7);
    const w = exactOtCost(a, b, 3);
    expect(exactOtCost(b, a, 3)).toBeCloseTo(w, 12);
    const perm = rng.permutation(120);
    const bp = new Float64Array(b.length);
    for (let i = 0; i < 120; i++) bp.set(b.subarray(3 * perm[i], 3 * perm[i] + 3), 3 * i);
    expect(exactOtCost(a, bp, 3)).toBeCloseTo(w, 12);
    // W2²(a, b + c) = W2²(a, b) + ‖c‖² − 2 c·(ā − b̄): the cross term does not depend on the coupling.
    const c = [5, -3, 0.5];
    const bs = b.map((v, k) => v + c[k % 3]);
    let expected = w;
    for (let k = 0; k < 3; k++) {
      let ma = 0;
      let mb = 0;
      for (let i = 0; i < 120; i++) {
        ma += a[3 * i + k] / 120;
        mb += b[3 * i + k] / 120;
      }
      expected += c[k] * c[k] - 2 * c[k] * (ma - mb);
    }
    expect(exactOtCost(a, bs, 3)).toBeCloseTo(expected, 9);
  });

  it('accepts Float32 input and solves a raw cost matrix', () => {
    const a = new Float32Array([0, 0, 1, 1]);
    const b = new Float32Array([1, 1, 0, 0.5]);
    expect(exactOtCost(a, b, 2)).toBeCloseTo(0.125, 7);
    // A matrix where the greedy choice (row 0 → col 0) is wrong.
    const cost = new Float64Array([1, 2, 100, 1, 5, 100, 100, 100, 0]);
    expect(Array.from(solveAssignment(cost, 3))).toEqual([1, 0, 2]);
  });

  it('rejects malformed input with a clear message', () => {
    expect(() => exactOtCost(new Float32Array(3), new Float32Array(4), 2)).toThrow(/not a multiple of dimension 2/);
    expect(() => exactOtCost(new Float32Array(0), new Float32Array(2), 2)).toThrow(/empty/);
    expect(() => exactOtCost(new Float32Array([NaN, 0]), new Float32Array(2), 2)).toThrow(/non-finite/);
    expect(() => exactAssignment(new Float32Array(4), new Float32Array(6), 2)).toThrow(/equal sizes/);
  });
});

describe('exact transport (unequal sizes)', () => {
  it('matches brute force on the lcm-replicated problem for tiny sets', () => {
    const rng = new Rng(5);
    for (const [n, m] of [
      [2, 3],
      [3, 2],
      [1, 4],
      [2, 6],
      [3, 6],
    ]) {
      for (let trial = 0; trial < 4; trial++) {
        const a = cloud(rng, n, 2);
        const b = cloud(rng, m, 2, 2, 1);
        const l = (n * m) / gcd(n, m);
        const brute = bruteForce(replicate(a, 2, l / n), replicate(b, 2, l / m), 2);
        expect(exactOtCost(a, b, 2)).toBeCloseTo(brute, 12);
      }
    }
  });

  it('matches the replicated assignment for moderate sizes and returns a feasible integer plan', () => {
    const rng = new Rng(6);
    for (const [n, m] of [
      [12, 18],
      [20, 15],
      [7, 30],
    ]) {
      const a = cloud(rng, n, 2);
      const b = cloud(rng, m, 2, 0.5, 2);
      const l = (n * m) / gcd(n, m);
      const viaAssignment = exactOtCost(replicate(a, 2, l / n), replicate(b, 2, l / m), 2);
      const plan = exactTransportPlan(a, b, 2);
      expect(plan.cost).toBeCloseTo(viaAssignment, 10);
      expect(plan.total).toBe(l);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < m; j++) {
          const f = plan.flow[i * m + j];
          expect(f).toBeGreaterThanOrEqual(0);
          expect(Number.isInteger(f)).toBe(true);
          s += f;
        }
        expect(s).toBe(l / n);
      }
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += plan.flow[i * m + j];
        expect(s).toBe(l / m);
      }
    }
  });

  it('matches the 1-D quantile formula for coprime sizes', () => {
    const rng = new Rng(7);
    for (const [n, m] of [
      [50, 70],
      [101, 37],
    ]) {
      const a = cloud(rng, n, 1);
      const b = cloud(rng, m, 1, 2, 1);
      expect(exactOtCost(a, b, 1)).toBeCloseTo(quantileW2(a, b), 10);
    }
  });

  it('agrees with the assignment when sizes are equal', () => {
    const rng = new Rng(8);
    const a = cloud(rng, 40, 2);
    const b = cloud(rng, 40, 2, 1, 1);
    expect(exactTransportPlan(a, b, 2).cost).toBeCloseTo(exactOtCost(a, b, 2), 12);
  });
});

function gcd(x: number, y: number): number {
  while (y) [x, y] = [y, x % y];
  return x;
}
