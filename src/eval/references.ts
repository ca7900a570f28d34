/**
 * The trivial references of benchmarks.md, which every table prints beside each method:
 *   - copy-first-anchor: the first anchor's rows, whatever the target λ (a method that does not
 *     beat this has learned nothing);
 *   - nearest-anchor: the rows of the anchor nearest in λ (ties go to the lower anchor); it uses
 *     networks a surrogate does not have at λ — a reference, not a bar;
 *   - linear-interpolation: where rows correspond across levels (row n of every level is the same
 *     input), row n = (1 − s)·y_k[n] + s·y_{k+1}[n] between the bracketing anchors, condition copied.
 * Each returns one row matrix (width D + C, same layout as the data) per target λ, to be scored by
 * the same scorers as a surrogate's predictions.
 */
import { levelIndex, rowWidth, type Dataset } from '../data/dataset.js';

export type ReferenceName = 'copy-first-anchor' | 'nearest-anchor' | 'linear-interpolation';

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

/** Every reference that applies to the dataset (linear interpolation only where rows correspond). */
export function trivialReferences(ds: Dataset, targets: number[]): ReferencePrediction[] {
  const refs: ReferencePrediction[] = [
    { name: 'copy-first-anchor', predictions: copyFirstAnchor(ds, targets) },
    { name: 'nearest-anchor', predictions: nearestAnchor(ds, targets) },
  ];
  if (rowsCorrespond(ds)) refs.push({ name: 'linear-interpolation', predictions: linearInterpolation(ds, targets) });
  return refs;
}
