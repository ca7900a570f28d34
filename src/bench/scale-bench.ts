/**
 * Scaling benchmark (`npm run bench:scale`): the default CLOT fit on the synthetic scale family
 * (src/bench/scale-family.ts) across output dimensions and row counts. For every configuration:
 * fit seconds (wall and CPU: the CPU time is what a shared machine does not inflate), peak resident
 * memory, how many rows each training phase used, and the held-out W2² (exact OT per class against
 * fresh true rows, mean over classes and held-out λ) beside copy-the-first-anchor, OT displacement
 * interpolation and the noise floor (a second fresh true draw). Prints JSON, then a table on stderr.
 *
 *   node dist/bench/scale-bench.js [--dims 2,8,32,128] [--rows 1000] [--row-sweep 1000,4000,16000,64000]
 *     [--classes 4] [--seeds 0] [--test-per-class 250] [--fit '{"metric":{"kind":"householder"}}']
 *     [--select none|auto] [--out file.json]
 *
 * Scored at λ = 0.125, 0.25, 0.375, 0.625, 0.75, 0.875. `--select none` (the default) fits the
 * default settings on the three anchors alone: every scored λ is unseen. `--select auto` runs what
 * `hti fit DATA` runs: the dataset also holds λ = 0.25 and 0.75 as validation levels, which choose
 * the candidate and calibrate the time warp; the other four scored λ stay unseen (`w2Unseen`).
 *
 * `--dims` fits each D at `--rows` rows per anchor; `--row-sweep` fits D = 2 at each row count.
 * Either may be empty (`--dims ''`).
 */
import fs from 'node:fs';
import os from 'node:os';
import { initEngine, backendName } from '../engine/index.js';
import { anchorDataset, levelIndex, type Dataset } from '../data/index.js';
import { fitClot, type ClotOptions, type TrajectoryModel } from '../surrogate/index.js';
import { fitSelected, SELECT_MODES, type SelectMode } from '../methods/index.js';
import { displacementInterpolation, perClassW2 } from '../eval/index.js';
import { RssSampler } from './run.js';
import { markdownTable, mean } from './table.js';
import { SCALE_HELD_OUT, scaleFamilyDataset, scaleFamilyTruth } from './scale-family.js';

interface Options {
  dims: number[];
  rows: number;
  rowSweep: number[];
  classes: number;
  seeds: number[];
  testPerClass: number;
  fit: Record<string, unknown>;
  select: SelectMode;
  out: string | null;
}

/** Scored levels: the two validation levels and four never stored in the data. */
const SCORED_LEVELS = [0.125, 0.25, 0.375, 0.625, 0.75, 0.875];
const UNSEEN_LEVELS = SCORED_LEVELS.filter((l) => !SCALE_HELD_OUT.includes(l));

function intList(value: string | undefined, key: string): number[] {
  if (value === undefined) throw new Error(`${key} expects a comma-separated list`);
  if (value.trim() === '') return [];
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`${key} expects non-negative integers, got '${value}'`);
  return parts;
}

