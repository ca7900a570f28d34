import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Dataset } from '../src/data/dataset.js';
import { levelIndex } from '../src/data/dataset.js';
import { loadDataset, selectRows } from '../src/data/load.js';
import { Rng } from '../src/engine/rng.js';
import { exactOtCost } from '../src/eval/ot.js';
import {
  conditionGroups,
  groupedScores,
  mse,
  perClassW2,
  perClassW2Detail,
  sliceRows,
  w2ByCondition,
} from '../src/eval/scores.js';
import {
  copyFirstAnchor,
  linearInterpolation,
  displacementInterpolation,
  nearestAnchor,
  nearestAnchorLevel,
  rowsCorrespond,
  trivialReferences,
} from '../src/eval/references.js';

const dataDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../data');

/** Rows of width dim + 1 with the given class per row, outputs drawn from N(shift, 1). */
function classRows(rng: Rng, classes: number[], dim: number, shift = 0): Float32Array {
  const out = new Float32Array(classes.length * (dim + 1));
  classes.forEach((c, i) => {
    for (let j = 0; j < dim; j++) out[i * (dim + 1) + j] = shift + rng.normal();
    out[i * (dim + 1) + dim] = c;
  });
  return out;
}

function outputsOfClass(rows: Float32Array, dim: number, cls: number): Float32Array {
  const out: number[] = [];
  for (let i = 0; i < rows.length / (dim + 1); i++) {
    if (rows[i * (dim + 1) + dim] === cls) for (let j = 0; j < dim; j++) out.push(rows[i * (dim + 1) + j]);
  }
  return Float32Array.from(out);
}

describe('condition groups and per-class W2', () => {
  it('groups rows by identical condition vectors in order of appearance', () => {
    const rows = new Float32Array([0, 1, 2, /**/ 5, 3, 4, /**/ 1, 1, 2, /**/ 7, 3, 4, /**/ 2, 9, 9]);
    const groups = conditionGroups(rows, 1, 2);
    expect(groups.map((g) => Array.from(g.condition))).toEqual([
      [1, 2],
      [3, 4],
      [9, 9],
    ]);
    expect(groups.map((g) => Array.from(g.rows))).toEqual([[0, 2], [1, 3], [4]]);
  });

  it('per-class W2 is the mean over classes of the exact cost within each class', () => {
    const rng = new Rng(1);
    const labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2];
    const truth = classRows(rng, labels, 2);
    const pred = classRows(rng, [...labels].reverse(), 2, 0.5);
    const per = [0, 1, 2].map((c) => exactOtCost(outputsOfClass(pred, 2, c), outputsOfClass(truth, 2, c), 2));
    expect(perClassW2(pred, truth, 2)).toBeCloseTo((per[0] + per[1] + per[2]) / 3, 12);
    const detail = perClassW2Detail(pred, truth, 2);
    expect(detail.groups.map((g) => g.condition[0])).toEqual([0, 1, 2]);
    expect(detail.groups.map((g) => g.w2)).toEqual(per);
    expect(perClassW2(pred, truth, 2, [1, 2])).toBeCloseTo((per[1] + per[2]) / 2, 12);
    // The same as the generic condition scorer with C = 1.
    expect(w2ByCondition(pred, truth, 2, 1)).toBeCloseTo(perClassW2(pred, truth, 2), 12);
    // Unequal class sizes go through the exact transport solver.
    const fewer = classRows(rng, [0, 1, 2, 0, 1, 2, 0], 2);
    expect(perClassW2(fewer, truth, 2)).toBeGreaterThan(0);
  });

  it('fails clearly on a missing class, a non-integer class or a ragged matrix', () => {
    const rng = new Rng(2);
    const truth = classRows(rng, [0, 1, 0, 1], 2);
    expect(() => perClassW2(classRows(rng, [0, 0], 2), truth, 2)).toThrow(/no predicted rows with condition \(1\)/);
    expect(() => perClassW2(classRows(rng, [0, 1.5], 2), truth, 2)).toThrow(/class 1.5, not an integer/);
    expect(() => perClassW2(new Float32Array(5), truth, 2)).toThrow(/not a whole number of rows of width 3/);
    expect(() => perClassW2(truth, truth, 2, [7])).toThrow(/class 7 has no true rows/);
  });

  it('scores unconditional data as one group', () => {
    const rng = new Rng(3);
    const a = rng.normals(40);
    const b = rng.normals(40);
    expect(w2ByCondition(a, b, 2, 0)).toBeCloseTo(exactOtCost(a, b, 2), 12);
  });
});

