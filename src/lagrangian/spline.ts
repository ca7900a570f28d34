import { tf, type Tensor2D, type Tensor3D } from '../engine/index.js';

/**
 * Null-space basis of C² piecewise cubics on M−1 equal segments of [0, 1] that vanish at both
 * ends: the bending part of a path q(s) = (1−s) y0 + s y1 + B(s) φ. Returned as the [M, 4(M−1)]
 * coefficient matrix (rows orthonormal), coefficients per segment (a, b, c, d) of
 * a + b u + c u² + d u³ with u = s − s_j.
 */
export function splineNullSpace(nodes: number): Float64Array[] {
  if (!Number.isInteger(nodes) || nodes < 3) throw new Error(`spline needs at least 3 nodes, got ${nodes}`);
  const segs = nodes - 1;
  const h = 1 / segs;
  const cols = 4 * segs;
  const rows: Float64Array[] = [];
  const row = () => new Float64Array(cols);
  const start = row();
  start[0] = 1; // value at s = 0
  rows.push(start);
  const end = row();
  const last = 4 * (segs - 1);
  end[last] = 1;
  end[last + 1] = h;
  end[last + 2] = h * h;
  end[last + 3] = h * h * h;
  rows.push(end);
  for (let j = 0; j < segs - 1; j++) {
    const a = 4 * j;
    const b = 4 * (j + 1);
    const value = row();
    value[a] = 1; value[a + 1] = h; value[a + 2] = h * h; value[a + 3] = h * h * h; value[b] = -1;
    const slope = row();
    slope[a + 1] = 1; slope[a + 2] = 2 * h; slope[a + 3] = 3 * h * h; slope[b + 1] = -1;
    const curvature = row();
    curvature[a + 2] = 2; curvature[a + 3] = 6 * h; curvature[b + 2] = -2;
    rows.push(value, slope, curvature);
  }
  return nullSpace(rows, cols);
}

/** Orthonormal basis of {v : A v = 0} by reduced row echelon form, then Gram–Schmidt. */
export function nullSpace(a: Float64Array[], cols: number): Float64Array[] {
  const m = a.map((r) => Float64Array.from(r));
  const pivots: number[] = [];
  let r = 0;
  for (let c = 0; c < cols && r < m.length; c++) {
    let best = r;
    for (let i = r + 1; i < m.length; i++) if (Math.abs(m[i][c]) > Math.abs(m[best][c])) best = i;
    if (Math.abs(m[best][c]) < 1e-12) continue;
    [m[r], m[best]] = [m[best], m[r]];
    const p = m[r][c];
    for (let k = 0; k < cols; k++) m[r][k] /= p;
    for (let i = 0; i < m.length; i++) {
      if (i === r || m[i][c] === 0) continue;
      const f = m[i][c];
      for (let k = 0; k < cols; k++) m[i][k] -= f * m[r][k];
    }
    pivots.push(c);
    r++;
  }
  const free = [];
  for (let c = 0; c < cols; c++) if (!pivots.includes(c)) free.push(c);
  const basis = free.map((f) => {
    const v = new Float64Array(cols);
    v[f] = 1;
    pivots.forEach((pc, i) => (v[pc] = -m[i][f]));
    return v;
  });
  // Gram–Schmidt (twice, for accuracy) so that φ has a well-conditioned meaning.
  for (let i = 0; i < basis.length; i++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        let dot = 0;
        for (let k = 0; k < cols; k++) dot += basis[i][k] * basis[j][k];
        for (let k = 0; k < cols; k++) basis[i][k] -= dot * basis[j][k];
      }
    }
    let n = 0;
    for (let k = 0; k < cols; k++) n += basis[i][k] ** 2;
    n = Math.sqrt(n);
    for (let k = 0; k < cols; k++) basis[i][k] /= n;
  }
  return basis;
}

/** Value at s of one basis function (given by its coefficient vector) of an `segs`-segment spline. */
export function evalBasisFunction(coef: Float64Array, segs: number, s: number): number {
  const j = Math.min(segs - 1, Math.max(0, Math.floor(s * segs)));
  const u = s - j / segs;
  const o = 4 * j;
  return coef[o] + u * (coef[o + 1] + u * (coef[o + 2] + u * coef[o + 3]));
}

/** Evaluation matrix [S, M]: basis function m at the S equally spaced points s_i = i/(S−1). */
export function splineBasisMatrix(nodes: number, points: number): Float64Array {
  const basis = splineNullSpace(nodes);
  const out = new Float64Array(points * nodes);
  for (let i = 0; i < points; i++) {
    const s = points === 1 ? 0 : i / (points - 1);
    for (let m = 0; m < nodes; m++) out[i * nodes + m] = evalBasisFunction(basis[m], nodes - 1, s);
  }
  return out;
}

