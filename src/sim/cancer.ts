/**
 * The Ghaffari et al. cancer-treatment simulator (mixed radio-/chemotherapy with metastasis) as
 * DTRGym's `GhaffariCancerEnv` runs it: 11 state variables integrated one day at a time with
 * SciPy's RK23 (atol 1e-4, rtol 1e-2), the state kept in float32 between days, noisy log
 * observations, a tumour-reduction reward with ±100 termination bonuses, and the NK-cell penalty
 * the reward-weighted policies were trained with. ../docs: shared/docs/cancer_env.md.
 *
 * Arithmetic follows the original's operation order and float32 roundings, so that noise-free
 * episodes reproduce the reference traces exactly.
 */
import { Rng } from '../engine/rng.js';
import { Rk23, type OdeRhs } from './rk23.js';

/** The 11 state variables, in the simulator's order. */
export const STATE_NAMES = ['T_p', 'N_p', 'L_p', 'C', 'T_s', 'N_s', 'L_s', 'M', 'u', 'v', 'x'] as const;
export const STATE_DIM = STATE_NAMES.length;
/** Observed: the first 7 variables, as logs. */
export const OBS_DIM = 7;
export const ACTION_DIM = 2;
/** Radiation dose D ∈ [0, 10], chemotherapy input v_M ∈ [0, 8]. */
export const ACTION_LOW: readonly number[] = [0, 0];
export const ACTION_HIGH: readonly number[] = [10, 8];
export const ACTION_NAMES = ['radiation dose D', 'chemotherapy v_M'] as const;
/** Upper bounds of the observed variables; leaving [0, bound] ends the episode (−100). */
export const STATE_HIGH: readonly number[] = [1e11, 1e10, 1e10, 1e11, 1e11, 1e10, 1e10];
export const MAX_DAYS = 200;
export const TERMINATION_BONUS = 100;
export const INTEGRATOR_TOLERANCES = { atol: 1e-4, rtol: 1e-2 };

/** The model's parameters (τ, the metastasis delay, is separate). */
export interface CancerParameters {
  delta: number; a1: number; b1: number; c1: number; d1: number; l: number; s: number; e1: number; f1: number; p1: number;
  m1: number; j1: number; k1: number; q1: number; r11: number; r12: number; u1: number; K_1T: number; K_1L: number; K_1N: number;
  K_1C: number; alpha: number; beta: number; mu: number; a2: number; b2: number; c2: number; d2: number; e2: number; f2: number;
  p2: number; m2: number; j2: number; k2: number; q2: number; r21: number; r22: number; u2: number; K_2T: number; K_2L: number;
  K_2N: number; K_2C: number; gamma1: number; gamma2: number; gamma3: number; epsilon: number; alpha1: number; alpha2: number;
  W_1T: number; W_1N: number; W_1L: number; W_1C: number; W_2T: number; W_2N: number; W_2L: number;
}

/** The published values (K_2C is listed by the original but enters no equation). */
export const DEFAULT_PARAMETERS: Readonly<CancerParameters> = Object.freeze({
  delta: 0.15, a1: 4.31e-1, b1: 1.02e-9, c1: 6.41e-11, d1: 2.34, l: 2.09, s: 8.39e-2, e1: 2.08e-7, f1: 4.12e-2, p1: 3.42e-6,
  m1: 2.04e-1, j1: 2.49e-2, k1: 3.66e7, q1: 1.42e-6, r11: 1.1e-7, r12: 6.5e-11, u1: 3e-10, K_1T: 100, K_1L: 10, K_1N: 10,
  K_1C: 10, alpha: 7.5e8, beta: 1.2e-2, mu: 9e-1, a2: 5, b2: 1e-7, c2: 6.41e-12, d2: 5, e2: 2.08e-7, f2: 3.5e-2,
  p2: 1e-6, m2: 1.8e-1, j2: 1.6e-2, k2: 3.66e7, q2: 1e-6, r21: 2e-7, r22: 7.5e-11, u2: 3e-10, K_2T: 100, K_2L: 10,
  K_2N: 10, K_2C: 10, gamma1: 0.04, gamma2: 0.1, gamma3: 0.1, epsilon: 0.05, alpha1: 1e-4, alpha2: 1e-5,
  W_1T: 0.01, W_1N: 1, W_1L: 1, W_1C: 1, W_2T: 1, W_2N: 1, W_2L: 1,
});