describe('grouped (per-state) scores and MSE', () => {
  it('computes W2² per block and the MSE of block means by hand', () => {
    // dim 1, cond 1, groups of 2: states 7 and 8.
    const truth = new Float32Array([0, 7, 2, 7, /**/ 10, 8, 10, 8]);
    const pred = new Float32Array([3, 7, 1, 7, /**/ 11, 8, 13, 8]);
    const s = groupedScores(pred, truth, 1, 1, 2);
    // Group 0: sorted match (0↔1, 2↔3) → (1 + 1)/2 = 1. Group 1: (1 + 9)/2 = 5.
    expect(Array.from(s.perGroup)).toEqual([1, 5]);
    expect(s.w2).toBe(3);
    // Means: group 0 pred 2 vs 1 → 1; group 1 pred 12 vs 10 → 4. MSE = (1 + 4) / 2.
    expect(s.mse).toBe(2.5);
  });

  it('refuses misaligned predictions', () => {
    const truth = new Float32Array([0, 7, 2, 7, 10, 8, 10, 8]);
    expect(() => groupedScores(new Float32Array([0, 7, 2, 8, 10, 8, 10, 8]), truth, 1, 1, 2)).toThrow(/predicted row 1 has condition column 0 = 8/);
    expect(() => groupedScores(truth.slice(0, 4), truth, 1, 1, 2)).toThrow(/2 predicted rows for 4 true rows/);
    expect(() => groupedScores(truth, truth, 1, 1, 3)).toThrow(/not a whole number of groups of 3/);
  });

  it('MSE averages over rows and output columns only', () => {
    const truth = new Float32Array([1, 2, 100, 3, 4, 200]);
    const pred = new Float32Array([2, 2, 100, 3, 6, 200]);
    expect(mse(pred, truth, 2, 1)).toBe((1 + 0 + 0 + 4) / 4);
    expect(() => mse(pred.slice(0, 3), truth, 2, 1)).toThrow(/1 predicted rows for 2 true rows/);
  });

  it('slices rows', () => {
    expect(Array.from(sliceRows(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 1, 3))).toEqual([3, 4, 5, 6]);
    expect(() => sliceRows(new Float32Array(6), 2, 2, 4)).toThrow(/outside 0..3/);
  });
});

