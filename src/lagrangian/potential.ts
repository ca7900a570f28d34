import { tf, Rng, type Tensor2D, type Tensor3D } from '../engine/index.js';

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
  epsilon?: number;
}

/**
 * Per-path reference sets for the kernel density: for each path b, k mixture components (centres,
 * weights summing to at most 1). They depend on the condition only, so they are built once per
 * batch of paths, not per point.
 *
 * `logKernelRows` (when present) is the form `evaluate` uses: component j of path b has its own
 * width s_j² = h² + σ_j² (σ_j² the spread of the samples it stands for) and
 *   log(w_j N(q; r_j, s_j² I)) = Σ_f [q − o, ‖q − o‖², 1]_f · logKernelRows[f][b, 0, j]
 * with o the potential's `origin` (centring keeps the float32 expansion accurate). The D + 2 rows
 * are separate [B, 1, k] tensors: slicing one [B, D + 2, k] tensor per call is slow in wasm.
 */
export interface PathReferences {
  refs: Tensor3D; // [B, k, D]
  weights: Tensor2D; // [B, k]
  refsSqNorm: Tensor2D; // [B, k]
  logKernelRows?: Tensor3D[]; // D + 2 tensors [B, 1, k]
}

/** A weighted isotropic Gaussian mixture in output space (float64, row-major centres). */
export interface Mixture {
  centers: Float64Array; // [k, D]
  weights: Float64Array; // [k]
  /** Extra variance per component (added to h²); 0 for a component that is one sample. */
  variances: Float64Array; // [k]
}

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
 */
