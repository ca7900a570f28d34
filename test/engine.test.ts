import { beforeAll, describe, expect, it } from 'vitest';
import {
  Adam,
  adamW,
  decodeSafetensors,
  encodeSafetensors,
  initEngine,
  lastAxisColumns,
  logSumExpLastAxis,
  Mlp,
  ParamStore,
  Rng,
  sumLastAxis,
  tf,
  type Activation,
  type MlpConfig,
  type NamedArray,
  type Tensor,
  type Tensor2D,
} from '../src/engine/index.js';

beforeAll(async () => {
  await initEngine({ quiet: true });
});

// ---------------------------------------------------------------------------------------------
// An independent float64 re-implementation of Mlp's forward pass, from its documented equations:
// h1 = act((1 + s(x)) ⊙ (W0 y + b0) + t(x)), [s, t] = Wf1 act(Wf0 f(x) + bf0) + bf1,
// f(x) = embed[x] (categorical) or x (continuous); later layers plain; no activation at the end.

type Weights = Record<string, { shape: number[]; data: Float64Array }>;

function act64(v: number, kind: Activation): number {
  switch (kind) {
    case 'relu':
      return Math.max(0, v);
    case 'leaky_relu':
      return v >= 0 ? v : 0.2 * v;
    case 'softplus':
      return v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v));
    case 'tanh':
      return Math.tanh(v);
  }
}

/** out = a @ W + b for one row a, W of shape [in, out] row-major. */
function affine(a: ArrayLike<number>, w: { shape: number[]; data: Float64Array }, b: Float64Array): Float64Array {
  const [nIn, nOut] = w.shape;
  const out = Float64Array.from(b);
  for (let i = 0; i < nIn; i++) for (let j = 0; j < nOut; j++) out[j] += a[i] * w.data[i * nOut + j];
  return out;
}

function forward64(cfg: MlpConfig, p: Weights, y: number[], x: number[]): Float64Array {
  const nLayers = cfg.hidden.length + 1;
  let scale: Float64Array | null = null;
  let shift: Float64Array | null = null;
  if (cfg.condition.kind !== 'none') {
    let f: ArrayLike<number> = x;
    if (cfg.condition.kind === 'categorical') {
      const e = p.embed.shape[1];
      f = p.embed.data.subarray(x[0] * e, (x[0] + 1) * e);
    }
    const hf = affine(f, p.film_w0, p.film_b0.data).map((v) => act64(v, cfg.activation));
    const st = affine(hf, p.film_w1, p.film_b1.data);
    const h0 = cfg.hidden[0];
    scale = st.subarray(0, h0);
    shift = st.subarray(h0, 2 * h0);
  }
  let h: Float64Array = Float64Array.from(y);
  for (let i = 0; i < nLayers; i++) {
    h = affine(h, p[`w${i}`], p[`b${i}`].data);
    if (i === 0 && scale && shift) h = h.map((v, j) => v * (1 + scale![j]) + shift![j]);
    if (i < nLayers - 1) h = h.map((v) => act64(v, cfg.activation));
  }
  return h;
}

/** L = Σ_b Σ_k out[b, k] R[b, k] in float64. */
function loss64(cfg: MlpConfig, p: Weights, ys: number[][], xs: number[][], r: number[][]): number {
  let total = 0;
  ys.forEach((y, b) => forward64(cfg, p, y, xs[b]).forEach((v, k) => (total += v * r[b][k])));
  return total;
}

function toWeights(record: Record<string, NamedArray>): Weights {
  const out: Weights = {};
  for (const [k, v] of Object.entries(record)) out[k] = { shape: v.shape, data: Float64Array.from(v.data) };
  return out;
}

const randRows = (rng: Rng, n: number, d: number, s = 1) => Array.from({ length: n }, () => Array.from(rng.normals(d, s)));

