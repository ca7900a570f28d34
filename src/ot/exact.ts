/**
 * Exact optimal transport between two uniform-weight point clouds with squared Euclidean ground
 * cost. The value returned is the *squared* cost W2² = min over couplings π of Σ π_ij ‖a_i − b_j‖²
 * (the mean over matched pairs when sizes are equal) — the paper's "W.D." and every figure in
 * benchmarks.md are this squared cost, not its square root. No entropic smoothing: the answer is
 * the linear-programme optimum up to float round-off.
 *
 * Equal sizes: a linear assignment problem, solved by shortest augmenting paths with dual
 * potentials (Jonker–Volgenant / Crouse 2016, as in SciPy), O(n³) worst case, far less in practice.
 * Unequal sizes n, m: a transportation problem; supplies m/g per source and demands n/g per sink
 * (g = gcd(n, m)) make it integral, and successive shortest paths with potentials solve it exactly.
 *
 * Lives in src/ot (not src/eval) so the baselines can use the same exact pairing.
 */

export type Points = Float32Array | Float64Array;

function checkCloud(p: Points, dim: number, name: string): number {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`ot: dimension must be a positive integer, got ${dim}`);
  if (p.length === 0) throw new Error(`ot: point cloud ${name} is empty`);
  if (p.length % dim !== 0) throw new Error(`ot: point cloud ${name} has ${p.length} values, not a multiple of dimension ${dim}`);
  for (let i = 0; i < p.length; i++) {
    if (!Number.isFinite(p[i])) throw new Error(`ot: point cloud ${name} has a non-finite value at index ${i}`);
  }
  return p.length / dim;
}

/** Row-major n × m matrix of squared Euclidean distances (float64 whatever the input type). */
export function squaredDistances(a: Points, b: Points, dim: number): Float64Array {
  const n = a.length / dim;
  const m = b.length / dim;
  const c = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const ia = i * dim;
    const row = i * m;
    for (let j = 0; j < m; j++) {
      const jb = j * dim;
      let s = 0;
      for (let k = 0; k < dim; k++) {
        const d = a[ia + k] - b[jb + k];
        s += d * d;
      }
      c[row + j] = s;
    }
  }
  return c;
}

/**
 * Minimum-cost perfect matching on a square n × n cost matrix (row-major). Returns col4row:
 * row i is matched to column col4row[i].
 */
export function solveAssignment(cost: Float64Array, n: number): Int32Array {
  return solveAssignmentWithDuals(cost, n).col4row;
}

/**
 * The same matching with its optimal duals: u_i + v_j ≤ c_ij everywhere, with equality on the
 * matched pairs (v is a discrete Kantorovich potential on the columns).
 *
 * `start` (optional) begins the search from the row or column potentials of a similar problem
 * solved just before. Any start is valid: the other side's potentials are then set so that every
 * reduced cost is non-negative, and a start close to this problem's optimum leaves short augmenting
 * paths. The matching is optimal either way; only the work differs.
 */
