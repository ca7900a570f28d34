import { Rng, type NamedArray } from '../engine/index.js';
import { classIdsOf, joinColumns, splitColumns, type Dataset } from '../data/dataset.js';
import { concatArrays, pickRows } from '../data/arrays.js';
import { fitStandardizer, standardize, type Standardizer } from '../data/standardize.js';
import { checkRowCount, classIndexMap, columnBounds, knownClasses, unknownClassError, type ModelInfo } from './model.js';

/** Anchor time t_k ∈ [0, 1]: the real λ spacing, or k/K as the reference code does. */
export function anchorTimes(lambdas: number[], equalSpacing = false): number[] {
  const k = lambdas.length - 1;
  if (equalSpacing) return lambdas.map((_, i) => i / k);
  const span = lambdas[k] - lambdas[0];
  return lambdas.map((l) => (l - lambdas[0]) / span);
}

/**
 * The interval k (t_k ≤ t ≤ t_{k+1}) holding t and the position s ∈ [0, 1] inside it; t outside
 * the range clamps to the first or last interval's end. Works on λ values or anchor times alike.
 */
export function intervalOf(times: number[], t: number): { k: number; s: number } {
  const last = times.length - 2;
  let k = 0;
  while (k < last && t > times[k + 1]) k++;
  const s = (t - times[k]) / (times[k + 1] - times[k]);
  return { k, s: Math.min(1, Math.max(0, s)) };
}

/** Per output column [min, max]. */
export function dataBounds(y: Float32Array, dim: number): [number, number][] {
  return columnBounds([y], dim, 0, dim);
}

function meanStd(v: Float32Array, width: number): { mean: number[]; std: number[] } {
  const st = fitStandardizer([v], width, 0, width);
  return { mean: st.mean, std: st.std };
}

/** How CLOT standardises a dataset: outputs always, conditions when continuous (class ids stay ids). */
export interface ClotScaling {
  y: Standardizer;
  x: Standardizer | null;
}

export function fitScaling(a: AnchorData): ClotScaling {
  return {
    y: fitStandardizer([a.pooledY], a.dim, 0, a.dim),
    x: a.cond > 0 && !a.categorical ? fitStandardizer([a.pooledX], a.cond, 0, a.cond) : null,
  };
}

/** The training anchors, split into outputs and conditions, with class indices. */
export class AnchorData {
  readonly count: number;
  readonly y: Float32Array[];
  readonly x: Float32Array[];
  readonly rows: number[];
  readonly pooledY: Float32Array;
  readonly pooledX: Float32Array;
  readonly bounds: [number, number][];
  /** Per anchor, per class (by its index in `classIds`): row indices (categorical). */
  readonly byClass: Int32Array[][];
  /** Number of classes (categorical), else 0. */
  readonly classes: number;
  /** Class id → index in `classIds`. */
  readonly classIndex: Map<number, number>;
  /** Whether row i of every anchor has the same condition (inputs queried in the same order). */
  readonly rowsCorrespond: boolean;

