/**
 * Running a benchmark: fit a method on a task's anchors, push the first-anchor rows to every
 * held-out level, score, and record fit seconds and peak resident memory; score the trivial
 * references the same way.
 */
import { fitModel, BASELINES, isClotPreset } from '../methods/registry.js';
import { fitSelected, type Candidate, type FitReport, type SelectionSummary, type SelectMode } from '../methods/select.js';
import { initEngine } from '../engine/index.js';
import { selectLevels } from '../data/index.js';
import { CLOT_PRESETS, mergeOptions, type ProgressHook, type TrajectoryModel } from '../surrogate/index.js';
import { getTask, type PreparedTask, type TaskName, type TaskOptions, type TaskSpec } from './tasks.js';

/** A short CLOT schedule for development and smoke runs (`--quick`); scores mean little. */
export const QUICK_CLOT = { spline: { pretrainSteps: 20, refitSteps: 5 }, maps: { steps: 30 }, metric: { stepsPerRound: 5 } };
/** The same idea for the baselines. */
export const QUICK_BASELINE = { steps: 30, interpolantSteps: 10 };


/** Scores of one method (or reference) for one seed: per held-out level, metric → value. */
export interface SeedScores {
  seed: number;
  /** perLevel[i][metric] is the score at levels[i]. */
  perLevel: Record<string, number>[];
  fitSeconds?: number;
  scoreSeconds?: number;
  /** Peak resident set size (MB) seen while fitting and scoring. */
  peakRssMB?: number;
}

export interface MethodRun extends SeedScores {
  method: string;
  /** The fit options actually passed (minus callbacks). */
  fitOptions: Record<string, unknown>;
  /** With automatic selection: per fold, its validation and scored levels, fit time, choice and report. */
  folds?: { validation: number[]; scored: number[]; fitSeconds: number; selection: SelectionSummary; report: FitReport }[];
}

/**
 * Tracks the peak RSS of this process: sampled on a timer (when the event loop is free) and at
 * every explicit `sample()` (called from fit progress reports, which fire inside long sync work).
 */
export class RssSampler {
  private peak = 0;
  private timer: NodeJS.Timeout | null = null;

  start(intervalMs = 50): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    return this;
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }

  /** Stop sampling; the peak in MB. */
  stop(): number {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.peak / 2 ** 20;
  }
}

/** Which CLOT settings a benchmark fits: the CLI defaults (as `hti fit`), or the task's hand-set ones. */
export type BenchSettings = 'defaults' | 'hand';

/**
 * What selection may hold out: the task's validation levels (its folds), or only its anchors, as
 * `hti fit` does on data whose sidecar lists no validation levels (interior anchors left out with
 * three or more anchors, else the defaults uncalibrated), scored on every held-out level.
 */
export type BenchHeldOut = 'validation' | 'anchors';
export const BENCH_HELD_OUT: BenchHeldOut[] = ['validation', 'anchors'];

export interface RunOptions {
  seed: number;
  /** CLOT: 'defaults' (what `hti fit` does, with automatic selection unless `select` is 'none') or 'hand'. */
  settings?: BenchSettings;
  /** CLOT with default settings: automatic selection on the task's folds ('auto', the default) or none. */
  select?: SelectMode;
  /** With automatic selection: hold out the task's validation levels (default) or only its anchors. */
  heldOut?: BenchHeldOut;
  /** Candidates for automatic selection (default: those of `hti fit`). */
  candidates?: Candidate[];
  /** Short schedules (QUICK_CLOT / QUICK_BASELINE) instead of the defaults. */
  quick?: boolean;
  /** Extra fit options, applied last (e.g. {couplingCap: 16}). */
  fit?: Record<string, unknown>;
  onProgress?: ProgressHook;
  /** Called with the fitted model and its scores, before the model is disposed (e.g. to draw it). */
  withModel?: (model: TrajectoryModel, run: MethodRun) => void | Promise<void>;
}

