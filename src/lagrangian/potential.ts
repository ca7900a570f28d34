import { tf, Rng, lastAxisColumns, logSumExpLastAxis, sumLastAxis, type Tensor, type Tensor2D, type Tensor3D } from '../engine/index.js';

export interface PotentialOptions {
  /** Weight α of U = α log(p̂ + ε). */
  alpha: number;
  /** Output-space bandwidth h_y. */
  bandwidth: number;
  /** Condition-space bandwidth h_x (continuous conditions). */
  condBandwidth?: number;
  /**
   * Mixture components kept per path (default 256). Reference sets up to this size are used
   * exactly; larger ones are compressed by k-means into at most `cap` weighted Gaussians.
   */
  cap?: number;
  /**
   * Density floor ε of U = α log(p̂ + ε) for D = 2 (default 1e-8); in D dimensions the floor is
   * ε^(D/2), i.e. √ε per unit length in every dimension. A density has units length^(−D): a fixed
   * floor would swamp p̂ in high D (at D = 32 a KDE rarely exceeds 1e-8 anywhere) and flatten U.
   */
  epsilon?: number;
}

/**
 * Per-path reference sets for the kernel density: for each path b, k mixture components (centres,
 * weights summing to at most 1). They depend on the condition only, so they are built once per
 * batch of paths, not per point.
 *
 * `logKernel` (when present) is the form `evaluate` uses: component j of path b has its own
 * width s_j² = h² + σ_j² (σ_j² the spread of the samples it stands for) and
 *   log(w_j N(q; r_j, s_j² I)) = (q − o)·linear[b, :, j] + ‖q − o‖² quadratic[b, 0, j] + constant[b, 0, j]
 * with o the potential's `origin` (centring keeps the float32 expansion accurate): one matmul
 * [S, D]·[D, k] per path, whatever D is.
 */
export interface PathReferences {
  refs: Tensor3D; // [B, k, D]
  weights: Tensor2D; // [B, k]
  refsSqNorm: Tensor2D; // [B, k]
  logKernel?: {
    linear: Tensor3D; // [B, D, k]
    quadratic: Tensor3D; // [B, 1, k]
    constant: Tensor3D; // [B, 1, k]
    /**
     * When present, [B, 1]: each path's highest component peak m_b = max_j log(w_j N(0; 0, s_j² I)),
     * already subtracted from `constant`. Every exponent is then ≤ 0, and the density is
     * exp(m_b) Σ_j exp(exponent_j) without a per-point maximum (set only where m_b is within
     * PEAK_SHIFT_MAX_GAP of the floor, so that a sum that underflows lies far below the floor).
     */
    peak?: Tensor2D;
  };
}

/** A weighted isotropic Gaussian mixture in output space (float64, row-major centres). */
export interface Mixture {
  centers: Float64Array; // [k, D]
  weights: Float64Array; // [k]
  /** Extra variance per component (added to h²); 0 for a component that is one sample. */
  variances: Float64Array; // [k]
}

/**
 * Largest gap between a path's highest component peak and the log density floor for which the
 * exponents are shifted by that peak instead of by a per-point maximum: a float32 sum of kernels
 * underflows below e^(−87) of the peak, which is then below e^(−27) of the floor (U exact to 1e-12).
 */
const PEAK_SHIFT_MAX_GAP = 60;
/** Added to a peak-shifted kernel sum before its log (float32's smallest normal): keeps log finite. */
const TINY = 1.2e-38;
/** Up to this D the per-path kernel exponents are built from broadcast products, above by a batched matmul. */
const BROADCAST_MAX_DIM = 4;
/** Samples k-means is fitted on at most (all samples are then assigned to the centres). */
const KMEANS_FIT_MAX = 8192;
const KMEANS_ITERATIONS = 25;
/** Continuous conditions whose mixtures are kept between batches (the training batch repeats). */
const CONDITION_CACHE_MAX = 8192;

/**
 * Seeded k-means (k-means++ start, Lloyd iterations) of n points [n, D]; returns each point's
 * cluster id. With n ≤ k every point is its own cluster.
 */
