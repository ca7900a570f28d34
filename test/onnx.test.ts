// ONNX export: every method's exported graph agrees with model.sample in ONNX Runtime (node) and in
// onnxruntime-web's wasm build, and passes the ONNX checker's full check (Debian's python3-onnx).
// The small models get random weights after a tiny fit, so every network (FiLM, bends, velocity)
// moves the answer by O(spread) and a wrong piece of graph cannot hide behind an untrained net.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { initEngine, Rng, decodeSafetensors, encodeSafetensors } from '../src/engine/index.js';
import type { Dataset } from '../src/data/dataset.js';
import { readNpy } from '../src/data/index.js';
import { fitModel, loadModel } from '../src/methods/registry.js';
import type { TrajectoryModel } from '../src/surrogate/model.js';
import type { ClotSurrogate } from '../src/surrogate/clot.js';
import type { WarpKnots } from '../src/surrogate/warp.js';
import { exportOnnx, onnxMetadata, ONNX_IR_VERSION, ONNX_OPSET } from '../src/export/index.js';
import { decodeModel } from '../src/export/builder.js';
import { timeOnnxSampling, timeSmallRequests } from '../src/bench/sample-bench.js';

ortWeb.env.wasm.numThreads = 1;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-onnx-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Ort = typeof ortNode;
const RUNTIMES: [string, Ort][] = [
  ['onnxruntime-node', ortNode],
  ['onnxruntime-web (wasm)', ortWeb as unknown as Ort],
];

// --- Python with onnx, for the checker: required under CI, otherwise skipped with one line. ---
const REQUIRED = process.env.CI === 'true';
const CHECKER = path.join(root, 'test/tools/onnx_check.py');
function findPython(): string | null {
  for (const cmd of [process.env.HTI_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!cmd) continue;
    const r = spawnSync(cmd, [CHECKER, '--probe'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return cmd;
  }
  return null;
}
const PYTHON = findPython();
if (!PYTHON && !REQUIRED) {
  process.stderr.write('ONNX checker test skipped: no python3 with the onnx package (apt-get install python3-onnx, or set HTI_PYTHON)\n');
}

// --- Small datasets: categorical, continuous and no condition; 2, 3 and 4 anchors, uneven spacing. ---
function dataset(levels: number[], n: number, dim: number, cond: 'categorical' | number, seed: number): Dataset {
  const rng = new Rng(seed);
  const c = cond === 'categorical' ? 1 : cond;
  const width = dim + c;
  const data = levels.map((l, k) => {
    const out = new Float32Array(n * width);
    for (let i = 0; i < n; i++) {
      const x = Array.from({ length: c }, () => (cond === 'categorical' ? i % 2 : rng.normal()));
      for (let d = 0; d < dim; d++) out[i * width + d] = Math.sin(l + d) * (1 + k) + x.reduce((a, v) => a + v, 0) * 0.5 + 0.3 * rng.normal();
      out.set(x, i * width + dim);
    }
    return out;
  });
  return { levels, data, dim, cond: c, categorical: cond === 'categorical', classes: cond === 'categorical' ? 2 : 0 };
}

// Tiny schedules and nets: the weights are replaced below, only the graph's structure matters.
const TINY_CLOT = {
  potential: { cap: 16 },
  metric: { width: 8, stepsPerRound: 1 },
  spline: { pretrainSteps: 1, refitSteps: 1, width: 24, batch: 16, nodes: 6, points: 6 },
  couplings: { cap: 16, rounds: 1 },
  maps: { steps: 2, hidden: [16, 16], batch: 16 },
};
const TINY_BASELINE = { steps: 3, batch: 32, hidden: [16, 16], interpolantSteps: 2, interpolantBatch: 8, metricPoints: 50 };

interface Case {
  name: string;
  method: string;
  data: Dataset;
  options?: Record<string, unknown>;
  /** CLOT: a calibrated time warp (inner knots, one flat stretch) instead of the linear position. */
  warp?: boolean;
}

const categorical = dataset([0, 0.4, 1], 40, 2, 'categorical', 1);
const continuous = dataset([1, 2, 4, 5], 40, 2, 2, 2);
const plain = dataset([-1, 1], 40, 3, 0, 3);
const CASES: Case[] = [
  { name: 'full, categorical', method: 'full', data: categorical },
  { name: 'full, categorical, time warp', method: 'full', data: categorical, warp: true },
  { name: 'nlot, categorical', method: 'nlot', data: categorical },
  { name: 'k-theta, continuous, time warp', method: 'k-theta', data: continuous, warp: true },
  { name: 'nlot-potential, continuous', method: 'nlot-potential', data: continuous },
  { name: 'euclidean-potential, continuous', method: 'euclidean-potential', data: continuous },
  { name: 'euclidean, no condition', method: 'euclidean', data: plain },
  { name: 'direct, categorical', method: 'direct', data: categorical },
  { name: 'direct, continuous, equal spacing', method: 'direct', data: continuous, options: { equalSpacing: true } },
  { name: 'direct, no condition', method: 'direct', data: plain },
  { name: 'cfm, categorical', method: 'cfm', data: categorical },
  { name: 'cfm, continuous, 7 steps per unit', method: 'cfm', data: continuous, options: { stepsPerUnit: 7 } },
  { name: 'mfm, categorical', method: 'mfm', data: categorical },
  { name: 'mfm, no condition, equal spacing', method: 'mfm', data: plain, options: { equalSpacing: true } },
];

const isClot = (method: string) => !['direct', 'cfm', 'mfm'].includes(method);

/** Warp knots: per interval a fast start (s = 0.6 at 25 %), and a flat stretch after the second anchor. */
function warpKnots(anchors: number[]): WarpKnots {
  const lambdas: number[] = [];
  const progress: number[] = [];
  anchors.forEach((l, k) => {
    lambdas.push(l);
    progress.push(k);
    if (k === anchors.length - 1) return;
    const w = anchors[k + 1] - l;
    if (k === 1) {
      lambdas.push(l + 0.2 * w);
      progress.push(k);
    }
    lambdas.push(l + 0.25 * w + (k === 1 ? 0.1 * w : 0));
    progress.push(k + 0.6);
  });
  return { lambdas, progress };
}

/** Replace every network weight of a saved model with random values of O(1) effect. */
function scrambleWeights(dir: string, seed: number): void {
  const file = path.join(dir, 'weights.safetensors');
  const { tensors, metadata } = decodeSafetensors(fs.readFileSync(file));
  const rng = new Rng(seed);
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith('anchors.') || name === 'anchor_rows') continue;
    const sd = t.shape.length === 2 ? (name.endsWith('embed') ? 1 : 1 / Math.sqrt(t.shape[0])) : 0.1;
    for (let i = 0; i < t.data.length; i++) t.data[i] = sd * rng.normal();
  }
  fs.writeFileSync(file, encodeSafetensors(tensors, metadata));
}

