/**
 * Bogacki–Shampine 3(2) with SciPy's adaptive step control: `solve_ivp(method="RK23")` from its
 * `_ivp/rk.py` and `_ivp/common.py`, reproduced operation by operation so that a port of a model
 * integrated with SciPy lands on the same accepted steps. Plain Float64Arrays; one workspace per
 * system size, reused across calls (a simulator integrates one day at a time, thousands of times).
 *
 * The right-hand side receives the array it is evaluated at and may modify it: at accepted points
 * that array IS the new state (SciPy evaluates f(t + h, y_new) on y_new itself), so a right-hand
 * side that clamps its input in place clamps the accepted states, while stage evaluations at
 * temporaries leave the state alone. Models written for SciPy rely on that side effect.
 */

/** dy/dt at (t, y), written into `out`; may modify `y` in place (see above). */
export type OdeRhs = (t: number, y: Float64Array, out: Float64Array) => void;

export interface Rk23Options {
  atol: number;
  rtol: number;
}

export interface Rk23Stats {
  /** Accepted steps. */
  steps: number;
  /** Rejected step attempts. */
  rejected: number;
  /** Right-hand-side evaluations, including the initial-step rule's two. */
  evaluations: number;
}

// Bogacki–Shampine tableau as SciPy writes it (C, A rows, B, and E = B̂ − B with the FSAL stage).
const C1 = 1 / 2;
const C2 = 3 / 4;
const A10 = 1 / 2;
const A21 = 3 / 4;
const B0 = 2 / 9;
const B1 = 1 / 3;
const B2 = 4 / 9;
const E0 = 5 / 72;
const E1 = -1 / 12;
const E2 = -1 / 9;
const E3 = 1 / 8;

const SAFETY = 0.9;
const MIN_FACTOR = 0.2;
const MAX_FACTOR = 10;
/** −1 / (error estimator order + 1); the estimator is of order 2. */
const ERROR_EXPONENT = -1 / 3;
const ERROR_ESTIMATOR_ORDER = 2;

/** SciPy's norm: the RMS, ‖v‖ / √n. */
export function rms(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s) / Math.sqrt(v.length);
}

const WORDS = new Float64Array(1);
const WORD_BITS = new Uint32Array(WORDS.buffer);
const LOW = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;

/** The distance to the next double above t (numpy.nextafter(t, inf) − t), for the smallest step. */
export function ulpAbove(t: number): number {
  if (!Number.isFinite(t)) return NaN;
  if (t === 0) return Number.MIN_VALUE;
  // Step the bit pattern by one toward +∞ (up in magnitude for t > 0, down for t < 0).
  WORDS[0] = t;
  const lo = WORD_BITS[LOW];
  const hi = WORD_BITS[1 - LOW];
  if (t > 0) {
    WORD_BITS[LOW] = (lo + 1) >>> 0;
    if (lo === 0xffffffff) WORD_BITS[1 - LOW] = hi + 1;
  } else {
    WORD_BITS[LOW] = (lo - 1) >>> 0;
    if (lo === 0) WORD_BITS[1 - LOW] = hi - 1;
  }
  return Math.abs(WORDS[0] - t);
}

/** An RK23 integrator for systems of size n; holds its stage buffers. */
export class Rk23 {
  readonly n: number;
  private readonly k0: Float64Array;
  private readonly k1: Float64Array;
  private readonly k2: Float64Array;
  private readonly k3: Float64Array;
  private readonly yNew: Float64Array;
  private readonly tmp: Float64Array;
  private readonly scale: Float64Array;

  constructor(n: number) {
    if (!(Number.isInteger(n) && n > 0)) throw new Error(`RK23: the system size must be a positive integer, got ${n}`);
    this.n = n;
    this.k0 = new Float64Array(n);
    this.k1 = new Float64Array(n);
    this.k2 = new Float64Array(n);
    this.k3 = new Float64Array(n);
    this.yNew = new Float64Array(n);
    this.tmp = new Float64Array(n);
    this.scale = new Float64Array(n);
  }

