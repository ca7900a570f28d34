/**
 * The learned potential and metric of a 2-D model on a regular grid over the data bounds: what
 * the viewer draws as a heat map and as short segments along the metric's principal direction.
 */
import type { ModelInfo, TrajectoryModel } from '../surrogate/model.js';

export interface FieldGrid {
  xs: number[];
  ys: number[];
  /** Grid points [ny·nx, 2], row-major with y outer. */
  points: Float32Array;
}

export interface FieldResult {
  xs: number[];
  ys: number[];
  /** U at each grid point (y outer, x inner), or null when the model has no potential. */
  potential: number[] | null;
  /** Metric eigenvalues [P, 2] and principal direction [P, 2], or null without a metric. */
  eigenvalues: number[] | null;
  principal: number[] | null;
}

/** Data bounds of the first two output columns, widened by `pad` of their span on each side. */
export function paddedBounds(info: ModelInfo, pad = 0.05): [[number, number], [number, number]] {
  const axis = (j: number): [number, number] => {
    const [lo, hi] = info.bounds[j] ?? [-1, 1];
    const span = hi - lo > 0 ? hi - lo : 1;
    return [lo - pad * span, hi + pad * span];
  };
  return [axis(0), axis(1)];
}

function linspace(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

export function fieldGrid(bounds: [[number, number], [number, number]], size: number): FieldGrid {
  const xs = linspace(bounds[0][0], bounds[0][1], size);
  const ys = linspace(bounds[1][0], bounds[1][1], size);
  const points = new Float32Array(size * size * 2);
  let k = 0;
  for (const y of ys) {
    for (const x of xs) {
      points[k++] = x;
      points[k++] = y;
    }
  }
  return { xs, ys, points };
}

export function computeField(model: TrajectoryModel, cond: Float32Array, bounds: [[number, number], [number, number]], size: number): FieldResult {
  const { xs, ys, points } = fieldGrid(bounds, size);
  const potential = model.potential ? Array.from(model.potential(points, cond)) : null;
  let eigenvalues: number[] | null = null;
  let principal: number[] | null = null;
  if (model.metric) {
    const m = model.metric(points, cond);
    eigenvalues = Array.from(m.eigenvalues);
    principal = Array.from(m.principal);
  }
  const p = xs.length * ys.length;
  if (potential && potential.length !== p) throw new Error(`the model's potential returned ${potential.length} values for ${p} points`);
  if (eigenvalues && (eigenvalues.length !== 2 * p || principal?.length !== 2 * p)) {
    throw new Error(`the model's metric returned the wrong number of values for ${p} points`);
  }
  return { xs, ys, potential, eigenvalues, principal };
}