export const DEFAULT_INITIAL_STATE: readonly number[] = [1e7, 2e8, 1e2, 1.5e9, 0, 1e4, 1e2, 0, 0, 0, 0];
/** Metastasis delay in days when there is no state noise. */
export const DEFAULT_TAU = 5;

/**
 * Noise levels: observations times (1 + obs · U(−½, ½)); the first 7 initial variables times
 * U(1 − state/2, 1 + state/2) and τ uniform in 0..9 when state > 0; every parameter times
 * U(1 − pkpd/2, 1 + pkpd/2), drawn once per episode.
 */
export interface NoiseSettings {
  obs: number;
  state: number;
  pkpd: number;
}

/** The setting the PPO policies were trained and evaluated in. */
export const NOISY: Readonly<NoiseSettings> = Object.freeze({ obs: 0.2, state: 0.5, pkpd: 0.1 });
export const NOISE_FREE: Readonly<NoiseSettings> = Object.freeze({ obs: 0, state: 0, pkpd: 0 });

const f32 = Math.fround;
/** numpy's float32 log of a value first rounded to float32. */
const logF32 = (v: number): number => f32(Math.log(f32(v)));
const STATE_HIGH_F32 = STATE_HIGH.map(f32);
const OBS_HIGH_F32 = STATE_HIGH.map((v) => f32(Math.log(v)));

/**
 * dy/dt of the 11 variables (DTRGym's `odes_fn`, term by term, in its operation order). Negative
 * inputs are clamped to 0 in place first, as the original does. `action` is read at every call:
 * [radiation dose D, chemotherapy input v_M].
 */
export function cancerRhs(p: Readonly<CancerParameters>, tau: number, action: Float64Array): OdeRhs {
  const { delta, a1, b1, c1, d1, l, s, e1, f1, p1, m1, j1, k1, q1, r11, r12, u1, K_1T, K_1L, K_1N, K_1C, alpha, beta, mu } = p;
  const { a2, b2, c2, d2, e2, f2, p2, m2, j2, k2, q2, r21, r22, u2, K_2T, K_2L, K_2N, gamma1, gamma2, gamma3, epsilon, alpha1, alpha2 } = p;
  const { W_1T, W_1N, W_1L, W_1C, W_2T, W_2N, W_2L } = p;
  return (t, y, out) => {
    for (let i = 0; i < 11; i++) if (y[i] < 0) y[i] = 0;
    const T_p = y[0], N_p = y[1], L_p = y[2], C = y[3], T_s = y[4], N_s = y[5], L_s = y[6], M = y[7], u = y[8], v = y[9], x = y[10];
    const D = action[0];
    const v_M = action[1];
    const D_p = d1 * (L_p ** l / Math.max(1, s * T_p ** l + L_p ** l));
    out[0] = a1 * T_p * (1 - b1 * T_p) - c1 * N_p * T_p - D_p * T_p - alpha1 * T_p - D * T_p + gamma1 * u - K_1T * ((T_p * M) / (W_1T + T_p));
    out[1] = e1 * C - p1 * N_p * T_p - f1 * N_p - epsilon * D * N_p + gamma2 * v - K_1N * ((N_p * M) / (W_1N + N_p));
    out[2] =
      -m1 * L_p + j1 * (T_p / (k1 + T_p)) * L_p - q1 * L_p * T_p + r11 * N_p * T_p + r12 * C * T_p - u1 * N_p * L_p ** 2 - epsilon * D * L_p + gamma3 * x - K_1L * ((L_p * M) / (W_1L + L_p));
    out[3] = alpha - beta * C - K_1C * ((C * M) / (W_1C + C));
    if (t > tau) {
      const D_s = d2 * (L_s ** l / Math.max(1, s * T_s ** l + L_s ** l));
      out[4] = a2 * T_s * (1 - b2 * T_s) - c2 * N_s * T_s - D_s * T_s + alpha2 * T_p * (t - tau) - K_2T * ((T_s * M) / (W_2T + T_s));
      out[5] = e2 * C - p2 * N_s * T_s - f2 * N_s - K_2N * ((N_s * M) / (W_2N + N_s));
      out[6] = -m2 * L_s + j2 * (T_s / (k2 + T_s)) * L_s - q2 * L_s * T_s + r21 * N_s * T_s + r22 * C * T_s - u2 * N_s * L_s ** 2 - K_2L * ((L_s * M) / (W_2L + L_s));
    } else {
      out[4] = 0;
      out[5] = 0;
      out[6] = 0;
    }
    out[7] = -mu * M + v_M;
    out[8] = D * T_p - gamma1 * u - delta * u;
    out[9] = D * N_p - gamma2 * v - delta * v;
    out[10] = D * L_p - gamma3 * x - delta * x;
  };
}

