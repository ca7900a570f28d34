/**
 * MFM baseline (metric flow matching, Kapusniak et al. 2024). As CFM, but each OT pair is joined
 * by a learned curve
 *   y(s) = (1 − s) y0 + s y1 + s(1 − s) Σ_j (2s − 1)^j c_j(y0, y1, x)
 * whose coefficients come from a small network trained to minimise the path energy
 * ∫ y'ᵀ G(y | x) y' ds under the LAND diagonal metric built from the pooled anchor samples:
 *   G(q | x) = diag(1 / (h(q | x) + ε)),  h_d(q | x) = Σ_i m_i(x) k_σ(q − y_i) (y_id − q_d)² / Σ_i m_i(x),
 * m_i(x) selecting the same class (categorical) or weighting by a condition kernel (continuous).
 * Paths through data-dense regions are cheap, so the curves bend toward the data; the velocity
 * net then regresses the derivative of the learned curves.
 * (The paper's interpolant net takes t as an input; here the t-dependence is a fixed polynomial
 * basis so that the derivative the velocity net needs is exact, not a finite difference.)
 */
import type { Dataset } from '../data/dataset.js';
import { Mlp, Rng, tf, type Scalar, type Tensor2D } from '../engine/index.js';
import { knownClasses, type TrajectoryModel } from '../surrogate/model.js';
import { conditionSpec, INFERENCE_CHUNK, positiveIntOption, positiveNumberOption, trainLoop } from './common.js';
import { bendBasis, BEND_TERMS, finishFlow, PairSampler, prepareFlow, trainVelocity, type FlowOptions, type FlowSetup } from './flow.js';

export interface MfmOptions extends FlowOptions {
  /** Interpolant-network Adam steps (default 300). */
  interpolantSteps?: number;
  /** Pairs per interpolant step (default 64); each is evaluated at `quadrature` times (default 6). */
  interpolantBatch?: number;
  quadrature?: number;
  /** Kernel width σ of the metric in standardised output units (default: Scott's rule within each class). */
  bandwidth?: number;
  /** ε relative to the mean of h over the data (default 0.1): off the data the metric is ≈ 11× costlier. */
  epsilon?: number;
  /** Condition kernel width for continuous x, standardised units (default 1). */
  conditionBandwidth?: number;
  /** Most pooled anchor samples the metric keeps per class (seeded subsample; default 600). */
  metricPoints?: number;
}

/**
 * The pooled anchor samples behind the metric of one class (or of all rows when the condition is
 * not categorical), with the settings derived from them. Training draws each batch from a single
 * group, so the kernel sums run over that class's points only.
 */
interface MetricGroup {
  klass: number | null;
  y: Float32Array; // N × D standardised
  x: Float32Array; // N × C standardised x (continuous), empty otherwise
  n: number;
  sigma: number;
  /** Mean of h over the group's own points, and ε = epsRel · that. */
  hBar: number;
  eps: number;
  sampler: PairSampler;
}

interface MetricSettings {
  hx: number;
  epsRel: number;
}

function buildGroups(setup: FlowSetup, options: MfmOptions, settings: MetricSettings): MetricGroup[] {
  const { dim, cond, categorical } = setup.info;
  const rng = setup.rng.fork('metric-support');
  const max = positiveIntOption(options.metricPoints, 600, 'metric points');
  // Pooled rows of every anchor, split by class for a categorical condition.
  const members = new Map<number | null, { y: number[]; x: number[] }>();
  for (const block of setup.blocks) {
    for (let r = 0; r < block.n; r++) {
      const key = categorical ? block.x[r] : null;
      let g = members.get(key);
      if (!g) members.set(key, (g = { y: [], x: [] }));
      for (let d = 0; d < dim; d++) g.y.push(block.y[r * dim + d]);
      if (!categorical) for (let c = 0; c < cond; c++) g.x.push(block.x[r * cond + c]);
    }
  }
  const keys = [...members.keys()].sort((a, b) => (a ?? 0) - (b ?? 0));
  return keys.map((klass) => {
    const all = members.get(klass)!;
    const xc = categorical ? 0 : cond;
    const total = all.y.length / dim;
    const pick = total <= max ? Array.from({ length: total }, (_, i) => i) : Array.from(rng.sample(total, max)).sort((p, q) => p - q);
    const y = new Float32Array(pick.length * dim);
    const x = new Float32Array(pick.length * xc);
    pick.forEach((r, i) => {
      for (let d = 0; d < dim; d++) y[i * dim + d] = all.y[r * dim + d];
      for (let c = 0; c < xc; c++) x[i * xc + c] = all.x[r * xc + c];
    });
    const sigma = options.bandwidth !== undefined ? positiveNumberOption(options.bandwidth, 0, 'metric bandwidth') : scottBandwidth(y, pick.length, dim);
    const sampler = new PairSampler(setup.segments, categorical ? (k, i) => setup.segments[k].x[i] === klass : undefined);
    const group: MetricGroup = { klass, y, x, n: pick.length, sigma, hBar: 0, eps: 0, sampler };
    group.hBar = meanHOnData(group, dim, xc, settings);
    group.eps = Math.max(settings.epsRel * group.hBar, 1e-12);
    return group;
  });
}

