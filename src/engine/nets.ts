import { tf, type Tensor, type Tensor2D } from './tf.js';
import { ParamStore } from './params.js';
import type { Rng } from './rng.js';

export type Activation = 'relu' | 'leaky_relu' | 'softplus' | 'tanh';

export function activate(x: Tensor, kind: Activation): Tensor {
  switch (kind) {
    case 'relu':
      return tf.relu(x);
    case 'leaky_relu':
      return tf.leakyRelu(x, 0.2);
    case 'softplus':
      return tf.softplus(x);
    case 'tanh':
      return tf.tanh(x);
  }
}

/** How a network sees its condition x: none, a continuous vector, or a class index 0..classes−1. */
export type ConditionSpec =
  | { kind: 'none' }
  | { kind: 'continuous'; dim: number }
  | { kind: 'categorical'; classes: number; embedDim?: number };

export interface MlpConfig {
  inDim: number;
  hidden: number[];
  outDim: number;
  activation: Activation;
  condition: ConditionSpec;
  /** Width of the small net that turns the condition into FiLM scale and shift. */
  filmHidden?: number;
  /** Scale of the last layer's initial weights (0 makes the net start at its bias: an identity residual). */
  outputInitScale?: number;
}

/** Per-unit FiLM modulation of the first hidden layer, computed from the condition alone. */
export interface Film {
  scale: Tensor2D; // [B, H0]
  shift: Tensor2D; // [B, H0]
}

/** Most parameters one network may hold (float32: 256 MB), checked before anything is allocated. */
export const MAX_NET_PARAMETERS = 64 * 1024 * 1024;

/**
 * A multilayer perceptron whose first hidden layer is modulated by FiLM from the condition:
 * h1 = act((1 + s(x)) ⊙ (W y + b) + t(x)). A categorical condition is embedded first.
 * Parameters live in `params` (names relative to this net).
 */
export class Mlp {
  readonly params = new ParamStore();
  readonly config: Required<MlpConfig>;

  constructor(config: MlpConfig, rng: Rng) {
    const embedDefault = config.condition.kind === 'categorical' ? (config.condition.embedDim ?? 16) : 0;
    const condition: ConditionSpec =
      config.condition.kind === 'categorical' ? { ...config.condition, embedDim: embedDefault } : config.condition;
    this.config = { filmHidden: 32, outputInitScale: 1, ...config, condition };
    const { inDim, hidden, outDim } = this.config;
    if (hidden.length === 0) throw new Error('an MLP needs at least one hidden layer');
    const dims = [inDim, ...hidden, outDim];
    const count = dims.slice(1).reduce((n, d, i) => n + (dims[i] + 1) * d, 0);
    if (!(count <= MAX_NET_PARAMETERS)) {
      throw new Error(`a network with layers ${dims.join(' → ')} would hold ${count} parameters, more than ${MAX_NET_PARAMETERS}; use narrower layers`);
    }
    for (let i = 0; i < dims.length - 1; i++) {
      const last = i === dims.length - 2;
      this.params.addGlorot(`w${i}`, dims[i], dims[i + 1], rng, last ? this.config.outputInitScale : 1);
      this.params.addZeros(`b${i}`, [dims[i + 1]]);
    }
    const c = this.config.condition;
    if (c.kind !== 'none') {
      let condDim: number;
      if (c.kind === 'categorical') {
        condDim = c.embedDim!;
        this.params.add('embed', [c.classes, condDim], rng.normals(c.classes * condDim, 1));
      } else {
        condDim = c.dim;
      }
      const fh = this.config.filmHidden;
      this.params.addGlorot('film_w0', condDim, fh, rng);
      this.params.addZeros('film_b0', [fh]);
      // Zero-initialised so that FiLM starts as the identity modulation.
      this.params.addZeros('film_w1', [fh, 2 * hidden[0]]);
      this.params.addZeros('film_b1', [2 * hidden[0]]);
    }
  }

