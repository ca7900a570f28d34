// Small float64 linear algebra for the Lagrangian tests, written independently of src/lagrangian.

/** Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (float64), ascending. */
export function jacobiEigenvalues(input: number[][]): number[] {
  const n = input.length;
  const a = input.map((r) => r.slice());
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((r, i) => r[i]).sort((x, y) => x - y);
}

/** R = Π Givens(i, j) in the order (0,1), (0,2), …, each [[c, −s], [s, c]] on plane (i, j), built as dense matrices. */
export function givensProduct(cos: number[], sin: number[], d: number): number[][] {
  let r = identity(d);
  let p = 0;
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const g = identity(d);
      g[i][i] = cos[p];
      g[i][j] = -sin[p];
      g[j][i] = sin[p];
      g[j][j] = cos[p];
      r = matmul(g, r);
      p++;
    }
  }
  return r;
}

export function identity(d: number): number[][] {
  return Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
}

export function matmul(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0].map((_, j) => row.reduce((acc, v, k) => acc + v * b[k][j], 0)));
}

export function transpose(a: number[][]): number[][] {
  return a[0].map((_, j) => a.map((row) => row[j]));
}

/** Rᵀ diag(e) R. */
export function fromEigen(e: number[], r: number[][]): number[][] {
  return matmul(transpose(r), matmul(e.map((v, i) => r[i].map((x) => v * x)), identity(e.length)));
}


/** Q = H(u_1) ⋯ H(u_m) with H(u) = I − 2 u uᵀ / uᵀu, built as dense matrices (float64). */
export function householderProduct(normals: number[][]): number[][] {
  const d = normals[0]?.length ?? 0;
  let q = identity(d);
  for (const u of normals) {
    const uu = u.reduce((a, v) => a + v * v, 0);
    const h = identity(d).map((row, i) => row.map((v, j) => v - (2 * u[i] * u[j]) / uu));
    q = matmul(q, h);
  }
  return q;
}