export function solveAssignmentWithDuals(cost: Float64Array, n: number, start?: { u?: Float64Array; v?: Float64Array }): { col4row: Int32Array; u: Float64Array; v: Float64Array } {
  if (cost.length !== n * n) throw new Error(`ot: cost matrix has ${cost.length} entries, expected ${n}×${n}`);
  for (let k = 0; k < cost.length; k++) {
    if (!Number.isFinite(cost[k])) throw new Error(`ot: cost matrix has a non-finite entry at index ${k}`);
  }
  const usable = (d: Float64Array | undefined): d is Float64Array => d !== undefined && d.length === n && d.every(Number.isFinite);
  const u0 = start?.u;
  const v0 = start?.v;
  const u = usable(u0) ? Float64Array.from(u0) : new Float64Array(n);
  if (!usable(u0) && usable(v0)) {
    // Row reduction against the given column potentials: u_i = min_j (c_ij − v_j).
    for (let i = 0; i < n; i++) {
      const row = i * n;
      let m = Infinity;
      for (let j = 0; j < n; j++) if (cost[row + j] - v0[j] < m) m = cost[row + j] - v0[j];
      u[i] = m;
    }
  }
  const v = new Float64Array(n).fill(Infinity);
  // Column reduction: v_j = min_i (c_ij − u_i) makes every reduced cost non-negative.
  // (JV's augmenting row reduction was measured and did not pay off on point-cloud costs.)
  for (let i = 0; i < n; i++) {
    const row = i * n;
    const ui = u[i];
    for (let j = 0; j < n; j++) if (cost[row + j] - ui < v[j]) v[j] = cost[row + j] - ui;
  }
  const col4row = new Int32Array(n).fill(-1);
  const row4col = new Int32Array(n).fill(-1);
  const path = new Int32Array(n);
  const dist = new Float64Array(n);
  const remaining = new Int32Array(n);
  const scannedRows = new Int32Array(n);
  const scannedCol = new Uint8Array(n);
  for (let cur = 0; cur < n; cur++) {
    // Dijkstra on reduced costs c_ij − u_i − v_j ≥ 0 from the free row `cur` to a free column.
    let nRemaining = n;
    for (let j = 0; j < n; j++) {
      remaining[j] = n - 1 - j;
      dist[j] = Infinity;
      scannedCol[j] = 0;
    }
    let nScanned = 0;
    let minVal = 0;
    let i = cur;
    let sink = -1;
    while (sink === -1) {
      scannedRows[nScanned++] = i;
      const row = i * n;
      const base = minVal - u[i];
      let lowest = Infinity;
      let idx = -1;
      for (let it = 0; it < nRemaining; it++) {
        const j = remaining[it];
        const r = base + cost[row + j] - v[j];
        let d = dist[j];
        if (r < d) {
          path[j] = i;
          dist[j] = r;
          d = r;
        }
        // Prefer a free column on ties: it ends the search sooner.
        if (d < lowest || (d === lowest && row4col[j] === -1)) {
          lowest = d;
          idx = it;
        }
      }
      minVal = lowest;
      const j = remaining[idx];
      if (row4col[j] === -1) sink = j;
      else i = row4col[j];
      scannedCol[j] = 1;
      remaining[idx] = remaining[--nRemaining];
    }
    // Dual update keeps matched edges and the new path tight, all reduced costs non-negative.
    u[cur] += minVal;
    for (let s = 1; s < nScanned; s++) {
      const r = scannedRows[s];
      u[r] += minVal - dist[col4row[r]];
    }
    for (let j = 0; j < n; j++) if (scannedCol[j]) v[j] -= minVal - dist[j];
    // Augment along the path back to row `cur`.
    let j = sink;
    for (;;) {
      const r = path[j];
      row4col[j] = r;
      const prev = col4row[r];
      col4row[r] = j;
      j = prev;
      if (r === cur) break;
    }
  }
  return { col4row, u, v };
}

function gcd(x: number, y: number): number {
  while (y) [x, y] = [y, x % y];
  return x;
}

/** A transport plan between uniform clouds: entries of flow are integer masses out of total. */
export interface TransportPlan {
  n: number;
  m: number;
  /** Row-major n × m integer flows; the coupling is flow / total. Row sums total/n, column sums total/m. */
  flow: Float64Array;
  total: number;
  /** Σ flow_ij c_ij / total: W2² for point clouds. */
  cost: number;
}

/**
 * Exact transportation problem between n uniform sources and m uniform sinks on an n × m cost
 * matrix: successive shortest paths from one source with supply left at a time, Dijkstra on
 * reduced costs (dense, Hungarian-style scan), potentials kept feasible by capped distances.
 */