  /**
   * SciPy's `select_initial_step` for f0 = f(t0, y0) already in k0: a step from the sizes of y0,
   * f0 and a finite-difference second derivative, capped by the interval length.
   */
  private initialStep(fun: OdeRhs, t0: number, y0: Float64Array, interval: number, opts: Rk23Options): number {
    const { n, k0: f0, k1: f1, tmp, scale } = this;
    if (interval === 0) return 0;
    for (let i = 0; i < n; i++) scale[i] = opts.atol + Math.abs(y0[i]) * opts.rtol;
    for (let i = 0; i < n; i++) tmp[i] = y0[i] / scale[i];
    const d0 = rms(tmp);
    for (let i = 0; i < n; i++) tmp[i] = f0[i] / scale[i];
    const d1 = rms(tmp);
    let h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
    h0 = Math.min(h0, interval);
    for (let i = 0; i < n; i++) tmp[i] = y0[i] + h0 * f0[i];
    fun(t0 + h0, tmp, f1);
    for (let i = 0; i < n; i++) tmp[i] = (f1[i] - f0[i]) / scale[i];
    const d2 = rms(tmp) / h0;
    const h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** (1 / (ERROR_ESTIMATOR_ORDER + 1));
    return Math.min(100 * h0, h1, interval);
  }

  /**
   * Integrate y from t0 to t1 (> t0) in place, as one `solve_ivp(fun, (t0, t1), y, method="RK23",
   * atol, rtol)` call; y ends as SciPy's last accepted state. Throws if the step underflows (SciPy's
   * "Required step size is less than spacing between numbers").
   */
  integrate(fun: OdeRhs, t0: number, t1: number, y: Float64Array, opts: Rk23Options): Rk23Stats {
    const { n, k0, k1, k2, k3, yNew, tmp, scale } = this;
    if (y.length !== n) throw new Error(`RK23: state has ${y.length} values, the integrator ${n}`);
    if (!(t1 > t0)) throw new Error(`RK23: the end time ${t1} must exceed the start time ${t0}`);
    const { atol, rtol } = opts;
    const stats: Rk23Stats = { steps: 0, rejected: 0, evaluations: 2 };
    fun(t0, y, k0);
    let hAbs = this.initialStep(fun, t0, y, t1 - t0, opts);
    let t = t0;
    while (t < t1) {
      const minStep = 10 * ulpAbove(t);
      if (hAbs < minStep) hAbs = minStep;
      let accepted = false;
      let rejected = false;
      let h = 0;
      while (!accepted) {
        if (hAbs < minStep) throw new Error(`RK23: the required step is below the spacing of numbers at t = ${t}`);
        let tNew = t + hAbs;
        if (tNew - t1 > 0) tNew = t1;
        h = tNew - t;
        hAbs = Math.abs(h);
        // Stages at temporaries; the combination order follows numpy's dot(K[:s].T, a[:s]) * h.
        for (let i = 0; i < n; i++) tmp[i] = y[i] + k0[i] * A10 * h;
        fun(t + C1 * h, tmp, k1);
        for (let i = 0; i < n; i++) tmp[i] = y[i] + (k0[i] * 0 + k1[i] * A21) * h;
        fun(t + C2 * h, tmp, k2);
        for (let i = 0; i < n; i++) yNew[i] = y[i] + h * (k0[i] * B0 + k1[i] * B1 + k2[i] * B2);
        // f at the accepted candidate, evaluated on yNew itself: an in-place clamp sticks.
        fun(t + h, yNew, k3);
        stats.evaluations += 3;
        for (let i = 0; i < n; i++) scale[i] = atol + Math.max(Math.abs(y[i]), Math.abs(yNew[i])) * rtol;
        for (let i = 0; i < n; i++) tmp[i] = ((k0[i] * E0 + k1[i] * E1 + k2[i] * E2 + k3[i] * E3) * h) / scale[i];
        const err = rms(tmp);
        if (err < 1) {
          let factor = err === 0 ? MAX_FACTOR : Math.min(MAX_FACTOR, SAFETY * err ** ERROR_EXPONENT);
          if (rejected) factor = Math.min(1, factor);
          hAbs *= factor;
          accepted = true;
        } else {
          hAbs *= Math.max(MIN_FACTOR, SAFETY * err ** ERROR_EXPONENT);
          rejected = true;
          stats.rejected++;
        }
      }
      t = t + h;
      y.set(yNew);
      k0.set(k3);
      stats.steps++;
    }
    return stats;
  }
}