export function kmeansAssign(points: ArrayLike<number>, n: number, dim: number, k: number, rng: Rng): { assign: Int32Array; clusters: number } {
  const assign = new Int32Array(n);
  if (n <= k) {
    for (let i = 0; i < n; i++) assign[i] = i;
    return { assign, clusters: n };
  }
  const fit = n > KMEANS_FIT_MAX ? rng.sample(n, KMEANS_FIT_MAX) : Int32Array.from({ length: n }, (_, i) => i);
  const m = fit.length;
  const centers = new Float64Array(k * dim);
  const dist2 = (i: number, c: number) => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += (points[i * dim + d] - centers[c * dim + d]) ** 2;
    return s;
  };
  const setCenter = (c: number, i: number) => {
    for (let d = 0; d < dim; d++) centers[c * dim + d] = points[i * dim + d];
  };
  // k-means++: each new centre drawn with probability ∝ squared distance to the nearest chosen one.
  setCenter(0, fit[rng.int(m)]);
  const near = new Float64Array(m);
  for (let j = 0; j < m; j++) near[j] = dist2(fit[j], 0);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let j = 0; j < m; j++) total += near[j];
    let r = rng.next() * total;
    let pick = m - 1;
    for (let j = 0; j < m; j++) {
      r -= near[j];
      if (r <= 0) {
        pick = j;
        break;
      }
    }
    setCenter(c, fit[pick]);
    for (let j = 0; j < m; j++) near[j] = Math.min(near[j], dist2(fit[j], c));
  }
  const nearest = (i: number) => {
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      const v = dist2(i, c);
      if (v < bestD) {
        bestD = v;
        best = c;
      }
    }
    return best;
  };
  const fitAssign = new Int32Array(m).fill(-1);
  const sums = new Float64Array(k * dim);
  const counts = new Float64Array(k);
  for (let it = 0; it < KMEANS_ITERATIONS; it++) {
    let changed = 0;
    for (let j = 0; j < m; j++) {
      const c = nearest(fit[j]);
      if (c !== fitAssign[j]) changed++;
      fitAssign[j] = c;
    }
    if (changed === 0) break;
    sums.fill(0);
    counts.fill(0);
    for (let j = 0; j < m; j++) {
      const c = fitAssign[j];
      counts[c]++;
      for (let d = 0; d < dim; d++) sums[c * dim + d] += points[fit[j] * dim + d];
    }
    for (let c = 0; c < k; c++) if (counts[c] > 0) for (let d = 0; d < dim; d++) centers[c * dim + d] = sums[c * dim + d] / counts[c];
  }
  for (let i = 0; i < n; i++) assign[i] = nearest(i);
  return { assign, clusters: k };
}

/**
 * Moment-matched mixture of weighted samples grouped by cluster: per cluster the total weight, the
 * weighted mean and the weighted isotropic variance. Clusters without weight are dropped.
 */
export function clusterMixture(
  y: ArrayLike<number>,
  dim: number,
  members: Int32Array | null,
  weight: (j: number) => number,
  assign: Int32Array,
  clusters: number,
): Mixture {
  // members[j] is the sample behind weight(j) and assign[j]; null: sample j itself.
  const count = members ? members.length : y.length / dim;
  const w = new Float64Array(clusters);
  const sum = new Float64Array(clusters * dim);
  const sq = new Float64Array(clusters);
  for (let j = 0; j < count; j++) {
    const wj = weight(j);
    if (wj === 0) continue;
    const i = members ? members[j] : j;
    const c = assign[j];
    w[c] += wj;
    for (let d = 0; d < dim; d++) {
      const v = y[i * dim + d];
      sum[c * dim + d] += wj * v;
      sq[c] += wj * v * v;
    }
  }
  const kept: number[] = [];
  for (let c = 0; c < clusters; c++) if (w[c] > 0) kept.push(c);
  const centers = new Float64Array(kept.length * dim);
  const weights = new Float64Array(kept.length);
  const variances = new Float64Array(kept.length);
  kept.forEach((c, k) => {
    let meanSq = 0;
    for (let d = 0; d < dim; d++) {
      const mu = sum[c * dim + d] / w[c];
      centers[k * dim + d] = mu;
      meanSq += mu * mu;
    }
    weights[k] = w[c];
    // E‖y‖² − ‖E y‖², per dimension; clamped: round-off can make a one-sample cluster slightly negative.
    variances[k] = Math.max(0, (sq[c] / w[c] - meanSq) / dim);
  });
  return { centers, weights, variances };
}

