import { tf, Mlp, Rng, type ConditionSpec, type Film, type NamedArray, type Tensor2D, type Tensor3D } from '../engine/index.js';
import { DensityPotential, Lagrangian, Metric, SplinePaths, splineBasisAt, splineNullSpace, symmetricEigen, type PathContext } from '../lagrangian/index.js';
import { ResidualMap } from '../ot/map.js';
import { splitColumns } from '../data/dataset.js';
import { checkStandardizer, destandardize, standardize } from '../data/standardize.js';
import { checkLambda, checkRows, columnBounds, type ModelInfo, type TrajectoryModel } from './model.js';
import { writeModelDir, type StoredModel } from './persist.js';
import { AnchorData, type ClotScaling } from './anchors.js';
import { pathForm, resolveClotOptions, type ResolvedClotOptions } from './options.js';
import { monotoneSlopes, resolveScale, TimeWarp, type LambdaScale, type WarpKnots } from './warp.js';
import { describeNet, LINEAR_POSITION, type ClotGraph } from './graph.js';

export { CLOT_PRESETS, CLOT_DEFAULTS, PRESET_SETTINGS } from './options.js';
export type { ClotOptions, ClotPreset, ResolvedClotOptions } from './options.js';

/**
 * The networks and fixed pieces of a CLOT surrogate, shared by training and inference. Everything
 * here lives in standardised units: `anchors` are the standardised anchor samples, and the maps,
 * spline paths, metric and density potential all see standardised outputs and conditions.
 */
export class ClotNetworks {
  readonly maps: ResidualMap[];
  readonly spline: Mlp;
  readonly metric: Metric;
  readonly potential: DensityPotential | null;
  readonly lagrangian: Lagrangian;
  /** The Lagrangian whose action the spline network minimises (spline.form). */
  readonly pathLagrangian: Lagrangian;
  readonly paths: SplinePaths;
  readonly condition: ConditionSpec;

  constructor(
    readonly anchors: AnchorData,
    readonly options: ResolvedClotOptions,
  ) {
    const rng = new Rng(options.seed);
    const { dim, cond, categorical, classes } = anchors;
    this.condition = categorical ? { kind: 'categorical', classes } : cond > 0 ? { kind: 'continuous', dim: cond } : { kind: 'none' };
    // Every pair starts from the same initial weights (as in the reference).
    const mapSeed = rng.int(0x7fffffff);
    this.maps = Array.from({ length: anchors.count - 1 }, () => new ResidualMap({ dim, condition: this.condition, hidden: options.maps.hidden }, new Rng(mapSeed).fork('map')));
    const { nodes, points, width } = options.spline;
    this.spline = new Mlp(
      { inDim: 2 * dim, hidden: [width, width], outDim: nodes * dim, activation: 'relu', condition: this.condition, outputInitScale: 0 },
      rng.fork('spline'),
    );
    this.metric = new Metric({ kind: options.metric.kind, dim, condition: this.condition, width: options.metric.width }, rng.fork('metric'));
    const p = options.potential;
    this.potential = p.enabled
      ? new DensityPotential(anchors.pooledY, anchors.pooledX, dim, cond, categorical, { alpha: p.alpha, bandwidth: p.bandwidth, condBandwidth: p.condBandwidth, cap: p.cap }, options.seed)
      : null;
    this.paths = new SplinePaths(nodes, points);
    this.lagrangian = new Lagrangian(this.metric, this.potential, this.paths, options.actionForm);
    const form = pathForm(options);
    this.pathLagrangian = form === options.actionForm ? this.lagrangian : new Lagrangian(this.metric, this.potential, this.paths, form);
  }

  /**
   * The condition as the networks see it: class indices (see AnchorData.classIds), standardised
   * vectors [B, C] (the caller standardises), or nothing.
   */
  netCondition(x: Float32Array, batch: number): Tensor2D | null {
    if (this.condition.kind === 'none') return null;
    if (this.condition.kind === 'categorical') return tf.tensor2d(this.anchors.classIndices(x), [batch, 1]);
    return tf.tensor2d(x, [batch, this.anchors.cond]);
  }

  film(net: Mlp, cond: Tensor2D | null): Film | null {
    return cond ? net.film(cond) : null;
  }

  /** Spline bends φ = S(z0, z1, x), [B, M, D]. */
  bend(z0: Tensor2D, z1: Tensor2D, splineFilm: Film | null): Tensor3D {
    const raw = this.spline.apply(tf.concat([z0, z1], 1), splineFilm) as Tensor2D;
    return tf.reshape(raw, [z0.shape[0], this.options.spline.nodes, this.anchors.dim]) as Tensor3D;
  }

