import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf, Rng, type Tensor3D } from '../src/engine/index.js';
import { SplinePaths, evalBasisFunction, splineBasisAt, splineBasisMatrix, splineNullSpace } from '../src/lagrangian/index.js';

beforeAll(async () => {
  await initEngine({ quiet: true });
});

const M = 15;
const SEGS = M - 1;
const H = 1 / SEGS;

/** Value, first and second derivative of segment j's cubic at local offset u. */
function segmentDerivs(coef: Float64Array, j: number, u: number): [number, number, number] {
  const [a, b, c, d] = [coef[4 * j], coef[4 * j + 1], coef[4 * j + 2], coef[4 * j + 3]];
  return [a + b * u + c * u * u + d * u * u * u, b + 2 * c * u + 3 * d * u * u, 2 * c + 6 * d * u];
}

/**
 * An independently built member of the space: a truncated-power cubic spline
 * f(s) = a1 s + a2 s² + a3 s³ + Σ_j c_j (s − s_j)₊³ (C² at the interior knots, f(0) = 0),
 * with a1 chosen so that f(1) = 0. Returned as a function and its per-segment Taylor coefficients.
 */
function randomSpline(rng: Rng): { f: (s: number) => number; coef: Float64Array } {
  const a2 = rng.normal();
  const a3 = rng.normal();
  const c = Array.from({ length: SEGS - 1 }, () => rng.normal());
  const knots = c.map((_, j) => (j + 1) * H);
  const rest = (s: number) => a2 * s * s + a3 * s ** 3 + c.reduce((acc, cj, j) => acc + cj * Math.max(0, s - knots[j]) ** 3, 0);
  const a1 = -rest(1);
  const f = (s: number) => a1 * s + rest(s);
  // Derivatives at the start of each segment (from the right) give its Taylor coefficients.
  const coef = new Float64Array(4 * SEGS);
  for (let j = 0; j < SEGS; j++) {
    const s0 = j * H;
    let d1 = a1 + 2 * a2 * s0 + 3 * a3 * s0 * s0;
    let d2 = 2 * a2 + 6 * a3 * s0;
    let d3 = 6 * a3;
    knots.forEach((k, i) => {
      if (s0 >= k - 1e-12) {
        d1 += 3 * c[i] * (s0 - k) ** 2;
        d2 += 6 * c[i] * (s0 - k);
        d3 += 6 * c[i];
      }
    });
    coef.set([f(s0), d1, d2 / 2, d3 / 6], 4 * j);
  }
  return { f, coef };
}

