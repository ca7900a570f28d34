/**
 * The flow-matching machinery CFM and MFM share: a velocity field v(y, t | x) regressed on the
 * time derivative of interpolants between OT-paired rows of adjacent anchors, and a model that
 * pushes first-anchor rows to λ by fixed-step RK4, piecewise over the anchor times.
 *
 * Interpolant of a pair (y0, y1) on segment k, local time s ∈ [0, 1]:
 *   y(s) = (1 − s) y0 + s y1 + Σ_j b_j(s) c_j,   b_j(s) = s(1 − s)(2s − 1)^j,
 * c = 0 for CFM (straight lines); MFM learns c per pair. The velocity at global time
 * t = t_k + s Δt_k is y'(s) / Δt_k.
 */
import { initEngine, Mlp, Rng, tf, type Activation, type Film, type NamedArray, type Scalar, type Tensor, type Tensor2D } from '../engine/index.js';
import type { Dataset } from '../data/dataset.js';
import { checkLambda, checkRows, type ModelInfo, type ModelKind, type TrajectoryModel } from '../surrogate/model.js';
import type { StoredModel } from '../surrogate/persist.js';
import { intervalOf } from '../surrogate/anchors.js';
import type { CommonFitOptions, ProgressHook } from '../surrogate/progress.js';
import {
  anchorTimes,
  baseInfo,
  checkStoredSettings,
  checkTrainingSet,
  conditionBlock,
  conditionSpec,
  hiddenLayers,
  positiveIntOption,
  positiveNumberOption,
  INFERENCE_CHUNK,
  requireTensor,
  storedAnchorRows,
  timeFeatures,
  TIME_FEATURES,
  trainLoop,
  SingleNetModel,
} from './common.js';
import { destandardizeInto, fitStandardizer, standardize, type Standardizer } from '../data/standardize.js';
import { pairAnchors, type AnchorBlock, type Pairing } from './pairing.js';

/** Number of bend coefficients per output dimension in an interpolant. */
export const BEND_TERMS = 3;

/** b_j(s) = s(1 − s)(2s − 1)^j and its derivative, written into out[at + j] / dout[at + j]. */
export function bendBasis(s: number, out: Float32Array, dout: Float32Array, at: number): void {
  const u = 2 * s - 1;
  const w = s * (1 - s);
  const dw = 1 - 2 * s;
  let p = 1; // u^j
  let pPrev = 0; // u^(j−1)
  for (let j = 0; j < BEND_TERMS; j++) {
    out[at + j] = w * p;
    dout[at + j] = dw * p + w * 2 * j * pPrev;
    pPrev = p;
    p *= u;
  }
}

/** Options every flow baseline accepts. */
export interface FlowOptions extends CommonFitOptions {
  /** Velocity-field Adam steps (default 1000). */
  steps?: number;
  /** Pairs per step (default 256). */
  batch?: number;
  hidden?: number[];
  lr?: number;
  /** RK4 steps per unit of anchor time when sampling (default 40). */
  stepsPerUnit?: number;
  /** Weight of the condition in the joint OT cost when conditions are not shared (default 1000). */
  conditionWeight?: number;
}

/** What a saved flow model needs to rebuild itself. */
export interface FlowConfig {
  hidden: number[];
  activation: Activation;
  times: number[];
  equalSpacing: boolean;
  stepsPerUnit: number;
  yStd: Standardizer;
  xStd: Standardizer | null;
}

/** Training pairs of one segment, in standardised units; coef (P × BEND_TERMS × D) bends them. */
export interface Segment {
  y0: Float32Array;
  y1: Float32Array;
  x: Float32Array;
  weight: Float64Array;
  coef: Float32Array | null;
  pairing: Pairing['mode'];
}

/** Everything a flow baseline derives from the training set before any network is trained. */
export interface FlowSetup {
  train: Dataset;
  info: ModelInfo;
  config: FlowConfig;
  /** Standardised anchor blocks. */
  blocks: AnchorBlock[];
  segments: Segment[];
  rng: Rng;
  started: number;
}