  constructor(
    readonly lambdas: number[],
    y: Float32Array[],
    x: Float32Array[],
    readonly dim: number,
    readonly cond: number,
    readonly categorical: boolean,
    /** The sorted distinct class ids (categorical); networks see a class as its index here. */
    readonly classIds: number[],
  ) {
    if (lambdas.length < 2) throw new Error(`a surrogate needs at least 2 anchors, got ${lambdas.length}`);
    for (let i = 1; i < lambdas.length; i++) {
      if (!(lambdas[i] > lambdas[i - 1])) throw new Error(`anchor λ values must be strictly increasing (${lambdas[i - 1]} then ${lambdas[i]})`);
    }
    this.count = lambdas.length;
    this.y = y;
    this.x = x;
    this.rows = y.map((a) => a.length / dim);
    this.rows.forEach((n, k) => {
      if (n < 2) throw new Error(`anchor λ = ${lambdas[k]} has ${n} rows; at least 2 are needed`);
    });
    this.pooledY = concatArrays(y);
    this.pooledX = concatArrays(x);
    this.bounds = dataBounds(this.pooledY, dim);
    this.classes = categorical ? classIds.length : 0;
    this.classIndex = classIndexMap(categorical ? classIds : []);
    this.byClass = x.map((xs, k) => {
      if (!categorical) return [];
      const lists: number[][] = Array.from({ length: this.classes }, () => []);
      for (let i = 0; i < this.rows[k]; i++) {
        const c = this.classIndex.get(xs[i]);
        if (c === undefined) throw new Error(`anchor λ = ${lambdas[k]}, row ${i}: class ${xs[i]} is not in the class list (${classIds.join(', ')})`);
        lists[c].push(i);
      }
      return lists.map((l) => Int32Array.from(l));
    });
    if (categorical) {
      for (let c = 0; c < this.classes; c++) {
        const present = this.byClass.map((l) => l[c].length > 0);
        if (present.some((p) => p) && !present.every((p) => p)) {
          const where = lambdas.filter((_, k) => !present[k]).join(', ');
          throw new Error(`class ${classIds[c]} has no rows at anchor λ = ${where}; every class must appear at every anchor`);
        }
      }
    }
    this.rowsCorrespond =
      cond > 0 && this.rows.every((n) => n === this.rows[0]) && x.every((xs) => xs.every((v, i) => Math.abs(v - x[0][i]) <= 1e-6 * Math.max(1, Math.abs(v))));
  }

  static fromDataset(ds: Dataset): AnchorData {
    const parts = ds.data.map((rows) => splitColumns(rows, ds.dim, ds.cond));
    return new AnchorData(ds.levels.slice(), parts.map((p) => p.y), parts.map((p) => p.x), ds.dim, ds.cond, ds.categorical, classIdsOf(ds));
  }

  /** The classes as the networks see them: each row's class id replaced by its index (categorical). */
  classIndices(x: Float32Array): Float32Array {
    return Float32Array.from(x, (id) => this.classIndex.get(id) ?? -1);
  }

  /** The same anchors in standardised units (outputs, and continuous conditions). */
  standardized(scaling: ClotScaling): AnchorData {
    const y = this.y.map((v) => standardize(v, this.dim, 0, scaling.y));
    const x = scaling.x ? this.x.map((v) => standardize(v, this.cond, 0, scaling.x!)) : this.x;
    return new AnchorData(this.lambdas, y, x, this.dim, this.cond, this.categorical, this.classIds);
  }


  /** Random rows (y, x) of anchor k. */
  sample(k: number, n: number, rng: Rng): { y: Float32Array; x: Float32Array; index: Int32Array } {
    const index = Int32Array.from({ length: n }, () => rng.int(this.rows[k]));
    return { ...this.gather(k, index), index };
  }

  gather(k: number, index: Int32Array): { y: Float32Array; x: Float32Array } {
    return { y: pickRows(this.y[k], this.dim, index), x: pickRows(this.x[k], this.cond, index) };
  }

  /**
   * For each source row of anchor k, a row of anchor k+1 under the same condition: same class
   * (categorical), the same row (when rows correspond), otherwise any row.
   */
  partnerRows(k: number, sourceIndex: Int32Array, rng: Rng): Int32Array {
    return Int32Array.from(sourceIndex, (r) => {
      if (this.categorical) {
        const list = this.byClass[k + 1][this.classIndex.get(this.x[k][r])!];
        return list[rng.int(list.length)];
      }
      if (this.rowsCorrespond) return r;
      return rng.int(this.rows[k + 1]);
    });
  }

  /** `n` first-anchor rows (y | x) of a class (or any class), drawn with `seed`. */
  firstAnchorRows(klass: number | null, n: number, seed: number): Float32Array {
    const rng = new Rng(seed);
    let pool: Int32Array;
    if (klass !== null && klass !== undefined) {
      if (!this.categorical) throw new Error('--class applies only to a model with a categorical condition');
      const c = this.classIndex.get(klass);
      if (c === undefined || this.byClass[0][c].length === 0) throw unknownClassError({ categorical: true, classes: this.classes, classIds: this.classIds }, klass);
      pool = this.byClass[0][c];
    } else {
      pool = Int32Array.from({ length: this.rows[0] }, (_, i) => i);
    }
    checkRowCount(n);
    const index = Int32Array.from({ length: n }, (_, i) => (n <= pool.length ? pool[rng.permutation(pool.length)[i]] : pool[rng.int(pool.length)]));
    const { y, x } = this.gather(0, index);
    return joinColumns(y, x, this.dim, this.cond);
  }