/**
 * Observation of a float32 state: the first 7 variables times (1 + obs_noise · U(−½, ½)), below 1
 * set to 1, float32 log, clipped to [0, log bound]. `uniform` draws U(0, 1).
 */
export function observe(state: Float32Array, obsNoise: number, uniform: () => number): Float32Array {
  const obs = new Float32Array(OBS_DIM);
  for (let i = 0; i < OBS_DIM; i++) {
    const x = state[i];
    // The original always draws, noise or not; drawing here too keeps a stream's use fixed.
    const u = uniform() - 0.5;
    const noisy = x + f32(obsNoise * x) * u;
    const logged = logF32(noisy < 1 ? 1 : noisy);
    obs[i] = Math.min(Math.max(logged, 0), OBS_HIGH_F32[i]);
  }
  return obs;
}

/**
 * Base reward of a step: 1 − log(max(e, T_p + T_s)) / log(max(e, T_p0 + T_s0)) on the float32
 * state before the step, plus the termination bonus. Rounded as the original's numpy code rounds
 * it: the logs of float32 sums are float32, the ratio too unless a sum is at most e (log e is a
 * float64 1), and the bonus is added in float64.
 */
export function baseReward(before: Float32Array, initial: Float32Array, bonus: number): number {
  const t = f32(before[0] + before[4]);
  const t0 = f32(initial[0] + initial[4]);
  const reduction = t > Math.E && t0 > Math.E ? f32(1 - f32(logF32(t) / logF32(t0))) : 1 - (t > Math.E ? logF32(t) : 1) / (t0 > Math.E ? logF32(t0) : 1);
  return reduction + bonus;
}

/** NK penalty: −|log(max(e, o_1 + o_5)) / log(max(e, o0_1 + o0_5)) − 1| on log observations. */
export function nkPenalty(obs: Float32Array, firstObs: Float32Array): number {
  const logAtLeastE = (v: number) => (v > Math.E ? Math.log(v) : 1);
  return -Math.abs(logAtLeastE(obs[1] + obs[5]) / logAtLeastE(firstObs[1] + firstObs[5]) - 1);
}

export type Termination = 'positive' | 'negative' | 'truncated';

export interface StepResult {
  /** Observation after the step. */
  obs: Float32Array;
  /** The state after the step (float32, 11 variables). */
  state: Float32Array;
  /** Base reward (tumour reduction of the state before the step, plus the termination bonus). */
  reward: number;
  nkPenalty: number;
  terminated: boolean;
  truncated: boolean;
  /** How the episode ended at this step, if it did. */
  termination: Termination | null;
  /** Accepted RK23 steps of the day. */
  rk23Steps: number;
}

export interface CancerEnvOptions {
  noise?: NoiseSettings;
  maxDays?: number;
  /** Parameters before pkpd noise (default: the published ones). */
  parameters?: Readonly<CancerParameters>;
  /** Initial state before state noise (default: DEFAULT_INITIAL_STATE). */
  initialState?: readonly number[];
  /** τ when there is no state noise (default 5). */
  tau?: number;
}

function checkNoise(noise: NoiseSettings): void {
  for (const [k, v] of Object.entries(noise)) {
    if (!(v >= 0 && v <= 1)) throw new Error(`cancer simulator: ${k} noise must be in [0, 1], got ${v}`);
  }
}

/**
 * One patient: `reset(seed)` draws the episode (parameters, initial state, τ, the observation noise
 * stream) from the seed, `step(action)` advances one day. Actions are used as given (the original
 * does not clip; callers clip to the action box).
 */
export class CancerEnv {
  readonly noise: NoiseSettings;
  readonly maxDays: number;
  private readonly baseParameters: Readonly<CancerParameters>;
  private readonly baseInitial: readonly number[];
  private readonly baseTau: number;
  private readonly integrator = new Rk23(STATE_DIM);
  private readonly y = new Float64Array(STATE_DIM);
  private readonly action = new Float64Array(ACTION_DIM);
  private rhs: OdeRhs | null = null;
  private obsRng: Rng | null = null;
  private day = 0;
  private finished = true;
  /** The episode's parameters and τ, after noise. */
  parameters: CancerParameters = { ...DEFAULT_PARAMETERS };
  tau = DEFAULT_TAU;
  state: Float32Array = new Float32Array(STATE_DIM);
  initialState: Float32Array = new Float32Array(STATE_DIM);
  firstObs: Float32Array = new Float32Array(OBS_DIM);

