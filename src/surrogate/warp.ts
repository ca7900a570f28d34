/**
 * Where a λ sits along the surrogate's paths. Real families do not move at constant speed in λ
 * (extreme settings blow up late), so the position inside an interval need not be linear in λ.
 * A time warp is a monotone map from λ to a progress coordinate u ∈ [0, K]: u = k exactly at
 * anchor k, and λ answers on interval k = ⌊u⌋ at position s = u − k along its paths. Between its
 * knots it is the monotone cubic (Fritsch–Carlson) interpolant, so the speed varies smoothly and
 * never reverses. Without inner knots and with linear slopes it is the plain linear position.
 */

/** Knots (λ_i, u_i): λ strictly increasing, u non-decreasing, u = k at the K + 1 anchors. */
export interface WarpKnots {
  lambdas: number[];
  progress: number[];
}

/**
 * Fritsch–Carlson slopes of the monotone cubic Hermite interpolant through (x_i, y_i), y
 * non-decreasing: secants, their harmonic-style average at inner knots, one-sided end slopes, and
 * the α² + β² ≤ 9 limiter that keeps every segment monotone.
 */
export function monotoneSlopes(x: number[], y: number[]): number[] {
  const n = x.length;
  if (n < 2) throw new Error('a monotone interpolant needs at least 2 knots');
  const h = Array.from({ length: n - 1 }, (_, i) => x[i + 1] - x[i]);
  const delta = h.map((hi, i) => (y[i + 1] - y[i]) / hi);
  if (n === 2) return [delta[0], delta[0]];
  const m = new Array<number>(n).fill(0);
  for (let i = 1; i < n - 1; i++) {
    if (delta[i - 1] * delta[i] <= 0) continue;
    // Weighted harmonic mean (Fritsch–Butland), which already satisfies the monotonicity bound.
    const w1 = 2 * h[i] + h[i - 1];
    const w2 = h[i] + 2 * h[i - 1];
    m[i] = (w1 + w2) / (w1 / delta[i - 1] + w2 / delta[i]);
  }
  const end = (d0: number, d1: number, h0: number, h1: number): number => {
    // Three-point one-sided estimate, clipped to keep the end segment monotone.
    let s = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1);
    if (s * d0 <= 0) s = 0;
    else if (d0 * d1 <= 0 && Math.abs(s) > Math.abs(3 * d0)) s = 3 * d0;
    return s;
  };
  m[0] = end(delta[0], delta[1], h[0], h[1]);
  m[n - 1] = end(delta[n - 2], delta[n - 3], h[n - 2], h[n - 3]);
  for (let i = 0; i < n - 1; i++) {
    if (delta[i] === 0) {
      m[i] = 0;
      m[i + 1] = 0;
      continue;
    }
    const a = m[i] / delta[i];
    const b = m[i + 1] / delta[i];
    const r = a * a + b * b;
    if (r > 9) {
      const t = 3 / Math.sqrt(r);
      m[i] = t * a * delta[i];
      m[i + 1] = t * b * delta[i];
    }
  }
  return m;
}

/** Value of the cubic Hermite interpolant with slopes m at x (clamped to the knot range). */
export function hermiteAt(x: number[], y: number[], m: number[], at: number): number {
  const n = x.length;
  if (at <= x[0]) return y[0];
  if (at >= x[n - 1]) return y[n - 1];
  let i = 0;
  while (i < n - 2 && at > x[i + 1]) i++;
  const h = x[i + 1] - x[i];
  const t = (at - x[i]) / h;
  const t2 = t * t;
  const t3 = t2 * t;
  return (2 * t3 - 3 * t2 + 1) * y[i] + (t3 - 2 * t2 + t) * h * m[i] + (-2 * t3 + 3 * t2) * y[i + 1] + (t3 - t2) * h * m[i + 1];
}

/** A monotone map from λ to progress u ∈ [0, K] through its knots. */
export class TimeWarp {
  readonly knots: WarpKnots;
  private readonly slopes: number[];

  constructor(
    readonly anchors: number[],
    knots?: WarpKnots,
  ) {
    this.knots = knots ?? { lambdas: anchors.slice(), progress: anchors.map((_, k) => k) };
    checkKnots(anchors, this.knots);
    // Only anchors: each interval is linear in λ (the plain position), not a cubic through them.
    this.slopes = this.isLinear() ? [] : monotoneSlopes(this.knots.lambdas, this.knots.progress);
  }

  /** True when the warp is the plain linear position inside each interval. */
  isLinear(): boolean {
    return this.knots.lambdas.length === this.anchors.length;
  }

  /** Progress u at λ (λ within the anchor range). */
  progress(lambda: number): number {
    const { lambdas, progress } = this.knots;
    if (this.isLinear()) {
      const last = lambdas.length - 2;
      let k = 0;
      while (k < last && lambda > lambdas[k + 1]) k++;
      const s = (lambda - lambdas[k]) / (lambdas[k + 1] - lambdas[k]);
      return k + Math.min(1, Math.max(0, s));
    }
    return hermiteAt(lambdas, progress, this.slopes, lambda);
  }

  /**
   * The interval k and the position s ∈ [0, 1] along its paths at λ. At an anchor this is (k, 0)
   * or, at the last anchor, (K − 1, 1).
   */
  position(lambda: number): { k: number; s: number } {
    const last = this.anchors.length - 2;
    const a = this.anchors.findIndex((l) => l === lambda);
    if (a >= 0) return a > last ? { k: last, s: 1 } : { k: a, s: 0 };
    const u = this.progress(lambda);
    const k = Math.min(last, Math.max(0, Math.floor(u)));
    return { k, s: Math.min(1, Math.max(0, u - k)) };
  }

  toJSON(): WarpKnots {
    return { lambdas: this.knots.lambdas.slice(), progress: this.knots.progress.slice() };
  }
}

/** Check knots: finite, λ strictly increasing within the anchor range, u non-decreasing, u = k at anchor k. */
export function checkKnots(anchors: number[], knots: WarpKnots): void {
  const { lambdas, progress } = knots;
  const bad = (why: string) => new Error(`time warp: ${why}`);
  if (!Array.isArray(lambdas) || !Array.isArray(progress) || lambdas.length !== progress.length) throw bad('knot lists of different lengths');
  if (![...lambdas, ...progress].every((v) => typeof v === 'number' && Number.isFinite(v))) throw bad('a knot is not a finite number');
  for (let i = 1; i < lambdas.length; i++) {
    if (!(lambdas[i] > lambdas[i - 1])) throw bad('knot λ values must be strictly increasing');
    if (progress[i] < progress[i - 1]) throw bad('progress must not decrease');
  }
  anchors.forEach((l, k) => {
    const i = lambdas.indexOf(l);
    if (i < 0 || progress[i] !== k) throw bad(`anchor λ = ${l} must be a knot with progress ${k}`);
  });
  if (lambdas[0] !== anchors[0] || lambdas[lambdas.length - 1] !== anchors[anchors.length - 1]) throw bad('knots must span exactly the anchor range');
}
