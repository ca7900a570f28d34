/**
 * Quantile forecasters: one MLP per quantile level τ, trained with the pinball loss to forecast the
 * next 3 steps of a generated series from its last 12 (series.ts). Every network sees the same
 * training windows; each has its own initialisation and batch order. The family's rows are the
 * networks' forecasts on the same query windows (one row per window: D = 3 forecasts, C = 12 history
 * values), so rows correspond across levels.
 */
import { Rng, tf, type Scalar, type Tensor2D } from '../engine/index.js';
import { mse } from '../eval/scores.js';
import type { FamilyGenerator, FamilySize, FamilySpec, LevelOutput } from './family.js';
import { forecastWindows, generateSeries, type Windows } from './series.js';
import { predict, trainLevelOutput } from './train.js';

export const QUANTILE_LEVELS = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];
export const HISTORY = 12;
export const HORIZON = 3;

interface QuantileSettings {
  /** Training windows (from the start of the series). */
  trainWindows: number;
  /** Query windows (the rows of the family), right after the training stretch. */
  queryWindows: number;
  hidden: number[];
  steps: number;
  batch: number;
  lr: number;
}

const SETTINGS: Record<FamilySize, QuantileSettings> = {
  small: { trainWindows: 1500, queryWindows: 48, hidden: [32, 32], steps: 150, batch: 128, lr: 8e-3 },
  full: { trainWindows: 5000, queryWindows: 400, hidden: [64, 64], steps: 600, batch: 512, lr: 4e-3 },
};

/** Pinball (quantile) loss at level τ, mean over rows and horizons. */
export function pinballLoss(forecast: Tensor2D, target: Tensor2D, tau: number): Scalar {
  const e = tf.sub(target, forecast);
  return tf.mean(tf.maximum(tf.mul(e, tau), tf.mul(e, tau - 1))) as Scalar;
}

/**
 * Network features of a window: the history relative to its last value in units of the typical
 * one-step change, and the last value standardised (trend and season stay visible, the level does
 * not have to be extrapolated). Targets are relative to the last value in the same units.
 */
interface Scaling {
  step: number;
  mean: number;
  std: number;
}

function scalingOf(w: Windows): Scaling {
  let sd = 0;
  let s = 0;
  let sq = 0;
  const H = w.historyLength;
  for (let i = 0; i < w.n; i++) {
    const last = w.history[i * H + H - 1];
    sd += (w.history[i * H + H - 1] - w.history[i * H + H - 2]) ** 2;
    s += last;
    sq += last * last;
  }
  const mean = s / w.n;
  return { step: Math.sqrt(sd / w.n), mean, std: Math.sqrt(Math.max(1e-12, sq / w.n - mean * mean)) };
}

function features(w: Windows, sc: Scaling): Float32Array {
  const H = w.historyLength;
  const out = new Float32Array(w.n * H);
  for (let i = 0; i < w.n; i++) {
    const last = w.history[i * H + H - 1];
    for (let j = 0; j < H - 1; j++) out[i * H + j] = (w.history[i * H + j] - last) / sc.step;
    out[i * H + H - 1] = (last - sc.mean) / sc.std;
  }
  return out;
}

function relativeTargets(w: Windows, sc: Scaling): Float32Array {
  const H = w.historyLength;
  const F = w.horizon;
  const out = new Float32Array(w.n * F);
  for (let i = 0; i < w.n; i++) {
    const last = w.history[i * H + H - 1];
    for (let j = 0; j < F; j++) out[i * F + j] = (w.targets[i * F + j] - last) / sc.step;
  }
  return out;
}

/** The training and query windows of a seed: the same for every level. */
export interface QuantileProblem {
  settings: QuantileSettings;
  series: Float64Array;
  train: Windows;
  query: Windows;
  scaling: Scaling;
  trainFeatures: Float32Array;
  trainTargets: Float32Array;
  queryFeatures: Float32Array;
}

export function quantileProblem(seed: number, size: FamilySize): QuantileProblem {
  const settings = SETTINGS[size];
  const length = HISTORY + settings.trainWindows + settings.queryWindows + 2 * HORIZON;
  const series = generateSeries(new Rng(seed).fork('series'), length);
  const train = forecastWindows(series, HISTORY, HORIZON, HISTORY, HISTORY + settings.trainWindows);
  // Query windows start after the last training target, so no query target was seen in training.
  const q0 = HISTORY + settings.trainWindows + HORIZON;
  const query = forecastWindows(series, HISTORY, HORIZON, q0, q0 + settings.queryWindows);
  const scaling = scalingOf(train);
  return {
    settings,
    series,
    train,
    query,
    scaling,
    trainFeatures: features(train, scaling),
    trainTargets: relativeTargets(train, scaling),
    queryFeatures: features(query, scaling),
  };
}