/** Largest per-column range of the model's anchor data: the scale of the 1e-4 tolerance. */
function spread(model: TrajectoryModel): number {
  return Math.max(...model.info.bounds.map(([lo, hi]) => hi - lo));
}

/** First-anchor rows, then the same rows with their outputs moved off the data. */
function testRows(model: TrajectoryModel, n: number, seed: number): Float32Array {
  const { dim, cond } = model.info;
  const width = dim + cond;
  const base = model.anchorRows(null, n, seed);
  const moved = Float32Array.from(base);
  const rng = new Rng(seed + 1);
  const s = spread(model);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) moved[i * width + d] += 0.3 * s * rng.normal();
  const out = new Float32Array(2 * base.length);
  out.set(base);
  out.set(moved, base.length);
  return out;
}

/** λ at every anchor, at the edges and just inside them, at midpoints and at random points inside each interval. */
function testLambdas(anchors: number[], seed: number): number[] {
  const rng = new Rng(seed);
  const K = anchors.length - 1;
  const span = anchors[K] - anchors[0];
  const out = [...anchors, anchors[0] + 1e-4 * span, anchors[K] - 1e-4 * span];
  for (let k = 0; k < K; k++) {
    const w = anchors[k + 1] - anchors[k];
    out.push(anchors[k] + 0.1 * w, anchors[k] + 0.5 * w, anchors[k] + rng.next() * w, anchors[k] + rng.next() * w);
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function run(ort: Ort, session: ortNode.InferenceSession, rows: Float32Array, width: number, lambda: number[] | Float32Array): Promise<Float32Array> {
  const n = rows.length / width;
  const lam = Float32Array.from(lambda);
  const out = await session.run({ rows: new ort.Tensor('float32', rows, [n, width]), lambda: new ort.Tensor('float32', lam, [lam.length]) });
  expect(out.samples.dims).toEqual([n, width]);
  return out.samples.data as Float32Array;
}

/**
 * The export agrees with model.sample in one runtime: one λ for all rows, one λ per row, λ outside
 * the range (clamped to the end anchors), and a NaN λ (NaN outputs, condition passed through).
 */
async function checkAgreement(ort: Ort, bytes: Uint8Array, model: TrajectoryModel, rows: Float32Array, lambdas: number[], expected: Float32Array[]): Promise<number> {
  const { dim, cond, anchors } = model.info;
  const width = dim + cond;
  const n = rows.length / width;
  const session = await ort.InferenceSession.create(bytes);
  try {
    expect(session.inputNames).toEqual(['rows', 'lambda']);
    expect(session.outputNames).toEqual(['samples']);
    let worst = 0;
    for (let i = 0; i < lambdas.length; i++) worst = Math.max(worst, maxAbsDiff(await run(ort, session, rows, width, [lambdas[i]]), expected[i]));
    // One λ per row, drawn from the list.
    const pick = Array.from({ length: n }, (_, r) => (r * 7 + 3) % lambdas.length);
    const perRow = await run(ort, session, rows, width, pick.map((i) => lambdas[i]));
    const want = new Float32Array(rows.length);
    pick.forEach((i, r) => want.set(expected[i].subarray(r * width, (r + 1) * width), r * width));
    worst = Math.max(worst, maxAbsDiff(perRow, want));
    // Outside the range: the end anchors' answers.
    const span = anchors[anchors.length - 1] - anchors[0];
    const lo = expected[0];
    const hi = expected[anchors.length - 1];
    worst = Math.max(worst, maxAbsDiff(await run(ort, session, rows, width, [anchors[0] - span]), lo));
    worst = Math.max(worst, maxAbsDiff(await run(ort, session, rows, width, [anchors[anchors.length - 1] + 10 * span]), hi));
    // A NaN λ: NaN outputs for that row only, its condition passed through.
    const withNaN = Array.from({ length: n }, (_, r) => (r === 1 ? NaN : anchors[0]));
    const nan = await run(ort, session, rows, width, withNaN);
    for (let c = 0; c < width; c++) {
      if (c < dim) expect(Number.isNaN(nan[width + c])).toBe(true);
      else expect(nan[width + c]).toBe(rows[width + c]);
    }
    expect(maxAbsDiff(nan.subarray(0, width), lo.subarray(0, width))).toBeLessThan(1e-4 * spread(model));
    // Class ids that are not one of 0..classes−1: NaN outputs for those rows only.
    if (model.info.categorical) {
      const badIds = [-1, model.info.classes, 0.5, NaN];
      const bad = Float32Array.from(rows);
      badIds.forEach((c, r) => (bad[r * width + dim] = c));
      const out = await run(ort, session, bad, width, [lambdas[1]]);
      badIds.forEach((c, r) => {
        for (let d = 0; d < dim; d++) expect(Number.isNaN(out[r * width + d])).toBe(true);
        expect(Object.is(out[r * width + dim], Math.fround(c))).toBe(true);
      });
      const rest = badIds.length * width;
      worst = Math.max(worst, maxAbsDiff(out.subarray(rest), expected[1].subarray(rest)));
    }
    return worst;
  } finally {
    await session.release();
  }
}

/** Run the checker on files; returns its lines by file. */
function runChecker(files: string[]): Map<string, string> {
  const r = spawnSync(PYTHON!, [CHECKER, ...files], { encoding: 'utf8', timeout: 300_000 });
  const lines = new Map<string, string>();
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const file = files.find((f) => line.includes(f));
    if (file) lines.set(file, line);
  }
  if (lines.size !== files.length) throw new Error(`onnx checker failed to run: ${r.stderr || r.stdout}`);
  return lines;
}

interface Exported {
  name: string;
  model: TrajectoryModel;
  bytes: Uint8Array;
  file: string;
}

const exported: Exported[] = [];

beforeAll(async () => {
  await initEngine({ quiet: true });
  for (const [i, c] of CASES.entries()) {
    const options = { seed: i, ...(isClot(c.method) ? TINY_CLOT : TINY_BASELINE), ...c.options };
    const fitted = await fitModel(c.method, c.data, options);
    if (c.warp) (fitted as ClotSurrogate).setWarp(warpKnots(c.data.levels));
    const dir = path.join(tmp, `model-${i}`);
    await fitted.save(dir);
    fitted.dispose();
    scrambleWeights(dir, 100 + i);
    const model = loadModel(dir);
    if (c.warp) expect((model as ClotSurrogate).warp.isLinear()).toBe(false);
    const { bytes } = exportOnnx(model);
    const file = path.join(tmp, `model-${i}.onnx`);
    fs.writeFileSync(file, bytes);
    exported.push({ name: c.name, model, bytes, file });
    await new Promise((r) => setImmediate(r)); // let the worker answer the test runner between fits
  }
}, 600_000);

afterAll(() => {
  for (const e of exported) e.model.dispose();
});

describe('ONNX export of every method', () => {
  it('covers every method hti fits', async () => {
    const { METHODS } = await import('../src/methods/registry.js');
    expect(new Set(CASES.map((c) => c.method))).toEqual(new Set(METHODS));
  });

  for (const [label, ort] of RUNTIMES) {
    it(`agrees with model.sample to 1e-4 × spread in ${label}`, async () => {
      const relative: string[] = [];
      for (const e of exported) {
        const rows = testRows(e.model, 24, 5);
        const lambdas = testLambdas(e.model.info.anchors, 9);
        const expected = lambdas.map((l) => e.model.sample(rows, l));
        const worst = await checkAgreement(ort, e.bytes, e.model, rows, lambdas, expected);
        expect(worst, `${e.name}: largest difference ${worst}`).toBeLessThan(1e-4 * spread(e.model));
        relative.push((worst / spread(e.model)).toExponential(1));
      }
      console.log(`${label}: largest |ONNX − sample| / spread per model: ${relative.join(', ')}`);
    }, 300_000);
  }

  it('stores opset 17, IR version 8 and the metadata a user needs', () => {
    for (const e of exported) {
      const m = decodeModel(e.bytes);
      expect(Number(m.irVersion)).toBe(ONNX_IR_VERSION);
      expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', ONNX_OPSET]]);
      const meta = onnxMetadata(e.bytes);
      const { info } = e.model;
      expect(JSON.parse(meta['hti.anchors'])).toEqual(info.anchors);
      expect([meta['hti.dim'], meta['hti.cond'], meta['hti.method'], meta['hti.kind']]).toEqual([String(info.dim), String(info.cond), info.method, info.kind]);
      expect(meta['hti.version']).toMatch(/^\d+\.\d+\.\d+/);
      expect(JSON.parse(meta['hti.inputs']).map((v: { name: string }) => v.name)).toEqual(['rows', 'lambda']);
      expect(JSON.parse(meta['hti.outputs']).map((v: { name: string }) => v.name)).toEqual(['samples']);
      expect(meta['hti.lambda_out_of_range']).toBe('clamp');
    }
  });

  it.skipIf(!PYTHON && !REQUIRED)('passes onnx.checker.check_model(full_check=True)', () => {
    if (!PYTHON) throw new Error('CI=true needs python3 with onnx for the ONNX checker test: apt-get install -y python3-onnx (or set HTI_PYTHON)');
    const lines = runChecker(exported.map((e) => e.file));
    for (const e of exported) expect(lines.get(e.file), e.name).toMatch(/^ok /);
  }, 300_000);

  it('times onnxruntime-node beside tfjs for the throughput benchmark (npm run bench:sample)', async () => {
    const { model } = exported[0];
    const results = await timeOnnxSampling(ortNode, model, 500, 1, 1);
    expect(results.map((r) => r.lambdas.length)).toEqual([1, 1, 1, 5]);
    for (const r of results) {
      expect(r.bestSeconds).toBeGreaterThan(0);
      expect(r.rowsPerSecond).toBe(Math.round((500 * r.lambdas.length) / r.bestSeconds));
    }
    const small = await timeSmallRequests(ortNode, model, [1, 10], 1, 10);
    expect(small.map((r) => r.rows)).toEqual([1, 10]);
    for (const r of small) expect(Math.min(r.tfjsCpuMs, r.onnxCpuMs)).toBeGreaterThan(0);
  });

  it('refuses a model that cannot describe its sampling, with one clear line', () => {
    const { model } = exported[0];
    const opaque = { info: model.info, sample: model.sample.bind(model) } as unknown as TrajectoryModel;
    expect(() => exportOnnx(opaque)).toThrow(/kind 'clot' cannot describe its sampling/);
  });
});

// --- The bar: a CLOT `full` model of dropout_2moons (the task's settings, a quick schedule)
// exported and run by the CLI, against `hti sample`, in both runtimes and the full check. ---
// Asynchronous, so the test worker stays responsive while the CLI runs.
function hti(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(root, 'bin/hti.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('hti export: CLOT full on dropout_2moons', () => {
  const dir = path.join(tmp, 'moons');
  const onnxFile = path.join(tmp, 'moons.onnx');
  const rowsFile = path.join(tmp, 'moons-rows.npy');
  const LAMBDAS = [0, 0.3, 0.5, 0.9, 0.99];
  let rows: Float32Array;
  let spreadMoons = 0;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(root, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before these tests');
    // The task's hand-set CLOT settings with the quick schedule, shortened further for the test's
    // time. The fit runs in a child process (the built library), so this worker stays responsive.
    const dist = (p: string) => pathToFileURL(path.join(root, 'dist', p)).href;
    const script = `
      const { initEngine } = await import('${dist('engine/index.js')}');
      const { fitModel } = await import('${dist('methods/registry.js')}');
      const { fitOptionsFor } = await import('${dist('bench/run.js')}');
      const { getTask } = await import('${dist('bench/tasks.js')}');
      const { writeNpy } = await import('${dist('data/index.js')}');
      await initEngine({ quiet: true });
      const spec = getTask('dropout_2moons');
      const prepared = spec.prepare(0, { dataDir: ${JSON.stringify(path.join(root, 'data'))} });
      const fit = { spline: { pretrainSteps: 3, refitSteps: 2 }, maps: { steps: 20 }, couplings: { cap: 48 } };
      const model = await fitModel('full', prepared.train, fitOptionsFor(spec, 'full', { quick: true, settings: 'hand', seed: 0, fit }));
      await model.save(${JSON.stringify(dir)});
      writeNpy(${JSON.stringify(rowsFile)}, { shape: [prepared.inputs.length / 3, 3], data: prepared.inputs });
      process.stdout.write(JSON.stringify({ spread: Math.max(...model.info.bounds.map(([lo, hi]) => hi - lo)) }));
    `;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 600_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || String(err))) : resolve(stdout))),
    );
    spreadMoons = JSON.parse(out).spread;
    rows = readNpy(rowsFile).data;
  }, 600_000);

  it('writes the file with one summary line, and refuses a wrong file name', async () => {
    const r = await hti('export', dir, '--onnx', onnxFile);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^hti export: wrote .*moons\.onnx \(\d+ KB, full, opset 17\): rows \[N, 3\] float32 \+ lambda \[1\] or \[N\] float32 → samples \[N, 3\]; λ outside \[0, 0\.99\] is clamped\n$/);
    const bad = await hti('export', dir, '--onnx', path.join(tmp, 'moons.txt'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("hti: --onnx must name an .onnx file, got '" + path.join(tmp, 'moons.txt') + "'\n");
    const missing = await hti('export', path.join(tmp, 'nope'), '--onnx', onnxFile);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^hti: model .*nope does not exist\n$/);
  });

  it('agrees with hti sample to 1e-4 × spread in both runtimes', async () => {
    const bytes = fs.readFileSync(onnxFile);
    const expected: Float32Array[] = [];
    for (const [i, l] of LAMBDAS.entries()) {
      const out = path.join(tmp, `moons-${i}.npy`);
      const r = await hti('sample', dir, '--from', rowsFile, '--lambda', String(l), '--out', out);
      expect(r.code, r.stderr).toBe(0);
      expected.push(readNpy(out).data);
    }
    for (const [label, ort] of RUNTIMES) {
      let worst = 0;
      const session = await ort.InferenceSession.create(bytes);
      try {
        for (const [i, l] of LAMBDAS.entries()) {
          const got = await run(ort, session, rows, 3, [l]);
          const d = maxAbsDiff(got, expected[i]);
          expect(d, `${label} at λ = ${l}: ${d}`).toBeLessThan(1e-4 * spreadMoons);
          worst = Math.max(worst, d / spreadMoons);
        }
      } finally {
        await session.release();
      }
      console.log(`dropout_2moons full, ${label}: largest |ONNX − hti sample| / spread ${worst.toExponential(1)}`);
    }
  }, 300_000);

  it.skipIf(!PYTHON && !REQUIRED)('passes the full ONNX check', () => {
    if (!PYTHON) throw new Error('CI=true needs python3 with onnx for the ONNX checker test: apt-get install -y python3-onnx (or set HTI_PYTHON)');
    expect(runChecker([onnxFile]).get(onnxFile)).toMatch(/^ok .* ir=8 opset=17$/);
  });
});
