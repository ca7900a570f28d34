/**
 * A classifier under label smoothing: one MLP per smoothing level ε, trained with cross-entropy on
 * targets (1 − ε)·onehot + ε/K on a small, noisy 3-class problem in the plane, long enough that the
 * unsmoothed network overfits (saturated probabilities). The family's rows are the predicted class
 * probabilities (D = 3) on fixed query inputs (C = 2, the input itself); rows correspond.
 */
import { Rng, tf, type Scalar, type Tensor2D } from '../engine/index.js';
import { mse } from '../eval/scores.js';
import type { FamilyGenerator, FamilySize, FamilySpec, LevelOutput } from './family.js';
import { predict, trainNetwork } from './train.js';

export const SMOOTHING_LEVELS = [0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5];
export const CLASSES = 3;
const INPUT_DIM = 2;

interface SmoothingSettings {
  trainPoints: number;
  queryPoints: number;
  /** Fraction of training labels replaced by a random class. */
  labelNoise: number;
  hidden: number[];
  steps: number;
  lr: number;
}

const SETTINGS: Record<FamilySize, SmoothingSettings> = {
  small: { trainPoints: 120, queryPoints: 64, labelNoise: 0.08, hidden: [32, 32], steps: 300, lr: 1e-2 },
  full: { trainPoints: 300, queryPoints: 400, labelNoise: 0.08, hidden: [64, 64], steps: 1000, lr: 8e-3 },
};

/** Class centres and spreads: overlapping clusters, one wider than the others. */
const CENTRES: [number, number][] = [
  [-1, 0],
  [1, 0.2],
  [0, 1.4],
];
const SPREADS = [0.7, 0.55, 0.9];

/** A labelled point: a class drawn uniformly, its input from that class's Gaussian. */
function drawPoint(rng: Rng, out: Float32Array, at: number): number {
  const c = rng.int(CLASSES);
  out[at] = CENTRES[c][0] + SPREADS[c] * rng.normal();
  out[at + 1] = CENTRES[c][1] + SPREADS[c] * rng.normal();
  return c;
}

export interface SmoothingProblem {
  settings: SmoothingSettings;
  /** [n, 2] training inputs and their (noisy) one-hot labels [n, 3]. */
  inputs: Float32Array;
  onehot: Float32Array;
  /** [m, 2] query inputs. */
  query: Float32Array;
}

export function smoothingProblem(seed: number, size: FamilySize): SmoothingProblem {
  const settings = SETTINGS[size];
  const rng = new Rng(seed).fork('classifier-data');
  const n = settings.trainPoints;
  const inputs = new Float32Array(n * INPUT_DIM);
  const onehot = new Float32Array(n * CLASSES);
  for (let i = 0; i < n; i++) {
    let c = drawPoint(rng, inputs, i * INPUT_DIM);
    if (rng.next() < settings.labelNoise) c = rng.int(CLASSES);
    onehot[i * CLASSES + c] = 1;
  }
  const query = new Float32Array(settings.queryPoints * INPUT_DIM);
  for (let i = 0; i < settings.queryPoints; i++) drawPoint(rng, query, i * INPUT_DIM);
  return { settings, inputs, onehot, query };
}

/** Cross-entropy against label-smoothed targets (1 − ε)·onehot + ε/K, mean over rows. */
export function smoothedCrossEntropy(logits: Tensor2D, onehot: Tensor2D, epsilon: number): Scalar {
  const k = logits.shape[1];
  const target = tf.add(tf.mul(onehot, 1 - epsilon), epsilon / k);
  return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1))) as Scalar;
}

/** Train the classifier of smoothing level ε from `initSeed`; its rows (probabilities | input) on the query points. */
export function trainClassifier(problem: SmoothingProblem, epsilon: number, initSeed: number): LevelOutput {
  const s = problem.settings;
  const trained = trainNetwork({
    inputs: problem.inputs,
    inDim: INPUT_DIM,
    targets: problem.onehot,
    targetDim: CLASSES,
    outDim: CLASSES,
    hidden: s.hidden,
    steps: s.steps,
    batch: s.trainPoints,
    lr: s.lr,
    seed: initSeed,
    loss: (logits, onehot) => smoothedCrossEntropy(logits, onehot, epsilon),
  });
  try {
    const probs = predict(trained.net, problem.query, INPUT_DIM, (logits) => tf.softmax(logits) as Tensor2D);
    const m = s.queryPoints;
    const width = CLASSES + INPUT_DIM;
    const rows = new Float32Array(m * width);
    for (let i = 0; i < m; i++) {
      rows.set(probs.subarray(i * CLASSES, (i + 1) * CLASSES), i * width);
      rows.set(problem.query.subarray(i * INPUT_DIM, (i + 1) * INPUT_DIM), i * width + CLASSES);
    }
    return { rows, seconds: trained.seconds, loss: trained.loss };
  } finally {
    trained.net.params.dispose();
  }
}

export const smoothingGenerator: FamilyGenerator<SmoothingProblem> = {
  id: 'label-smoothing-classifier',
  version: 1,
  hyperparameter: 'ε (label smoothing)',
  levels: SMOOTHING_LEVELS,
  dim: CLASSES,
  cond: INPUT_DIM,
  samplesPerCondition: 1,
  description:
    'MLP classifiers of 3 overlapping Gaussian classes in the plane (8% label noise, few training points, trained full-batch long enough to overfit), ' +
    'one network per label-smoothing level ε from its own initialisation; rows: predicted class probabilities (3) | input (2) on the same query points at every level',
  settings: (size) => ({ ...SETTINGS[size], classes: CLASSES, optimiser: 'Adam full batch, global-norm clip 1, lr constant then linear decay to 10%' }),
  setup: smoothingProblem,
  trainLevel: trainClassifier,
  metrics: [{ key: 'mse', label: 'row MSE', description: 'mean over query points and classes of the squared error of the predicted probabilities against the network trained at ε' }],
  score: (pred, truth) => ({ mse: mse(pred, truth, CLASSES, INPUT_DIM) }),
};

export const smoothingFamily: FamilySpec = {
  name: 'smoothing',
  title: 'label-smoothing classifier (class probabilities, D = 3, C = 2 inputs; anchors ε = 0, 0.2, 0.5)',
  generator: smoothingGenerator,
  anchors: [0, 0.2, 0.5],
  validation: [0.05, 0.3],
  test: [0.02, 0.1, 0.15, 0.4],
  split: 'validation ε = 0.05 and 0.3, one inside each interval; the test levels are the other four, including 0.02 and 0.1 where the overfitted network of ε = 0 loses its saturation fastest',
};
