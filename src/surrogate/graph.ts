/**
 * What a fitted surrogate computes when it samples, as plain data: the interval times, the map from
 * λ to the position inside an interval, the networks and their weights. Each model kind describes
 * itself here (`TrajectoryModel.samplingGraph`), and exporters (src/export) rebuild the same
 * computation from this description alone, so a change to how a model samples is made in one place:
 * its description, plus the exporter's emitter of any new kind of step.
 */
import type { Mlp, MlpConfig, NamedArray } from '../engine/index.js';
import type { ModelInfo } from './model.js';

/**
 * An `Mlp` (src/engine/nets.ts) by its settings and weights: hidden layers h = act(x·w_i + b_i),
 * the first one modulated by FiLM from the condition, h ← h ⊙ (1 + scale) + shift before the
 * activation; FiLM: f = act(c·film_w0 + film_b0), scale = f·film_w1[:, :H0] + film_b1[:H0],
 * shift = f·film_w1[:, H0:] + film_b1[H0:], with c the condition (continuous) or the row `embed[id]`
 * of a class id (categorical); the output layer is linear.
 */
export interface NetDescription {
  config: Required<MlpConfig>;
  /** Parameters by name: w0, b0, …, w{L}, b{L}; embed (categorical); film_w0, film_b0, film_w1, film_b1 (conditional). */
  params: Record<string, NamedArray>;
}

export function describeNet(net: Mlp): NetDescription {
  return { config: structuredClone(net.config), params: net.params.toRecord() };
}

/** An affine standardisation: a network sees (v − mean) / scale, per column. */
export interface Affine {
  mean: number[];
  scale: number[];
}

/**
 * How λ becomes (interval k, position s ∈ [0, 1] along its paths).
 * `linear`: k is the first interval whose upper anchor is ≥ λ, s = (λ − λ_k) / (λ_{k+1} − λ_k).
 * `monotone-cubic` (a calibrated time warp, src/surrogate/warp.ts): the progress u ∈ [0, K] is the
 * cubic Hermite interpolant through knots (lambdas[i], progress[i]) with slopes[i] (constant beyond
 * the end knots), k = min(⌊u⌋, K − 1), s = u − k.
 */
export type PositionMap = { kind: 'linear' } | { kind: 'monotone-cubic'; lambdas: number[]; progress: number[]; slopes: number[] };

export const LINEAR_POSITION: PositionMap = { kind: 'linear' };

/** What every description shares: sizes, anchors and the condition's standardisation. */
export interface GraphCommon {
  info: ModelInfo;
  /** λ → (interval, position inside it). */
  position: PositionMap;
  /** Output standardisation. */
  y: Affine;
  /** Continuous-condition standardisation (null for none or a categorical class id). */
  x: Affine | null;
}

/**
 * CLOT, in standardised units: z_0 = (y_0 − y.mean) / y.scale is pushed through the residual maps of
 * the intervals before λ, z_{j+1} = z_j + map_j(z_j | x); within interval k the answer is the spline
 * path q(s) = z_k + s (z_{k+1} − z_k) + Σ_m B_m(s) φ_m with the bend φ = reshape(spline([z_k, z_{k+1}]
 * | x), [M, D]), returned as y = y.mean + y.scale ⊙ q. At s = 0 and s = 1 the bend vanishes: an
 * anchor's answer is the chained maps' output (the first anchor's, the given rows).
 */
export interface ClotGraph extends GraphCommon {
  kind: 'clot';
  maps: NetDescription[];
  spline: {
    net: NetDescription;
    /** M, the number of basis functions. */
    nodes: number;
    /**
     * Basis functions B_m as piecewise cubics on M − 1 equal segments of [0, 1]: basis[m] holds
     * (a, b, c, d) per segment j, B_m(s) = a + b u + c u² + d u³ with u = s − j / (M − 1).
     */
    basis: number[][];
  };
}

/** Direct: y = y.mean + y.scale ⊙ net(2t − 1 | x), t = t_k + s (t_{k+1} − t_k), ignoring the input y. */
export interface DirectGraph extends GraphCommon {
  kind: 'direct';
  /** Anchor times t_k. */
  times: number[];
  net: NetDescription;
}

/**
 * Flow (CFM, MFM): the standardised outputs are integrated by classic RK4 from the first anchor,
 * interval by interval, each interval j in `steps[j]` equal steps of its local time u ∈ [0, 1]
 * (a λ inside a step is reached by one partial step). Velocity in local time:
 * dy/du = (t_{j+1} − t_j) · velocity([y, 2u − 1, sin πu, cos πu, sin 2πu, cos 2πu, onehot_K(j)] | x).
 */
export interface FlowGraph extends GraphCommon {
  kind: 'flow';
  times: number[];
  steps: number[];
  velocity: NetDescription;
}

export type SamplingGraph = ClotGraph | DirectGraph | FlowGraph;
