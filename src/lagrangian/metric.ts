import { tf, Mlp, Rng, lastAxisColumns, type ConditionSpec, type Film, type Tensor, type Tensor2D, type Tensor3D } from '../engine/index.js';

export type MetricKind = 'euclidean' | 'fixed-eigen' | 'eigen-budget';
export const METRIC_KINDS: MetricKind[] = ['euclidean', 'fixed-eigen', 'eigen-budget'];

export interface MetricOptions {
  kind: MetricKind;
  dim: number;
  condition: ConditionSpec;
  /** Hidden width of the metric network (the reference uses 128). */
  width?: number;
  eigMin?: number;
  eigMax?: number;
  /** Eigenvalue budget (default D): the eigenvalues share it, so G cannot collapse to 0. */
  budget?: number;
  temperature?: number;
}

/** Number of Givens planes (i < j) in D dimensions. */
export function planeCount(dim: number): number {
  return (dim * (dim - 1)) / 2;
}

/**
 * Apply R = Π Givens(i, j) to vectors given as D column tensors [..., 1 column each]; cos/sin per plane.
 * Columns are rotated in place order (0,1), (0,2), …, (D−2, D−1); D = 2 is a single rotation.
 */
export function rotateColumns(cols: Tensor[], cos: Tensor[], sin: Tensor[]): Tensor[] {
  const out = cols.slice();
  let p = 0;
  for (let i = 0; i < out.length; i++) {
    for (let j = i + 1; j < out.length; j++) {
      const a = out[i];
      const b = out[j];
      out[i] = tf.sub(tf.mul(cos[p], a), tf.mul(sin[p], b));
      out[j] = tf.add(tf.mul(sin[p], a), tf.mul(cos[p], b));
      p++;
    }
  }
  return out;
}

/**
 * The Riemannian metric G(q | x) = Rᵀ diag(e) R. Quadratic forms vᵀ G v = Σ e_i (R v)_i² are
 * computed from rotations and eigenvalues directly: no inverse, no eigendecomposition.
 */
export class Metric {
  readonly kind: MetricKind;
  readonly dim: number;
  readonly net: Mlp | null;
  private readonly eigMin: number;
  private readonly eigMax: number;
  private readonly budget: number;
  private readonly temperature: number;

  constructor(options: MetricOptions, rng: Rng) {
    const { kind, dim } = options;
    if (kind === 'fixed-eigen' && dim !== 2) {
      throw new Error(`metric 'fixed-eigen' exists for D = 2 only (this data has D = ${dim}); use 'eigen-budget' or 'euclidean'`);
    }
    if (!METRIC_KINDS.includes(kind)) throw new Error(`unknown metric '${kind}' (expected one of ${METRIC_KINDS.join(', ')})`);
    this.kind = kind;
    this.dim = dim;
    this.eigMin = options.eigMin ?? 0.1;
    this.eigMax = options.eigMax ?? 1;
    this.budget = options.budget ?? dim;
    this.temperature = options.temperature ?? 1;
    if (kind === 'euclidean') {
      this.net = null;
    } else {
      const width = options.width ?? 64;
      this.net = new Mlp(
        { inDim: dim, hidden: [width, width], outDim: this.outputCount(), activation: 'leaky_relu', condition: options.condition },
        rng,
      );
    }
  }

  /** Network outputs: eigen-logits (eigen-budget only) then two per rotation plane. */
  outputCount(): number {
    const planes = this.dim === 2 ? 1 : planeCount(this.dim);
    return (this.kind === 'eigen-budget' ? this.dim : 0) + 2 * planes;
  }

  film(cond: Tensor2D | null): Film | null {
    return this.net && cond ? this.net.film(cond) : null;
  }

