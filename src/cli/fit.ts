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
import { CLOT_DEFAULTS, CLOT_PRESETS, COUPLING_FULL_CAP_MAX_DIM, COUPLING_MIN_CAP, GIVENS_DEFAULT_MAX_DIM, LAMBDA_SCALES, PRESET_SETTINGS, idleSettings, type LambdaScale, type ClotOptions, type ClotPreset, type FitProgress, type ModelInfo } from '../surrogate/index.js';
import { BASELINES, isMethod, METHODS, type FitModelOptions } from '../methods/registry.js';
import { fitSelected, SELECT_MODES, type FitReport, type SelectionSummary, type SelectMode } from '../methods/select.js';
import { ProgressDisplay } from './progress.js';
import { OutDir } from './out-dir.js';
import { choice, positiveNumber, nonNegativeNumber, nonNegativeInt, positiveInt, numberList, rowRange, seed, widthList } from './parsers.js';

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
  couplingMinibatches?: number;
  metricSteps?: number;
  mapSteps?: number;
  splineSteps?: number;
  splineRefitSteps?: number;
  actionForm?: string;
  lr?: number;
  hidden?: number[];
  splineWidth?: number;
  potentialCap?: number;
  scale?: string;
  json?: boolean;
  quiet?: boolean;
  select: SelectMode;
}

/** What the worker needs: the data, anchors and rows, the method and its options, and where to save. */
export interface FitJob {
  data: Dataset;
  anchors?: number[];
  rows?: [number, number];
  method: string;
  options: FitModelOptions;
  select: SelectMode;
  staging: string;
}

export type FitMessage =
  | { type: 'progress'; progress: FitProgress }
  | { type: 'log'; line: string }
  | { type: 'done'; info: ModelInfo }
  | { type: 'error'; message: string };





// ---- from CLI flags to fit options ----

/** CLI flag → where it goes in the CLOT options (group.key), for the knobs only CLOT has. */
const CLOT_ONLY: [keyof Omit<FitCliOptions, 'out' | 'method' | 'select'>, string, string][] = [
  ['metric', 'metric.kind', '--metric'],
  ['metricSteps', 'metric.stepsPerRound', '--metric-steps'],
  ['potential', 'potential.enabled', '--potential/--no-potential'],
  ['alpha', 'potential.alpha', '--alpha'],
  ['bandwidth', 'potential.bandwidth', '--bandwidth'],
  ['condBandwidth', 'potential.condBandwidth', '--cond-bandwidth'],
  ['potentialCap', 'potential.cap', '--potential-cap'],
  ['couplingCap', 'couplings.cap', '--coupling-cap'],
  ['couplingRounds', 'couplings.rounds', '--coupling-rounds'],
  ['couplingMinibatches', 'couplings.minibatches', '--coupling-minibatches'],
  ['mapSteps', 'maps.steps', '--map-steps'],
  ['splineSteps', 'spline.pretrainSteps', '--spline-steps'],
  ['splineRefitSteps', 'spline.refitSteps', '--spline-refit-steps'],
  ['splineWidth', 'spline.width', '--spline-width'],
  ['actionForm', 'actionForm', '--action-form'],
  ['scale', 'scale', '--scale'],
];

/** Flags the baselines take that CLOT does not (CLOT's schedule has its own step flags). */
const BASELINE_ONLY: [keyof Omit<FitCliOptions, 'out' | 'method' | 'select'>, string][] = [
  ['steps', '--steps'],
  ['equalSpacing', '--equal-spacing'],
];

/** Set `value` at a dotted path ('maps.steps') of a plain options object. */
function setPath(out: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = out;
  for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
  node[keys[keys.length - 1]] = value;
}