/** Check the set, standardise it and pair adjacent anchors by exact OT within conditions. */
export async function prepareFlow(train: Dataset, kind: ModelKind, options: FlowOptions): Promise<FlowSetup> {
  await initEngine();
  checkTrainingSet(train);
  const started = performance.now();
  const { dim, cond, categorical } = train;
  const width = dim + cond;
  const equalSpacing = options.equalSpacing ?? false;
  const stepsPerUnit = positiveIntOption(options.stepsPerUnit, 40, 'RK4 steps per unit time');
  const config: FlowConfig = {
    hidden: hiddenLayers(options.hidden, [64, 64, 64]),
    activation: 'leaky_relu',
    times: anchorTimes(train.levels, equalSpacing),
    equalSpacing,
    stepsPerUnit,
    yStd: fitStandardizer(train.data, width, 0, dim),
    xStd: cond > 0 && !categorical ? fitStandardizer(train.data, width, dim, cond) : null,
  };
  const rng = new Rng(options.seed ?? 0);
  const info = baseInfo(train, kind, kind);
  const blocks: AnchorBlock[] = train.data.map((block) => ({
    y: standardize(block, width, 0, config.yStd),
    x: conditionBlock(block, info, config.xStd),
    n: block.length / width,
  }));
  const pairRng = rng.fork('pairing');
  const segments: Segment[] = [];
  for (let k = 0; k + 1 < blocks.length; k++) {
    const a = blocks[k];
    const b = blocks[k + 1];
    const p = pairAnchors(a, b, { dim, cond, categorical, conditionWeight: options.conditionWeight, rng: pairRng });
    const P = p.src.length;
    const y0 = new Float32Array(P * dim);
    const y1 = new Float32Array(P * dim);
    const x = new Float32Array(P * cond);
    for (let i = 0; i < P; i++) {
      y0.set(a.y.subarray(p.src[i] * dim, (p.src[i] + 1) * dim), i * dim);
      y1.set(b.y.subarray(p.dst[i] * dim, (p.dst[i] + 1) * dim), i * dim);
      // The source row's condition: the one the sampler will see.
      x.set(a.x.subarray(p.src[i] * cond, (p.src[i] + 1) * cond), i * cond);
    }
    segments.push({ y0, y1, x, weight: p.weight, coef: null, pairing: p.mode });
  }
  return { train, info, config, blocks, segments, rng, started };
}

/** Velocity-net input width: y, local-time features, one-hot segment. */
function velocityInputWidth(dim: number, segments: number): number {
  return dim + TIME_FEATURES + segments;
}

export function buildVelocityNet(info: ModelInfo, config: FlowConfig, seed: number): Mlp {
  const K = info.anchors.length - 1;
  return new Mlp(
    { inDim: velocityInputWidth(info.dim, K), hidden: config.hidden, outDim: info.dim, activation: config.activation, condition: conditionSpec(info) },
    new Rng(seed),
  );
}

