/**
 * The PPO actors of the cancer policies (Stable-Baselines3 `MlpPolicy`, tanh, 64-64): mean action
 * μ(o) = W_a · tanh(W_2 · tanh(W_0 · o + b_0) + b_2) + b_a from float32 weights, evaluated in
 * float64; deterministic action clip(μ(o)), stochastic clip(μ(o) + exp(log_std) ⊙ ε). Batched over
 * many observations; plain typed arrays.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeSafetensors, type NamedArray } from '../engine/safetensors.js';
import type { Rng } from '../engine/rng.js';

/** Tensor names and shapes of an actor file ([out, in], PyTorch layout); `in` of layer 0 is the observation size. */
const LAYOUT: Record<string, (obs: number, hidden: number, act: number) => number[]> = {
  'policy_net.0.weight': (o, h) => [h, o],
  'policy_net.0.bias': (_o, h) => [h],
  'policy_net.2.weight': (_o, h) => [h, h],
  'policy_net.2.bias': (_o, h) => [h],
  'action_net.weight': (_o, h, a) => [a, h],
  'action_net.bias': (_o, _h, a) => [a],
  log_std: (_o, _h, a) => [a],
};

export interface PolicyMeta {
  lambda?: number;
  /** Action box from the file's metadata (`action_low`, `action_high`). */
  low: number[];
  high: number[];
}

export class GaussianPolicy {
  readonly obsDim: number;
  readonly hidden: number;
  readonly actionDim: number;
  readonly low: Float64Array;
  readonly high: Float64Array;
  readonly std: Float64Array;
  readonly lambda: number | undefined;
  private readonly w0: Float32Array;
  private readonly b0: Float32Array;
  private readonly w2: Float32Array;
  private readonly b2: Float32Array;
  private readonly wa: Float32Array;
  private readonly ba: Float32Array;
  private readonly h1: Float64Array;
  private readonly h2: Float64Array;

  constructor(tensors: Record<string, NamedArray>, meta: PolicyMeta, what = 'policy') {
    for (const name of Object.keys(LAYOUT)) if (!tensors[name]) throw new Error(`${what}: missing tensor '${name}'`);
    const [hidden, obsDim] = tensors['policy_net.0.weight'].shape;
    const actionDim = tensors['action_net.bias'].shape[0];
    for (const [name, shapeOf] of Object.entries(LAYOUT)) {
      const want = shapeOf(obsDim, hidden, actionDim);
      const got = tensors[name].shape;
      if (got.length !== want.length || got.some((v, i) => v !== want[i])) throw new Error(`${what}: tensor '${name}' has shape [${got}], expected [${want}]`);
    }
    if (meta.low.length !== actionDim || meta.high.length !== actionDim) throw new Error(`${what}: the action box has ${meta.low.length}/${meta.high.length} bounds for ${actionDim} actions`);
    if (meta.low.some((lo, i) => !(lo <= meta.high[i]))) throw new Error(`${what}: action bounds [${meta.low}] … [${meta.high}] are not ordered`);
    this.obsDim = obsDim;
    this.hidden = hidden;
    this.actionDim = actionDim;
    this.low = Float64Array.from(meta.low);
    this.high = Float64Array.from(meta.high);
    this.lambda = meta.lambda;
    this.w0 = tensors['policy_net.0.weight'].data;
    this.b0 = tensors['policy_net.0.bias'].data;
    this.w2 = tensors['policy_net.2.weight'].data;
    this.b2 = tensors['policy_net.2.bias'].data;
    this.wa = tensors['action_net.weight'].data;
    this.ba = tensors['action_net.bias'].data;
    this.std = Float64Array.from(tensors.log_std.data, Math.exp);
    this.h1 = new Float64Array(hidden);
    this.h2 = new Float64Array(hidden);
  }

  /** Mean actions μ(o) of n observations (n × obsDim row-major) → n × actionDim, unclipped. */
  mean(obs: ArrayLike<number>): Float64Array {
    const { obsDim, hidden, actionDim, w0, b0, w2, b2, wa, ba, h1, h2 } = this;
    if (obs.length % obsDim !== 0) throw new Error(`policy: observations must have ${obsDim} columns, got ${obs.length} values`);
    const n = obs.length / obsDim;
    const out = new Float64Array(n * actionDim);
    for (let r = 0; r < n; r++) {
      const o = r * obsDim;
      for (let j = 0; j < hidden; j++) {
        let s = 0;
        for (let k = 0; k < obsDim; k++) s += w0[j * obsDim + k] * obs[o + k];
        h1[j] = Math.tanh(s + b0[j]);
      }
      for (let j = 0; j < hidden; j++) {
        let s = 0;
        for (let k = 0; k < hidden; k++) s += w2[j * hidden + k] * h1[k];
        h2[j] = Math.tanh(s + b2[j]);
      }
      for (let a = 0; a < actionDim; a++) {
        let s = 0;
        for (let k = 0; k < hidden; k++) s += wa[a * hidden + k] * h2[k];
        out[r * actionDim + a] = s + ba[a];
      }
    }
    return out;
  }