  constructor(options: CancerEnvOptions = {}) {
    this.noise = { ...(options.noise ?? NOISY) };
    checkNoise(this.noise);
    this.maxDays = options.maxDays ?? MAX_DAYS;
    if (!(Number.isInteger(this.maxDays) && this.maxDays > 0)) throw new Error(`cancer simulator: maxDays must be a positive integer, got ${this.maxDays}`);
    this.baseParameters = options.parameters ?? DEFAULT_PARAMETERS;
    this.baseInitial = options.initialState ?? DEFAULT_INITIAL_STATE;
    if (this.baseInitial.length !== STATE_DIM) throw new Error(`cancer simulator: the initial state needs ${STATE_DIM} values, got ${this.baseInitial.length}`);
    this.baseTau = options.tau ?? DEFAULT_TAU;
  }

  /** Days stepped so far in this episode. */
  get t(): number {
    return this.day;
  }

  get done(): boolean {
    return this.finished;
  }

  /** Start an episode drawn from `seed`; returns the first observation. */
  reset(seed: number): Float32Array {
    const root = new Rng(seed);
    const pkpd = root.fork('pkpd');
    const init = root.fork('state');
    this.obsRng = root.fork('obs');
    const { obs: obsNoise, state: stateNoise, pkpd: pkpdNoise } = this.noise;
    const params = { ...this.baseParameters };
    if (pkpdNoise > 0) {
      const width = pkpdNoise * 0.5;
      for (const key of Object.keys(params) as (keyof CancerParameters)[]) params[key] *= 1 + width * (2 * pkpd.next() - 1);
    }
    this.parameters = params;
    const state = new Float32Array(this.baseInitial);
    if (stateNoise > 0) {
      const width = stateNoise * 0.5;
      for (let i = 0; i < OBS_DIM; i++) state[i] = Math.max(0, state[i] * (1 + width * (2 * init.next() - 1)));
      this.tau = init.int(10);
    } else {
      this.tau = this.baseTau;
    }
    this.state = state;
    this.initialState = Float32Array.from(state);
    this.rhs = cancerRhs(params, this.tau, this.action);
    this.day = 0;
    this.finished = false;
    const rng = this.obsRng;
    this.firstObs = observe(state, obsNoise, () => rng.next());
    return this.firstObs.slice();
  }

  /** Advance one day under `action` = [D, v_M]. */
  step(action: ArrayLike<number>): StepResult {
    if (this.finished || !this.rhs || !this.obsRng) throw new Error('cancer simulator: the episode has ended (or never started); call reset(seed)');
    if (action.length !== ACTION_DIM || !Number.isFinite(action[0]) || !Number.isFinite(action[1])) {
      throw new Error(`cancer simulator: an action is ${ACTION_DIM} finite numbers [D, v_M], got [${Array.from(action).join(', ')}]`);
    }
    this.action[0] = action[0];
    this.action[1] = action[1];
    const before = this.state;
    for (let i = 0; i < STATE_DIM; i++) this.y[i] = before[i];
    const stats = this.integrator.integrate(this.rhs, this.day, this.day + 1, this.y, INTEGRATOR_TOLERANCES);
    const next = Float32Array.from(this.y);
    const rng = this.obsRng;
    const obs = observe(next, this.noise.obs, () => rng.next());

    let termination: Termination | null = null;
    for (let i = 0; i < OBS_DIM; i++) if (!(next[i] >= 0 && next[i] <= STATE_HIGH_F32[i])) termination = 'negative';
    if (next[0] < 1 && next[4] < 1) termination = 'positive';
    if (this.day + 1 === this.maxDays) termination = 'truncated';
    const bonus = termination === 'positive' ? TERMINATION_BONUS : termination === 'negative' ? -TERMINATION_BONUS : 0;
    const reward = baseReward(before, this.initialState, bonus);

    this.day += 1;
    this.state = next;
    this.finished = termination !== null;
    return {
      obs,
      state: next.slice(),
      reward,
      nkPenalty: nkPenalty(obs, this.firstObs),
      terminated: termination === 'positive' || termination === 'negative',
      truncated: termination === 'truncated',
      termination,
      rk23Steps: stats.steps,
    };
  }
}

/** Reward of a step under weight λ: base + λ · NK penalty. */
export function lambdaReward(step: Pick<StepResult, 'reward' | 'nkPenalty'>, lambda: number): number {
  return step.reward + lambda * step.nkPenalty;
}
