/**
 * A fitted surrogate as one ONNX graph (opset 17, IR version 8): inputs `rows` [N, D + C] float32
 * (first-anchor rows, as `hti sample --from`) and `lambda` float32 [1] (one λ for every row) or
 * [N] (one per row); output `samples` [N, D + C], what `model.sample` returns, the condition
 * columns passed through. (`lambda` has rank 1, not "scalar or vector": the ONNX checker requires
 * every graph input to declare its rank, and ONNX Runtime enforces it.) The graph is built from the
 * model's own description of its sampling (`TrajectoryModel.samplingGraph`, src/surrogate/graph.ts),
 * one emitter per kind of step:
 *
 *   λ → (interval k, position s)      emitInterval: one case per PositionMap kind (linear, time warp)
 *   networks                          OnnxNet (an Mlp with FiLM; categorical: a per-class table)
 *   CLOT / Direct / flow              emitClot / emitDirect / emitFlow
 *
 * λ outside the anchor range is clamped to the nearest end anchor (`hti sample` refuses it); a row
 * with a NaN λ, or a class id that is not an integer in 0..classes−1, gets NaN output columns (its
 * condition still passed through) and leaves the other rows unchanged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Activation } from '../engine/index.js';
import type { ClotGraph, DirectGraph, FlowGraph, GraphCommon, NetDescription, PositionMap, SamplingGraph } from '../surrogate/graph.js';
import type { TrajectoryModel } from '../surrogate/model.js';
import { GraphBuilder, decodeModel, encodeModel, valueInfo } from './builder.js';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
export const ONNX_INPUT_ROWS = 'rows';
export const ONNX_INPUT_LAMBDA = 'lambda';
export const ONNX_OUTPUT = 'samples';
/** What the graph does with λ outside [λ_0, λ_K] (stored in the metadata). */
export const ONNX_OUT_OF_RANGE = 'clamp';

const require = createRequire(import.meta.url);
const HTI_VERSION = (require('../../package.json') as { version: string }).version;

const ACTIVATION_OPS: Record<Activation, { op: string; alpha?: number }> = {
  relu: { op: 'Relu' },
  // Same slope as tf.leakyRelu(x, 0.2) in src/engine/nets.ts.
  leaky_relu: { op: 'LeakyRelu', alpha: 0.2 },
  softplus: { op: 'Softplus' },
  tanh: { op: 'Tanh' },
};

function activate(b: GraphBuilder, x: string, kind: Activation): string {
  const a = ACTIVATION_OPS[kind];
  if (!a) throw new Error(`cannot export activation '${kind}'`);
  return b.op(a.op, [x], a.alpha === undefined ? {} : { alpha: { float: a.alpha } });
}

/** FiLM of one network for a batch: scale + 1 and shift, [N, H0] each. */
interface FilmValues {
  onePlusScale: string;
  shift: string;
}

/** An Mlp's weights as initializers (created once, usable from any subgraph) and its forward pass. */
class OnnxNet {
  private readonly w: string[] = [];
  private readonly bias: string[] = [];

  constructor(
    b: GraphBuilder,
    readonly desc: NetDescription,
    readonly prefix: string,
  ) {
    const layers = desc.config.hidden.length + 1;
    for (let i = 0; i < layers; i++) {
      this.w.push(this.weight(b, `w${i}`));
      this.bias.push(this.weight(b, `b${i}`));
    }
  }

  private weight(b: GraphBuilder, name: string): string {
    const p = this.desc.params[name];
    if (!p) throw new Error(`network ${this.prefix} lacks parameter '${name}'`);
    return b.floats(`${this.prefix}.${name}`, p.data, p.shape);
  }

  /** Columns [from, to) of a 2-D parameter, or entries [from, to) of a 1-D one, as an initializer. */
  private part(b: GraphBuilder, name: string, from: number, to: number, label: string): string {
    const p = this.desc.params[name];
    if (!p) throw new Error(`network ${this.prefix} lacks parameter '${name}'`);
    if (p.shape.length === 1) return b.floats(`${this.prefix}.${label}`, p.data.subarray(from, to), [to - from]);
    const [rows, cols] = p.shape;
    const out = new Float32Array(rows * (to - from));
    for (let r = 0; r < rows; r++) out.set(p.data.subarray(r * cols + from, r * cols + to), r * (to - from));
    return b.floats(`${this.prefix}.${label}`, out, [rows, to - from]);
  }

