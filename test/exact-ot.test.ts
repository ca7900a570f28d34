/**
 * Exact OT pieces the fit relies on: the assignment solver's duals (feasibility, complementary
 * slackness, strong duality, brute force), the exact couplings between adjacent anchors under the
 * Lagrangian cost, and the automatic output bandwidth.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, Rng } from '../src/engine/index.js';
import { solveAssignmentWithDuals, squaredDistances, exactAssignment, exactOtCost, newWarmStart } from '../src/ot/exact.js';
import { AnchorData, autoBandwidth, autoCondBandwidth } from '../src/surrogate/anchors.js';
import { ClotNetworks } from '../src/surrogate/clot.js';
import { resolveClotOptions } from '../src/surrogate/options.js';
import { couplePair, pairwiseCosts } from '../src/surrogate/couplings.js';
import type { Dataset } from '../src/data/dataset.js';

beforeAll(async () => {
  await initEngine({ quiet: true });
});

describe('solveAssignmentWithDuals', () => {
  function check(cost: Float64Array, n: number, start?: { u?: Float64Array; v?: Float64Array }): void {
    const { col4row, u, v } = solveAssignmentWithDuals(cost, n, start);
    const scale = Math.max(1, ...Array.from(cost, Math.abs));
    const tol = 1e-9 * scale * n;
    // A permutation.
    expect(new Set(col4row).size).toBe(n);
    let primal = 0;
    for (let i = 0; i < n; i++) {
      // Feasibility: u_i + v_j ≤ C_ij for every pair.
      for (let j = 0; j < n; j++) expect(u[i] + v[j]).toBeLessThanOrEqual(cost[i * n + j] + tol);
      // Complementary slackness: tight on the matched pair.
      expect(Math.abs(u[i] + v[col4row[i]] - cost[i * n + col4row[i]])).toBeLessThanOrEqual(tol);
      primal += cost[i * n + col4row[i]];
    }
    // Strong duality follows: Σu + Σv equals the matched cost, so the matching is optimal.
    const dual = u.reduce((s, x) => s + x, 0) + v.reduce((s, x) => s + x, 0);
    expect(Math.abs(dual - primal)).toBeLessThanOrEqual(tol * n);
  }

  it('returns feasible duals with complementary slackness on random, point-cloud and tied costs', () => {
    const rng = new Rng(8);
    for (const n of [1, 2, 3, 7, 30, 120]) {
      check(Float64Array.from({ length: n * n }, () => rng.next() * 10 - 3), n);
      const a = Float64Array.from({ length: n * 2 }, () => rng.normal());
      const b = Float64Array.from({ length: n * 2 }, () => rng.normal() + 2);
      check(squaredDistances(a, b, 2), n);
      // Integer costs with many ties, and a constant matrix.
      check(Float64Array.from({ length: n * n }, () => rng.int(3)), n);
      check(new Float64Array(n * n).fill(4), n);
    }
  });

  it('started from any row or column potentials: still feasible, tight and optimal', () => {
    const rng = new Rng(10);
    for (const n of [1, 5, 40, 150]) {
      const a = Float64Array.from({ length: n * 2 }, () => rng.normal());
      const b = Float64Array.from({ length: n * 2 }, () => rng.normal() + 1);
      const cost = squaredDistances(a, b, 2);
      // The optimum of a nearby problem (b moved a little), arbitrary potentials, and junk.
      const moved = squaredDistances(a, b.map((x) => x + 0.05 * rng.normal()), 2);
      const near = solveAssignmentWithDuals(moved, n);
      const arbitrary = Float64Array.from({ length: n }, () => rng.normal() * 5);
      for (const start of [{ u: near.u }, { v: near.v }, { u: arbitrary }, { v: arbitrary }, { v: new Float64Array(n).fill(NaN) }, { u: new Float64Array(n + 1) }]) check(cost, n, start);
    }
  });

  it('a run of scores warm-started against the same true cloud gives the cold answers', () => {
    const rng = new Rng(11);
    const n = 300;
    const truth = Float64Array.from({ length: n * 2 }, () => rng.normal());
    const start = Float64Array.from({ length: n * 2 }, () => rng.normal() * 0.5 + 3);
    const warm = newWarmStart();
    for (let step = 0; step <= 10; step++) {
      // Answers moving along straight lines towards a permutation of the truth, as along paths.
      const t = step / 10;
      const pred = start.map((x, i) => (1 - t) * x + t * truth[(i + 2 * 17) % (n * 2)]);
      expect(exactOtCost(pred, truth, 2, warm)).toBe(exactOtCost(pred, truth, 2));
      expect(warm.duals).toHaveLength(n);
    }
  });

  it('agrees with brute force on small problems', () => {
    const rng = new Rng(9);
    const perms = (k: number): number[][] => (k === 0 ? [[]] : perms(k - 1).flatMap((p) => Array.from({ length: k }, (_, s) => [...p.slice(0, s), k - 1, ...p.slice(s)])));
    for (let trial = 0; trial < 20; trial++) {
      const n = 2 + (trial % 5);
      const cost = Float64Array.from({ length: n * n }, () => rng.next());
      const { col4row } = solveAssignmentWithDuals(cost, n);
      const got = col4row.reduce((s, j, i) => s + cost[i * n + j], 0);
      const best = Math.min(...perms(n).map((p) => p.reduce((s, j, i) => s + cost[i * n + j], 0)));
      expect(got).toBeCloseTo(best, 10);
    }
  });
});

// ---------------------------------------------------------------------------------------------

/** Categorical dataset: per class a Gaussian blob that drifts with λ. */
function blobs(levels: number[], perClass: number[], seed: number, spread = 0.3): Dataset {
  const rng = new Rng(seed);
  const data = levels.map((l, k) => {
    const rows: number[] = [];
    perClass.forEach((count, c) => {
      for (let i = 0; i < count; i++) rows.push(3 * c + l + spread * rng.normal(), -l + spread * rng.normal(), c);
    });
    void k;
    return Float32Array.from(rows);
  });
  return { levels, data, dim: 2, cond: 1, categorical: true, classes: perClass.length };
}