/** Train the τ forecaster of a problem from `initSeed`; its rows (forecasts | history) on the query windows. */
export function trainForecaster(problem: QuantileProblem, tau: number, initSeed: number): LevelOutput {
  const s = problem.settings;
  return trainLevelOutput(
    {
      inputs: problem.trainFeatures,
      inDim: HISTORY,
      targets: problem.trainTargets,
      targetDim: HORIZON,
      outDim: HORIZON,
      hidden: s.hidden,
      steps: s.steps,
      batch: s.batch,
      lr: s.lr,
      seed: initSeed,
      loss: (out, target) => pinballLoss(out, target, tau),
    },
    (net) => {
      const rel = predict(net, problem.queryFeatures, HISTORY);
      const q = problem.query;
      const width = HORIZON + HISTORY;
      const rows = new Float32Array(q.n * width);
      for (let i = 0; i < q.n; i++) {
        const last = q.history[i * HISTORY + HISTORY - 1];
        for (let j = 0; j < HORIZON; j++) rows[i * width + j] = last + problem.scaling.step * rel[i * HORIZON + j];
        rows.set(q.history.subarray(i * HISTORY, (i + 1) * HISTORY), i * width + HORIZON);
      }
      return rows;
    },
  );
}

export const quantileGenerator: FamilyGenerator<QuantileProblem> = {
  id: 'quantile-forecasters',
  version: 2,
  hyperparameter: 'τ (quantile level of the pinball loss)',
  levels: QUANTILE_LEVELS,
  dim: HORIZON,
  cond: HISTORY,
  samplesPerCondition: 1,
  description:
    `MLP forecasters of the next ${HORIZON} steps from the last ${HISTORY} of a generated series (trend, daily and weekly seasonality, ` +
    'AR(1) disturbance with heteroscedastic, volatility-clustered, right-skewed log-normal innovations and rare Pareto spikes), ' +
    'one network per quantile level τ trained with the pinball loss from its own initialisation; rows: forecasts (3) | history (12) on the same query windows at every level',
  settings: (size) => ({ ...SETTINGS[size], history: HISTORY, horizon: HORIZON, optimiser: 'Adam, global-norm clip 1, lr constant then linear decay to 10%' }),
  setup: quantileProblem,
  trainLevel: trainForecaster,
  metrics: [{ key: 'mse', label: 'row MSE', description: 'mean over query windows and the 3 forecast steps of the squared error against the network trained at τ' }],
  score: (pred, truth) => ({ mse: mse(pred, truth, HORIZON, HISTORY) }),
};

/** Two anchors (the extremes); validation 0.25, 0.75; the other five levels test. */
export const quantileFamily: FamilySpec = {
  name: 'quantile',
  title: 'quantile forecasters (pinball loss, D = 3 steps, C = 12 history; anchors τ = 0.01, 0.99)',
  generator: quantileGenerator,
  anchors: [0.01, 0.99],
  validation: [0.25, 0.75],
  test: [0.05, 0.1, 0.5, 0.9, 0.95],
  split:
    'validation τ = 0.25 and 0.75 sit inside the range on both sides of the median, so selection sees the asymmetric timing of the path ' +
    '(slow start, late jump); the test levels cover the slow start (0.05, 0.1), the middle (0.5) and the late jump (0.9, 0.95)',
};

/** The variant that also anchors the median: the data then shows when the jump happens. */
export const quantile3Family: FamilySpec = {
  name: 'quantile3',
  title: 'quantile forecasters (pinball loss, D = 3 steps, C = 12 history; anchors τ = 0.01, 0.5, 0.99)',
  generator: quantileGenerator,
  anchors: [0.01, 0.5, 0.99],
  validation: [0.25, 0.75],
  test: [0.05, 0.1, 0.9, 0.95],
  split: 'validation τ = 0.25 and 0.75, one inside each interval; the test levels are the remaining four, near the extremes where the path bends most',
};
