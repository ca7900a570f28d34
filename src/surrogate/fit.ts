import { tf, Adam, adamW, Rng, learningRate, type ParamStore } from '../engine/index.js';
import { disposeReferences } from '../lagrangian/index.js';
import type { Dataset } from '../data/dataset.js';
import { concatArrays, pickRows } from '../data/arrays.js';
import { AnchorData, autoBandwidth, autoCondBandwidth, fitScaling } from './anchors.js';
import { couplePair, type Coupling } from './couplings.js';
import { ClotNetworks, ClotSurrogate } from './clot.js';
import { PRESET_SETTINGS, resolveClotOptions, type ClotOptions } from './options.js';
import { priorWarp } from './warp.js';

/** Endpoint pairs (z → ẑ) of anchor pair k with their conditions, in standardised units. */
interface PairBatch {
  k: number;
  y: Float32Array;
  x: Float32Array;
  yHat: Float32Array;
}

/**
 * Fit a CLOT surrogate on a dataset whose levels are the anchors (method.md §2), in standardised
 * units:
 *   1. the spline network is pre-fitted to least-action paths between random same-condition pairs;
 *   2. exact couplings between adjacent anchors under the current Lagrangian cost, metric steps
 *      that lower the coupled transport cost, a spline refit (repeated `couplings.rounds` times);
 *   3. the maps T_k regressed onto the final couplings;
 *   4. a final spline fit on the maps' own pairs (y, T_k(y)), which is what sampling follows.
 * A non-finite state after a phase rolls back to the last good one.
 */
export async function fitClot(ds: Dataset, options: ClotOptions = {}): Promise<ClotSurrogate> {
  const raw = AnchorData.fromDataset(ds);
  const scaling = fitScaling(raw);
  const anchors = raw.standardized(scaling);
  const opts = resolveClotOptions(options, anchors.dim, () => ({ bandwidth: autoBandwidth(anchors), condBandwidth: autoCondBandwidth(anchors) }), raw.lambdas);
  const nets = new ClotNetworks(anchors, opts);
  const trainer = new Trainer(nets, anchors, opts.seed, options.onProgress);
  try {
    const summary = await trainer.run();
    // With no held-out information the warp is the scale's prior; selection recalibrates it.
    return new ClotSurrogate(nets, raw, scaling, { ...summary, label: PRESET_SETTINGS[opts.preset].label }, priorWarp(raw.lambdas, opts.scale));
  } catch (err) {
    nets.dispose();
    throw err;
  } finally {
    trainer.dispose();
  }
}

class Trainer {
  private readonly rng: Rng;
  private readonly splineOpt: Adam;
  private readonly metricOpt: Adam | null;
  private readonly start = Date.now();
  private readonly phaseSeconds: Record<string, number> = {};
  private lapStart = this.start;
  private snapshot: Map<ParamStore, Map<string, Float32Array>> | null = null;

  constructor(
    private readonly nets: ClotNetworks,
    private readonly anchors: AnchorData,
    seed: number,
    private readonly onProgress?: ClotOptions['onProgress'],
  ) {
    this.rng = new Rng(seed).fork('training');
    const o = nets.options;
    this.splineOpt = new Adam({ lr: o.spline.lr, clipNorm: 1 });
    this.metricOpt = nets.metric.net ? adamW({ lr: o.metric.lr, clipNorm: 10 }) : null;
  }

  private elapsed(): number {
    return (Date.now() - this.start) / 1000;
  }

  private report(phase: string, step: number, total: number, losses: Record<string, number>, message?: string): void {
    this.onProgress?.({ phase, step, total, losses, elapsedSeconds: this.elapsed(), message });
  }

