/**
 * Calibrating where held-out λ values sit along a fitted CLOT surrogate's paths. Each held-out
 * level λ_v inside interval k gets the position s_v ∈ [0, 1] at which the surrogate's answer is
 * closest (W2²) to the truth there; positions are made non-decreasing within each interval
 * (isotonic regression) and become knots (λ_v, k + s_v) of the surrogate's monotone time warp.
 * Anchors are untouched: at λ_k the surrogate still answers with its maps' output.
 */
import type { Dataset } from '../data/index.js';
import { hermiteAt, monotoneSlopes, type ClotSurrogate, type WarpKnots } from '../surrogate/index.js';
import { heldOutScore, type HeldOut } from './heldout.js';

export interface CalibratedLevel {
  lambda: number;
  /** Interval of the surrogate's anchors holding λ. */
  k: number;
  /** Position along the interval's paths where the answer is closest to the truth. */
  best: number;
  /** The position used (non-decreasing within the interval). */
  s: number;
  /** Held-out score at the plain linear position and at `s`. */
  linearScore: number;
  score: number;
}

/** Positions tried on the first pass, then refined by golden-section search around the best. */
const GRID = 11;
const REFINE_STEPS = 8;

/** Pool-adjacent-violators: the non-decreasing sequence closest (least squares) to `v`. */
export function isotonic(v: number[]): number[] {
  const blocks: { sum: number; count: number }[] = [];
  for (const x of v) {
    blocks.push({ sum: x, count: 1 });
    while (blocks.length > 1 && blocks[blocks.length - 2].sum / blocks[blocks.length - 2].count > blocks[blocks.length - 1].sum / blocks[blocks.length - 1].count) {
      const last = blocks.pop()!;
      blocks[blocks.length - 1].sum += last.sum;
      blocks[blocks.length - 1].count += last.count;
    }
  }
  return blocks.flatMap((b) => Array.from({ length: b.count }, () => b.sum / b.count));
}

/** Interval k (λ_k < λ < λ_{k+1}) of the anchors holding λ, and the linear position in it. */
function linearPosition(anchors: number[], lambda: number): { k: number; s: number } {
  let k = 0;
  while (k < anchors.length - 2 && lambda > anchors[k + 1]) k++;
  return { k, s: (lambda - anchors[k]) / (anchors[k + 1] - anchors[k]) };
}

/**
 * Best positions of the held-out levels along `model`'s paths (the model's current warp is not
 * used: positions are searched directly).
 */
export function calibratePositions(model: ClotSurrogate, held: HeldOut, ds: Pick<Dataset, 'dim' | 'cond' | 'categorical'>): CalibratedLevel[] {
  const anchors = model.info.anchors;
  const n = held.inputs.length / (ds.dim + ds.cond);
  const found = held.levels.map((lambda, i) => {
    const { k, s: sLinear } = linearPosition(anchors, lambda);
    const score = (s: number) => heldOutScore(model.atPositions(held.inputs, n, [{ k, s }]), held.truth[i], ds, lambda);
    // One push for the whole grid (the maps run once), then score each position.
    const grid = Array.from({ length: GRID }, (_, g) => g / (GRID - 1));
    const width = ds.dim + ds.cond;
    const all = model.atPositions(held.inputs, n, grid.map((s) => ({ k, s })));
    const values = grid.map((s, g) => heldOutScore(all.subarray(g * n * width, (g + 1) * n * width), held.truth[i], ds, lambda));
    let g = values.indexOf(Math.min(...values));
    let lo = grid[Math.max(0, g - 1)];
    let hi = grid[Math.min(GRID - 1, g + 1)];
    // Golden-section search on [lo, hi] around the best grid point.
    const phi = (Math.sqrt(5) - 1) / 2;
    let a = hi - phi * (hi - lo);
    let b = lo + phi * (hi - lo);
    let fa = score(a);
    let fb = score(b);
    for (let it = 0; it < REFINE_STEPS; it++) {
      if (fa <= fb) {
        hi = b;
        b = a;
        fb = fa;
        a = hi - phi * (hi - lo);
        fa = score(a);
      } else {
        lo = a;
        a = b;
        fa = fb;
        b = lo + phi * (hi - lo);
        fb = score(b);
      }
    }
    const candidates = [
      { s: grid[g], f: values[g] },
      { s: a, f: fa },
      { s: b, f: fb },
    ].sort((p, q) => p.f - q.f);
    return { lambda, k, best: candidates[0].s, s: candidates[0].s, linearScore: score(sLinear), score: candidates[0].f };
  });
  // Non-decreasing positions within each interval (a surrogate's paths move forward in λ).
  for (let k = 0; k < anchors.length - 1; k++) {
    const inside = found.filter((c) => c.k === k);
    const fitted = isotonic(inside.map((c) => c.best));
    inside.forEach((c, j) => {
      if (fitted[j] !== c.best) {
        c.s = fitted[j];
        const i = held.levels.indexOf(c.lambda);
        c.score = heldOutScore(model.atPositions(held.inputs, n, [{ k, s: c.s }]), held.truth[i], ds, c.lambda);
      }
    });
  }
  return found;
}

