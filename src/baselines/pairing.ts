/**
 * Exact OT pairing of the rows of two adjacent anchors within each condition, the coupling the
 * flow-matching baselines draw their interpolants from (squared Euclidean cost on standardised y).
 *   - categorical x: pair within each class;
 *   - continuous x whose every source condition also occurs at the target (the network was queried
 *     on shared inputs): pair within each group of identical condition vectors;
 *   - otherwise: one OT problem on the joint cost ‖y − y'‖² + w‖x − x'‖² with a large w, so rows
 *     are matched to rows of (nearly) the same condition first.
 * Equal group sizes give a one-to-one assignment; unequal sizes an exact transport plan.
 */
import type { Rng } from '../engine/index.js';
import { exactAssignment, exactTransportPlan } from '../ot/exact.js';
import { positiveNumberOption } from './common.js';

/** One anchor's rows: standardised outputs (n × D) and the condition block (ids, or standardised x). */
export interface AnchorBlock {
  y: Float32Array;
  x: Float32Array;
  n: number;
}

/** Matched rows: source row src[p] of anchor k goes to row dst[p] of anchor k + 1 with mass weight[p]. */
export interface Pairing {
  src: Int32Array;
  dst: Int32Array;
  /** Mass per pair; each source row's pairs sum to 1. */
  weight: Float64Array;
  /** How the pairs were formed (for the training summary). */
  mode: 'class' | 'group' | 'joint' | 'none';
}

export interface PairingOptions {
  dim: number;
  cond: number;
  categorical: boolean;
  /** Weight w of the condition distance in the joint cost (standardised units; default 1000). */
  conditionWeight?: number;
  /** Largest group solved exactly; larger groups are subsampled (seeded) to this size. */
  maxGroup?: number;
  rng: Rng;
}

export function pairAnchors(a: AnchorBlock, b: AnchorBlock, o: PairingOptions): Pairing {
  const { dim, cond } = o;
  const acc = new PairAccumulator();
  if (cond === 0) {
    matchGroup(a, b, range(a.n), range(b.n), dim, o, acc, null);
    return acc.done('none');
  }
  const ga = groupsOf(a, cond);
  const gb = groupsOf(b, cond);
  const shared = [...ga.keys()].every((key) => gb.has(key));
  if (o.categorical && !shared) {
    const missing = [...ga.keys()].find((key) => !gb.has(key));
    throw new Error(`class ${missing} has rows at one anchor but none at the next; every class must appear at every anchor`);
  }
  if (shared) {
    for (const [key, ia] of ga) matchGroup(a, b, ia, gb.get(key)!, dim, o, acc, null);
    return acc.done(o.categorical ? 'class' : 'group');
  }
  matchGroup(a, b, range(a.n), range(b.n), dim, o, acc, Math.sqrt(positiveNumberOption(o.conditionWeight, 1000, 'condition weight')));
  return acc.done('joint');
}

/** Row indices by condition, in order of first appearance (deterministic). */
function groupsOf(block: AnchorBlock, cond: number): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < block.n; i++) {
    const key = Array.from(block.x.subarray(i * cond, (i + 1) * cond)).join(',');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(i);
  }
  return groups;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Points of the chosen rows: y, plus √w · x when the condition joins the cost. */
function points(block: AnchorBlock, idx: number[], dim: number, cond: number, xScale: number | null): Float32Array {
  const width = dim + (xScale === null ? 0 : cond);
  const out = new Float32Array(idx.length * width);
  idx.forEach((r, i) => {
    out.set(block.y.subarray(r * dim, (r + 1) * dim), i * width);
    if (xScale !== null) for (let j = 0; j < cond; j++) out[i * width + dim + j] = xScale * block.x[r * cond + j];
  });
  return out;
}

function capped(idx: number[], max: number, rng: Rng): number[] {
  if (idx.length <= max) return idx;
  return Array.from(rng.sample(idx.length, max))
    .sort((p, q) => p - q)
    .map((p) => idx[p]);
}

function matchGroup(a: AnchorBlock, b: AnchorBlock, ia0: number[], ib0: number[], dim: number, o: PairingOptions, acc: PairAccumulator, xScale: number | null): void {
  const max = o.maxGroup ?? 2000; // 2000² costs: about 30 MB and a second of JV at most
  const ia = capped(ia0, max, o.rng);
  const ib = capped(ib0, max, o.rng);
  const width = dim + (xScale === null ? 0 : o.cond);
  const pa = points(a, ia, dim, o.cond, xScale);
  const pb = points(b, ib, dim, o.cond, xScale);
  if (ia.length === ib.length) {
    const perm = exactAssignment(pa, pb, width);
    ia.forEach((r, i) => acc.push(r, ib[perm[i]], 1));
    return;
  }
  const plan = exactTransportPlan(pa, pb, width);
  // Flows are integers out of `total`; scale so that each source row carries mass 1.
  const scale = plan.n / plan.total;
  for (let i = 0; i < plan.n; i++) {
    for (let j = 0; j < plan.m; j++) {
      const f = plan.flow[i * plan.m + j];
      if (f > 0) acc.push(ia[i], ib[j], f * scale);
    }
  }
}

class PairAccumulator {
  private src: number[] = [];
  private dst: number[] = [];
  private weight: number[] = [];
  push(s: number, d: number, w: number): void {
    this.src.push(s);
    this.dst.push(d);
    this.weight.push(w);
  }
  done(mode: Pairing['mode']): Pairing {
    return { src: Int32Array.from(this.src), dst: Int32Array.from(this.dst), weight: Float64Array.from(this.weight), mode };
  }
}