  /** T_k(z) for points z [B, D] with network conditions cond. */
  push(k: number, z: Tensor2D, cond: Tensor2D | null): Tensor2D {
    return this.maps[k].push(z, this.film(this.maps[k].net, cond));
  }

  /** Per-path context for action evaluations (metric FiLM, potential references). */
  pathContext(cond: Tensor2D | null, x: Float32Array, batch: number): PathContext {
    return {
      film: this.metric.film(cond),
      refs: this.potential ? this.potential.pathReferences(x, batch) : null,
    };
  }

  allParams(): Record<string, NamedArray> {
    const out: Record<string, NamedArray> = {};
    this.maps.forEach((m, k) => Object.assign(out, m.net.params.toRecord(`pair${k}.map.`)));
    Object.assign(out, this.spline.params.toRecord('spline.'));
    if (this.metric.net) Object.assign(out, this.metric.net.params.toRecord('metric.'));
    return out;
  }

  loadParams(record: Record<string, NamedArray>): void {
    this.maps.forEach((m, k) => m.net.params.loadRecord(record, `pair${k}.map.`));
    this.spline.params.loadRecord(record, 'spline.');
    if (this.metric.net) this.metric.net.params.loadRecord(record, 'metric.');
  }

  stores() {
    return [...this.maps.map((m) => m.net.params), this.spline.params, ...(this.metric.net ? [this.metric.net.params] : [])];
  }

  dispose(): void {
    for (const s of this.stores()) s.dispose();
    this.paths.dispose();
  }
}

/** Rows per chunk at inference: large enough for throughput, small enough for memory. */
const CHUNK = 8192;

/** A fitted CLOT surrogate: chained anchor maps, then the spline path of the interval at λ. */
export class ClotSurrogate implements TrajectoryModel {
  readonly info: ModelInfo;
  private warpState: TimeWarp;
  private scaleState: LambdaScale;
  /** The density potential U(q | x), present only when the model was fitted with one. */
  readonly potential?: (points: Float32Array, condRow: Float32Array) => Float32Array;

  constructor(
    readonly nets: ClotNetworks,
    /** The anchors in data units (what `anchorRows` draws from and what is saved). */
    readonly rawAnchors: AnchorData,
    readonly scaling: ClotScaling,
    training: Record<string, unknown>,
    warp?: WarpKnots,
  ) {
    const a = rawAnchors;
    this.warpState = new TimeWarp(a.lambdas, warp);
    this.scaleState = nets.options.scale;
    this.info = {
      kind: 'clot',
      method: nets.options.preset,
      dim: a.dim,
      cond: a.cond,
      categorical: a.categorical,
      classes: a.classes,
      ...(a.categorical ? { classIds: a.classIds.slice() } : {}),
      anchors: a.lambdas.slice(),
      bounds: a.bounds,
      ...(a.cond > 0 && !a.categorical ? { condBounds: columnBounds([a.pooledX], a.cond, 0, a.cond) } : {}),
      training,
    };
    if (nets.potential) this.potential = (points, condRow) => this.potentialAt(points, condRow);
  }

  /** How λ maps to the position along the paths (linear in λ unless calibrated). */
  get warp(): TimeWarp {
    return this.warpState;
  }

  /** The λ scale the time warp is drawn in (saved with the model; warp.ts). */
  get scale(): LambdaScale {
    return this.scaleState;
  }

  /** Replace the time warp (calibration on validation levels or left-out anchors), drawn in `scale`. */
  setWarp(knots: WarpKnots | undefined, scale: LambdaScale = this.scaleState): void {
    this.warpState = new TimeWarp(this.info.anchors, knots);
    this.scaleState = resolveScale(scale, this.info.anchors);
  }

  sample(rows: Float32Array, lambda: number): Float32Array {
    return this.trajectory(rows, [lambda]);
  }

  trajectory(rows: Float32Array, lambdas: number[]): Float32Array {
    const n = checkRows(this.info, rows);
    const positions = lambdas.map((l) => {
      checkLambda(this.info, l);
      return this.warpState.position(l);
    });
    return this.atPositions(rows, n, positions);
  }

