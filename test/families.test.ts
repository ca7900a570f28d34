// Generated network families: the small versions (seconds) only. Reproducible bytes, the standard
// dataset and sidecar, the quantile family's real-family property, and hti bench / hti family on them.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset, type Dataset } from '../src/data/index.js';
import { initEngine, Rng, tf, type Tensor2D } from '../src/engine/index.js';
import {
  affineProgress,
  ensureFamily,
  familyFiles,
  familyReport,
  generateLevels,
  generateSeries,
  pinballLoss,
  quantileFamily,
  quantile3Family,
  quantileGenerator,
  readCachedFamily,
  skewedInnovation,
  smoothedCrossEntropy,
  smoothingFamily,
  classifierProblem,
  policyProblem,
  reward,
  trainPolicy,
  focalLoss,
  focalFamily,
  trainClassifier,
  DEFAULT_SERIES_SHAPE,
  FAMILY_NAMES,
} from '../src/families/index.js';
import { QUICK_CLOT, runTask } from '../src/bench/run.js';
import { runQuantileExample } from '../src/bench/quantile-example.js';
import { mergeOptions } from '../src/surrogate/index.js';
import { buildTaskTable, formatTaskTable } from '../src/bench/table.js';
import { TASK_NAMES } from '../src/bench/tasks.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-families-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const cacheA = path.join(tmp, 'a');