/** Scott's rule: mean per-dimension std · n^(−1/(D+4)). */
function scottBandwidth(y: Float32Array, n: number, dim: number): number {
  let spread = 0;
  for (let d = 0; d < dim; d++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += y[i * dim + d];
    m /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (y[i * dim + d] - m) ** 2;
    spread += Math.sqrt(v / n);
  }
  return Math.max(spread / dim, 1e-3) * Math.pow(n, -1 / (dim + 4));
}

/**
 * Condition weights m_i(x_b) of the group's points for B conditions, row-major B × N: a Gaussian
 * kernel on continuous x, all ones otherwise (a categorical group holds one class already).
 */
function conditionMask(g: MetricGroup, xb: Float32Array, B: number, xc: number, hx: number): Float32Array {
  const N = g.n;
  const out = new Float32Array(B * N);
  if (xc === 0) return out.fill(1);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < N; i++) {
      let d2 = 0;
      for (let c = 0; c < xc; c++) d2 += (xb[b * xc + c] - g.x[i * xc + c]) ** 2;
      out[b * N + i] = Math.exp(-d2 / (2 * hx * hx));
    }
  }
  return out;
}

/** A group's points as tensors: y [N, D], y² [N, D], ‖y‖² [1, N]. */
interface SupportTensors {
  supY: Tensor2D;
  supY2: Tensor2D;
  supSq: Tensor2D;
}

function supportTensors(g: MetricGroup, dim: number): SupportTensors {
  return tf.tidy(() => {
    const supY = tf.tensor2d(g.y, [g.n, dim]);
    const supY2 = tf.square(supY) as Tensor2D;
    const supSq = tf.reshape(tf.sum(supY2, 1), [1, g.n]) as Tensor2D;
    return { supY, supY2, supSq };
  });
}

/**
 * LAND h(q) [P, D] for points q [P, D] whose conditions repeat each mask row `per` times
 * (mask [B, N], P = B · per). Runs inside a tidy.
 */
function landH(q: Tensor2D, mask: Tensor2D, per: number, sup: SupportTensors, sigma: number): Tensor2D {
  const [B, N] = mask.shape;
  const P = q.shape[0];
  const qq = tf.sum(tf.square(q), 1, true);
  const d2 = tf.add(tf.sub(qq, tf.mul(tf.matMul(q, sup.supY, false, true), 2)), sup.supSq);
  let k = tf.exp(tf.mul(tf.relu(d2), -1 / (2 * sigma * sigma)));
  k = tf.reshape(tf.mul(tf.reshape(k, [B, per, N]), tf.expandDims(mask, 1)), [P, N]);
  const denom = tf.reshape(tf.tile(tf.maximum(tf.sum(mask, 1, true), 1e-8), [1, per]), [P, 1]);
  const s0 = tf.sum(k, 1, true);
  const s1 = tf.matMul(k, sup.supY);
  const s2 = tf.matMul(k, sup.supY2);
  // Σ_i k_i (y_i − q)² expanded, so that only matrix products touch the N points.
  const h = tf.add(tf.sub(s2, tf.mul(tf.mul(q, s1), 2)), tf.mul(tf.square(q), s0));
  return tf.relu(tf.div(h, denom)) as Tensor2D;
}

/** Mean of h over the group's own points: the scale ε is relative to. */
function meanHOnData(g: MetricGroup, dim: number, xc: number, settings: MetricSettings): number {
  return tf.tidy(() => {
    const sup = supportTensors(g, dim);
    let acc = 0;
    for (let s = 0; s < g.n; s += 256) {
      const m = Math.min(256, g.n - s);
      const mask = tf.tensor2d(conditionMask(g, g.x.subarray(s * xc, (s + m) * xc), m, xc, settings.hx), [m, g.n]);
      acc += tf.sum(landH(tf.slice(sup.supY, [s, 0], [m, dim]), mask, 1, sup, g.sigma)).dataSync()[0];
    }
    return acc / (g.n * dim);
  });
}