  /**
   * Rows pushed to explicit path positions (interval k, position s along its paths) instead of
   * λ values: what calibrating a time warp searches over.
   */
  atPositions(rows: Float32Array, n: number, positions: { k: number; s: number }[]): Float32Array {
    const { dim, cond } = this.info;
    const width = dim + cond;
    const out = new Float32Array(positions.length * n * width);
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start);
      const chunk = rows.subarray(start * width, (start + count) * width);
      const values = this.pushChunk(chunk, count, positions);
      positions.forEach((_, li) => {
        // At the first anchor the answer is the given rows themselves, bit for bit.
        const block = values[li] ? destandardize(values[li]!, this.scaling.y) : splitColumns(chunk, dim, cond).y;
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
   * Standardised outputs at each position for one chunk of rows: chained maps to the interval,
   * then its spline. A position at an anchor is the chained maps' output itself; at the first
   * anchor, null (the rows are their own answer).
   */
  private pushChunk(chunk: Float32Array, count: number, positions: { k: number; s: number }[]): (Float32Array | null)[] {
    const { dim, cond } = this.info;
    const { y, x } = splitColumns(chunk, dim, cond);
    const z = standardize(y, dim, 0, this.scaling.y);
    const xNet = this.scaling.x ? standardize(x, cond, 0, this.scaling.x) : x;
    // null: the first anchor, answered with the input rows themselves.
    const results: (Float32Array | null)[] = positions.map(() => null);
    const last = Math.max(-1, ...positions.map((p) => (p.s === 0 ? p.k - 1 : p.k)));
    if (last < 0) return results;
    tf.tidy(() => {
      const nets = this.nets;
      const condT = nets.netCondition(xNet, count);
      let splineFilm: Film | null | undefined;
      let current = tf.tensor2d(z, [count, dim]);
      for (let k = 0; k <= last; k++) {
        const next = nets.push(k, current, condT);
        const atEnd = positions.flatMap((p, i) => ((p.k === k && p.s === 1) || (p.k === k + 1 && p.s === 0) ? [i] : []));
        if (atEnd.length) {
          const values = Float32Array.from(next.dataSync());
          for (const i of atEnd) results[i] = values;
        }
        const inside = positions.flatMap((p, i) => (p.k === k && p.s > 0 && p.s < 1 ? [i] : []));
        if (inside.length) {
          if (splineFilm === undefined) splineFilm = nets.film(nets.spline, condT);
          const s = inside.map((i) => positions[i].s);
          const qData = this.pathPoints(current, next, splineFilm, s).dataSync() as Float32Array;
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
      }
    });
    return results;
  }

  /**
   * Path points q(s) = z0 + s (z1 − z0) + Σ_m B_m(s) φ_m for a few s, [B, S, D]. The basis is
   * folded into the spline net's output layer (W' = W·B(s)ᵀ), so the M·D bend coefficients are
   * never formed: one [H, S·D] matmul instead of [H, M·D] plus transposes.
   */
  private pathPoints(z0: Tensor2D, z1: Tensor2D, film: Film | null, s: number[]): Tensor3D {
    const nets = this.nets;
    const m = nets.options.spline.nodes;
    const dim = this.info.dim;
    const count = z0.shape[0];
    const len = s.length;
    const h = nets.spline.features(tf.concat([z0, z1], 1), film);
    const { w, b } = nets.spline.outputLayer();
    const hidden = w.shape[0];
    const basis = tf.tensor2d(Float32Array.from(splineBasisAt(m, s)), [len, m]);
    // w [H, M·D] → [M, H·D]; basis · that → [S, H·D] → [H, S·D].
    const wByNode = tf.reshape(tf.transpose(tf.reshape(w, [hidden, m, dim]), [1, 0, 2]), [m, hidden * dim]);
    const folded = tf.reshape(tf.transpose(tf.reshape(tf.matMul(basis, wByNode), [len, hidden, dim]), [1, 0, 2]), [hidden, len * dim]);
    const foldedBias = tf.reshape(tf.matMul(basis, tf.reshape(b, [m, dim])), [len * dim]);
    const bend = tf.reshape(tf.add(tf.matMul(h, folded), foldedBias), [count, len, dim]);
    const sT = tf.reshape(tf.tensor1d(s), [1, len, 1]);
    const start = tf.expandDims(z0, 1);
    const line = tf.add(start, tf.mul(sT, tf.sub(tf.expandDims(z1, 1), start)));
    return tf.add(line, bend) as Tensor3D;
  }

  /** What `sample` computes (see ClotGraph): the time warp, the chained maps and the spline path, as plain data. */
  samplingGraph(): ClotGraph {
    const nets = this.nets;
    const nodes = nets.options.spline.nodes;
    const warp = this.warpState;
    const knots = warp.toJSON();
    const affine = (st: { mean: number[]; std: number[] }) => ({ mean: st.mean.slice(), scale: st.std.slice() });
    return {
      kind: 'clot',
      info: structuredClone(this.info),
      position: warp.isLinear() ? LINEAR_POSITION : { kind: 'monotone-cubic', ...knots, slopes: monotoneSlopes(knots.lambdas, knots.progress) },
      y: affine(this.scaling.y),
      x: this.scaling.x ? affine(this.scaling.x) : null,
      maps: nets.maps.map((m) => describeNet(m.net)),
      spline: { net: describeNet(nets.spline), nodes, basis: splineNullSpace(nodes).map((b) => Array.from(b)) },
    };
  }

  anchorRows(klass: number | null, n: number, seed: number): Float32Array {
    return this.rawAnchors.firstAnchorRows(klass, n, seed);
  }

  /** Points [P, D] and one condition row in data units, in the networks' standardised units. */
  private toNetUnits(points: Float32Array, condRow: Float32Array): { z: Float32Array; x: Float32Array } {
    const z = standardize(points, this.info.dim, 0, this.scaling.y);
    const x = this.scaling.x ? standardize(condRow, this.info.cond, 0, this.scaling.x) : condRow;
    return { z, x };
  }

  private potentialAt(points: Float32Array, condRow: Float32Array): Float32Array {
    const pot = this.nets.potential!;
    const p = points.length / this.info.dim;
    const { z, x } = this.toNetUnits(points, condRow);
    const out = new Float32Array(p);
    tf.tidy(() => {
      const refs = pot.pathReferences(x, 1);
      out.set(pot.evaluate(tf.tensor3d(z, [1, p, this.info.dim]), refs).dataSync());
    });
    return out;
  }

  /**
   * The learned metric in data units at points [P, D] for one condition: G_data(y) = S⁻¹ G(z) S⁻¹
   * with S the output spreads, so that vᵀ G_data v is the trained quadratic form of the
   * standardised displacement S⁻¹ v. Eigenvalues [P, D] (descending) and the principal direction
   * [P, D] of G_data.
   */
  metric(points: Float32Array, condRow: Float32Array): { eigenvalues: Float32Array; principal: Float32Array } {
    const dim = this.info.dim;
    const p = points.length / dim;
    const g = this.metricMatrices(points, condRow);
    const eigenvalues = new Float32Array(p * dim);
    const principal = new Float32Array(p * dim);
    for (let i = 0; i < p; i++) {
      const { values, vectors } = symmetricEigen(g.subarray(i * dim * dim, (i + 1) * dim * dim), dim);
      eigenvalues.set(values, i * dim);
      principal.set(vectors.subarray(0, dim), i * dim);
    }
    return { eigenvalues, principal };
  }

  /** G_data at points [P, D] in data units for one condition, [P, D, D] row-major (float64). */
  metricMatrices(points: Float32Array, condRow: Float32Array): Float64Array {
    const dim = this.info.dim;
    const p = points.length / dim;
    const { z, x } = this.toNetUnits(points, condRow);
    let g = new Float32Array(0);
    tf.tidy(() => {
      const condT = this.nets.netCondition(x, 1);
      g = Float32Array.from(this.nets.metric.matrices(tf.tensor3d(z, [1, p, dim]), this.nets.metric.film(condT)).dataSync());
    });
    const std = this.scaling.y.std;
    return Float64Array.from(g, (v, idx) => v / (std[Math.floor(idx / dim) % dim] * std[idx % dim]));
  }

  async save(target: string): Promise<void> {
    writeModelDir(
      target,
      { info: this.info, options: { ...this.nets.options, scale: this.scaleState, scaling: this.scaling, warp: this.warpState.isLinear() ? null : this.warpState.toJSON() } },
      { ...this.nets.allParams(), ...this.rawAnchors.toRecord() },
    );
  }

  dispose(): void {
    this.nets.dispose();
  }
}

/** Rebuild a saved CLOT surrogate; shapes are checked against the config. */
export function loadClot(stored: StoredModel, tensors: Record<string, NamedArray>): ClotSurrogate {
  const info = stored.info;
  const raw = AnchorData.fromRecord(tensors, info);
  const { scaling, warp, ...saved } = stored.options as unknown as ResolvedClotOptions & { scaling?: ClotScaling; warp?: WarpKnots | null };
  if (!scaling) throw new Error('model config lacks its standardisation (corrupt config)');
  let options: ResolvedClotOptions;
  try {
    options = resolveClotOptions(
      saved,
      info.dim,
      () => {
        throw new Error('bandwidths are not stored');
      },
      info.anchors,
    );
  } catch (err) {
    throw new Error(`model config holds invalid CLOT settings: ${(err as Error).message}`);
  }
  const y = checkStandardizer(scaling.y, info.dim, 'model config');
  const x = info.cond > 0 && !info.categorical ? checkStandardizer(scaling.x, info.cond, 'model config') : null;
  const checked: ClotScaling = { y, x };
  const nets = new ClotNetworks(raw.standardized(checked), options);
  try {
    nets.loadParams(tensors);
    return new ClotSurrogate(nets, raw, checked, info.training ?? {}, warp ?? undefined);
  } catch (err) {
    nets.dispose();
    throw err;
  }
}
