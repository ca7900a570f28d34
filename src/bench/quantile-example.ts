/**
 * The end-to-end example (`npm run example:quantile`): train quantile forecasters at a few τ only
 * (the anchors), fit hti on their forecasts with the default settings, answer at five other τ, then
 * train the real networks at those τ and compare, side by side: accuracy against the retrained
 * networks (with copy-first and linear interpolation beside), coverage of the actual series, the
 * training time the surrogate saves, and query latency. Draws the forecasts with bands at several
 * τ, retrained networks against the surrogate.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Dataset } from '../data/dataset.js';
import { initEngine } from '../engine/index.js';
import { copyFirstAnchor, linearInterpolation } from '../eval/references.js';
import { mse } from '../eval/scores.js';
import { HISTORY, HORIZON, levelSeed, quantileProblem, trainForecaster, type FamilySize, type LevelOutput, type QuantileProblem } from '../families/index.js';
import { fitSelected } from '../methods/select.js';
import { renderPanelsSvg, svgToPng, type Layer, type Panel } from '../plot/render.js';
import type { TrajectoryModel } from '../surrogate/model.js';
import { alignColumns, fmtNumber, mean } from './table.js';

export interface QuantileExampleOptions {
  seed?: number;
  size?: FamilySize;
  /** τ the user trains (default 0.01, 0.5, 0.99). */
  anchors?: number[];
  /** τ the surrogate answers and the real networks are retrained at (default five). */
  levels?: number[];
  /** PNG path (default out/quantile-example.png). */
  out?: string;
  /** Extra fit options (the example uses the defaults). */
  fit?: Record<string, unknown>;
  log?: (line: string) => void;
}

export const EXAMPLE_ANCHORS = [0.01, 0.5, 0.99];
export const EXAMPLE_LEVELS = [0.05, 0.25, 0.75, 0.9, 0.95];
const WIDTH = HORIZON + HISTORY;

export interface LevelComparison {
  tau: number;
  /** Row MSE against the retrained network's forecasts. */
  surrogate: number;
  copyFirst: number;
  linear: number;
  /** Fraction of query windows whose actual next value lies at or below the forecast (ideal: τ). */
  coverageRetrained: number;
  coverageSurrogate: number;
  /** Seconds the retrained network took (wall clock, and CPU). */
  retrainSeconds: number;
  retrainCpuSeconds: number;
  /** Milliseconds for the surrogate to answer every query window at τ. */
  queryMs: number;
}

export interface QuantileExampleResult {
  seed: number;
  anchors: number[];
  anchorSeconds: number[];
  fitSeconds: number;
  fitCpuSeconds: number;
  rows: number;
  levels: LevelComparison[];
  /** Milliseconds for one window (median of repeats). */
  singleRowMs: number;
  text: string;
  png: string;
}

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const v = f();
  return [v, performance.now() - t0];
}

/** Fraction of windows whose actual value at forecast step 1 is at or below the forecast. */
function coverage(rows: Float32Array, problem: QuantileProblem): number {
  const n = problem.query.n;
  let below = 0;
  for (let i = 0; i < n; i++) if (problem.query.targets[i * HORIZON] <= rows[i * WIDTH]) below++;
  return below / n;
}

function datasetOf(levels: number[], rows: Float32Array[]): Dataset {
  return { levels, data: rows, dim: HORIZON, cond: HISTORY, categorical: false, classes: 0, anchors: levels.slice() };
}

/** Step-1 forecasts of the first `count` windows as a curve over time. */
function stepOne(rows: Float32Array, count: number): Float64Array {
  return Float64Array.from({ length: count }, (_, i) => rows[i * WIDTH]);
}