export async function fitMfm(train: Dataset, options: MfmOptions = {}): Promise<TrajectoryModel> {
  const setup = await prepareFlow(train, 'mfm', options);
  const settings: MetricSettings = {
    hx: positiveNumberOption(options.conditionBandwidth, 1, 'condition bandwidth'),
    epsRel: positiveNumberOption(options.epsilon, 0.1, 'metric ε'),
  };
  const groups = buildGroups(setup, options, settings);
  const interpolant = trainInterpolant(setup, groups, settings, options);
  const v = trainVelocity(setup, options, options.onProgress);
  const { categorical, cond } = setup.info;
  const ids = knownClasses(setup.info);
  return finishFlow(setup, v.net, {
    seed: options.seed ?? 0,
    ...v.summary,
    interpolantSteps: interpolant.steps,
    finalEnergy: interpolant.energy,
    metric: {
      kind: 'land',
      epsilonRelative: settings.epsRel,
      conditionBandwidth: !categorical && cond > 0 ? settings.hx : null,
      // Groups hold class indices; the summary names the class ids.
      groups: groups.map((g) => ({ class: g.klass === null ? null : ids[g.klass], points: g.n, bandwidth: g.sigma, meanH: g.hBar, epsilon: g.eps })),
    },
    meanBend: meanBend(setup),
    stepsPerUnit: setup.config.stepsPerUnit,
    equalSpacing: setup.config.equalSpacing,
  });
}

/** Buffers of one interpolant batch: B pairs (y0, y1 | x), each at Q quadrature times s. */
interface InterpolantBatch {
  B: number;
  Q: number;
  input: Float32Array; // B × 2D: (y0, y1)
  x: Float32Array; // B × C: the condition as the network sees it
  xKernel: Float32Array; // B × C for continuous x (the metric's condition kernel), else empty
  lin: Float32Array; // B·Q × D: the chord at s
  dlin: Float32Array; // B·Q × D: its derivative
  basis: Float32Array; // B·Q × BEND_TERMS
  dbasis: Float32Array;
}

function interpolantBatch(B: number, Q: number, dim: number, cond: number, xc: number): InterpolantBatch {
  return {
    B,
    Q,
    input: new Float32Array(B * 2 * dim),
    x: new Float32Array(B * cond),
    xKernel: new Float32Array(B * xc),
    lin: new Float32Array(B * Q * dim),
    dlin: new Float32Array(B * Q * dim),
    basis: new Float32Array(B * Q * BEND_TERMS),
    dbasis: new Float32Array(B * Q * BEND_TERMS),
  };
}

/** Fill the batch with pairs of one group and stratified quadrature times. */
function drawInterpolantBatch(setup: FlowSetup, g: MetricGroup, rng: Rng, batch: InterpolantBatch): void {
  const { dim, cond, categorical } = setup.info;
  const xc = categorical ? 0 : cond;
  const { B, Q } = batch;
  for (let b = 0; b < B; b++) {
    const { k, i } = g.sampler.draw(rng);
    const seg = setup.segments[k];
    for (let d = 0; d < dim; d++) {
      batch.input[b * 2 * dim + d] = seg.y0[i * dim + d];
      batch.input[b * 2 * dim + dim + d] = seg.y1[i * dim + d];
    }
    for (let c = 0; c < cond; c++) batch.x[b * cond + c] = seg.x[i * cond + c];
    for (let c = 0; c < xc; c++) batch.xKernel[b * xc + c] = seg.x[i * cond + c];
    for (let q = 0; q < Q; q++) {
      const s = (q + rng.next()) / Q; // stratified quadrature of ∫_0^1 ds
      const p = b * Q + q;
      bendBasis(s, batch.basis, batch.dbasis, p * BEND_TERMS);
      for (let d = 0; d < dim; d++) {
        const a = seg.y0[i * dim + d];
        const e = seg.y1[i * dim + d];
        batch.lin[p * dim + d] = (1 - s) * a + s * e;
        batch.dlin[p * dim + d] = e - a;
      }
    }
  }
}

/** Path energy of the batch's curves under the group's LAND metric (call inside a tidy). */
function interpolantEnergy(phi: Mlp, batch: InterpolantBatch, g: MetricGroup, sup: SupportTensors, info: { dim: number; cond: number }, settings: MetricSettings): Scalar {
  const { dim, cond } = info;
  const { B, Q } = batch;
  const condT = cond > 0 ? tf.tensor2d(batch.x, [B, cond]) : null;
  const coef = tf.reshape(phi.forward(tf.tensor2d(batch.input, [B, 2 * dim]), condT), [B, BEND_TERMS, dim]);
  const bend = tf.matMul(tf.tensor3d(batch.basis, [B, Q, BEND_TERMS]), coef);
  const dbend = tf.matMul(tf.tensor3d(batch.dbasis, [B, Q, BEND_TERMS]), coef);
  const q = tf.reshape(tf.add(tf.tensor3d(batch.lin, [B, Q, dim]), bend), [B * Q, dim]) as Tensor2D;
  const dq = tf.reshape(tf.add(tf.tensor3d(batch.dlin, [B, Q, dim]), dbend), [B * Q, dim]);
  const xc = batch.xKernel.length / B;
  const mask = tf.tensor2d(conditionMask(g, batch.xKernel, B, xc, settings.hx), [B, g.n]);
  const h = landH(q, mask, Q, sup, g.sigma);
  // Energy in units of the on-data metric, so the learning rate does not depend on the data's scale.
  return tf.mul(tf.mean(tf.sum(tf.div(tf.square(dq), tf.add(h, g.eps)), 1)), g.hBar + g.eps) as Scalar;
}

