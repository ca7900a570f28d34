/**
 * Pieces every baseline shares: checking the training set, anchor times, per-column
 * standardisation, stored first-anchor rows, the λ → t map, and the network's condition input.
 */
import { concatArrays } from '../data/arrays.js';
import { classIdsOf, MAX_CLASSES, type Dataset } from '../data/dataset.js';
import { checkStandardizer, standardize, type Standardizer } from '../data/standardize.js';
import { Adam, Mlp, Rng, tf, learningRate, type ConditionSpec, type NamedArray, type Scalar, type Tensor2D, type Variable } from '../engine/index.js';
import { checkRowCount, classIndexMap, columnBounds, knownClasses, unknownClassError, type ModelInfo, type ModelKind } from '../surrogate/model.js';
import type { ProgressHook } from '../surrogate/progress.js';
import { writeModelDir } from '../surrogate/persist.js';
import { intervalOf } from '../surrogate/anchors.js';

export { anchorTimes } from '../surrogate/anchors.js';

/** Most first-anchor rows a model keeps for `anchorRows` (a seeded subsample beyond this). */
export const MAX_STORED_ROWS = 2000;

/** Check a training set holds usable anchors; every problem is one clear error. */
export function checkTrainingSet(train: Dataset): void {
  const { levels, data, dim, cond } = train;
  if (!(dim >= 1)) throw new Error(`training set needs at least one output column, got dim = ${dim}`);
  if (!(cond >= 0)) throw new Error(`training set has an invalid condition width ${cond}`);
  if (levels.length < 2) throw new Error(`training set needs at least 2 anchor levels, got ${levels.length}`);
  if (data.length !== levels.length) throw new Error(`training set has ${levels.length} levels but ${data.length} data blocks`);
  for (let k = 1; k < levels.length; k++) {
    if (!(levels[k] > levels[k - 1])) throw new Error(`anchor levels must be strictly increasing, got ${levels[k - 1]} then ${levels[k]}`);
  }
  const width = dim + cond;
  if (train.categorical && cond !== 1) throw new Error(`a categorical condition must be one column, got ${cond}`);
  const known = train.categorical && train.classIds ? new Set(train.classIds) : null;
  data.forEach((block, k) => {
    if (block.length === 0 || block.length % width !== 0) throw new Error(`anchor λ = ${levels[k]} has no rows or a row width other than ${width}`);
    for (let i = 0; i < block.length; i++) {
      if (!Number.isFinite(block[i])) throw new Error(`anchor λ = ${levels[k]}: row ${Math.floor(i / width)}, column ${i % width} is not finite`);
    }
    if (train.categorical) {
      for (let i = dim; i < block.length; i += width) {
        const c = block[i];
        if (!Number.isInteger(c) || c < 0) throw new Error(`anchor λ = ${levels[k]}: class ${c} is not an integer ≥ 0`);
        if (known && !known.has(c)) throw new Error(`anchor λ = ${levels[k]}: class ${c} is not in the training set's class list`);
      }
    }
  });
  if (train.categorical && classIdsOf(train).length > MAX_CLASSES) throw new Error(`the training set holds more than ${MAX_CLASSES} classes`);
}

/** Anchor time of a λ (piecewise linear through the anchors, so it honours either spacing). */
export function timeOf(anchors: number[], times: number[], lambda: number): number {
  const { k, s } = intervalOf(anchors, lambda);
  return times[k] + s * (times[k + 1] - times[k]);
}

type ConditionInfo = Pick<ModelInfo, 'dim' | 'cond' | 'categorical' | 'classes' | 'classIds'>;

/**
 * The condition block a network sees: each row's class index among the model's known classes
 * (categorical; ids were checked by checkRows or come from the training set), standardised x otherwise.
 */
export function conditionBlock(rows: Float32Array, info: ConditionInfo, st: Standardizer | null): Float32Array {
  const { dim, cond, categorical } = info;
  const width = dim + cond;
  if (cond === 0) return new Float32Array(0);
  if (categorical) {
    const index = classIndexMap(knownClasses(info));
    const n = rows.length / width;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const c = index.get(rows[i * width + dim]);
      if (c === undefined) throw unknownClassError(info, rows[i * width + dim], `row ${i}: `);
      out[i] = c;
    }
    return out;
  }
  return standardize(rows, width, dim, st!);
}

export function conditionSpec(info: Pick<ModelInfo, 'cond' | 'categorical' | 'classes'>): ConditionSpec {
  if (info.cond === 0) return { kind: 'none' };
  if (info.categorical) return { kind: 'categorical', classes: info.classes };
  return { kind: 'continuous', dim: info.cond };
}

