import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf, Rng, type ConditionSpec, type Scalar, type Tensor1D, type Tensor2D, type Tensor3D, type Variable } from '../src/engine/index.js';
import {
  ACTION_FORMS,
  DensityPotential,
  Lagrangian,
  Metric,
  SplinePaths,
  disposeReferences,
  planeCount,
  splineBasisMatrix,
  straightLineAction,
  type ActionForm,
  type MetricKind,
  type PathContext,
} from '../src/lagrangian/index.js';
import { fromEigen, givensProduct, identity } from './lagrangian-helpers.js';

beforeAll(async () => {
  await initEngine({ quiet: true });
});

const none: ConditionSpec = { kind: 'none' };
const M = 15;
const S = 20;
const noCtx: PathContext = { film: null, refs: null };

/** Per-path actions as numbers. */
function actions(lag: Lagrangian, y0: Float32Array, y1: Float32Array, phi: Float32Array | null, ctx: PathContext = noCtx): Float32Array {
  const d = lag.metric.dim;
  const b = y0.length / d;
  const out = tf.tidy(() =>
    lag.action(tf.tensor2d(y0, [b, d]), tf.tensor2d(y1, [b, d]), phi ? tf.tensor3d(phi, [b, M, d]) : null, ctx),
  );
  const v = out.dataSync() as Float32Array;
  out.dispose();
  return v;
}

/** Path points in float64 from the basis matrix (independent of the tensor path code). */
function pathPoints(y0: number[], y1: number[], phi: Float32Array | null, b: number): number[][] {
  const d = y0.length;
  const basis = splineBasisMatrix(M, S);
  return Array.from({ length: S }, (_, i) => {
    const s = i / (S - 1);
    return Array.from({ length: d }, (_, e) => {
      let v = (1 - s) * y0[e] + s * y1[e];
      if (phi) for (let m = 0; m < M; m++) v += basis[i * M + m] * phi[(b * M + m) * d + e];
      return v;
    });
  });
}

/** Discretised action of points under a constant matrix A, minus Σ U (U given per point), float64. */
function directAction(points: number[][], a: number[][], form: ActionForm, u: (q: number[]) => number = () => 0): number {
  const d = a.length;
  let length = 0;
  let kinetic = 0;
  let pot = 0;
  for (let i = 0; i < points.length - 1; i++) {
    const delta = points[i].map((v, e) => points[i + 1][e] - v + 1e-6);
    let quad = 0;
    for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) quad += delta[r] * a[r][c] * delta[c];
    length += Math.sqrt(quad + 1e-12);
    kinetic += quad;
    pot += u(points[i]);
  }
  const ds = 1 / (points.length - 1);
  return form === 'reference' ? 0.5 * (length - pot) ** 2 : (0.5 * kinetic) / ds - pot * ds;
}

/** A metric whose network outputs a constant (last layer zeroed, bias set): G = A everywhere. */
function constantMetric(d: number, rng: Rng): { metric: Metric; a: number[][] } {
  const kind = d === 2 && rng.next() < 0 ? 'fixed-eigen' : 'eigen-budget';
  const metric = new Metric({ kind, dim: d, condition: none, width: 8 }, rng.fork('net'));
  const logits = Array.from(rng.normals(d));
  const uv = Array.from(rng.normals(2 * planeCount(d)));
  const net = metric.net!;
  const last = net.config.hidden.length;
  net.params.get(`w${last}`).assign(tf.zerosLike(net.params.get(`w${last}`)));
  net.params.get(`b${last}`).assign(tf.tensor1d([...logits, ...uv]));
  const ex = logits.map(Math.exp);
  const sum = ex.reduce((x, y) => x + y, 0);
  const e = ex.map((v) => 0.1 + 0.9 * (v / sum));
  const angles = Array.from({ length: planeCount(d) }, (_, p) => Math.atan2(uv[2 * p + 1], uv[2 * p]));
  return { metric, a: fromEigen(e, givensProduct(angles.map(Math.cos), angles.map(Math.sin), d)) };
}

