/**
 * A closed-form TrajectoryModel: points on rings that rotate with λ. Its answers are exact, so
 * tests of the server, the viewer and the load test can check real numbers without training a
 * surrogate. Categorical: class c lives on a ring of radius 1 + 0.5c and turns at angular speed
 * (−1)^c·π/2 per unit λ. Continuous: the speed is x0·π/2. Extra output dimensions (D > 2) are
 * scaled by 1 + λ.
 */
import { Rng } from '../engine/rng.js';
import { checkLambda, checkRows, type ModelInfo, type TrajectoryModel } from '../surrogate/model.js';

export interface CircleModelOptions {
  dim?: number;
  cond?: number;
  categorical?: boolean;
  classes?: number;
  anchors?: number[];
  /** Provide potential() and metric() (default true). */
  field?: boolean;
}

const RING_WIDTH = 0.08;

function ringRadius(info: ModelInfo, cond: ArrayLike<number>, offset: number): number {
  return info.categorical ? 1 + 0.5 * cond[offset] : 1 + 0.25 * Math.tanh(info.cond > 1 ? cond[offset + 1] : 0);
}

function angularSpeed(info: ModelInfo, cond: ArrayLike<number>, offset: number): number {
  if (info.categorical) return (cond[offset] % 2 === 0 ? 1 : -1) * (Math.PI / 2);
  return info.cond > 0 ? cond[offset] * (Math.PI / 2) : Math.PI / 2;
}

export function circleModel(options: CircleModelOptions = {}): TrajectoryModel {
  const dim = options.dim ?? 2;
  const categorical = options.categorical ?? true;
  const cond = options.cond ?? (categorical ? 1 : 2);
  const classes = categorical ? (options.classes ?? 2) : 0;
  const anchors = options.anchors ?? [0, 0.5, 1];
  if (dim < 2) throw new Error('circleModel needs at least 2 output dimensions');
  if (categorical && cond !== 1) throw new Error('a categorical circleModel has exactly one condition column');
  const rMax = categorical ? 1 + 0.5 * (classes - 1) : 1.25;
  const span = anchors[anchors.length - 1] - anchors[0];
  const bounds: [number, number][] = Array.from({ length: dim }, (_, j) =>
    j < 2 ? [-rMax - 3 * RING_WIDTH, rMax + 3 * RING_WIDTH] : [-0.5, 0.5 * (1 + span)],
  );
  const info: ModelInfo = {
    kind: 'clot',
    method: 'analytic-circles',
    dim,
    cond,
    categorical,
    classes,
    anchors: anchors.slice(),
    bounds,
  };
  const width = dim + cond;

  function sample(rows: Float32Array, lambda: number): Float32Array {
    checkLambda(info, lambda);
    const n = checkRows(info, rows);
    const out = new Float32Array(rows.length);
    const dl = lambda - anchors[0];
    for (let i = 0; i < n; i++) {
      const o = i * width;
      const theta = angularSpeed(info, rows, o + dim) * dl;
      const c = Math.cos(theta);
      const s = Math.sin(theta);
      out[o] = c * rows[o] - s * rows[o + 1];
      out[o + 1] = s * rows[o] + c * rows[o + 1];
      for (let j = 2; j < dim; j++) out[o + j] = rows[o + j] * (1 + dl);
      for (let j = dim; j < width; j++) out[o + j] = rows[o + j];
    }
    return out;
  }

  const model: TrajectoryModel = {
    info,
    sample,
    trajectory(rows, lambdas) {
      const out = new Float32Array(rows.length * lambdas.length);
      lambdas.forEach((l, i) => out.set(sample(rows, l), i * rows.length));
      return out;
    },
    anchorRows(klass, n, seed) {
      if (!Number.isInteger(n) || n < 1) throw new Error(`n must be a positive integer, got ${n}`);
      if (klass !== null && (!categorical || !Number.isInteger(klass) || klass < 0 || klass >= classes)) {
        throw new Error(`class ${klass} is not one of this model's classes`);
      }
      const rng = new Rng(seed);
      const out = new Float32Array(n * width);
      for (let i = 0; i < n; i++) {
        const o = i * width;
        if (categorical) out[o + dim] = klass ?? i % classes;
        else for (let j = 0; j < cond; j++) out[o + dim + j] = 2 * rng.next() - 1;
        const r = ringRadius(info, out, o + dim) + RING_WIDTH * rng.normal() * 0.5;
        const a = 2 * Math.PI * rng.next();
        out[o] = r * Math.cos(a);
        out[o + 1] = r * Math.sin(a);
        for (let j = 2; j < dim; j++) out[o + j] = 0.2 * rng.normal();
      }
      return out;
    },
    async save() {
      throw new Error('the analytic circle model has no weights to save');
    },
    dispose() {},
  };
  if (options.field ?? true) {
    // U = log-density of a Gaussian ring; G has its large eigenvalue across the ring (radial), so
    // motion along the ring (the way points travel) is cheap.
    model.potential = (points, c) => {
      const r0 = ringRadius(info, c, 0);
      const p = points.length / dim;
      const out = new Float32Array(p);
      for (let i = 0; i < p; i++) {
        const d = Math.hypot(points[i * dim], points[i * dim + 1]) - r0;
        out[i] = -(d * d) / (2 * RING_WIDTH * RING_WIDTH);
      }
      return out;
    };
    model.metric = (points) => {
      const p = points.length / dim;
      const eigenvalues = new Float32Array(p * dim);
      const principal = new Float32Array(p * dim);
      for (let i = 0; i < p; i++) {
        const x = points[i * dim];
        const y = points[i * dim + 1];
        const r = Math.hypot(x, y) || 1;
        principal[i * dim] = x / r;
        principal[i * dim + 1] = y / r;
        eigenvalues[i * dim] = 1;
        for (let j = 1; j < dim; j++) eigenvalues[i * dim + j] = 0.1;
      }
      return { eigenvalues, principal };
    };
  }
  return model;
}