  async run(): Promise<Record<string, unknown>> {
    const o = this.nets.options;
    const pretrainAction = this.trainSpline(o.spline.pretrainSteps, 'spline pre-fit', () => this.randomPairs());
    this.lap('splinePrefit');
    this.takeSnapshot();
    const warm = await this.coupleAndLearnMetric();
    const mapLoss = this.fitMaps(warm.couplings);
    this.guard('maps');
    this.lap('maps');
    // Final spline fit on the maps' own pairs: this is what sampling follows.
    const finalSteps = Math.max(o.spline.refitSteps, 1);
    const splineAction = this.trainSpline(finalSteps, 'spline final', () => this.mappedPairs());
    this.guard('final spline fit');
    this.lap('splineFinal');
    return {
      fitSeconds: this.elapsed(),
      phaseSeconds: this.phaseSeconds,
      splinePretrainAction: pretrainAction,
      couplingCost: meanCouplingCost(this.nets, warm.couplings),
      metricCost: warm.metricCost,
      mapLoss,
      splineAction,
      rows: this.rowsUsed(warm.couplings, finalSteps),
      bandwidth: o.potential.bandwidth,
      condBandwidth: o.potential.condBandwidth,
    };
  }

  /** Add the seconds since the last lap to `phase`. */
  private lap(phase: string): void {
    const now = Date.now();
    this.phaseSeconds[phase] = (this.phaseSeconds[phase] ?? 0) + (now - this.lapStart) / 1000;
    this.lapStart = now;
  }

  /**
   * How many rows each phase used, per anchor pair: the density potential is built from every
   * pooled anchor row; the spline fits draw random pairs (rows drawn, with repeats); a coupling
   * holds some of anchor k's rows (distinct), and the maps are regressed onto exactly those pairs.
   */
  private rowsUsed(couplings: Coupling[], finalSteps: number): Record<string, unknown> {
    const o = this.nets.options;
    const per = this.perPairBatch();
    const coupled = couplings.map((c) => c.sourceRows);
    return {
      anchors: this.anchors.rows.slice(),
      potential: this.nets.potential ? this.anchors.pooledY.length / this.anchors.dim : 0,
      splinePrefitDrawn: o.spline.pretrainSteps * per,
      coupled,
      couplingProblems: couplings.map((c) => c.problems),
      mapPairs: couplings.map((c) => c.y.length / this.anchors.dim),
      splineFinalDrawn: finalSteps * per,
      summary: `rows coupled and map-fitted per anchor pair ${coupled.map((n, k) => `${n}/${this.anchors.rows[k]}`).join(', ')}`,
    };
  }

  /**
   * Exact couplings under the current Lagrangian, alternated with metric steps and spline refits
   * (learned metrics); the couplings of the last round warm-start the maps.
   */
  private async coupleAndLearnMetric(): Promise<{ couplings: Coupling[]; metricCost: number }> {
    const o = this.nets.options;
    const learnMetric = this.metricOpt !== null && o.metric.stepsPerRound > 0;
    const rounds = learnMetric ? o.couplings.rounds : 1;
    let metricCost = NaN;
    // The couplings the maps are fitted to take `couplings.minibatches` minibatches per group; the
    // metric steps and spline refits subsample a few hundred pairs, which one minibatch holds.
    let couplings = this.couple(!learnMetric);
    this.lap('couplings');
    for (let r = 0; r < rounds && learnMetric; r++) {
      this.report('couplings', r + 1, rounds, { cost: meanCouplingCost(this.nets, couplings) });
      for (let i = 0; i < o.metric.stepsPerRound; i++) {
        metricCost = this.metricStep(couplings.map((c) => this.subsample(c, this.perPairBatch())));
      }
      this.report('metric', r + 1, rounds, { cost: metricCost });
      this.lap('metric');
      const current = couplings;
      this.trainSpline(o.spline.refitSteps, 'spline refit', () => current.map((c) => this.subsample(c, this.perPairBatch())));
      this.guard('metric and spline refit');
      this.lap('splineRefit');
      await tick();
      // Recouple under the metric just learned.
      couplings = this.couple(r === rounds - 1);
      this.lap('couplings');
    }
    return { couplings, metricCost };
  }

  private couple(forMaps: boolean): Coupling[] {
    const c = this.nets.options.couplings;
    return this.nets.maps.map((_, k) => couplePair(this.nets, k, c.cap, this.rng, forMaps ? c.minibatches : 1));
  }