/**
 * Density potential U(q | x) = α log(p̂(q | x) + ε) from pooled anchor samples: per-class KDE
 * for categorical x, Nadaraya–Watson for continuous x.
 *
 * Cost control (the potential is on the hot path): a reference set larger than `cap` is replaced by
 * at most `cap` moment-matched Gaussians from a seeded k-means of the outputs (per class when
 * categorical; over all pooled outputs otherwise, with each path's Nadaraya–Watson weights summed
 * per cluster). Unlike a random subsample this keeps every sample's mass, so sparse regions are not
 * mistaken for empty ones; the test on the shared datasets bounds the change in U.
 *
 * High D: U is computed in log space, α · logaddexp(log p̂, log ε_D) with log p̂ a log-sum-exp over
 * the components, so kernels never underflow (in float32 exp(−104) is already 0, and a kernel's
 * normaliser alone is (2π h²)^(−D/2)); the floor ε_D = ε^(D/2) scales with D (see `epsilon`).
 */
export class DensityPotential {
  readonly alpha: number;
  readonly bandwidth: number;
  readonly condBandwidth: number;
  readonly cap: number;
  readonly epsilon: number;
  /** log of the density floor in D dimensions, (D/2) log ε. */
  readonly logFloor: number;
  readonly dim: number;
  readonly cond: number;
  readonly categorical: boolean;
  /** Pooled outputs [R, D] and conditions [R, C]. */
  readonly y: Float32Array;
  readonly x: Float32Array;
  /** Mean of the pooled outputs: kernels are computed in coordinates centred here (float32 accuracy). */
  readonly origin: Float32Array;
  private readonly byClass = new Map<number, Mixture>();
  /** Continuous/unconditional: cluster id of every pooled sample. */
  private assign: Int32Array = new Int32Array(0);
  private clusters = 0;
  private unconditional: Mixture | null = null;
  private readonly conditionCache = new Map<string, Mixture>();

