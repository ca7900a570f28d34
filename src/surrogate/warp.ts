/**
 * Where a λ sits along the surrogate's paths. Real families do not move at constant speed in λ
 * (extreme settings blow up late), so the position inside an interval need not be linear in λ.
 * A time warp is a monotone map from λ to a progress coordinate u ∈ [0, K]: u = k exactly at
 * anchor k, and λ answers on interval k = ⌊u⌋ at position s = u − k along its paths. Between its
 * knots it is the monotone cubic (Fritsch–Carlson) interpolant, so the speed varies smoothly and
 * never reverses. Without inner knots and with linear slopes it is the plain linear position.
 */

import { LAMBDA_SCALES, type LambdaScale } from '../data/dataset.js';

export { LAMBDA_SCALES, type LambdaScale };

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

/**
 * The coordinate in which a hyperparameter moves at constant speed when nothing else is known.
 * Many hyperparameters act on a network through a transform of their value, not the value itself:
 * a quantile level τ through the tail of the output distribution (its odds), a dropout rate p through
 * the rescaling 1/(1 − p), a learning rate through its order of magnitude. A family then moves slowly
 * over most of the λ range and fast near an end. The time warp is shaped in this coordinate: with no
 * held-out information, progress is linear in it between anchors; with calibrated knots, the warp
 * between them is a monotone cubic in it.
 *   linear  λ
 *   log     ln λ              (λ > 0: scale parameters such as learning rates or weights)
 *   logit   ln(λ / (1 − λ))   (0 < λ < 1: levels whose both ends are extreme, e.g. quantile levels)
 *   log1m   −ln(1 − λ)        (λ < 1: rates whose effect grows without bound towards 1, e.g. dropout)
 */
interface Coordinate {
  to: (lambda: number) => number;
  from: (x: number) => number;
  /** Whether λ lies in the domain, and the domain in words (for errors). */
  valid: (lambda: number) => boolean;
  domain: string;
}

const COORDINATES: Record<LambdaScale, Coordinate> = {
  linear: { to: (l) => l, from: (x) => x, valid: Number.isFinite, domain: 'any finite λ' },
  log: { to: Math.log, from: Math.exp, valid: (l) => l > 0 && Number.isFinite(l), domain: 'λ > 0' },
  logit: { to: (l) => Math.log(l / (1 - l)), from: (x) => 1 / (1 + Math.exp(-x)), valid: (l) => l > 0 && l < 1, domain: '0 < λ < 1' },
  log1m: { to: (l) => -Math.log1p(-l), from: (x) => -Math.expm1(-x), valid: (l) => l < 1 && Number.isFinite(l), domain: 'λ < 1' },
};

/** The scale's coordinate x = g(λ), its inverse, and its domain. */
export function scaleCoordinate(scale: LambdaScale): Coordinate {
  const c = COORDINATES[scale];
  if (!c) throw new Error(`unknown λ scale ${JSON.stringify(scale)} (expected auto, ${LAMBDA_SCALES.join(', ')})`);
  return c;
}

/**
 * The scale `auto` picks from the anchors alone: logit when every anchor lies strictly between 0
 * and 1, log1m when they lie in [0, 1) (0 included), linear otherwise. Chosen by measurement on
 * the README's families; held-out levels, where a fit has them, can still overrule it.
 */
export function autoScale(anchors: number[]): LambdaScale {
  if (anchors.every((l) => l > 0 && l < 1)) return 'logit';
  if (anchors.every((l) => l >= 0 && l < 1)) return 'log1m';
  return 'linear';
}

/** A concrete scale for `anchors`: `auto` resolved, a named scale checked against its domain. */
export function resolveScale(scale: LambdaScale | 'auto' | undefined, anchors: number[]): LambdaScale {
  if (scale === undefined || scale === 'auto') return autoScale(anchors);
  const c = scaleCoordinate(scale);
  const outside = anchors.find((l) => !c.valid(l));
  if (outside !== undefined) throw new Error(`λ scale '${scale}' needs ${c.domain}, but anchor λ = ${outside} is outside it`);
  return scale;
}

