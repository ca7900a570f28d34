import { tf, Adam, adamW, Rng, learningRate, type ParamStore } from '../engine/index.js';
import { disposeReferences, type PathContext } from '../lagrangian/index.js';
import { cTransform, dualTrainingLoss } from '../ot/index.js';
import type { Dataset } from '../data/dataset.js';
import { concatArrays, pickRows } from '../data/arrays.js';
import { AnchorData, Standardizer } from './anchors.js';
import { couplePair, type Coupling } from './couplings.js';
import { ClotNetworks, ClotSurrogate, PRESET_SETTINGS, resolveClotOptions, type ClotOptions } from './clot.js';

/** One batch of transport problems for pair k, with its per-path context built once. */
interface PairBatch {
  k: number;
  y: Float32Array;
  x: Float32Array;
  yHat: Float32Array;
}

/**
 * Fit a CLOT surrogate on a dataset whose levels are the anchors (method.md §2.4–2.6), sized for
 * a CPU: minibatches, a few L-BFGS iterations warm-started from T_k, spline refits on short
 * schedules. Non-finite steps roll back to the last good state with a lower learning rate.
 */
export async function fitClot(ds: Dataset, options: ClotOptions = {}): Promise<ClotSurrogate> {
  const anchors = AnchorData.fromDataset(ds);
  const opts = resolveClotOptions(options, anchors);
  const onProgress = options.onProgress;
  const nets = new ClotNetworks(anchors, opts, Standardizer.fit(anchors));
  const trainer = new Trainer(nets, anchors, opts.seed, onProgress);
  try {
    const summary = await trainer.run();
    return new ClotSurrogate(nets, { ...summary, label: PRESET_SETTINGS[opts.preset].label });
  } catch (err) {
    nets.dispose();
    throw err;
  } finally {
    trainer.dispose();
  }
}

/** Coupled pairs per map-regression step, at least (600 steps of 256 measured on dropout_2moons). */
const MAP_BATCH = 256;
/**
 * Map-regression learning rate (constant, then decayed over the second half). Tail rows the
 * map underfits land off the data manifold (semicircles NLL outliers); 1e-2 fits more of them.
 * Measured over seeds: semicircles mean NLL −1.09 vs −0.99 (0–4), dropout_2moons mean W.D.
 * 0.0645 vs 0.0658 (0–3), cancer_reward W2² 2.020 vs 2.035 (0–2); 2e-2 is worse on the last two.
 */
const MAP_LR = 1e-2;

class Trainer {
  private readonly rng: Rng;
  private readonly dualOpts: Adam[];
  private readonly splineOpt: Adam;
  private readonly metricOpt: Adam | null;
  private readonly start = Date.now();
  private lastBatches: PairBatch[] = [];
  private rollbacks = 0;
  private evaluations = 0;
  private snapshot: Map<ParamStore, Map<string, Float32Array>> | null = null;

  constructor(
    private readonly nets: ClotNetworks,
    private readonly anchors: AnchorData,
    seed: number,
    private readonly onProgress?: ClotOptions['onProgress'],
  ) {
    this.rng = new Rng(seed).fork('training');
    const o = nets.options;
    this.dualOpts = nets.pairs.map(() => adamW({ lr: o.lr, clipNorm: 10 }));
    this.splineOpt = new Adam({ lr: o.splineLr, clipNorm: 1 });
    this.metricOpt = nets.metric.net ? adamW({ lr: o.metricLr, clipNorm: 10 }) : null;
  }

  private elapsed(): number {
    return (Date.now() - this.start) / 1000;
  }

  private report(phase: string, step: number, total: number, losses: Record<string, number>, message?: string): void {
    this.onProgress?.({ phase, step, total, losses, elapsedSeconds: this.elapsed(), message });
  }

