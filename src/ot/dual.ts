import { tf, Mlp, Rng, type ConditionSpec, type Film, type Tensor1D, type Tensor2D } from '../engine/index.js';

/** Network sizes for the per-pair dual potential g_k and map T_k. */
export interface PairNetOptions {
  dim: number;
  condition: ConditionSpec;
  hidden: number[];
}

/**
 * The conditional neural dual of one anchor pair: a scalar potential g_k(y | x) and a residual
 * map T_k(y | x) = y + σ ⊙ MLP(ŷ, x) (σ: the data scale, so the map starts as the identity and
 * learns in standardised units). Inputs to both nets are standardised outputs.
 */
export class PairNets {
  readonly g: Mlp;
  readonly map: Mlp;

  constructor(options: PairNetOptions, rng: Rng) {
    const { dim, condition, hidden } = options;
    this.g = new Mlp({ inDim: dim, hidden, outDim: 1, activation: 'relu', condition }, rng.fork('g'));
    this.map = new Mlp({ inDim: dim, hidden, outDim: dim, activation: 'relu', condition, outputInitScale: 0 }, rng.fork('map'));
  }

  /** g_k at standardised points [B, D] → [B]. */
  potential(yStd: Tensor2D, film: Film | null): Tensor1D {
    return tf.reshape(this.g.apply(yStd, film), [-1]) as Tensor1D;
  }

  /** T_k(y) in data units, from y [B, D] and its standardised copy. */
  push(y: Tensor2D, yStd: Tensor2D, film: Film | null, scale: Tensor1D): Tensor2D {
    return tf.add(y, tf.mul(this.map.apply(yStd, film), scale)) as Tensor2D;
  }

  variables() {
    return [...this.g.params.list(), ...this.map.params.list()];
  }
}

/**
 * Semi-dual objective pieces for a batch, with ŷ the (detached) c-transform of the sources:
 *   dual = −( mean[c(y, ŷ) − g(ŷ)] + mean[g(y⁺)] ),  map = mean ‖T(y) − ŷ‖² (standardised units).
 * The gradient of dual w.r.t. g's parameters is mean g(ŷ) − mean g(y⁺); c(y, ŷ) is a constant here.
 */
export function dualTrainingLoss(gAtHat: Tensor1D, gAtTarget: Tensor1D, mapped: Tensor2D, yHat: Tensor2D, scale: Tensor1D): { loss: tf.Scalar; map: tf.Scalar } {
  const dualPart = tf.sub(tf.mean(gAtHat), tf.mean(gAtTarget));
  const map = tf.mean(tf.sum(tf.square(tf.div(tf.sub(mapped, yHat), scale)), 1)) as tf.Scalar;
  return { loss: tf.add(dualPart, map) as tf.Scalar, map };
}