/** Forecasts with bands: retrained networks, hti surrogate and linear interpolation over the same stretch of the series. */
export function exampleFigureSvg(problem: QuantileProblem, anchors: Map<number, Float32Array>, truth: Map<number, Float32Array>, answers: Map<number, Float32Array>, linear: Map<number, Float32Array>, levels: number[]): string {
  const count = Math.min(96, problem.query.n);
  const x = Float64Array.from({ length: count }, (_, i) => i);
  const actual: number[] = [];
  for (let i = 0; i < count; i++) actual.push(i, problem.query.targets[i * HORIZON]);
  const lo = Math.min(...levels);
  const hi = Math.max(...levels);
  const inner = levels.filter((l) => l !== lo && l !== hi);
  const pairOf = (l: number) => inner.find((m) => Math.abs(m + l - 1) < 1e-9 && m > l);
  const innerLow = inner.find((l) => pairOf(l) !== undefined);
  const median = [...anchors.keys()].find((a) => Math.abs(a - 0.5) < 1e-9);
  const panel = (title: string, at: Map<number, Float32Array>): Panel => {
    const layers: Layer[] = [{ kind: 'band', x, lower: stepOne(at.get(lo)!, count), upper: stepOne(at.get(hi)!, count), color: '#4e79a7', opacity: 0.22 }];
    if (innerLow !== undefined) layers.push({ kind: 'band', x, lower: stepOne(at.get(innerLow)!, count), upper: stepOne(at.get(pairOf(innerLow)!)!, count), color: '#4e79a7', opacity: 0.35 });
    for (const l of inner.filter((m) => m !== innerLow && m !== pairOf(innerLow ?? -1))) {
      const c = stepOne(at.get(l)!, count);
      layers.push({ kind: 'paths', paths: [Float64Array.from({ length: 2 * count }, (_, k) => (k % 2 ? c[(k - 1) / 2] : x[k / 2]))], color: '#e15759', width: 1.4, opacity: 0.9 });
    }
    if (median !== undefined) {
      const c = stepOne(anchors.get(median)!, count);
      layers.push({ kind: 'paths', paths: [Float64Array.from({ length: 2 * count }, (_, k) => (k % 2 ? c[(k - 1) / 2] : x[k / 2]))], color: '#1f3b5a', width: 1.2, opacity: 0.9 });
    }
    layers.push({ kind: 'paths', paths: [Float64Array.from(actual)], color: '#222', width: 1, opacity: 0.5 });
    layers.push({ kind: 'points', xy: Float64Array.from(actual), color: '#222', radius: 1.8, opacity: 0.9 });
    return { title, layers };
  };
  const bandText = `${lo}–${hi}${innerLow !== undefined ? ` and ${innerLow}–${pairOf(innerLow)}` : ''}`;
  const lineTaus = inner.filter((m) => m !== innerLow && m !== pairOf(innerLow ?? -1));
  return renderPanelsSvg(
    [
      panel(`networks retrained at τ = ${levels.join(', ')} (the truth)`, truth),
      panel(`hti surrogate answering at the same τ (trained on τ = ${[...anchors.keys()].join(', ')} only)`, answers),
      panel('linear interpolation of the anchor networks’ forecasts (the trivial reference)', linear),
    ],
    {
      columns: 1,
      panelWidth: 1100,
      panelHeight: 300,
      equalAspect: false,
      title: `one-step-ahead quantile forecasts over ${count} query windows: bands τ = ${bandText}${lineTaus.length ? `, line τ = ${lineTaus.join(', ')}` : ''}`,
      xLabel: 'query window (time step)',
      yLabel: 'series value',
      legend: [
        { label: `τ ${lo}–${hi}`, color: '#4e79a7', shape: 'band' },
        ...(innerLow !== undefined ? [{ label: `τ ${innerLow}–${pairOf(innerLow)}`, color: '#1f5fa7', shape: 'band' as const }] : []),
        ...lineTaus.map((l) => ({ label: `τ ${l}`, color: '#e15759', shape: 'line' as const })),
        ...(median !== undefined ? [{ label: 'τ 0.5 (anchor network)', color: '#1f3b5a', shape: 'line' as const }] : []),
        { label: 'actual series', color: '#222', shape: 'dot' },
      ],
    },
  );
}