  /**
   * FiLM from the condition as the network sees it: standardised columns [N, C], or class ids
   * [N, 1] (categorical: FiLM of every class's embedding, then each row's by Gather).
   */
  film(b: GraphBuilder, condition: string | null): FilmValues | null {
    const c = this.desc.config.condition;
    if (c.kind === 'none') return null;
    if (!condition) throw new Error(`network ${this.prefix} needs a condition`);
    const h0 = this.desc.config.hidden[0];
    const features = c.kind === 'categorical' ? this.weight(b, 'embed') : condition;
    const f = activate(b, b.add(b.matmul(features, this.weight(b, 'film_w0')), this.weight(b, 'film_b0')), this.desc.config.activation);
    let scale = b.add(b.matmul(f, this.part(b, 'film_w1', 0, h0, 'film_w1_scale')), this.part(b, 'film_b1', 0, h0, 'film_b1_scale'));
    let shift = b.add(b.matmul(f, this.part(b, 'film_w1', h0, 2 * h0, 'film_w1_shift')), this.part(b, 'film_b1', h0, 2 * h0, 'film_b1_shift'));
    if (c.kind === 'categorical') {
      const ids = b.cast(b.reshape(condition, [-1]), 'int64');
      scale = b.op('Gather', [scale, ids], { axis: { int: 0 } });
      shift = b.op('Gather', [shift, ids], { axis: { int: 0 } });
    }
    return { onePlusScale: b.add(scale, b.scalar(1)), shift };
  }

  /** Output [N, out] for input [N, in]. */
  apply(b: GraphBuilder, input: string, film: FilmValues | null): string {
    const layers = this.w.length;
    let h = input;
    for (let i = 0; i < layers; i++) {
      h = b.add(b.matmul(h, this.w[i]), this.bias[i]);
      if (i === 0 && film) h = b.add(b.mul(h, film.onePlusScale), film.shift);
      if (i < layers - 1) h = activate(b, h, this.desc.config.activation);
    }
    return h;
  }
}

/** The graph's inputs split into the pieces every kind uses. */
interface Inputs {
  /** Output columns [N, D] and condition columns [N, C] (null when C = 0), as given. */
  y: string;
  x: string | null;
  /** The condition as the networks see it: standardised columns, or valid class ids; null when C = 0. */
  netX: string | null;
  /** λ per row [N, 1], NaN replaced by λ_0 (the row is in `bad`). */
  lambda: string;
  /** Rows answered with NaN outputs, [N, 1] bool: a NaN λ, or a class id that is not one of 0..classes−1. */
  bad: string;
  /** [N] as a 1-D int64 shape. */
  n: string;
}

function splitInputs(b: GraphBuilder, g: GraphCommon): Inputs {
  const { dim, cond, anchors, categorical, classes } = g.info;
  const n = b.op('Shape', [ONNX_INPUT_ROWS], { start: { int: 0 }, end: { int: 1 } }, 'n');
  const perRow = b.reshape(b.op('Expand', [ONNX_INPUT_LAMBDA, n]), [-1, 1]);
  const lambdaNaN = b.op('IsNaN', [perRow]);
  const x = cond > 0 ? b.columns(ONNX_INPUT_ROWS, dim, dim + cond) : null;
  let bad = lambdaNaN;
  let netX: string | null = null;
  if (x && categorical) {
    // An id outside 0..classes−1 or not an integer would wrap or truncate in Gather: the row gets
    // NaN outputs instead, and class 0 in the networks so that the rest of the batch is unaffected.
    const integer = b.op('Equal', [b.op('Floor', [x]), x]);
    const inRange = b.op('And', [b.op('GreaterOrEqual', [x, b.scalar(0)]), b.op('LessOrEqual', [x, b.scalar(classes - 1)])]);
    const valid = b.op('And', [integer, inRange]);
    bad = b.op('Or', [bad, b.op('Not', [valid])]);
    netX = b.where(valid, x, b.scalar(0));
  } else if (x) {
    if (!g.x) throw new Error('a continuous condition needs its standardisation');
    netX = b.div(b.sub(x, b.floats('x_mean', g.x.mean, [cond])), b.floats('x_scale', g.x.scale, [cond]));
  }
  return { y: b.columns(ONNX_INPUT_ROWS, 0, dim), x, netX, lambda: b.where(lambdaNaN, b.scalar(anchors[0]), perRow), bad, n };
}

