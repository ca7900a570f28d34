import { concatArrays, pickRows } from '../data/arrays.js';
import { tf, Rng } from '../engine/index.js';
import { disposeReferences } from '../lagrangian/index.js';
import { solveAssignment } from '../ot/exact.js';
import type { AnchorData } from './anchors.js';
import type { ClotNetworks } from './clot.js';

/** Matched pairs (y → ŷ) of one anchor pair, in standardised units, with the sources' conditions. */
export interface Coupling {
  k: number;
  y: Float32Array;
  x: Float32Array;
  yHat: Float32Array;
  /** Distinct rows of anchor k in the coupling, and the exact OT problems solved for it. */
  sourceRows: number;
  problems: number;
}

/**
 * Paths evaluated per batched action call when filling a cost matrix: 4096 up to D = 8, fewer
 * above, so that a chunk's [paths, points, D] tensors stay the same size (the wasm heap never
 * shrinks back).
 */
const pathChunk = (dim: number) => Math.max(256, Math.floor((4096 * 8) / Math.max(dim, 8)));

/**
 * Lagrangian cost c(y_i, y'_j | x_i) for every pair of m sources and m' targets (paths from the
 * spline network, forward only), row-major [m, m'].
 */
export function pairwiseCosts(nets: ClotNetworks, ySrc: Float32Array, xSrc: Float32Array, yDst: Float32Array): Float64Array {
  const dim = nets.anchors.dim;
  const cond = nets.anchors.cond;
  const m = ySrc.length / dim;
  const mt = yDst.length / dim;
  const total = m * mt;
  const out = new Float64Array(total);
  const chunk = pathChunk(dim);
  for (let start = 0; start < total; start += chunk) {
    const count = Math.min(chunk, total - start);
    const y0 = new Float32Array(count * dim);
    const y1 = new Float32Array(count * dim);
    const x = new Float32Array(count * cond);
    for (let p = 0; p < count; p++) {
      const i = Math.floor((start + p) / mt);
      const j = (start + p) % mt;
      for (let d = 0; d < dim; d++) {
        y0[p * dim + d] = ySrc[i * dim + d];
        y1[p * dim + d] = yDst[j * dim + d];
      }
      for (let c = 0; c < cond; c++) x[p * cond + c] = xSrc[i * cond + c];
    }
    tf.tidy(() => {
      const a = tf.tensor2d(y0, [count, dim]);
      const b = tf.tensor2d(y1, [count, dim]);
      const condT = nets.netCondition(x, count);
      const ctx = nets.pathContext(condT, x, count);
      const phi = nets.bend(a, b, nets.film(nets.spline, condT));
      const c = nets.lagrangian.action(a, b, phi, ctx).dataSync();
      for (let p = 0; p < count; p++) out[start + p] = c[p];
      if (ctx.refs) disposeReferences(ctx.refs);
    });
  }
  return out;
}

interface Group {
  src: Int32Array;
  dst: Int32Array;
  /** Match on a joint cost that heavily weights the condition (continuous x without repeats). */
  joint: boolean;
}

/**
 * Groups of sources and targets to match: same class, same condition, or random chunks. A class or
 * condition group with more rows than `cap` is matched as up to `minibatches` disjoint minibatches
 * of `cap` source rows (exact OT within each: minibatch OT), so that more of its rows enter the
 * coupling; one minibatch draws exactly what a single capped match draws.
 */
