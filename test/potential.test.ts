import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf, Rng } from '../src/engine/index.js';
import { anchorDataset, loadDataset, splitColumns, type Dataset } from '../src/data/index.js';
import { semicircleDataset } from '../src/bench/semicircles.js';
import { DensityPotential, disposeReferences } from '../src/lagrangian/index.js';

const DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../data');

beforeAll(async () => {
  await initEngine({ quiet: true });
});

/** All anchor rows pooled into (y [R, D], x [R, C]), as the surrogate builds its potential. */
function pooled(ds: Dataset): { y: Float32Array; x: Float32Array; n: number } {
  const width = ds.dim + ds.cond;
  const rows = new Float32Array(ds.data.reduce((a, d) => a + d.length, 0));
  let o = 0;
  for (const d of ds.data) {
    rows.set(d, o);
    o += d.length;
  }
  const { y, x } = splitColumns(rows, ds.dim, ds.cond);
  return { y, x, n: rows.length / width };
}

/** U from the tensors (one path of one point per query) for query points and their conditions. */
function capped(p: DensityPotential, q: Float32Array, conds: Float32Array): Float32Array {
  const b = q.length / p.dim;
  const refs = p.pathReferences(conds, b);
  const u = tf.tidy(() => p.evaluate(tf.tensor3d(q, [b, 1, p.dim]), refs));
  const out = u.dataSync() as Float32Array;
  u.dispose();
  disposeReferences(refs);
  return out;
}

/** max and mean |U_capped − U_exact| over the queries. */
function deviation(p: DensityPotential, q: Float32Array, conds: Float32Array): { max: number; mean: number } {
  const u = capped(p, q, conds);
  const c = p.cond;
  let max = 0;
  let sum = 0;
  for (let b = 0; b < u.length; b++) {
    const exact = p.exactValue(q.subarray(b * p.dim, (b + 1) * p.dim), conds.subarray(b * c, (b + 1) * c));
    const d = Math.abs(u[b] - exact);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / u.length };
}

/** Queries drawn from the pooled data: each sample's own output (optionally jittered) and condition. */
function queriesFromData(data: { y: Float32Array; x: Float32Array; n: number }, dim: number, cond: number, count: number, jitter: number, seed: number) {
  const rng = new Rng(seed);
  const idx = rng.sample(data.n, count);
  const q = new Float32Array(idx.length * dim);
  const c = new Float32Array(idx.length * cond);
  idx.forEach((r, b) => {
    for (let d = 0; d < dim; d++) q[b * dim + d] = data.y[r * dim + d] + jitter * rng.normal();
    for (let j = 0; j < cond; j++) c[b * cond + j] = data.x[r * cond + j];
  });
  return { q, c };
}