function quantileOf(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

describe('the generated series', () => {
  it('is seeded: the same seed gives the same values, another seed others', () => {
    expect(generateSeries(new Rng(4), 300)).toEqual(generateSeries(new Rng(4), 300));
    expect(generateSeries(new Rng(5), 300)).not.toEqual(generateSeries(new Rng(4), 300));
  });

  it('has right-skewed, heavy-tailed innovations: median 0, the upper tail far longer than the lower', () => {
    const rng = new Rng(0);
    const v = Array.from({ length: 40000 }, () => skewedInnovation(rng, DEFAULT_SERIES_SHAPE));
    const q01 = quantileOf(v, 0.01);
    const q50 = quantileOf(v, 0.5);
    const q99 = quantileOf(v, 0.99);
    expect(Math.abs(q50)).toBeLessThan(0.05);
    // A Gaussian has (q99 − q50)/(q50 − q01) = 1; here the right tail is several times longer.
    expect((q99 - q50) / (q50 - q01)).toBeGreaterThan(3);
  });
});

describe('training losses', () => {
  it('pinball loss: τ·e above the forecast, (τ − 1)·e below, mean over entries', async () => {
    await initEngine({ quiet: true });
    const loss = tf.tidy(() => pinballLoss(tf.tensor2d([[1, 2]]) as Tensor2D, tf.tensor2d([[3, 1]]) as Tensor2D, 0.9).dataSync()[0]);
    // e = (2, −1): 0.9·2 and 0.1·1, mean 0.95.
    expect(loss).toBeCloseTo(0.95, 6);
  });

  it('label-smoothed cross-entropy matches the hand computation', async () => {
    await initEngine({ quiet: true });
    const logits = [0.5, -1, 2];
    const eps = 0.3;
    const lse = Math.log(logits.reduce((s, z) => s + Math.exp(z), 0));
    const target = [eps / 3, 1 - eps + eps / 3, eps / 3];
    const expected = -target.reduce((s, t, k) => s + t * (logits[k] - lse), 0);
    const got = tf.tidy(() => smoothedCrossEntropy(tf.tensor2d([logits]) as Tensor2D, tf.tensor2d([[0, 1, 0]]) as Tensor2D, eps).dataSync()[0]);
    expect(got).toBeCloseTo(expected, 5);
  });
});

describe('focal loss', () => {
  it('is −(1 − p_y)^γ log p_y, and cross-entropy at γ = 0', async () => {
    await initEngine({ quiet: true });
    const logits = [1, 0.2, -0.5];
    const lse = Math.log(logits.reduce((s, z) => s + Math.exp(z), 0));
    const py = Math.exp(logits[0] - lse);
    for (const gamma of [0, 0.5, 2]) {
      const got = tf.tidy(() => focalLoss(tf.tensor2d([logits]) as Tensor2D, tf.tensor2d([[1, 0, 0]]) as Tensor2D, gamma).dataSync()[0]);
      expect(got).toBeCloseTo(-((1 - py) ** gamma) * Math.log(py), 5);
    }
  });
});

describe('affine progress', () => {
  it('recovers ρ of a family that is an exact affine mix, with linear interpolation’s error in closed form', () => {
    const n = 20;
    const lo = Float32Array.from({ length: n * 3 }, (_, k) => (k % 3 === 2 ? k : Math.sin(k)));
    const hi = lo.map((v, k) => (k % 3 === 2 ? v : v + 1 + Math.cos(k)));
    const rhoOf = (l: number) => l * l; // slow start, late jump
    const levels = [0, 0.25, 0.5, 1];
    const data = levels.map((l) => lo.map((v, k) => (k % 3 === 2 ? v : v + rhoOf(l) * (hi[k] - v))));
    const ds: Dataset = { levels, data, dim: 2, cond: 1, categorical: false, classes: 0 };
    let d2 = 0;
    for (let k = 0; k < lo.length; k++) if (k % 3 !== 2) d2 += (hi[k] - lo[k]) ** 2;
    d2 /= n * 2;
    const p = affineProgress(ds, 0, 1);
    expect(p.map((x) => x.lambda)).toEqual([0.25, 0.5]);
    for (const x of p) {
      expect(x.rho).toBeCloseTo(rhoOf(x.lambda), 5);
      expect(x.mseBest).toBeLessThan(1e-10);
      expect(x.mseLinear).toBeCloseTo((rhoOf(x.lambda) - x.lambda) ** 2 * d2, 5);
    }
  });
});

describe('generated families (small)', () => {
  it('quantile: the same seed gives the same .npy bytes; standard dataset and sidecar with test levels, references, seconds, noise floor', async () => {
    const a = await ensureFamily(quantileFamily, { seed: 0, size: 'small', dir: cacheA });
    // Each network depends only on the seed and its λ: training two levels again reproduces their
    // bytes in the cached file exactly (the whole family again would take minutes on a busy machine).
    const again = await generateLevels({ ...quantileGenerator, levels: [0.05, 0.95] }, 0, 'small', [0.5]);
    const bytes = (rows: Float32Array) => Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength);
    const cached = loadDataset(a.files.npy);
    expect(bytes(again.outputs[0].rows).equals(bytes(cached.data[1]))).toBe(true);
    expect(bytes(again.outputs[1].rows).equals(bytes(cached.data[7]))).toBe(true);
    expect(bytes(again.floor[0].rows).equals(bytes(a.floor![2]))).toBe(true);
    // The standard loader reads it, test levels included.
    const ds = loadDataset(a.files.npy);
    expect([ds.levels.length, ds.data[0].length / 15, ds.dim, ds.cond]).toEqual([9, 48, 3, 12]);
    expect(ds.anchors).toEqual([0.01, 0.99]);
    expect(ds.validation).toEqual([0.25, 0.75]);
    expect(ds.test).toEqual([0.05, 0.1, 0.5, 0.9, 0.95]);
    // One row per query window, the same windows at every level (rows correspond).
    for (const rows of ds.data) for (let r = 0; r < 48; r++) expect(rows.subarray(r * 15 + 3, r * 15 + 15)).toEqual(ds.data[0].subarray(r * 15 + 3, r * 15 + 15));
    const side = a.sidecar;
    expect(side.family.trainSeconds).toHaveLength(9);
    for (const s of side.family.trainSeconds) expect(s).toBeGreaterThan(0);
    expect(side.references.levels).toEqual([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]);
    expect(Object.keys(side.references.scores).sort()).toEqual(['copy-first-anchor', 'displacement-interpolation', 'linear-interpolation', 'nearest-anchor']);
    expect(side.floor!.levels).toEqual(ds.test);
    // Quantile forecasts are ordered in τ on average (crossing is possible row by row, not on the whole).
    const meanOf = (rows: Float32Array) => rows.filter((_, k) => k % 15 < 3).reduce((s, v) => s + v, 0);
    for (let t = 1; t < 9; t++) expect(meanOf(ds.data[t])).toBeGreaterThan(meanOf(ds.data[t - 1]));

    // The three-anchor variant came from the same networks.
    const three = readCachedFamily(quantile3Family, 0, 'small', cacheA)!;
    expect(fs.readFileSync(three.files.npy).equals(fs.readFileSync(a.files.npy))).toBe(true);
    expect(three.sidecar.anchors).toEqual([0.01, 0.5, 0.99]);
    expect(three.floor).toHaveLength(4);

    // A second call finds the cache.
    const t0 = performance.now();
    await ensureFamily(quantileFamily, { seed: 0, size: 'small', dir: cacheA });
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('quantile: moves slowly at first and jumps late, so linear interpolation of τ = 0.01 and 0.99 is measurably worse than the best affine mix', async () => {
    const { dataset: ds } = await ensureFamily(quantileFamily, { seed: 0, size: 'small', dir: cacheA });
    const p = affineProgress(ds, 0.01, 0.99);
    const mid = p.find((x) => x.lambda === 0.5)!;
    expect(mid.rho).toBeLessThan(0.4);
    for (const x of p.filter((q) => q.lambda >= 0.5)) expect(x.rho).toBeLessThan(x.linear - 0.15);
    const best = p.reduce((s, x) => s + x.mseBest, 0);
    const linear = p.reduce((s, x) => s + x.mseLinear, 0);
    expect(linear).toBeGreaterThan(2.5 * best);
    const report = familyReport(readCachedFamily(quantileFamily, 0, 'small', cacheA)!);
    expect(report.progress!.mseLinear / report.progress!.mseBest).toBeGreaterThan(2.5);
  });

  it('classifiers: probabilities on fixed inputs, one network per level, reproducible per network', async () => {
    await initEngine({ quiet: true });
    const problem = classifierProblem(1, 'small');
    const a = trainClassifier(problem, focalLoss, 2, 7);
    await new Promise((resolve) => setImmediate(resolve));
    const b = trainClassifier(problem, focalLoss, 2, 7);
    await new Promise((resolve) => setImmediate(resolve));
    expect(Buffer.from(a.rows.buffer).equals(Buffer.from(b.rows.buffer))).toBe(true);
    expect(trainClassifier(problem, focalLoss, 2, 8).rows).not.toEqual(a.rows);
    const n = a.rows.length / 5;
    expect(n).toBe(64);
    for (let r = 0; r < n; r++) {
      const p = a.rows.subarray(r * 5, r * 5 + 3);
      expect(p[0] + p[1] + p[2]).toBeCloseTo(1, 5);
      expect(Array.from(a.rows.subarray(r * 5 + 3, r * 5 + 5))).toEqual(Array.from(problem.query.subarray(r * 2, r * 2 + 2)));
    }
  });

  it('policy: 10 actions per fixed state, reproducible per network; a larger entropy weight spreads them wider', async () => {
    await initEngine({ quiet: true });
    const problem = policyProblem(2, 'small');
    // Yield between networks: a long synchronous stretch starves the test runner's messages.
    const breathe = () => new Promise((resolve) => setImmediate(resolve));
    const narrow = trainPolicy(problem, 0.02, 5);
    await breathe();
    expect(Buffer.from(trainPolicy(problem, 0.02, 5).rows.buffer).equals(Buffer.from(narrow.rows.buffer))).toBe(true);
    await breathe();
    const wide = trainPolicy(problem, 1.5, 5);
    const spread = (rows: Float32Array) => {
      let sq = 0;
      for (let g = 0; g < 20; g++) {
        for (let j = 0; j < 2; j++) {
          let m = 0;
          for (let k = 0; k < 10; k++) m += rows[(g * 10 + k) * 5 + j] / 10;
          for (let k = 0; k < 10; k++) sq += (rows[(g * 10 + k) * 5 + j] - m) ** 2;
        }
      }
      return sq / 400;
    };
    expect(narrow.rows.length).toBe(20 * 10 * 5);
    for (let g = 0; g < 20; g++) for (let k = 0; k < 10; k++) expect(Array.from(narrow.rows.subarray((g * 10 + k) * 5 + 2, (g * 10 + k) * 5 + 5))).toEqual(Array.from(problem.query.subarray(g * 3, g * 3 + 3)));
    expect(spread(wide.rows)).toBeGreaterThan(4 * spread(narrow.rows));
    // The narrow policy sits near an optimum: its mean reward beats the wide one's.
    const meanReward = (rows: Float32Array) => Array.from({ length: 200 }, (_, i) => reward(rows.subarray(i * 5 + 2, i * 5 + 5), rows.subarray(i * 5, i * 5 + 2))).reduce((a, b) => a + b, 0) / 200;
    expect(meanReward(narrow.rows)).toBeGreaterThan(meanReward(wide.rows));
  });

  it('hti bench scores a family on its test levels beside the references, the noise floor and the seconds per network', async () => {
    const r = await runTask('quantile3', ['direct'], { seeds: [0], fit: { steps: 3 }, task: { dataDir: path.join(root, 'data'), familySize: 'small', cacheDir: cacheA } });
    expect(r.levels).toEqual([0.05, 0.1, 0.9, 0.95]);
    expect(r.references.map((x) => x.name)).toEqual(['copy-first-anchor', 'nearest-anchor', 'linear-interpolation', 'displacement-interpolation', 'retrained-other-seed']);
    const table = buildTaskTable(r);
    expect(table.clotSettings).toEqual({});
    const text = formatTaskTable(table);
    expect(text).toContain('CLOT settings: defaults, automatic selection');
    expect(text).toMatch(/retrained, another seed \(ref\*\)/);
    expect(text).toMatch(/network training s \(what the surrogate saves\): λ=0\.05 \d+\.\d · λ=0\.1 \d+\.\d · λ=0\.9 \d+\.\d · λ=0\.95 \d+\.\d; 9 networks \d+ s/);
    // The floor sits below every trivial reference.
    const mean = (name: string) => table.rows.find((x) => x.name === name)!.mean.mse.mean;
    expect(mean('retrained-other-seed')).toBeLessThan(mean('linear-interpolation'));
    expect(mean('retrained-other-seed')).toBeLessThan(mean('copy-first-anchor'));
  });

  it('every family is a bench task', () => {
    for (const name of FAMILY_NAMES) expect(TASK_NAMES).toContain(name);
    expect(smoothingFamily.generator.levels).toContain(0);
    expect(focalFamily.anchors).toEqual([0, 5]);
    expect(familyFiles('smoothing', 'full', 3, '/x').npy).toBe('/x/smoothing-full-seed3.npy');
    expect(() => familyFiles('smoothing', 'full', -1)).toThrow(/non-negative integer/);
  });
});

describe('the quantile example', () => {
  it('trains the anchors, fits, answers at five τ, retrains there and compares; writes the picture', async () => {
    const out = path.join(tmp, 'example.png');
    const tiny = mergeOptions(QUICK_CLOT, { maps: { steps: 10, batch: 32, hidden: [16, 16] }, couplings: { cap: 16 }, potential: { cap: 16 }, spline: { width: 16, batch: 32 }, metric: { width: 8 } });
    const r = await runQuantileExample({ size: 'small', out, fit: tiny });
    expect(r.levels.map((l) => l.tau)).toEqual([0.05, 0.25, 0.75, 0.9, 0.95]);
    for (const l of r.levels) {
      expect(l.retrainSeconds).toBeGreaterThan(0);
      expect(l.surrogate).toBeGreaterThanOrEqual(0);
      // The retrained networks' forecasts cover the actual series at roughly their τ.
      expect(Math.abs(l.coverageRetrained - l.tau)).toBeLessThan(0.2);
    }
    expect(r.text).toMatch(/τ\s+hti MSE\s+copy τ=0\.01\s+linear interp\.\s+coverage retrained\s+coverage hti\s+retrain s\s+CPU s\s+hti query ms/);
    expect(r.text).toMatch(/Training time: retraining at these 5 τ took \d+\.\d s/);
    expect(r.text).toMatch(/Query latency: \d+\.\d ms for 48 windows/);
    expect(fs.readFileSync(out).subarray(1, 4).toString()).toBe('PNG');
    await expect(runQuantileExample({ size: 'small', levels: [0.5], out })).rejects.toThrow(/τ = 0\.5 is an anchor/);
  });
});

describe('hti family (built CLI)', () => {
  const hti = (...args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin/hti.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 110_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('describes a cached family: roles, seconds, references, floor, progress', () => {
    const r = hti('family', 'quantile', '--size', 'small', '--cache-dir', cacheA);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('quantile-small-seed0.npy');
    expect(r.stdout).toMatch(/0\.5\s+test\s+\d+\.\d\s+\d+\.\d\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+0\.500\s+0\.\d{3}/);
    expect(r.stdout).toMatch(/best affine mix .* linear interpolation .*×\)/);
    const json = JSON.parse(hti('family', 'quantile', '--size', 'small', '--cache-dir', cacheA, '--json', '--quiet').stdout);
    expect(json.levels).toHaveLength(9);
    expect(json.progress.mseLinear).toBeGreaterThan(json.progress.mseBest);
  });

  it('rejects an unknown family or size with one clear line', () => {
    const r = hti('family', 'gan');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hti: unknown family 'gan'; families: quantile, quantile3, smoothing, focal/);
    expect(hti('family', 'quantile', '--size', 'huge').stderr).toContain("unknown size 'huge'; valid sizes: small, full");
  });
});