describe('couplePair (exact discrete couplings under the Lagrangian cost)', () => {
  it('under the Euclidean action with straight paths: the squared-distance matching within each class, and every row matched once', () => {
    const ds = blobs([0, 1], [17, 9], 2);
    const anchors = AnchorData.fromDataset(ds);
    const opts = resolveClotOptions({ preset: 'euclidean', seed: 1, spline: { nodes: 6, points: 8, width: 16 }, maps: { hidden: [8] } }, anchors.dim, () => ({ bandwidth: autoBandwidth(anchors), condBandwidth: autoCondBandwidth(anchors) }), anchors.lambdas);
    const nets = new ClotNetworks(anchors, opts);
    try {
      const cap = 12;
      const c = couplePair(nets, 0, cap, new Rng(3));
      // Class 0 is capped at 12 rows, class 1 keeps its 9.
      expect(c.y.length / 2).toBe(12 + 9);
      const rows = c.y.length / 2;
      let offset = 0;
      for (const size of [12, 9]) {
        // (groups come class by class, in order of first appearance)
        const idx = Array.from({ length: size }, (_, i) => offset + i);
        const y = Float32Array.from(idx.flatMap((i) => [c.y[2 * i], c.y[2 * i + 1]]));
        const yHat = Float32Array.from(idx.flatMap((i) => [c.yHat[2 * i], c.yHat[2 * i + 1]]));
        // Same class on both sides.
        const cls = c.x[idx[0]];
        for (const i of idx) {
          expect(c.x[i]).toBe(cls);
          expect(Math.abs(c.yHat[2 * i] - (3 * cls + 1))).toBeLessThan(1.5);
        }
        // The matched targets are distinct rows of anchor 1.
        expect(new Set(idx.map((i) => `${c.yHat[2 * i]},${c.yHat[2 * i + 1]}`)).size).toBe(size);
        // Straight paths under G = I: the optimal matching between these y and these targets is the
        // identity (each y_i to its own ŷ_i) under squared distances.
        const best = exactAssignment(y, yHat, 2);
        expect(Array.from(best)).toEqual(idx.map((_, i) => i));
        // Under the networks' own cost the matched pairs are optimal too: no swap of two targets lowers it.
        const cost = pairwiseCosts(nets, y, Float32Array.from(idx.map((i) => c.x[i])), yHat);
        for (let i = 0; i < size; i++) {
          for (let j = 0; j < size; j++) expect(cost[i * size + i] + cost[j * size + j]).toBeLessThanOrEqual(cost[i * size + j] + cost[j * size + i] + 1e-6);
          // Straight Euclidean action is ½‖Δ‖² (up to the 1e-6 path offset).
          const d2 = (y[2 * i] - yHat[2 * i]) ** 2 + (y[2 * i + 1] - yHat[2 * i + 1]) ** 2;
          expect(cost[i * size + i]).toBeCloseTo(0.5 * d2, 3);
        }
        offset += size;
      }
      expect(offset).toBe(rows);
    } finally {
      nets.dispose();
    }
  });
});