/** Draws pair indices (segment, pair) with probability proportional to their mass. */
export class PairSampler {
  private readonly cum: Float64Array;
  private readonly seg: Int32Array;
  private readonly idx: Int32Array;
  /** Total mass of the pairs it draws from. */
  readonly mass: number;
  /** Pairs of all segments, or only those `keep(k, i)` accepts. */
  constructor(segments: Segment[], keep?: (k: number, i: number) => boolean) {
    const cum: number[] = [];
    const seg: number[] = [];
    const idx: number[] = [];
    let acc = 0;
    segments.forEach((s, k) => {
      for (let i = 0; i < s.weight.length; i++) {
        if (keep && !keep(k, i)) continue;
        acc += s.weight[i];
        cum.push(acc);
        seg.push(k);
        idx.push(i);
      }
    });
    if (cum.length === 0) throw new Error('no training pairs to draw from');
    this.cum = Float64Array.from(cum);
    this.seg = Int32Array.from(seg);
    this.idx = Int32Array.from(idx);
    this.mass = acc;
  }
  draw(rng: Rng): { k: number; i: number } {
    const u = rng.next() * this.cum[this.cum.length - 1];
    let lo = 0;
    let hi = this.cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cum[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return { k: this.seg[lo], i: this.idx[lo] };
  }
}

/** Regress the velocity net on the interpolants' derivatives; returns the trained net and summary. */
export function trainVelocity(
  setup: FlowSetup,
  options: FlowOptions,
  onProgress?: ProgressHook,
): { net: Mlp; summary: { steps: number; batch: number; lr: number; finalLoss: number; skippedSteps: number } } {
  const { info, config, segments } = setup;
  const { dim, cond } = info;
  const K = segments.length;
  const steps = positiveIntOption(options.steps, 1000, 'steps');
  const batch = positiveIntOption(options.batch, 256, 'batch size');
  const lr = positiveNumberOption(options.lr, 2e-3, 'learning rate');
  const net = buildVelocityNet(info, config, setup.rng.int(0x7fffffff));
  const sampler = new PairSampler(segments);
  const rng = setup.rng.fork('velocity-batches');
  const inW = velocityInputWidth(dim, K);
  const bIn = new Float32Array(batch * inW);
  const bX = new Float32Array(batch * cond);
  const bV = new Float32Array(batch * dim);
  const basis = new Float32Array(BEND_TERMS);
  const dbasis = new Float32Array(BEND_TERMS);
  try {
    const result = trainLoop({
      phase: 'velocity',
      steps,
      lr,
      vars: net.params.list(),
      started: setup.started,
      onProgress,
      loss: () => {
        bIn.fill(0);
        for (let b = 0; b < batch; b++) {
          const { k, i } = sampler.draw(rng);
          const seg = segments[k];
          const s = rng.next();
          const dt = config.times[k + 1] - config.times[k];
          bendBasis(s, basis, dbasis, 0);
          for (let d = 0; d < dim; d++) {
            const a = seg.y0[i * dim + d];
            const e = seg.y1[i * dim + d];
            let y = (1 - s) * a + s * e;
            let v = e - a;
            if (seg.coef) {
              for (let j = 0; j < BEND_TERMS; j++) {
                const c = seg.coef[(i * BEND_TERMS + j) * dim + d];
                y += basis[j] * c;
                v += dbasis[j] * c;
              }
            }
            bIn[b * inW + d] = y;
            bV[b * dim + d] = v / dt;
          }
          timeFeatures(s, bIn, b * inW + dim);
          bIn[b * inW + dim + TIME_FEATURES + k] = 1;
          for (let c = 0; c < cond; c++) bX[b * cond + c] = seg.x[i * cond + c];
        }
        const condT = cond > 0 ? tf.tensor2d(bX, [batch, cond]) : null;
        const pred = net.forward(tf.tensor2d(bIn, [batch, inW]), condT);
        return tf.mean(tf.square(tf.sub(pred, tf.tensor2d(bV, [batch, dim])))) as Scalar;
      },
    });
    return { net, summary: { steps, batch, lr, finalLoss: result.loss, skippedSteps: result.skipped } };
  } catch (err) {
    net.params.dispose();
    throw err;
  }
}

/** A trained velocity field and what it needs to push rows through time. */
export class FlowModel extends SingleNetModel<FlowConfig> implements TrajectoryModel {
  constructor(info: ModelInfo, config: FlowConfig, net: Mlp, firstRows: Float32Array) {
    super(info, config, net, firstRows, 'velocity.');
  }

  sample(rows: Float32Array, lambda: number): Float32Array {
    return this.trajectory(rows, [lambda]);
  }

  /**
   * One integration through the sorted λ grid. Each segment has a fixed RK4 grid, and a λ between
   * grid points is reached by a partial step that is not carried on, so sample(rows, λ) and every
   * slice of trajectory(rows, grid) agree exactly.
   */
  trajectory(rows: Float32Array, lambdas: number[]): Float32Array {
    for (const l of lambdas) checkLambda(this.info, l);
    const n = checkRows(this.info, rows);
    const { dim, cond } = this.info;
    const width = dim + cond;
    const order = lambdas.map((_, i) => i).sort((p, q) => lambdas[p] - lambdas[q]);
    const out = new Float32Array(rows.length * lambdas.length);
    for (let start = 0; start < n; start += INFERENCE_CHUNK) {
      const m = Math.min(INFERENCE_CHUNK, n - start);
      const chunk = rows.subarray(start * width, (start + m) * width);
      const states = this.integrate(chunk, m, order.map((i) => lambdas[i]));
      order.forEach((li, r) => {
        const pushed = destandardizeInto(states[r], chunk, dim, width, this.config.yStd);
        out.set(pushed, li * rows.length + start * width);
      });
    }
    return out;
  }

