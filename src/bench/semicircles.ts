/**
 * Seeded generator of the semicircles benchmark (benchmarks.md): 4 classes whose points move
 * along half circles as t goes from 0 to 1. The law itself (centres, mean angles, κ, σ) is defined
 * in src/eval/semicircle.ts, which also scores samples against it.
 */
import type { Dataset } from '../data/dataset.js';
import { Rng } from '../engine/rng.js';
import {
  SEMICIRCLE_ANCHORS,
  SEMICIRCLE_CLASSES,
  SEMICIRCLE_HELD_OUT,
  SEMICIRCLE_KAPPA,
  SEMICIRCLE_SIGMA,
  semicircleCentre,
  semicircleMeanAngle,
} from '../eval/semicircle.js';

/** Points per class per level in the benchmark (anchors and fresh truth alike). */
export const SEMICIRCLE_PER_CLASS = 100;

/**
 * One draw from vonMises(μ, κ) by the Best–Fisher (1979) wrapped-Cauchy rejection sampler.
 * Returns an angle μ ± acos(f), not wrapped (callers only take cos/sin).
 */
export function sampleVonMises(mu: number, kappa: number, rng: Rng): number {
  if (!(kappa >= 0) || !Number.isFinite(kappa)) throw new Error(`von Mises: concentration must be finite and ≥ 0, got ${kappa}`);
  // Below this κ the law is uniform to double precision and the envelope constants degenerate.
  if (kappa < 1e-8) return mu + Math.PI * (2 * rng.next() - 1);
  const a = 1 + Math.sqrt(1 + 4 * kappa * kappa);
  const b = (a - Math.sqrt(2 * a)) / (2 * kappa);
  const r = (1 + b * b) / (2 * b);
  let f: number;
  for (;;) {
    const z = Math.cos(Math.PI * rng.next());
    f = (1 + r * z) / (r + z);
    const c = kappa * (r - f);
    const u2 = rng.next();
    if (c * (2 - c) - u2 > 0) break;
    if (Math.log(c / u2) + 1 - c >= 0) break;
  }
  const angle = Math.acos(Math.min(1, Math.max(-1, f)));
  return rng.next() > 0.5 ? mu + angle : mu - angle;
}

/**
 * True samples at time t: rows (x, y, class) of width 3, perClass rows of class 0, then class 1, …
 * (4 · perClass rows in all).
 */
export function sampleSemicircles(t: number, perClass: number, rng: Rng): Float32Array {
  if (!Number.isFinite(t)) throw new Error(`semicircles: time must be finite, got ${t}`);
  if (!Number.isInteger(perClass) || perClass < 1) throw new Error(`semicircles: perClass must be a positive integer, got ${perClass}`);
  const out = new Float32Array(SEMICIRCLE_CLASSES * perClass * 3);
  let row = 0;
  for (let c = 0; c < SEMICIRCLE_CLASSES; c++) {
    const [cx, cy] = semicircleCentre(c);
    const mu = semicircleMeanAngle(t, c);
    for (let k = 0; k < perClass; k++, row++) {
      const theta = sampleVonMises(mu, SEMICIRCLE_KAPPA, rng);
      const radius = Math.exp(SEMICIRCLE_SIGMA * rng.normal());
      out[3 * row] = cx + radius * Math.cos(theta);
      out[3 * row + 1] = cy + radius * Math.sin(theta);
      out[3 * row + 2] = c;
    }
  }
  return out;
}

export interface SemicircleOptions {
  /** Points per class per level (default 100). */
  perClass?: number;
  /**
   * Also include true samples at the held-out times 0.25 and 0.75 as levels (listed as
   * `validation`), for code that scores any dataset the same way. Default false: anchors only.
   */
  withHeldOut?: boolean;
  /** Also include true samples at these times as levels, listed as `validation`. */
  validation?: number[];
}

/** Validation times for selection, apart from the scored times 0.25 and 0.75. */
export const SEMICIRCLE_VALIDATION = [0.125, 0.375, 0.625, 0.875];

/**
 * The benchmark's training set: levels t ∈ {0, 0.5, 1} (the anchors), 100 points per class each,
 * drawn from a stream seeded by `seed`.
 */
export function semicircleDataset(seed: number, options: SemicircleOptions = {}): Dataset {
  const perClass = options.perClass ?? SEMICIRCLE_PER_CLASS;
  const validation = options.validation ?? (options.withHeldOut ? [...SEMICIRCLE_HELD_OUT] : []);
  const levels = [...SEMICIRCLE_ANCHORS, ...validation].sort((p, q) => p - q);
  // One forked stream per level, keyed by t: adding held-out levels leaves the anchors unchanged.
  const data = levels.map((t) => sampleSemicircles(t, perClass, new Rng(seed).fork(`semicircles:t=${t}`)));
  return {
    levels,
    data,
    dim: 2,
    cond: 1,
    categorical: true,
    classes: SEMICIRCLE_CLASSES,
    anchors: [...SEMICIRCLE_ANCHORS],
    ...(validation.length ? { validation } : {}),
    source: `semicircles(seed=${seed})`,
  };
}

/**
 * Fresh true samples for scoring at time t (default 100 per class), from a stream independent of
 * the training set drawn with the same seed.
 */
export function semicircleTruth(t: number, seed: number, perClass = SEMICIRCLE_PER_CLASS): Float32Array {
  return sampleSemicircles(t, perClass, new Rng(seed).fork(`semicircles:truth:t=${t}`));
}
