import { tf, Mlp, Rng, type ConditionSpec, type Film, type NamedArray, type Tensor1D, type Tensor2D, type Tensor3D } from '../engine/index.js';
import {
  DensityPotential,
  Lagrangian,
  Metric,
  SplinePaths,
  splineBasisAt,
  splineNullSpace,
  type ActionForm,
  type MetricKind,
  type PathContext,
} from '../lagrangian/index.js';
import { PairNets } from '../ot/dual.js';
import { splitColumns } from '../data/dataset.js';
import { checkLambda, checkRows, type ModelInfo, type TrajectoryModel } from './model.js';
import { writeModelDir, type StoredModel } from './persist.js';
import type { CommonFitOptions } from './progress.js';
import { describeNet, LINEAR_POSITION, type ClotGraph } from './graph.js';
import { AnchorData, autoBandwidth, autoCondBandwidth, intervalOf, Standardizer } from './anchors.js';

export type ClotPreset = 'full' | 'k-theta' | 'euclidean-potential' | 'euclidean' | 'nlot' | 'nlot-potential';
export const CLOT_PRESETS: ClotPreset[] = ['full', 'k-theta', 'euclidean-potential', 'euclidean', 'nlot', 'nlot-potential'];

/** The paper's ablations: which metric and whether the density potential is on. */
export const PRESET_SETTINGS: Record<ClotPreset, { metric: MetricKind; potential: boolean; label: string }> = {
  full: { metric: 'eigen-budget', potential: true, label: 'K_θ−Û (full method)' },
  'k-theta': { metric: 'eigen-budget', potential: false, label: 'K_θ' },
  'euclidean-potential': { metric: 'euclidean', potential: true, label: 'K_I−Û' },
  euclidean: { metric: 'euclidean', potential: false, label: 'K_I' },
  nlot: { metric: 'fixed-eigen', potential: false, label: 'NLOT' },
  'nlot-potential': { metric: 'fixed-eigen', potential: true, label: 'NLOT−Û' },
};

/** Everything a CLOT fit can be told; unset fields take the defaults below. */
export interface ClotOptions extends CommonFitOptions {
  preset?: ClotPreset;
  metric?: MetricKind;
  potential?: boolean;
  /** Potential weight α. */
  alpha?: number;
  /** Output-space KDE bandwidth h_y (default: from the data, median 7th-neighbour distance). */
  bandwidth?: number;
  /** Condition-space bandwidth h_x for continuous conditions (default: Scott's rule on the conditions). */
  condBandwidth?: number;
  /** Reference points kept per path in the density potential. */
  potentialCap?: number;
  actionForm?: ActionForm;
  /**
   * Action form the spline network minimises (the shape and timing of the paths); defaults to
   * `actionForm`. The transport cost (couplings, dual, metric) always uses `actionForm`.
   */
  pathForm?: ActionForm;
  /** Dual steps after the warm start (each: one c-transform + one update per anchor pair). */
  steps?: number;
  /** Samples per condition group in the exact discrete couplings that warm-start the maps. */
  couplingCap?: number;
  /** Rounds of (couplings → metric steps → spline refit) before the maps are fitted. */
  couplingRounds?: number;
  /** Metric steps per coupling round (learned metrics only). */
  metricStepsPerRound?: number;
  /** Regression steps fitting T_k (and g_k) to the discrete couplings. */
  mapSteps?: number;
  batchSize?: number;
  splinePretrainSteps?: number;
  splineRefitEvery?: number;
  splineRefitSteps?: number;
  metricEvery?: number;
  lr?: number;
  metricLr?: number;
  splineLr?: number;
  /** Hidden layers of g_k and T_k. */
  hidden?: number[];
  splineWidth?: number;
  metricWidth?: number;
  /** L-BFGS iterations per c-transform. */
  ctIterations?: number;
  pathPoints?: number;
  splineNodes?: number;
}

export type ResolvedClotOptions = Required<Omit<ClotOptions, 'onProgress' | 'bandwidth' | 'condBandwidth' | 'pathForm'>> & {
  pathForm?: ActionForm;
  bandwidth: number;
  condBandwidth: number;
};

export const CLOT_DEFAULTS = {
  preset: 'full' as ClotPreset,
  alpha: 0.01,
  potentialCap: 128,
  actionForm: 'paper' as ActionForm,
  steps: 0,
  couplingCap: 256,
  couplingRounds: 1,
  metricStepsPerRound: 30,
  mapSteps: 600,
  batchSize: 128,
  splinePretrainSteps: 60,
  splineRefitEvery: 30,
  splineRefitSteps: 20,
  metricEvery: 10,
  lr: 1e-3,
  metricLr: 5e-3,
  splineLr: 3e-3,
  hidden: [64, 64, 64, 64],
  splineWidth: 128,
  metricWidth: 32,
  ctIterations: 5,
  pathPoints: 20,
  splineNodes: 15,
  seed: 0,
  equalSpacing: false,
};