/** Basis values at arbitrary s (for sampling a path at the λ the user asked for): [len(s), M]. */
export function splineBasisAt(nodes: number, s: number[]): Float64Array {
  const basis = splineNullSpace(nodes);
  const out = new Float64Array(s.length * nodes);
  s.forEach((si, i) => {
    for (let m = 0; m < nodes; m++) out[i * nodes + m] = evalBasisFunction(basis[m], nodes - 1, si);
  });
  return out;
}

/** A discretised path family: M spline nodes evaluated at S points. */
export class SplinePaths {
  readonly nodes: number;
  readonly points: number;
  /** [S, M] basis values. */
  readonly basis: Tensor2D;
  /** [S] positions s_i. */
  readonly s: number[];

  /** [S−1, M] basis rows of the first S−1 points (where the Lagrangian is evaluated). */
  readonly headBasis: Tensor2D;
  /** [S−1, M] differences of consecutive basis rows (the bend part of Δ_i = q_{i+1} − q_i). */
  readonly deltaBasis: Tensor2D;

  constructor(nodes = 15, points = 20) {
    if (!Number.isInteger(points) || points < 2) throw new Error(`a path needs at least 2 points, got ${points}`);
    this.nodes = nodes;
    this.points = points;
    this.s = Array.from({ length: points }, (_, i) => i / (points - 1));
    const values = splineBasisMatrix(nodes, points);
    const delta = new Float32Array((points - 1) * nodes);
    for (let i = 0; i < points - 1; i++) for (let m = 0; m < nodes; m++) delta[i * nodes + m] = values[(i + 1) * nodes + m] - values[i * nodes + m];
    this.basis = tf.keep(tf.tensor2d(Float32Array.from(values), [points, nodes]));
    this.headBasis = tf.keep(tf.tensor2d(Float32Array.from(values.subarray(0, (points - 1) * nodes)), [points - 1, nodes]));
    this.deltaBasis = tf.keep(tf.tensor2d(delta, [points - 1, nodes]));
  }

  /**
   * The S−1 segments of each path without slicing: start points q_i [B, S−1, D] and steps
   * Δ_i = q_{i+1} − q_i [B, S−1, D], both straight from the basis (slices are slow in wasm).
   */
  segments(y0: Tensor2D, y1: Tensor2D, phi: Tensor3D | null): { head: Tensor3D; delta: Tensor3D } {
    const head = pathAt(this.headBasis, this.s.slice(0, -1), y0, y1, phi);
    const step = tf.expandDims(tf.mul(tf.sub(y1, y0), 1 / (this.points - 1)), 1); // [B, 1, D]
    const n = this.points - 1;
    // Broadcast, not tile: the wasm backend tiles element by element in JS (it was the largest
    // single cost of a D = 32 cost matrix).
    const delta = (phi ? tf.add(step, bendAt(this.deltaBasis, n, phi)) : tf.mul(step, tf.ones([1, n, 1]))) as Tensor3D;
    return { head, delta };
  }

  /**
   * Path points q(s_i) for a batch: y0, y1 [B, D], φ [B, M, D] (or null for straight lines) → [B, S, D].
   */
  evaluate(y0: Tensor2D, y1: Tensor2D, phi: Tensor3D | null): Tensor3D {
    return pathAt(this.basis, this.s, y0, y1, phi);
  }

  dispose(): void {
    this.basis.dispose();
    this.headBasis.dispose();
    this.deltaBasis.dispose();
  }
}

/** q(s) = (1−s) y0 + s y1 + B(s) φ at the given s values with basis rows [S, M]. */
export function pathAt(basis: Tensor2D, s: number[], y0: Tensor2D, y1: Tensor2D, phi: Tensor3D | null): Tensor3D {
  const sT = tf.reshape(tf.tensor1d(s), [1, s.length, 1]);
  const start = tf.expandDims(y0, 1);
  const line = tf.add(start, tf.mul(sT, tf.sub(tf.expandDims(y1, 1), start))) as Tensor3D;
  if (!phi) return line;
  return tf.add(line, bendAt(basis, s.length, phi)) as Tensor3D;
}

/** B(s) φ for basis rows [S, M] and bends φ [B, M, D] → [B, S, D]. */
export function bendAt(basis: Tensor2D, points: number, phi: Tensor3D): Tensor3D {
  const [b, m, d] = phi.shape;
  // [S, M] · [M, B·D] → [S, B, D] → [B, S, D]
  const flat = tf.reshape(tf.transpose(phi, [1, 0, 2]), [m, b * d]);
  return tf.transpose(tf.reshape(tf.matMul(basis, flat), [points, b, d]), [1, 0, 2]) as Tensor3D;
}
