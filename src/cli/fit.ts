/**
 * `hti fit`: train a surrogate (a CLOT preset or a baseline) on the anchor levels of a dataset and
 * save it as a model directory. The fit runs in a worker thread so that Ctrl-C is answered at once
 * (the main thread stays idle): the worker is stopped, its staging directory removed, exit 130.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Command } from 'commander';
import { anchorDataset, rowCount, type Dataset } from '../data/index.js';
import { addDataFlags, loadWithFlags, type DataFlags } from './data-flags.js';
import { initEngine } from '../engine/index.js';
import { ACTION_FORMS, METRIC_KINDS } from '../lagrangian/index.js';
import { CLOT_PRESETS, PRESET_SETTINGS, type FitProgress, type ModelInfo } from '../surrogate/index.js';
import { fitModel, isMethod, METHODS, type FitModelOptions } from '../methods/registry.js';
import { ProgressDisplay } from './progress.js';
import { OutDir } from './out-dir.js';
import { positiveNumber, nonNegativeNumber, nonNegativeInt, positiveInt, numberList, rowRange, seed, widthList } from './parsers.js';

interface FitCliOptions extends DataFlags {
  out: string;
  anchors?: number[];
  rows?: [number, number];
  method: string;
  metric?: string;
  potential?: boolean;
  alpha?: number;
  bandwidth?: number;
  condBandwidth?: number;
  steps?: number;
  seed?: number;
  equalSpacing?: boolean;
  batchSize?: number;
  couplingCap?: number;
  couplingRounds?: number;
  metricSteps?: number;
  mapSteps?: number;
  splineSteps?: number;
  splineRefitSteps?: number;
  actionForm?: string;
  lr?: number;
  hidden?: number[];
  splineWidth?: number;
  ctIterations?: number;
  potentialCap?: number;
  json?: boolean;
  quiet?: boolean;
}

/** What the worker needs: the training set, the method and its options, and where to save. */
export interface FitJob {
  train: Dataset;
  method: string;
  options: FitModelOptions;
  staging: string;
}

export type FitMessage =
  | { type: 'progress'; progress: FitProgress }
  | { type: 'done'; info: ModelInfo }
  | { type: 'error'; message: string };


// ---- from CLI flags to fit options ----

/** CLI flag → CLOT option, for the knobs only CLOT has. */
const CLOT_ONLY: [keyof Omit<FitCliOptions, 'out' | 'method'>, string, string][] = [
  ['metric', 'metric', '--metric'],
  ['potential', 'potential', '--potential/--no-potential'],
  ['alpha', 'alpha', '--alpha'],
  ['bandwidth', 'bandwidth', '--bandwidth'],
  ['condBandwidth', 'condBandwidth', '--cond-bandwidth'],
  ['couplingCap', 'couplingCap', '--coupling-cap'],
  ['couplingRounds', 'couplingRounds', '--coupling-rounds'],
  ['metricSteps', 'metricStepsPerRound', '--metric-steps'],
  ['mapSteps', 'mapSteps', '--map-steps'],
  ['splineSteps', 'splinePretrainSteps', '--spline-steps'],
  ['splineRefitSteps', 'splineRefitSteps', '--spline-refit-steps'],
  ['actionForm', 'actionForm', '--action-form'],
  ['splineWidth', 'splineWidth', '--spline-width'],
  ['ctIterations', 'ctIterations', '--ct-iterations'],
  ['potentialCap', 'potentialCap', '--potential-cap'],
];

/** The options object handed to `fitModel`; CLOT-only flags with a baseline are an error. */
export function buildFitOptions(method: string, o: Omit<FitCliOptions, 'out' | 'method'>): FitModelOptions {
  if (!isMethod(method)) throw new Error(`unknown method '${method}'; valid methods: ${METHODS.join(', ')}`);
  const clot = (CLOT_PRESETS as string[]).includes(method);
  if (o.metric !== undefined && !(METRIC_KINDS as string[]).includes(o.metric)) {
    throw new Error(`unknown metric '${o.metric}'; valid metrics: ${METRIC_KINDS.join(', ')}`);
  }
  if (o.actionForm !== undefined && !(ACTION_FORMS as string[]).includes(o.actionForm)) {
    throw new Error(`unknown action form '${o.actionForm}'; valid forms: ${ACTION_FORMS.join(', ')}`);
  }
  const out: FitModelOptions = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) out[key] = value;
  };
  set('seed', o.seed);
  set('steps', o.steps);
  set('equalSpacing', o.equalSpacing ? true : undefined);
  set('lr', o.lr);
  set('hidden', o.hidden);
  set(clot ? 'batchSize' : 'batch', o.batchSize);
  for (const [flag, key, name] of CLOT_ONLY) {
    if (o[flag] === undefined) continue;
    if (!clot) throw new Error(`${name} applies to the CLOT methods (${CLOT_PRESETS.join(', ')}), not to '${method}'`);
    set(key, o[flag]);
  }
  return out;
}

