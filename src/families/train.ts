/**
 * Training one small network of a family from scratch: an MLP on fixed inputs and targets, Adam
 * with a decaying learning rate on seeded mini-batches, and its wall-clock seconds (what a
 * surrogate saves when it answers at λ instead of a retrained network).
 */
import { pickRows } from '../data/arrays.js';
import { Mlp, Rng, tf, type Activation, type Scalar, type Tensor2D } from '../engine/index.js';
import { batchIndices, trainLoop } from '../baselines/common.js';
import type { LevelOutput } from './family.js';

export interface NetworkTraining {
  /** [n, inDim] row-major. */
  inputs: Float32Array;
  inDim: number;
  /** [n, targetDim] row-major (what `loss` compares the network's output with). */
  targets: Float32Array;
  targetDim: number;
  outDim: number;
  hidden: number[];
  activation?: Activation;
  steps: number;
  /** Rows per step; at least n means full batch. */
  batch: number;
  lr: number;
  /** Seeds the initial weights and the batches: each level of a family has its own. */
  seed: number;
  /** The rows of each step's batch (default: a seeded draw with replacement); `batch` rows each. */
  order?: () => Int32Array;
  /** Loss of a batch: network output [B, outDim] against targets [B, targetDim]. */
  loss: (output: Tensor2D, targets: Tensor2D) => Scalar;
}

export interface TrainedNetwork {
  net: Mlp;
  /** Wall-clock seconds of the training loop (initialisation included). */
  seconds: number;
  /** CPU seconds of this process meanwhile (on a shared machine, wall-clock seconds inflate; these do not). */
  cpuSeconds: number;
  /** Smoothed loss at the end. */
  loss: number;
}

export function trainNetwork(o: NetworkTraining): TrainedNetwork {
  const n = o.inputs.length / o.inDim;
  if (!Number.isInteger(n) || n < 1 || o.targets.length !== n * o.targetDim) {
    throw new Error(`trainNetwork: ${o.inputs.length} inputs of width ${o.inDim} and ${o.targets.length} targets of width ${o.targetDim} do not make whole, matching rows`);
  }
  const started = performance.now();
  const cpu = process.cpuUsage();
  const rng = new Rng(o.seed);
  const net = new Mlp({ inDim: o.inDim, hidden: o.hidden, outDim: o.outDim, activation: o.activation ?? 'relu', condition: { kind: 'none' } }, rng.fork('init'));
  const batches = rng.fork('batches');
  const fullBatch = !o.order && o.batch >= n;
  const allInputs = fullBatch ? tf.keep(tf.tensor2d(o.inputs, [n, o.inDim])) : null;
  const allTargets = fullBatch ? tf.keep(tf.tensor2d(o.targets, [n, o.targetDim])) : null;
  try {
    const { loss } = trainLoop({
      phase: 'train',
      steps: o.steps,
      lr: o.lr,
      vars: net.params.list(),
      started,
      loss: () => {
        if (allInputs && allTargets) return o.loss(net.apply(allInputs, null) as Tensor2D, allTargets);
        const idx = o.order ? o.order() : batchIndices(batches, n, o.batch);
        const x = tf.tensor2d(pickRows(o.inputs, o.inDim, idx), [o.batch, o.inDim]);
        const y = tf.tensor2d(pickRows(o.targets, o.targetDim, idx), [o.batch, o.targetDim]);
        return o.loss(net.apply(x, null) as Tensor2D, y);
      },
    });
    const used = process.cpuUsage(cpu);
    return { net, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6, loss };
  } finally {
    allInputs?.dispose();
    allTargets?.dispose();
  }
}

/** The network's outputs on inputs [n, inDim], as a plain array [n, outDim]. */
export function predict(net: Mlp, inputs: Float32Array, inDim: number, transform?: (output: Tensor2D) => Tensor2D): Float32Array {
  const n = inputs.length / inDim;
  const out = tf.tidy(() => {
    const y = net.apply(tf.tensor2d(inputs, [n, inDim]), null) as Tensor2D;
    return transform ? transform(y) : y;
  });
  const values = Float32Array.from(out.dataSync() as Float32Array);
  out.dispose();
  return values;
}

/** Train a network, turn its answers on the query inputs into a level's rows with `rowsOf`, free it. */
export function trainLevelOutput(o: NetworkTraining, rowsOf: (net: Mlp) => Float32Array): LevelOutput {
  const trained = trainNetwork(o);
  try {
    return { rows: rowsOf(trained.net), seconds: trained.seconds, cpuSeconds: trained.cpuSeconds, loss: trained.loss };
  } finally {
    trained.net.params.dispose();
  }
}
