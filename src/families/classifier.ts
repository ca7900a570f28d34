/**
 * Classifiers of 3 overlapping Gaussian classes in the plane, one MLP per level of a loss
 * hyperparameter, each from its own initialisation: label smoothing ε (cross-entropy against
 * (1 − ε)·onehot + ε/K) or the focal loss's γ (−(1 − p_y)^γ log p_y, which trades calibration for
 * attention to hard examples). The family's rows are the predicted class probabilities (D = 3) on
 * fixed query inputs (C = 2, the input itself); rows correspond across levels.
 */
import { Rng, tf, type Scalar, type Tensor2D } from '../engine/index.js';
import { mse } from '../eval/scores.js';
import type { FamilyGenerator, FamilySize, FamilySpec, LevelOutput } from './family.js';
import { predict, trainLevelOutput } from './train.js';

export const CLASSES = 3;
const INPUT_DIM = 2;
export const SMOOTHING_LEVELS = [0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5];
export const FOCAL_LEVELS = [0, 0.25, 0.5, 1, 1.5, 2, 3, 4, 5];

export interface ClassifierSettings {
  trainPoints: number;
  queryPoints: number;
  /** Fraction of training labels replaced by a random class. */
  labelNoise: number;
  hidden: number[];
  steps: number;
  batch: number;
  lr: number;
}

/** Enough points that networks from different seeds agree (the λ effect, not the seed, dominates). */
const SETTINGS: Record<FamilySize, ClassifierSettings> = {
  small: { trainPoints: 600, queryPoints: 64, labelNoise: 0, hidden: [32, 32], steps: 200, batch: 256, lr: 1e-2 },
  full: { trainPoints: 2000, queryPoints: 400, labelNoise: 0, hidden: [64, 64], steps: 600, batch: 512, lr: 5e-3 },
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

export interface ClassifierProblem {
  settings: ClassifierSettings;
  /** [n, 2] training inputs and their one-hot labels [n, 3]. */
  inputs: Float32Array;
  onehot: Float32Array;
  /** [m, 2] query inputs. */
  query: Float32Array;
}

export function classifierProblem(seed: number, size: FamilySize): ClassifierProblem {
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

/** Focal loss −(1 − p_y)^γ log p_y, mean over rows (γ = 0: cross-entropy). */
export function focalLoss(logits: Tensor2D, onehot: Tensor2D, gamma: number): Scalar {
  const logp = tf.logSoftmax(logits);
  const logpY = tf.sum(tf.mul(onehot, logp), 1);
  if (gamma === 0) return tf.neg(tf.mean(logpY)) as Scalar;
  // 1 − p_y kept off 0, where (1 − p)^γ has an infinite slope for γ < 1.
  const weight = tf.pow(tf.maximum(tf.sub(1, tf.exp(logpY)), 1e-6), gamma);
  return tf.neg(tf.mean(tf.mul(weight, logpY))) as Scalar;
}

type ClassifierLoss = (logits: Tensor2D, onehot: Tensor2D, lambda: number) => Scalar;

/** Train the classifier of level λ from `initSeed`; its rows (probabilities | input) on the query points. */
export function trainClassifier(problem: ClassifierProblem, loss: ClassifierLoss, lambda: number, initSeed: number): LevelOutput {
  const s = problem.settings;
  return trainLevelOutput(
    {
      inputs: problem.inputs,
      inDim: INPUT_DIM,
      targets: problem.onehot,
      targetDim: CLASSES,
      outDim: CLASSES,
      hidden: s.hidden,
      steps: s.steps,
      batch: s.batch,
      lr: s.lr,
      seed: initSeed,
      loss: (logits, onehot) => loss(logits, onehot, lambda),
    },
    (net) => {
      const probs = predict(net, problem.query, INPUT_DIM, (logits) => tf.softmax(logits) as Tensor2D);
      const m = s.queryPoints;
      const width = CLASSES + INPUT_DIM;
      const rows = new Float32Array(m * width);
      for (let i = 0; i < m; i++) {
        rows.set(probs.subarray(i * CLASSES, (i + 1) * CLASSES), i * width);
        rows.set(problem.query.subarray(i * INPUT_DIM, (i + 1) * INPUT_DIM), i * width + CLASSES);
      }
      return rows;
    },
  );
}

const DATA_TEXT = 'MLP classifiers of 3 overlapping Gaussian classes in the plane';
const ROWS_TEXT = 'rows: predicted class probabilities (3) | input (2) on the same query points at every level';
const OPTIMISER = 'Adam, global-norm clip 1, lr constant then linear decay to 10%';

function classifierGenerator(id: string, hyperparameter: string, levels: number[], loss: ClassifierLoss, what: string): FamilyGenerator<ClassifierProblem> {
  return {
    id,
    version: 2,
    hyperparameter,
    levels,
    dim: CLASSES,
    cond: INPUT_DIM,
    samplesPerCondition: 1,
    description: `${DATA_TEXT}, one network per ${what} from its own initialisation; ${ROWS_TEXT}`,
    settings: (size) => ({ ...SETTINGS[size], classes: CLASSES, optimiser: OPTIMISER }),
    setup: classifierProblem,
    trainLevel: (problem, lambda, initSeed) => trainClassifier(problem, loss, lambda, initSeed),
    metrics: [{ key: 'mse', label: 'row MSE', description: 'mean over query points and classes of the squared error of the predicted probabilities against the network trained at λ' }],
    score: (pred, truth) => ({ mse: mse(pred, truth, CLASSES, INPUT_DIM) }),
  };
}

export const smoothingGenerator = classifierGenerator('label-smoothing-classifier', 'ε (label smoothing)', SMOOTHING_LEVELS, smoothedCrossEntropy, 'label-smoothing level ε');
export const focalGenerator = classifierGenerator('focal-loss-classifier', 'γ (focal loss)', FOCAL_LEVELS, focalLoss, 'focal-loss exponent γ');

export const smoothingFamily: FamilySpec = {
  name: 'smoothing',
  title: 'label-smoothing classifier (class probabilities, D = 3, C = 2 inputs; anchors ε = 0, 0.2, 0.5)',
  generator: smoothingGenerator,
  anchors: [0, 0.2, 0.5],
  validation: [0.05, 0.3],
  test: [0.02, 0.1, 0.15, 0.4],
  split: 'validation ε = 0.05 and 0.3, one inside each interval; the test levels are the other four',
};

export const focalFamily: FamilySpec = {
  name: 'focal',
  title: 'focal-loss classifier (class probabilities, D = 3, C = 2 inputs; anchors γ = 0, 5)',
  generator: focalGenerator,
  anchors: [0, 5],
  validation: [1, 3],
  test: [0.25, 0.5, 1.5, 2, 4],
  split: 'validation γ = 1 and 3 inside the range; the test levels are the other five, including 0.25 and 0.5 where the probabilities move fastest',
};