  toRecord(): Record<string, NamedArray> {
    const out: Record<string, NamedArray> = {};
    this.y.forEach((y, k) => {
      out[`anchors.${k}.y`] = { shape: [this.rows[k], this.dim], data: y };
      if (this.cond > 0) out[`anchors.${k}.x`] = { shape: [this.rows[k], this.cond], data: this.x[k] };
    });
    return out;
  }

  static fromRecord(record: Record<string, NamedArray>, info: ModelInfo): AnchorData {
    const ys: Float32Array[] = [];
    const xs: Float32Array[] = [];
    info.anchors.forEach((_, k) => {
      const y = record[`anchors.${k}.y`];
      if (!y || y.shape.length !== 2) throw new Error(`weights file lacks the samples of anchor ${k} (corrupt or truncated model)`);
      if (y.shape[1] !== info.dim) throw new Error(`config.json says D = ${info.dim} but the weights file holds samples of width ${y.shape[1]}: the two files disagree`);
      ys.push(y.data);
      if (info.cond > 0) {
        const x = record[`anchors.${k}.x`];
        if (!x || x.shape.length !== 2 || x.shape[0] !== y.shape[0]) throw new Error(`weights file lacks the conditions of anchor ${k} (corrupt or truncated model)`);
        if (x.shape[1] !== info.cond) throw new Error(`config.json says C = ${info.cond} but the weights file holds conditions of width ${x.shape[1]}: the two files disagree`);
        xs.push(x.data);
      } else {
        xs.push(new Float32Array(0));
      }
    });
    return new AnchorData(info.anchors.slice(), ys, xs, info.dim, info.cond, info.categorical, knownClasses(info));
  }
}


/**
 * Output bandwidth from the data: the median distance to the 7th nearest neighbour among pooled
 * anchor outputs (within class when categorical), on at most 400 points per group. Unlike Scott's
 * rule it follows thin manifolds (arcs, moons) instead of smoothing across them.
 */
export function autoBandwidth(a: AnchorData): number {
  const rng = new Rng(12345);
  const groups: Float32Array[] = [];
  const n = a.pooledY.length / a.dim;
  if (a.categorical) {
    for (const id of a.classIds) {
      const idx: number[] = [];
      for (let i = 0; i < n; i++) if (a.pooledX[i] === id) idx.push(i);
      if (idx.length) groups.push(pickRows(a.pooledY, a.dim, idx));
    }
  } else {
    groups.push(a.pooledY);
  }
  const dists: number[] = [];
  const k = 7;
  for (const g of groups) {
    const m = g.length / a.dim;
    const chosen = rng.sample(m, 400);
    for (const i of chosen) {
      const best: number[] = [];
      for (const j of chosen) {
        if (i === j) continue;
        let d2 = 0;
        for (let d = 0; d < a.dim; d++) d2 += (g[i * a.dim + d] - g[j * a.dim + d]) ** 2;
        best.push(d2);
      }
      best.sort((p, q) => p - q);
      dists.push(Math.sqrt(best[Math.min(k, best.length) - 1] ?? 0));
    }
  }
  dists.sort((p, q) => p - q);
  const median = dists[Math.floor(dists.length / 2)] ?? 0;
  const fallback = Math.max(...meanStd(a.pooledY, a.dim).std) * 0.1;
  return median > 0 ? median : fallback;
}

/** Condition bandwidth: Scott's rule on the pooled conditions (mean std × n^(−1/(C+4))). */
export function autoCondBandwidth(a: AnchorData): number {
  if (a.categorical || a.cond === 0) return 1;
  const n = a.pooledX.length / a.cond;
  const { std } = meanStd(a.pooledX, a.cond);
  const mean = std.reduce((p, q) => p + q, 0) / std.length;
  return mean * Math.pow(n, -1 / (a.cond + 4));
}