describe('trivial references', () => {
  // Rows (y | x) with D = 1, C = 1; row n has condition n at every level.
  const ds: Dataset = {
    levels: [0, 1, 2, 4],
    data: [
      new Float32Array([0, 0, 10, 1]),
      new Float32Array([5, 0, 5, 1]),
      new Float32Array([2, 0, 20, 1]),
      new Float32Array([6, 0, 40, 1]),
    ],
    dim: 1,
    cond: 1,
    categorical: false,
    classes: 0,
    anchors: [0, 2, 4],
  };

  it('copy, nearest (ties to the lower anchor) and linear interpolation', () => {
    expect(copyFirstAnchor(ds, [1, 3]).map((r) => Array.from(r))).toEqual([
      [0, 0, 10, 1],
      [0, 0, 10, 1],
    ]);
    expect(nearestAnchorLevel(ds, 1)).toBe(0);
    expect(nearestAnchorLevel(ds, 1.1)).toBe(2);
    expect(nearestAnchorLevel(ds, 3.5)).toBe(4);
    expect(nearestAnchor(ds, [3.5]).map((r) => Array.from(r))).toEqual([[6, 0, 40, 1]]);
    expect(rowsCorrespond(ds)).toBe(true);
    expect(linearInterpolation(ds, [1, 3, 4]).map((r) => Array.from(r))).toEqual([
      [1, 0, 15, 1],
      [4, 0, 30, 1],
      [6, 0, 40, 1],
    ]);
    expect(() => linearInterpolation(ds, [5])).toThrow(/outside the anchor range \[0, 4\]/);
    expect(trivialReferences(ds, [1]).map((r) => r.name)).toEqual(['copy-first-anchor', 'nearest-anchor', 'linear-interpolation', 'displacement-interpolation']);
  });

  it('displacement interpolation: exact OT within each group, then straight lines', () => {
    // One row per condition: the OT partner is the same row, so it equals linear interpolation.
    expect(displacementInterpolation(ds, [1, 3, 4]).map((r) => Array.from(r))).toEqual(linearInterpolation(ds, [1, 3, 4]).map((r) => Array.from(r)));
    // Two classes (D = 1): within class 0 the sorted points pair up (1→11, 0→10), class 1 (5→−1, 7→9) stays
    // over to its own partners; classes never mix.
    const cls: Dataset = {
      levels: [0, 1],
      data: [new Float32Array([1, 0, 0, 0, 5, 1, 7, 1]), new Float32Array([10, 0, 11, 0, 9, 1, -1, 1])],
      dim: 1,
      cond: 1,
      categorical: true,
      classes: 2,
    };
    expect(Array.from(displacementInterpolation(cls, [0.5])[0])).toEqual([6, 0, 5, 0, 2, 1, 8, 1]);
    expect(Array.from(displacementInterpolation(cls, [0])[0])).toEqual(Array.from(cls.data[0]));
    // Unequal sizes, unconditional: each source moves toward the barycentre of the mass it sends.
    const uneq: Dataset = { levels: [0, 2], data: [new Float32Array([0, 10]), new Float32Array([1, 3, 11, 13])], dim: 1, cond: 0, categorical: false, classes: 0 };
    expect(Array.from(displacementInterpolation(uneq, [1])[0])).toEqual([1, 11]);
  });

  it('does not interpolate rows that do not correspond', () => {
    const shuffled: Dataset = { ...ds, data: [ds.data[0], ds.data[1], new Float32Array([20, 1, 2, 0]), ds.data[3]] };
    expect(rowsCorrespond(shuffled)).toBe(false);
    expect(() => linearInterpolation(shuffled, [1])).toThrow(/rows that correspond/);
    const categorical: Dataset = { ...ds, categorical: true, classes: 2 };
    expect(rowsCorrespond(categorical)).toBe(false);
    expect(trivialReferences(categorical, [1]).map((r) => r.name)).toEqual(['copy-first-anchor', 'nearest-anchor', 'displacement-interpolation']);
  });
});

describe('calibration figures of benchmarks.md on the shared data', () => {
  it('dropout_2moons: copying p = 0 scores 0.021, 0.041, 0.060, 0.175 (mean 0.074)', () => {
    const moons = loadDataset(path.join(dataDir, 'dropout_2moons.npy'));
    const levels = moons.validation!;
    expect(levels).toEqual([0.1, 0.3, 0.7, 0.9]);
    const preds = copyFirstAnchor(moons, levels);
    const scores = levels.map((l, k) => perClassW2(preds[k], moons.data[levelIndex(moons, l)], 2));
    // The document quotes 3 decimals; allow ±0.001.
    [0.021, 0.041, 0.06, 0.175].forEach((want, k) => expect(Math.abs(scores[k] - want)).toBeLessThan(0.001));
    expect(Math.abs(scores.reduce((s, v) => s + v, 0) / 4 - 0.074)).toBeLessThan(0.001);
  });

  it('cancer_reward, 200 test states: copy λ0 scores 5.04, nearest anchor 2.61', () => {
    const test = selectRows(loadDataset(path.join(dataDir, 'cancer_reward.npy')), 1000, 3000);
    const levels = test.validation!;
    expect(levels).toEqual([1, 3, 7, 9]);
    const meanW2 = (preds: Float32Array[]) =>
      levels.reduce((s, l, k) => s + groupedScores(preds[k], test.data[levelIndex(test, l)], 2, 7, 10).w2, 0) / levels.length;
    expect(meanW2(copyFirstAnchor(test, levels))).toBeCloseTo(5.04, 2);
    expect(meanW2(nearestAnchor(test, levels))).toBeCloseTo(2.61, 2);
    // States are shared across levels, so interpolation applies; it sits below both.
    expect(rowsCorrespond(test)).toBe(true);
    expect(meanW2(linearInterpolation(test, levels))).toBeLessThan(2.61);
    // Per state, OT between the 10 draws then straight lines: about as good as linear interpolation (1.96).
    expect(meanW2(displacementInterpolation(test, levels))).toBeLessThan(2.2);
  });
});
