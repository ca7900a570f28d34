/**
 * Sampling throughput after load (issue 4 target: ≥ 100k rows/s for D = 2): fit a small CLOT
 * surrogate on the semicircles (default network sizes, short training — throughput depends on
 * the architecture, not on how long it trained), save it, load it back, and time `sample` on
 * N rows at a λ inside the last interval (every map plus the spline: the slowest case), best of R
 * runs after a warm-up. Also times λ inside the first interval, at an anchor, and a trajectory, and
 * the same cases through the model's ONNX export in onnxruntime-node (1 thread, and all cores), and
 * the CPU time per call of small requests (1, 100, 1000 rows) in both.
 * Prints one JSON object.
 *
 *   node dist/bench/sample-bench.js [MODEL] [--rows 100000] [--runs 3]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { backendName, initEngine } from '../engine/index.js';
import { fitModel, loadModel } from '../methods/registry.js';
import type { TrajectoryModel } from '../surrogate/model.js';
import { semicircleDataset } from './semicircles.js';
import { exportOnnx } from '../export/index.js';

export const SAMPLE_TARGET_ROWS_PER_SECOND = 100_000;

/** Training settings of the benchmark model: default architecture, a few steps of each phase. */
const QUICK_FIT = { seed: 0, spline: { pretrainSteps: 10, refitSteps: 5 }, maps: { steps: 20 }, metric: { stepsPerRound: 5 }, couplings: { cap: 50 } };

export interface TimedCase {
  case: string;
  lambdas: number[];
  rows: number;
  bestSeconds: number;
  medianSeconds: number;
  /** Output rows per second (rows × λ values for a trajectory), from the best run. */
  rowsPerSecond: number;
  /** The same per second of this process's CPU time (best run): what an unshared core gives. */
  rowsPerCpuSecond: number;
}

/** Best and median wall time, and best CPU time, of `runs` calls after one warm-up call. */
function time(fn: () => void, runs: number): { best: number; median: number; cpu: number } {
  fn();
  const times: number[] = [];
  let cpu = Infinity;
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { best: times[0], median: times[Math.floor(times.length / 2)], cpu };
}

/** The same, for an asynchronous call (ONNX Runtime's `run`). */
async function timeAsync(fn: () => Promise<unknown>, runs: number): Promise<{ best: number; median: number; cpu: number }> {
  await fn();
  const times: number[] = [];
  let cpu = Infinity;
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { best: times[0], median: times[Math.floor(times.length / 2)], cpu };
}

/** The timed λ sets: the slowest single λ, the cheapest ones, and a 5-λ trajectory. */
function sampleCases(a: number[]): [string, number[]][] {
  const K = a.length - 1;
  return [
    ['sample, λ inside the last interval (all maps + spline)', [(a[K - 1] + a[K]) / 2]],
    ['sample, λ inside the first interval (one map + spline)', [(a[0] + a[1]) / 2]],
    ['sample, λ at the last anchor (maps only)', [a[K]]],
    ['trajectory, 5 λ over the range', Array.from({ length: 5 }, (_, i) => a[0] + ((a[K] - a[0]) * (i + 0.5)) / 5)],
  ];
}

function timedCase(name: string, lambdas: number[], rows: number, t: { best: number; median: number; cpu: number }): TimedCase {
  return {
    case: name,
    lambdas,
    rows,
    bestSeconds: t.best,
    medianSeconds: t.median,
    rowsPerSecond: Math.round((rows * lambdas.length) / t.best),
    rowsPerCpuSecond: Math.round((rows * lambdas.length) / t.cpu),
  };
}

export function timeSampling(model: TrajectoryModel, rows: number, runs: number): TimedCase[] {
  const input = model.anchorRows(null, rows, 1);
  return sampleCases(model.info.anchors).map(([name, lambdas]) =>
    timedCase(name, lambdas, rows, lambdas.length === 1 ? time(() => model.sample(input, lambdas[0]), runs) : time(() => model.trajectory(input, lambdas), runs)),
  );
}

export type OnnxRuntime = typeof import('onnxruntime-node');

/** onnxruntime-node, or null when it is not installed (it is a dev dependency). */
export async function loadOnnxRuntime(): Promise<OnnxRuntime | null> {
  try {
    return await import('onnxruntime-node');
  } catch {
    return null;
  }
}

