/**
 * Calibrating where held-out λ values sit along a fitted CLOT surrogate's paths. Each held-out
 * level λ_v inside interval k gets the position s_v ∈ [0, 1] at which the surrogate's answer is
 * closest (W2²) to the truth there; positions are made non-decreasing within each interval
 * (isotonic regression) and become knots (λ_v, k + s_v) of the surrogate's monotone time warp.
 * Anchors are untouched: at λ_k the surrogate still answers with its maps' output.
 */
import type { Dataset } from '../data/index.js';
import { coordinateSamples, hermiteAt, monotoneSlopes, priorWarp, scaleCoordinate, type ClotSurrogate, type LambdaScale, type WarpKnots } from '../surrogate/index.js';
import type { OtWarmStarts } from '../eval/index.js';
import { heldOutScore, type HeldOut } from './heldout.js';

export interface CalibratedLevel {
  lambda: number;
  /** Interval of the surrogate's anchors holding λ. */
  k: number;
  /** Position along the interval's paths where the answer is closest to the truth. */
  best: number;
  /** The position used (non-decreasing within the interval). */
  s: number;
  /** Held-out score at the position the model's warp gave before calibration (its scale's prior), and at `s`. */
  priorScore: number;
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
 * Best positions of the held-out levels along `model`'s paths (searched directly; the model's
 * current warp only gives the uncalibrated position each level is also scored at). `warm` holds
 * one set of OT warm starts per held-out level (the caller may keep scoring with them).
 */
export function calibratePositions(
  model: ClotSurrogate,
  held: HeldOut,
  ds: Pick<Dataset, 'dim' | 'cond' | 'categorical'>,
  warm: OtWarmStarts[] = held.levels.map(() => new Map()),
): CalibratedLevel[] {
  const anchors = model.info.anchors;
  const n = held.inputs.length / (ds.dim + ds.cond);
  const found = held.levels.map((lambda, i) => {
    const { k } = linearPosition(anchors, lambda);
    const sPrior = Math.min(1, Math.max(0, model.warp.progress(lambda) - k));
    const scoreRows = (rows: Float32Array) => heldOutScore(rows, held.truth[i], ds, lambda, warm[i]);
    const score = (s: number) => scoreRows(model.atPositions(held.inputs, n, [{ k, s }]));
    // One push for the whole grid (the maps run once), then score each position.
    const grid = Array.from({ length: GRID }, (_, g) => g / (GRID - 1));
    const width = ds.dim + ds.cond;
    const all = model.atPositions(held.inputs, n, grid.map((s) => ({ k, s })));
    const values = grid.map((_, g) => scoreRows(all.subarray(g * n * width, (g + 1) * n * width)));
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
    return { lambda, k, best: candidates[0].s, s: candidates[0].s, priorScore: score(sPrior), score: candidates[0].f };
  });
  // Non-decreasing positions within each interval (a surrogate's paths move forward in λ).
  for (let k = 0; k < anchors.length - 1; k++) {
    const inside = found.filter((c) => c.k === k);
    const fitted = isotonic(inside.map((c) => c.best));
    inside.forEach((c, j) => {
      if (fitted[j] !== c.best) {
        c.s = fitted[j];
        const i = held.levels.indexOf(c.lambda);
        c.score = heldOutScore(model.atPositions(held.inputs, n, [{ k, s: c.s }]), held.truth[i], ds, c.lambda, warm[i]);
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

/**
 * Warp knots for a surrogate on `anchors` from left-out anchors calibrated on a coarser one: a
 * left-out anchor λ_j found at position s_j between its kept neighbours says how far the family
 * has moved by λ_j. Through (a, 0), (λ_j, s_j), (b, 1) a monotone cubic in the scale's coordinate
 * gives the progress over [a, b]; each of the two finer intervals takes its share of it, sampled at
 * CURVE_KNOTS points spaced evenly in the coordinate. Intervals no left-out anchor informs follow
 * the scale's prior (linear in its coordinate).
 */
export function warpFromLeftOutAnchors(anchors: number[], leftOut: CalibratedLevel[], coarse: number[], scale: LambdaScale): WarpKnots {
  const g = scaleCoordinate(scale);
  const prior = priorWarp(anchors, scale);
  const informed = new Set<number>();
  const knots = anchors.map((l, k) => ({ l, u: k }));
  for (const c of leftOut) {
    const a = coarse[c.k];
    const b = coarse[c.k + 1];
    const j = anchors.indexOf(c.lambda);
    // Degenerate positions (the whole move on one side) carry no usable shape: stay with the prior.
    if (j <= 0 || !(c.s > 1e-3 && c.s < 1 - 1e-3) || anchors[j - 1] !== a || anchors[j + 1] !== b) continue;
    const x = [a, c.lambda, b].map(g.to);
    const y = [0, c.s, 1];
    const m = monotoneSlopes(x, y);
    for (const [from, to, k, u0, span] of [
      [a, c.lambda, j - 1, 0, c.s],
      [c.lambda, b, j, c.s, 1 - c.s],
    ] as const) {
      informed.add(k);
      for (const p of coordinateSamples(g, from, to)) knots.push({ l: p.lambda, u: k + (hermiteAt(x, y, m, p.x) - u0) / span });
    }
  }
  if (prior) {
    prior.lambdas.forEach((l, i) => {
      const k = Math.floor(prior.progress[i]);
      if (!informed.has(k) && !anchors.includes(l)) knots.push({ l, u: prior.progress[i] });
    });
  }
  knots.sort((p, q) => p.l - q.l);
  return { lambdas: knots.map((p) => p.l), progress: knots.map((p) => p.u) };
}
