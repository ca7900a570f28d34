/**
 * The semicircles benchmark's true law (benchmarks.md) and its scores. At time t ∈ [0, 1] a point
 * of class c is centre_c + r (cos θ, sin θ), r ~ LogNormal(0, σ = 0.05), θ ~ vonMises(m_c(t), κ = 5):
 *   c0: centre (−1, 0), m = π t;      c1: centre (−1, 0), m = −π t;
 *   c2: centre (+1, 0), m = π − π t;  c3: centre (+1, 0), m = −π + π t.
 * The generator (src/bench/semicircles.ts) reads the same constants from here.
 */

export const SEMICIRCLE_KAPPA = 5;
export const SEMICIRCLE_SIGMA = 0.05;
export const SEMICIRCLE_CLASSES = 4;
/** Training anchors and held-out times of the benchmark. */
export const SEMICIRCLE_ANCHORS = [0, 0.5, 1];
export const SEMICIRCLE_HELD_OUT = [0.25, 0.75];

function checkClass(cls: number): void {
  if (!Number.isInteger(cls) || cls < 0 || cls >= SEMICIRCLE_CLASSES) {
    throw new Error(`semicircles: class must be an integer in 0..${SEMICIRCLE_CLASSES - 1}, got ${cls}`);
  }
}

/** Centre of class c's circle. */
export function semicircleCentre(cls: number): [number, number] {
  checkClass(cls);
  return cls < 2 ? [-1, 0] : [1, 0];
}

/** Mean angle m_c(t) of class c's von Mises law at time t. */
export function semicircleMeanAngle(t: number, cls: number): number {
  checkClass(cls);
  switch (cls) {
    case 0:
      return Math.PI * t;
    case 1:
      return -Math.PI * t;
    case 2:
      return Math.PI - Math.PI * t;
    default:
      return -Math.PI + Math.PI * t;
  }
}

/** log I0(κ), the von Mises normaliser: power series, or the asymptotic form for large κ. */
export function logBesselI0(kappa: number): number {
  const k = Math.abs(kappa);
  if (k > 500) {
    // I0(k) ~ e^k / sqrt(2πk) · (1 + 1/(8k) + 9/(2(8k)²) + 225/(6(8k)³) + …); the series would overflow.
    const inv = 1 / (8 * k);
    return k - 0.5 * Math.log(2 * Math.PI * k) + Math.log(1 + inv * (1 + inv * (4.5 + inv * (37.5 + inv * 459.375))));
  }
  const q = (k * k) / 4;
  let term = 1;
  let sum = 1;
  for (let j = 1; j < 5000; j++) {
    term *= q / (j * j);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return Math.log(sum);
}

/** log density of the von Mises law on the circle at angle θ. */
export function vonMisesLogPdf(theta: number, mu: number, kappa: number): number {
  return kappa * Math.cos(theta - mu) - Math.log(2 * Math.PI) - logBesselI0(kappa);
}

/** log density of LogNormal(μ, σ) at r > 0 (−∞ at r ≤ 0). */
export function logNormalLogPdf(r: number, mu: number, sigma: number): number {
  if (!(r > 0)) return -Infinity;
  const z = (Math.log(r) - mu) / sigma;
  return -Math.log(r) - Math.log(sigma) - 0.5 * Math.log(2 * Math.PI) - 0.5 * z * z;
}

/**
 * True log-density of a point (x, y) at time t for class c, in Cartesian coordinates:
 * polar density vM(θ) · LogNormal(r) times the Jacobian 1/r of (r, θ) → (x, y).
 */
export function semicircleLogDensity(point: ArrayLike<number>, t: number, cls: number): number {
  const [cx, cy] = semicircleCentre(cls);
  const dx = point[0] - cx;
  const dy = point[1] - cy;
  const r = Math.hypot(dx, dy);
  if (r === 0) return -Infinity;
  const theta = Math.atan2(dy, dx);
  return (
    vonMisesLogPdf(theta, semicircleMeanAngle(t, cls), SEMICIRCLE_KAPPA) +
    logNormalLogPdf(r, 0, SEMICIRCLE_SIGMA) -
    Math.log(r)
  );
}

function checkRows(rows: Float32Array | Float64Array, what: string): number {
  if (rows.length === 0 || rows.length % 3 !== 0) {
    throw new Error(`${what}: expected rows (x, y, class) of width 3, got ${rows.length} values`);
  }
  return rows.length / 3;
}

/** NLL = −mean log p(y | t, c) over rows (x, y, class) of width 3. */
export function semicircleNll(rows: Float32Array | Float64Array, t: number): number {
  const n = checkRows(rows, 'semicircle NLL');
  let s = 0;
  for (let i = 0; i < n; i++) {
    s += semicircleLogDensity([rows[3 * i], rows[3 * i + 1]], t, rows[3 * i + 2]);
  }
  return -s / n;
}

/** Circle distance CD = mean | ‖y − centre_c‖ − 1 | over rows (x, y, class). */
export function circleDistance(rows: Float32Array | Float64Array): number {
  const n = checkRows(rows, 'circle distance');
  let s = 0;
  for (let i = 0; i < n; i++) {
    const [cx, cy] = semicircleCentre(rows[3 * i + 2]);
    s += Math.abs(Math.hypot(rows[3 * i] - cx, rows[3 * i + 1] - cy) - 1);
  }
  return s / n;
}
