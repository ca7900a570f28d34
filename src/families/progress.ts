/**
 * How far along the way between two levels a family is at each level in between: the progress ρ of
 * the best affine mix (1 − ρ)·y_lo + ρ·y_hi, row by row (rows correspond), against the progress
 * s = (λ − λ_lo)/(λ_hi − λ_lo) that linear interpolation assumes. A family that moves at constant
 * speed in λ has ρ ≈ s; real families do not (quantile forecasters move slowly at first and jump
 * late towards τ = 0.99), and then linear interpolation is measurably worse than the best mix.
 */
import { levelIndex, rowWidth, type Dataset } from '../data/dataset.js';

export interface LevelProgress {
  lambda: number;
  /** Progress linear interpolation assumes. */
  linear: number;
  /** Progress of the best affine mix (least squares over all rows and outputs). */
  rho: number;
  /** MSE (mean over rows and outputs) of the best affine mix. */
  mseBest: number;
  /** MSE of linear interpolation. */
  mseLinear: number;
}

/**
 * For every level strictly between `lo` and `hi`: ρ = ⟨y_λ − y_lo, y_hi − y_lo⟩ / ‖y_hi − y_lo‖²
 * over the output columns of all rows, and the MSE of the mixes at ρ and at the linear progress.
 */
export function affineProgress(ds: Dataset, lo: number, hi: number): LevelProgress[] {
  const ilo = levelIndex(ds, lo);
  const ihi = levelIndex(ds, hi);
  if (ilo < 0 || ihi < 0 || !(hi > lo)) throw new Error(`affine progress: ${lo} and ${hi} must be two increasing levels of the data`);
  const width = rowWidth(ds);
  const a = ds.data[ilo];
  const b = ds.data[ihi];
  if (a.length !== b.length) throw new Error('affine progress: the two levels have different row counts; rows must correspond');
  const n = a.length / width;
  const out: LevelProgress[] = [];
  ds.levels.forEach((lambda, t) => {
    if (!(lambda > lo && lambda < hi)) return;
    const y = ds.data[t];
    if (y.length !== a.length) throw new Error(`affine progress: level λ = ${lambda} has a different row count; rows must correspond`);
    let num = 0;
    let den = 0;
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < ds.dim; j++) {
        const k = r * width + j;
        const d = b[k] - a[k];
        num += (y[k] - a[k]) * d;
        den += d * d;
      }
    }
    const rho = den > 0 ? num / den : 0;
    const linear = (lambda - lo) / (hi - lo);
    const mseAt = (s: number) => {
      let sq = 0;
      for (let r = 0; r < n; r++) {
        for (let j = 0; j < ds.dim; j++) {
          const k = r * width + j;
          sq += (y[k] - (a[k] + s * (b[k] - a[k]))) ** 2;
        }
      }
      return sq / (n * ds.dim);
    };
    out.push({ lambda, linear, rho, mseBest: mseAt(rho), mseLinear: mseAt(linear) });
  });
  return out;
}

/** Means over levels of the best-mix and linear-interpolation MSEs. */
export function progressSummary(levels: LevelProgress[]): { mseBest: number; mseLinear: number } {
  const mean = (f: (l: LevelProgress) => number) => levels.reduce((s, l) => s + f(l), 0) / levels.length;
  return { mseBest: mean((l) => l.mseBest), mseLinear: mean((l) => l.mseLinear) };
}
