/**
 * Stochastic policies under an entropy weight: one Gaussian policy network per β, each from its own
 * initialisation, trained on a contextual bandit whose reward has two optima per state (a log-mixture
 * of two bumps whose weights depend on the state). The max-entropy objective E[r(s, a)] + β·H(π)
 * makes a small-β policy commit to one optimum with a narrow spread and a large-β policy widen and
 * drift between them, at a β that depends on the state. The family's rows are 10 actions drawn from
 * each policy at each fixed query state (D = 2 actions, C = 3 state dims): the output is a
 * distribution per condition, as in cancer_reward.
 */
import { Rng, tf, type Scalar, type Tensor2D } from '../engine/index.js';
import { groupedScores } from '../eval/scores.js';
import type { FamilyGenerator, FamilySize, FamilySpec, LevelOutput } from './family.js';
import { predict, trainLevelOutput } from './train.js';

export const ENTROPY_LEVELS = [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5];
export const ACTIONS = 2;
export const STATE_DIM = 3;
/** Actions drawn per query state. */
export const SAMPLES_PER_STATE = 10;
/** Variance of each reward bump. */
const BUMP_VARIANCE = 0.1;
/** Bounds of log σ (tanh-squashed network output). */
const LOG_STD_MIN = -4;
const LOG_STD_MAX = 2;

interface PolicySettings {
  queryStates: number;
  hidden: number[];
  steps: number;
  /** States per step (fresh uniform draws), each with `noiseDraws` reparameterised actions. */
  batch: number;
  noiseDraws: number;
  lr: number;
}

const SETTINGS: Record<FamilySize, PolicySettings> = {
  small: { queryStates: 20, hidden: [32, 32], steps: 150, batch: 128, noiseDraws: 4, lr: 6e-3 },
  full: { queryStates: 100, hidden: [64, 64], steps: 600, batch: 256, noiseDraws: 4, lr: 3e-3 },
};

/** The two optima of state s and the weight of the first: the bumps sit either side of (s0, s1), the better one depends on s. */
export function rewardShape(s: ArrayLike<number>, at = 0): { m1: [number, number]; m2: [number, number]; w1: number } {
  const [s0, s1, s2] = [s[at], s[at + 1], s[at + 2]];
  const spread = 0.8 + 0.3 * s2;
  return {
    m1: [s0 + spread, 0.5 * s1],
    m2: [s0 - spread, 0.5 * s1 + 0.4 * s2],
    w1: 1 / (1 + Math.exp(-(5 * s2 + 3 * s0))),
  };
}

/** The reward r(s, a) = log(w1·N(a; m1, v) + (1 − w1)·N(a; m2, v)) (up to a constant), for checks and docs. */
export function reward(s: ArrayLike<number>, a: ArrayLike<number>): number {
  const { m1, m2, w1 } = rewardShape(s);
  const d1 = (a[0] - m1[0]) ** 2 + (a[1] - m1[1]) ** 2;
  const d2 = (a[0] - m2[0]) ** 2 + (a[1] - m2[1]) ** 2;
  const l1 = Math.log(w1) - d1 / (2 * BUMP_VARIANCE);
  const l2 = Math.log(1 - w1) - d2 / (2 * BUMP_VARIANCE);
  const m = Math.max(l1, l2);
  return m + Math.log(Math.exp(l1 - m) + Math.exp(l2 - m));
}

export interface PolicyProblem {
  settings: PolicySettings;
  /** [m, 3] query states. */
  query: Float32Array;
  /** Per training step, the batch of states and the bumps' parameters are drawn from this seed. */
  seed: number;
}

export function policyProblem(seed: number, size: FamilySize): PolicyProblem {
  const settings = SETTINGS[size];
  const rng = new Rng(seed).fork('policy-states');
  return { settings, query: rng.uniforms(settings.queryStates * STATE_DIM, -1, 1), seed };
}

/**
 * Negative max-entropy objective for a batch: −mean over states and draws of r(s, μ + σ ε) − β·mean Σ log σ.
 * `out` is the network's [B, 4] output (μ, raw log σ); `bumps` is [B, 6] = (m1, m2, log w1, log w2).
 */
export function entropyRegularisedLoss(out: Tensor2D, bumps: Tensor2D, noise: Tensor2D[], beta: number): Scalar {
  const mu = tf.slice(out, [0, 0], [-1, ACTIONS]);
  const logStd = squashLogStd(tf.slice(out, [0, ACTIONS], [-1, ACTIONS]) as Tensor2D);
  const std = tf.exp(logStd);
  const m1 = tf.slice(bumps, [0, 0], [-1, 2]);
  const m2 = tf.slice(bumps, [0, 2], [-1, 2]);
  const logW1 = tf.slice(bumps, [0, 4], [-1, 1]);
  const logW2 = tf.slice(bumps, [0, 5], [-1, 1]);
  const rewards = noise.map((eps) => {
    const a = tf.add(mu, tf.mul(std, eps));
    const l1 = tf.sub(logW1, tf.div(tf.sum(tf.square(tf.sub(a, m1)), 1, true), 2 * BUMP_VARIANCE));
    const l2 = tf.sub(logW2, tf.div(tf.sum(tf.square(tf.sub(a, m2)), 1, true), 2 * BUMP_VARIANCE));
    return tf.mean(tf.logSumExp(tf.concat([l1, l2], 1), 1));
  });
  const meanReward = tf.div(tf.addN(rewards), rewards.length);
  const entropy = tf.mean(tf.sum(logStd, 1));
  return tf.neg(tf.add(meanReward, tf.mul(entropy, beta))) as Scalar;
}

