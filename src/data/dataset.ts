/**
 * A dataset of network outputs at several hyperparameter levels: for each level λ_t a matrix of
 * N_t rows (y | x), y the D outputs where transport happens, x the C condition columns
 * (one integer class id column when categorical).
 */
/**
 * How a hyperparameter acts on the network, as a coordinate of λ (what each means, and how a fit
 * uses it: src/surrogate/warp.ts): `linear`, `log` (λ > 0), `logit` (0 < λ < 1), `log1m`
 * (−ln(1 − λ), λ < 1).
 */
export type LambdaScale = 'linear' | 'log' | 'logit' | 'log1m';
export const LAMBDA_SCALES: LambdaScale[] = ['linear', 'log', 'logit', 'log1m'];

export interface Dataset {
  /** λ value of each level, strictly increasing. */
  levels: number[];
  /** Per level a row-major N_t × (D + C) matrix. */
  data: Float32Array[];
  /** Output dimension D. */
  dim: number;
  /** Condition dimension C (0: unconditional; 1 when categorical). */
  cond: number;
  categorical: boolean;
  /** Number of distinct classes when categorical, else 0. */
  classes: number;
  /**
   * The distinct class ids present, sorted (categorical). Ids are labels, not indices: {0, 5} or
   * {7, 1e9} are two classes. Set by the loader; `classIdsOf` reads them from the data otherwise.
   */
  classIds?: number[];
  /** Anchor λ values from the sidecar (a subset of `levels`), when given. */
  anchors?: number[];
  /** Validation λ values from the sidecar, when given. */
  validation?: number[];
  /** Held-out test λ values from the sidecar, when given (scored only, never fitted or selected on). */
  test?: number[];
  /** The λ scale the sidecar names for the hyperparameter (src/surrogate/warp.ts), when given. */
  scale?: LambdaScale;
  /** Where the data came from (for messages). */
  source?: string;
  /** Names of the D + C columns (from a CSV header), when known. */
  columns?: string[];
}

/** Column names: the dataset's own, else y0.. for outputs and x0.. (or `class`) for conditions. */
export function columnNames(ds: Pick<Dataset, 'dim' | 'cond' | 'categorical' | 'columns'>): string[] {
  if (ds.columns && ds.columns.length === ds.dim + ds.cond) return ds.columns.slice();
  const y = Array.from({ length: ds.dim }, (_, j) => `y${j}`);
  const x = ds.categorical && ds.cond === 1 ? ['class'] : Array.from({ length: ds.cond }, (_, j) => `x${j}`);
  return [...y, ...x];
}

/** Most distinct classes a categorical dataset may hold (every class costs networks a row). */
export const MAX_CLASSES = 4096;

/** The sorted distinct values of the class column (column `dim`) of row-major blocks. */
export function distinctClassIds(blocks: Float32Array[], dim: number, width: number): number[] {
  const ids = new Set<number>();
  for (const rows of blocks) for (let k = dim; k < rows.length; k += width) ids.add(rows[k]);
  return [...ids].sort((a, b) => a - b);
}

/** The class ids of a categorical dataset: its own list, else the distinct ids in its data. */
export function classIdsOf(ds: Pick<Dataset, 'categorical' | 'classIds' | 'data' | 'dim' | 'cond'>): number[] {
  if (!ds.categorical) return [];
  return ds.classIds ? ds.classIds.slice() : distinctClassIds(ds.data, ds.dim, ds.dim + ds.cond);
}

/** Up to 12 class ids as text ("0, 5" or "0, 1, 2, …, 99 (100 classes)"), for messages. */
export function formatClassIds(ids: number[]): string {
  if (ids.length <= 12) return ids.join(', ');
  return `${ids.slice(0, 10).join(', ')}, …, ${ids[ids.length - 1]} (${ids.length} classes)`;
}

export function rowWidth(ds: Pick<Dataset, 'dim' | 'cond'>): number {
  return ds.dim + ds.cond;
}

export function rowCount(ds: Dataset, level: number): number {
  return ds.data[level].length / rowWidth(ds);
}

/** Index of a λ value among the levels (tolerant to float round-off), or -1. */
export function levelIndex(ds: Pick<Dataset, 'levels'>, lambda: number): number {
  const scale = Math.max(1, ...ds.levels.map(Math.abs));
  return ds.levels.findIndex((l) => Math.abs(l - lambda) <= 1e-6 * scale);
}

/** Split a row-major matrix of width D + C into its output block and its condition block. */
export function splitColumns(rows: Float32Array, dim: number, cond: number): { y: Float32Array; x: Float32Array } {
  const width = dim + cond;
  const n = rows.length / width;
  const y = new Float32Array(n * dim);
  const x = new Float32Array(n * cond);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) y[i * dim + j] = rows[i * width + j];
    for (let j = 0; j < cond; j++) x[i * cond + j] = rows[i * width + dim + j];
  }
  return { y, x };
}

/** Join output and condition blocks back into rows of width D + C. */
export function joinColumns(y: Float32Array, x: Float32Array, dim: number, cond: number): Float32Array {
  const n = y.length / dim;
  const width = dim + cond;
  const out = new Float32Array(n * width);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) out[i * width + j] = y[i * dim + j];
    for (let j = 0; j < cond; j++) out[i * width + dim + j] = x[i * cond + j];
  }
  return out;
}