/** The options object handed to `fitModel`; a flag the method has no use for is an error. */
export function buildFitOptions(method: string, o: Omit<FitCliOptions, 'out' | 'method' | 'select'>): FitModelOptions {
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
    if (value !== undefined) setPath(out, key, value);
  };
  set('seed', o.seed);
  if (clot) {
    for (const [flag, name] of BASELINE_ONLY) {
      if (o[flag] !== undefined) throw new Error(`${name} applies to the baselines (${BASELINES.join(', ')}), not to CLOT ('${method}'); CLOT's schedule is set by --spline-steps, --map-steps and --metric-steps`);
    }
    set('maps.lr', o.lr);
    set('maps.hidden', o.hidden);
    set('maps.batch', o.batchSize);
    set('spline.batch', o.batchSize);
  } else {
    set('steps', o.steps);
    set('equalSpacing', o.equalSpacing ? true : undefined);
    set('lr', o.lr);
    set('hidden', o.hidden);
    set('batch', o.batchSize);
  }
  for (const [flag, key, name] of CLOT_ONLY) {
    if (o[flag] === undefined) continue;
    if (!clot) throw new Error(`${name} applies to the CLOT methods (${CLOT_PRESETS.join(', ')}), not to '${method}'`);
    set(key, o[flag]);
  }
  if (clot) {
    // A flag that would change nothing for this preset is refused, not silently ignored.
    const settings = out as ClotOptions;
    const preset = PRESET_SETTINGS[method as ClotPreset];
    const resolved = { metric: { kind: settings.metric?.kind ?? preset.metric }, potential: { enabled: settings.potential?.enabled ?? preset.potential } };
    const idle = idleSettings(settings, resolved as Parameters<typeof idleSettings>[1]);
    if (idle.length) {
      const flag = CLOT_ONLY.find(([, key]) => key === idle[0])?.[2] ?? idle[0];
      const why = idle[0].startsWith('potential.') ? 'the density potential, which is off' : 'a learned metric, but the metric is Euclidean';
      throw new Error(`${flag} changes nothing here: it applies to ${why} for '${method}'`);
    }
  }
  return out;
}

// ---- running the fit ----

const WORKER_FILE = fileURLToPath(new URL('./fit-worker.js', import.meta.url));

/** Fit in a worker thread; resolves with the saved model's info once `job.staging` is complete. */
function fitInWorker(job: FitJob, onProgress: (p: FitProgress) => void, log: (line: string) => void, onWorker: (w: Worker) => void): Promise<ModelInfo> {
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
      else if (m.type === 'log') log(m.line);
      else if (m.type === 'done') finish(() => resolve(m.info));
      else finish(() => reject(new Error(m.message)));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`the fit stopped unexpectedly (worker exit code ${code})`))));
  });
}

/** Fit (with selection) and save into the staging directory; shared by the worker and this thread. */
export async function runFitJob(job: FitJob, onProgress: (p: FitProgress) => void, log: (line: string) => void): Promise<ModelInfo> {
  await initEngine();
  const { model } = await fitSelected(job.method, job.data, { select: job.select, anchors: job.anchors, rows: job.rows, fit: job.options, onProgress, log });
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
    const { scaling: _s, ...options } = config.options ?? {};
    void _s;
    return options;
  } catch {
    return {};
  }
}

function shortNumber(v: number): string {
  return String(Number(v.toPrecision(4)));
}

/** The selection and the held-out comparison, as printed after the summary line. */
export function reportLines(info: ModelInfo): string[] {
  const selection = info.training?.selection as SelectionSummary | undefined;
  const report = info.training?.report as FitReport | undefined;
  const lines: string[] = [];
  const where = (kind: string, levels: number[]) => `${kind === 'validation' ? 'validation levels' : 'left-out anchors'} ${levels.join(', ')}`;
  if (selection?.chosen) {
    // Models saved before candidates carried their rank were ranked by the held-out mean.
    const others = selection.candidates.map((c) => `${c.name} ${shortNumber(c.rank ?? c.mean)}`).join(', ');
    const by = selection.heldOut === 'validation' ? 'rank: √(calibrated × leave-one-out W2²)' : 'held-out W2²';
    const scale = selection.candidates.find((c) => c.name === selection.chosen)?.scale;
    lines.push(`selection on ${where(selection.heldOut, selection.levels)}: chose ${selection.chosen}${scale ? `, λ scale ${scale}` : ''} (candidates, ${by}: ${others})`);
  }
  if (report && report.levels.length) {
    const refs = report.references.map((r) => `${r.name} ${shortNumber(r.mean)}`).join(', ');
    lines.push(`held-out W2² on ${where(report.heldOut, report.levels)}: surrogate ${shortNumber(report.model.mean)}; ${refs}`);
  }
  if (report?.anchors?.length) {
    const at = report.anchors.map((a) => `λ=${a.lambda} ${shortNumber(a.score)} (copy-first ${shortNumber(a.copyFirst)})`).join(', ');
    lines.push(`anchors reproduced, W2² to each anchor's own rows: ${at}`);
  }
  return lines;
}