/** Knots sampled per interval when a warp is drawn from a curve rather than only its knots. */
export const CURVE_KNOTS = 8;

/**
 * The CURVE_KNOTS points strictly inside (from, to) spaced evenly in the coordinate `g`: each one's
 * λ, coordinate x, and fraction t ∈ (0, 1) of the way in the coordinate. Points that round onto an
 * end are left out.
 */
export function coordinateSamples(g: Coordinate, from: number, to: number): { lambda: number; x: number; t: number }[] {
  const x0 = g.to(from);
  const x1 = g.to(to);
  const out: { lambda: number; x: number; t: number }[] = [];
  for (let q = 1; q <= CURVE_KNOTS; q++) {
    const t = q / (CURVE_KNOTS + 1);
    const x = x0 + (x1 - x0) * t;
    const lambda = g.from(x);
    if (lambda > from && lambda < to) out.push({ lambda, x, t });
  }
  return out;
}

/**
 * A warp through `knots` shaped in the scale's coordinate. Progress is turned into distance along
 * the family (interval k covers `spans[k]`; equal spans when not given), the monotone cubic of
 * distance against the coordinate is drawn through the knots, and it is sampled at CURVE_KNOTS
 * points per interval spaced evenly in the coordinate, which become knots in λ (where the final
 * warp's cubic in λ follows them). The given knots are kept. With the linear scale and one interval
 * or equal spans, the knots are returned unchanged (the warp's own cubic in λ is that shape).
 */
export function shapeWarp(anchors: number[], knots: WarpKnots, scale: LambdaScale, spans?: number[]): WarpKnots {
  const intervals = anchors.length - 1;
  const widths = spans ?? anchors.slice(1).map(() => 1);
  if (widths.length !== intervals) throw new Error(`shapeWarp: ${widths.length} spans for ${intervals} intervals`);
  if (scale === 'linear' && (intervals < 2 || !spans)) return knots;
  const g = scaleCoordinate(scale);
  const start = [0];
  for (let k = 0; k < intervals; k++) start.push(start[k] + widths[k]);
  const x = knots.lambdas.map(g.to);
  const distance = knots.progress.map((u) => {
    const k = Math.min(intervals - 1, Math.floor(u));
    return start[k] + (u - k) * widths[k];
  });
  const slopes = monotoneSlopes(x, distance);
  const out = knots.lambdas.map((l, i) => ({ l, u: knots.progress[i] }));
  for (let k = 0; k < intervals; k++) {
    const width = anchors[k + 1] - anchors[k];
    for (const p of coordinateSamples(g, anchors[k], anchors[k + 1])) {
      if (out.some((o) => Math.abs(o.l - p.lambda) < 1e-6 * width)) continue;
      const s = (hermiteAt(x, distance, slopes, p.x) - start[k]) / widths[k];
      out.push({ l: p.lambda, u: k + Math.min(1, Math.max(0, s)) });
    }
  }
  out.sort((p, q) => p.l - q.l);
  // Round-off must not reverse progress between neighbouring knots.
  for (let i = 1; i < out.length; i++) out[i].u = Math.max(out[i].u, out[i - 1].u);
  return { lambdas: out.map((p) => p.l), progress: out.map((p) => p.u) };
}

/**
 * The warp of a fit with no held-out information: progress linear in the scale's coordinate within
 * each interval, sampled at CURVE_KNOTS points (none for the linear scale: the plain position).
 */
export function priorWarp(anchors: number[], scale: LambdaScale): WarpKnots | undefined {
  if (scale === 'linear') return undefined;
  const g = scaleCoordinate(scale);
  const lambdas: number[] = [anchors[0]];
  const progress: number[] = [0];
  for (let k = 0; k < anchors.length - 1; k++) {
    for (const p of coordinateSamples(g, anchors[k], anchors[k + 1])) {
      lambdas.push(p.lambda);
      progress.push(k + p.t);
    }
    lambdas.push(anchors[k + 1]);
    progress.push(k + 1);
  }
  return { lambdas, progress };
}