describe('spline null-space basis', () => {
  const basis = splineNullSpace(M);

  it('has M functions of 4(M − 1) coefficients', () => {
    expect(basis.length).toBe(M);
    for (const b of basis) expect(b.length).toBe(4 * SEGS);
  });

  it('vanishes at s = 0 and s = 1', () => {
    for (const b of basis) {
      expect(Math.abs(segmentDerivs(b, 0, 0)[0])).toBeLessThan(1e-12);
      expect(Math.abs(segmentDerivs(b, SEGS - 1, H)[0])).toBeLessThan(1e-12);
      expect(Math.abs(evalBasisFunction(b, SEGS, 0))).toBeLessThan(1e-12);
      expect(Math.abs(evalBasisFunction(b, SEGS, 1))).toBeLessThan(1e-12);
    }
  });

  it('is continuous in value, slope and curvature at every interior node', () => {
    for (const b of basis) {
      for (let j = 0; j < SEGS - 1; j++) {
        const left = segmentDerivs(b, j, H);
        const right = segmentDerivs(b, j + 1, 0);
        for (let k = 0; k < 3; k++) expect(Math.abs(left[k] - right[k])).toBeLessThan(1e-9);
      }
    }
  });

  it('has orthonormal rows', () => {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < M; j++) {
        let dot = 0;
        for (let k = 0; k < basis[i].length; k++) dot += basis[i][k] * basis[j][k];
        expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-10);
      }
    }
  });

  it('reproduces any C² cubic spline that vanishes at both ends', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 5; trial++) {
      const { f, coef } = randomSpline(rng);
      // Orthonormal rows: the projection onto the span is Σ (coef·b_m) b_m; it must give coef back.
      const w = basis.map((b) => b.reduce((acc, v, k) => acc + v * coef[k], 0));
      let residual = 0;
      let norm = 0;
      for (let k = 0; k < coef.length; k++) {
        const proj = w.reduce((acc, wm, m) => acc + wm * basis[m][k], 0);
        residual = Math.max(residual, Math.abs(proj - coef[k]));
        norm = Math.max(norm, Math.abs(coef[k]));
      }
      expect(residual / norm).toBeLessThan(1e-9);
      // And evaluating the combination through the basis matrix gives f at arbitrary s.
      const s = [0, 0.013, 0.2, 0.5, 0.77, 0.999, 1];
      const at = splineBasisAt(M, s);
      s.forEach((si, i) => {
        const v = w.reduce((acc, wm, m) => acc + wm * at[i * M + m], 0);
        expect(v).toBeCloseTo(f(si), 9);
      });
    }
  });

  it('rejects fewer than 3 nodes', () => {
    expect(() => splineNullSpace(2)).toThrow(/at least 3 nodes/);
  });

  it('basis matrix at the S path points agrees with basis values at arbitrary s', () => {
    const S = 20;
    const mat = splineBasisMatrix(M, S);
    const at = splineBasisAt(M, Array.from({ length: S }, (_, i) => i / (S - 1)));
    for (let i = 0; i < mat.length; i++) expect(mat[i]).toBeCloseTo(at[i], 12);
  });
});

describe('SplinePaths', () => {
  it('evaluates [B, S, D] paths: straight for φ = 0, line plus B(s) φ otherwise', () => {
    const B = 3;
    const S = 20;
    const D = 2;
    const paths = new SplinePaths(M, S);
    const rng = new Rng(5);
    const y0 = rng.normals(B * D);
    const y1 = rng.normals(B * D);
    const phi = rng.normals(B * M * D, 0.5);
    const [straight, zero, bent] = tf.tidy(() => {
      const a = tf.tensor2d(y0, [B, D]);
      const b = tf.tensor2d(y1, [B, D]);
      return [
        paths.evaluate(a, b, null),
        paths.evaluate(a, b, tf.zeros([B, M, D]) as Tensor3D),
        paths.evaluate(a, b, tf.tensor3d(phi, [B, M, D])),
      ];
    });
    expect(straight.shape).toEqual([B, S, D]);
    expect(bent.shape).toEqual([B, S, D]);
    const st = straight.dataSync();
    const zr = zero.dataSync();
    const bt = bent.dataSync();
    const basis = splineBasisMatrix(M, S);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < S; i++) {
        const s = i / (S - 1);
        for (let d = 0; d < D; d++) {
          const line = (1 - s) * y0[b * D + d] + s * y1[b * D + d];
          let bend = 0;
          for (let m = 0; m < M; m++) bend += basis[i * M + m] * phi[(b * M + m) * D + d];
          const o = (b * S + i) * D + d;
          expect(st[o]).toBeCloseTo(line, 5);
          expect(zr[o]).toBeCloseTo(line, 5);
          expect(bt[o]).toBeCloseTo(line + bend, 5);
        }
      }
      // Endpoints are pinned whatever φ is.
      for (let d = 0; d < D; d++) {
        expect(bt[(b * S) * D + d]).toBeCloseTo(y0[b * D + d], 5);
        expect(bt[(b * S + S - 1) * D + d]).toBeCloseTo(y1[b * D + d], 5);
      }
    }
    tf.dispose([straight, zero, bent]);
    paths.dispose();
  });

  it('rejects paths with fewer than 2 points', () => {
    expect(() => new SplinePaths(M, 1)).toThrow(/at least 2 points/);
  });
});