function matchingGroups(a: AnchorData, k: number, cap: number, rng: Rng, minibatches: number): Group[] {
  const take = (list: ArrayLike<number>, m: number) => {
    const perm = rng.permutation(list.length);
    return Int32Array.from({ length: m }, (_, i) => list[perm[i]]);
  };
  const batchesOf = (s: ArrayLike<number>, t: ArrayLike<number>): Group[] => {
    const m = Math.min(s.length, t.length, cap);
    if (m === 0) return [];
    const ps = rng.permutation(s.length);
    const pt = rng.permutation(t.length);
    const count = Math.min(minibatches, Math.ceil(s.length / m));
    // Sources are disjoint across minibatches (the last one may repeat a few); targets cycle.
    return Array.from({ length: count }, (_, b) => ({
      src: Int32Array.from({ length: m }, (_, i) => s[ps[(b * m + i) % s.length]]),
      dst: Int32Array.from({ length: m }, (_, i) => t[pt[(b * m + i) % t.length]]),
      joint: false,
    }));
  };
  if (a.categorical) {
    const groups: Group[] = [];
    for (let c = 0; c < a.classes; c++) groups.push(...batchesOf(a.byClass[k][c], a.byClass[k + 1][c]));
    return groups;
  }
  if (a.cond > 0) {
    // Rows sharing an identical condition vector form a group (e.g. several draws per state).
    const key = (kk: number, i: number) => Array.prototype.join.call(a.x[kk].subarray(i * a.cond, (i + 1) * a.cond), ',');
    const bySrc = new Map<string, number[]>();
    for (let i = 0; i < a.rows[k]; i++) {
      const s = key(k, i);
      if (!bySrc.has(s)) bySrc.set(s, []);
      bySrc.get(s)!.push(i);
    }
    const byDst = new Map<string, number[]>();
    for (let i = 0; i < a.rows[k + 1]; i++) {
      const s = key(k + 1, i);
      if (bySrc.has(s)) {
        if (!byDst.has(s)) byDst.set(s, []);
        byDst.get(s)!.push(i);
      }
    }
    const matched = [...byDst.keys()];
    const coverage = matched.reduce((n, s) => n + bySrc.get(s)!.length, 0) / a.rows[k];
    if (coverage >= 0.5) {
      const groups: Group[] = [];
      for (const s of matched) groups.push(...batchesOf(bySrc.get(s)!, byDst.get(s)!));
      return groups;
    }
  }
  // No shared conditions: match random chunks (at least 4, or `minibatches`, as the rows allow), on
  // a joint cost when there is a condition.
  const chunk = Math.min(cap, a.rows[k], a.rows[k + 1]);
  const rounds = Math.max(1, Math.ceil(Math.min(a.rows[k], Math.max(4, minibatches) * cap) / chunk));
  return Array.from({ length: rounds }, () => ({
    src: take(Int32Array.from({ length: a.rows[k] }, (_, i) => i), chunk),
    dst: take(Int32Array.from({ length: a.rows[k + 1] }, (_, i) => i), chunk),
    joint: a.cond > 0,
  }));
}

/**
 * Exact discrete OT between anchor k and k+1 samples under the current Lagrangian cost, within
 * each condition group: the warm start for T_k, g_k and the metric (CPU-sized: no long dual ascent
 * from scratch).
 */
export function couplePair(nets: ClotNetworks, k: number, cap: number, rng: Rng, minibatches = 1): Coupling {
  const a = nets.anchors;
  const { dim, cond } = a;
  const ys: Float32Array[] = [];
  const xs: Float32Array[] = [];
  const yHats: Float32Array[] = [];
  const groups = matchingGroups(a, k, cap, rng, minibatches);
  const sources = new Set<number>();
  for (const g of groups) {
    for (const i of g.src) sources.add(i);
    const src = a.gather(k, g.src);
    const dst = a.gather(k + 1, g.dst);
    const cost = pairwiseCosts(nets, src.y, src.x, dst.y);
    if (g.joint) addConditionPenalty(cost, src.x, dst.x, cond);
    const assignment = solveAssignment(cost, g.src.length);
    ys.push(src.y);
    xs.push(src.x);
    yHats.push(pickRows(dst.y, dim, assignment));
  }
  return { k, y: concatArrays(ys), x: concatArrays(xs), yHat: concatArrays(yHats), sourceRows: sources.size, problems: groups.length };
}

/** Add w · ‖x_i − x'_j‖² (conditions standardised) with w large against the typical transport cost. */
function addConditionPenalty(cost: Float64Array, xs: Float32Array, xt: Float32Array, cond: number): void {
  const m = xs.length / cond;
  const mt = xt.length / cond;
  const sorted = Float64Array.from(cost).sort();
  const typical = Math.max(sorted[Math.floor(sorted.length / 2)], 1e-6);
  const w = 10 * typical;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < mt; j++) {
      let d2 = 0;
      for (let c = 0; c < cond; c++) d2 += (xs[i * cond + c] - xt[j * cond + c]) ** 2;
      cost[i * mt + j] += w * d2;
    }
  }
}