  /** Clip actions (n × actionDim) to the action box, in place. */
  clip(actions: Float64Array): Float64Array {
    const d = this.actionDim;
    for (let i = 0; i < actions.length; i++) {
      const a = i % d;
      actions[i] = Math.min(this.high[a], Math.max(this.low[a], actions[i]));
    }
    return actions;
  }

  /** Deterministic actions: clip(μ(o)). */
  act(obs: ArrayLike<number>): Float64Array {
    return this.clip(this.mean(obs));
  }

  /** Stochastic actions: clip(μ(o) + exp(log_std) ⊙ ε), ε ~ N(0, I) from `rng`. */
  sample(obs: ArrayLike<number>, rng: Rng): Float64Array {
    const out = this.mean(obs);
    for (let i = 0; i < out.length; i++) out[i] += this.std[i % this.actionDim] * rng.normal();
    return this.clip(out);
  }
}

function parseBounds(text: string | undefined, fallback: readonly number[] | undefined, key: string, what: string): number[] {
  if (text === undefined) {
    if (fallback) return [...fallback];
    throw new Error(`${what}: no '${key}' in the file's metadata and no default given`);
  }
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isFinite(v))) throw new Error(`${what}: metadata '${key}' is not a comma list of numbers: '${text}'`);
  return values;
}

export interface LoadPolicyOptions {
  /** Action box when the file's metadata has none. */
  low?: readonly number[];
  high?: readonly number[];
}

/** Load an actor from a safetensors file (float32 tensors, metadata `action_low`/`action_high`). */
export function loadPolicy(file: string, options: LoadPolicyOptions = {}): GaussianPolicy {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read policy ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const { tensors, metadata } = decodeSafetensors(buf, file);
  const lambda = metadata.lambda !== undefined && Number.isFinite(Number(metadata.lambda)) ? Number(metadata.lambda) : undefined;
  const low = parseBounds(metadata.action_low, options.low, 'action_low', file);
  const high = parseBounds(metadata.action_high, options.high, 'action_high', file);
  return new GaussianPolicy(tensors, { lambda, low, high }, file);
}

/** The file name of the policy trained at λ: `policy_lambda{λ}.safetensors`. */
export function policyFileName(lambda: number): string {
  return `policy_lambda${lambda}.safetensors`;
}

/** The `policy_lambda{λ}.safetensors` files of a folder by λ (λ read as a number, so `1` and `1.0` agree). */
export function policyFiles(dir: string): Map<number, string> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    throw new Error(`cannot read the policy folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const files = new Map<number, string>();
  for (const name of names.sort()) {
    const m = /^policy_lambda(.+)\.safetensors$/.exec(name);
    const lambda = m ? Number(m[1]) : NaN;
    if (Number.isFinite(lambda) && !files.has(lambda) && fs.statSync(path.join(dir, name)).isFile()) files.set(lambda, path.join(dir, name));
  }
  return new Map([...files].sort((a, b) => a[0] - b[0]));
}

/** The policy at λ from a folder, or null when the folder has none. */
export function policyAt(dir: string, lambda: number, options: LoadPolicyOptions = {}): GaussianPolicy | null {
  const file = policyFiles(dir).get(lambda);
  return file ? loadPolicy(file, options) : null;
}

/** Standard normal CDF Φ(z), through erfc (Chebyshev fit, relative error below 1.2e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc =
    t *
    Math.exp(
      -x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

const normalPdf = (z: number): number => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);

/** Mean and variance of clip(N(μ, σ²), [lo, hi]): the exact law of one stochastic action. */
export function clippedNormalMoments(mu: number, sigma: number, lo: number, hi: number): { mean: number; variance: number } {
  if (!(sigma > 0)) {
    const c = Math.min(hi, Math.max(lo, mu));
    return { mean: c, variance: 0 };
  }
  const a = (lo - mu) / sigma;
  const b = (hi - mu) / sigma;
  const pa = normalCdf(a);
  const pb = normalCdf(b);
  const fa = normalPdf(a);
  const fb = normalPdf(b);
  const inside = pb - pa;
  const mean = lo * pa + hi * (1 - pb) + mu * inside + sigma * (fa - fb);
  const second = lo * lo * pa + hi * hi * (1 - pb) + mu * mu * inside + 2 * mu * sigma * (fa - fb) + sigma * sigma * (inside + a * fa - b * fb);
  return { mean, variance: Math.max(0, second - mean * mean) };
}

/** Per observation and action dimension, the mean and variance of the policy's stochastic action. */
export function actionMoments(policy: GaussianPolicy, obs: ArrayLike<number>): { mean: Float64Array; variance: Float64Array } {
  const mu = policy.mean(obs);
  const mean = new Float64Array(mu.length);
  const variance = new Float64Array(mu.length);
  for (let i = 0; i < mu.length; i++) {
    const a = i % policy.actionDim;
    const m = clippedNormalMoments(mu[i], policy.std[a], policy.low[a], policy.high[a]);
    mean[i] = m.mean;
    variance[i] = m.variance;
  }
  return { mean, variance };
}