export async function runQuantileExample(options: QuantileExampleOptions = {}): Promise<QuantileExampleResult> {
  const seed = options.seed ?? 0;
  const size = options.size ?? 'full';
  const anchors = [...(options.anchors ?? EXAMPLE_ANCHORS)].sort((a, b) => a - b);
  const levels = [...(options.levels ?? EXAMPLE_LEVELS)].sort((a, b) => a - b);
  const out = options.out ?? path.join('out', 'quantile-example.png');
  const log = options.log ?? (() => {});
  if (anchors.length < 2) throw new Error('give at least two anchor τ');
  for (const l of [...anchors, ...levels]) if (!(l > 0 && l < 1)) throw new Error(`τ must lie strictly between 0 and 1, got ${l}`);
  for (const l of levels) {
    if (l < anchors[0] || l > anchors[anchors.length - 1]) throw new Error(`τ = ${l} is outside the anchors [${anchors[0]}, ${anchors[anchors.length - 1]}]`);
    if (anchors.includes(l)) throw new Error(`τ = ${l} is an anchor; answer at levels between them`);
  }
  if (path.extname(out).toLowerCase() !== '.png') throw new Error(`the picture must be a .png file, got ${out}`);
  await initEngine({ quiet: true });
  const problem = quantileProblem(seed, size);
  const train = async (tau: number): Promise<LevelOutput> => {
    // Let the event loop breathe between networks (progress lines, a caller's timers).
    await new Promise((resolve) => setImmediate(resolve));
    return trainForecaster(problem, tau, levelSeed(seed, tau));
  };

  // 1. The user's networks: the anchors only.
  const anchorOut = new Map<number, LevelOutput>();
  for (const tau of anchors) {
    const o = await train(tau);
    anchorOut.set(tau, o);
    log(`trained the τ = ${tau} forecaster in ${o.seconds.toFixed(1)} s`);
  }
  const trainSet = datasetOf(anchors, anchors.map((a) => anchorOut.get(a)!.rows));

  // 2. Fit hti as `hti fit` does: candidate settings ranked with the middle anchor left out, the
  // winner refitted on every anchor.
  log(`fitting hti (full method, default settings and selection, as hti fit) on ${anchors.length} anchors × ${problem.query.n} windows…`);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const selected = await fitSelected('full', trainSet, { fit: { seed, ...options.fit } });
  const model: TrajectoryModel = selected.model;
  const fitSeconds = (performance.now() - t0) / 1000;
  const fitCpu = process.cpuUsage(cpu0);
  log(`fitted in ${fitSeconds.toFixed(1)} s (chose ${selected.selection.chosen ?? 'the defaults'})`);
  try {
    // 3. Answer at the five τ (timed), then the real networks there.
    const inputs = trainSet.data[0];
    const answers = new Map<number, Float32Array>();
    const queryMs = new Map<number, number>();
    for (const tau of levels) {
      const [rows, ms] = timed(() => model.sample(inputs, tau));
      answers.set(tau, rows);
      queryMs.set(tau, ms);
    }
    const one = inputs.subarray(0, WIDTH);
    const singles = Array.from({ length: 21 }, () => timed(() => model.sample(one, levels[0]))[1]).sort((a, b) => a - b);
    const truth = new Map<number, LevelOutput>();
    for (const tau of levels) {
      const o = await train(tau);
      truth.set(tau, o);
      log(`retrained the τ = ${tau} forecaster for comparison in ${o.seconds.toFixed(1)} s`);
    }
    const copy = copyFirstAnchor(trainSet, levels);
    const linear = linearInterpolation(trainSet, levels);
    const comparisons: LevelComparison[] = levels.map((tau, i) => {
      const t = truth.get(tau)!.rows;
      return {
        tau,
        surrogate: mse(answers.get(tau)!, t, HORIZON, HISTORY),
        copyFirst: mse(copy[i], t, HORIZON, HISTORY),
        linear: mse(linear[i], t, HORIZON, HISTORY),
        coverageRetrained: coverage(t, problem),
        coverageSurrogate: coverage(answers.get(tau)!, problem),
        retrainSeconds: truth.get(tau)!.seconds,
        retrainCpuSeconds: truth.get(tau)!.cpuSeconds,
        queryMs: queryMs.get(tau)!,
      };
    });
    const result: QuantileExampleResult = {
      seed,
      anchors,
      anchorSeconds: anchors.map((a) => anchorOut.get(a)!.seconds),
      fitSeconds,
      fitCpuSeconds: (fitCpu.user + fitCpu.system) / 1e6,
      rows: problem.query.n,
      levels: comparisons,
      singleRowMs: singles[10],
      text: '',
      png: out,
    };
    result.text = formatExample(result);
    const svg = exampleFigureSvg(
      problem,
      new Map(anchors.map((a) => [a, anchorOut.get(a)!.rows])),
      new Map(levels.map((l) => [l, truth.get(l)!.rows])),
      answers,
      new Map(levels.map((l, i) => [l, linear[i]])),
      levels,
    );
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    fs.writeFileSync(out, svgToPng(svg, { scale: 1.25 }));
    return result;
  } finally {
    model.dispose();
  }
}