const KNOWN_OPTIONS = new Set([...Object.keys(CLOT_DEFAULTS), 'metric', 'potential', 'bandwidth', 'condBandwidth', 'pathForm', 'onProgress']);

export function resolveClotOptions(options: ClotOptions, anchors: AnchorData): ResolvedClotOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new Error(`unknown CLOT option '${key}'`);
  }
  const preset = options.preset ?? CLOT_DEFAULTS.preset;
  if (!PRESET_SETTINGS[preset]) throw new Error(`unknown preset '${preset}' (expected one of ${CLOT_PRESETS.join(', ')})`);
  const base = PRESET_SETTINGS[preset];
  const merged = { ...CLOT_DEFAULTS, metric: base.metric, potential: base.potential, ...stripUndefined(options) };
  const positive = ['batchSize', 'couplingCap', 'couplingRounds', 'ctIterations', 'pathPoints', 'splineNodes', 'metricEvery', 'splineRefitEvery'] as const;
  for (const key of positive) {
    const v = merged[key] as number;
    if (!Number.isInteger(v) || v < 1) throw new Error(`option ${key} must be a positive integer, got ${v}`);
  }
  for (const key of ['steps', 'mapSteps', 'metricStepsPerRound', 'splinePretrainSteps', 'splineRefitSteps'] as const) {
    const v = merged[key] as number;
    if (!Number.isInteger(v) || v < 0) throw new Error(`option ${key} must be a non-negative integer, got ${v}`);
  }
  if (!(merged.alpha >= 0)) throw new Error(`alpha must be ≥ 0, got ${merged.alpha}`);
  const bandwidth = options.bandwidth ?? autoBandwidth(anchors);
  const condBandwidth = options.condBandwidth ?? autoCondBandwidth(anchors);
  if (!(bandwidth > 0)) throw new Error(`bandwidth must be positive, got ${bandwidth}`);
  if (!(condBandwidth > 0)) throw new Error(`cond-bandwidth must be positive, got ${condBandwidth}`);
  const { onProgress: _drop, ...rest } = merged as ClotOptions & typeof merged;
  void _drop;
  return { ...(rest as ResolvedClotOptions), bandwidth, condBandwidth };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The networks and fixed pieces of a CLOT surrogate (shared by training and inference). */
export class ClotNetworks {
  readonly pairs: PairNets[];
  readonly spline: Mlp;
  readonly metric: Metric;
  readonly potential: DensityPotential | null;
  readonly lagrangian: Lagrangian;
  /** The Lagrangian whose action the spline network minimises (see ClotOptions.pathForm). */
  readonly pathLagrangian: Lagrangian;
  readonly paths: SplinePaths;
  readonly condition: ConditionSpec;
  readonly yScale: Tensor1D;
  readonly yMean: Tensor1D;
  readonly xMean: Tensor1D | null;
  readonly xScale: Tensor1D | null;

  constructor(
    readonly anchors: AnchorData,
    readonly options: ResolvedClotOptions,
    readonly standardizer: Standardizer,
  ) {
    const rng = new Rng(options.seed);
    const { dim, cond, categorical, classes } = anchors;
    this.condition = categorical ? { kind: 'categorical', classes } : cond > 0 ? { kind: 'continuous', dim: cond } : { kind: 'none' };
    // Every pair starts from the same initial weights (as in the reference).
    const pairSeed = rng.int(0x7fffffff);
    this.pairs = Array.from({ length: anchors.count - 1 }, () => new PairNets({ dim, condition: this.condition, hidden: options.hidden }, new Rng(pairSeed)));
    const m = options.splineNodes;
    this.spline = new Mlp(
      { inDim: 2 * dim, hidden: [options.splineWidth, options.splineWidth], outDim: m * dim, activation: 'relu', condition: this.condition, outputInitScale: 0 },
      rng.fork('spline'),
    );
    this.metric = new Metric({ kind: options.metric, dim, condition: this.condition, width: options.metricWidth }, rng.fork('metric'));
    this.potential = options.potential
      ? new DensityPotential(anchors.pooledY, anchors.pooledX, dim, cond, categorical, {
          alpha: options.alpha,
          bandwidth: options.bandwidth,
          condBandwidth: options.condBandwidth,
          cap: options.potentialCap,
        }, options.seed)
      : null;
    this.paths = new SplinePaths(m, options.pathPoints);
    this.lagrangian = new Lagrangian(this.metric, this.potential, this.paths, options.actionForm);
    const pathForm = options.pathForm ?? options.actionForm;
    this.pathLagrangian = pathForm === options.actionForm ? this.lagrangian : new Lagrangian(this.metric, this.potential, this.paths, pathForm);
    this.yScale = tf.keep(tf.tensor1d(standardizer.yStd));
    this.yMean = tf.keep(tf.tensor1d(standardizer.yMean));
    this.xMean = cond > 0 && !categorical ? tf.keep(tf.tensor1d(standardizer.xMean)) : null;
    this.xScale = cond > 0 && !categorical ? tf.keep(tf.tensor1d(standardizer.xStd)) : null;
  }