  async run(): Promise<Record<string, unknown>> {
    const o = this.nets.options;
    const pairs = this.nets.pairs.length;
    let splineLoss = this.trainSpline(o.splinePretrainSteps, 'spline pre-fit', () => this.randomPairs());
    // Warm start: exact discrete couplings under the current Lagrangian, alternated with metric
    // steps and spline refits, then T_k and g_k fitted to the couplings.
    let couplings: Coupling[] = [];
    let metricLoss = NaN;
    const rounds = this.metricOpt ? o.couplingRounds : 1;
    const refit = this.metricOpt !== null && o.metricStepsPerRound > 0;
    for (let r = 0; r < rounds; r++) {
      couplings = this.nets.pairs.map((_, k) => couplePair(this.nets, k, o.couplingCap, this.rng));
      this.report('couplings', r + 1, rounds, { cost: meanCouplingCost(this.nets, couplings) });
      if (this.metricOpt && o.metricStepsPerRound > 0) {
        for (let i = 0; i < o.metricStepsPerRound; i++) {
          this.lastBatches = couplings.map((c) => this.subsample(c, o.batchSize));
          metricLoss = this.metricStep();
        }
        this.report('metric', r + 1, rounds, { cost: metricLoss });
      }
      splineLoss = this.trainSpline(o.splineRefitSteps, 'spline refit', () => couplings.map((c) => this.subsample(c, o.batchSize)));
      await tick();
    }
    if (refit) {
      couplings = this.nets.pairs.map((_, k) => couplePair(this.nets, k, o.couplingCap, this.rng));
    }
    const mapLossWarm = this.fitMaps(couplings);
    this.takeSnapshot();
    const history: { step: number; dual: number[]; map: number[] }[] = [];
    let last = { dual: [] as number[], map: [] as number[] };
    for (let step = 1; step <= o.steps; step++) {
      const dual: number[] = [];
      const map: number[] = [];
      this.lastBatches = [];
      for (let k = 0; k < pairs; k++) {
        const r = this.dualStep(k);
        dual.push(r.dual);
        map.push(r.map);
      }
      last = { dual, map };
      if (this.metricOpt && step % o.metricEvery === 0) metricLoss = this.metricStep();
      if (step % o.splineRefitEvery === 0 && step < o.steps) {
        splineLoss = this.trainSpline(o.splineRefitSteps, null, () => this.mappedPairs());
      }
      if (![...dual, ...map].every(Number.isFinite) || (step % 10 === 0 && !this.allFinite())) {
        this.rollback(step, o.steps);
        continue;
      }
      if (step % 10 === 0) this.takeSnapshot();
      if (step % 10 === 0 || step === o.steps) history.push({ step, dual, map });
      this.report('dual', step, o.steps, {
        cost: -mean(dual),
        map: mean(map),
        ...(Number.isFinite(metricLoss) ? { metric: metricLoss } : {}),
        spline: splineLoss,
      });
      await tick();
    }
    // Final spline fit on the maps' own pairs: this is what sampling uses.
    splineLoss = this.trainSpline(Math.max(o.splineRefitSteps, 1), 'spline final', () => this.mappedPairs());
    if (!this.allFinite()) {
      this.restoreSnapshot();
      if (!this.allFinite()) throw new Error('training diverged: parameters are not finite and no good state to roll back to');
    }
    return {
      fitSeconds: this.elapsed(),
      couplingCost: meanCouplingCost(this.nets, couplings),
      warmMapLoss: mapLossWarm,
      transportCost: last.dual.map((d) => -d),
      mapLoss: last.map,
      metricLoss,
      splineAction: splineLoss,
      rollbacks: this.rollbacks,
      costEvaluations: this.evaluations,
      bandwidth: o.bandwidth,
      condBandwidth: o.condBandwidth,
      history,
    };
  }

  /** A random subset of a coupling's pairs, as a training batch. */
  private subsample(c: Coupling, n: number): PairBatch {
    const dim = this.anchors.dim;
    const cond = this.anchors.cond;
    const total = c.y.length / dim;
    const idx = this.rng.sample(total, Math.min(n, total));
    return { k: c.k, y: pickRows(c.y, dim, idx), x: pickRows(c.x, cond, idx), yHat: pickRows(c.yHat, dim, idx) };
  }