  /** Pairs per anchor pair in one spline or metric step. */
  private perPairBatch(): number {
    return Math.max(8, Math.round(this.nets.options.spline.batch / this.nets.maps.length));
  }

  /** A random subset of a coupling's pairs, as a training batch. */
  private subsample(c: Coupling, n: number): PairBatch {
    const dim = this.anchors.dim;
    const cond = this.anchors.cond;
    const total = c.y.length / dim;
    const idx = this.rng.sample(total, Math.min(n, total));
    return { k: c.k, y: pickRows(c.y, dim, idx), x: pickRows(c.x, cond, idx), yHat: pickRows(c.yHat, dim, idx) };
  }

  /** Regress T_k onto the coupled targets (squared error in standardised units). */
  private fitMaps(couplings: Coupling[]): number[] {
    const o = this.nets.options.maps;
    const nets = this.nets;
    const losses = couplings.map(() => NaN);
    const opts = nets.maps.map(() => new Adam({ lr: o.lr, clipNorm: 10 }));
    try {
      for (let step = 1; step <= o.steps; step++) {
        for (const opt of opts) opt.lr = learningRate(o.lr, step - 1, o.steps);
        couplings.forEach((c, k) => {
          const b = this.subsample(c, o.batch);
          const n = b.y.length / this.anchors.dim;
          tf.tidy(() => {
            const z = tf.tensor2d(b.y, [n, this.anchors.dim]);
            const target = tf.tensor2d(b.yHat, [n, this.anchors.dim]);
            const cond = nets.netCondition(b.x, n);
            const r = opts[k].minimize(() => tf.mean(tf.sum(tf.square(tf.sub(nets.push(k, z, cond), target)), 1)) as tf.Scalar, nets.maps[k].net.params.list());
            losses[k] = r.loss;
          });
        });
        if (step % 25 === 0 || step === o.steps) this.report('maps', step, o.steps, { fit: mean(losses) });
      }
    } finally {
      for (const opt of opts) opt.dispose();
    }
    return losses;
  }

  private allFinite(): boolean {
    return this.nets.stores().every((s) => s.allFinite());
  }

  private takeSnapshot(): void {
    if (this.allFinite()) this.snapshot = new Map(this.nets.stores().map((s) => [s, s.snapshot()]));
  }

  /** After a phase: keep a finite state as the new snapshot, or roll back to the last one. */
  private guard(phase: string): void {
    if (this.allFinite()) {
      this.takeSnapshot();
      return;
    }
    if (!this.snapshot) throw new Error(`training diverged in the ${phase} phase and there is no good state to roll back to; try a smaller potential.alpha`);
    for (const [store, snap] of this.snapshot) store.restore(snap);
    this.report(phase, 0, 0, {}, `non-finite parameters after the ${phase} phase: rolled back to the last good state`);
  }

  /** Random pairs of adjacent anchors under the same condition (spline pre-fit). */
  private randomPairs(): PairBatch[] {
    const n = this.perPairBatch();
    return this.nets.maps.map((_, k) => {
      const src = this.anchors.sample(k, n, this.rng);
      const partner = this.anchors.partnerRows(k, src.index, this.rng);
      const dst = this.anchors.gather(k + 1, partner);
      return { k, y: src.y, x: src.x, yHat: dst.y };
    });
  }

  /** Pairs (z, T_k(z)) from the current maps (the final spline fit). */
  private mappedPairs(): PairBatch[] {
    const n = this.perPairBatch();
    return this.nets.maps.map((_, k) => {
      const src = this.anchors.sample(k, n, this.rng);
      let yHat = new Float32Array(0);
      tf.tidy(() => {
        const z = tf.tensor2d(src.y, [n, this.anchors.dim]);
        yHat = Float32Array.from(this.nets.push(k, z, this.nets.netCondition(src.x, n)).dataSync());
      });
      return { k, y: src.y, x: src.x, yHat };
    });
  }