  /** Outputs in standardised units. */
  standardY(y: Tensor2D): Tensor2D {
    return tf.div(tf.sub(y, this.yMean), this.yScale) as Tensor2D;
  }

  /** The condition as the networks see it: class ids, standardised vectors, or nothing. */
  netCondition(x: Float32Array, batch: number): Tensor2D | null {
    if (this.condition.kind === 'none') return null;
    const t = tf.tensor2d(x, [batch, this.anchors.cond]);
    return this.xMean ? (tf.div(tf.sub(t, this.xMean), this.xScale!) as Tensor2D) : t;
  }

  film(net: Mlp, cond: Tensor2D | null): Film | null {
    return cond ? net.film(cond) : null;
  }

  /** Spline bends φ = S(y0, y1, x) in data units, [B, M, D]. */
  bend(y0: Tensor2D, y1: Tensor2D, splineFilm: Film | null): Tensor3D {
    const input = tf.concat([this.standardY(y0), this.standardY(y1)], 1);
    const raw = this.spline.apply(input, splineFilm) as Tensor2D;
    const [b] = y0.shape;
    return tf.mul(tf.reshape(raw, [b, this.options.splineNodes, this.anchors.dim]), this.yScale) as Tensor3D;
  }

  /** Per-path context for action evaluations (metric FiLM, potential references). */
  pathContext(cond: Tensor2D | null, xRaw: Float32Array, batch: number): PathContext {
    return {
      film: this.metric.film(cond),
      refs: this.potential ? this.potential.pathReferences(xRaw, batch) : null,
    };
  }

  allParams() {
    const out: Record<string, NamedArray> = {};
    this.pairs.forEach((p, k) => {
      Object.assign(out, p.g.params.toRecord(`pair${k}.g.`), p.map.params.toRecord(`pair${k}.map.`));
    });
    Object.assign(out, this.spline.params.toRecord('spline.'));
    if (this.metric.net) Object.assign(out, this.metric.net.params.toRecord('metric.'));
    return out;
  }

  loadParams(record: Record<string, NamedArray>): void {
    this.pairs.forEach((p, k) => {
      p.g.params.loadRecord(record, `pair${k}.g.`);
      p.map.params.loadRecord(record, `pair${k}.map.`);
    });
    this.spline.params.loadRecord(record, 'spline.');
    if (this.metric.net) this.metric.net.params.loadRecord(record, 'metric.');
  }

  stores() {
    return [
      ...this.pairs.flatMap((p) => [p.g.params, p.map.params]),
      this.spline.params,
      ...(this.metric.net ? [this.metric.net.params] : []),
    ];
  }

  dispose(): void {
    for (const s of this.stores()) s.dispose();
    this.paths.dispose();
    for (const t of [this.yScale, this.yMean, this.xMean, this.xScale]) t?.dispose();
  }
}

/** Rows per chunk at inference: large enough for throughput, small enough for memory. */
const CHUNK = 8192;

/** A fitted CLOT surrogate: chained anchor maps, then the spline path of the interval at λ. */
export class ClotSurrogate implements TrajectoryModel {
  readonly info: ModelInfo;

  constructor(
    readonly nets: ClotNetworks,
    training: Record<string, unknown>,
  ) {
    const a = nets.anchors;
    this.info = {
      kind: 'clot',
      method: nets.options.preset,
      dim: a.dim,
      cond: a.cond,
      categorical: a.categorical,
      classes: a.classes,
      anchors: a.lambdas.slice(),
      bounds: a.bounds,
      training,
    };
  }

  sample(rows: Float32Array, lambda: number): Float32Array {
    return this.trajectory(rows, [lambda]);
  }

