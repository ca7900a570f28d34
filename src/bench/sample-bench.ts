/**
 * Sampling throughput after load (issue 4 target: ≥ 100k rows/s for D = 2): fit a small CLOT
 * surrogate on the semicircles (default network sizes, short training — throughput depends on
 * the architecture, not on how long it trained), save it, load it back, and time `sample` on
 * N rows at a λ inside the last interval (every map plus the spline: the slowest case), best of R
 * runs after a warm-up. Also times λ inside the first interval, at an anchor, and a trajectory.
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

export function timeSampling(model: TrajectoryModel, rows: number, runs: number): TimedCase[] {
  const a = model.info.anchors;
  const K = a.length - 1;
  const input = model.anchorRows(null, rows, 1);
  const cases: [string, number[]][] = [
    ['sample, λ inside the last interval (all maps + spline)', [(a[K - 1] + a[K]) / 2]],
    ['sample, λ inside the first interval (one map + spline)', [(a[0] + a[1]) / 2]],
    ['sample, λ at the last anchor (maps only)', [a[K]]],
    ['trajectory, 5 λ over the range', Array.from({ length: 5 }, (_, i) => a[0] + ((a[K] - a[0]) * (i + 0.5)) / 5)],
  ];
  return cases.map(([name, lambdas]) => {
    const t = lambdas.length === 1 ? time(() => model.sample(input, lambdas[0]), runs) : time(() => model.trajectory(input, lambdas), runs);
    return {
      case: name,
      lambdas,
      rows,
      bestSeconds: t.best,
      medianSeconds: t.median,
      rowsPerSecond: Math.round((rows * lambdas.length) / t.best),
      rowsPerCpuSecond: Math.round((rows * lambdas.length) / t.cpu),
    };
  });
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