/** Warp knots through the anchors and the calibrated held-out levels (which lie between them). */
export function warpFromLevels(anchors: number[], levels: CalibratedLevel[]): WarpKnots {
  const knots = [...anchors.map((l, k) => ({ l, u: k })), ...levels.map((c) => ({ l: c.lambda, u: c.k + c.s }))].sort((p, q) => p.l - q.l);
  return { lambdas: knots.map((p) => p.l), progress: knots.map((p) => p.u) };
}

/**
 * The warp calibrated without level `left`: the other levels' best positions, made non-decreasing
 * within each interval again. Scoring level `left` under it tells how well the calibrated surrogate
 * answers at a λ it was not calibrated on (leave-one-level-out).
 */
export function warpWithout(anchors: number[], levels: CalibratedLevel[], left: number): WarpKnots {
  const rest = levels.filter((_, i) => i !== left).map((c) => ({ ...c }));
  for (let k = 0; k < anchors.length - 1; k++) {
    const inside = rest.filter((c) => c.k === k);
    isotonic(inside.map((c) => c.best)).forEach((v, j) => (inside[j].s = v));
  }
  return warpFromLevels(anchors, rest);
}

/** Knots per interval when a warp is drawn from a progress curve rather than held-out levels. */
const CURVE_KNOTS = 4;

/**
 * Warp knots for a surrogate on `anchors` from left-out anchors calibrated on a coarser one: a
 * left-out anchor λ_j found at position s_j between its kept neighbours says how far the family
 * has moved by λ_j. Through (a, 0), (λ_j, s_j), (b, 1) a monotone cubic gives the progress over
 * [a, b]; each of the two finer intervals takes its share of it, sampled at a few knots.
 */
export function warpFromLeftOutAnchors(anchors: number[], leftOut: CalibratedLevel[], coarse: number[]): WarpKnots {
  const knots = anchors.map((l, k) => ({ l, u: k }));
  for (const c of leftOut) {
    const a = coarse[c.k];
    const b = coarse[c.k + 1];
    const j = anchors.indexOf(c.lambda);
    // Degenerate positions (the whole move on one side) carry no usable shape: stay linear.
    if (j <= 0 || !(c.s > 1e-3 && c.s < 1 - 1e-3) || anchors[j - 1] !== a || anchors[j + 1] !== b) continue;
    const x = [a, c.lambda, b];
    const y = [0, c.s, 1];
    const m = monotoneSlopes(x, y);
    for (const [from, to, k, u0, span] of [
      [a, c.lambda, j - 1, 0, c.s],
      [c.lambda, b, j, c.s, 1 - c.s],
    ] as const) {
      for (let q = 1; q <= CURVE_KNOTS; q++) {
        const l = from + ((to - from) * q) / (CURVE_KNOTS + 1);
        knots.push({ l, u: k + (hermiteAt(x, y, m, l) - u0) / span });
      }
    }
  }
  knots.sort((p, q) => p.l - q.l);
  return { lambdas: knots.map((p) => p.l), progress: knots.map((p) => p.u) };
}

/**
 * A warp whose shape between its knots follows the anchors' transport distances. The knots are
 * interpolated (monotone cubic) against cumulative distance instead of interval count, then
 * sampled at a few knots per interval: an interval in which the family moves far, next to one in
 * which it barely moves, starts slowly and speeds up (dropout at p → 0.99), as a path of constant
 * speed along the whole family would. The given knots are kept; with equal spans the shape is the
 * interval-count one.
 */
export function warpWithSpans(anchors: number[], knots: WarpKnots, spans: number[]): WarpKnots {
  const intervals = anchors.length - 1;
  if (intervals < 2) return knots;
  if (spans.length !== intervals) throw new Error(`warpWithSpans: ${spans.length} spans for ${intervals} intervals`);
  const start = [0];
  for (let k = 0; k < intervals; k++) start.push(start[k] + spans[k]);
  const distance = knots.progress.map((u) => {
    const k = Math.min(intervals - 1, Math.floor(u));
    return start[k] + (u - k) * spans[k];
  });
  const slopes = monotoneSlopes(knots.lambdas, distance);
  const out = knots.lambdas.map((l, i) => ({ l, u: knots.progress[i] }));
  for (let k = 0; k < intervals; k++) {
    const width = anchors[k + 1] - anchors[k];
    for (let q = 1; q <= CURVE_KNOTS; q++) {
      const l = anchors[k] + (width * q) / (CURVE_KNOTS + 1);
      if (out.some((p) => Math.abs(p.l - l) < 1e-6 * width)) continue;
      const s = (hermiteAt(knots.lambdas, distance, slopes, l) - start[k]) / spans[k];
      out.push({ l, u: k + Math.min(1, Math.max(0, s)) });
    }
  }
  out.sort((p, q) => p.l - q.l);
  // Round-off must not reverse progress between neighbouring knots.
  for (let i = 1; i < out.length; i++) out[i].u = Math.max(out[i].u, out[i - 1].u);
  return { lambdas: out.map((p) => p.l), progress: out.map((p) => p.u) };
}
