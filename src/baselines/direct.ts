/**
 * Direct baseline: an MLP regressing the output y from (x, λ) on all anchor rows. Its answer is
 * deterministic — it ignores the input y — so it can only place the conditional mean, never the
 * spread of a stochastic output: that is the weakness the benchmarks are meant to show.
 */
import type { Dataset } from '../data/dataset.js';
import { initEngine, Mlp, Rng, tf, type Activation, type NamedArray, type Scalar, type Tensor2D } from '../engine/index.js';
import { checkLambda, checkRows, trajectoryBySampling, type ModelInfo, type TrajectoryModel } from '../surrogate/model.js';
import type { StoredModel } from '../surrogate/persist.js';
import type { CommonFitOptions } from '../surrogate/progress.js';
import {
  anchorTimes,
  baseInfo,
  batchIndices,
  checkStoredSettings,
  checkTrainingSet,
  concat,
  conditionBlock,
  conditionSpec,
  conditionTensor,
  hiddenLayers,
  positiveIntOption,
  positiveNumberOption,
  INFERENCE_CHUNK,
  requireTensor,
  storedAnchorRows,
  timeOf,
  trainLoop,
  SingleNetModel,
} from './common.js';
import { destandardizeInto, fitStandardizer, standardize, type Standardizer } from '../data/standardize.js';

export interface DirectOptions extends CommonFitOptions {
  /** Adam steps (default 1000). */
  steps?: number;
  /** Rows per step (default 256). */
  batch?: number;
  hidden?: number[];
  lr?: number;
}

/** What a saved Direct model needs to rebuild itself. */
interface DirectConfig {
  hidden: number[];
  activation: Activation;
  times: number[];
  equalSpacing: boolean;
  yStd: Standardizer;
  xStd: Standardizer | null;
}

class DirectModel extends SingleNetModel<DirectConfig> implements TrajectoryModel {
  constructor(info: ModelInfo, config: DirectConfig, net: Mlp, firstRows: Float32Array) {
    super(info, config, net, firstRows, 'net.');
  }

  sample(rows: Float32Array, lambda: number): Float32Array {
    checkLambda(this.info, lambda);
    const n = checkRows(this.info, rows);
    const { dim, cond } = this.info;
    const width = dim + cond;
    const t = timeOf(this.info.anchors, this.config.times, lambda);
    const y = new Float32Array(n * dim);
    for (let start = 0; start < n; start += INFERENCE_CHUNK) {
      const m = Math.min(INFERENCE_CHUNK, n - start);
      const chunk = rows.subarray(start * width, (start + m) * width);
      const cb = conditionBlock(chunk, this.info, this.config.xStd);
      const out = tf.tidy(() => {
        const input = tf.fill([m, 1], 2 * t - 1);
        return this.net.forward(input, conditionTensor(cb, cond, m) as Tensor2D | null);
      });
      y.set(out.dataSync() as Float32Array, start * dim);
      out.dispose();
    }
    return destandardizeInto(y, rows, dim, width, this.config.yStd);
  }

  trajectory(rows: Float32Array, lambdas: number[]): Float32Array {
    return trajectoryBySampling(this, rows, lambdas);
  }

}

function buildNet(info: ModelInfo, config: DirectConfig, seed: number): Mlp {
  return new Mlp(
    { inDim: 1, hidden: config.hidden, outDim: info.dim, activation: config.activation, condition: conditionSpec(info) },
    new Rng(seed),
  );
}

export async function fitDirect(train: Dataset, options: DirectOptions = {}): Promise<TrajectoryModel> {
  await initEngine();
  checkTrainingSet(train);
  const started = performance.now();
  const seed = options.seed ?? 0;
  const steps = positiveIntOption(options.steps, 1000, 'steps');
  const batch = positiveIntOption(options.batch, 256, 'batch size');
  const lr = positiveNumberOption(options.lr, 2e-3, 'learning rate');
  const { dim, cond, categorical } = train;
  const width = dim + cond;
  const equalSpacing = options.equalSpacing ?? false;
  const config: DirectConfig = {
    hidden: hiddenLayers(options.hidden, [64, 64, 64]),
    activation: 'leaky_relu',
    times: anchorTimes(train.levels, equalSpacing),
    equalSpacing,
    yStd: fitStandardizer(train.data, width, 0, dim),
    xStd: cond > 0 && !categorical ? fitStandardizer(train.data, width, dim, cond) : null,
  };
  const info = baseInfo(train, 'direct', 'direct');
  const rng = new Rng(seed);
  const net = buildNet(info, config, rng.int(0x7fffffff));

  // Pool every anchor row with its anchor's time features.
  const ys: Float32Array[] = [];
  const xs: Float32Array[] = [];
  const ts: Float32Array[] = [];
  train.data.forEach((block, k) => {
    const n = block.length / width;
    ys.push(standardize(block, width, 0, config.yStd));
    xs.push(conditionBlock(block, info, config.xStd));
    // The time alone (no sinusoids): between anchors the regression should interpolate plainly.
    ts.push(new Float32Array(n).fill(2 * config.times[k] - 1));
  });
  const Y = concat(ys);
  const X = concat(xs);
  const T = concat(ts);
  const total = Y.length / dim;
  const bY = new Float32Array(batch * dim);
  const bX = new Float32Array(batch * cond);
  const bT = new Float32Array(batch);
  const batchRng = rng.fork('batches');

  const result = trainLoop({
    phase: 'direct',
    steps,
    lr,
    vars: net.params.list(),
    started,
    onProgress: options.onProgress,
    loss: () => {
      const idx = batchIndices(batchRng, total, batch);
      idx.forEach((r, i) => {
        bY.set(Y.subarray(r * dim, (r + 1) * dim), i * dim);
        bX.set(X.subarray(r * cond, (r + 1) * cond), i * cond);
        bT[i] = T[r];
      });
      const pred = net.forward(tf.tensor2d(bT, [batch, 1]), conditionTensor(bX, cond, batch));
      return tf.mean(tf.square(tf.sub(pred, tf.tensor2d(bY, [batch, dim])))) as Scalar;
    },
  });

  info.training = {
    fitSeconds: (performance.now() - started) / 1000,
    steps,
    batch,
    lr,
    seed,
    finalLoss: result.loss,
    skippedSteps: result.skipped,
    equalSpacing,
  };
  return new DirectModel(info, config, net, storedAnchorRows(train, rng.fork('anchor-rows')).data);
}

export function loadDirect(stored: StoredModel, tensors: Record<string, NamedArray>): TrajectoryModel {
  const info = stored.info;
  const config = stored.options as unknown as DirectConfig;
  checkStoredSettings(info, config ?? {}, 'direct');
  const net = buildNet(info, config, 0);
  try {
    net.params.loadRecord(tensors, 'net.');
  } catch (err) {
    net.params.dispose();
    throw err;
  }
  const rows = requireTensor(tensors, 'anchor_rows', info.dim + info.cond);
  return new DirectModel(info, config, net, rows.data);
}