/** Interval index k [N, 1] int64 and position s [N, 1] in [0, 1] of each row's λ. */
interface Interval {
  k: string;
  s: string;
}

/** Interval and position of each row's λ; each PositionMap kind is one case. λ outside the range clamps. */
function emitInterval(b: GraphBuilder, g: GraphCommon, lambda: string): Interval {
  const map = g.position;
  switch (map.kind) {
    case 'linear':
      return linearInterval(b, g.info.anchors, lambda);
    case 'monotone-cubic':
      return warpedInterval(b, g.info.anchors, map, lambda);
    default:
      throw new Error(`cannot export position map '${(map as { kind: string }).kind}'`);
  }
}

/**
 * The index of the segment of sorted break points `points` holding each λ: the number of interior
 * points below it (so a λ at a break point belongs to the segment that ends there), [N, 1] int64.
 */
function segmentOf(b: GraphBuilder, points: number[], lambda: string, hint: string): string {
  const n = points.length - 1;
  // With one segment there is no interior point; +∞ keeps the comparison (always false) uniform.
  const interior = n > 1 ? points.slice(1, n) : [Infinity];
  const above = b.cast(b.op('Greater', [lambda, b.floats(`${hint}_interior`, interior, [interior.length])]), 'float');
  return b.cast(b.op('ReduceSum', [above, b.shape([1])], { keepdims: { int: 1 } }, hint), 'int64');
}

/** Gather per row from a constant table by an index [N, 1]. */
function lookup(b: GraphBuilder, name: string, table: number[], index: string): string {
  return b.op('Gather', [b.floats(name, table, [table.length]), index], { axis: { int: 0 } });
}

/** Linear position: k as src/surrogate/anchors.ts intervalOf, s = (λ − λ_k) / (λ_{k+1} − λ_k) clamped. */
function linearInterval(b: GraphBuilder, a: number[], lambda: string): Interval {
  const K = a.length - 1;
  const k = segmentOf(b, a, lambda, 'interval');
  const lo = lookup(b, 'interval_lo', a.slice(0, K), k);
  const width = lookup(b, 'interval_width', a.slice(1).map((v, i) => v - a[i]), k);
  return { k, s: b.clip(b.div(b.sub(lambda, lo), width), b.scalar(0), b.scalar(1)) };
}

/**
 * A calibrated time warp (src/surrogate/warp.ts TimeWarp.position): the progress u from the cubic
 * Hermite interpolant through the knots, then k = ⌊u⌋ (at most K − 1) and s = u − k.
 */