describe('DensityPotential with every sample kept (cap ≥ reference set)', () => {
  const rng = new Rng(21);
  // α = 1 so that any error in log p̂ shows undiluted.
  const opts = { alpha: 1, bandwidth: 0.5, condBandwidth: 0.8, cap: 128 };

  it('categorical: per-class KDE equals the direct float64 sum', () => {
    const sizes = [40, 75, 128];
    const n = sizes.reduce((a, b) => a + b, 0);
    const y = rng.normals(n * 2);
    const x = new Float32Array(n);
    let o = 0;
    sizes.forEach((s, c) => {
      for (let i = 0; i < s; i++, o++) {
        x[o] = c;
        y[2 * o] += 3 * c; // classes apart, so a wrong class would show
      }
    });
    const p = new DensityPotential(y, x, 2, 1, true, opts);
    const q = rng.normals(60 * 2, 2).map((v, i) => v + (i % 2 === 0 ? 3 : 0));
    const conds = Float32Array.from({ length: 60 }, (_, b) => b % 3);
    const { max } = deviation(p, q, conds);
    expect(max).toBeLessThan(2e-4);
  });

  it('continuous: Nadaraya–Watson equals the direct float64 sum', () => {
    const n = 100;
    const x = rng.normals(n * 2);
    const y = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      y[3 * i] = x[2 * i] + 0.3 * rng.normal();
      y[3 * i + 1] = x[2 * i + 1] * x[2 * i] + 0.3 * rng.normal();
      y[3 * i + 2] = rng.normal();
    }
    const p = new DensityPotential(y, x, 3, 2, false, opts);
    const q = rng.normals(50 * 3, 1.5);
    const conds = rng.normals(50 * 2);
    const { max } = deviation(p, q, conds);
    expect(max).toBeLessThan(2e-4);
  });

  it('unconditional: plain KDE equals the direct float64 sum', () => {
    const n = 90;
    const y = rng.normals(n * 2);
    const p = new DensityPotential(y, new Float32Array(0), 2, 0, false, opts);
    const q = rng.normals(40 * 2, 1.5);
    const { max } = deviation(p, q, new Float32Array(0));
    expect(max).toBeLessThan(2e-4);
  });

  it('stays accurate far from the origin (kernels are computed in centred coordinates)', () => {
    const n = 50;
    const y = rng.normals(n * 2, 0.3).map((v) => v + 1000);
    const p = new DensityPotential(y, new Float32Array(0), 2, 0, false, { alpha: 1, bandwidth: 0.1 });
    const q = rng.normals(30 * 2, 0.3).map((v) => v + 1000);
    expect(deviation(p, q, new Float32Array(0)).max).toBeLessThan(2e-3);
  });

  it('references given only as centres and weights (no logKernel) evaluate the same KDE', () => {
    const y = rng.normals(40 * 2);
    const x = Float32Array.from({ length: 40 }, (_, i) => i % 2);
    const p = new DensityPotential(y, x, 2, 1, true, opts);
    const conds = Float32Array.from([0, 1, 1]);
    const refs = p.pathReferences(conds, 3);
    const q = tf.tensor3d(rng.normals(3 * 5 * 2), [3, 5, 2]);
    const full = p.evaluate(q, refs);
    const plain = p.evaluate(q, { refs: refs.refs, weights: refs.weights, refsSqNorm: refs.refsSqNorm });
    const a = full.dataSync();
    const b = plain.dataSync();
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
    tf.dispose([q, full, plain]);
    disposeReferences(refs);
  });

  it('padding in a batch of mixed class sizes changes nothing', () => {
    const y = rng.normals(30 * 2);
    const x = Float32Array.from({ length: 30 }, (_, i) => (i < 5 ? 0 : 1));
    const p = new DensityPotential(y, x, 2, 1, true, opts);
    const q = rng.normals(2 * 2);
    const together = capped(p, q, Float32Array.from([0, 1]));
    const alone0 = capped(p, q.subarray(0, 2), Float32Array.from([0]));
    const alone1 = capped(p, q.subarray(2, 4), Float32Array.from([1]));
    expect(together[0]).toBeCloseTo(alone0[0], 6);
    expect(together[1]).toBeCloseTo(alone1[0], 6);
  });

  it('builds references without leaking tensors and names bad input', () => {
    const y = rng.normals(20 * 2);
    const x = Float32Array.from({ length: 20 }, (_, i) => i % 2);
    const p = new DensityPotential(y, x, 2, 1, true, opts);
    const before = tf.memory().numTensors;
    capped(p, rng.normals(4), Float32Array.from([0, 1]));
    expect(tf.memory().numTensors).toBe(before);
    expect(() => p.pathReferences(Float32Array.from([7]), 1)).toThrow(/class 7 has no samples/);
    expect(() => new DensityPotential(y, x, 2, 1, true, { alpha: 1, bandwidth: 0 })).toThrow(/bandwidth must be positive/);
    expect(() => new DensityPotential(y, x, 2, 1, true, { alpha: 1, bandwidth: 1, cap: 0 })).toThrow(/cap must be a positive integer/);
  });
});

