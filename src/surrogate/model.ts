/**
 * The contract every trained surrogate honours — CLOT (src/surrogate) and the baselines
 * (src/baselines) alike — so that sampling, saving, benchmarks, the CLI and the server treat
 * them the same way.
 */
import { formatClassIds } from '../data/dataset.js';

export type ModelKind = 'clot' | 'direct' | 'cfm' | 'mfm' | 'copy-first';

export interface ModelInfo {
  kind: ModelKind;
  /** Preset or method label, e.g. 'full' (K_θ−Û), 'euclidean', 'cfm'. */
  method: string;
  dim: number;
  cond: number;
  categorical: boolean;
  /** Number of classes the model knows (categorical), else 0. */
  classes: number;
  /**
   * The class ids the model was trained on, sorted (categorical). Networks see a class as its
   * index in this list. Models saved before the list existed knew ids 0..classes−1 (see knownClasses).
   */
  classIds?: number[];
  /** Anchor λ values, strictly increasing; the model answers on [anchors[0], anchors[K]]. */
  anchors: number[];
  /** Per output column [min, max] over the anchor data. */
  bounds: [number, number][];
  /** Per continuous condition column [min, max] over the anchor data (absent in older models). */
  condBounds?: [number, number][];
  /** Free-form training summary (fit seconds, final losses, options). */
  training?: Record<string, unknown>;
}

export interface TrajectoryModel {
  readonly info: ModelInfo;
  /**
   * Push rows given at the first anchor (N × (D + C), row-major: y then x) to λ.
   * Returns N × (D + C) with the condition columns passed through. λ outside the anchor range
   * is an error, never an extrapolation.
   */
  sample(rows: Float32Array, lambda: number): Float32Array;
  /** The same rows pushed to each λ of a grid: [L, N, D + C] flattened row-major. */
  trajectory(rows: Float32Array, lambdas: number[]): Float32Array;
  /** `n` stored first-anchor rows of class `klass` (categorical models), drawn with `seed`. */
  anchorRows(klass: number | null, n: number, seed: number): Float32Array;
  /** Save to a model directory (JSON config + safetensors weights), atomically. */
  save(path: string): Promise<void>;
  /** Density potential U(q | x) at points [P, D] for one condition x [C] (models with a potential). */
  potential?(points: Float32Array, cond: Float32Array): Float32Array;
  /** Learned metric at points [P, D] for one condition x: eigenvalues [P, D] and principal direction [P, D]. */
  metric?(points: Float32Array, cond: Float32Array): { eigenvalues: Float32Array; principal: Float32Array };
  dispose(): void;
}

/** Check a λ lies in the model's range; the error names the range. */
export function checkLambda(info: ModelInfo, lambda: number): void {
  const lo = info.anchors[0];
  const hi = info.anchors[info.anchors.length - 1];
  const tol = 1e-9 * Math.max(1, Math.abs(lo), Math.abs(hi));
  if (!Number.isFinite(lambda)) throw new Error(`λ must be a finite number, got ${lambda}`);
  if (lambda < lo - tol || lambda > hi + tol) throw new Error(`λ = ${lambda} is outside the model's range [${lo}, ${hi}] (no extrapolation)`);
}

/** Most rows one call may draw or push (a larger job is split by the caller). */
export const MAX_ROWS = 2 ** 26;

/** Check a requested row count before anything is allocated for it. */
export function checkRowCount(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`the number of rows must be a positive integer, got ${n}`);
  if (n > MAX_ROWS) throw new Error(`${n} rows is more than one call handles (${MAX_ROWS}); split the job`);
}

/** The class ids a model knows: its list, or 0..classes−1 for a model saved without one. */
export function knownClasses(info: Pick<ModelInfo, 'categorical' | 'classes' | 'classIds'>): number[] {
  if (!info.categorical) return [];
  return info.classIds ? info.classIds.slice() : Array.from({ length: info.classes }, (_, c) => c);
}