function warpedInterval(b: GraphBuilder, a: number[], map: Extract<PositionMap, { kind: 'monotone-cubic' }>, lambda: string): Interval {
  const { lambdas: x, progress: y, slopes: m } = map;
  const K = a.length - 1;
  const n = x.length - 1;
  const at = b.clip(lambda, b.scalar(x[0]), b.scalar(x[n]));
  const i = segmentOf(b, x, at, 'warp_segment');
  const h = x.slice(1).map((v, j) => v - x[j]);
  const x0 = lookup(b, 'warp_x', x.slice(0, n), i);
  const hi = lookup(b, 'warp_h', h, i);
  const t = b.div(b.sub(at, x0), hi);
  const t2 = b.mul(t, t);
  const t3 = b.mul(t2, t);
  // Hermite basis: h00 = 2t³ − 3t² + 1, h10 = t³ − 2t² + t, h01 = −2t³ + 3t², h11 = t³ − t².
  const c = (v: number) => b.scalar(v);
  const h01 = b.sub(b.mul(t2, c(3)), b.mul(t3, c(2)));
  const h00 = b.sub(c(1), h01);
  const h10 = b.add(b.sub(t3, b.mul(t2, c(2))), t);
  const h11 = b.sub(t3, t2);
  const terms = [
    b.mul(h00, lookup(b, 'warp_y0', y.slice(0, n), i)),
    b.mul(b.mul(h10, hi), lookup(b, 'warp_m0', m.slice(0, n), i)),
    b.mul(h01, lookup(b, 'warp_y1', y.slice(1), i)),
    b.mul(b.mul(h11, hi), lookup(b, 'warp_m1', m.slice(1), i)),
  ];
  const u = terms.reduce((acc, v) => b.add(acc, v));
  const kf = b.clip(b.op('Floor', [u]), c(0), c(K - 1));
  return { k: b.cast(kf, 'int64'), s: b.clip(b.sub(u, kf), c(0), c(1)) };
}

/** Mask [N, 1] bool: rows whose interval is `j`. */
function intervalMask(b: GraphBuilder, k: string, j: number): string {
  return b.op('Equal', [k, b.scalar(j, 'int64')]);
}

/** Standardised values (v − mean) / scale. */
function standardise(b: GraphBuilder, y: string, mean: string, scale: string): string {
  return b.div(b.sub(y, mean), scale);
}

function affineNames(b: GraphBuilder, g: GraphCommon): { mean: string; scale: string } {
  return { mean: b.floats('y_mean', g.y.mean, [g.info.dim]), scale: b.floats('y_scale', g.y.scale, [g.info.dim]) };
}

/** CLOT: chain the interval maps, pick each row's interval by masks, evaluate its spline path at s. */
function emitClot(b: GraphBuilder, g: ClotGraph, inp: Inputs): string {
  const { dim } = g.info;
  const K = g.info.anchors.length - 1;
  if (g.maps.length !== K) throw new Error(`a CLOT description needs ${K} maps, got ${g.maps.length}`);
  const { mean, scale } = affineNames(b, g);
  const cond = inp.netX;
  const { k, s } = emitInterval(b, g, inp.lambda);
  // z_0 … z_K in standardised units: every row is pushed through all maps; its own interval is then selected.
  const chain = [standardise(b, inp.y, mean, scale)];
  g.maps.forEach((desc, j) => {
    const net = new OnnxNet(b, desc, `map${j}`);
    chain.push(b.add(chain[j], net.apply(b, chain[j], net.film(b, cond))));
  });
  // chain[k] per row, by selection (not by multiplying with 0/1, which would turn an inf elsewhere into NaN).
  const masks = Array.from({ length: K - 1 }, (_, j) => intervalMask(b, k, j + 1));
  const pick = (values: string[]) => values.slice(1).reduce((acc, v, j) => b.where(masks[j], v, acc), values[0]);
  const start = pick(chain.slice(0, K));
  const end = pick(chain.slice(1));
  // Bend φ [N, M, D] and Σ_m B_m(s) φ_m as a product and a sum over m (a batched [1, M]·[M, D] MatMul is slower).
  const m = g.spline.nodes;
  const spline = new OnnxNet(b, g.spline.net, 'spline');
  const phi = b.reshape(spline.apply(b, b.concat([start, end], 1), spline.film(b, cond)), [-1, m, dim]);
  const basis = emitSplineBasis(b, g.spline.basis, m, s);
  const bend = b.op('ReduceSum', [b.mul(b.reshape(basis, [-1, m, 1]), phi), b.shape([1])], { keepdims: { int: 0 } });
  const q = b.add(b.add(start, b.mul(s, b.sub(end, start))), bend);
  return b.add(b.mul(q, scale), mean);
}

/**
 * Values B_m(s) [N, M] of piecewise cubics on equal segments: the segment j = ⌊s (M − 1)⌋ (the last
 * one at s = 1) picks its coefficients by Gather, then Horner in u = s − j / (M − 1).
 */