/**
 * Train the interpolant network to minimise the path energy (one group per step, chosen by its
 * share of the pair mass), then bend every training pair with it (sets each segment's coef).
 */
function trainInterpolant(setup: FlowSetup, groups: MetricGroup[], settings: MetricSettings, options: MfmOptions): { steps: number; energy: number } {
  const { dim, cond, categorical } = setup.info;
  const steps = positiveIntOption(options.interpolantSteps, 300, 'interpolant steps');
  const B = positiveIntOption(options.interpolantBatch, 64, 'interpolant batch size');
  const Q = positiveIntOption(options.quadrature, 6, 'quadrature points');
  const phi = new Mlp(
    { inDim: 2 * dim, hidden: [64, 64], outDim: BEND_TERMS * dim, activation: 'leaky_relu', condition: conditionSpec(setup.info), outputInitScale: 0 },
    new Rng(setup.rng.int(0x7fffffff)),
  );
  const groupMass = groups.map((g) => g.sampler.mass);
  const massTotal = groupMass.reduce((a, b) => a + b, 0);
  const sups = groups.map((g) => supportTensors(g, dim));
  const rng = setup.rng.fork('interpolant-batches');
  const batch = interpolantBatch(B, Q, dim, cond, categorical ? 0 : cond);
  try {
    const result = trainLoop({
      phase: 'interpolant',
      steps,
      lr: 1e-3,
      vars: phi.params.list(),
      started: setup.started,
      onProgress: options.onProgress,
      loss: () => {
        let u = rng.next() * massTotal;
        let gi = 0;
        while (gi < groups.length - 1 && u >= groupMass[gi]) u -= groupMass[gi++];
        drawInterpolantBatch(setup, groups[gi], rng, batch);
        return interpolantEnergy(phi, batch, groups[gi], sups[gi], setup.info, settings);
      },
    });
    for (const seg of setup.segments) seg.coef = interpolantCoefficients(phi, seg.y0, seg.y1, seg.x, dim, cond);
    return { steps, energy: result.loss };
  } finally {
    phi.params.dispose();
    for (const sup of sups) for (const t of Object.values(sup)) t.dispose();
  }
}

function interpolantCoefficients(phi: Mlp, y0: Float32Array, y1: Float32Array, x: Float32Array, dim: number, cond: number): Float32Array {
  const P = y0.length / dim;
  const out = new Float32Array(P * BEND_TERMS * dim);
  for (let s = 0; s < P; s += INFERENCE_CHUNK) {
    const m = Math.min(INFERENCE_CHUNK, P - s);
    const input = new Float32Array(m * 2 * dim);
    for (let i = 0; i < m; i++) {
      input.set(y0.subarray((s + i) * dim, (s + i + 1) * dim), i * 2 * dim);
      input.set(y1.subarray((s + i) * dim, (s + i + 1) * dim), i * 2 * dim + dim);
    }
    const c = tf.tidy(() => phi.forward(tf.tensor2d(input, [m, 2 * dim]), cond > 0 ? tf.tensor2d(x.subarray(s * cond, (s + m) * cond), [m, cond]) : null));
    out.set(c.dataSync() as Float32Array, s * BEND_TERMS * dim);
    c.dispose();
  }
  return out;
}

/** Mean distance of the curves' midpoints from the chords' (standardised units): how much MFM bends. */
function meanBend(setup: FlowSetup): number {
  const dim = setup.info.dim;
  const basis = new Float32Array(BEND_TERMS);
  const dbasis = new Float32Array(BEND_TERMS);
  bendBasis(0.5, basis, dbasis, 0);
  let acc = 0;
  let n = 0;
  for (const seg of setup.segments) {
    const P = seg.y0.length / dim;
    for (let i = 0; i < P; i++, n++) {
      let sq = 0;
      for (let d = 0; d < dim; d++) {
        let off = 0;
        for (let j = 0; j < BEND_TERMS; j++) off += basis[j] * seg.coef![(i * BEND_TERMS + j) * dim + d];
        sq += off * off;
      }
      acc += Math.sqrt(sq);
    }
  }
  return acc / Math.max(1, n);
}
