/**
 * The trivial references of benchmarks.md, which every table prints beside each method:
 *   - copy-first-anchor: the first anchor's rows, whatever the target λ (a method that does not
 *     beat this has learned nothing);
 *   - nearest-anchor: the rows of the anchor nearest in λ (ties go to the lower anchor); it uses
 *     networks a surrogate does not have at λ — a reference, not a bar;
 *   - linear-interpolation: where rows correspond across levels (row n of every level is the same
 *     input), row n = (1 − s)·y_k[n] + s·y_{k+1}[n] between the bracketing anchors, condition copied;
 *   - displacement-interpolation: exact OT between the bracketing anchors' samples within each
 *     class or condition group, then straight lines (what a user of an OT library would do; a
 *     method that does not beat it has learned nothing from its Lagrangian).
 * Each returns one row matrix (width D + C, same layout as the data) per target λ, to be scored by
 * the same scorers as a surrogate's predictions.
 */
import { levelIndex, rowWidth, type Dataset } from '../data/dataset.js';
import { exactTransportPlan, exactAssignment } from '../ot/exact.js';
import { conditionGroups } from './scores.js';

export type ReferenceName = 'copy-first-anchor' | 'nearest-anchor' | 'linear-interpolation' | 'displacement-interpolation';

export interface ReferencePrediction {
  name: ReferenceName;
  /** One row matrix per target λ, in the order given. */
  predictions: Float32Array[];
}

function describe(ds: Dataset): string {
  return ds.source ? `'${ds.source}'` : 'dataset';
}

/** Anchor λ values (the dataset's `anchors`, else all its levels), each checked to be a level. */
function anchorsOf(ds: Dataset): number[] {
  const anchors = ds.anchors ?? ds.levels;
  if (anchors.length === 0) throw new Error(`${describe(ds)}: no anchor levels`);
  for (const a of anchors) {
    if (levelIndex(ds, a) < 0) throw new Error(`${describe(ds)}: anchor λ = ${a} is not one of the levels [${ds.levels.join(', ')}]`);
  }
  return [...anchors].sort((p, q) => p - q);
}

function anchorRows(ds: Dataset, lambda: number): Float32Array {
  return ds.data[levelIndex(ds, lambda)];
}

function checkTargets(targets: number[]): void {
  if (targets.length === 0) throw new Error('references: no target levels');
  for (const t of targets) if (!Number.isFinite(t)) throw new Error(`references: target λ must be finite, got ${t}`);
}

/** The first anchor's rows at every target λ. */
export function copyFirstAnchor(ds: Dataset, targets: number[]): Float32Array[] {
  checkTargets(targets);
  const rows = anchorRows(ds, anchorsOf(ds)[0]);
  return targets.map(() => rows.slice());
}

/** The anchor nearest to λ (ties go to the lower one). */
export function nearestAnchorLevel(ds: Dataset, lambda: number): number {
  let best = NaN;
  for (const a of anchorsOf(ds)) if (!(Math.abs(a - lambda) >= Math.abs(best - lambda))) best = a;
  return best;
}

/** The nearest anchor's rows at every target λ. */
export function nearestAnchor(ds: Dataset, targets: number[]): Float32Array[] {
  checkTargets(targets);
  return targets.map((t) => anchorRows(ds, nearestAnchorLevel(ds, t)).slice());
}

/**
 * Whether row n of every anchor level is the same input: equal row counts, a non-categorical
 * condition (C > 0), and identical condition columns row by row. (Categorical rows of one class
 * are exchangeable samples, not the same input, so they never correspond.)
 */
export function rowsCorrespond(ds: Dataset): boolean {
  if (ds.categorical || ds.cond === 0) return false;
  const width = rowWidth(ds);
  const anchors = anchorsOf(ds).map((a) => anchorRows(ds, a));
  const first = anchors[0];
  for (const rows of anchors.slice(1)) {
    if (rows.length !== first.length) return false;
    for (let r = 0; r < first.length / width; r++) {
      for (let j = ds.dim; j < width; j++) if (rows[r * width + j] !== first[r * width + j]) return false;
    }
  }
  return true;
}

/** Linear interpolation between the bracketing anchors, row by row; needs rowsCorrespond(ds). */
export function linearInterpolation(ds: Dataset, targets: number[]): Float32Array[] {
  checkTargets(targets);
  if (!rowsCorrespond(ds)) {
    throw new Error(`${describe(ds)}: linear interpolation needs rows that correspond across anchor levels (same row count and identical conditions row by row, not categorical)`);
  }
  const anchors = anchorsOf(ds);
  const width = rowWidth(ds);
  const lo = anchors[0];
  const hi = anchors[anchors.length - 1];
  return targets.map((t) => {
    if (t < lo || t > hi) throw new Error(`${describe(ds)}: target λ = ${t} is outside the anchor range [${lo}, ${hi}]`);
    let k = 0;
    while (k < anchors.length - 2 && t > anchors[k + 1]) k++;
    const a = anchorRows(ds, anchors[k]);
    const s = anchors.length === 1 ? 0 : (t - anchors[k]) / (anchors[k + 1] - anchors[k]);
    if (s === 0) return a.slice();
    const b = anchorRows(ds, anchors[k + 1]);
    const out = a.slice();
    for (let r = 0; r < out.length / width; r++) {
      for (let j = 0; j < ds.dim; j++) out[r * width + j] = (1 - s) * a[r * width + j] + s * b[r * width + j];
    }
    return out;
  });
}

