import type { SamplingGraph } from './graph.js';

/**
 * The contract every trained surrogate honours — CLOT (src/surrogate) and the baselines
 * (src/baselines) alike — so that sampling, saving, benchmarks, the CLI and the server treat
 * them the same way.
 */
export type ModelKind = 'clot' | 'direct' | 'cfm' | 'mfm' | 'copy-first';

export interface ModelInfo {
  kind: ModelKind;
  /** Preset or method label, e.g. 'full' (K_θ−Û), 'euclidean', 'cfm'. */
  method: string;
  dim: number;
  cond: number;
  categorical: boolean;
  classes: number;
  /** Anchor λ values, strictly increasing; the model answers on [anchors[0], anchors[K]]. */
  anchors: number[];
  /** Per output column [min, max] over the anchor data. */
  bounds: [number, number][];
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
  /** What `sample` computes, as plain data (networks, intervals, position map): what exporters build from. */
  samplingGraph?(): SamplingGraph;
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
    for (let i = info.dim; i < rows.length; i += width) {
      const c = rows[i];
      if (!Number.isInteger(c) || c < 0 || c >= info.classes) throw new Error(`row ${Math.floor(i / width)}: class ${c} is not one of 0..${info.classes - 1}`);
    }
  }
  return rows.length / width;
}

/** Trajectory from repeated sampling: the default for models without a cheaper path. */
export function trajectoryBySampling(model: Pick<TrajectoryModel, 'sample'>, rows: Float32Array, lambdas: number[]): Float32Array {
  const out = new Float32Array(rows.length * lambdas.length);
  lambdas.forEach((l, i) => out.set(model.sample(rows, l), i * rows.length));
  return out;
}