function emitSplineBasis(b: GraphBuilder, basis: number[][], m: number, s: string): string {
  const segs = m - 1;
  if (basis.length !== m || basis.some((c) => c.length !== 4 * segs)) throw new Error(`spline basis must be ${m} × ${4 * segs} coefficients`);
  const segF = b.clip(b.op('Floor', [b.mul(s, b.scalar(segs))]), b.scalar(0), b.scalar(segs - 1));
  const u = b.sub(s, b.div(segF, b.scalar(segs)));
  const seg = b.cast(b.reshape(segF, [-1]), 'int64');
  // Coefficient p of every basis function on the row's segment: table_p[j][m] gathered by j, [N, M].
  const c = (p: number) => {
    const table = new Float32Array(segs * m);
    for (let j = 0; j < segs; j++) for (let i = 0; i < m; i++) table[j * m + i] = basis[i][4 * j + p];
    return b.op('Gather', [b.floats(`spline_basis_${'abcd'[p]}`, table, [segs, m]), seg], { axis: { int: 0 } });
  };
  let acc = c(3);
  for (let p = 2; p >= 0; p--) acc = b.add(c(p), b.mul(u, acc));
  return acc;
}

/** Direct: the net at the anchor time of λ, de-standardised. */
function emitDirect(b: GraphBuilder, g: DirectGraph, inp: Inputs): string {
  const { mean, scale } = affineNames(b, g);
  const t = anchorTime(b, g, g.times, inp.lambda);
  const net = new OnnxNet(b, g.net, 'net');
  const input = b.sub(b.mul(t, b.scalar(2)), b.scalar(1));
  const yStd = net.apply(b, input, net.film(b, inp.netX));
  return b.add(b.mul(yStd, scale), mean);
}

/** t = t_k + s (t_{k+1} − t_k), [N, 1]. */
function anchorTime(b: GraphBuilder, g: GraphCommon, times: number[], lambda: string): string {
  const K = times.length - 1;
  const { k, s } = emitInterval(b, g, lambda);
  const t0 = lookup(b, 'times_lo', times.slice(0, K), k);
  const dt = lookup(b, 'times_width', times.slice(1).map((v, i) => v - times[i]), k);
  return b.add(t0, b.mul(s, dt));
}

/**
 * Flow: RK4 over the concatenated step grids of all intervals, as one Loop. Iteration i is step
 * `local` of interval j; each row steps by h_row = clamp(p − local·h, 0, h) with p its target
 * position in interval j (1 before its own interval, s in it, 0 after), so a row stops where its λ
 * is, through one partial step, exactly as FlowModel.integrate. The trip count is the most steps
 * any row needs.
 */