/** Condition tensor [n, C] for a network (null when unconditional); call inside tf.tidy. */
export function conditionTensor(block: Float32Array, cond: number, n: number): Tensor2D | null {
  if (cond === 0) return null;
  return tf.tensor2d(block, [n, cond]);
}

/** The info every baseline reports: sizes, anchors and per-column bounds over the anchor data. */
export function baseInfo(train: Dataset, kind: ModelKind, method: string): ModelInfo {
  const width = train.dim + train.cond;
  const bounds = columnBounds(train.data, width, 0, train.dim);
  const classIds = classIdsOf(train);
  return {
    kind,
    method,
    dim: train.dim,
    cond: train.cond,
    categorical: train.categorical,
    classes: classIds.length,
    ...(train.categorical ? { classIds } : {}),
    anchors: train.levels.slice(),
    bounds,
    ...(train.cond > 0 && !train.categorical ? { condBounds: columnBounds(train.data, width, train.dim, train.cond) } : {}),
  };
}

/** Up to MAX_STORED_ROWS first-anchor rows (a seeded subsample when there are more). */
export function storedAnchorRows(train: Dataset, rng: Rng): NamedArray {
  const width = train.dim + train.cond;
  const first = train.data[0];
  const n = first.length / width;
  if (n <= MAX_STORED_ROWS) return { shape: [n, width], data: Float32Array.from(first) };
  const idx = Array.from(rng.sample(n, MAX_STORED_ROWS)).sort((a, b) => a - b);
  const out = new Float32Array(idx.length * width);
  idx.forEach((r, i) => out.set(first.subarray(r * width, (r + 1) * width), i * width));
  return { shape: [idx.length, width], data: out };
}

/**
 * `n` of the stored first-anchor rows of a class (all rows when `klass` is null), drawn with
 * `seed`: without repetition while they last, then further shuffled passes.
 */
export function drawAnchorRows(info: ModelInfo, stored: Float32Array, klass: number | null, n: number, seed: number): Float32Array {
  const width = info.dim + info.cond;
  checkRowCount(n);
  const total = stored.length / width;
  let pool: number[];
  if (klass === null) {
    pool = Array.from({ length: total }, (_, i) => i);
  } else {
    if (!info.categorical) throw new Error('this model has no categorical condition; ask for anchor rows with class null');
    if (!knownClasses(info).includes(klass)) throw unknownClassError(info, klass);
    pool = [];
    for (let i = 0; i < total; i++) if (stored[i * width + info.dim] === klass) pool.push(i);
    if (pool.length === 0) throw new Error(`the model stores no first-anchor rows of class ${klass}`);
  }
  const rng = new Rng(seed);
  const out = new Float32Array(n * width);
  let filled = 0;
  while (filled < n) {
    const perm = rng.permutation(pool.length);
    for (let p = 0; p < perm.length && filled < n; p++, filled++) {
      const r = pool[perm[p]];
      out.set(stored.subarray(r * width, (r + 1) * width), filled * width);
    }
  }
  return out;
}

/** Rows per batch of inference, so that tensors stay small whatever the input size. */
export const INFERENCE_CHUNK = 4096;

/** A named tensor out of a weights file, with its expected shape checked. */
export function requireTensor(tensors: Record<string, NamedArray>, name: string, width?: number): NamedArray {
  const t = tensors[name];
  if (!t) throw new Error(`weights file lacks '${name}'`);
  if (width !== undefined && (t.shape.length !== 2 || t.shape[1] !== width)) throw new Error(`'${name}' has shape [${t.shape}], expected [*, ${width}]`);
  return t;
}

/** Prefix every name of a record. */
export function prefixed(prefix: string, record: Record<string, NamedArray>): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const [k, v] of Object.entries(record)) out[prefix + k] = v;
  return out;
}


export interface TrainLoopOptions {
  phase: string;
  steps: number;
  lr: number;
  vars: Variable[];
  /** The loss of step `step` (build its batch here; runs inside tf.tidy). */
  loss: (step: number) => Scalar;
  onProgress?: ProgressHook;
  /** performance.now() at the start of the whole fit, for elapsed seconds. */
  started: number;
  clipNorm?: number;
}

/**
 * Adam steps with a decaying learning rate; a step with a non-finite loss or gradient is skipped.
 * Returns the smoothed final loss. Every step runs inside tf.tidy so memory stays flat.
 */