describe('autoBandwidth', () => {
  it('is the median 7th-neighbour distance (2h on a doubled 1-D lattice of spacing h) and scales with the data', () => {
    const lattice = (h: number): Dataset => {
      const n = 60;
      const level = Float32Array.from({ length: n }, (_, i) => h * i);
      return { levels: [0, 1], data: [level, level], dim: 1, cond: 0, categorical: false, classes: 0 };
    };
    // Pooled over both anchors every lattice point appears twice: an interior point's neighbours
    // are its twin (0), four at h and four at 2h, so the 7th sits at 2h.
    expect(autoBandwidth(AnchorData.fromDataset(lattice(0.5)))).toBeCloseTo(1, 5);
    const base = autoBandwidth(AnchorData.fromDataset(blobs([0, 1], [50, 50], 4)));
    const scaled = blobs([0, 1], [50, 50], 4);
    scaled.data = scaled.data.map((rows) => rows.map((v, i) => (i % 3 === 2 ? v : 3 * v)));
    expect(autoBandwidth(AnchorData.fromDataset(scaled))).toBeCloseTo(3 * base, 4);
  });

  it('looks within classes: moving the classes apart does not change it', () => {
    const near = blobs([0, 1], [40, 40], 6);
    const far = blobs([0, 1], [40, 40], 6);
    far.data = far.data.map((rows) => rows.map((v, i) => (i % 3 === 0 && rows[i - (i % 3) + 2] === 1 ? v + 100 : v)));
    // (to float32 round-off of the shifted coordinates)
    expect(autoBandwidth(AnchorData.fromDataset(far))).toBeCloseTo(autoBandwidth(AnchorData.fromDataset(near)), 4);
  });

  it('falls back to a tenth of the largest standard deviation when most points coincide', () => {
    const n = 30;
    const level = Float32Array.from({ length: n }, (_, i) => (i < 25 ? 0 : 10));
    const anchors = AnchorData.fromDataset({ levels: [0, 1], data: [level, level], dim: 1, cond: 0, categorical: false, classes: 0 });
    // 50 of 60 pooled points sit at 0, so the median 7th-neighbour distance is 0.
    const pooled = Array.from(anchors.pooledY);
    const mu = pooled.reduce((s, v) => s + v, 0) / pooled.length;
    const sd = Math.sqrt(pooled.reduce((s, v) => s + (v - mu) ** 2, 0) / pooled.length);
    expect(autoBandwidth(anchors)).toBeCloseTo(0.1 * sd, 5);
  });
});