function emitFlow(b: GraphBuilder, g: FlowGraph, inp: Inputs): string {
  const { dim } = g.info;
  const K = g.info.anchors.length - 1;
  if (g.steps.length !== K || g.steps.some((n) => !(Number.isInteger(n) && n >= 1))) throw new Error(`a flow description needs a positive step count per interval`);
  const { mean, scale } = affineNames(b, g);
  const { k, s } = emitInterval(b, g, inp.lambda);
  const net = new OnnxNet(b, g.velocity, 'velocity');
  const film = net.film(b, inp.netX);
  // The step schedule, one entry per iteration.
  const seg: number[] = [];
  const base: number[] = [];
  const size: number[] = [];
  const span: number[] = [];
  const onehot: number[] = [];
  const offsets: number[] = [];
  g.steps.forEach((n, j) => {
    offsets.push(seg.length);
    for (let i = 0; i < n; i++) {
      seg.push(j);
      base.push(i / n);
      size.push(1 / n);
      span.push(g.times[j + 1] - g.times[j]);
      for (let q = 0; q < K; q++) onehot.push(q === j ? 1 : 0);
    }
  });
  const total = seg.length;
  // Trip count: offset of the row's interval + ⌈s · steps⌉, the most over the rows.
  const need = b.add(lookup(b, 'step_offsets', offsets, k), b.op('Ceil', [b.mul(s, lookup(b, 'step_counts', g.steps, k))]));
  const most = b.op('Max', [b.op('ReduceMax', [need], { keepdims: { int: 0 } }), b.scalar(0)]);
  const trips = b.op('Min', [b.cast(most, 'int64'), b.scalar(total, 'int64')]);
  const schedule = {
    seg: b.ints('schedule_interval', seg, [total]),
    base: b.floats('schedule_start', base, [total]),
    size: b.floats('schedule_step', size, [total]),
    span: b.floats('schedule_span', span, [total]),
    onehot: b.floats('schedule_onehot', onehot, [total, K]),
  };
  const rowsByK = b.concat([inp.n, b.shape([K])], 0);
  const rowsBy1 = b.concat([inp.n, b.shape([1])], 0);

  const body = b.subgraph();
  const it = body.fresh('iteration');
  const condIn = body.fresh('cond_in');
  const yIn = body.fresh('y_in');
  const at = (v: string) => body.op('Gather', [v, it], { axis: { int: 0 } });
  const j = at(schedule.seg);
  const start = at(schedule.base);
  const h = at(schedule.size);
  const dt = at(schedule.span);
  const segment = body.op('Expand', [at(schedule.onehot), rowsByK]);
  const target = body.where(body.op('Less', [j, k]), body.scalar(1), body.where(body.op('Equal', [j, k]), s, body.scalar(0)));
  const hRow = body.clip(body.sub(target, start), body.scalar(0), h);
  const field = (y: string, t: string) => {
    const angle = body.mul(t, body.scalar(Math.PI));
    const angle2 = body.mul(t, body.scalar(2 * Math.PI));
    // The time features of src/baselines/common.ts timeFeatures: 2t − 1, sin πt, cos πt, sin 2πt, cos 2πt.
    const features = [
      body.sub(body.mul(t, body.scalar(2)), body.scalar(1)),
      body.op('Sin', [angle]),
      body.op('Cos', [angle]),
      body.op('Sin', [angle2]),
      body.op('Cos', [angle2]),
    ];
    return body.mul(net.apply(body, body.concat([y, ...features, segment], 1), film), dt);
  };
  const half = body.mul(hRow, body.scalar(0.5));
  const tMid = body.add(start, half);
  const k1 = field(yIn, body.op('Expand', [start, rowsBy1]));
  const k2 = field(body.add(yIn, body.mul(k1, half)), tMid);
  const k3 = field(body.add(yIn, body.mul(k2, half)), tMid);
  const k4 = field(body.add(yIn, body.mul(k3, hRow)), body.add(start, hRow));
  const sum = body.add(body.add(k1, body.mul(body.add(k2, k3), body.scalar(2))), k4);
  const yOut = body.add(yIn, body.mul(sum, body.div(hRow, body.scalar(6))));
  const condOut = body.identity(condIn, body.fresh('cond_out'));
  const yOutName = body.identity(yOut, body.fresh('y_out'));
  const bodyGraph = body.graph(
    'rk4_step',
    [valueInfo(it, 'int64', []), valueInfo(condIn, 'bool', []), valueInfo(yIn, 'float', ['N', dim])],
    [valueInfo(condOut, 'bool', []), valueInfo(yOutName, 'float', ['N', dim])],
    false,
  );
  const y0 = standardise(b, inp.y, mean, scale);
  const yEnd = b.op('Loop', [trips, '', y0], { body: { graph: bodyGraph } }, 'integrated');
  return b.add(b.mul(yEnd, scale), mean);
}

function emitOutputs(b: GraphBuilder, g: SamplingGraph, inp: Inputs): string {
  switch (g.kind) {
    case 'clot':
      return emitClot(b, g, inp);
    case 'direct':
      return emitDirect(b, g, inp);
    case 'flow':
      return emitFlow(b, g, inp);
    default:
      throw new Error(`cannot export a sampling graph of kind '${(g as { kind: string }).kind}'`);
  }
}

export interface OnnxExport {
  /** The serialised model. */
  bytes: Uint8Array;
  /** The metadata stored in the model (metadata_props). */
  metadata: Record<string, string>;
  nodes: number;
}