  /** Regress T_k onto the coupled targets and, when dual steps follow, g_k onto the discrete dual potentials. */
  private fitMaps(couplings: Coupling[]): number[] {
    const o = this.nets.options;
    const nets = this.nets;
    const dim = this.anchors.dim;
    const cond = this.anchors.cond;
    const losses = couplings.map(() => NaN);
    // Separate optimisers for T_k and g_k: under one global-norm clip a large g gradient would
    // starve the map's update.
    const mapOpts = nets.pairs.map(() => new Adam({ lr: MAP_LR, clipNorm: 10 }));
    const gOpts = nets.pairs.map(() => new Adam({ lr: MAP_LR, clipNorm: 10 }));
    // The discrete potentials are in cost units: scale them to O(1) once per pair. Couplings
    // within singleton groups (one row per condition) have no potential to learn.
    // g_k serves only the semi-dual steps (its c-transform); with none to follow it is not fitted.
    const fitPotentials = o.steps > 0;
    const potScales = couplings.map((c) => (fitPotentials ? Math.sqrt(mean(Array.from(c.potential, (p) => p * p))) : 0));
    const batch = Math.max(o.batchSize, MAP_BATCH);
    for (let step = 1; step <= o.mapSteps; step++) {
      for (const opt of [...mapOpts, ...gOpts]) opt.lr = learningRate(MAP_LR, step - 1, o.mapSteps);
      couplings.forEach((c, k) => {
        const pair = nets.pairs[k];
        const total = c.y.length / dim;
        const idx = this.rng.sample(total, Math.min(batch, total));
        const n = idx.length;
        const y = pickRows(c.y, dim, idx);
        const yHat = pickRows(c.yHat, dim, idx);
        const x = pickRows(c.x, cond, idx);
        const xHat = pickRows(c.xHat, cond, idx);
        const pot = Float32Array.from(idx, (r) => c.potential[r]);
        tf.tidy(() => {
          const yT = tf.tensor2d(y, [n, dim]);
          const yHatT = tf.tensor2d(yHat, [n, dim]);
          const condT = nets.netCondition(x, n);
          const r = mapOpts[k].minimize(() => {
            const mapped = pair.push(yT, nets.standardY(yT), nets.film(pair.map, condT), nets.yScale);
            return tf.mean(tf.sum(tf.square(tf.div(tf.sub(mapped, yHatT), nets.yScale)), 1)) as tf.Scalar;
          }, pair.map.params.list());
          losses[k] = r.loss;
          if (potScales[k] > 1e-9) {
            const potT = tf.tensor1d(pot);
            const condHat = nets.netCondition(xHat, n);
            gOpts[k].minimize(() => {
              const g = pair.potential(nets.standardY(yHatT), nets.film(pair.g, condHat));
              return tf.mean(tf.square(tf.div(tf.sub(g, potT), potScales[k]))) as tf.Scalar;
            }, pair.g.params.list());
          }
        });
      });
      if (step % 25 === 0 || step === o.mapSteps) this.report('maps', step, o.mapSteps, { fit: mean(losses) });
    }
    for (const opt of [...mapOpts, ...gOpts]) opt.dispose();
    return losses;
  }

  private allFinite(): boolean {
    return this.nets.stores().every((s) => s.allFinite());
  }

  private takeSnapshot(): void {
    if (!this.allFinite()) return;
    this.snapshot = new Map(this.nets.stores().map((s) => [s, s.snapshot()]));
  }

  private restoreSnapshot(): void {
    if (!this.snapshot) return;
    for (const [store, snap] of this.snapshot) store.restore(snap);
  }