  trajectory(rows: Float32Array, lambdas: number[]): Float32Array {
    const n = checkRows(this.info, rows);
    // Position inside an interval is interval-local, so it is the same under the real λ spacing and
    // under equal spacing (equalSpacing changes nothing here; it matters to time-based baselines).
    const intervals = lambdas.map((l) => {
      checkLambda(this.info, l);
      return intervalOf(this.info.anchors, l);
    });
    const { dim, cond } = this.info;
    const width = dim + cond;
    const out = new Float32Array(lambdas.length * n * width);
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start);
      const chunk = rows.subarray(start * width, (start + count) * width);
      const values = this.pushChunk(chunk, count, intervals);
      intervals.forEach((_, li) => {
        const block = values[li];
        for (let i = 0; i < count; i++) {
          const o = (li * n + start + i) * width;
          for (let d = 0; d < dim; d++) out[o + d] = block[i * dim + d];
          for (let c = 0; c < cond; c++) out[o + dim + c] = chunk[i * width + dim + c];
        }
      });
    }
    return out;
  }

  /**
   * Outputs at each time for one chunk of rows: chained maps to the interval, then its spline.
   * A time exactly at an anchor is the chained maps' output itself (the path's end point).
   */
  private pushChunk(chunk: Float32Array, count: number, intervals: { k: number; s: number }[]): Float32Array[] {
    const { dim, cond } = this.info;
    const { y, x } = splitColumns(chunk, dim, cond);
    // Each λ as (maps applied before it, position s inside the next interval, or s = 1 at its end).
    const results: Float32Array[] = new Array(intervals.length);
    intervals.forEach((iv, i) => {
      if (iv.k === 0 && iv.s === 0) results[i] = y;
    });
    const last = Math.max(-1, ...intervals.map((iv) => (iv.s === 0 ? iv.k - 1 : iv.k)));
    if (last < 0) return results;
    tf.tidy(() => {
      const nets = this.nets;
      const condT = nets.netCondition(x, count);
      let splineFilm: Film | null | undefined;
      let current = tf.tensor2d(y, [count, dim]);
      let currentStd = nets.standardY(current);
      for (let k = 0; k <= last; k++) {
        const pair = nets.pairs[k];
        const next = pair.push(current, currentStd, nets.film(pair.map, condT), nets.yScale);
        const nextStd = nets.standardY(next);
        const atEnd = intervals.flatMap((iv, i) => ((iv.k === k && iv.s === 1) || (iv.k === k + 1 && iv.s === 0) ? [i] : []));
        if (atEnd.length) {
          const values = Float32Array.from(next.dataSync());
          for (const i of atEnd) results[i] = values;
        }
        const inside = intervals.flatMap((iv, i) => (iv.k === k && iv.s > 0 && iv.s < 1 ? [i] : []));
        if (inside.length) {
          if (splineFilm === undefined) splineFilm = nets.film(nets.spline, condT);
          const s = inside.map((i) => intervals[i].s);
          const q = this.pathPoints(current, next, currentStd, nextStd, splineFilm, s);
          const qData = q.dataSync() as Float32Array;
          if (inside.length === 1) results[inside[0]] = Float32Array.from(qData);
          else {
            inside.forEach((li, j) => {
              const block = new Float32Array(count * dim);
              for (let r = 0; r < count; r++) for (let d = 0; d < dim; d++) block[r * dim + d] = qData[(r * s.length + j) * dim + d];
              results[li] = block;
            });
          }
        }
        current = next;
        currentStd = nextStd;
      }
    });
    return results;
  }

  /**
   * Path points q(s) = y0 + s (y1 − y0) + Σ_m B_m(s) φ_m for a few s, [B, S, D]. The basis is
   * folded into the spline net's output layer (W' = W·B(s)ᵀ), so the M·D bend coefficients are
   * never formed: one [H, S·D] matmul instead of [H, M·D] plus transposes.
   */
  private pathPoints(y0: Tensor2D, y1: Tensor2D, y0Std: Tensor2D, y1Std: Tensor2D, film: Film | null, s: number[]): Tensor3D {
    const nets = this.nets;
    const m = nets.options.splineNodes;
    const dim = this.info.dim;
    const count = y0.shape[0];
    const len = s.length;
    const h = nets.spline.features(tf.concat([y0Std, y1Std], 1), film);
    const { w, b } = nets.spline.outputLayer();
    const hidden = w.shape[0];
    const basis = tf.tensor2d(Float32Array.from(splineBasisAt(m, s)), [len, m]);
    // w [H, M·D] → [M, H·D]; basis · that → [S, H·D] → [H, S·D].
    const wByNode = tf.reshape(tf.transpose(tf.reshape(w, [hidden, m, dim]), [1, 0, 2]), [m, hidden * dim]);
    const folded = tf.reshape(tf.transpose(tf.reshape(tf.matMul(basis, wByNode), [len, hidden, dim]), [1, 0, 2]), [hidden, len * dim]);
    const foldedBias = tf.reshape(tf.matMul(basis, tf.reshape(b, [m, dim])), [len * dim]);
    const bend = tf.mul(tf.reshape(tf.add(tf.matMul(h, folded), foldedBias), [count, len, dim]), nets.yScale);
    const sT = tf.reshape(tf.tensor1d(s), [1, len, 1]);
    const start = tf.expandDims(y0, 1);
    const line = tf.add(start, tf.mul(sT, tf.sub(tf.expandDims(y1, 1), start)));
    return tf.add(line, bend) as Tensor3D;
  }

  /** What `sample` computes (see ClotGraph): the chained maps and the spline path, as plain data. */
  samplingGraph(): ClotGraph {
    const nets = this.nets;
    const st = nets.standardizer;
    const nodes = nets.options.splineNodes;
    return {
      kind: 'clot',
      info: structuredClone(this.info),
      position: LINEAR_POSITION,
      y: { mean: st.yMean.slice(), scale: st.yStd.slice() },
      x: nets.xMean ? { mean: st.xMean.slice(), scale: st.xStd.slice() } : null,
      maps: nets.pairs.map((p) => describeNet(p.map)),
      spline: { net: describeNet(nets.spline), nodes, basis: splineNullSpace(nodes).map((b) => Array.from(b)) },
    };
  }

  anchorRows(klass: number | null, n: number, seed: number): Float32Array {
    return this.nets.anchors.firstAnchorRows(klass, n, seed);
  }

  potential(points: Float32Array, condRow: Float32Array): Float32Array {
    const pot = this.nets.potential;
    if (!pot) throw new Error('this model has no density potential (fitted without it)');
    const dim = this.info.dim;
    const p = points.length / dim;
    const out = new Float32Array(p);
    tf.tidy(() => {
      const refs = pot.pathReferences(condRow, 1);
      const q = tf.tensor3d(points, [1, p, dim]);
      out.set(pot.evaluate(q, refs).dataSync());
    });
    return out;
  }

  metric(points: Float32Array, condRow: Float32Array): { eigenvalues: Float32Array; principal: Float32Array } {
    const dim = this.info.dim;
    const p = points.length / dim;
    let eigenvalues = new Float32Array(0);
    let principal = new Float32Array(0);
    tf.tidy(() => {
      const nets = this.nets;
      const condT = nets.netCondition(condRow, 1);
      const q = tf.tensor3d(points, [1, p, dim]);
      const film = nets.metric.film(condT);
      const res = nets.metric.principal(nets.metric.net ? (tf.div(tf.sub(q, nets.yMean), nets.yScale) as Tensor3D) : q, film);
      eigenvalues = Float32Array.from(res.eigenvalues.dataSync());
      principal = Float32Array.from(res.direction.dataSync());
    });
    return { eigenvalues, principal };
  }

  async save(target: string): Promise<void> {
    const nets = this.nets;
    const { onProgress: _p, ...options } = nets.options as ResolvedClotOptions & { onProgress?: unknown };
    void _p;
    writeModelDir(target, { info: this.info, options: { ...options, standardizer: nets.standardizer.toJSON() } }, {
      ...nets.allParams(),
      ...nets.anchors.toRecord(),
    });
  }

  dispose(): void {
    this.nets.dispose();
  }
}

/** Rebuild a saved CLOT surrogate; shapes are checked against the config. */
export function loadClot(stored: StoredModel, tensors: Record<string, NamedArray>): ClotSurrogate {
  const info = stored.info;
  const anchors = AnchorData.fromRecord(tensors, info);
  const { standardizer, ...rest } = stored.options as ResolvedClotOptions & { standardizer: ReturnType<Standardizer['toJSON']> };
  if (!standardizer) throw new Error('model config lacks its standardisation (corrupt config)');
  const options = rest as ResolvedClotOptions;
  const nets = new ClotNetworks(anchors, options, Standardizer.fromJSON(standardizer));
  try {
    nets.loadParams(tensors);
  } catch (err) {
    nets.dispose();
    throw err;
  }
  return new ClotSurrogate(nets, info.training ?? {});
}

