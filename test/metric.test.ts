import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf, Rng, type ConditionSpec, type Tensor, type Tensor2D, type Tensor3D } from '../src/engine/index.js';
import { GIVENS_MAX_DIM, Metric, planeCount, reflectionCount, rotateColumns, type MetricKind } from '../src/lagrangian/index.js';
import { fromEigen, givensProduct, householderProduct, identity, jacobiEigenvalues } from './lagrangian-helpers.js';

beforeAll(async () => {
  await initEngine({ quiet: true });
});

/** Points [B, S, D] and matrices [B, S, D, D] as nested JS arrays. */
function matricesAt(metric: Metric, q: Float32Array, b: number, s: number, film: Tensor2D | null): number[][][] {
  const d = metric.dim;
  const flat = tf.tidy(() => {
    const f = film ? metric.net!.film(film) : null;
    return metric.matrices(tf.tensor3d(q, [b, s, d]), f);
  });
  const data = flat.dataSync();
  flat.dispose();
  return Array.from({ length: b * s }, (_, p) => Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => data[(p * d + i) * d + j])));
}

/** The metric's own eigenvalues at points [B, S, D], one list per point. */
function ownEigenvalues(metric: Metric, q: Float32Array, b: number, s: number): number[][] {
  const d = metric.dim;
  const e = tf.tidy(() => {
    const qt = tf.tensor3d(q, [b, s, d]);
    if (metric.kind === 'householder') return metric.reflectionParts(qt, null).eig;
    return tf.stack(metric.decompose(qt, null).eig, 2);
  });
  const v = e.dataSync();
  e.dispose();
  return Array.from({ length: b * s }, (_, p) => Array.from(v.subarray(p * d, (p + 1) * d)));
}

/**
 * Make the metric network output a constant (last layer zeroed, bias = eigen-logits then the rest):
 * returns the budget eigenvalues e_i = 0.1 + 0.9 softmax(logits)_i, computed here in float64.
 */
function setConstantOutput(metric: Metric, logits: number[], rest: number[]): number[] {
  const net = metric.net!;
  const last = net.config.hidden.length;
  net.params.get(`w${last}`).assign(tf.zerosLike(net.params.get(`w${last}`)));
  net.params.get(`b${last}`).assign(tf.tensor1d([...logits, ...rest]));
  const mx = Math.max(...logits);
  const ex = logits.map((a) => Math.exp(a - mx));
  const sum = ex.reduce((a, b) => a + b, 0);
  return ex.map((v) => 0.1 + 0.9 * (v / sum));
}

const none: ConditionSpec = { kind: 'none' };

describe('Givens rotations', () => {
  it('rotateColumns applies an orthogonal R equal to the product of plane rotations', () => {
    const rng = new Rng(3);
    for (const d of [2, 3, 4]) {
      const planes = planeCount(d);
      const angles = Array.from({ length: planes }, () => rng.uniforms(1, -Math.PI, Math.PI)[0]);
      const cos = angles.map(Math.cos);
      const sin = angles.map(Math.sin);
      // Columns of R: rotate each unit vector (batch of 1).
      const cols = tf.tidy(() =>
        Array.from({ length: d }, (_, c) => {
          const unit = Array.from({ length: d }, (_, i) => tf.scalar(i === c ? 1 : 0));
          return tf.stack(rotateColumns(unit, cos.map((v) => tf.scalar(v)), sin.map((v) => tf.scalar(v))));
        }),
      );
      const r = cols.map((t) => Array.from(t.dataSync())); // r[c][i] = R[i][c]
      tf.dispose(cols);
      const expected = givensProduct(cos, sin, d);
      for (let i = 0; i < d; i++) for (let c = 0; c < d; c++) expect(r[c][i]).toBeCloseTo(expected[i][c], 5);
      // RᵀR = I
      for (let a = 0; a < d; a++) {
        for (let b = 0; b < d; b++) {
          const dot = r[a].reduce((acc, v, i) => acc + v * r[b][i], 0);
          expect(dot).toBeCloseTo(a === b ? 1 : 0, 5);
        }
      }
    }
  });
});