function summaryLine(out: string, info: ModelInfo, rows: number[], seconds: number): string {
  const label = (CLOT_PRESETS as string[]).includes(info.method) ? `${info.method}, ${PRESET_SETTINGS[info.method as keyof typeof PRESET_SETTINGS].label}` : info.method;
  const losses = Object.entries(finalLosses(info.training))
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.map(shortNumber).join('/') : shortNumber(v)}`)
    .join(', ');
  const used = (info.training?.rows as { summary?: unknown } | undefined)?.summary;
  return (
    `hti fit: wrote ${out} (${label}) from ${info.anchors.length} anchors [${info.anchors.join(', ')}], ` +
    `${rows.join('/')} rows, in ${seconds.toFixed(1)} s${losses ? `; ${losses}` : ''}${typeof used === 'string' ? `; ${used}` : ''}`
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
    // What the user waited for: every candidate of the selection and the final fit.
    fitSeconds: seconds,
    finalLosses: finalLosses(training),
    selection: training.selection,
    report: training.report,
    training,
    options: savedOptions(out),
  };
}

/** Run the fit into the staging directory, answering Ctrl-C at once (worker stopped, nothing left behind). */
async function runFit(job: FitJob, out: OutDir, display: ProgressDisplay | null, log: (line: string) => void): Promise<ModelInfo> {
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
    return fromSources ? await runFitJob(job, onProgress, log) : await fitInWorker(job, onProgress, log, (w) => (worker = w));
  } finally {
    display?.stop();
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

async function fitAction(data: string, o: FitCliOptions): Promise<void> {
  const { out: outArg, method, json, quiet, meta, dim, cond, categorical, outputs, conditions, anchors, rows, select, ...flags } = o;
  const fitOptions = buildFitOptions(method, flags);
  // Claimed before the data is read, so that a refused --out costs no time.
  const out = OutDir.claim(outArg);
  const started = performance.now();
  let info: ModelInfo;
  let rowCounts: number[];
  try {
    const ds = loadWithFlags(data, { meta, dim, cond, categorical, outputs, conditions });
    const train = anchorDataset(ds, anchors, rows);
    rowCounts = train.levels.map((_, t) => rowCount(train, t));
    const display = quiet ? null : new ProgressDisplay();
    const log = (line: string) => {
      if (quiet) return;
      display?.stop();
      process.stderr.write(`hti fit: ${line}\n`);
    };
    info = await runFit({ data: ds, anchors, rows, method, options: fitOptions, select, staging: out.staging }, out, display, log);
    out.publish();
  } catch (err) {
    out.abandon();
    throw err;
  }
  out.release();
  const seconds = (performance.now() - started) / 1000;
  const text = json ? JSON.stringify(jsonSummary(out.target, info, rowCounts, seconds), null, 2) : [summaryLine(out.target, info, rowCounts, seconds), ...reportLines(info)].join('\n');
  process.stdout.write(text + '\n');
  const warning = (info.training?.report as FitReport | undefined)?.warning;
  if (warning) process.stderr.write(`warning: ${warning}\n`);
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
    .option('--select <mode>', 'auto: fit candidate CLOT settings and keep the one closest to the held-out truth (validation levels, or left-out anchors), calibrating where held-out λ sit along the paths; none: fit the given settings only', choice<SelectMode>(SELECT_MODES, 'mode'), 'auto')
    .option('--metric <kind>', `metric override: ${METRIC_KINDS.join(' | ')} (full and k-theta: eigen-budget, Givens directions, up to D = ${GIVENS_DEFAULT_MAX_DIM}; householder above)`)
    .option('--potential', 'use the density potential Û (override the preset)')
    .option('--no-potential', 'leave out the density potential (override the preset)')
    .option('--alpha <a>', `CLOT: weight α of the density potential (default ${CLOT_DEFAULTS.potential.alpha})`, nonNegativeNumber)
    .option('--bandwidth <h>', 'CLOT: KDE bandwidth h_y in standardised output units (default: the median 7th-neighbour distance)', positiveNumber)
    .option('--cond-bandwidth <h>', "CLOT: condition bandwidth h_x in standardised units, continuous conditions (default: Scott's rule)", positiveNumber)
    .option('--steps <n>', 'baselines: training steps (default: the method\'s own)', nonNegativeInt)
    .option('--seed <n>', 'seed of every random choice (default 0)', seed)
    .option('--equal-spacing', 'baselines: anchor times k/K (as the reference code) instead of the real λ spacing')
    .option('--batch-size <n>', `samples per training step (CLOT: pairs per spline, metric and map step; default ${CLOT_DEFAULTS.maps.batch})`, positiveInt)
    .option('--coupling-cap <n>', `CLOT: samples per class or condition group in one exact coupling (default ${CLOT_DEFAULTS.couplings.cap} up to D = ${COUPLING_FULL_CAP_MAX_DIM}, shrinking as 1/D above, never below ${COUPLING_MIN_CAP})`, positiveInt)
    .option('--coupling-minibatches <n>', `CLOT: disjoint minibatches of --coupling-cap rows per class or condition group in the couplings the maps are fitted to (default ${CLOT_DEFAULTS.couplings.minibatches}; above D = ${COUPLING_FULL_CAP_MAX_DIM}, as many as keep ${CLOT_DEFAULTS.couplings.cap * CLOT_DEFAULTS.couplings.minibatches} rows per group)`, positiveInt)
    .option('--coupling-rounds <n>', `CLOT, learned metrics: rounds of couplings → metric steps → spline refit (default ${CLOT_DEFAULTS.couplings.rounds})`, positiveInt)
    .option('--metric-steps <n>', `CLOT, learned metrics: metric steps per coupling round (default ${CLOT_DEFAULTS.metric.stepsPerRound})`, nonNegativeInt)
    .option('--map-steps <n>', `CLOT: regression steps fitting the maps to the couplings (default ${CLOT_DEFAULTS.maps.steps})`, nonNegativeInt)
    .option('--spline-steps <n>', `CLOT: spline network pre-fit steps (default ${CLOT_DEFAULTS.spline.pretrainSteps})`, nonNegativeInt)
    .option('--spline-refit-steps <n>', `CLOT: steps of each spline refit (default ${CLOT_DEFAULTS.spline.refitSteps})`, nonNegativeInt)
    .option('--action-form <form>', `CLOT: action form of the transport cost, ${ACTION_FORMS.join(' | ')} (default ${CLOT_DEFAULTS.actionForm})`)
    .option('--lr <rate>', 'learning rate (CLOT: of the maps T_k; baselines: of their network)', positiveNumber)
    .option('--hidden <widths>', 'hidden layer widths, e.g. 64,64 (CLOT: of the maps T_k)', widthList)
    .option('--spline-width <n>', `CLOT: width of the spline network (default ${CLOT_DEFAULTS.spline.width})`, positiveInt)
    .option('--potential-cap <n>', `CLOT: mixture components kept per path by the density potential (default ${CLOT_DEFAULTS.potential.cap})`, positiveInt)
    .option(
      '--scale <scale>',
      `CLOT: the λ coordinate in which the surrogate moves at constant speed between anchors and calibrated levels: auto | ${LAMBDA_SCALES.join(' | ')} (log: λ > 0; logit: 0 < λ < 1; log1m: −ln(1 − λ), λ < 1). auto: logit when every anchor lies in (0, 1), log1m in [0, 1), linear otherwise; with held-out levels, linear is kept where they prefer it. Overrides the sidecar's "scale"`,
      choice<LambdaScale | 'auto'>(['auto', ...LAMBDA_SCALES], 'λ scale'),
    )
    .option('--json', 'print a machine-readable summary (fit seconds, final losses, options)')
    .option('--quiet', 'no progress output')
    .action(fitAction);
}