/** The options a method is fitted with on a task (CLOT: the defaults, or the task's hand-set settings). */
export function fitOptionsFor(spec: TaskSpec, method: string, options: RunOptions): Record<string, unknown> {
  if (isClotPreset(method)) {
    const base = options.settings === 'hand' ? spec.hand : {};
    return mergeOptions(base, options.quick ? QUICK_CLOT : {}, options.fit, { seed: options.seed });
  }
  if ((BASELINES as readonly string[]).includes(method)) return mergeOptions(options.quick ? QUICK_BASELINE : {}, options.fit, { seed: options.seed });
  throw new Error(`unknown method '${method}'; valid methods: ${[...CLOT_PRESETS, ...BASELINES].join(', ')}`);
}

/** Whether a run fits like `hti fit` by default: CLOT, default settings, automatic selection. */
export function selects(method: string, options: Pick<RunOptions, 'settings' | 'select'>): boolean {
  return isClotPreset(method) && (options.settings ?? 'defaults') === 'defaults' && (options.select ?? 'auto') === 'auto';
}

/** Fit `method` on the prepared task, score it on every held-out level. */
export async function runMethod(spec: TaskSpec, prepared: PreparedTask, method: string, options: RunOptions): Promise<MethodRun> {
  const fitOptions = fitOptionsFor(spec, method, options);
  await initEngine({ quiet: true });
  if (selects(method, options)) return runSelected(prepared, method, fitOptions, options);
  const rss = new RssSampler().start();
  const t0 = performance.now();
  const model = await fitModel(method, prepared.train, {
    ...fitOptions,
    onProgress: (p) => {
      rss.sample();
      options.onProgress?.(p);
    },
  });
  try {
    const fitSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const perLevel = prepared.levels.map((lambda, i) => {
      const predicted = model.sample(prepared.inputs, lambda);
      rss.sample();
      return prepared.score(i, predicted);
    });
    const scoreSeconds = (performance.now() - t1) / 1000;
    const run: MethodRun = { method, seed: prepared.seed, perLevel, fitSeconds, scoreSeconds, peakRssMB: rss.stop(), fitOptions };
    await options.withModel?.(model, run);
    return run;
  } finally {
    rss.stop();
    model.dispose();
  }
}

/**
 * `hti fit` as a user runs it (automatic selection) on each fold of the task: the fit selects and
 * calibrates on the fold's validation levels and is scored on the task's levels outside them.
 * Fit seconds are the mean over folds (what one `hti fit` costs).
 */
async function runSelected(prepared: PreparedTask, method: string, fitOptions: Record<string, unknown>, options: RunOptions): Promise<MethodRun> {
  const rss = new RssSampler().start();
  const perLevel: Record<string, number>[] = new Array(prepared.levels.length);
  const folds: NonNullable<MethodRun['folds']> = [];
  let fitSeconds = 0;
  let scoreSeconds = 0;
  const { selectionData, folds: taskFolds } = options.heldOut === 'anchors' ? anchorsOnly(prepared) : prepared;
  try {
    for (const fold of taskFolds) {
      const scored = prepared.levels.flatMap((l, i) => (!fold.validation.includes(l) && perLevel[i] === undefined ? [i] : []));
      if (scored.length === 0) continue;
      const t0 = performance.now();
      const { model, selection, report } = await fitSelected(method, { ...selectionData, validation: fold.validation }, {
        fit: fitOptions,
        candidates: options.candidates,
        onProgress: (p) => {
          rss.sample();
          options.onProgress?.(p);
        },
      });
      try {
        const seconds = (performance.now() - t0) / 1000;
        fitSeconds += seconds;
        const t1 = performance.now();
        for (const i of scored) perLevel[i] = prepared.score(i, model.sample(prepared.inputs, prepared.levels[i]));
        scoreSeconds += (performance.now() - t1) / 1000;
        folds.push({ validation: fold.validation, scored: scored.map((i) => prepared.levels[i]), fitSeconds: seconds, selection, report });
        if (folds.length === 1 && options.withModel) {
          await options.withModel(model, { method, seed: prepared.seed, perLevel, fitOptions, fitSeconds: seconds });
        }
      } finally {
        model.dispose();
      }
    }
  } finally {
    rss.stop();
  }
  const missing = prepared.levels.filter((_, i) => perLevel[i] === undefined);
  if (missing.length) throw new Error(`${prepared.task}: no fold scores level(s) ${missing.join(', ')}`);
  return { method, seed: prepared.seed, perLevel, fitSeconds: fitSeconds / folds.length, scoreSeconds, peakRssMB: rss.stop(), fitOptions, folds };
}