describe('Metric', () => {
  const cases: { kind: MetricKind; d: number }[] = [
    { kind: 'fixed-eigen', d: 2 },
    { kind: 'eigen-budget', d: 2 },
    { kind: 'eigen-budget', d: 3 },
    { kind: 'eigen-budget', d: 4 },
    { kind: 'householder', d: 1 },
    { kind: 'householder', d: 2 },
    { kind: 'householder', d: 3 },
    { kind: 'householder', d: 7 },
    { kind: 'householder', d: 32 },
  ];

  for (const { kind, d } of cases) {
    it(`${kind}, D = ${d}: G is symmetric with the decomposed eigenvalues (independent Jacobi)`, () => {
      const metric = new Metric({ kind, dim: d, condition: none, width: 16 }, new Rng(d));
      const rng = new Rng(100 + d);
      const b = 4;
      const s = 3;
      const q = rng.normals(b * s * d, 2);
      const g = matricesAt(metric, q, b, s, null);
      const eig = ownEigenvalues(metric, q, b, s);
      for (let p = 0; p < b * s; p++) {
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) expect(Math.abs(g[p][i][j] - g[p][j][i])).toBeLessThan(1e-6);
        const jac = jacobiEigenvalues(g[p]);
        const mine = eig[p].slice().sort((x, y) => x - y);
        for (let i = 0; i < d; i++) expect(jac[i]).toBeCloseTo(mine[i], d > 8 ? 4 : 5);
        if (kind === 'fixed-eigen') {
          expect(mine[0]).toBeCloseTo(0.1, 6);
          expect(mine[1]).toBeCloseTo(1, 6);
        } else {
          // Budget: every eigenvalue in [0.1, 1], and they sum to 0.1·D + 0.9 (softmax shares 0.9).
          for (const e of mine) {
            expect(e).toBeGreaterThanOrEqual(0.1 - 1e-6);
            expect(e).toBeLessThanOrEqual(1 + 1e-6);
          }
          expect(mine.reduce((x, y) => x + y, 0)).toBeCloseTo(0.1 * d + 0.9, d > 8 ? 4 : 5);
        }
      }
      metric.net!.params.dispose();
    });

    it(`${kind}, D = ${d}: quadraticForm equals vᵀGv and the principal direction is the top eigenvector`, () => {
      const metric = new Metric({ kind, dim: d, condition: none, width: 16 }, new Rng(7 * d));
      const rng = new Rng(200 + d);
      const b = 3;
      const s = 4;
      const q = rng.normals(b * s * d, 2);
      const v = rng.normals(b * s * d);
      const g = matricesAt(metric, q, b, s, null);
      const [quad, eigs, dirs] = tf.tidy(() => {
        const qt = tf.tensor3d(q, [b, s, d]);
        const pr = metric.principal(qt, null);
        return [metric.quadraticForm(qt, tf.tensor3d(v, [b, s, d]), null), pr.eigenvalues, pr.direction];
      });
      const qv = quad.dataSync();
      const ev = eigs.dataSync();
      const dv = dirs.dataSync();
      tf.dispose([quad, eigs, dirs]);
      for (let p = 0; p < b * s; p++) {
        let expected = 0;
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) expected += v[p * d + i] * g[p][i][j] * v[p * d + j];
        expect(qv[p]).toBeCloseTo(expected, 4);
        const top = Math.max(...Array.from(ev.subarray(p * d, (p + 1) * d)));
        const dir = Array.from(dv.subarray(p * d, (p + 1) * d));
        expect(Math.hypot(...dir)).toBeCloseTo(1, 5);
        for (let i = 0; i < d; i++) {
          const gd = g[p][i].reduce((acc, x, j) => acc + x * dir[j], 0);
          expect(gd).toBeCloseTo(top * dir[i], 4);
        }
      }
      metric.net!.params.dispose();
    });
  }

  it('a constant network output gives G = Rᵀ diag(e) R built independently (D = 2 and 3)', () => {
    for (const d of [2, 3]) {
      const metric = new Metric({ kind: 'eigen-budget', dim: d, condition: none, width: 8 }, new Rng(1));
      const rng = new Rng(9);
      const logits = Array.from(rng.normals(d));
      const uv = Array.from(rng.normals(2 * planeCount(d)));
      const e = setConstantOutput(metric, logits, uv);
      const cos: number[] = [];
      const sin: number[] = [];
      for (let p = 0; p < planeCount(d); p++) {
        const theta = Math.atan2(uv[2 * p + 1], uv[2 * p]);
        cos.push(Math.cos(theta));
        sin.push(Math.sin(theta));
      }
      const a = fromEigen(e, givensProduct(cos, sin, d));
      const q = rng.normals(2 * 3 * d, 3);
      for (const g of matricesAt(metric, q, 2, 3, null)) {
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) expect(g[i][j]).toBeCloseTo(a[i][j], 5);
      }
      metric.net!.params.dispose();
    }
  });

  it('householder: a constant network output gives G = Qᵀ diag(e) Q with Q a product of dense reflections (D = 2, 3, 6)', () => {
    for (const d of [2, 3, 6]) {
      const metric = new Metric({ kind: 'householder', dim: d, condition: none, width: 8 }, new Rng(1));
      const m = reflectionCount(d);
      expect(metric.reflections).toBe(m);
      expect(metric.outputCount()).toBe(d * (1 + m));
      const rng = new Rng(19 + d);
      const logits = Array.from(rng.normals(d));
      const raw = Array.from(rng.normals(m * d));
      const e = setConstantOutput(metric, logits, raw);
      // Normal k is the raw output block k plus the unit axis k (documented offset).
      const normals = Array.from({ length: m }, (_, k) => raw.slice(k * d, (k + 1) * d).map((v, i) => v + (i === k ? 1 : 0)));
      const a = fromEigen(e, householderProduct(normals));
      const q = rng.normals(2 * 3 * d, 3);
      for (const g of matricesAt(metric, q, 2, 3, null)) {
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) expect(g[i][j]).toBeCloseTo(a[i][j], 5);
      }
      metric.net!.params.dispose();
    }
  });

  it('householder: one reflection for D = 2, two for D = 3, at most 4 (or the requested cap) above', () => {
    expect([1, 2, 3, 4, 5, 64].map((d) => reflectionCount(d))).toEqual([0, 1, 2, 3, 4, 4]);
    expect(reflectionCount(64, 8)).toBe(8);
    const metric = new Metric({ kind: 'householder', dim: 10, condition: none, width: 8, reflections: 6 }, new Rng(0));
    expect(metric.reflections).toBe(6);
    metric.net!.params.dispose();
    expect(() => new Metric({ kind: 'householder', dim: 4, condition: none, reflections: 0 }, new Rng(0))).toThrow(/reflections must be a positive integer/);
  });

  it('eigen-budget (Givens) names its D limit and the alternative', () => {
    expect(() => new Metric({ kind: 'eigen-budget', dim: GIVENS_MAX_DIM + 1, condition: none }, new Rng(0))).toThrow(/limited to D ≤ 32 .*use 'householder'/);
  });

  it('conditions on a class through FiLM', () => {
    const d = 2;
    const metric = new Metric({ kind: 'eigen-budget', dim: d, condition: { kind: 'categorical', classes: 3 }, width: 16 }, new Rng(4));
    const rng = new Rng(8);
    // FiLM starts as the identity; give it weights so that the class matters.
    const fw = metric.net!.params.get('film_w1');
    fw.assign(tf.tensor(rng.normals(fw.size, 1), fw.shape));
    const q = new Float32Array(rng.normals(d, 1));
    const byClass = [0, 1, 2].map((c) => {
      const cond = tf.tensor2d([c], [1, 1]);
      const m = matricesAt(metric, q, 1, 1, cond)[0];
      cond.dispose();
      return m;
    });
    const diff = Math.abs(byClass[0][0][1] - byClass[1][0][1]) + Math.abs(byClass[0][0][0] - byClass[2][0][0]);
    expect(diff).toBeGreaterThan(1e-3);
    // Same class twice: same G.
    const again = tf.tensor2d([1], [1, 1]);
    const m1 = matricesAt(metric, q, 1, 1, again)[0];
    again.dispose();
    expect(m1[0][1]).toBeCloseTo(byClass[1][0][1], 6);
    metric.net!.params.dispose();
  });

  it('euclidean is the identity', () => {
    const metric = new Metric({ kind: 'euclidean', dim: 3, condition: none }, new Rng(0));
    const g = matricesAt(metric, new Float32Array(6), 1, 2, null);
    for (const m of g) expect(m).toEqual(identity(3));
    const quad = tf.tidy(() => metric.quadraticForm(tf.zeros([1, 1, 3]) as Tensor3D, tf.tensor3d([1, 2, 3], [1, 1, 3]), null));
    expect(quad.dataSync()[0]).toBeCloseTo(14, 5);
    quad.dispose();
  });

  it('fixed-eigen refuses D ≠ 2 with a clear message, and unknown kinds are named', () => {
    for (const d of [1, 3, 5]) {
      expect(() => new Metric({ kind: 'fixed-eigen', dim: d, condition: none }, new Rng(0))).toThrow(`D = 2 only (this data has D = ${d})`);
    }
    expect(() => new Metric({ kind: 'riemann' as MetricKind, dim: 2, condition: none }, new Rng(0))).toThrow(/unknown metric 'riemann'/);
  });

  it('leaks no tensors', () => {
    for (const kind of ['eigen-budget', 'householder'] as MetricKind[]) {
      const metric = new Metric({ kind, dim: 3, condition: none, width: 8 }, new Rng(2));
      const q = tf.randomNormal([2, 5, 3]) as Tensor3D;
      const before = tf.memory().numTensors;
      const out: Tensor[] = tf.tidy(() => [metric.quadraticForm(q, q, null)]);
      tf.dispose(out);
      expect(tf.memory().numTensors).toBe(before);
      q.dispose();
      metric.net!.params.dispose();
    }
  });
});