export function formatExample(r: QuantileExampleResult): string {
  const L = r.levels;
  const lines: string[] = [];
  lines.push(`Quantile forecasters of a generated series (next ${HORIZON} steps from the last ${HISTORY}), seed ${r.seed}.`);
  lines.push(
    `Trained at τ = ${r.anchors.join(', ')} only (${r.anchorSeconds.map((s) => s.toFixed(1)).join(', ')} s); hti fitted on their forecasts in ${r.fitSeconds.toFixed(1)} s ` +
      `(${r.fitCpuSeconds.toFixed(1)} s CPU; full method, default settings and selection as in hti fit).`,
  );
  lines.push(`Answers at τ = ${L.map((l) => l.tau).join(', ')} for ${r.rows} query windows, against networks retrained at those τ:`);
  lines.push('');
  const header = ['τ', 'hti MSE', 'copy τ=' + r.anchors[0], 'linear interp.', 'coverage retrained', 'coverage hti', 'retrain s', 'CPU s', 'hti query ms'];
  const body = L.map((l) => [
    String(l.tau),
    fmtNumber(l.surrogate),
    fmtNumber(l.copyFirst),
    fmtNumber(l.linear),
    l.coverageRetrained.toFixed(3),
    l.coverageSurrogate.toFixed(3),
    l.retrainSeconds.toFixed(1),
    l.retrainCpuSeconds.toFixed(1),
    l.queryMs.toFixed(1),
  ]);
  body.push([
    'mean',
    fmtNumber(mean(L.map((l) => l.surrogate))),
    fmtNumber(mean(L.map((l) => l.copyFirst))),
    fmtNumber(mean(L.map((l) => l.linear))),
    '',
    '',
    mean(L.map((l) => l.retrainSeconds)).toFixed(1),
    mean(L.map((l) => l.retrainCpuSeconds)).toFixed(1),
    mean(L.map((l) => l.queryMs)).toFixed(1),
  ]);
  lines.push(alignColumns([header, ...body], header.map(() => true)));
  lines.push('');
  lines.push('MSE: mean squared difference from the retrained network’s forecasts (3 steps, all windows); coverage: share of windows whose actual next value is at or below the τ forecast (ideal: τ).');
  const retrain = L.reduce((s, l) => s + l.retrainSeconds, 0);
  const retrainCpu = L.reduce((s, l) => s + l.retrainCpuSeconds, 0);
  const perNet = retrain / L.length;
  const saved = retrain - r.fitSeconds;
  lines.push(
    `Training time: retraining at these ${L.length} τ took ${retrain.toFixed(1)} s (${retrainCpu.toFixed(1)} s CPU; ${perNet.toFixed(1)} s per network); the fit took ${r.fitSeconds.toFixed(1)} s ` +
      `(${r.fitCpuSeconds.toFixed(1)} s CPU), ` +
      (saved >= 0 ? `saving ${saved.toFixed(1)} s` : `${(-saved).toFixed(1)} s more than retraining`) +
      `; it pays for itself after ${Math.ceil(r.fitSeconds / perNet)} levels, and a grid of 99 τ would cost ${(99 * perNet).toFixed(0)} s to retrain.`,
  );
  lines.push('Wall-clock seconds inflate when the machine is shared; CPU seconds show the work itself.');
  lines.push(`Query latency: ${mean(L.map((l) => l.queryMs)).toFixed(1)} ms for ${r.rows} windows at one τ (${((1000 * mean(L.map((l) => l.queryMs))) / r.rows).toFixed(0)} µs per window); ${r.singleRowMs.toFixed(2)} ms for a single window.`);
  return lines.join('\n');
}

/** `node dist/bench/quantile-example.js [--out FILE.png] [--seed N] [--small]` */
async function cli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, seed: { type: 'string' }, small: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write('usage: npm run example:quantile -- [--out FILE.png] [--seed N] [--small]\n');
    return;
  }
  if (values.seed !== undefined && !/^\d+$/.test(values.seed)) throw new Error(`--seed expects a non-negative integer, got '${values.seed}'`);
  const started = performance.now();
  const r = await runQuantileExample({
    out: values.out,
    seed: values.seed === undefined ? 0 : Number(values.seed),
    size: values.small ? 'small' : 'full',
    log: (line) => process.stderr.write(`[example] ${line}\n`),
  });
  process.stdout.write(`${r.text}\n\npicture written to ${path.resolve(r.png)} (whole example ${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`hti example: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