function onnxSession(ort: OnnxRuntime, model: TrajectoryModel, threads: number) {
  return ort.InferenceSession.create(exportOnnx(model).bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
}

/** ONNX Runtime feeds: `rows` repeated once per λ, with one λ per row (a single λ as [1]). */
function onnxFeeds(ort: OnnxRuntime, input: Float32Array, width: number, lambdas: number[]) {
  const rows = input.length / width;
  const L = lambdas.length;
  const tiled = new Float32Array(input.length * L);
  const perRow = new Float32Array(rows * L);
  lambdas.forEach((l, i) => {
    tiled.set(input, i * input.length);
    perRow.fill(l, i * rows, (i + 1) * rows);
  });
  return {
    rows: new ort.Tensor('float32', tiled, [rows * L, width]),
    lambda: new ort.Tensor('float32', L === 1 ? Float32Array.of(lambdas[0]) : perRow, [L === 1 ? 1 : rows * L]),
  };
}

/**
 * The same cases through the model's ONNX export in onnxruntime-node with `threads` intra-op
 * threads. Several λ are one run: the rows repeated, one λ per row.
 */
export async function timeOnnxSampling(ort: OnnxRuntime, model: TrajectoryModel, rows: number, runs: number, threads: number): Promise<TimedCase[]> {
  const width = model.info.dim + model.info.cond;
  const input = model.anchorRows(null, rows, 1);
  const session = await onnxSession(ort, model, threads);
  try {
    const out: TimedCase[] = [];
    for (const [name, lambdas] of sampleCases(model.info.anchors)) {
      const feeds = onnxFeeds(ort, input, width, lambdas);
      out.push(timedCase(name, lambdas, rows, await timeAsync(() => session.run(feeds), runs)));
    }
    return out;
  } finally {
    await session.release();
  }
}

export interface SmallRequest {
  rows: number;
  /** CPU milliseconds per call at λ inside the last interval (best of `runs` batches of calls). */
  tfjsCpuMs: number;
  onnxCpuMs: number;
}

/**
 * Per-call CPU time for small requests (what a server answers): tfjs and ONNX Runtime on one thread,
 * each timed over batches of calls covering about `rowsPerBatch` rows (at least 5 calls).
 */
export async function timeSmallRequests(ort: OnnxRuntime, model: TrajectoryModel, sizes: number[], runs: number, rowsPerBatch = 2000): Promise<SmallRequest[]> {
  const a = model.info.anchors;
  const lambda = sampleCases(a)[0][1];
  const width = model.info.dim + model.info.cond;
  const session = await onnxSession(ort, model, 1);
  try {
    const out: SmallRequest[] = [];
    for (const rows of sizes) {
      const input = model.anchorRows(null, rows, 1);
      const feeds = onnxFeeds(ort, input, width, lambda);
      const calls = Math.max(5, Math.round(rowsPerBatch / rows));
      const tfjs = time(() => {
        for (let c = 0; c < calls; c++) model.sample(input, lambda[0]);
      }, runs);
      const onnx = await timeAsync(async () => {
        for (let c = 0; c < calls; c++) await session.run(feeds);
      }, runs);
      out.push({ rows, tfjsCpuMs: Number(((tfjs.cpu / calls) * 1000).toFixed(3)), onnxCpuMs: Number(((onnx.cpu / calls) * 1000).toFixed(3)) });
    }
    return out;
  } finally {
    await session.release();
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { rows: { type: 'string', default: '100000' }, runs: { type: 'string', default: '3' } },
  });
  const rows = Number(values.rows);
  const runs = Number(values.runs);
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows expects a positive integer, got '${values.rows}'`);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs expects a positive integer, got '${values.runs}'`);
  await initEngine();
  let dir = positionals[0];
  let tmp: string | null = null;
  let fitSeconds: number | null = null;
  if (!dir) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-sample-bench-'));
    dir = path.join(tmp, 'model');
    const t0 = performance.now();
    const fitted = await fitModel('full', semicircleDataset(0), QUICK_FIT);
    fitSeconds = (performance.now() - t0) / 1000;
    await fitted.save(dir);
    fitted.dispose();
  }
  try {
    const model = loadModel(dir);
    try {
      const results = timeSampling(model, rows, runs);
      const headline = results[0].rowsPerSecond;
      const ort = await loadOnnxRuntime();
      const onnxOne = ort ? await timeOnnxSampling(ort, model, rows, runs, 1) : null;
      const onnxAll = ort ? await timeOnnxSampling(ort, model, rows, runs, os.cpus().length) : null;
      const small = ort ? await timeSmallRequests(ort, model, [1, 100, 1000], runs) : null;
      const report = {
        benchmark: 'sample-throughput',
        backend: backendName(),
        node: process.version,
        cpus: os.cpus().length,
        model: positionals[0] ?? `semicircles, preset full, default network sizes (fitted in ${fitSeconds?.toFixed(1)} s for this run)`,
        kind: model.info.kind,
        method: model.info.method,
        dim: model.info.dim,
        cond: model.info.cond,
        anchors: model.info.anchors,
        statistic: `best of ${runs} runs after one warm-up, wall clock (and CPU time of this process), after loading the saved model`,
        loadAverage: os.loadavg()[0],
        rowsPerSecond: headline,
        target: SAMPLE_TARGET_ROWS_PER_SECOND,
        meetsTarget: headline >= SAMPLE_TARGET_ROWS_PER_SECOND,
        results,
        onnxruntime: onnxOne
          ? {
              runtime: 'onnxruntime-node (the model exported by hti export --onnx); several λ: one run over the rows repeated, one λ per row',
              oneThread: onnxOne,
              [`${os.cpus().length}Threads`]: onnxAll,
              speedupOneThread: onnxOne.map((r, i) => Number((r.rowsPerSecond / results[i].rowsPerSecond).toFixed(2))),
              smallRequests: small,
            }
          : 'onnxruntime-node is not installed (it is a dev dependency)',
      };
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    } finally {
      model.dispose();
    }
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`hti: ${err.message}\n`);
    process.exit(1);
  });
}