  /** Minimise the mean action of the spline net's paths over batches of endpoint pairs. */
  private trainSpline(steps: number, phase: string, batches: () => PairBatch[]): number {
    const nets = this.nets;
    const vars = nets.spline.params.list();
    let loss = NaN;
    for (let i = 0; i < steps; i++) {
      const parts = batches();
      const y = concatArrays(parts.map((p) => p.y));
      const x = concatArrays(parts.map((p) => p.x));
      const yHat = concatArrays(parts.map((p) => p.yHat));
      const n = y.length / this.anchors.dim;
      tf.tidy(() => {
        const z0 = tf.tensor2d(y, [n, this.anchors.dim]);
        const z1 = tf.tensor2d(yHat, [n, this.anchors.dim]);
        const cond = nets.netCondition(x, n);
        const ctx = nets.pathContext(cond, x, n);
        loss = this.splineOpt.minimize(() => {
          const phi = nets.bend(z0, z1, nets.film(nets.spline, cond));
          return tf.mean(nets.pathLagrangian.action(z0, z1, phi, ctx)) as tf.Scalar;
        }, vars).loss;
        if (ctx.refs) disposeReferences(ctx.refs);
      });
      if (i % 10 === 0 || i === steps - 1) this.report(phase, i + 1, steps, { action: loss });
    }
    return loss;
  }

  /** One metric update: minimise the mean transport cost c_θ(z, ẑ) over coupled pairs (paths held fixed). */
  private metricStep(parts: PairBatch[]): number {
    const nets = this.nets;
    const dim = this.anchors.dim;
    let value = NaN;
    tf.tidy(() => {
      const batches = parts.map((p) => {
        const n = p.y.length / dim;
        const z0 = tf.tensor2d(p.y, [n, dim]);
        const z1 = tf.tensor2d(p.yHat, [n, dim]);
        const cond = nets.netCondition(p.x, n);
        const phi = nets.bend(z0, z1, nets.film(nets.spline, cond));
        const refs = nets.potential ? nets.potential.pathReferences(p.x, n) : null;
        return { z0, z1, cond, phi, refs };
      });
      value = this.metricOpt!.minimize(() => {
        const costs = batches.map((bt) => tf.mean(nets.lagrangian.action(bt.z0, bt.z1, bt.phi, { film: nets.metric.film(bt.cond), refs: bt.refs })));
        return tf.div(tf.addN(costs), costs.length) as tf.Scalar;
      }, nets.metric.net!.params.list()).loss;
      for (const bt of batches) if (bt.refs) disposeReferences(bt.refs);
    });
    return value;
  }

  dispose(): void {
    this.splineOpt.dispose();
    this.metricOpt?.dispose();
  }
}

function tick(): Promise<void> {
  // Let the event loop breathe (Ctrl-C, progress rendering) between phases.
  return new Promise((resolve) => setImmediate(resolve));
}

/** Mean Lagrangian cost of (up to 256 of) each coupling's pairs. */
function meanCouplingCost(nets: ClotNetworks, couplings: Coupling[]): number {
  const dim = nets.anchors.dim;
  let total = 0;
  let count = 0;
  for (const c of couplings) {
    const n = Math.min(256, c.y.length / dim);
    tf.tidy(() => {
      const z0 = tf.tensor2d(c.y.subarray(0, n * dim), [n, dim]);
      const z1 = tf.tensor2d(c.yHat.subarray(0, n * dim), [n, dim]);
      const x = c.x.subarray(0, n * nets.anchors.cond);
      const cond = nets.netCondition(x, n);
      const ctx = nets.pathContext(cond, x, n);
      total += tf.sum(nets.lagrangian.action(z0, z1, nets.bend(z0, z1, nets.film(nets.spline, cond)), ctx)).dataSync()[0];
      count += n;
      if (ctx.refs) disposeReferences(ctx.refs);
    });
  }
  return total / Math.max(count, 1);
}

function mean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return v.length ? s / v.length : NaN;
}