  private rollback(step: number, total: number): void {
    this.rollbacks++;
    this.restoreSnapshot();
    for (const opt of [...this.dualOpts, this.splineOpt, this.metricOpt]) if (opt) opt.lr *= 0.5;
    this.report('dual', step, total, {}, `non-finite loss at step ${step}: rolled back to the last good state, learning rates halved`);
    if (this.rollbacks > 8) throw new Error('training keeps producing non-finite values; try a smaller --alpha or a larger --bandwidth');
  }

  /** Random pairs of adjacent anchors under the same condition (spline pre-fit). */
  private randomPairs(): PairBatch[] {
    const b = this.nets.options.batchSize;
    const pairs = this.nets.pairs.length;
    return this.nets.pairs.map((_, k) => {
      const n = Math.max(8, Math.round((2 * b) / pairs));
      const src = this.anchors.sample(k, n, this.rng);
      const partner = this.anchors.partnerRows(k, src.index, this.rng);
      const dst = this.anchors.gather(k + 1, partner);
      return { k, y: src.y, x: src.x, yHat: dst.y };
    });
  }

  /** Pairs (y, T_k(y)) from the current maps (spline refits). */
  private mappedPairs(): PairBatch[] {
    const b = this.nets.options.batchSize;
    const pairs = this.nets.pairs.length;
    return this.nets.pairs.map((pair, k) => {
      const n = Math.max(8, Math.round((2 * b) / pairs));
      const src = this.anchors.sample(k, n, this.rng);
      let yHat = new Float32Array(0);
      tf.tidy(() => {
        const y = tf.tensor2d(src.y, [n, this.anchors.dim]);
        const cond = this.nets.netCondition(src.x, n);
        yHat = Float32Array.from(pair.push(y, this.nets.standardY(y), this.nets.film(pair.map, cond), this.nets.yScale).dataSync());
      });
      return { k, y: src.y, x: src.x, yHat };
    });
  }