// ---- running the fit ----

const WORKER_FILE = fileURLToPath(new URL('./fit-worker.js', import.meta.url));

/** Fit in a worker thread; resolves with the saved model's info once `job.staging` is complete. */
function fitInWorker(job: FitJob, onProgress: (p: FitProgress) => void, onWorker: (w: Worker) => void): Promise<ModelInfo> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_FILE, { workerData: job });
    onWorker(worker);
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    worker.on('message', (m: FitMessage) => {
      if (m.type === 'progress') onProgress(m.progress);
      else if (m.type === 'done') finish(() => resolve(m.info));
      else finish(() => reject(new Error(m.message)));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`the fit stopped unexpectedly (worker exit code ${code})`))));
  });
}

/** Fit in this thread (when running from TypeScript sources, where a worker cannot load the file). */
async function fitHere(job: FitJob, onProgress: (p: FitProgress) => void): Promise<ModelInfo> {
  await initEngine();
  const model = await fitModel(job.method, job.train, { ...job.options, onProgress });
  try {
    await model.save(job.staging);
    return model.info;
  } finally {
    model.dispose();
  }
}

/** The final numbers of a training summary: fields named like a loss, cost or action. */
export function finalLosses(training: Record<string, unknown> | undefined): Record<string, number | number[]> {
  const out: Record<string, number | number[]> = {};
  for (const [k, v] of Object.entries(training ?? {})) {
    if (!/(loss|cost|action)$/i.test(k)) continue;
    // Only finite numbers: a phase that did not run (e.g. --steps 0) leaves NaN or an empty list.
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
    else if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) out[k] = v as number[];
  }
  return out;
}

function savedOptions(out: string): Record<string, unknown> {
  try {
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { options?: Record<string, unknown> };
    const { standardizer: _s, ...options } = config.options ?? {};
    void _s;
    return options;
  } catch {
    return {};
  }
}

function shortNumber(v: number): string {
  return String(Number(v.toPrecision(4)));
}