  constructor(y: Float32Array, x: Float32Array, dim: number, cond: number, categorical: boolean, options: PotentialOptions, seed = 0) {
    if (!(options.bandwidth > 0)) throw new Error(`potential bandwidth must be positive, got ${options.bandwidth}`);
    const cap = options.cap ?? 256;
    if (!Number.isInteger(cap) || cap < 1) throw new Error(`potential cap must be a positive integer, got ${cap}`);
    if (!categorical && cond > 0 && !((options.condBandwidth ?? 1) > 0)) {
      throw new Error(`potential condition bandwidth must be positive, got ${options.condBandwidth}`);
    }
    this.alpha = options.alpha;
    this.bandwidth = options.bandwidth;
    this.condBandwidth = options.condBandwidth ?? 1;
    this.cap = cap;
    this.epsilon = options.epsilon ?? 1e-8;
    if (!(this.epsilon > 0)) throw new Error(`potential epsilon must be positive, got ${this.epsilon}`);
    this.logFloor = (dim / 2) * Math.log(this.epsilon);
    this.dim = dim;
    this.cond = cond;
    this.categorical = categorical;
    this.y = y;
    this.x = x;
    const n = y.length / dim;
    const origin = new Float64Array(dim);
    for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) origin[d] += y[i * dim + d] / n;
    this.origin = Float32Array.from(origin);
    const rng = new Rng(seed);
    if (categorical) {
      const classes = new Map<number, number[]>();
      for (let i = 0; i < n; i++) {
        const c = x[i];
        if (!classes.has(c)) classes.set(c, []);
        classes.get(c)!.push(i);
      }
      for (const [c, members] of [...classes].sort((a, b) => a[0] - b[0])) {
        const pts = new Float64Array(members.length * dim);
        members.forEach((i, j) => {
          for (let d = 0; d < dim; d++) pts[j * dim + d] = y[i * dim + d];
        });
        const { assign, clusters } = kmeansAssign(pts, members.length, dim, cap, rng.fork(`class ${c}`));
        const w = 1 / members.length;
        this.byClass.set(c, clusterMixture(y, dim, Int32Array.from(members), () => w, assign, clusters));
      }
    } else {
      const { assign, clusters } = kmeansAssign(y, n, dim, cap, rng.fork('pooled'));
      this.assign = assign;
      this.clusters = clusters;
    }
  }

  /** The mixture standing for p̂(· | x) for one condition row (float64). */
  mixtureFor(condRow: ArrayLike<number>): Mixture {
    const n = this.y.length / this.dim;
    if (this.categorical) {
      const m = this.byClass.get(condRow[0]);
      if (!m) throw new Error(`class ${condRow[0]} has no samples for the density potential`);
      return m;
    }
    if (this.cond === 0) {
      this.unconditional ??= clusterMixture(this.y, this.dim, null, () => 1 / n, this.assign, this.clusters);
      return this.unconditional;
    }
    const key = Array.prototype.join.call(condRow, ',');
    const hit = this.conditionCache.get(key);
    if (hit) return hit;
    // Nadaraya–Watson weights K_hx(x − x_i) / max(Σ_j K_hx(x − x_j), 1e-8), as in exactValue,
    // from log kernels shifted by their maximum (many condition dimensions underflow exp otherwise).
    const logKx = new Float64Array(n);
    const inv = 1 / (2 * this.condBandwidth * this.condBandwidth);
    const logNorm = (-this.cond / 2) * Math.log(2 * Math.PI * this.condBandwidth ** 2);
    let top = -Infinity;
    for (let i = 0; i < n; i++) {
      let d2 = 0;
      for (let j = 0; j < this.cond; j++) {
        const diff = condRow[j] - this.x[i * this.cond + j];
        d2 += diff * diff;
      }
      logKx[i] = logNorm - d2 * inv;
      if (logKx[i] > top) top = logKx[i];
    }
    let shifted = 0;
    for (let i = 0; i < n; i++) shifted += Math.exp(logKx[i] - top);
    const logDenom = Math.max(top + Math.log(shifted), Math.log(1e-8));
    const kx = Float64Array.from(logKx, (l) => Math.exp(l - logDenom));
    const m = clusterMixture(this.y, this.dim, null, (i) => kx[i], this.assign, this.clusters);
    if (this.conditionCache.size >= CONDITION_CACHE_MAX) this.conditionCache.clear();
    this.conditionCache.set(key, m);
    return m;
  }

  /** Build per-path reference tensors for a batch of conditions [B, C] (JS array, row-major). */
  pathReferences(conds: Float32Array, batch: number): PathReferences {
    let per = Array.from({ length: batch }, (_, b) => this.mixtureFor(conds.subarray(b * this.cond, (b + 1) * this.cond)));
    // Paths that all share one condition (a class, a state) share one reference set: build it once
    // with batch 1 and let it broadcast (cost matrices evaluate thousands of such paths).
    if (per.every((p) => p === per[0])) {
      per = per.slice(0, 1);
      batch = 1;
    }
    const d = this.dim;
    const k = per.reduce((m, p) => Math.max(m, p.weights.length), 1);
    const h2 = this.bandwidth * this.bandwidth;
    const refs = new Float32Array(batch * k * d);
    const weights = new Float32Array(batch * k);
    const sq = new Float32Array(batch * k);
    // Padding components (weight 0) keep a constant of −1e30: their kernel is exactly 0 and passes
    // no gradient (the log-sum-exp subtracts a real component's exponent first).
    const linear = new Float32Array(batch * d * k);
    const quadratic = new Float32Array(batch * k);
    const constant = new Float32Array(batch * k).fill(-1e30);
    const peaks = new Float64Array(batch).fill(-Infinity);
    per.forEach((p, b) => {
      for (let j = 0; j < p.weights.length; j++) {
        const o = b * k + j;
        const s2 = h2 + p.variances[j];
        const a = -1 / (2 * s2);
        // a‖q − r‖² = a‖q'‖² − 2a q'·r' + a‖r'‖² in coordinates centred on the origin.
        let sqAbs = 0;
        let sqCentred = 0;
        for (let e = 0; e < d; e++) {
          const v = p.centers[j * d + e];
          const c = v - this.origin[e];
          refs[o * d + e] = v;
          sqAbs += v * v;
          sqCentred += c * c;
          linear[(b * d + e) * k + j] = -2 * a * c;
        }
        sq[o] = sqAbs;
        weights[o] = p.weights[j];
        quadratic[o] = a;
        constant[o] = a * sqCentred + Math.log(p.weights[j]) - (d / 2) * Math.log(2 * Math.PI * s2);
        peaks[b] = Math.max(peaks[b], Math.log(p.weights[j]) - (d / 2) * Math.log(2 * Math.PI * s2));
      }
    });
    // Shift by each path's peak when every path's peak is near enough the floor (see logKernel.peak).
    const shift = peaks.every((m) => m === -Infinity || m - this.logFloor < PEAK_SHIFT_MAX_GAP);
    if (shift) {
      peaks.forEach((m, b) => {
        if (m === -Infinity) peaks[b] = 0;
        for (let j = 0; j < k; j++) constant[b * k + j] -= peaks[b];
      });
    }
    return {
      refs: tf.tensor3d(refs, [batch, k, d]),
      weights: tf.tensor2d(weights, [batch, k]),
      refsSqNorm: tf.tensor2d(sq, [batch, k]),
      logKernel: {
        linear: tf.tensor3d(linear, [batch, d, k]),
        quadratic: tf.tensor3d(quadratic, [batch, 1, k]),
        constant: tf.tensor3d(constant, [batch, 1, k]),
        ...(shift ? { peak: tf.tensor2d(Float32Array.from(peaks), [batch, 1]) } : {}),
      },
    };
  }

  /** U at path points q [B, S, D] given the paths' reference sets → [B, S]. */
  evaluate(q: Tensor3D, refs: PathReferences): Tensor2D {
    const [b, s, d] = q.shape;
    let exponent: Tensor3D; // log of each component's weighted kernel, [B, S, k]
    let peak: Tensor2D | null = null; // a per-path shift already taken out of the exponents
    if (refs.logKernel) {
      peak = refs.logKernel.peak ?? null;
      const { linear, quadratic, constant } = refs.logKernel;
      const k = linear.shape[2];
      const centred = tf.sub(q, tf.tensor1d(this.origin)) as Tensor3D;
      let cross: Tensor;
      if (linear.shape[0] === 1) {
        // Paths sharing one reference set: one plain [B·S, D]·[D, k] matmul.
        cross = tf.reshape(tf.matMul(tf.reshape(centred, [b * s, d]), tf.reshape(linear, [d, k])), [b, s, k]);
      } else if (d <= BROADCAST_MAX_DIM) {
        // Few dimensions: Σ_e q_e · linear[:, e, :] as broadcast products [B,S,1]·[B,1,k] is faster
        // in wasm than a batched matmul of many tiny matrices.
        const cols = lastAxisColumns(centred);
        const rows = lastAxisColumns(tf.transpose(linear, [0, 2, 1]));
        cross = tf.addN(cols.map((c, e) => tf.mul(tf.expandDims(c, 2), tf.expandDims(rows[e], 1))));
      } else {
        cross = tf.matMul(centred, linear);
      }
      exponent = tf.add(tf.add(cross, tf.mul(sumLastAxis(tf.square(centred)), quadratic)), constant) as Tensor3D;
    } else {
      // ‖q − r‖² = ‖q‖² − 2 q·r + ‖r‖² by a batched matmul: [B,S,D]·[B,D,k] → [B,S,k].
      const h2 = this.bandwidth * this.bandwidth;
      const logNorm = (-this.dim / 2) * Math.log(2 * Math.PI * h2);
      const qq = sumLastAxis(tf.square(q));
      const cross = tf.matMul(q, refs.refs, false, true);
      const d2 = tf.relu(tf.add(tf.sub(qq, tf.mul(cross, 2)), tf.expandDims(refs.refsSqNorm, 1)));
      exponent = tf.add(tf.add(tf.mul(d2, -1 / (2 * h2)), logNorm), tf.expandDims(tf.log(refs.weights), 1)) as Tensor3D;
    }
    // log(p̂ + ε_D) = log ε_D + softplus(log p̂ − log ε_D): finite for any D and distance.
    const logDensity = peak
      ? tf.add(tf.log(tf.add(tf.reshape(sumLastAxis(tf.exp(exponent)), [b, s]), TINY)), peak)
      : logSumExpLastAxis(exponent);
    return tf.mul(tf.add(tf.softplus(tf.sub(logDensity, this.logFloor)), this.logFloor), this.alpha) as Tensor2D;
  }

  /**
   * Direct O(R) evaluation in float64 for one point and condition, over ALL references (no cap):
   * sums of kernels in log space (log-sum-exp), then α log(p̂ + ε_D).
   */
  exactValue(point: ArrayLike<number>, condRow: ArrayLike<number>): number {
    const n = this.y.length / this.dim;
    const h2 = this.bandwidth ** 2;
    const logNorm = (-this.dim / 2) * Math.log(2 * Math.PI * h2);
    const logKy = (i: number) => {
      let d2 = 0;
      for (let d = 0; d < this.dim; d++) d2 += (point[d] - this.y[i * this.dim + d]) ** 2;
      return logNorm - d2 / (2 * h2);
    };
    let logP: number;
    if (this.categorical) {
      const terms: number[] = [];
      for (let i = 0; i < n; i++) if (this.x[i] === condRow[0]) terms.push(logKy(i));
      logP = logSumExp(terms) - Math.log(Math.max(terms.length, 1));
    } else if (this.cond === 0) {
      logP = logSumExp(Array.from({ length: n }, (_, i) => logKy(i))) - Math.log(n);
    } else {
      const hx2 = this.condBandwidth ** 2;
      const logNx = (-this.cond / 2) * Math.log(2 * Math.PI * hx2);
      const num: number[] = [];
      const den: number[] = [];
      for (let i = 0; i < n; i++) {
        let d2 = 0;
        for (let j = 0; j < this.cond; j++) d2 += (condRow[j] - this.x[i * this.cond + j]) ** 2;
        const logKx = logNx - d2 / (2 * hx2);
        num.push(logKy(i) + logKx);
        den.push(logKx);
      }
      logP = logSumExp(num) - Math.max(logSumExp(den), Math.log(1e-8));
    }
    const hi = Math.max(logP, this.logFloor);
    return this.alpha * (hi + Math.log(Math.exp(logP - hi) + Math.exp(this.logFloor - hi)));
  }
}

/** log Σ exp(v_i) in float64 (−∞ for an empty list). */
function logSumExp(v: number[]): number {
  let top = -Infinity;
  for (const x of v) if (x > top) top = x;
  if (top === -Infinity) return -Infinity;
  let s = 0;
  for (const x of v) s += Math.exp(x - top);
  return top + Math.log(s);
}

export function disposeReferences(r: PathReferences): void {
  r.refs.dispose();
  r.weights.dispose();
  r.refsSqNorm.dispose();
  if (r.logKernel) tf.dispose([r.logKernel.linear, r.logKernel.quadratic, r.logKernel.constant, ...(r.logKernel.peak ? [r.logKernel.peak] : [])]);
}