export function parseScaleArgs(argv: string[]): Options {
  const out: Options = { dims: [2, 8, 32, 128], rows: 1000, rowSweep: [1000, 4000, 16000, 64000], classes: 4, seeds: [0], testPerClass: 250, fit: {}, select: 'none', out: null };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    const positive = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${key} expects a positive integer, got '${value}'`);
      return n;
    };
    if (key === '--dims') out.dims = intList(value, key);
    else if (key === '--rows') out.rows = positive();
    else if (key === '--row-sweep') out.rowSweep = intList(value, key);
    else if (key === '--classes') out.classes = positive();
    else if (key === '--seeds') out.seeds = intList(value, key);
    else if (key === '--test-per-class') out.testPerClass = positive();
    else if (key === '--out') out.out = value;
    else if (key === '--select') {
      if (!SELECT_MODES.includes(value as SelectMode)) throw new Error(`--select expects one of ${SELECT_MODES.join(', ')}, got '${value}'`);
      out.select = value as SelectMode;
    }
    else if (key === '--fit') {
      try {
        out.fit = JSON.parse(value);
      } catch (err) {
        throw new Error(`--fit expects a JSON object (${(err as Error).message})`);
      }
    } else throw new Error(`unknown option '${key}' (expected --dims, --rows, --row-sweep, --classes, --seeds, --test-per-class, --fit, --select, --out)`);
  }
  if (out.seeds.length === 0) throw new Error('--seeds: give at least one seed');
  return out;
}

/** The first `perClass` rows of every class (rows of width D + 1, class id last). */
function firstPerClass(rows: Float32Array, dim: number, classes: number, perClass: number): Float32Array {
  const width = dim + 1;
  const taken = new Array(classes).fill(0);
  const keep: number[] = [];
  for (let r = 0; r < rows.length / width; r++) {
    const c = rows[r * width + dim];
    if (taken[c] < perClass) {
      taken[c]++;
      keep.push(r);
    }
  }
  const out = new Float32Array(keep.length * width);
  keep.forEach((r, i) => out.set(rows.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

/** Rows per class and anchor the displacement-interpolation reference matches exactly. */
const DISPLACEMENT_ROWS = 2000;

/** The dataset with each level cut to its first `perClass` rows of every class. */
function capPerClass(ds: Dataset, perClass: number): Dataset {
  return { ...ds, data: ds.data.map((rows) => firstPerClass(rows, ds.dim, ds.classes, perClass)) };
}

export interface ScaleRun {
  dim: number;
  rows: number;
  seed: number;
  fitSeconds: number;
  fitCpuSeconds: number;
  peakRssMB: number;
  /** Load average (1 min) when the fit started and ended. */
  load: [number, number];
  /** The candidate `--select auto` chose (null without selection). */
  chosen: string | null;
  /** Mean W2² per method over the scored λ, over the unseen ones alone, and per scored λ. */
  w2: Record<string, number>;
  w2Unseen: Record<string, number>;
  w2PerLevel: Record<string, number[]>;
  rowsUsed: unknown;
}

async function runOne(dim: number, rows: number, seed: number, o: Options): Promise<ScaleRun> {
  const full: Dataset = scaleFamilyDataset({ dim, rows, classes: o.classes, seed });
  const train = anchorDataset(full);
  const levels = [...SCORED_LEVELS];
  const tpc = o.testPerClass;
  const truth = levels.map((l) => scaleFamilyTruth(dim, o.classes, l, tpc, 1000 + seed));
  const floor = levels.map((l) => scaleFamilyTruth(dim, o.classes, l, tpc, 2000 + seed));
  const inputs = firstPerClass(full.data[levelIndex(full, 0)], dim, o.classes, tpc);
  const rss = new RssSampler().start();
  const load0 = os.loadavg()[0];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let model: TrajectoryModel;
  let chosen: string | null = null;
  if (o.select === 'auto') {
    const selected = await fitSelected('full', full, { fit: { ...o.fit, seed }, onProgress: () => rss.sample() });
    model = selected.model;
    chosen = selected.selection.chosen;
  } else {
    model = await fitClot(train, { ...(o.fit as ClotOptions), seed, onProgress: () => rss.sample() });
  }
  const fitSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const load1 = os.loadavg()[0];
  try {
    const predictions: Record<string, Float32Array[]> = {
      clot: levels.map((l) => model.sample(inputs, l)),
      'copy-first-anchor': levels.map(() => inputs),
      // Exact OT on at most DISPLACEMENT_ROWS rows per class and anchor (an n × n cost matrix each).
      'displacement-interpolation': displacementInterpolation(capPerClass(train, DISPLACEMENT_ROWS), levels).map((p) => firstPerClass(p, dim, o.classes, tpc)),
      'true-samples': floor,
    };
    const w2PerLevel: Record<string, number[]> = {};
    const w2: Record<string, number> = {};
    const w2Unseen: Record<string, number> = {};
    for (const [name, preds] of Object.entries(predictions)) {
      w2PerLevel[name] = preds.map((p, i) => perClassW2(p, truth[i], dim));
      w2[name] = mean(w2PerLevel[name]);
      w2Unseen[name] = mean(w2PerLevel[name].filter((_, i) => UNSEEN_LEVELS.includes(levels[i])));
    }
    return {
      dim,
      rows: train.data[0].length / (dim + 1),
      seed,
      fitSeconds,
      fitCpuSeconds: (cpu.user + cpu.system) / 1e6,
      peakRssMB: rss.stop(),
      load: [load0, load1],
      chosen,
      w2,
      w2Unseen,
      w2PerLevel,
      rowsUsed: model.info.training?.rows ?? null,
    };
  } finally {
    rss.stop();
    model.dispose();
  }
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(3));

/** The runs as a plain-text table (one line per configuration and seed); W2² cells: all scored λ / unseen λ. */
export function scaleTable(runs: ScaleRun[]): string {
  const head = ['D', 'rows/anchor', 'seed', 'chosen', 'fit s', 'fit CPU s', 'load', 'peak RSS MB', 'W2² CLOT', 'copy-first', 'displacement', 'floor'];
  const both = (r: ScaleRun, name: string) => `${fmt(r.w2[name])} / ${fmt(r.w2Unseen[name])}`;
  const lines = runs.map((r) => [
    String(r.dim),
    String(r.rows),
    String(r.seed),
    r.chosen ?? '—',
    fmt(r.fitSeconds),
    fmt(r.fitCpuSeconds),
    r.load.map((l) => l.toFixed(1)).join('–'),
    String(Math.round(r.peakRssMB)),
    both(r, 'clot'),
    both(r, 'copy-first-anchor'),
    both(r, 'displacement-interpolation'),
    both(r, 'true-samples'),
  ]);
  return markdownTable(head, lines);
}

async function main(): Promise<void> {
  const o = parseScaleArgs(process.argv.slice(2));
  await initEngine({ quiet: true });
  const configs = [...o.dims.map((d) => ({ dim: d, rows: o.rows })), ...o.rowSweep.map((n) => ({ dim: 2, rows: n }))];
  const runs: ScaleRun[] = [];
  for (const { dim, rows } of configs) {
    for (const seed of o.seeds) {
      process.stderr.write(`bench:scale · D = ${dim} · ${rows} rows/anchor · seed ${seed}: fitting…\n`);
      const run = await runOne(dim, rows, seed, o);
      process.stderr.write(`  fit ${run.fitSeconds.toFixed(1)} s (CPU ${run.fitCpuSeconds.toFixed(1)} s, load ${run.load.map((l) => l.toFixed(1)).join('–')}), W2² CLOT ${fmt(run.w2.clot)}, displacement ${fmt(run.w2['displacement-interpolation'])}, floor ${fmt(run.w2['true-samples'])}\n`);
      runs.push(run);
    }
  }
  const report = {
    benchmark: 'scale',
    backend: backendName(),
    node: process.version,
    cpus: os.cpus().length,
    family: 'scale-family (src/bench/scale-family.ts): anchors λ = 0, 0.5, 1; validation λ = 0.25, 0.75 (used with --select auto)',
    select: o.select,
    scoredLevels: SCORED_LEVELS,
    unseenLevels: UNSEEN_LEVELS,
    classes: o.classes,
    testPerClass: o.testPerClass,
    fit: o.fit,
    statistic: 'W2²: exact OT cost per class vs fresh true rows (testPerClass per class), mean over classes and scored λ (w2Unseen: the unseen λ alone)',
    runs,
  };
  const text = JSON.stringify(report, null, 2);
  if (o.out) {
    const tmp = `${o.out}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, text + '\n');
    fs.renameSync(tmp, o.out);
  }
  process.stdout.write(text + '\n');
  process.stderr.write('\n' + scaleTable(runs) + '\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((err: Error) => {
    process.stderr.write(`hti: ${err.message}\n`);
    process.exit(1);
  });
}
