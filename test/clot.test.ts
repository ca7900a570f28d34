import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initEngine, Rng, tf } from '../src/engine/index.js';
import type { Dataset } from '../src/data/dataset.js';
import { semicircleDataset } from '../src/bench/semicircles.js';
import { fitClot, loadClot, readModelDir, type ClotOptions, type ClotSurrogate, type FitProgress } from '../src/surrogate/index.js';
import { ResidualMap } from '../src/ot/map.js';
import { destandardize, standardize } from '../src/data/standardize.js';
import { pathAt, splineBasisAt } from '../src/lagrangian/index.js';
import { fitModel, loadModel } from '../src/methods/registry.js';
import { timeSampling } from '../src/bench/sample-bench.js';

/** Fit settings small enough for a fit of a few seconds on a busy 2-core machine. */
const TINY: ClotOptions = {
  spline: { pretrainSteps: 5, refitSteps: 2, batch: 32, width: 32, nodes: 6, points: 8 },
  maps: { steps: 10, hidden: [16, 16], batch: 32 },
  metric: { stepsPerRound: 2 },
  couplings: { cap: 20 },
  potential: { cap: 32 },
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-clot-'));
const semis = semicircleDataset(1, { perClass: 30 });
let model: ClotSurrogate;

/** Continuous 2-column condition: each row's output is its condition turned by πt/2, plus noise. */
function continuousDataset(ts: number[], n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const base = Array.from({ length: n }, () => [rng.normal(), rng.normal()]);
  const data = ts.map((t) => {
    const out = new Float32Array(n * 4);
    const [c, s] = [Math.cos((Math.PI / 2) * t), Math.sin((Math.PI / 2) * t)];
    base.forEach(([a, b], i) => {
      out.set([c * a - s * b + 0.05 * rng.normal(), s * a + c * b + 0.05 * rng.normal(), a, b], i * 4);
    });
    return out;
  });
  return { levels: ts, data, dim: 2, cond: 2, categorical: false, classes: 0 };
}

/** Unconditional cloud in `dim` dimensions whose mean moves along the first axis with λ. */
function movingCloud(ts: number[], n: number, dim: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const data = ts.map((t) => Float32Array.from({ length: n * dim }, (_, i) => (i % dim === 0 ? 2 * t : 0) + 0.5 * rng.normal()));
  return { levels: ts, data, dim, cond: 0, categorical: false, classes: 0 };
}

/** Rows of `width` columns: every class at least once (categorical) from the stored first anchor. */
function someRows(m: ClotSurrogate, n: number): Float32Array {
  return m.anchorRows(null, n, 7);
}

/** T_{k−1} ∘ … ∘ T_0 applied to the rows, computed through the pair networks directly. */
function chainedMaps(m: ClotSurrogate, rows: Float32Array, k: number): Float32Array {
  const { dim, cond } = m.info;
  const width = dim + cond;
  const n = rows.length / width;
  const y = new Float32Array(n * dim);
  const x = new Float32Array(n * cond);
  for (let i = 0; i < n; i++) {
    y.set(rows.subarray(i * width, i * width + dim), i * dim);
    x.set(rows.subarray(i * width + dim, (i + 1) * width), i * cond);
  }
  const nets = m.nets;
  const z = standardize(y, dim, 0, m.scaling.y);
  const xNet = m.scaling.x ? standardize(x, cond, 0, m.scaling.x) : x;
  const out = tf.tidy(() => {
    const condT = nets.netCondition(xNet, n);
    let current = tf.tensor2d(z, [n, dim]);
    for (let j = 0; j < k; j++) current = nets.maps[j].push(current, nets.film(nets.maps[j].net, condT));
    return Float32Array.from(current.dataSync());
  });
  return destandardize(out, m.scaling.y);
}

function outputs(rows: Float32Array, dim: number, cond: number): Float32Array {
  const width = dim + cond;
  return Float32Array.from({ length: (rows.length / width) * dim }, (_, i) => rows[Math.floor(i / dim) * width + (i % dim)]);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

beforeAll(async () => {
  await initEngine({ quiet: true });
  model = await fitClot(semis, { ...TINY, seed: 1 });
  await model.save(path.join(tmp, 'full'));
}, 120_000);

afterAll(() => {
  model?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('CLOT sampling', () => {
  it('returns the input rows at λ_0 and the chained maps T_{k−1}∘…∘T_0 at each anchor λ_k', () => {
    const rows = someRows(model, 64);
    const { dim, cond, anchors } = model.info;
    expect(model.sample(rows, anchors[0])).toEqual(rows);
    for (let k = 1; k < anchors.length; k++) {
      const out = model.sample(rows, anchors[k]);
      const expected = chainedMaps(model, rows, k);
      expect(maxAbsDiff(outputs(out, dim, cond), expected)).toBeLessThan(1e-5);
      // The maps moved the points: the check is not trivially the identity.
      expect(maxAbsDiff(expected, outputs(rows, dim, cond))).toBeGreaterThan(1e-3);
    }
  });

  it('passes the condition columns through and is continuous across an anchor', () => {
    const rows = someRows(model, 40);
    const { dim, cond } = model.info;
    for (const lambda of [0.1, 0.5, 0.77, 1]) {
      const out = model.sample(rows, lambda);
      expect(allFinite(out)).toBe(true);
      for (let i = 0; i < 40; i++) expect(out[i * (dim + cond) + dim]).toBe(rows[i * (dim + cond) + dim]);
    }
    // The spline of interval 0 ends where T_0 lands, and the one of interval 1 starts there.
    const below = model.sample(rows, 0.5 - 1e-7);
    const above = model.sample(rows, 0.5 + 1e-7);
    const at = model.sample(rows, 0.5);
    expect(maxAbsDiff(below, at)).toBeLessThan(1e-3);
    expect(maxAbsDiff(above, at)).toBeLessThan(1e-3);
    // Between anchors it is neither endpoint.
    const mid = model.sample(rows, 0.25);
    expect(maxAbsDiff(mid, rows)).toBeGreaterThan(1e-4);
    expect(maxAbsDiff(mid, at)).toBeGreaterThan(1e-4);
  });

  it('between anchors follows the interval\'s spline path q(s) = y0 + s (y1 − y0) + B(s)·φ', () => {
    // A copy whose spline output layer is randomised, so that the bends are large and the check
    // of the folded inference path against pathAt(·, φ from nets.bend) is not trivial.
    const copy = loadModel(path.join(tmp, 'full')) as ClotSurrogate;
    try {
      const rng = new Rng(11);
      const { w, b } = copy.nets.spline.outputLayer();
      w.assign(tf.tensor(rng.normals(w.size, 0.3), w.shape));
      b.assign(tf.tensor(rng.normals(b.size, 0.3), b.shape));
      const rows = someRows(copy, 25);
      const { dim, cond } = copy.info;
      const n = 25;
      const x = Float32Array.from({ length: n * cond }, (_, i) => rows[Math.floor(i / cond) * (dim + cond) + dim + (i % cond)]);
      const xNet = copy.scaling.x ? standardize(x, cond, 0, copy.scaling.x) : x;
      const y0 = standardize(chainedMaps(copy, rows, 1), dim, 0, copy.scaling.y);
      const y1 = standardize(chainedMaps(copy, rows, 2), dim, 0, copy.scaling.y);
      const nodes = copy.nets.options.spline.nodes;
      const pathFor = (s: number[]) =>
        tf.tidy(() => {
          const a = tf.tensor2d(y0, [n, dim]);
          const c = tf.tensor2d(y1, [n, dim]);
          const nets = copy.nets;
          const phi = nets.bend(a, c, nets.film(nets.spline, nets.netCondition(xNet, n)));
          const basis = tf.tensor2d(Float32Array.from(splineBasisAt(nodes, s)), [s.length, nodes]);
          return destandardize(pathAt(basis, s, a, c, phi).dataSync(), copy.scaling.y); // [N, S, D]
        });
      // λ = 0.8 is s = 0.6 of interval 1 (anchors 0, 0.5, 1, real spacing).
      const expected = pathFor([0.6]);
      const got = outputs(copy.sample(rows, 0.8), dim, cond);
      expect(maxAbsDiff(got, expected)).toBeLessThan(1e-4);
      const straight = destandardize(Float32Array.from(y0, (v, i) => v + 0.6 * (y1[i] - v)), copy.scaling.y);
      expect(maxAbsDiff(got, straight)).toBeGreaterThan(0.05);
      // Several s of one interval at once (one folded matmul) agree too.
      const traj = copy.trajectory(rows, [0.6, 0.8, 0.95]);
      const many = pathFor([0.2, 0.6, 0.9]);
      [0, 1, 2].forEach((j) => {
        const block = outputs(traj.subarray(j * n * (dim + cond), (j + 1) * n * (dim + cond)), dim, cond);
        const want = Float32Array.from({ length: n * dim }, (_, i) => many[(Math.floor(i / dim) * 3 + j) * dim + (i % dim)]);
        expect(maxAbsDiff(block, want)).toBeLessThan(1e-4);
      });
    } finally {
      copy.dispose();
    }
  });

  it('trajectory has shape [L, N, D + C] and equals sampling at each λ', () => {
    const rows = someRows(model, 30);
    const lambdas = [0.9, 0, 0.25, 0.5, 0.5, 0.6, 1];
    const width = model.info.dim + model.info.cond;
    const traj = model.trajectory(rows, lambdas);
    expect(traj.length).toBe(lambdas.length * 30 * width);
    lambdas.forEach((l, i) => {
      const block = traj.subarray(i * 30 * width, (i + 1) * 30 * width);
      expect(maxAbsDiff(block, model.sample(rows, l))).toBeLessThan(1e-5);
    });
  });

  it('samples many rows (several inference chunks) the same as a few', () => {
    const rows = someRows(model, 20000);
    const all = model.sample(rows, 0.3);
    const head = model.sample(rows.subarray(0, 30), 0.3);
    const tail = model.sample(rows.subarray(rows.length - 30), 0.3);
    expect(maxAbsDiff(all.subarray(0, 30), head)).toBeLessThan(1e-5);
    expect(maxAbsDiff(all.subarray(all.length - 30), tail)).toBeLessThan(1e-5);
  });

  it('times sampling for the throughput benchmark (npm run bench:sample)', () => {
    const results = timeSampling(model, 2000, 1);
    expect(results.map((r) => r.lambdas)).toEqual([[0.75], [0.25], [1], [0.1, 0.3, 0.5, 0.7, 0.9]]);
    for (const r of results) {
      expect(r.bestSeconds).toBeGreaterThan(0);
      expect(r.rowsPerSecond).toBe(Math.round((2000 * r.lambdas.length) / r.bestSeconds));
      expect(r.rowsPerCpuSecond).toBeGreaterThan(0);
    }
  });

  it('refuses λ outside the anchors, bad row widths, non-finite values and unknown classes', () => {
    const rows = someRows(model, 4);
    expect(() => model.sample(rows, 1.01)).toThrow(/λ = 1.01 is outside the model's range \[0, 1\]/);
    expect(() => model.sample(rows, -0.5)).toThrow(/outside the model's range/);
    expect(() => model.sample(rows, NaN)).toThrow(/finite/);
    expect(() => model.trajectory(rows, [0, 2])).toThrow(/outside/);
    expect(() => model.sample(rows.subarray(0, 5), 0.5)).toThrow(/3 columns/);
    expect(() => model.sample(new Float32Array(0), 0.5)).toThrow(/3 columns/);
    const nan = rows.slice();
    nan[4] = NaN;
    expect(() => model.sample(nan, 0.5)).toThrow(/row 1, column 1 is not finite/);
    for (const bad of [-1, 4, 1.5]) {
      const r = rows.slice();
      r[2] = bad;
      expect(() => model.sample(r, 0.5)).toThrow(/class .* is not one of the model's classes \(0, 1, 2, 3\)/);
    }
    expect(() => model.anchorRows(9, 3, 0)).toThrow(/class 9/);
  });

  it('draws stored first-anchor rows of one class, reproducibly', () => {
    const a = model.anchorRows(2, 25, 5);
    expect(a.length).toBe(75);
    for (let i = 0; i < 25; i++) expect(a[i * 3 + 2]).toBe(2);
    expect(model.anchorRows(2, 25, 5)).toEqual(a);
    expect(model.anchorRows(2, 25, 6)).not.toEqual(a);
  });
});

describe('CLOT persistence', () => {
  it('round-trips through save and load with identical samples', () => {
    const dir = path.join(tmp, 'full');
    const back = loadModel(dir);
    const direct = (() => {
      const { stored, tensors } = readModelDir(dir);
      return loadClot(stored, tensors);
    })();
    try {
      expect(back.info).toEqual(model.info);
      const rows = someRows(model, 50);
      for (const l of [0, 0.3, 0.5, 0.8, 1]) {
        expect(back.sample(rows, l)).toEqual(model.sample(rows, l));
        expect(direct.sample(rows, l)).toEqual(model.sample(rows, l));
      }
      expect(back.trajectory(rows, [0.2, 0.7])).toEqual(model.trajectory(rows, [0.2, 0.7]));
      expect(back.anchorRows(1, 10, 3)).toEqual(model.anchorRows(1, 10, 3));
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      expect(config.format).toBe('hti-model');
      expect(config.version).toBe(2);
      expect(config.info.dim).toBe(2);
      expect(config.info.anchors).toEqual([0, 0.5, 1]);
      expect(config.options.maps.hidden).toEqual([16, 16]);
    } finally {
      back.dispose();
      direct.dispose();
    }
  });

  function damaged(name: string, damage: (dir: string) => void): string {
    const dir = path.join(tmp, name);
    fs.cpSync(path.join(tmp, 'full'), dir, { recursive: true });
    damage(dir);
    return dir;
  }

  it('refuses truncated, corrupt, non-finite or mismatched weights and a wrong format version', () => {
    const weights = (dir: string) => path.join(dir, 'weights.safetensors');
    const truncated = damaged('truncated', (d) => {
      const buf = fs.readFileSync(weights(d));
      fs.writeFileSync(weights(d), buf.subarray(0, Math.floor(buf.length / 2)));
    });
    expect(() => loadModel(truncated)).toThrow(/truncated or corrupt/);
    const tiny = damaged('tiny', (d) => fs.writeFileSync(weights(d), Buffer.from([1, 2, 3])));
    expect(() => loadModel(tiny)).toThrow(/truncated/);
    const header = damaged('header', (d) => {
      const buf = fs.readFileSync(weights(d));
      buf.fill(0x7b, 8, 40); // '{' over the start of the JSON header
      fs.writeFileSync(weights(d), buf);
    });
    expect(() => loadModel(header)).toThrow(/not valid JSON \(corrupt file\)/);
    const nonFinite = damaged('nonfinite', (d) => {
      const buf = fs.readFileSync(weights(d));
      buf.writeFloatLE(NaN, buf.length - 4);
      fs.writeFileSync(weights(d), buf);
    });
    expect(() => loadModel(nonFinite)).toThrow(/non-finite/);
    const version = damaged('version', (d) => {
      const c = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
      c.version = 99;
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(c));
    });
    expect(() => loadModel(version)).toThrow(/format version 99 is not supported/);
    const shapes = damaged('shapes', (d) => {
      const c = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
      c.options.maps.hidden = [24, 24];
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(c));
    });
    expect(() => loadModel(shapes)).toThrow(/has shape \[.*\] in the file, expected/);
    const noWeights = damaged('noweights', (d) => fs.rmSync(weights(d)));
    expect(() => loadModel(noWeights)).toThrow(/has no weights.safetensors/);
    const badJson = damaged('badjson', (d) => fs.writeFileSync(path.join(d, 'config.json'), '{"format": "hti-mo'));
    expect(() => loadModel(badJson)).toThrow(/config.json is not valid JSON/);
    expect(() => loadModel(path.join(tmp, 'absent'))).toThrow(/does not exist/);
  });

  it('never saves non-finite weights', async () => {
    const m = await fitClot(semis, { ...TINY, seed: 4 });
    try {
      const v = m.nets.maps[0].net.params.list()[0];
      v.assign(tf.fill(v.shape, NaN));
      await expect(m.save(path.join(tmp, 'nan'))).rejects.toThrow(/refusing to save: parameter 'pair0.map.w0' holds a non-finite value/);
      expect(fs.existsSync(path.join(tmp, 'nan'))).toBe(false);
      expect(fs.readdirSync(tmp).filter((n) => n.includes('.tmp-'))).toEqual([]);
    } finally {
      m.dispose();
    }
  });
});

/** The dataset with output column j multiplied by scale[j] and shifted by shift[j]. */
function rescaled(ds: Dataset, scale: number[], shift: number[]): Dataset {
  const width = ds.dim + ds.cond;
  return { ...ds, data: ds.data.map((rows) => Float32Array.from(rows, (v, i) => (i % width < ds.dim ? v * scale[i % width] + shift[i % width] : v))) };
}

describe('CLOT is scale-free', () => {
  it('fits bit-identically when the outputs are rescaled by powers of two', async () => {
    const scale = [1024, 1 / 64];
    const a = await fitClot(semis, { ...TINY, seed: 3 });
    const b = await fitClot(rescaled(semis, scale, [0, 0]), { ...TINY, seed: 3 });
    try {
      const weights = (m: ClotSurrogate) => Object.entries(m.nets.allParams()).map(([k, v]) => [k, Array.from(v.data)]);
      expect(weights(b)).toEqual(weights(a));
      const rows = someRows(a, 40);
      const scaledRows = Float32Array.from(rows, (v, i) => (i % 3 < 2 ? v * scale[i % 3] : v));
      const outA = a.sample(rows, 0.3);
      const outB = b.sample(scaledRows, 0.3);
      expect(Float32Array.from(outA, (v, i) => (i % 3 < 2 ? v * scale[i % 3] : v))).toEqual(outB);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('gives the same answers, up to round-off, in units around 1e30 and 1e-30 and with shifted columns', async () => {
    const ref = await fitClot(semis, { ...TINY, seed: 3 });
    try {
      const rows = someRows(ref, 60);
      const want = outputs(ref.sample(rows, 0.7), 2, 1);
      for (const [scale, shift] of [
        [[1e30, 3e29], [0, 0]],
        [[1e-30, 2e-30], [0, 0]],
        [[37.3, 0.21], [1e4, -5]],
      ]) {
        const m = await fitClot(rescaled(semis, scale, shift), { ...TINY, seed: 3 });
        try {
          const r = Float32Array.from(rows, (v, i) => (i % 3 < 2 ? v * scale[i % 3] + shift[i % 3] : v));
          const got = outputs(m.sample(r, 0.7), 2, 1);
          const back = Float32Array.from(got, (v, i) => (v - shift[i % 2]) / scale[i % 2]);
          expect(maxAbsDiff(back, want)).toBeLessThan(1e-3);
        } finally {
          m.dispose();
        }
      }
    } finally {
      ref.dispose();
    }
  });
});

describe('CLOT metric field', () => {
  it('is the trained metric: vᵀ G_data v equals the trained form of the standardised step', () => {
    const m = model;
    const { dim } = m.info;
    const rng = new Rng(21);
    const points = Float32Array.from({ length: 6 * dim }, () => rng.normal());
    const steps = Float32Array.from({ length: 6 * dim }, () => rng.normal());
    const cls = new Float32Array([2]);
    const g = m.metricMatrices(points, cls);
    const z = standardize(points, dim, 0, m.scaling.y);
    const zStep = Float32Array.from(steps, (v, i) => v / m.scaling.y.std[i % dim]);
    const trained = tf.tidy(() => {
      const film = m.nets.metric.film(m.nets.netCondition(cls, 1));
      // The form the Lagrangian integrates, at the standardised points, for the standardised step.
      return Array.from(m.nets.metric.quadraticForm(tf.tensor3d(z, [1, 6, dim]), tf.tensor3d(zStep, [1, 6, dim]), film).dataSync());
    });
    for (let p = 0; p < 6; p++) {
      let q = 0;
      for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) q += steps[p * dim + i] * g[p * dim * dim + i * dim + j] * steps[p * dim + j];
      expect(q).toBeCloseTo(trained[p], 4);
    }
    // The drawn field (eigenvalues, principal direction) is that of G_data.
    const field = m.metric(points, cls);
    for (let p = 0; p < 6; p++) {
      const v = field.principal.subarray(p * dim, (p + 1) * dim);
      let gv0 = 0;
      let gv1 = 0;
      for (let j = 0; j < dim; j++) {
        gv0 += g[p * 4 + j] * v[j];
        gv1 += g[p * 4 + 2 + j] * v[j];
      }
      // G v = λ_max v for the principal direction.
      expect(gv0).toBeCloseTo(field.eigenvalues[p * dim] * v[0], 4);
      expect(gv1).toBeCloseTo(field.eigenvalues[p * dim] * v[1], 4);
      expect(field.eigenvalues[p * dim]).toBeGreaterThanOrEqual(field.eigenvalues[p * dim + 1]);
    }
  });
});

describe('CLOT fitting', () => {
  it('is deterministic: the same seed gives byte-identical weights, another seed differs', async () => {
    const again = await fitClot(semis, { ...TINY, seed: 1 });
    const other = await fitClot(semis, { ...TINY, seed: 2 });
    try {
      await again.save(path.join(tmp, 'again'));
      await other.save(path.join(tmp, 'other'));
    } finally {
      again.dispose();
      other.dispose();
    }
    const bytes = (name: string) => fs.readFileSync(path.join(tmp, name, 'weights.safetensors'));
    expect(bytes('again').equals(bytes('full'))).toBe(true);
    expect(bytes('other').equals(bytes('full'))).toBe(false);
  });

  for (const preset of ['k-theta', 'euclidean', 'euclidean-potential', 'nlot', 'nlot-potential']) {
    it(`fits and samples with preset ${preset}`, async () => {
      const m = await fitModel(preset, semis, { ...TINY, seed: 3 });
      try {
        expect(m.info.method).toBe(preset);
        const out = m.sample(m.anchorRows(null, 20, 0), 0.4);
        expect(out.length).toBe(60);
        expect(allFinite(out)).toBe(true);
        expect(m.info.training?.label).toBeTypeOf('string');
      } finally {
        m.dispose();
      }
    });
  }

  it('refuses the fixed-eigen metric (NLOT) on D = 3 with a clear error', async () => {
    const ds = movingCloud([0, 1], 50, 3, 2);
    await expect(fitModel('nlot', ds, { ...TINY })).rejects.toThrow(/fixed-eigen' exists for D = 2 only \(this data has D = 3\)/);
    await expect(fitClot(ds, { ...TINY, metric: { kind: 'fixed-eigen' } })).rejects.toThrow(/D = 2 only/);
    await expect(fitClot(ds, { ...TINY, preset: 'bogus' as never })).rejects.toThrow(/unknown preset "bogus"/);
    await expect(fitClot(ds, { ...TINY, stepz: 3 } as ClotOptions)).rejects.toThrow(/unknown CLOT option "stepz"/);
    await expect(fitClot(ds, { ...TINY, maps: { stepz: 3 } } as ClotOptions)).rejects.toThrow(/unknown CLOT option "maps.stepz"/);
    await expect(fitClot(ds, { ...TINY, equalSpacing: true } as ClotOptions)).rejects.toThrow(/equal spacing applies to the time-based baselines/);
  });

  it('fits a continuous-condition dataset and samples with the condition passed through', async () => {
    const ds = continuousDataset([0, 0.5, 1], 120, 5);
    const m = await fitClot(ds, { ...TINY, seed: 5 });
    try {
      expect([m.info.dim, m.info.cond, m.info.categorical]).toEqual([2, 2, false]);
      const rows = m.anchorRows(null, 50, 1);
      const out = m.sample(rows, 0.75);
      expect(allFinite(out)).toBe(true);
      for (let i = 0; i < 50; i++) expect([out[i * 4 + 2], out[i * 4 + 3]]).toEqual([rows[i * 4 + 2], rows[i * 4 + 3]]);
      const end = m.sample(rows, 1);
      expect(maxAbsDiff(outputs(end, 2, 2), chainedMaps(m, rows, 2))).toBeLessThan(1e-5);
      expect(() => m.anchorRows(0, 5, 0)).toThrow(/--class applies only to a model with a categorical condition/);
      await m.save(path.join(tmp, 'continuous'));
      const back = loadModel(path.join(tmp, 'continuous'));
      expect(back.sample(rows, 0.75)).toEqual(out);
      back.dispose();
    } finally {
      m.dispose();
    }
  });

  it('fits an unconditional dataset (D = 3) and samples it', async () => {
    const ds = movingCloud([0, 0.3, 1], 100, 3, 6);
    const m = await fitClot(ds, { ...TINY, seed: 6 });
    try {
      expect([m.info.dim, m.info.cond]).toEqual([3, 0]);
      const rows = m.anchorRows(null, 40, 2);
      expect(rows.length).toBe(120);
      const out = m.sample(rows, 0.65);
      expect(allFinite(out)).toBe(true);
      expect(maxAbsDiff(outputs(m.sample(rows, 0.3), 3, 0), chainedMaps(m, rows, 1))).toBeLessThan(1e-5);
    } finally {
      m.dispose();
    }
  });

  it('rolls back to the last good state when a phase leaves non-finite weights, and says so', async () => {
    const messages: string[] = [];
    let wrecked = false;
    let m: ClotSurrogate | null = null;
    const spy = vi.spyOn(ResidualMap.prototype, 'push');
    const onProgress = (p: FitProgress) => {
      if (p.message) messages.push(p.message);
      // Once the map regression has run, wreck a weight of T_0: the phase guard must catch it.
      if (p.phase === 'maps' && p.step === p.total && m === null && !wrecked) {
        wrecked = true;
        const victim = spy.mock.contexts[0] as ResidualMap;
        const v = victim.net.params.list()[0];
        v.assign(tf.fill(v.shape, NaN));
      }
    };
    try {
      m = await fitClot(semis, { ...TINY, seed: 9, onProgress });
    } finally {
      spy.mockRestore();
    }
    try {
      expect(wrecked).toBe(true);
      expect(messages.some((s) => /non-finite parameters after the maps phase: rolled back to the last good state/.test(s))).toBe(true);
      expect(m.nets.stores().every((s) => s.allFinite())).toBe(true);
      await m.save(path.join(tmp, 'recovered'));
      const { tensors } = readModelDir(path.join(tmp, 'recovered'));
      expect(Object.values(tensors).every((t) => allFinite(t.data))).toBe(true);
      expect(allFinite(m.sample(someRows(m, 10), 0.6))).toBe(true);
    } finally {
      m.dispose();
    }
  });
});