/** Row indices of one class or condition group, as matched between two levels. */
interface MatchGroup {
  lower: Int32Array;
  upper: Int32Array;
}

/**
 * Groups to match between two levels: by class (categorical), by identical condition vector when
 * every group of the lower level also occurs in the upper one, otherwise all rows as one group.
 */
function matchGroups(ds: Dataset, lower: Float32Array, upper: Float32Array): MatchGroup[] {
  const all = (rows: Float32Array) => Int32Array.from({ length: rows.length / rowWidth(ds) }, (_, i) => i);
  if (ds.cond === 0) return [{ lower: all(lower), upper: all(upper) }];
  const key = (c: Float32Array) => Array.from(c).join(',');
  const up = new Map(conditionGroups(upper, ds.dim, ds.cond).map((g) => [key(g.condition), g.rows]));
  const low = conditionGroups(lower, ds.dim, ds.cond);
  if (low.every((g) => up.has(key(g.condition)))) return low.map((g) => ({ lower: g.rows, upper: up.get(key(g.condition))! }));
  if (ds.categorical) throw new Error(`${describe(ds)}: a class of one anchor is missing at the next one`);
  return [{ lower: all(lower), upper: all(upper) }];
}

/** For each row of `a` (group rows ia), its OT partner among `b`'s rows ib (squared Euclidean, outputs only): a position to move toward. */
function otTargets(ds: Dataset, a: Float32Array, ia: Int32Array, b: Float32Array, ib: Int32Array): Float64Array {
  const { dim } = ds;
  const width = rowWidth(ds);
  const pts = (rows: Float32Array, idx: Int32Array) => Float64Array.from({ length: idx.length * dim }, (_, q) => rows[idx[Math.floor(q / dim)] * width + (q % dim)]);
  const pa = pts(a, ia);
  const pb = pts(b, ib);
  const out = new Float64Array(ia.length * dim);
  if (ia.length === ib.length) {
    const match = exactAssignment(pa, pb, dim);
    for (let i = 0; i < ia.length; i++) for (let d = 0; d < dim; d++) out[i * dim + d] = pb[match[i] * dim + d];
    return out;
  }
  // Unequal sizes: each source moves to the barycentre of the mass the optimal plan sends it.
  const plan = exactTransportPlan(pa, pb, dim);
  const m = ib.length;
  for (let i = 0; i < ia.length; i++) {
    let mass = 0;
    for (let j = 0; j < m; j++) {
      const f = plan.flow[i * m + j];
      if (f <= 0) continue;
      mass += f;
      for (let d = 0; d < dim; d++) out[i * dim + d] += f * pb[j * dim + d];
    }
    for (let d = 0; d < dim; d++) out[i * dim + d] /= mass;
  }
  return out;
}

/**
 * Displacement interpolation between the bracketing anchors: the lower anchor's rows, each moved
 * a fraction s of the way to its exact-OT partner among the upper anchor's rows of the same class
 * or condition group (equal sizes: a matching; otherwise the barycentre of the plan's mass).
 */
export function displacementInterpolation(ds: Dataset, targets: number[]): Float32Array[] {
  checkTargets(targets);
  const anchors = anchorsOf(ds);
  const { dim } = ds;
  const width = rowWidth(ds);
  const lo = anchors[0];
  const hi = anchors[anchors.length - 1];
  const moved = new Map<number, Float64Array>();
  const targetsOf = (k: number): Float64Array => {
    let t = moved.get(k);
    if (t) return t;
    const a = anchorRows(ds, anchors[k]);
    const b = anchorRows(ds, anchors[k + 1]);
    t = new Float64Array((a.length / width) * dim);
    for (const g of matchGroups(ds, a, b)) {
      const partner = otTargets(ds, a, g.lower, b, g.upper);
      g.lower.forEach((r, i) => {
        for (let d = 0; d < dim; d++) t![r * dim + d] = partner[i * dim + d];
      });
    }
    moved.set(k, t);
    return t;
  };
  return targets.map((t) => {
    if (t < lo || t > hi) throw new Error(`${describe(ds)}: target λ = ${t} is outside the anchor range [${lo}, ${hi}]`);
    let k = 0;
    while (k < anchors.length - 2 && t > anchors[k + 1]) k++;
    const s = (t - anchors[k]) / (anchors[k + 1] - anchors[k]);
    const a = anchorRows(ds, anchors[k]);
    if (s === 0) return a.slice();
    if (s === 1) return anchorRows(ds, anchors[k + 1]).slice();
    const partner = targetsOf(k);
    const out = a.slice();
    for (let r = 0; r < out.length / width; r++) {
      for (let d = 0; d < dim; d++) out[r * width + d] = (1 - s) * a[r * width + d] + s * partner[r * dim + d];
    }
    return out;
  });
}

/** Every reference that applies to the dataset (linear interpolation only where rows correspond). */
export function trivialReferences(ds: Dataset, targets: number[]): ReferencePrediction[] {
  const refs: ReferencePrediction[] = [
    { name: 'copy-first-anchor', predictions: copyFirstAnchor(ds, targets) },
    { name: 'nearest-anchor', predictions: nearestAnchor(ds, targets) },
  ];
  if (rowsCorrespond(ds)) refs.push({ name: 'linear-interpolation', predictions: linearInterpolation(ds, targets) });
  refs.push({ name: 'displacement-interpolation', predictions: displacementInterpolation(ds, targets) });
  return refs;
}