/** Class id → its index among the known classes (the dense index networks use). */
export function classIndexMap(ids: number[]): Map<number, number> {
  return new Map(ids.map((id, i) => [id, i]));
}

/** The error for a class the model was not trained on. */
export function unknownClassError(info: Pick<ModelInfo, 'categorical' | 'classes' | 'classIds'>, klass: number, where = ''): Error {
  const ids = knownClasses(info);
  return new Error(`${where}class ${klass} is not one of the model's classes (${formatClassIds(ids)})`);
}

/** Check rows have the model's width and finite values; the error says what is wrong. */
export function checkRows(info: ModelInfo, rows: Float32Array): number {
  const width = info.dim + info.cond;
  if (rows.length === 0 || rows.length % width !== 0) {
    throw new Error(`rows must have ${width} columns (${info.dim} outputs + ${info.cond} condition), got ${rows.length} values`);
  }
  for (let i = 0; i < rows.length; i++) {
    if (!Number.isFinite(rows[i])) throw new Error(`row ${Math.floor(i / width)}, column ${i % width} is not finite`);
  }
  if (info.categorical) {
    const known = new Set(knownClasses(info));
    for (let i = info.dim; i < rows.length; i += width) {
      if (!known.has(rows[i])) throw unknownClassError(info, rows[i], `row ${Math.floor(i / width)}: `);
    }
  }
  return rows.length / width;
}

/** Per column [min, max] of columns [offset, offset + cols) of row-major rows of width `width`. */
export function columnBounds(blocks: Float32Array[], width: number, offset: number, cols: number): [number, number][] {
  const out: [number, number][] = Array.from({ length: cols }, () => [Infinity, -Infinity]);
  for (const b of blocks) {
    for (let i = 0; i < b.length; i += width) {
      for (let j = 0; j < cols; j++) {
        const v = b[i + offset + j];
        if (v < out[j][0]) out[j][0] = v;
        if (v > out[j][1]) out[j][1] = v;
      }
    }
  }
  return out;
}

/** Rows that lie far outside the training data, summarised for a warning. */
export interface OutsideReport {
  /** How many rows have a value far outside. */
  rows: number;
  total: number;
  /** The farthest value: its column (0-based, outputs then conditions), value and the training range. */
  column: number;
  value: number;
  range: [number, number];
}

/**
 * Rows whose outputs (or continuous conditions) lie more than `slack` × the training range beyond
 * its edges: the networks never saw such inputs, so the answer there is an extrapolation. Null when
 * every row is within reach of the training data.
 */
export function rowsFarOutside(info: ModelInfo, rows: Float32Array, slack = 1): OutsideReport | null {
  const width = info.dim + info.cond;
  const ranges: ([number, number] | null)[] = [...info.bounds, ...(info.categorical ? [null] : (info.condBounds ?? Array(info.cond).fill(null)))];
  let count = 0;
  let worst: { excess: number; column: number; value: number } | null = null;
  const total = rows.length / width;
  for (let i = 0; i < total; i++) {
    let far = false;
    for (let j = 0; j < width; j++) {
      const range = ranges[j];
      if (!range) continue;
      const span = Math.max(range[1] - range[0], 1e-12 * Math.max(1, Math.abs(range[0]), Math.abs(range[1])));
      const v = rows[i * width + j];
      const excess = Math.max(range[0] - v, v - range[1]) / span;
      if (excess > slack) {
        far = true;
        if (!worst || excess > worst.excess) worst = { excess, column: j, value: v };
      }
    }
    if (far) count++;
  }
  if (!worst) return null;
  return { rows: count, total, column: worst.column, value: worst.value, range: ranges[worst.column]! };
}

/** Trajectory from repeated sampling: the default for models without a cheaper path. */
export function trajectoryBySampling(model: Pick<TrajectoryModel, 'sample'>, rows: Float32Array, lambdas: number[]): Float32Array {
  const out = new Float32Array(rows.length * lambdas.length);
  lambdas.forEach((l, i) => out.set(model.sample(rows, l), i * rows.length));
  return out;
}
