/**
 * A synthetic family with a known, curved, non-uniform-in-λ truth in any output dimension D, for
 * the scaling benchmark (`npm run bench:scale`) and the rows study.
 *
 * Class c of C (categorical condition) at λ ∈ [0, 1], with warped time τ = λ² (equal steps in λ
 * are unequal steps along the path, so no method can take λ for arc length):
 *   - every plane p of coordinates (2p, 2p + 1), p < ⌊D/2⌋, holds a point at angle
 *       θ = α_{c,p} + σ_{c,p} · (π/2) · τ + ξ + 0.05 ζ_p      (turning by a quarter circle)
 *     and radius ρ_p(τ) (1 + 0.05 η_p), with ρ_p = 1 + 0.5 τ (even p) or 1 − 0.3 τ (odd p);
 *     ξ ~ N(0, 0.4²) is ONE angle per sample shared by all planes (the rows lie near a curve, as the
 *     outputs of one network do), ζ_p, η_p ~ N(0, 1) per plane; α_{c,p} = 2πc/C + 0.9p, σ = ±1;
 *   - an odd last coordinate drifts: τ + 0.1 ν, ν ~ N(0, 1).
 * The anchors' spread along each arc (ξ) covers the arc between them, so the pooled anchors show the
 * curved manifold that displacement interpolation (straight chords) cuts across.
 */
import type { Dataset } from '../data/dataset.js';
import { Rng } from '../engine/rng.js';

export const SCALE_LEVELS = [0, 0.25, 0.5, 0.75, 1];
export const SCALE_ANCHORS = [0, 0.5, 1];
export const SCALE_HELD_OUT = [0.25, 0.75];
const ANGLE_SPREAD = 0.4;
const TURN = Math.PI / 2;

/** τ(λ) = λ²: the family's own clock. */
export function scaleFamilyTime(lambda: number): number {
  return lambda * lambda;
}

/** Mean angle of class c in plane p at τ (without the per-sample spread). */
export function scaleFamilyAngle(c: number, p: number, classes: number, tau: number): number {
  const sign = (c + p) % 2 === 0 ? 1 : -1;
  return (2 * Math.PI * c) / classes + 0.9 * p + sign * TURN * tau;
}

/** Radius of plane p at τ. */
export function scaleFamilyRadius(p: number, tau: number): number {
  return p % 2 === 0 ? 1 + 0.5 * tau : 1 - 0.3 * tau;
}

/**
 * `perClass` rows (y | class) per class at λ, class 0 first, drawn from `rng`: width D + 1.
 */
export function sampleScaleFamily(dim: number, classes: number, lambda: number, perClass: number, rng: Rng): Float32Array {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`scale family: D must be a positive integer, got ${dim}`);
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`scale family: classes must be a positive integer, got ${classes}`);
  if (!Number.isInteger(perClass) || perClass < 1) throw new Error(`scale family: perClass must be a positive integer, got ${perClass}`);
  if (!(lambda >= 0 && lambda <= 1)) throw new Error(`scale family: λ must lie in [0, 1], got ${lambda}`);
  const tau = scaleFamilyTime(lambda);
  const planes = Math.floor(dim / 2);
  const width = dim + 1;
  const out = new Float32Array(classes * perClass * width);
  let row = 0;
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < perClass; i++, row++) {
      const o = row * width;
      const xi = ANGLE_SPREAD * rng.normal();
      for (let p = 0; p < planes; p++) {
        const theta = scaleFamilyAngle(c, p, classes, tau) + xi + 0.05 * rng.normal();
        const r = scaleFamilyRadius(p, tau) * (1 + 0.05 * rng.normal());
        out[o + 2 * p] = r * Math.cos(theta);
        out[o + 2 * p + 1] = r * Math.sin(theta);
      }
      if (dim % 2 === 1) out[o + dim - 1] = tau + 0.1 * rng.normal();
      out[o + dim] = c;
    }
  }
  return out;
}

export interface ScaleFamilyOptions {
  dim: number;
  /** Rows per level (split evenly over the classes, rounded up). */
  rows: number;
  classes?: number;
  seed?: number;
  /** Also store the held-out levels 0.25 and 0.75 (listed as `validation`); default true. */
  withHeldOut?: boolean;
}

/** The family as a dataset: levels λ ∈ {0, .25, .5, .75, 1}, anchors {0, .5, 1}. */
export function scaleFamilyDataset(options: ScaleFamilyOptions): Dataset {
  const classes = options.classes ?? 4;
  const seed = options.seed ?? 0;
  const perClass = Math.ceil(options.rows / classes);
  const levels = options.withHeldOut === false ? [...SCALE_ANCHORS] : [...SCALE_LEVELS];
  // One stream per level, keyed by λ: the anchors do not depend on whether held-out levels are drawn.
  const data = levels.map((l) => sampleScaleFamily(options.dim, classes, l, perClass, new Rng(seed).fork(`scale:λ=${l}`)));
  return {
    levels,
    data,
    dim: options.dim,
    cond: 1,
    categorical: true,
    classes,
    anchors: [...SCALE_ANCHORS],
    ...(options.withHeldOut === false ? {} : { validation: [...SCALE_HELD_OUT] }),
    source: `scale-family(D=${options.dim}, rows=${perClass * classes}, seed=${seed})`,
  };
}

/** Fresh true rows at λ for scoring, from a stream independent of every training set. */
export function scaleFamilyTruth(dim: number, classes: number, lambda: number, perClass: number, seed: number): Float32Array {
  return sampleScaleFamily(dim, classes, lambda, perClass, new Rng(seed).fork(`scale:truth:λ=${lambda}`));
}