/** log σ squashed into [LOG_STD_MIN, LOG_STD_MAX]. */
function squashLogStd(raw: Tensor2D): Tensor2D {
  const mid = (LOG_STD_MAX + LOG_STD_MIN) / 2;
  const half = (LOG_STD_MAX - LOG_STD_MIN) / 2;
  return tf.add(mid, tf.mul(half, tf.tanh(raw))) as Tensor2D;
}

/** Train the policy of entropy weight β from `initSeed`; 10 actions per query state, drawn with a seed of its own. */
export function trainPolicy(problem: PolicyProblem, beta: number, initSeed: number): LevelOutput {
  const s = problem.settings;
  // Training states and noise come from the family seed (the same environment for every level);
  // the network's initialisation and its action draws from the level's own seed.
  const steps = s.steps;
  const states = new Rng(problem.seed).fork('policy-train-states').uniforms(steps * s.batch * STATE_DIM, -1, 1);
  const bumps = new Float32Array(steps * s.batch * 6);
  for (let i = 0; i < steps * s.batch; i++) {
    const { m1, m2, w1 } = rewardShape(states, i * STATE_DIM);
    bumps.set([m1[0], m1[1], m2[0], m2[1], Math.log(w1), Math.log(1 - w1)], i * 6);
  }
  const noiseRng = new Rng(initSeed).fork('reparameterisation');
  let step = 0;
  return trainLevelOutput(
    {
      inputs: states,
      inDim: STATE_DIM,
      targets: bumps,
      targetDim: 6,
      outDim: 2 * ACTIONS,
      hidden: s.hidden,
      steps,
      batch: s.batch,
      lr: s.lr,
      seed: initSeed,
      // Consecutive blocks of the pre-drawn states, one block per step: every level sees the same states.
      order: () => {
        const idx = new Int32Array(s.batch);
        for (let k = 0; k < s.batch; k++) idx[k] = (step * s.batch + k) % (steps * s.batch);
        step++;
        return idx;
      },
      loss: (out, target) => {
        const noise = Array.from({ length: s.noiseDraws }, () => tf.tensor2d(noiseRng.normals(s.batch * ACTIONS), [s.batch, ACTIONS]));
        return entropyRegularisedLoss(out, target, noise, beta);
      },
    },
    (net) => {
      const m = s.queryStates;
      const params = predict(net, problem.query, STATE_DIM, (out) => tf.concat([tf.slice(out, [0, 0], [-1, ACTIONS]), tf.exp(squashLogStd(tf.slice(out, [0, ACTIONS], [-1, ACTIONS]) as Tensor2D))], 1) as Tensor2D);
      const draws = new Rng(initSeed).fork('actions');
      const width = ACTIONS + STATE_DIM;
      const rows = new Float32Array(m * SAMPLES_PER_STATE * width);
      for (let i = 0; i < m; i++) {
        for (let k = 0; k < SAMPLES_PER_STATE; k++) {
          const r = (i * SAMPLES_PER_STATE + k) * width;
          for (let j = 0; j < ACTIONS; j++) rows[r + j] = params[i * 4 + j] + params[i * 4 + ACTIONS + j] * draws.normal();
          rows.set(problem.query.subarray(i * STATE_DIM, (i + 1) * STATE_DIM), r + ACTIONS);
        }
      }
      return rows;
    },
  );
}

export const policyGenerator: FamilyGenerator<PolicyProblem> = {
  id: 'entropy-regularised-policy',
  version: 3,
  hyperparameter: 'β (entropy weight)',
  levels: ENTROPY_LEVELS,
  dim: ACTIONS,
  cond: STATE_DIM,
  samplesPerCondition: SAMPLES_PER_STATE,
  description:
    'Gaussian policy networks (mean and log-std from the state) on a contextual bandit whose reward is a log-mixture of two bumps with state-dependent weights, ' +
    'trained by reparameterised gradients of E[r] + β·H(π), one network per entropy weight β from its own initialisation; ' +
    `rows: ${SAMPLES_PER_STATE} actions (2) | state (3) per query state, drawn from each policy`,
  settings: (size) => ({ ...SETTINGS[size], samplesPerState: SAMPLES_PER_STATE, bumpVariance: BUMP_VARIANCE, logStdRange: [LOG_STD_MIN, LOG_STD_MAX], optimiser: 'Adam, global-norm clip 1, lr constant then linear decay to 10%' }),
  setup: policyProblem,
  trainLevel: trainPolicy,
  metrics: [
    { key: 'w2', label: 'W2²', description: `per query state: exact OT cost between the ${SAMPLES_PER_STATE} pushed and the ${SAMPLES_PER_STATE} true actions, mean over states` },
    { key: 'mse', label: 'mean MSE', description: 'per query state: squared error of the mean action, mean over states and action dims' },
  ],
  score: (pred, truth) => {
    const g = groupedScores(pred, truth, ACTIONS, STATE_DIM, SAMPLES_PER_STATE);
    return { w2: g.w2, mse: g.mse };
  },
};

export const policyFamily: FamilySpec = {
  name: 'policy',
  title: 'entropy-regularised policies (10 actions per state, D = 2, C = 3; anchors β = 0.02, 0.3, 1.5)',
  generator: policyGenerator,
  anchors: [0.02, 0.3, 1.5],
  validation: [0.1, 0.7],
  test: [0.05, 0.2, 0.5, 1],
  split: 'validation β = 0.1 and 0.7, one inside each interval; the test levels are the other four',
};
