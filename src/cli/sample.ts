/**
 * `hti sample` and `hti trajectory`: push rows given at the first anchor to one λ, or to a grid of
 * λ, with a saved model; results are written as .npy (atomically: temp file + rename).
 */
import type { Command } from 'commander';
import { encodeNpy, readRowsFile, writeFileAtomic } from '../data/index.js';
import { initEngine } from '../engine/index.js';
import { loadModel } from '../methods/registry.js';
import { checkRows, knownClasses, rowsFarOutside, unknownClassError, type TrajectoryModel } from '../surrogate/model.js';
import { printWarning } from './messages.js';
import { finiteNumber, lambdaGrid, nonNegativeInt, positiveInt, seed } from './parsers.js';

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


/** Write an .npy beside its final name, then rename: a reader never sees a half-written file. */
export function writeNpyAtomic(file: string, shape: number[], data: Float32Array): void {
  writeFileAtomic(file, encodeNpy({ shape, data }));
}

function checkOut(out: string): void {
  if (!/\.npy$/i.test(out)) throw new Error(`--out must name an .npy file, got '${out}'`);
}

/**
 * The starting rows: a rows file, or `n` stored first-anchor rows (of one class, for a categorical
 * model). `valuesPerRow` values per row will be written: the size is checked before anything is read
 * or drawn.
 */
function startRows(model: TrajectoryModel, o: RowSource, valuesPerRow: number): { rows: number; data: Float32Array } {
  const { dim, cond, categorical } = model.info;
  const width = dim + cond;
  if (o.from !== undefined) {
    if (o.class !== undefined || o.n !== undefined) throw new Error('give either --from ROWS or --n K (with --class c), not both');
    const r = readRowsFile(o.from, width);
    if (r.rows === 0) throw new Error(`'${o.from}' holds no rows`);
    checkSize(r.rows * valuesPerRow);
    try {
      checkRows(model.info, r.data);
    } catch (err) {
      throw new Error(`'${o.from}': ${(err as Error).message}`);
    }
    warnIfFarOutside(model, r.data, o.from);
    return r;
  }
  if (o.class !== undefined && !categorical) {
    throw new Error(`--class applies only to a model with a categorical condition; this model's condition is ${cond === 0 ? 'empty (unconditional)' : `continuous (${cond} columns)`}`);
  }
  if (o.class !== undefined && !knownClasses(model.info).includes(o.class)) throw unknownClassError(model.info, o.class, '--class: ');
  if (o.n === undefined) {
    throw new Error(categorical ? 'give the starting rows: --from ROWS.npy, or --class c --n K' : 'give the starting rows: --from ROWS.npy, or --n K stored first-anchor rows');
  }
  checkSize(o.n * valuesPerRow);
  return { rows: o.n, data: model.anchorRows(o.class ?? null, o.n, o.seed) };
}

/**
 * Rows far outside the training data are answered (the networks extrapolate) with one warning;
 * rows of a class the model never saw are refused (checkRows), as no answer would mean anything.
 */
export function warnIfFarOutside(model: TrajectoryModel, rows: Float32Array, source: string): void {
  const far = rowsFarOutside(model.info, rows);
  if (!far) return;
  const { dim } = model.info;
  const name = far.column < dim ? `output y${far.column}` : `condition x${far.column - dim}`;
  const fmt = (v: number) => String(Number(v.toPrecision(4)));
  printWarning(
    `${far.rows} of ${far.total} rows of '${source}' lie far outside the training data (${name} = ${fmt(far.value)}, trained on [${fmt(far.range[0])}, ${fmt(far.range[1])}]); the answer there is an extrapolation`,
  );
}

function checkSize(values: number): void {
  if (!(values <= MAX_VALUES)) throw new Error(`the output would hold ${values} values (more than ${MAX_VALUES}); use fewer rows or λ values`);
}

async function sampleAction(modelDir: string, o: SampleCliOptions): Promise<void> {
  checkOut(o.out);
  await initEngine();
  const model = loadModel(modelDir);
  try {
    const { dim, cond } = model.info;
    const { rows, data } = startRows(model, o, dim + cond);
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
    const { rows, data } = startRows(model, o, o.lambdas.length * (dim + cond));
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
    .option('--seed <n>', 'seed for drawing stored rows', seed, 0);
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
      .requiredOption('--lambdas <grid>', 'START:END:STEP (END included) or a comma list', lambdaGrid)
      .requiredOption('--out <file>', 'output .npy [L, N, D+C]'),
  ).action(trajectoryAction);
}