export function solveTransport(cost: Float64Array, n: number, m: number): TransportPlan {
  if (cost.length !== n * m) throw new Error(`ot: cost matrix has ${cost.length} entries, expected ${n}×${m}`);
  for (let k = 0; k < cost.length; k++) {
    if (!Number.isFinite(cost[k])) throw new Error(`ot: cost matrix has a non-finite entry at index ${k}`);
  }
  const g = gcd(n, m);
  const total = (n * m) / g;
  const supply = new Float64Array(n).fill(m / g);
  const demand = new Float64Array(m).fill(n / g);
  const flow = new Float64Array(n * m);
  // Potentials: reduced cost c_ij − u_i − v_j ≥ 0 everywhere, = 0 wherever flow > 0.
  const u = new Float64Array(n);
  const v = new Float64Array(m).fill(Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) if (cost[i * m + j] < v[j]) v[j] = cost[i * m + j];
  }
  const sinkDist = new Float64Array(m);
  const srcDist = new Float64Array(n);
  const sinkParent = new Int32Array(m);
  const srcParent = new Int32Array(n);
  const srcSeen = new Uint8Array(n);
  const remaining = new Int32Array(m);
  const visitedSinks = new Int32Array(m);
  const visitedSrcs = new Int32Array(n);
  const stack = new Int32Array(n);

  let left = total;
  let s0 = 0;
  while (left > 0) {
    while (supply[s0] === 0) s0++;
    let nRemaining = m;
    for (let j = 0; j < m; j++) {
      remaining[j] = j;
      sinkDist[j] = Infinity;
    }
    srcSeen.fill(0);
    let nVisSinks = 0;
    let nVisSrcs = 0;
    let top = 0;
    stack[top++] = s0;
    srcSeen[s0] = 1;
    srcDist[s0] = 0;
    srcParent[s0] = -1;
    visitedSrcs[nVisSrcs++] = s0;
    let minVal = 0;
    let target = -1;
    while (target === -1) {
      // Relax forward arcs out of every source reached at the current distance.
      while (top > 0) {
        const i = stack[--top];
        const row = i * m;
        const base = minVal - u[i];
        for (let it = 0; it < nRemaining; it++) {
          const j = remaining[it];
          const r = base + cost[row + j] - v[j];
          if (r < sinkDist[j]) {
            sinkDist[j] = r;
            sinkParent[j] = i;
          }
        }
      }
      let lowest = Infinity;
      let idx = -1;
      for (let it = 0; it < nRemaining; it++) {
        const j = remaining[it];
        const d = sinkDist[j];
        if (d < lowest || (d === lowest && demand[j] > 0 && demand[remaining[idx]] === 0)) {
          lowest = d;
          idx = it;
        }
      }
      minVal = lowest;
      const j = remaining[idx];
      remaining[idx] = remaining[--nRemaining];
      visitedSinks[nVisSinks++] = j;
      if (demand[j] > 0) {
        target = j;
        break;
      }
      // Backward arcs j → i exist where flow is positive; they are tight (reduced cost 0).
      for (let i = 0; i < n; i++) {
        if (!srcSeen[i] && flow[i * m + j] > 0) {
          srcSeen[i] = 1;
          srcDist[i] = minVal;
          srcParent[i] = j;
          visitedSrcs[nVisSrcs++] = i;
          stack[top++] = i;
        }
      }
    }
    // Potentials: visited nodes move by (distance − final distance); the rest stay.
    for (let k = 0; k < nVisSrcs; k++) {
      const i = visitedSrcs[k];
      u[i] -= srcDist[i] - minVal;
    }
    for (let k = 0; k < nVisSinks; k++) {
      const j = visitedSinks[k];
      v[j] += sinkDist[j] - minVal;
    }
    // Bottleneck along the path: supply of s0, demand of the target, flows on backward arcs.
    let delta = Math.min(supply[s0], demand[target]);
    for (let j = target; ; ) {
      const i = sinkParent[j];
      const pj = srcParent[i];
      if (pj < 0) break;
      delta = Math.min(delta, flow[i * m + pj]);
      j = pj;
    }
    for (let j = target; ; ) {
      const i = sinkParent[j];
      flow[i * m + j] += delta;
      const pj = srcParent[i];
      if (pj < 0) break;
      flow[i * m + pj] -= delta;
      j = pj;
    }
    supply[s0] -= delta;
    demand[target] -= delta;
    left -= delta;
  }
  let c = 0;
  for (let k = 0; k < flow.length; k++) if (flow[k] > 0) c += flow[k] * cost[k];
  return { n, m, flow, total, cost: c / total };
}

