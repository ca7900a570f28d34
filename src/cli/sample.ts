/**
 * `hti sample` and `hti trajectory`: push rows given at the first anchor to one λ, or to a grid of
 * λ, with a saved model; results are written as .npy (atomically: temp file + rename).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { encodeNpy, readRowsFile, writeFileAtomic } from '../data/index.js';
import { initEngine } from '../engine/index.js';
import { loadModel } from '../methods/registry.js';
import type { TrajectoryModel } from '../surrogate/model.js';
import { finiteNumber, nonNegativeInt, positiveInt } from './parsers.js';

interface RowSource {
  from?: string;
  class?: number;
  n?: number;
  seed: number;
}

interface SampleCliOptions extends RowSource {
  lambda: number;
  out: string;
}

interface TrajectoryCliOptions extends RowSource {
  lambdas: number[];
  out: string;
}

/** Largest output written (values); beyond it the user should split the job. */
const MAX_VALUES = 2 ** 28;




/** Round off float noise of a grid (0.1 + 0.2 → 0.3) without moving real values. */
function clean(v: number): number {
  return Number(v.toPrecision(12));
}

/**
 * A λ grid: `a:b:step` (a, a + step, …, up to b inclusive) or a comma list `a,b,c`.
 */
export function parseLambdaGrid(value: string): number[] {
  const text = value.trim();
  if (text.includes(':')) {
    const parts = text.split(':').map((s) => s.trim());
    const nums = parts.map(Number);
    if (parts.length !== 3 || parts.some((p) => p === '') || nums.some((v) => !Number.isFinite(v))) {
      throw new InvalidArgumentError('expected START:END:STEP (e.g. 0:1:0.1) or a comma list (e.g. 0,0.5,1)');
    }
    const [a, b, step] = nums;
    if (!(step > 0)) throw new InvalidArgumentError(`STEP must be positive, got ${step}`);
    if (!(b >= a)) throw new InvalidArgumentError(`END must be ≥ START, got ${a}:${b}`);
    const count = Math.floor((b - a) / step + 1e-9) + 1;
    if (count > 100_000) throw new InvalidArgumentError(`the grid has ${count} values; at most 100000`);
    return Array.from({ length: count }, (_, i) => clean(a + i * step));
  }
  const parts = text.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.some((p) => p === '') || nums.some((v) => !Number.isFinite(v))) {
    throw new InvalidArgumentError('expected START:END:STEP (e.g. 0:1:0.1) or a comma list (e.g. 0,0.5,1)');
  }
  return nums;
}

/** Write an .npy beside its final name, then rename: a reader never sees a half-written file. */
export function writeNpyAtomic(file: string, shape: number[], data: Float32Array): void {
  const full = path.resolve(file);
  const dir = path.dirname(full);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`cannot write '${file}': directory ${path.dirname(file)} does not exist`);
  if (fs.existsSync(full) && fs.statSync(full).isDirectory()) throw new Error(`cannot write '${file}': it is a directory`);
  writeFileAtomic(file, encodeNpy({ shape, data }));
}

function checkOut(out: string): void {
  if (!/\.npy$/i.test(out)) throw new Error(`--out must name an .npy file, got '${out}'`);
}

/** The starting rows: a rows file, or `n` stored first-anchor rows (of one class, for a categorical model). */
function startRows(model: TrajectoryModel, o: RowSource): { rows: number; data: Float32Array } {
  const { dim, cond, categorical, classes } = model.info;
  const width = dim + cond;
  if (o.from !== undefined) {
    if (o.class !== undefined || o.n !== undefined) throw new Error('give either --from ROWS or --n K (with --class c), not both');
    const r = readRowsFile(o.from, width);
    if (r.rows === 0) throw new Error(`'${o.from}' holds no rows`);
    return r;
  }
  if (o.class !== undefined && !categorical) {
    throw new Error(`--class applies only to a model with a categorical condition; this model's condition is ${cond === 0 ? 'empty (unconditional)' : `continuous (${cond} columns)`}`);
  }
  if (o.class !== undefined && o.class >= classes) throw new Error(`--class ${o.class} is not one of the model's classes 0..${classes - 1}`);
  if (o.n === undefined) {
    throw new Error(categorical ? 'give the starting rows: --from ROWS.npy, or --class c --n K' : 'give the starting rows: --from ROWS.npy, or --n K stored first-anchor rows');
  }
  return { rows: o.n, data: model.anchorRows(o.class ?? null, o.n, o.seed) };
}

function checkSize(values: number): void {
  if (values > MAX_VALUES) throw new Error(`the output would hold ${values} values (more than ${MAX_VALUES}); use fewer rows or λ values`);
}

async function sampleAction(modelDir: string, o: SampleCliOptions): Promise<void> {
  checkOut(o.out);
  await initEngine();
  const model = loadModel(modelDir);
  try {
    const { dim, cond } = model.info;
    const { rows, data } = startRows(model, o);
    checkSize(rows * (dim + cond));
    const result = model.sample(data, o.lambda);
    writeNpyAtomic(o.out, [rows, dim + cond], result);
    process.stdout.write(`hti sample: wrote ${o.out} [${rows}, ${dim + cond}] at λ = ${o.lambda}\n`);
  } finally {
    model.dispose();
  }
}

async function trajectoryAction(modelDir: string, o: TrajectoryCliOptions): Promise<void> {
  checkOut(o.out);
  await initEngine();
  const model = loadModel(modelDir);
  try {
    const { dim, cond } = model.info;
    const { rows, data } = startRows(model, o);
    checkSize(o.lambdas.length * rows * (dim + cond));
    const result = model.trajectory(data, o.lambdas);
    writeNpyAtomic(o.out, [o.lambdas.length, rows, dim + cond], result);
    process.stdout.write(`hti trajectory: wrote ${o.out} [${o.lambdas.length}, ${rows}, ${dim + cond}] for λ ∈ [${o.lambdas[0]}, ${o.lambdas[o.lambdas.length - 1]}]\n`);
  } finally {
    model.dispose();
  }
}

function rowOptions(cmd: Command): Command {
  return cmd
    .option('--from <rows>', 'starting rows at the first anchor: .npy [N, D+C] or CSV')
    .option('--n <count>', 'instead of --from: draw this many stored first-anchor rows', positiveInt)
    .option('--class <c>', 'with --n: rows of this class only (categorical models)', nonNegativeInt)
    .option('--seed <n>', 'seed for drawing stored rows', nonNegativeInt, 0);
}

export function registerSample(program: Command): void {
  rowOptions(
    program
      .command('sample')
      .description('push rows given at the first anchor to λ with a saved model; writes [N, D+C] .npy')
      .argument('<model>', 'model directory (from hti fit)')
      .requiredOption('--lambda <L>', 'hyperparameter value, within the model\'s anchor range', finiteNumber)
      .requiredOption('--out <file>', 'output .npy [N, D+C] (conditions passed through)'),
  ).action(sampleAction);

  rowOptions(
    program
      .command('trajectory')
      .description('push rows given at the first anchor along a grid of λ; writes [L, N, D+C] .npy')
      .argument('<model>', 'model directory (from hti fit)')
      .requiredOption('--lambdas <grid>', 'START:END:STEP (END included) or a comma list', parseLambdaGrid)
      .requiredOption('--out <file>', 'output .npy [L, N, D+C]'),
  ).action(trajectoryAction);
}