export class DensityPotential {
  readonly alpha: number;
  readonly bandwidth: number;
  readonly condBandwidth: number;
  readonly cap: number;
  readonly epsilon: number;
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
    // Nadaraya–Watson weights K_hx(x − x_i) / max(Σ_j K_hx(x − x_j), 1e-8), as in exactValue.
    const kx = new Float64Array(n);
    const inv = 1 / (2 * this.condBandwidth * this.condBandwidth);
    const norm = (2 * Math.PI * this.condBandwidth ** 2) ** (-this.cond / 2);
    let total = 0;
    for (let i = 0; i < n; i++) {
      let d2 = 0;
      for (let j = 0; j < this.cond; j++) {
        const diff = condRow[j] - this.x[i * this.cond + j];
        d2 += diff * diff;
      }
      kx[i] = norm * Math.exp(-d2 * inv);
      total += kx[i];
    }
    const denom = Math.max(total, 1e-8);
    const m = clusterMixture(this.y, this.dim, null, (i) => kx[i] / denom, this.assign, this.clusters);
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
    // Rows: D linear coefficients, the ‖q − o‖² coefficient, the constant. Padding components (weight
    // 0) keep a constant of −1e4: their kernel is exactly 0 and passes no gradient.
    const rows = Array.from({ length: d + 2 }, () => new Float32Array(batch * k));
    per.forEach((p, b) => {
      for (let j = p.weights.length; j < k; j++) rows[d + 1][b * k + j] = -1e4;
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
          rows[e][o] = -2 * a * c;
        }
        sq[o] = sqAbs;
        weights[o] = p.weights[j];
        rows[d][o] = a;
        rows[d + 1][o] = a * sqCentred + Math.log(p.weights[j]) - (d / 2) * Math.log(2 * Math.PI * s2);
      }
    });
    return {
      refs: tf.tensor3d(refs, [batch, k, d]),
      weights: tf.tensor2d(weights, [batch, k]),
      refsSqNorm: tf.tensor2d(sq, [batch, k]),
      logKernelRows: rows.map((r) => tf.tensor3d(r, [batch, 1, k])),
    };
  }

  /** U at path points q [B, S, D] given the paths' reference sets → [B, S]. */
  evaluate(q: Tensor3D, refs: PathReferences): Tensor2D {
    let kernel;
    if (refs.logKernelRows) {
      // Σ_f feature_f · row_f as broadcast products [B,S,1]·[B,1,k]: with D + 2 rows this is faster
      // in the wasm backend than a batched matmul of many tiny matrices.
      const d = this.dim;
      const rows = refs.logKernelRows;
      const [b, s] = q.shape;
      const centred = tf.sub(q, tf.tensor1d(this.origin));
      let exponent = tf.add(tf.mul(tf.sum(tf.square(centred), 2, true), rows[d]), rows[d + 1]);
      const flat = tf.reshape(centred, [b * s, d]);
      for (let e = 0; e < d; e++) {
        // Column e by a matmul with a unit vector (fast, unlike a strided slice or split).
        const unit = tf.tensor2d(Array.from({ length: d }, (_, i) => [i === e ? 1 : 0]), [d, 1]);
        const col = tf.reshape(tf.matMul(flat, unit), [b, s, 1]);
        exponent = tf.add(exponent, tf.mul(col, rows[e]));
      }
      kernel = tf.exp(exponent);
    } else {
      // ‖q − r‖² = ‖q‖² − 2 q·r + ‖r‖² by a batched matmul: [B,S,D]·[B,D,k] → [B,S,k].
      const h2 = this.bandwidth * this.bandwidth;
      const logNorm = (-this.dim / 2) * Math.log(2 * Math.PI * h2);
      const qq = tf.sum(tf.square(q), 2, true);
      const cross = tf.matMul(q, refs.refs, false, true);
      const d2 = tf.relu(tf.add(tf.sub(qq, tf.mul(cross, 2)), tf.expandDims(refs.refsSqNorm, 1)));
      kernel = tf.mul(tf.exp(tf.add(tf.mul(d2, -1 / (2 * h2)), logNorm)), tf.expandDims(refs.weights, 1));
    }
    // Σ over components as a matmul with ones: the gradient of a large sum-reduction builds its
    // ones tensor element by element in JS, a matmul's gradient does not.
    const [b, s, k] = kernel.shape as [number, number, number];
    const density = tf.reshape(tf.matMul(tf.reshape(kernel, [b * s, k]), tf.ones([k, 1])), [b, s]);
    return tf.mul(tf.log(tf.add(density, this.epsilon)), this.alpha) as Tensor2D;
  }

  /** Direct O(R) evaluation in float64 for one point and condition, over ALL references (no cap). */
  exactValue(point: ArrayLike<number>, condRow: ArrayLike<number>): number {
    const n = this.y.length / this.dim;
    const h2 = this.bandwidth ** 2;
    const norm = (2 * Math.PI * h2) ** (-this.dim / 2);
    const ky = (i: number) => {
      let d2 = 0;
      for (let d = 0; d < this.dim; d++) d2 += (point[d] - this.y[i * this.dim + d]) ** 2;
      return norm * Math.exp(-d2 / (2 * h2));
    };
    let p = 0;
    if (this.categorical) {
      let count = 0;
      for (let i = 0; i < n; i++) if (this.x[i] === condRow[0]) { p += ky(i); count++; }
      p /= Math.max(count, 1);
    } else if (this.cond === 0) {
      for (let i = 0; i < n; i++) p += ky(i);
      p /= n;
    } else {
      const hx2 = this.condBandwidth ** 2;
      const nx = (2 * Math.PI * hx2) ** (-this.cond / 2);
      let num = 0;
      let den = 0;
      for (let i = 0; i < n; i++) {
        let d2 = 0;
        for (let j = 0; j < this.cond; j++) d2 += (condRow[j] - this.x[i * this.cond + j]) ** 2;
        const kx = nx * Math.exp(-d2 / (2 * hx2));
        num += ky(i) * kx;
        den += kx;
      }
      p = num / Math.max(den, 1e-8);
    }
    return this.alpha * Math.log(p + this.epsilon);
  }
}

export function disposeReferences(r: PathReferences): void {
  r.refs.dispose();
  r.weights.dispose();
  r.refsSqNorm.dispose();
  if (r.logKernelRows) tf.dispose(r.logKernelRows);
}
