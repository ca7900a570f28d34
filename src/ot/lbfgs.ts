/**
 * Batched per-sample L-BFGS with box constraints by projection: B independent D-dimensional
 * problems, each with its own history, its own backtracking line search and its own early exit,
 * sharing one batched objective evaluation per round.
 */
export interface BatchObjective {
  /** Objective and gradient for every sample at points x [B, D]. */
  (x: Float32Array): { value: Float64Array; grad: Float32Array };
}

export interface LbfgsOptions {
  maxIter: number;
  gtol?: number;
  history?: number;
  /** Per-dimension bounds [lo, hi]; proposals are clipped into the box. */
  bounds?: [number, number][];
  /** Length of the first step (the problem's scale); later steps use the L-BFGS scaling. */
  initialStep?: number;
  /** Cap on batched evaluations (default 2·maxIter + 2). */
  maxEvaluations?: number;
}

export interface LbfgsResult {
  x: Float32Array;
  value: Float64Array;
  grad: Float32Array;
  evaluations: number;
  /** Iterations taken per sample. */
  iterations: Int32Array;
}

export function batchedLbfgs(f: BatchObjective, x0: Float32Array, batch: number, dim: number, options: LbfgsOptions): LbfgsResult {
  const gtol = options.gtol ?? 1e-5;
  const m = options.history ?? 5;
  const maxEval = options.maxEvaluations ?? 2 * options.maxIter + 2;
  const initialStep = options.initialStep ?? 0.1;
  const c1 = 1e-4;
  const clip = (v: Float32Array) => {
    if (!options.bounds) return v;
    for (let b = 0; b < batch; b++) {
      for (let d = 0; d < dim; d++) {
        const [lo, hi] = options.bounds[d];
        const i = b * dim + d;
        if (v[i] < lo) v[i] = lo;
        else if (v[i] > hi) v[i] = hi;
      }
    }
    return v;
  };
  const x = clip(Float32Array.from(x0));
  let { value, grad } = f(x);
  value = Float64Array.from(value);
  grad = Float32Array.from(grad);
  let evaluations = 1;
  const iterations = new Int32Array(batch);
  const done = new Uint8Array(batch);
  const sHist: Float64Array[][] = Array.from({ length: batch }, () => []);
  const yHist: Float64Array[][] = Array.from({ length: batch }, () => []);
  const dir = new Float64Array(batch * dim);
  const step = new Float64Array(batch);
  const slope = new Float64Array(batch);

  const gnorm = (b: number) => {
    let s = 0;
    for (let d = 0; d < dim; d++) s = Math.max(s, Math.abs(grad[b * dim + d]));
    return s;
  };
  const newDirection = (b: number) => {
    const q = new Float64Array(dim);
    for (let d = 0; d < dim; d++) q[d] = grad[b * dim + d];
    const hs = sHist[b];
    const hy = yHist[b];
    const alpha = new Float64Array(hs.length);
    for (let i = hs.length - 1; i >= 0; i--) {
      const rho = 1 / dot(hy[i], hs[i]);
      alpha[i] = rho * dot(hs[i], q);
      for (let d = 0; d < dim; d++) q[d] -= alpha[i] * hy[i][d];
    }
    if (hs.length) {
      const last = hs.length - 1;
      const gamma = dot(hs[last], hy[last]) / dot(hy[last], hy[last]);
      for (let d = 0; d < dim; d++) q[d] *= gamma;
    } else {
      // First iteration: a steepest-descent step of the problem's scale.
      let n = 0;
      for (let d = 0; d < dim; d++) n += q[d] * q[d];
      const scale = initialStep / Math.max(Math.sqrt(n), 1e-12);
      for (let d = 0; d < dim; d++) q[d] *= scale;
    }
    for (let i = 0; i < hs.length; i++) {
      const rho = 1 / dot(hy[i], hs[i]);
      const beta = rho * dot(hy[i], q);
      for (let d = 0; d < dim; d++) q[d] += hs[i][d] * (alpha[i] - beta);
    }
    let sl = 0;
    for (let d = 0; d < dim; d++) {
      dir[b * dim + d] = -q[d];
      sl -= q[d] * grad[b * dim + d];
    }
    if (!(sl < 0)) {
      // Not a descent direction (bad curvature pair): restart from steepest descent.
      sHist[b] = [];
      yHist[b] = [];
      let n = 0;
      for (let d = 0; d < dim; d++) n += grad[b * dim + d] ** 2;
      const scale = initialStep / Math.max(Math.sqrt(n), 1e-12);
      sl = 0;
      for (let d = 0; d < dim; d++) {
        dir[b * dim + d] = -grad[b * dim + d] * scale;
        sl -= grad[b * dim + d] ** 2 * scale;
      }
    }
    slope[b] = sl;
    step[b] = 1;
  };

  for (let b = 0; b < batch; b++) {
    if (gnorm(b) <= gtol || !Number.isFinite(value[b])) done[b] = 1;
    else newDirection(b);
  }
  while (evaluations < maxEval) {
    let active = 0;
    const trial = Float32Array.from(x);
    for (let b = 0; b < batch; b++) {
      if (done[b]) continue;
      active++;
      for (let d = 0; d < dim; d++) trial[b * dim + d] = x[b * dim + d] + step[b] * dir[b * dim + d];
    }
    if (active === 0) break;
    clip(trial);
    const res = f(trial);
    evaluations++;
    for (let b = 0; b < batch; b++) {
      if (done[b]) continue;
      const fNew = res.value[b];
      if (Number.isFinite(fNew) && fNew <= value[b] + c1 * step[b] * slope[b]) {
        const s = new Float64Array(dim);
        const y = new Float64Array(dim);
        for (let d = 0; d < dim; d++) {
          const i = b * dim + d;
          s[d] = trial[i] - x[i];
          y[d] = res.grad[i] - grad[i];
          x[i] = trial[i];
          grad[i] = res.grad[i];
        }
        value[b] = fNew;
        if (dot(s, y) > 1e-10) {
          sHist[b].push(s);
          yHist[b].push(y);
          if (sHist[b].length > m) {
            sHist[b].shift();
            yHist[b].shift();
          }
        }
        iterations[b]++;
        if (iterations[b] >= options.maxIter || gnorm(b) <= gtol) done[b] = 1;
        else newDirection(b);
      } else {
        step[b] *= 0.5;
        if (step[b] < 1e-4) done[b] = 1; // no progress along this direction: keep the best point
      }
    }
  }
  return { x, value, grad, evaluations, iterations };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
