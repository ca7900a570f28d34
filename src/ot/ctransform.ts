import { tf, type Tensor1D, type Tensor2D } from '../engine/index.js';
import { batchedLbfgs, type LbfgsOptions } from './lbfgs.js';

export interface CTransformProblem {
  batch: number;
  dim: number;
  /**
   * Per-sample cost c(y_b, y'_b | x_b) at candidate ends y' [B, D] → [B], differentiable in y'.
   * `detachedEnd` holds the same values off the gradient tape (for parts treated as constants,
   * such as the spline bend φ).
   */
  cost: (yEnd: Tensor2D, detachedEnd: Tensor2D) => Tensor1D;
  /** Per-sample dual potential g(y'_b | x_b) → [B] (differentiable in y'). */
  potential: (yEnd: Tensor2D) => Tensor1D;
  /** Starting points (the map's guess T(y)), [B, D]. */
  init: Float32Array;
}

export interface CTransformResult {
  yHat: Float32Array;
  /** c(y, ŷ) − g(ŷ) per sample. */
  value: Float64Array;
  evaluations: number;
  meanIterations: number;
}

/**
 * ŷ = argmin_{y'} c(y, y' | x) − g(y' | x), per sample, by batched L-BFGS from the map's guess.
 * Every round is one batched evaluation of value and gradient; the result is plain data (detached).
 */
export function cTransform(problem: CTransformProblem, options: LbfgsOptions): CTransformResult {
  const { batch, dim } = problem;
  const objective = (x: Float32Array) => {
    let value = new Float64Array(batch);
    let grad = new Float32Array(batch * dim);
    tf.tidy(() => {
      const y1 = tf.tensor2d(x, [batch, dim]);
      const detached = tf.tensor2d(x, [batch, dim]);
      let perSample: tf.Tensor | null = null;
      const { value: total, grad: g } = tf.valueAndGrad((v: tf.Tensor) => {
        perSample = tf.keep(tf.sub(problem.cost(v as Tensor2D, detached), problem.potential(v as Tensor2D)));
        return tf.sum(perSample) as tf.Scalar;
      })(y1);
      void total;
      value = Float64Array.from(perSample!.dataSync());
      perSample!.dispose();
      grad = Float32Array.from(g.dataSync() as Float32Array);
    });
    return { value, grad };
  };
  const res = batchedLbfgs(objective, problem.init, batch, dim, options);
  let iters = 0;
  for (let i = 0; i < batch; i++) iters += res.iterations[i];
  return { yHat: res.x, value: res.value, evaluations: res.evaluations, meanIterations: iters / batch };
}