describe('DensityPotential cap on the shared datasets', () => {
  // Queries: 300 samples of the pooled anchors, each at its own condition (where paths start and
  // end). U_capped (the tensors, cap components per path) is compared with the exact uncapped U
  // (float64 over every pooled sample). Tolerances are ~2× the deviations measured with seed 0,
  // listed per case as [mean, max]; 128 is the surrogate's setting, 256 the potential's default.
  const moons = () => {
    const ds = anchorDataset(loadDataset(path.join(DATA, 'dropout_2moons.npy')));
    return { data: pooled(ds), dim: 2, cond: 1, categorical: true, options: { alpha: 0.01, bandwidth: 0.2 }, jitter: 0 };
  };
  const cancer = () => {
    const ds = anchorDataset(loadDataset(path.join(DATA, 'cancer_reward.npy')), undefined, [0, 1000]);
    return { data: pooled(ds), dim: 2, cond: 7, categorical: false, options: { alpha: 0.01, bandwidth: 1, condBandwidth: 1 }, jitter: 0.3 };
  };
  const semicircles = () => ({
    data: pooled(semicircleDataset(0)),
    dim: 2,
    cond: 1,
    categorical: true,
    options: { alpha: 0.05, bandwidth: 0.05 },
    jitter: 0,
  });
  const cases = [
    // 2-moons dropout: categorical, 1500 samples per class, h 0.2, α 0.01. U ≈ −0.026 on the data
    // and −0.18 far from it; a mean deviation of 8e-4 is |Δ log p̂| ≈ 0.08.
    // Cap 32 is what a CLOT fit uses by default (DEFAULT_POTENTIAL_CAP): a smoother density by design,
    // still within |Δ log p̂| ≈ 0.3 of the exact KDE on average.
    { name: '2-moons dropout', load: moons, cap: 32, measured: ['3.1e-3', '3.7e-2'], tol: [6e-3, 0.075] },
    { name: '2-moons dropout', load: moons, cap: 128, measured: ['7.9e-4', '2.3e-2'], tol: [1.6e-3, 0.05] },
    { name: '2-moons dropout', load: moons, cap: 256, measured: ['2.1e-4', '7.1e-3'], tol: [5e-4, 0.015] },
    // Cancer reward: continuous 7-D condition, first 1000 rows of λ = 0, 5, 10, h_y 1, h_x 1, α 0.01.
    { name: 'cancer reward', load: cancer, cap: 32, measured: ['4.1e-5', '2.0e-3'], tol: [8e-5, 4e-3] },
    { name: 'cancer reward', load: cancer, cap: 128, measured: ['5.6e-6', '8.5e-5'], tol: [2e-5, 2e-4] },
    { name: 'cancer reward', load: cancer, cap: 256, measured: ['2.3e-6', '4.3e-5'], tol: [1e-5, 1e-4] },
    // Semicircles: categorical, 4 classes of 300, h 0.05, α 0.05.
    { name: 'semicircles', load: semicircles, cap: 32, measured: ['6.0e-3', '4.9e-2'], tol: [1.2e-2, 0.1] },
    { name: 'semicircles', load: semicircles, cap: 128, measured: ['9.3e-4', '1.2e-2'], tol: [2e-3, 0.025] },
    { name: 'semicircles', load: semicircles, cap: 256, measured: ['6.9e-5', '5.2e-4'], tol: [1.5e-4, 1e-3] },
  ];
  for (const { name, load, cap, measured, tol } of cases) {
    it(`${name}, cap ${cap}: mean |ΔU| < ${tol[0]}, max < ${tol[1]} (measured ${measured[0]}, ${measured[1]})`, () => {
      const { data, dim, cond, categorical, options, jitter } = load();
      const p = new DensityPotential(data.y, data.x, dim, cond, categorical, { ...options, cap });
      const { q, c } = queriesFromData(data, dim, cond, 300, jitter, 1);
      const dev = deviation(p, q, c);
      expect(dev.mean).toBeLessThan(tol[0]);
      expect(dev.max).toBeLessThan(tol[1]);
    });
  }

  it('the default cap is 256, and a class larger than the cap is compressed to at most cap components', () => {
    const { data } = moons();
    const p = new DensityPotential(data.y, data.x, 2, 1, true, { alpha: 0.01, bandwidth: 0.2 });
    expect(p.cap).toBe(256);
    expect(data.n / 2).toBeGreaterThan(p.cap);
    const m = p.mixtureFor([0]);
    expect(m.weights.length).toBeLessThanOrEqual(p.cap);
    expect(m.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
  });

  it('is reproducible: the same seed gives the same U', () => {
    const ds = semicircleDataset(1);
    const data = pooled(ds);
    const make = () => new DensityPotential(data.y, data.x, 2, 1, true, { alpha: 0.05, bandwidth: 0.05, cap: 32 }, 5);
    const { q, c } = queriesFromData(data, 2, 1, 50, 0.05, 4);
    expect(Array.from(capped(make(), q, c))).toEqual(Array.from(capped(make(), q, c)));
  });
});

describe('DensityPotential in high D (log-sum-exp kernels, floor ε^(D/2))', () => {
  const alpha = 0.5;
  for (const d of [32, 128]) {
    it(`D = ${d}: U equals the float64 log-space sum, is not flat, and its gradient is finite`, () => {
      const rng = new Rng(40 + d);
      const per = 40;
      // Two classes of unit-variance clouds, 3 apart along every axis; h near the neighbour distance.
      const y = new Float32Array(2 * per * d);
      const x = new Float32Array(2 * per);
      for (let i = 0; i < 2 * per; i++) {
        x[i] = i % 2;
        for (let e = 0; e < d; e++) y[i * d + e] = rng.normal() + 3 * (i % 2);
      }
      const h = Math.sqrt(d);
      const p = new DensityPotential(y, x, d, 1, true, { alpha, bandwidth: h, cap: per });
      // p̂ is below e^(−84) everywhere here (its normaliser (2π h²)^(−D/2) alone): near float32's
      // smallest normal, and so far below a fixed floor ε = 1e-8 that α log(p̂ + ε) would be flat.
      expect((-d / 2) * Math.log(2 * Math.PI * h * h)).toBeLessThan(Math.log(1e-8) - 60);
      const q = new Float32Array(6 * d);
      const conds = Float32Array.from([0, 1, 0, 1, 0, 1]);
      for (let b = 0; b < 6; b++) {
        // Paths 0–1 start on a sample of their class, 2–3 a bandwidth off, 4–5 in the other class.
        const src = b < 4 ? b % 2 : 1 - (b % 2);
        const off = b >= 2 && b < 4 ? 1 : 0;
        for (let e = 0; e < d; e++) q[b * d + e] = y[src * d + e] + off * rng.normal();
      }
      const u = capped(p, q, conds);
      for (let b = 0; b < 6; b++) {
        const exact = p.exactValue(q.subarray(b * d, (b + 1) * d), conds.subarray(b, b + 1));
        expect(Number.isFinite(u[b])).toBe(true);
        expect(Math.abs(u[b] - exact)).toBeLessThan(1e-4 * Math.abs(exact) + 1e-3);
      }
      // On the data beats a bandwidth off, beats the other class's cloud.
      expect(u[0]).toBeGreaterThan(u[2] + 0.1);
      expect(u[2]).toBeGreaterThan(u[4] + 0.1);
      const refs = p.pathReferences(conds, 6);
      const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(p.evaluate(t as tf.Tensor3D, refs)))(tf.tensor3d(q, [6, 1, d])));
      const gv = g.dataSync();
      expect(Array.from(gv).every(Number.isFinite)).toBe(true);
      expect(Math.hypot(...Array.from(gv.subarray(2 * d, 3 * d)))).toBeGreaterThan(1e-3);
      g.dispose();
      disposeReferences(refs);
    });
  }

  it('far from every sample U is the floor α (D/2) log ε with no gradient; at D = 2 that is α log ε', () => {
    for (const d of [2, 64]) {
      const rng = new Rng(7);
      const y = rng.normals(30 * d);
      const p = new DensityPotential(y, new Float32Array(0), d, 0, false, { alpha, bandwidth: 0.5 });
      const q = new Float32Array(d).fill(1e3);
      const u = capped(p, q, new Float32Array(0));
      expect(u[0]).toBeCloseTo(alpha * (d / 2) * Math.log(1e-8), 3);
      expect(p.exactValue(q, [])).toBeCloseTo(u[0], 3);
      const refs = p.pathReferences(new Float32Array(0), 1);
      const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(p.evaluate(t as tf.Tensor3D, refs)))(tf.tensor3d(q, [1, 1, d])));
      expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
      g.dispose();
      disposeReferences(refs);
    }
    expect(() => new DensityPotential(new Float32Array(4), new Float32Array(0), 2, 0, false, { alpha, bandwidth: 1, epsilon: 0 })).toThrow(/epsilon must be positive/);
  });
});