export function trainLoop(o: TrainLoopOptions): { loss: number; skipped: number } {
  const opt = new Adam({ lr: o.lr, clipNorm: o.clipNorm ?? 1 });
  let smooth = NaN;
  let skipped = 0;
  const every = Math.max(1, Math.floor(o.steps / 20));
  try {
    for (let step = 0; step < o.steps; step++) {
      opt.lr = learningRate(o.lr, step, o.steps);
      const r = tf.tidy(() => opt.minimize(() => o.loss(step), o.vars));
      if (!r.finite) {
        skipped++;
        if (skipped > Math.max(10, o.steps / 10)) throw new Error(`${o.phase}: training diverged (${skipped} steps with a non-finite loss)`);
        continue;
      }
      smooth = Number.isNaN(smooth) ? r.loss : 0.95 * smooth + 0.05 * r.loss;
      if (o.onProgress && ((step + 1) % every === 0 || step === o.steps - 1)) {
        o.onProgress({ phase: o.phase, step: step + 1, total: o.steps, losses: { loss: smooth }, elapsedSeconds: (performance.now() - o.started) / 1000 });
      }
    }
  } finally {
    opt.dispose();
  }
  return { loss: smooth, skipped };
}

/** Batch row indices for one step: a seeded draw with replacement. */
export function batchIndices(rng: Rng, n: number, batch: number): Int32Array {
  const out = new Int32Array(batch);
  for (let i = 0; i < batch; i++) out[i] = rng.int(n);
  return out;
}

/** Width of `timeFeatures`. */
export const TIME_FEATURES = 5;

/** Features of a time in [0, 1]: the time itself and low-frequency sinusoids, so a small net bends easily in time. */
export function timeFeatures(t: number, out: Float32Array, at: number): void {
  out[at] = 2 * t - 1;
  out[at + 1] = Math.sin(Math.PI * t);
  out[at + 2] = Math.cos(Math.PI * t);
  out[at + 3] = Math.sin(2 * Math.PI * t);
  out[at + 4] = Math.cos(2 * Math.PI * t);
}

/** Concatenate float blocks. */
export const concat = (blocks: Float32Array[]): Float32Array => concatArrays(blocks);

/** An integer option ≥ 1 (the fallback when unset); anything else is a clear error. */
export function positiveIntOption(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  return v;
}

/** A finite option > 0 (the fallback when unset). */
export function positiveNumberOption(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`${name} must be a positive number, got ${v}`);
  return v;
}

/** Hidden layer widths: a non-empty list of positive integers. */
export function hiddenLayers(value: number[] | undefined, fallback: number[]): number[] {
  const v = value ?? fallback;
  if (!Array.isArray(v) || v.length === 0 || v.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new Error(`hidden layers must be a non-empty list of positive integers, got ${JSON.stringify(v)}`);
  }
  return v.slice();
}

/** Check the settings a saved baseline keeps in config.json agree with its info; one clear error otherwise. */
export function checkStoredSettings(
  info: ModelInfo,
  config: { hidden?: unknown; activation?: unknown; times?: unknown; yStd?: Standardizer; xStd?: Standardizer | null },
  what: string,
): void {
  const bad = (why: string) => new Error(`${what} model: config.json ${why}`);
  if (!Array.isArray(config.hidden) || config.hidden.length === 0 || config.hidden.some((w) => !Number.isInteger(w) || w < 1)) throw bad('lacks valid hidden layer widths');
  if (!['relu', 'leaky_relu', 'softplus', 'tanh'].includes(config.activation as string)) throw bad(`names an unknown activation '${String(config.activation)}'`);
  const times = config.times;
  if (!Array.isArray(times) || times.length !== info.anchors.length || times.some((t, k) => typeof t !== 'number' || (k > 0 && !(t > times[k - 1])))) {
    throw bad(`needs ${info.anchors.length} increasing anchor times`);
  }
  checkStandardizer(config.yStd, info.dim, `${what} model: config.json output columns`);
  if (info.cond > 0 && !info.categorical) checkStandardizer(config.xStd, info.cond, `${what} model: config.json condition columns`);
}

/**
 * What Direct and the flow baselines share: one network, its settings and the stored first-anchor
 * rows — drawing anchor rows, saving (weights under `weightsPrefix`) and disposing.
 */
export abstract class SingleNetModel<Config extends object> {
  constructor(
    readonly info: ModelInfo,
    protected readonly config: Config,
    protected readonly net: Mlp,
    protected readonly firstRows: Float32Array,
    private readonly weightsPrefix: string,
  ) {}

  anchorRows(klass: number | null, n: number, seed: number): Float32Array {
    return drawAnchorRows(this.info, this.firstRows, klass, n, seed);
  }

  async save(path: string): Promise<void> {
    const width = this.info.dim + this.info.cond;
    writeModelDir(path, { info: this.info, options: { ...this.config } as Record<string, unknown> }, {
      ...prefixed(this.weightsPrefix, this.net.params.toRecord()),
      anchor_rows: { shape: [this.firstRows.length / width, width], data: this.firstRows },
    });
  }

  dispose(): void {
    this.net.params.dispose();
  }
}