/**
 * Copy of a cloud minus its mean. Translating either cloud changes ‖a_i − b_j‖² only by a term
 * in i plus a term in j, which every coupling with fixed marginals pays equally, so the optimal
 * assignment/plan is the same; centred clouds just make the dual search much shorter (a shifted
 * pair of clouds was 9× slower at n = 1000).
 */
function centred(p: Points, dim: number): Float64Array {
  const n = p.length / dim;
  const mean = new Float64Array(dim);
  for (let i = 0; i < p.length; i++) mean[i % dim] += p[i];
  for (let k = 0; k < dim; k++) mean[k] /= n;
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = p[i] - mean[i % dim];
  return out;
}

function pairCost(a: Points, i: number, b: Points, j: number, dim: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) {
    const d = a[i * dim + k] - b[j * dim + k];
    s += d * d;
  }
  return s;
}

/**
 * Optimal one-to-one pairing of two equal-size clouds under squared Euclidean cost:
 * result[i] is the index of the point of b matched to a_i.
 */
export function exactAssignment(a: Points, b: Points, dim: number, warm?: AssignmentWarmStart): Int32Array {
  const n = checkCloud(a, dim, 'a');
  const m = checkCloud(b, dim, 'b');
  if (n !== m) throw new Error(`ot: exactAssignment needs equal sizes, got ${n} and ${m} points`);
  const ca = centred(a, dim);
  const cb = centred(b, dim);
  // The row-by-row search is shorter when the rows are the wider cloud (measured: a 1.5× wider
  // column cloud took 2.2× the work at n = 1000), so solve the transposed problem in that case.
  const transposed = spread(cb) > spread(ca);
  // The warm start keeps the potentials of b's points (the cloud that stays the same).
  const kept = warm?.duals && warm.duals.length === n ? warm.duals : undefined;
  const solved = transposed ? solveAssignmentWithDuals(squaredDistances(cb, ca, dim), n, { u: kept }) : solveAssignmentWithDuals(squaredDistances(ca, cb, dim), n, { v: kept });
  if (warm) warm.duals = transposed ? solved.u : solved.v;
  if (!transposed) return solved.col4row;
  const col4row = new Int32Array(n);
  for (let j = 0; j < n; j++) col4row[solved.col4row[j]] = j;
  return col4row;
}

/**
 * What a run of similar assignments passes on: the potentials of the second cloud's points at the
 * last optimum. Handed to problems whose second cloud stays the same while the first changes a
 * little from one call to the next (a held-out level's true rows against the answers at many
 * positions along the paths), each solve starts where the previous one ended, which cuts the
 * search several-fold. The results do not depend on it.
 */
export interface AssignmentWarmStart {
  duals: Float64Array | null;
}

export function newWarmStart(): AssignmentWarmStart {
  return { duals: null };
}

function spread(p: Float64Array): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += p[i] * p[i];
  return s;
}

/** Exact optimal coupling between uniform clouds (equal or unequal sizes), as integer flows. */
export function exactTransportPlan(a: Points, b: Points, dim: number): TransportPlan {
  const n = checkCloud(a, dim, 'a');
  const m = checkCloud(b, dim, 'b');
  const plan = solveTransport(squaredDistances(centred(a, dim), centred(b, dim), dim), n, m);
  // Re-sum on the original coordinates (the centred costs differ by marginal-only terms).
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const f = plan.flow[i * m + j];
      if (f > 0) s += f * pairCost(a, i, b, j, dim);
    }
  }
  plan.cost = s / plan.total;
  return plan;
}

/**
 * Exact W2² (squared-Euclidean OT cost) between uniform point clouds a (n × dim) and b (m × dim),
 * equal or unequal sizes.
 */
export function exactOtCost(a: Points, b: Points, dim: number, warm?: AssignmentWarmStart): number {
  const n = checkCloud(a, dim, 'a');
  const m = checkCloud(b, dim, 'b');
  if (n !== m) return exactTransportPlan(a, b, dim).cost;
  const col4row = exactAssignment(a, b, dim, warm);
  let s = 0;
  for (let i = 0; i < n; i++) s += pairCost(a, i, b, col4row[i], dim);
  return s / n;
}