  /** Minimise the mean action of the spline net's paths over batches of endpoint pairs. */
  private trainSpline(steps: number, phase: string | null, batches: () => PairBatch[]): number {
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
        const y0 = tf.tensor2d(y, [n, this.anchors.dim]);
        const y1 = tf.tensor2d(yHat, [n, this.anchors.dim]);
        const cond = nets.netCondition(x, n);
        const ctx = nets.pathContext(cond, x, n);
        const r = this.splineOpt.minimize(() => {
          const phi = nets.bend(y0, y1, nets.film(nets.spline, cond));
          return tf.mean(nets.pathLagrangian.action(y0, y1, phi, ctx)) as tf.Scalar;
        }, vars);
        loss = r.loss;
        if (ctx.refs) disposeReferences(ctx.refs);
      });
      if (phase && (i % 10 === 0 || i === steps - 1)) this.report(phase, i + 1, steps, { action: loss });
    }
    return loss;
  }

  /** One semi-dual step for pair k: c-transform from T_k(y), then an update of g_k and T_k. */
  private dualStep(k: number): { dual: number; map: number } {
    const nets = this.nets;
    const pair = nets.pairs[k];
    const dim = this.anchors.dim;
    const b = nets.options.batchSize;
    const src = this.anchors.sample(k, b, this.rng);
    const tgt = this.anchors.sample(k + 1, b, this.rng);
    let dual = NaN;
    let map = NaN;
    tf.tidy(() => {
      const y = tf.tensor2d(src.y, [b, dim]);
      const yStd = nets.standardY(y);
      const cond = nets.netCondition(src.x, b);
      const condTarget = nets.netCondition(tgt.x, b);
      const ctx: PathContext = nets.pathContext(cond, src.x, b);
      const gFilm = nets.film(pair.g, cond);
      const splineFilm = nets.film(nets.spline, cond);
      const init = Float32Array.from(pair.push(y, yStd, nets.film(pair.map, cond), nets.yScale).dataSync());
      const ct = cTransform(
        {
          batch: b,
          dim,
          init,
          cost: (yEnd, detachedEnd) => nets.lagrangian.action(y, yEnd, nets.bend(y, detachedEnd, splineFilm), ctx),
          potential: (yEnd) => pair.potential(nets.standardY(yEnd), gFilm),
        },
        {
          maxIter: nets.options.ctIterations,
          bounds: this.anchors.bounds,
          initialStep: 0.1 * mean(nets.standardizer.yStd),
          gtol: 1e-5,
        },
      );
      this.evaluations += ct.evaluations;
      this.lastBatches.push({ k, y: src.y, x: src.x, yHat: ct.yHat });
      const yHat = tf.tensor2d(ct.yHat, [b, dim]);
      const yPlus = tf.tensor2d(tgt.y, [b, dim]);
      let gPlusMean = 0;
      const r = this.dualOpts[k].minimize(() => {
        const gHat = pair.potential(nets.standardY(yHat), nets.film(pair.g, cond));
        const gPlus = pair.potential(nets.standardY(yPlus), nets.film(pair.g, condTarget));
        const mapped = pair.push(y, yStd, nets.film(pair.map, cond), nets.yScale);
        const parts = dualTrainingLoss(gHat, gPlus, mapped, yHat, nets.yScale);
        map = parts.map.dataSync()[0];
        gPlusMean = tf.mean(gPlus).dataSync()[0];
        return parts.loss;
      }, pair.variables());
      void r;
      dual = -(mean(ct.value) + gPlusMean);
      if (ctx.refs) disposeReferences(ctx.refs);
    });
    return { dual, map };
  }

  /** One metric update: minimise the mean transport cost c_θ(y, ŷ) over the pairs' latest batches. */
  private metricStep(): number {
    const nets = this.nets;
    const dim = this.anchors.dim;
    let value = NaN;
    tf.tidy(() => {
      const batches = this.lastBatches.map((p) => {
        const n = p.y.length / dim;
        const y = tf.tensor2d(p.y, [n, dim]);
        const yHat = tf.tensor2d(p.yHat, [n, dim]);
        const cond = nets.netCondition(p.x, n);
        const phi = nets.bend(y, yHat, nets.film(nets.spline, cond));
        const refs = nets.potential ? nets.potential.pathReferences(p.x, n) : null;
        return { y, yHat, cond, phi, refs };
      });
      const r = this.metricOpt!.minimize(() => {
        const costs = batches.map((bt) =>
          tf.mean(nets.lagrangian.action(bt.y, bt.yHat, bt.phi, { film: nets.metric.film(bt.cond), refs: bt.refs })),
        );
        return tf.div(tf.addN(costs), costs.length) as tf.Scalar;
      }, nets.metric.net!.params.list());
      value = r.loss;
      for (const bt of batches) if (bt.refs) disposeReferences(bt.refs);
    });
    return value;
  }

  dispose(): void {
    for (const opt of [...this.dualOpts, this.splineOpt, this.metricOpt]) opt?.dispose();
  }
}

function tick(): Promise<void> {
  // Let the event loop breathe (Ctrl-C, progress rendering) between steps.
  return new Promise((resolve) => setImmediate(resolve));
}

function meanCouplingCost(nets: ClotNetworks, couplings: Coupling[]): number {
  const dim = nets.anchors.dim;
  let total = 0;
  let count = 0;
  for (const c of couplings) {
    const n = Math.min(256, c.y.length / dim);
    tf.tidy(() => {
      const y = tf.tensor2d(c.y.subarray(0, n * dim), [n, dim]);
      const yHat = tf.tensor2d(c.yHat.subarray(0, n * dim), [n, dim]);
      const x = c.x.subarray(0, n * nets.anchors.cond);
      const cond = nets.netCondition(x, n);
      const ctx = nets.pathContext(cond, x, n);
      const cost = nets.lagrangian.action(y, yHat, nets.bend(y, yHat, nets.film(nets.spline, cond)), ctx);
      total += tf.sum(cost).dataSync()[0];
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