const rel = (x: number, y: number) => Math.abs(x - y) / Math.max(Math.abs(y), 1e-6);

/**
 * Round-off floor of a float32 central difference of f at value f ≈ value with step h: the action
 * is a sum of many float32 terms, good to a few ulps (8 allowed), and the difference divides by 2h.
 */
const fdNoise = (value: number, h: number) => (8 * Math.abs(value) * 2 ** -23) / (2 * h);

describe('action: closed forms', () => {
  for (const form of ACTION_FORMS) {
    it(`${form}: Euclidean straight path equals the closed form, any bend raises it`, () => {
      for (const d of [1, 2, 3]) {
        const paths = new SplinePaths(M, S);
        const lag = new Lagrangian(new Metric({ kind: 'euclidean', dim: d, condition: none }, new Rng(0)), null, paths, form);
        const rng = new Rng(30 + d);
        const b = 8;
        const y0 = rng.normals(b * d, 2);
        const y1 = rng.normals(b * d, 2);
        const straight = actions(lag, y0, y1, null);
        const zero = actions(lag, y0, y1, new Float32Array(b * M * d));
        for (let p = 0; p < b; p++) {
          const closed = straightLineAction(Array.from(y0.subarray(p * d, (p + 1) * d)), Array.from(y1.subarray(p * d, (p + 1) * d)), identity(d), S, form);
          expect(rel(straight[p], closed)).toBeLessThan(1e-5);
          expect(rel(zero[p], closed)).toBeLessThan(1e-5);
        }
        // Several random bends, small and large: every one costs more than the straight line.
        for (const scale of [0.05, 0.3, 1]) {
          const phi = rng.normals(b * M * d, scale);
          const bent = actions(lag, y0, y1, phi);
          for (let p = 0; p < b; p++) {
            const a0 = Array.from(y0.subarray(p * d, (p + 1) * d));
            const a1 = Array.from(y1.subarray(p * d, (p + 1) * d));
            const excess = directAction(pathPoints(a0, a1, phi, p), identity(d), form) - straightLineAction(a0, a1, identity(d), S, form);
            if (form === 'reference' && d === 1) {
              // In 1-D a bend that never turns back has exactly the straight length: never less.
              expect(bent[p]).toBeGreaterThanOrEqual(straight[p] * (1 - 1e-6));
            } else {
              // Strictly more, by the float64 excess of the bent path (triangle / Cauchy–Schwarz inequality).
              expect(excess).toBeGreaterThan(0);
              expect(bent[p]).toBeGreaterThan(straight[p]);
              expect(rel(bent[p] - straight[p], excess)).toBeLessThan(0.05 + (2e-6 * straight[p]) / excess);
            }
          }
        }
        paths.dispose();
      }
    });

    it(`${form}: a constant metric A gives the closed form with A (straight and bent)`, () => {
      for (const d of [2, 3]) {
        const rng = new Rng(40 + d);
        const { metric, a } = constantMetric(d, rng);
        const paths = new SplinePaths(M, S);
        const lag = new Lagrangian(metric, null, paths, form);
        const b = 5;
        const y0 = rng.normals(b * d, 2);
        const y1 = rng.normals(b * d, 2);
        const phi = rng.normals(b * M * d, 0.4);
        const straight = actions(lag, y0, y1, null);
        const bent = actions(lag, y0, y1, phi);
        for (let p = 0; p < b; p++) {
          const a0 = Array.from(y0.subarray(p * d, (p + 1) * d));
          const a1 = Array.from(y1.subarray(p * d, (p + 1) * d));
          expect(rel(straight[p], straightLineAction(a0, a1, a, S, form))).toBeLessThan(1e-4);
          expect(rel(bent[p], directAction(pathPoints(a0, a1, phi, p), a, form))).toBeLessThan(1e-4);
        }
        metric.net!.params.dispose();
        paths.dispose();
      }
    });

    it(`${form}: with the density potential, the action subtracts U at the first S − 1 points`, () => {
      const d = 2;
      const rng = new Rng(50);
      const n = 60;
      const y = rng.normals(n * d, 1.5);
      const x = Float32Array.from({ length: n }, (_, i) => i % 3);
      const pot = new DensityPotential(y, x, d, 1, true, { alpha: 0.3, bandwidth: 0.7 });
      const paths = new SplinePaths(M, S);
      const lag = new Lagrangian(new Metric({ kind: 'euclidean', dim: d, condition: none }, new Rng(0)), pot, paths, form);
      const b = 6;
      const conds = Float32Array.from({ length: b }, (_, i) => i % 3);
      const refs = pot.pathReferences(conds, b);
      const y0 = rng.normals(b * d);
      const y1 = rng.normals(b * d);
      const phi = rng.normals(b * M * d, 0.3);
      const got = actions(lag, y0, y1, phi, { film: null, refs });
      disposeReferences(refs);
      for (let p = 0; p < b; p++) {
        const pts = pathPoints(Array.from(y0.subarray(p * d, (p + 1) * d)), Array.from(y1.subarray(p * d, (p + 1) * d)), phi, p);
        const expected = directAction(pts, identity(d), form, (q) => pot.exactValue(q, [conds[p]]));
        expect(rel(got[p], expected)).toBeLessThan(1e-4);
      }
      paths.dispose();
    });
  }
});