  /** Eigenvalues and per-plane (cos, sin) at points [B, S, D]. */
  decompose(q: Tensor3D, film: Film | null): { eig: Tensor[]; cos: Tensor[]; sin: Tensor[] } {
    const d = this.dim;
    if (!this.net) throw new Error('the Euclidean metric has no learned parts');
    const out = this.net.apply(q, film) as Tensor3D; // [B, S, O]
    const cols = lastAxisColumns(out);
    let eig: Tensor[];
    let k = 0;
    if (this.kind === 'eigen-budget') {
      const logits = tf.stack(cols.slice(0, d), 2);
      const soft = tf.softmax(tf.mul(logits, this.temperature));
      const e = tf.clipByValue(
        tf.add(this.eigMin, tf.mul(soft, (this.budget / d) * (this.eigMax - this.eigMin))),
        this.eigMin,
        this.eigMax,
      );
      eig = lastAxisColumns(e);
      k = d;
    } else {
      eig = [tf.onesLike(cols[0]), tf.mul(tf.onesLike(cols[0]), 0.1)];
    }
    const cos: Tensor[] = [];
    const sin: Tensor[] = [];
    const planes = d === 2 ? 1 : planeCount(d);
    for (let p = 0; p < planes; p++) {
      const u = cols[k + 2 * p];
      const v = cols[k + 2 * p + 1];
      // θ = atan2(v, u): cos θ = u/r, sin θ = v/r without evaluating the angle.
      const r = tf.sqrt(tf.add(tf.add(tf.square(u), tf.square(v)), 1e-12));
      cos.push(tf.div(u, r));
      sin.push(tf.div(v, r));
    }
    return { eig, cos, sin };
  }

  /** vᵀ G(q | x) v for points q and vectors v, both [B, S, D] → [B, S]. */
  quadraticForm(q: Tensor3D, v: Tensor3D, film: Film | null): Tensor2D {
    if (!this.net) return tf.sum(tf.square(v), 2) as Tensor2D;
    const { eig, cos, sin } = this.decompose(q, film);
    const rotated = rotateColumns(lastAxisColumns(v), cos, sin);
    return tf.addN(rotated.map((w, i) => tf.mul(eig[i], tf.square(w)))) as Tensor2D;
  }

  /**
   * Explicit G matrices [B, S, D, D] (for inspection and tests; the training path never forms them).
   */
  matrices(q: Tensor3D, film: Film | null): Tensor {
    const [b, s, d] = q.shape;
    if (!this.net) return tf.tile(tf.reshape(tf.eye(d), [1, 1, d, d]), [b, s, 1, 1]);
    const { eig, cos, sin } = this.decompose(q, film);
    // Row i of R is R applied to… columns of R come from rotating the unit vectors.
    const rowsOfR: Tensor[][] = [];
    for (let c = 0; c < d; c++) {
      const unit = Array.from({ length: d }, (_, i) => tf.fill([b, s], i === c ? 1 : 0));
      rowsOfR.push(rotateColumns(unit, cos, sin)); // R e_c: column c of R, entries by row
    }
    // G_ij = Σ_k e_k R_ki R_kj
    const g: Tensor[] = [];
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        g.push(tf.addN(eig.map((e, k) => tf.mul(e, tf.mul(rowsOfR[i][k], rowsOfR[j][k])))));
      }
    }
    return tf.reshape(tf.stack(g, 2), [b, s, d, d]);
  }

  /** Eigenvalues [B, S, D] and the principal (largest-eigenvalue) direction [B, S, D] in data space. */
  principal(q: Tensor3D, film: Film | null): { eigenvalues: Tensor; direction: Tensor } {
    const [b, s, d] = q.shape;
    if (!this.net) {
      const e = tf.ones([b, s, d]);
      const dir = tf.concat([tf.ones([b, s, 1]), tf.zeros([b, s, d - 1])], 2);
      return { eigenvalues: e, direction: dir };
    }
    const { eig, cos, sin } = this.decompose(q, film);
    const eigenvalues = tf.stack(eig, 2);
    // G = Rᵀ diag(e) R: eigenvector k is row k of R = Rᵀ e_k. Rows of R from columns of R e_c.
    const best = tf.argMax(eigenvalues, 2); // [B, S]
    const rowsOfR: Tensor[][] = [];
    for (let c = 0; c < d; c++) {
      const unit = Array.from({ length: d }, (_, i) => tf.fill([b, s], i === c ? 1 : 0));
      rowsOfR.push(rotateColumns(unit, cos, sin));
    }
    const comps: Tensor[] = [];
    for (let c = 0; c < d; c++) {
      // component c of eigenvector k = R[k][c] = (R e_c)_k
      const byK = tf.stack(rowsOfR[c], 2); // [B, S, D(k)]
      const mask = tf.oneHot(best, d);
      comps.push(tf.sum(tf.mul(byK, mask), 2));
    }
    return { eigenvalues, direction: tf.stack(comps, 2) };
  }
}