/** A net with every parameter random (the zero-initialised FiLM output layer would hide gradients). */
function randomNet(cfg: MlpConfig, seed: number): { net: Mlp; weights: Weights } {
  const rng = new Rng(seed);
  const net = new Mlp(cfg, rng);
  const rec = net.params.toRecord();
  for (const v of Object.values(rec)) v.data = rng.normals(v.data.length, 0.6);
  net.params.loadRecord(rec);
  return { net, weights: toWeights(net.params.toRecord()) };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = atol + rtol * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`${label}[${i}]: got ${actual[i]}, expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}

const EPS = 1e-6;

function checkGradients(cfg: MlpConfig, seed: number): void {
  const { net, weights } = randomNet(cfg, seed);
  const rng = new Rng(seed + 1);
  const batch = 4;
  const ys = randRows(rng, batch, cfg.inDim);
  const xs =
    cfg.condition.kind === 'categorical'
      ? Array.from({ length: batch }, (_, b) => [b % (cfg.condition as { classes: number }).classes])
      : cfg.condition.kind === 'continuous'
        ? randRows(rng, batch, cfg.condition.dim)
        : ys.map(() => []);
  const r = randRows(rng, batch, cfg.outDim);
  const yT = tf.tensor2d(ys);
  const xT = cfg.condition.kind === 'none' ? null : tf.tensor2d(xs);
  const rT = tf.tensor2d(r);
  const lossOf = (y: Tensor, x: Tensor | null) => tf.sum(tf.mul(net.forward(y, x as Tensor2D | null), rT));

  // Forward value.
  const value = tf.tidy(() => lossOf(yT, xT).dataSync()[0]);
  expect(Math.abs(value - loss64(cfg, weights, ys, xs, r))).toBeLessThan(1e-4 * (1 + Math.abs(value)));

  // Gradient with respect to every parameter.
  const names = net.params.names();
  const { value: v, grads } = tf.variableGrads(() => lossOf(yT, xT) as tf.Scalar, net.params.list());
  v.dispose();
  for (const name of names) {
    const g = grads[net.params.get(name).name].dataSync();
    const p = weights[name].data;
    const fd = new Float64Array(p.length);
    for (let i = 0; i < p.length; i++) {
      const keep = p[i];
      p[i] = keep + EPS;
      const up = loss64(cfg, weights, ys, xs, r);
      p[i] = keep - EPS;
      const down = loss64(cfg, weights, ys, xs, r);
      p[i] = keep;
      fd[i] = (up - down) / (2 * EPS);
    }
    expect(fd.some((d) => Math.abs(d) > 1e-3), `${name} has a non-trivial gradient`).toBe(true);
    expectClose(g, fd, 2e-5, 3e-4, `d loss / d ${name}`);
  }
  for (const g of Object.values(grads)) g.dispose();

  // Gradient with respect to the inputs y (and the continuous condition x).
  // Central differences over the input rows (edited in place, then restored).
  const fdInput = (rows: number[][]): number[] =>
    rows.flatMap((row) =>
      row.map((keep, j) => {
        row[j] = keep + EPS;
        const up = loss64(cfg, weights, ys, xs, r);
        row[j] = keep - EPS;
        const down = loss64(cfg, weights, ys, xs, r);
        row[j] = keep;
        return (up - down) / (2 * EPS);
      }),
    );
  const gy = tf.grad((y: Tensor) => lossOf(y, xT))(yT);
  expectClose(gy.dataSync(), fdInput(ys), 2e-5, 3e-4, 'd loss / d y');
  gy.dispose();
  if (cfg.condition.kind === 'continuous') {
    const gx = tf.grad((x: Tensor) => lossOf(yT, x))(xT!);
    expectClose(gx.dataSync(), fdInput(xs), 2e-5, 3e-4, 'd loss / d x');
    gx.dispose();
  }
  tf.dispose([yT, rT, ...(xT ? [xT] : [])]);
  net.params.dispose();
}

describe('Mlp with FiLM: gradients vs float64 central differences', () => {
  it('continuous condition, softplus', () => {
    checkGradients({ inDim: 3, hidden: [5, 4], outDim: 2, activation: 'softplus', condition: { kind: 'continuous', dim: 2 }, filmHidden: 3 }, 11);
  });

  it('continuous condition, leaky ReLU', () => {
    checkGradients({ inDim: 2, hidden: [6], outDim: 3, activation: 'leaky_relu', condition: { kind: 'continuous', dim: 3 }, filmHidden: 4 }, 12);
  });

  it('categorical condition (embedding into FiLM), tanh', () => {
    checkGradients({ inDim: 2, hidden: [5, 5], outDim: 2, activation: 'tanh', condition: { kind: 'categorical', classes: 3, embedDim: 2 }, filmHidden: 4 }, 13);
  });

  it('no condition, softplus', () => {
    checkGradients({ inDim: 2, hidden: [4], outDim: 2, activation: 'softplus', condition: { kind: 'none' } }, 14);
  });

  it('rank-3 inputs broadcast one FiLM per batch row over the samples', () => {
    const cfg: MlpConfig = { inDim: 2, hidden: [4], outDim: 2, activation: 'tanh', condition: { kind: 'continuous', dim: 1 }, filmHidden: 3 };
    const { net, weights } = randomNet(cfg, 21);
    const rng = new Rng(22);
    const [B, S] = [3, 5];
    const ys = randRows(rng, B * S, 2);
    const xs = randRows(rng, B, 1);
    const out = tf.tidy(() => {
      const cond = tf.tensor2d(xs);
      return net.apply(tf.tensor3d(ys.flat(), [B, S, 2]), net.film(cond)).dataSync();
    });
    const expected = ys.flatMap((y, k) => Array.from(forward64(cfg, weights, y, xs[Math.floor(k / S)])));
    expectClose(out, expected, 1e-5, 1e-4, 'rank-3 forward');
    net.params.dispose();
  });

  it('starts as the identity FiLM modulation (zero-initialised FiLM output layer)', () => {
    const net = new Mlp({ inDim: 2, hidden: [4], outDim: 1, activation: 'relu', condition: { kind: 'continuous', dim: 2 } }, new Rng(1));
    const [a, b] = tf.tidy(() => {
      const y = tf.tensor2d([[0.3, -0.7]]);
      return [net.forward(y, tf.tensor2d([[1, 2]])).dataSync()[0], net.forward(y, tf.tensor2d([[-5, 9]])).dataSync()[0]];
    });
    expect(a).toBe(b);
    net.params.dispose();
  });
});

// ---------------------------------------------------------------------------------------------

/** Run optimiser steps on one variable x ∈ R² with given gradients; returns x after each step. */
function runSteps(opt: Adam, x0: number[], grads: number[][]): { xs: number[][]; norms: number[] } {
  const v = tf.variable(tf.tensor1d(x0));
  const xs: number[][] = [];
  const norms: number[] = [];
  for (const g of grads) {
    const gT = tf.tensor1d(g);
    norms.push(opt.apply([v], [gT]));
    gT.dispose();
    xs.push(Array.from(v.dataSync()));
  }
  opt.dispose();
  v.dispose();
  return { xs, norms };
}

describe('matMul gradient (explicit transposes, then untransposed products)', () => {
  // L = Σ W ⊙ (op(A)·op(B)) for a fixed weight W: dL/dop(A) = W·op(B)ᵀ and dL/dop(B) = op(A)ᵀ·W,
  // transposed back when the operand entered transposed. Checked in float64 against every flag pair
  // and a batch of matrices.
  const at = (m: Float64Array, cols: number, i: number, j: number) => m[i * cols + j];
  const product = (x: Float64Array, y: Float64Array, n: number, k: number, m: number) => {
    const out = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let l = 0; l < k; l++) out[i * m + j] += at(x, k, i, l) * at(y, m, l, j);
    return out;
  };
  const transpose = (x: Float64Array, rows: number, cols: number) => {
    const out = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
    return out;
  };
  for (const [ta, tb] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    it(`transposeA ${ta}, transposeB ${tb}, batch of 2`, () => {
      const rng = new Rng(7);
      const [batch, n, k, m] = [2, 3, 4, 5];
      const aShape = ta ? [k, n] : [n, k];
      const bShape = tb ? [m, k] : [k, m];
      const a = rng.normals(batch * n * k);
      const b = rng.normals(batch * k * m);
      const w = rng.normals(batch * n * m);
      const [ga, gb] = tf.tidy(() => {
        const wt = tf.tensor3d(w, [batch, n, m]);
        const grads = tf.grads((x: Tensor, y: Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), wt)));
        return grads([tf.tensor3d(a, [batch, ...aShape] as [number, number, number]), tf.tensor3d(b, [batch, ...bShape] as [number, number, number])]);
      });
      const gaV = ga.dataSync();
      const gbV = gb.dataSync();
      for (let s = 0; s < batch; s++) {
        const aS = Float64Array.from(a.subarray(s * n * k, (s + 1) * n * k));
        const bS = Float64Array.from(b.subarray(s * k * m, (s + 1) * k * m));
        const wS = Float64Array.from(w.subarray(s * n * m, (s + 1) * n * m));
        const opA = ta ? transpose(aS, k, n) : aS; // [n, k]
        const opB = tb ? transpose(bS, m, k) : bS; // [k, m]
        const dOpA = product(wS, transpose(opB, k, m), n, m, k); // [n, k]
        const dOpB = product(transpose(opA, n, k), wS, k, n, m); // [k, m]
        const dA = ta ? transpose(dOpA, n, k) : dOpA;
        const dB = tb ? transpose(dOpB, k, m) : dOpB;
        dA.forEach((v, i) => expect(gaV[s * n * k + i]).toBeCloseTo(v, 4));
        dB.forEach((v, i) => expect(gbV[s * k * m + i]).toBeCloseTo(v, 4));
      }
      tf.dispose([ga, gb]);
    });
  }
});

describe('Adam / AdamW against hand-computed steps', () => {
  // Reference values from the update rule, in float64:
  // m = β1 m + (1-β1) g, v = β2 v + (1-β2) g², x -= lr (m/(1-β1^t)) / (sqrt(v/(1-β2^t)) + ε) [+ lr wd x for AdamW].
  // Step 1: m̂ = g and v̂ = g², so x moves by lr·g/(|g| + ε) ≈ lr·sign(g).
  // Step 2 (g = [-1, 0.5]): m = [-0.055, 0.0275], v = [0.00124975, 0.0003124375], m̂ = m/0.19, v̂ = v/0.001999.
  const x0 = [1, -2];
  const grads = [
    [0.5, -0.25],
    [-1, 0.5],
  ];

  it('Adam: two steps', () => {
    const { xs } = runSteps(new Adam({ lr: 0.1 }), x0, grads);
    expectClose(xs[0], [0.900000002, -1.900000004], 1e-6, 0, 'step 1');
    expectClose(xs[1], [0.9366103542405654, -1.9366103557775463], 1e-6, 0, 'step 2');
  });

  it('Adam with global-norm clipping: the first gradient [3, 4] (norm 5) is scaled to norm 1', () => {
    const { xs, norms } = runSteps(new Adam({ lr: 0.1, clipNorm: 1 }), x0, [
      [3, 4],
      [0.3, -0.4],
    ]);
    expect(norms[0]).toBeCloseTo(5, 5);
    expect(norms[1]).toBeCloseTo(0.5, 5);
    expectClose(xs[0], [0.9000000016666666, -2.09999999875], 1e-6, 0, 'step 1');
    // Without clipping step 2 would land at [0.82592, -2.15926]: clipping changes m and v.
    expectClose(xs[1], [0.8067820397510286, -2.126633702294861], 1e-6, 0, 'step 2');
  });

  it('AdamW: decoupled weight decay 0.1', () => {
    const { xs } = runSteps(adamW({ lr: 0.1, weightDecay: 0.1 }), x0, grads);
    expectClose(xs[0], [0.890000002, -1.880000004], 1e-6, 0, 'step 1');
    expectClose(xs[1], [0.9177103542205653, -1.8978103557375463], 1e-6, 0, 'step 2');
  });

  it('Adam with L2 weight decay 0.1 added to the gradient', () => {
    const { xs } = runSteps(new Adam({ lr: 0.1, weightDecay: 0.1 }), x0, grads);
    expectClose(xs[0], [0.9000000016666666, -1.900000002222222], 1e-6, 0, 'step 1');
    expectClose(xs[1], [0.9252635194456061, -1.8870586755174683], 1e-6, 0, 'step 2');
  });

  it('skips the update when the loss is not finite', () => {
    const v = tf.variable(tf.tensor1d([1, 2]));
    const opt = new Adam({ lr: 0.1 });
    const r = opt.minimize(() => tf.sum(tf.mul(v, NaN)) as tf.Scalar, [v]);
    expect(r.finite).toBe(false);
    expect(Array.from(v.dataSync())).toEqual([1, 2]);
    opt.dispose();
    v.dispose();
  });

  it('skips the update, and does not count the step, when the loss is finite but a gradient is not', () => {
    const v = tf.variable(tf.tensor1d([1, 4]));
    const opt = new Adam({ lr: 0.1 });
    // d/dv sqrt(v − 4) at v = 4 is infinite while the loss itself is finite.
    const r = opt.minimize(() => tf.sum(tf.sqrt(tf.sub(v, tf.tensor1d([1, 4])))) as tf.Scalar, [v]);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.finite).toBe(false);
    expect(opt.steps).toBe(0);
    expect(Array.from(v.dataSync())).toEqual([1, 4]);
    opt.dispose();
    v.dispose();
  });
});

describe('last-axis helpers (columns, sums, log-sum-exp)', () => {
  it('lastAxisColumns returns every column, and its gradient is the upstream gradient put back in place', () => {
    for (const width of [1, 2, 3, 7, 13]) {
      const rng = new Rng(width);
      const x = tf.tensor3d(rng.normals(2 * 3 * width), [2, 3, width]);
      const xs = x.arraySync() as number[][][];
      const cols = tf.tidy(() => lastAxisColumns(x).map((c) => c.arraySync() as number[][]));
      expect(cols.length).toBe(width);
      cols.forEach((c, j) => c.forEach((row, a) => row.forEach((v, b) => expect(v).toBe(xs[a][b][j]))));
      // f(x) = Σ_j (j + 1) · Σ column_j² → ∂f/∂x[..., j] = 2 (j + 1) x[..., j].
      const g = tf.tidy(() => tf.grad((t: Tensor) => tf.addN(lastAxisColumns(t).map((c, j) => tf.mul(j + 1, tf.sum(tf.square(c))))))(x));
      const gv = g.dataSync();
      const xv = x.dataSync();
      for (let i = 0; i < gv.length; i++) expect(gv[i]).toBeCloseTo(2 * ((i % width) + 1) * xv[i], 4);
      tf.dispose([x, g]);
    }
  });

  it('sumLastAxis keeps the axis and sums it, with the gradient of a sum', () => {
    const x = tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 2, 3]);
    const s = sumLastAxis(x);
    expect(s.shape).toEqual([1, 2, 1]);
    expect(Array.from(s.dataSync())).toEqual([6, 15]);
    const g = tf.grad((t: Tensor) => tf.sum(tf.mul(sumLastAxis(t), tf.tensor3d([1, 10], [1, 2, 1]))))(x);
    expect(Array.from(g.dataSync())).toEqual([1, 1, 1, 10, 10, 10]);
    tf.dispose([x, s, g]);
  });

  it('logSumExpLastAxis equals a float64 log-sum-exp, also far below exp underflow, and its gradient is softmax · dy', () => {
    const rng = new Rng(3);
    for (const shift of [0, -500, -1e4, 300]) {
      // As float32 holds them (the reference then sees the tensor's exact inputs).
      const vals = Array.from(rng.normals(4 * 6, 3), (v) => Math.fround(v + shift));
      const x = tf.tensor2d(vals, [4, 6]);
      const lse = logSumExpLastAxis(x);
      const weights = tf.tensor1d([1, -2, 0.5, 3]);
      const g = tf.grad((t: Tensor) => tf.sum(tf.mul(logSumExpLastAxis(t), weights)))(x);
      const out = lse.dataSync();
      const gv = g.dataSync();
      for (let r = 0; r < 4; r++) {
        const row = vals.slice(r * 6, (r + 1) * 6);
        const top = Math.max(...row);
        const total = row.reduce((a, v) => a + Math.exp(v - top), 0);
        expect(out[r]).toBeCloseTo(top + Math.log(total), 3);
        expect(Number.isFinite(out[r])).toBe(true);
        const w = [1, -2, 0.5, 3][r];
        for (let j = 0; j < 6; j++) expect(gv[r * 6 + j]).toBeCloseTo((w * Math.exp(row[j] - top)) / total, 5);
      }
      tf.dispose([x, lse, weights, g]);
    }
  });
});

describe('tensor memory hygiene', () => {
  it('tf.memory().numTensors is stable over 100 Adam steps of an Mlp', () => {
    const rng = new Rng(5);
    const net = new Mlp({ inDim: 2, hidden: [16, 16], outDim: 2, activation: 'leaky_relu', condition: { kind: 'continuous', dim: 3 } }, rng);
    const y = tf.tensor2d(rng.normals(64 * 2), [64, 2]);
    const x = tf.tensor2d(rng.normals(64 * 3), [64, 3]);
    const target = tf.tensor2d(rng.normals(64 * 2), [64, 2]);
    const opt = new Adam({ lr: 1e-2, clipNorm: 1 });
    const step = () => opt.minimize(() => tf.mean(tf.square(tf.sub(net.forward(y, x), target))) as tf.Scalar, net.params.list());
    const first = step();
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 100; i++) last = step();
    expect(tf.memory().numTensors).toBe(before);
    expect(last.loss).toBeLessThan(first.loss);
    opt.dispose();
    net.params.dispose();
    tf.dispose([y, x, target]);
  });
});

describe('safetensors and parameter (de)serialisation', () => {
  const tensors = {
    'net.w0': { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    'net.b0': { shape: [3], data: Float32Array.from([-0.5, 0, 0.5]) },
    scalar: { shape: [], data: Float32Array.from([Math.PI]) },
  };

  it('round-trips tensors and metadata', () => {
    const buf = encodeSafetensors(tensors, { format: 'hti', version: '1' });
    expect(Number(buf.readBigUInt64LE(0)) % 8).toBe(0);
    const back = decodeSafetensors(buf);
    expect(back.metadata).toEqual({ format: 'hti', version: '1' });
    expect(back.tensors).toEqual(tensors);
  });

  it('refuses truncated and corrupt files with clear messages', () => {
    const buf = encodeSafetensors(tensors);
    expect(() => decodeSafetensors(buf.subarray(0, 5), 'w.safetensors')).toThrow('w.safetensors: file is truncated (5 bytes)');
    expect(() => decodeSafetensors(buf.subarray(0, buf.length - 4), 'w')).toThrow(/w: tensor '.*' lies outside the file \(truncated or corrupt\)/);
    expect(() => decodeSafetensors(buf.subarray(0, 20), 'w')).toThrow(/w: corrupt header length \d+ for a 20-byte file/);
    const badJson = Buffer.from(buf);
    badJson[8] = 0x7b + 1; // '{' → '|'
    expect(() => decodeSafetensors(badJson, 'w')).toThrow('w: header is not valid JSON (corrupt file)');
    const header = JSON.stringify({ a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } });
    const f64 = Buffer.concat([Buffer.alloc(8), Buffer.from(header), Buffer.alloc(8)]);
    f64.writeBigUInt64LE(BigInt(header.length), 0);
    expect(() => decodeSafetensors(f64, 'w')).toThrow("w: tensor 'a' has an unsupported or malformed entry");
    expect(() => encodeSafetensors({ a: { shape: [2], data: new Float32Array(3) } })).toThrow("tensor 'a' has 3 values but shape [2]");
  });

  it('saves and restores an Mlp’s parameters, checking names and shapes', () => {
    const cfg: MlpConfig = { inDim: 2, hidden: [4], outDim: 2, activation: 'relu', condition: { kind: 'categorical', classes: 2 } };
    const { net } = randomNet(cfg, 31);
    const copy = new Mlp(cfg, new Rng(99));
    copy.params.loadRecord(decodeSafetensors(encodeSafetensors(net.params.toRecord('m.')), 'm').tensors, 'm.');
    expect(copy.params.toRecord()).toEqual(net.params.toRecord());
    const small = new ParamStore();
    small.addZeros('w0', [3, 4]);
    expect(() => small.loadRecord(net.params.toRecord())).toThrow("parameter 'w0' has shape [2,4] in the file, expected [3,4]");
    small.addZeros('zz', [1]);
    expect(() => small.loadRecord({ w0: { shape: [3, 4], data: new Float32Array(12) } })).toThrow("weights file lacks parameter 'zz'");
    [net, copy].forEach((n) => n.params.dispose());
    small.dispose();
  });
});