  /** FiLM scale and shift for a batch of conditions [B, C] (class indices when categorical); reuse across many points of one path. */
  film(cond: Tensor2D): Film | null {
    const c = this.config.condition;
    if (c.kind === 'none') return null;
    if (c.kind === 'categorical') {
      // Compute FiLM once per class, then pick each row's class by a one-hot matmul: exact, far
      // cheaper than running the FiLM net on every row, and differentiable (gather's gradient
      // needs UnsortedSegmentSum, missing in wasm).
      const table = this.filmOf(this.params.get('embed') as Tensor2D);
      // tf.oneHot needs a depth ≥ 2; with a single class every row is that class.
      const onehot = (
        c.classes === 1 ? tf.ones([cond.shape[0], 1]) : tf.cast(tf.oneHot(tf.cast(tf.reshape(cond, [-1]), 'int32'), c.classes), 'float32')
      ) as Tensor2D;
      return { scale: tf.matMul(onehot, table.scale), shift: tf.matMul(onehot, table.shift) };
    }
    return this.filmOf(cond);
  }

  /** FiLM from condition features. Scale and shift come from column blocks of the weights,
   * not from splitting a [B, 2·H0] output (slicing a wide tensor is slow in the wasm backend). */
  private filmOf(features: Tensor2D): Film {
    const p = this.params;
    const h = activate(tf.add(tf.matMul(features, p.get('film_w0')), p.get('film_b0')), this.config.activation) as Tensor2D;
    const fh = this.config.filmHidden;
    const h0 = this.config.hidden[0];
    const w1 = p.get('film_w1');
    const b1 = p.get('film_b1');
    const scale = tf.add(tf.matMul(h, tf.slice(w1, [0, 0], [fh, h0])), tf.slice(b1, [0], [h0])) as Tensor2D;
    const shift = tf.add(tf.matMul(h, tf.slice(w1, [0, h0], [fh, h0])), tf.slice(b1, [h0], [h0])) as Tensor2D;
    return { scale, shift };
  }

  /**
   * Forward pass on inputs [B, inDim] (or [B, S, inDim] with `film` of batch B, broadcast over S).
   */
  apply(input: Tensor, film: Film | null): Tensor {
    const { w, b } = this.outputLayer();
    const out = tf.add(tf.matMul(this.features(input, film), w), b);
    if (input.rank === 3) return tf.reshape(out, [input.shape[0], input.shape[1]!, this.config.outDim]);
    return out;
  }

  /**
   * Activations of the last hidden layer — what the output layer sees — for inputs [B, inDim], or
   * [B, S, inDim] with `film` of batch B broadcast over S (returned flattened, [B·S, H]). For callers
   * that fold a linear map into the output layer (a spline basis at inference) or read blocks of it.
   */
  features(input: Tensor, film: Film | null): Tensor2D {
    const p = this.params;
    const rank3 = input.rank === 3;
    let h: Tensor = rank3 ? tf.reshape(input, [-1, this.config.inDim]) : input;
    for (let i = 0; i < this.config.hidden.length; i++) {
      h = tf.add(tf.matMul(h as Tensor2D, p.get(`w${i}`)), p.get(`b${i}`));
      if (i === 0 && film) {
        if (rank3) {
          const [b, s] = input.shape;
          const h3 = tf.reshape(h, [b, s!, -1]);
          h = tf.reshape(tf.add(tf.mul(h3, tf.add(1, tf.expandDims(film.scale, 1))), tf.expandDims(film.shift, 1)), [b * s!, -1]);
        } else {
          h = tf.add(tf.mul(h, tf.add(1, film.scale)), film.shift);
        }
      }
      h = activate(h, this.config.activation);
    }
    return h as Tensor2D;
  }

  /** The output layer: weights [H_last, outDim] and bias [outDim]. */
  outputLayer(): { w: Tensor2D; b: Tensor } {
    const last = this.config.hidden.length;
    return { w: this.params.get(`w${last}`) as Tensor2D, b: this.params.get(`b${last}`) };
  }

  /** Forward pass with the condition given directly ([B, C]; class indices 0..classes−1 for categorical). */
  forward(input: Tensor, cond: Tensor2D | null): Tensor {
    return this.apply(input, cond ? this.film(cond) : null);
  }
}
