import { tf, type Scalar, type Tensor, type Variable } from './tf.js';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Weight decay: decoupled (AdamW) when `decoupled`, else added to the gradient (Adam + L2). */
  weightDecay?: number;
  decoupled?: boolean;
  /** Clip the gradient to this global L2 norm (over all variables) before the update. */
  clipNorm?: number;
}

/**
 * Adam / AdamW with optional global-norm clipping. State tensors are kept per variable and replaced
 * (old ones disposed) at each step, so memory stays flat across training.
 */
export class Adam {
  private readonly m = new Map<Variable, Tensor>();
  private readonly v = new Map<Variable, Tensor>();
  private t = 0;
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupled: boolean;
  readonly clipNorm: number | undefined;

  constructor(options: AdamOptions) {
    this.lr = options.lr;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.decoupled = options.decoupled ?? false;
    this.clipNorm = options.clipNorm;
  }

  get steps(): number {
    return this.t;
  }

  /**
   * Apply one update from gradients keyed by variable; returns the pre-clip global norm. A
   * non-finite norm (a NaN or infinite gradient) leaves the variables and the state untouched.
   */
  apply(vars: Variable[], grads: Tensor[]): number {
    let norm = 0;
    tf.tidy(() => {
      const sq = grads.map((g) => tf.sum(tf.square(g)));
      const normT = tf.sqrt(tf.addN(sq));
      norm = normT.dataSync()[0];
      if (!Number.isFinite(norm)) return;
      this.t += 1;
      const t = this.t;
      const factor = this.clipNorm !== undefined && norm > this.clipNorm ? this.clipNorm / norm : 1;
      const bc1 = 1 - Math.pow(this.beta1, t);
      const bc2 = 1 - Math.pow(this.beta2, t);
      vars.forEach((variable, i) => {
        let g: Tensor = factor === 1 ? grads[i] : tf.mul(grads[i], factor);
        if (this.weightDecay && !this.decoupled) g = tf.add(g, tf.mul(variable, this.weightDecay));
        const mPrev = this.m.get(variable) ?? tf.zerosLike(variable);
        const vPrev = this.v.get(variable) ?? tf.zerosLike(variable);
        const m = tf.keep(tf.add(tf.mul(mPrev, this.beta1), tf.mul(g, 1 - this.beta1)));
        const v = tf.keep(tf.add(tf.mul(vPrev, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        if (this.m.has(variable)) mPrev.dispose();
        if (this.v.has(variable)) vPrev.dispose();
        this.m.set(variable, m);
        this.v.set(variable, v);
        let update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), this.eps));
        if (this.weightDecay && this.decoupled) update = tf.add(update, tf.mul(variable, this.weightDecay));
        variable.assign(tf.sub(variable, tf.mul(update, this.lr)));
      });
    });
    return norm;
  }

  /**
   * Compute loss and gradients of `loss` with respect to `vars`, apply one update, and return
   * the loss value and gradient norm. Non-finite losses or gradients skip the update.
   */
  minimize(loss: () => Scalar, vars: Variable[]): { loss: number; gradNorm: number; finite: boolean } {
    const { value, grads } = tf.variableGrads(loss, vars);
    const lossValue = value.dataSync()[0];
    const gradList = vars.map((v) => grads[v.name]);
    const finite = Number.isFinite(lossValue) && gradList.every((g) => g !== undefined);
    const gradNorm = finite ? this.apply(vars, gradList) : NaN;
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
    return { loss: lossValue, gradNorm, finite: finite && Number.isFinite(gradNorm) };
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** AdamW: Adam with decoupled weight decay (default 1e-4, as optax's adamw uses). */
export function adamW(options: Omit<AdamOptions, 'decoupled'>): Adam {
  return new Adam({ weightDecay: 1e-4, ...options, decoupled: true });
}

/** Learning-rate schedule: constant for the first half, then linear decay to 10% of the base. */
export function learningRate(base: number, step: number, total: number): number {
  const half = total / 2;
  if (step < half) return base;
  return base * (1 - 0.9 * ((step - half) / Math.max(1, total - half)));
}