/**
 * Central differences of per-path actions in float32: the B paths are independent, so perturbing
 * one coordinate of every path at once gives B derivatives from two evaluations.
 */
const GRADIENT_CASES: { kind: MetricKind; d: number }[] = [
  { kind: 'eigen-budget', d: 2 },
  { kind: 'householder', d: 2 },
  { kind: 'householder', d: 6 },
];

for (const { kind, d } of GRADIENT_CASES) describe(`action (${kind} metric, D = ${d}): gradients match central finite differences`, () => {
  const b = 6;
  const rng = new Rng(60);
  const setup = (form: ActionForm) => {
    const condition: ConditionSpec = { kind: 'categorical', classes: 3 };
    const metric = new Metric({ kind, dim: d, condition, width: 16 }, new Rng(61));
    const fw = metric.net!.params.get('film_w1');
    fw.assign(tf.tensor(rng.normals(fw.size, 0.5), fw.shape));
    const n = 90;
    const pot = new DensityPotential(rng.normals(n * d, 1.5), Float32Array.from({ length: n }, (_, i) => i % 3), d, 1, true, {
      alpha: 0.2,
      bandwidth: 0.8,
    });
    const paths = new SplinePaths(M, S);
    const lag = new Lagrangian(metric, pot, paths, form);
    const conds = Float32Array.from({ length: b }, (_, i) => i % 3);
    const condT = tf.keep(tf.tensor2d(conds, [b, 1]));
    const refs = pot.pathReferences(conds, b);
    const y0 = tf.keep(tf.tensor2d(rng.normals(b * d), [b, d]));
    const y1 = rng.normals(b * d);
    const phi = rng.normals(b * M * d, 0.2);
    // FiLM is recomputed inside each evaluation so that metric-parameter gradients reach it too.
    const run = (y1t: Tensor2D, phiT: Tensor3D): Tensor1D => lag.action(y0, y1t, phiT, { film: metric.film(condT), refs });
    const dispose = () => {
      disposeReferences(refs);
      tf.dispose([condT, y0]);
      metric.net!.params.dispose();
      paths.dispose();
    };
    return { metric, run, y1, phi, dispose };
  };

  for (const form of ACTION_FORMS) {
    it(`${form}: with respect to y1`, () => {
      const { run, y1, phi, dispose } = setup(form);
      const phiT = tf.tensor3d(phi, [b, M, d]);
      const grad = tf.tidy(() => tf.grad((y: Tensor2D) => tf.sum(run(y, phiT)) as Scalar)(tf.tensor2d(y1, [b, d])));
      const g = grad.dataSync();
      grad.dispose();
      const h = 1e-2;
      for (let e = 0; e < d; e++) {
        const shifted = (sign: number) =>
          tf.tidy(() => run(tf.tensor2d(y1.map((v, i) => (i % d === e ? v + sign * h : v)), [b, d]), phiT).dataSync() as Float32Array);
        const plus = shifted(1);
        const minus = shifted(-1);
        for (let p = 0; p < b; p++) {
          const fd = (plus[p] - minus[p]) / (2 * h);
          // 1% of the path's gradient size, plus the float32 round-off floor of the difference.
          const scale = Math.max(...Array.from(g.subarray(p * d, (p + 1) * d), Math.abs), 1e-2);
          expect(Math.abs(g[p * d + e] - fd)).toBeLessThan(1e-2 * scale + fdNoise(plus[p], h));
        }
      }
      phiT.dispose();
      dispose();
    });

    it(`${form}: with respect to the metric parameters`, () => {
      const { metric, run, y1, phi, dispose } = setup(form);
      const y1t = tf.tensor2d(y1, [b, d]);
      const phiT = tf.tensor3d(phi, [b, M, d]);
      const total = () => tf.tidy(() => tf.sum(run(y1t, phiT)).dataSync()[0]);
      const vars = metric.net!.params.list();
      const { value, grads } = tf.variableGrads(() => tf.sum(run(y1t, phiT)) as Scalar, vars);
      value.dispose();
      let checked = 0;
      for (const name of ['w0', 'b1', 'w2', 'b2', 'film_w1', 'embed']) {
        const v: Variable = metric.net!.params.get(name);
        const g = grads[v.name].dataSync();
        // The two largest entries of each parameter tensor, where the difference is far above round-off.
        const order = Array.from(g.keys()).sort((i, j) => Math.abs(g[j]) - Math.abs(g[i])).slice(0, 2);
        for (const idx of order) {
          const base = v.dataSync().slice();
          // Small: a step across a leaky-ReLU kink of any of the 114 points would bias the difference.
          const h = 5e-4 * Math.max(1, Math.abs(base[idx]));
          const at = (delta: number) => {
            const w = base.slice();
            w[idx] += delta;
            v.assign(tf.tensor(w, v.shape));
            return total();
          };
          const value = at(h);
          const fd = (value - at(-h)) / (2 * h);
          v.assign(tf.tensor(base, v.shape));
          expect(Math.abs(g[idx] - fd)).toBeLessThan(2e-2 * Math.abs(fd) + fdNoise(value, h));
          checked++;
        }
      }
      expect(checked).toBe(12);
      tf.dispose(Object.values(grads));
      tf.dispose([y1t, phiT]);
      dispose();
    });

    it(`${form}: with respect to the spline parameters φ (a tf.variable)`, () => {
      const { run, y1, phi, dispose } = setup(form);
      const y1t = tf.tensor2d(y1, [b, d]);
      const phiVar = tf.variable(tf.tensor3d(phi, [b, M, d]));
      const { value, grads } = tf.variableGrads(() => tf.sum(run(y1t, phiVar)) as Scalar, [phiVar]);
      value.dispose();
      const g = grads[phiVar.name].dataSync();
      // Small enough that the O(h²) truncation of the central difference stays below the tolerance.
      const h = 3e-3;
      const check = new Rng(62).sample(phi.length, 12);
      for (const idx of check) {
        const path = Math.floor(idx / (M * d));
        // Only this path's action depends on this entry: difference it alone (the float32 sum of all is coarser).
        const at = (delta: number) =>
          tf.tidy(() => {
            const w = phi.slice();
            w[idx] += delta;
            return run(y1t, tf.tensor3d(w, [b, M, d])).dataSync()[path];
          });
        const value = at(h);
        const fd = (value - at(-h)) / (2 * h);
        const scale = Math.max(...Array.from(g.subarray(path * M * d, (path + 1) * M * d), Math.abs), 1e-2);
        expect(Math.abs(g[idx] - fd)).toBeLessThan(1e-2 * scale + fdNoise(value, h));
      }
      tf.dispose(Object.values(grads));
      tf.dispose([y1t, phiVar]);
      dispose();
    });
  }
});