function summaryLine(out: string, info: ModelInfo, rows: number[], seconds: number): string {
  const label = (CLOT_PRESETS as string[]).includes(info.method) ? `${info.method}, ${PRESET_SETTINGS[info.method as keyof typeof PRESET_SETTINGS].label}` : info.method;
  const losses = Object.entries(finalLosses(info.training))
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.map(shortNumber).join('/') : shortNumber(v)}`)
    .join(', ');
  return (
    `hti fit: wrote ${out} (${label}) from ${info.anchors.length} anchors [${info.anchors.join(', ')}], ` +
    `${rows.join('/')} rows, in ${seconds.toFixed(1)} s${losses ? `; ${losses}` : ''}`
  );
}

/** The --json summary of a finished fit. */
function jsonSummary(out: string, info: ModelInfo, rows: number[], seconds: number): Record<string, unknown> {
  const { history: _h, ...training } = (info.training ?? {}) as Record<string, unknown>;
  void _h;
  return {
    model: out,
    method: info.method,
    kind: info.kind,
    dim: info.dim,
    cond: info.cond,
    categorical: info.categorical,
    classes: info.classes,
    ...(info.categorical ? { classIds: info.classIds } : {}),
    anchors: info.anchors,
    rows,
    fitSeconds: typeof training.fitSeconds === 'number' ? training.fitSeconds : seconds,
    wallSeconds: seconds,
    finalLosses: finalLosses(training),
    training,
    options: savedOptions(out),
  };
}

/** Run the fit into the staging directory, answering Ctrl-C at once (worker stopped, nothing left behind). */
async function runFit(job: FitJob, out: OutDir, display: ProgressDisplay | null): Promise<ModelInfo> {
  let worker: Worker | null = null;
  const interrupt = (signal: NodeJS.Signals) => {
    display?.stop();
    const exit = () => {
      out.abandon();
      process.stderr.write(`hti: fit interrupted (${signal}); no model written\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    if (worker) void worker.terminate().finally(exit);
    else exit();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  try {
    const onProgress = (p: FitProgress) => display?.update(p);
    const fromSources = !fs.existsSync(WORKER_FILE);
    return fromSources ? await fitHere(job, onProgress) : await fitInWorker(job, onProgress, (w) => (worker = w));
  } finally {
    display?.stop();
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

async function fitAction(data: string, o: FitCliOptions): Promise<void> {
  const { out: outArg, method, json, quiet, meta, dim, cond, categorical, outputs, conditions, anchors, rows, ...flags } = o;
  const fitOptions = buildFitOptions(method, flags);
  // Claimed before the data is read, so that a refused --out costs no time.
  const out = OutDir.claim(outArg);
  const started = performance.now();
  let info: ModelInfo;
  let rowCounts: number[];
  try {
    const train = anchorDataset(loadWithFlags(data, { meta, dim, cond, categorical, outputs, conditions }), anchors, rows);
    rowCounts = train.levels.map((_, t) => rowCount(train, t));
    info = await runFit({ train, method, options: fitOptions, staging: out.staging }, out, quiet ? null : new ProgressDisplay());
    out.publish();
  } catch (err) {
    out.abandon();
    throw err;
  }
  out.release();
  const seconds = (performance.now() - started) / 1000;
  const text = json ? JSON.stringify(jsonSummary(out.target, info, rowCounts, seconds), null, 2) : summaryLine(out.target, info, rowCounts, seconds);
  process.stdout.write(text + '\n');
}

export function registerFit(program: Command): void {
  const cmd = program
    .command('fit')
    .description('fit a surrogate on the anchor levels of a dataset and save it as a model directory')
    .argument('<data>', '.npy ([levels, rows, D+C]) or long-form .csv, with its JSON sidecar')
    .requiredOption('--out <model>', 'model directory to write: new, empty, or an hti model (its model files are replaced, other files kept)');
  addDataFlags(cmd)
    .option('--anchors <list>', 'anchor λ values, comma-separated (default: the sidecar\'s anchors)', numberList)
    .option('--rows <i:j>', 'train on rows i..j-1 of every anchor level', rowRange)
    .option('--method <name>', `${METHODS.join(' | ')}`, 'full')
    .option('--metric <kind>', `metric override: ${METRIC_KINDS.join(' | ')}`)
    .option('--potential', 'use the density potential Û (override the preset)')
    .option('--no-potential', 'leave out the density potential (override the preset)')
    .option('--alpha <a>', 'weight α of the density potential', nonNegativeNumber)
    .option('--bandwidth <h>', 'output-space KDE bandwidth h_y (default: from the data)', positiveNumber)
    .option('--cond-bandwidth <h>', 'condition-space bandwidth h_x for continuous conditions (default: Scott\'s rule)', positiveNumber)
    .option('--steps <n>', 'training steps (CLOT: dual steps after the warm start)', nonNegativeInt)
    .option('--seed <n>', 'seed of every random choice', seed)
    .option('--equal-spacing', 'anchor times k/K (as the reference code) instead of the real λ spacing')
    .option('--batch-size <n>', 'samples per training batch', positiveInt)
    .option('--coupling-cap <n>', 'CLOT: samples per condition group in the warm-start couplings', positiveInt)
    .option('--coupling-rounds <n>', 'CLOT: rounds of couplings → metric steps → spline refit', positiveInt)
    .option('--metric-steps <n>', 'CLOT: metric steps per coupling round', nonNegativeInt)
    .option('--map-steps <n>', 'CLOT: regression steps fitting the maps to the couplings', nonNegativeInt)
    .option('--spline-steps <n>', 'CLOT: spline network pre-fit steps', nonNegativeInt)
    .option('--spline-refit-steps <n>', 'CLOT: steps of each spline refit', nonNegativeInt)
    .option('--action-form <form>', `CLOT: ${ACTION_FORMS.join(' | ')}`)
    .option('--lr <rate>', 'learning rate of the main networks', positiveNumber)
    .option('--hidden <widths>', 'hidden layer widths, e.g. 64,64', widthList)
    .option('--spline-width <n>', 'CLOT: width of the spline network', positiveInt)
    .option('--ct-iterations <n>', 'CLOT: L-BFGS iterations per c-transform', positiveInt)
    .option('--potential-cap <n>', 'CLOT: reference points kept per path by the density potential', positiveInt)
    .option('--json', 'print a machine-readable summary (fit seconds, final losses, options)')
    .option('--quiet', 'no progress output')
    .action(fitAction);
}