  /** Standardised outputs of `rows` at each λ of a sorted list. */
  private integrate(rows: Float32Array, n: number, sorted: number[]): Float32Array[] {
    const { dim, cond, anchors } = this.info;
    const width = dim + cond;
    const K = anchors.length - 1;
    const cb = conditionBlock(rows, this.info, this.config.xStd);
    let film: Film | null = null;
    if (cond > 0) {
      // FiLM depends on the condition alone: compute it once for the whole integration.
      const [scale, shift] = tf.tidy(() => {
        const f = this.net.film(tf.tensor2d(cb, [n, cond]))!;
        return [f.scale, f.shift];
      });
      film = { scale, shift };
    }
    let y: Tensor2D = tf.tensor2d(standardize(rows, width, 0, this.config.yStd), [n, dim]);
    const results: Float32Array[] = [];
    try {
      const feats = new Float32Array(TIME_FEATURES + K);
      // dy/ds on segment k at local time s: the net's velocity times Δt_k.
      const field = (state: Tensor, k: number, s: number): Tensor => {
        feats.fill(0);
        timeFeatures(s, feats, 0);
        feats[TIME_FEATURES + k] = 1;
        const tIn = tf.tile(tf.tensor2d(feats, [1, TIME_FEATURES + K]), [n, 1]);
        const v = this.net.apply(tf.concat([state, tIn], 1), film);
        return tf.mul(v, this.config.times[k + 1] - this.config.times[k]);
      };
      const rk4 = (state: Tensor2D, k: number, s: number, h: number): Tensor2D =>
        tf.tidy(() => {
          const k1 = field(state, k, s);
          const k2 = field(tf.add(state, tf.mul(k1, h / 2)), k, s + h / 2);
          const k3 = field(tf.add(state, tf.mul(k2, h / 2)), k, s + h / 2);
          const k4 = field(tf.add(state, tf.mul(k3, h)), k, s + h);
          return tf.add(state, tf.mul(tf.addN([k1, tf.mul(k2, 2), tf.mul(k3, 2), k4]), h / 6)) as Tensor2D;
        });
      let r = 0;
      for (let k = 0; k < K && r < sorted.length; k++) {
        const dt = this.config.times[k + 1] - this.config.times[k];
        const nSteps = Math.max(1, Math.ceil(this.config.stepsPerUnit * dt));
        const h = 1 / nSteps;
        let done = 0; // full steps taken on this segment
        while (r < sorted.length) {
          const loc = intervalOf(anchors, sorted[r]);
          if (loc.k > k) break; // belongs to a later segment
          const full = Math.min(nSteps, Math.floor(loc.s * nSteps + 1e-9));
          while (done < full) {
            const next = rk4(y, k, done * h, h);
            y.dispose();
            y = next;
            done++;
          }
          const rest = loc.s - done * h;
          if (rest > 1e-9) {
            const part = rk4(y, k, done * h, rest);
            results.push(part.dataSync() as Float32Array);
            part.dispose();
          } else {
            results.push(Float32Array.from(y.dataSync() as Float32Array));
          }
          r++;
        }
        while (r < sorted.length && done < nSteps) {
          const next = rk4(y, k, done * h, h);
          y.dispose();
          y = next;
          done++;
        }
      }
    } finally {
      y.dispose();
      if (film) {
        film.scale.dispose();
        film.shift.dispose();
      }
    }
    return results;
  }

}

/** Wrap a trained velocity net as a model, with the training summary in its info. */
export function finishFlow(setup: FlowSetup, net: Mlp, training: Record<string, unknown>): FlowModel {
  const info = { ...setup.info, training: { fitSeconds: (performance.now() - setup.started) / 1000, pairing: setup.segments.map((s) => s.pairing), ...training } };
  return new FlowModel(info, setup.config, net, storedAnchorRows(setup.train, setup.rng.fork('anchor-rows')).data);
}

/** Rebuild a CFM or MFM model from its directory's contents. */
export function loadFlow(stored: StoredModel, tensors: Record<string, NamedArray>): TrajectoryModel {
  const info = stored.info;
  const config = stored.options as unknown as FlowConfig;
  checkStoredSettings(info, config ?? {}, info.kind);
  if (!Number.isInteger(config.stepsPerUnit) || config.stepsPerUnit < 1) throw new Error(`${info.kind} model: config.json lacks valid RK4 steps per unit time`);
  const net = buildVelocityNet(info, config, 0);
  try {
    net.params.loadRecord(tensors, 'velocity.');
  } catch (err) {
    net.params.dispose();
    throw err;
  }
  return new FlowModel(info, config, net, requireTensor(tensors, 'anchor_rows', info.dim + info.cond).data);
}