/** The model as an ONNX file's bytes; throws a clear error for a model that cannot describe its sampling. */
export function exportOnnx(model: TrajectoryModel): OnnxExport {
  if (!model.samplingGraph) throw new Error(`a model of kind '${model.info.kind}' cannot describe its sampling, so it cannot be exported`);
  return buildOnnx(model.samplingGraph());
}

/** The ONNX model of a sampling description. */
export function buildOnnx(g: SamplingGraph): OnnxExport {
  const { dim, cond, categorical, classes, anchors, method, kind } = g.info;
  const width = dim + cond;
  const b = new GraphBuilder();
  const inp = splitInputs(b, g);
  let y = emitOutputs(b, g, inp);
  y = b.where(inp.bad, b.scalar(NaN), y);
  b.identity(inp.x ? b.concat([y, inp.x], 1) : y, ONNX_OUTPUT);
  const condition = cond === 0 ? 'none' : categorical ? `class id 0..${classes - 1} in column ${dim}` : `${cond} continuous columns`;
  const metadata: Record<string, string> = {
    'hti.version': HTI_VERSION,
    'hti.kind': kind,
    'hti.method': method,
    'hti.anchors': JSON.stringify(anchors),
    'hti.dim': String(dim),
    'hti.cond': String(cond),
    'hti.categorical': String(categorical),
    'hti.classes': String(classes),
    'hti.inputs': JSON.stringify([
      { name: ONNX_INPUT_ROWS, type: 'float32', shape: ['N', width] },
      { name: ONNX_INPUT_LAMBDA, type: 'float32', shape: ['L'], note: 'L = 1 (one λ for every row) or L = N (one per row)' },
    ]),
    'hti.outputs': JSON.stringify([{ name: ONNX_OUTPUT, type: 'float32', shape: ['N', width] }]),
    'hti.lambda_out_of_range': ONNX_OUT_OF_RANGE,
  };
  const doc =
    `hti ${HTI_VERSION} surrogate (${kind}, ${method}): rows [N, ${width}] at λ = ${anchors[0]} (D = ${dim} outputs, then the condition: ${condition}) ` +
    `pushed to lambda ([1] or [N]) in [${anchors[0]}, ${anchors[anchors.length - 1]}]; outside it λ is clamped; a NaN λ` +
    (categorical ? ' or an unknown class id' : '') +
    ' gives NaN outputs for its row.';
  const graph = b.graph(
    `hti_${method.replace(/[^A-Za-z0-9_]/g, '_')}`,
    [
      valueInfo(ONNX_INPUT_ROWS, 'float', ['N', width], `first-anchor rows: ${dim} outputs, then the condition (${condition})`),
      valueInfo(ONNX_INPUT_LAMBDA, 'float', ['L'], 'λ: [1] for every row, or [N] for one per row'),
    ],
    [valueInfo(ONNX_OUTPUT, 'float', ['N', width], 'the rows at λ, the condition columns passed through')],
    true,
    doc,
  );
  const bytes = encodeModel({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'hti',
    producerVersion: HTI_VERSION,
    docString: doc,
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  return { bytes, metadata, nodes: b.nodes.length };
}

/** Metadata of a serialised hti ONNX model. */
export function onnxMetadata(bytes: Uint8Array): Record<string, string> {
  const m = decodeModel(bytes);
  return Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
}

/** Export to a file, atomically (temporary sibling, then rename). */
export function writeOnnx(model: TrajectoryModel, file: string): OnnxExport {
  const full = path.resolve(file);
  const dir = path.dirname(full);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`cannot write '${file}': directory ${path.dirname(file)} does not exist`);
  if (fs.existsSync(full) && fs.statSync(full).isDirectory()) throw new Error(`cannot write '${file}': it is a directory`);
  const result = exportOnnx(model);
  const tmp = path.join(dir, `.${path.basename(full)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  try {
    fs.writeFileSync(tmp, result.bytes);
    fs.renameSync(tmp, full);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return result;
}
