import { tf, Mlp, Rng, type ConditionSpec, type Film, type Tensor2D } from '../engine/index.js';

/**
 * The transport map of one anchor pair, T_k(z | x) = z + MLP(z, x) (method.md §2.4), in
 * standardised units. The last layer starts at zero, so the map starts as the identity.
 */
export class ResidualMap {
  readonly net: Mlp;

  constructor(options: { dim: number; condition: ConditionSpec; hidden: number[] }, rng: Rng) {
    this.net = new Mlp({ inDim: options.dim, hidden: options.hidden, outDim: options.dim, activation: 'relu', condition: options.condition, outputInitScale: 0 }, rng);
  }

  /** T(z) for points z [B, D] under the map's FiLM of their conditions. */
  push(z: Tensor2D, film: Film | null): Tensor2D {
    return tf.add(z, this.net.apply(z, film)) as Tensor2D;
  }
}