/** The task as data without validation levels: its anchors only, one fold that scores every level. */
export function anchorsOnly(prepared: PreparedTask): Pick<PreparedTask, 'selectionData' | 'folds'> {
  return { selectionData: selectLevels(prepared.selectionData, prepared.train.levels), folds: [{ validation: [] }] };
}

export interface ReferenceRun extends SeedScores {
  name: string;
  label: string;
  note?: string;
}

/** Score every trivial reference of the prepared task. */
export function runReferences(prepared: PreparedTask): ReferenceRun[] {
  return prepared.references.map((ref) => ({
    name: ref.name,
    label: ref.label,
    ...(ref.note ? { note: ref.note } : {}),
    seed: prepared.seed,
    perLevel: ref.predictions.map((pred, i) => prepared.score(i, pred)),
  }));
}

/** Everything measured on one task: every method and reference for every seed. */
export interface TaskResult {
  task: TaskName;
  /** CLOT settings used: the defaults (with or without selection) or the task's hand-set ones. */
  settings: BenchSettings;
  select: SelectMode;
  heldOut: BenchHeldOut;
  levels: number[];
  seeds: number[];
  methods: MethodRun[];
  references: ReferenceRun[];
  details: Record<string, unknown>;
}

export interface BenchOptions extends Omit<RunOptions, 'seed' | 'onProgress' | 'withModel'> {
  seeds: number[];
  task: TaskOptions;
  /** A line of progress (task, method, seed, timing) for stderr. */
  log?: (line: string) => void;
  onProgress?: (task: TaskName, method: string, seed: number) => ProgressHook | undefined;
}

/** Run methods × seeds on one task, with the references scored per seed. */
export async function runTask(name: TaskName, methods: string[], options: BenchOptions): Promise<TaskResult> {
  const spec = getTask(name);
  if (options.seeds.length === 0) throw new Error('no seeds given');
  for (const m of methods) fitOptionsFor(spec, m, { seed: 0 });
  const result: TaskResult = { task: name, levels: [], seeds: options.seeds, methods: [], references: [], details: {}, settings: options.settings ?? 'defaults', select: options.select ?? 'auto', heldOut: options.heldOut ?? 'validation' };
  if (result.heldOut === 'anchors' && !methods.some((m) => selects(m, options))) {
    throw new Error('held-out anchors apply to CLOT with automatic selection (default settings, --select auto)');
  }
  for (const seed of options.seeds) {
    await spec.ensure?.(seed, options.task, options.log);
    const prepared = spec.prepare(seed, options.task);
    result.levels = prepared.levels;
    result.details = prepared.details;
    result.references.push(...runReferences(prepared));
    for (const method of methods) {
      options.log?.(`${name} · ${method} · seed ${seed}: fitting…`);
      const run = await runMethod(spec, prepared, method, {
        seed,
        settings: options.settings,
        select: options.select,
        heldOut: options.heldOut,
        quick: options.quick,
        fit: options.fit,
        onProgress: options.onProgress?.(name, method, seed),
      });
      options.log?.(`${name} · ${method} · seed ${seed}: fit ${run.fitSeconds!.toFixed(1)} s, scored in ${run.scoreSeconds!.toFixed(1)} s, peak RSS ${Math.round(run.peakRssMB!)} MB`);
      result.methods.push(run);
    }
  }
  return result;
}
