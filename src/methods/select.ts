/**
 * `hti fit` with automatic selection (method.md's settings are not known for a user's family):
 *   - held-out information is the sidecar's validation levels, or, with ≥ 3 anchors, every other
 *     interior anchor left out of a trial fit (heldout.ts);
 *   - a small set of candidate CLOT settings is fitted on it, in worker threads, and each
 *     candidate's time warp is calibrated on the held-out levels (calibrate.ts);
 *   - the candidate closest to the held-out truth wins; with left-out anchors it is refitted on all
 *     anchors, its warp drawn from where the left-out anchors were found;
 *   - a fit report compares the surrogate with the trivial references on the held-out levels and
 *     warns when it does not beat them.
 * The chosen settings, every candidate's score and the report are saved in config.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { anchorDataset, type Dataset } from '../data/index.js';
import { initEngine } from '../engine/index.js';
import { trivialReferences, type OtWarmStarts } from '../eval/index.js';
import { loadClot, mergeOptions, priorWarp, readModelDir, shapeWarp, type ClotOptions, type LambdaScale, type WarpKnots, type ClotPreset, type ClotSurrogate, type FitProgress, type ProgressHook, type TrajectoryModel } from '../surrogate/index.js';
import { calibratePositions, warpFromLeftOutAnchors, warpFromLevels, warpWithout, type CalibratedLevel } from './calibrate.js';
import { capForScoring, heldOutFor, heldOutScore, type HeldOut, type HeldOutKind } from './heldout.js';
import { fitModel, isClotPreset, presetFor, type FitModelOptions } from './registry.js';

export type SelectMode = 'auto' | 'none';
export const SELECT_MODES: SelectMode[] = ['auto', 'none'];

/** A named set of CLOT settings tried by automatic selection (user options are laid over it). */
export interface Candidate {
  name: string;
  settings: ClotOptions;
}

/**
 * The candidates: what differs between families in how paths move (the action form and its
 * dwelling in dense regions, the weight of the density potential, straight lines under the
 * Euclidean metric with no potential at all). Chosen by measurement across families; see the
 * README's "How candidates are ranked". Listed slowest first: with fewer workers than candidates,
 * the longest fit starts first and the others fill the remaining lanes.
 */
export const CANDIDATES: Candidate[] = [
  { name: 'reference-dwelling', settings: { actionForm: 'reference', potential: { alpha: 0.02 }, spline: { pretrainSteps: 200, refitSteps: 100 } } },
  { name: 'paper', settings: { actionForm: 'paper', potential: { alpha: 0.05 } } },
  { name: 'paper-strong-potential', settings: { actionForm: 'paper', potential: { alpha: 0.3 } } },
  { name: 'straight', settings: { metric: { kind: 'euclidean' }, potential: { enabled: false } } },
];

/**
 * A candidate's rank from its validation scores (lower wins): the geometric mean of the mean score
 * at the positions calibrated on each level itself (how close the paths come to the truth, and how
 * the final surrogate answers there) and the mean leave-one-level-out score (how well the warp
 * carries to a level it was not calibrated on). Either alone chose badly on some family: the
 * calibrated score rewards straight paths that pass near each validation level but miss the
 * levels beyond it (dropout_2moons), the leave-one-level-out score judges paths at positions the
 * other intervals' warp cannot know (quantile forecasters, label smoothing). The geometric mean
 * weighs the two by ratio, whatever their scales.
 */
export function validationRank(calibrated: number[], leaveOneOut: number[]): number {
  return Math.sqrt(mean(calibrated) * mean(leaveOneOut));
}

/**
 * Rank differences this small are run-to-run noise: on quantile3, float round-off alone (a change in
 * summation order) swapped paper-strong-potential (0.271) and straight (0.275), whose scored levels
 * differ by 2.5×. Within this margin of the best rank the simplest candidate is kept.
 */
export const RANK_TIE_MARGIN = 0.05;
/** The candidate kept on near-ties: no learned metric, no potential, the fewest assumptions. */
export const SIMPLEST_CANDIDATE = 'straight';

/**
 * Index of the chosen result: the lowest rank, unless SIMPLEST_CANDIDATE is among the results and
 * its rank lies within RANK_TIE_MARGIN (relative) of the lowest.
 */
export function chooseCandidate(results: Pick<CandidateResult, 'name' | 'rank'>[]): number {
  if (results.length === 0) throw new Error('no candidate results to choose from');
  const best = results.reduce((b, r, i) => (r.rank < results[b].rank ? i : b), 0);
  const simplest = results.findIndex((r) => r.name === SIMPLEST_CANDIDATE);
  if (simplest >= 0 && results[simplest].rank <= results[best].rank * (1 + RANK_TIE_MARGIN)) return simplest;
  return best;
}

export interface CandidateResult {
  name: string;
  /** The settings fitted (candidate settings under the user's options). */
  options: ClotOptions;
  /**
   * Held-out score per level: validation levels under the warp calibrated on the other levels
   * (leave-one-level-out); left-out anchors at their uncalibrated position (the scale's prior). The fit report shows its mean.
   */
  scores: number[];
  /** Per level: at the position calibrated on that level itself (in-sample), and at the uncalibrated position. */
  calibratedScores: number[];
  priorScores: number[];
  /** The λ scale the warp is drawn in (the automatic one, or linear where the held-out levels preferred it). */
  scale: LambdaScale;
  mean: number;
  /**
   * What candidates are ranked by (lower wins): validationRank on validation levels; on left-out
   * anchors, the mean score at the uncalibrated position (README, "How candidates are ranked").
   */
  rank: number;
  fitSeconds: number;
  positions: CalibratedLevel[];
}

export interface ReferenceScore {
  name: string;
  scores: number[];
  mean: number;
}

/** What the fit is judged on, beside the trivial references. */
export interface FitReport {
  heldOut: HeldOutKind;
  levels: number[];
  /** What the score is: W2² per class or condition group (mean), on held-out levels. */
  metric: string;
  model: { scores: number[]; mean: number };
  references: ReferenceScore[];
  /** The best reference, and whether the surrogate beats it. */
  bestReference: string | null;
  beatsReferences: boolean | null;
  /** One line for the user when the surrogate does not beat the references (or cannot be judged). */
  warning: string | null;
  /**
   * How well the final surrogate reproduces its anchors (in-sample): W2² per class or condition
   * group between the first anchor's rows pushed to λ_k and anchor k's own rows, and the same for
   * copying the first anchor, for scale.
   */
  anchors: { lambda: number; score: number; copyFirst: number }[];
}

export interface SelectionSummary {
  mode: SelectMode;
  heldOut: HeldOutKind;
  levels: number[];
  chosen: string | null;
  candidates: Omit<CandidateResult, 'options' | 'positions'>[];
}

export interface SelectedFit {
  model: TrajectoryModel;
  selection: SelectionSummary;
  report: FitReport;
}

export interface SelectOptions {
  select?: SelectMode;
  /** Anchor λ values (default: the sidecar's) and a row range of every level. */
  anchors?: number[];
  rows?: [number, number];
  /** Options given by the user: laid over every candidate's settings. */
  fit?: FitModelOptions;
  candidates?: Candidate[];
  /** Worker threads for candidate fits (default: the available cores). */
  workers?: number;
  onProgress?: ProgressHook;
  /** A line per finished candidate (for the CLI). */
  log?: (line: string) => void;
}

/** What one candidate fit needs, in a worker or in this thread. */
export interface CandidateJob {
  preset: ClotPreset;
  candidate: Candidate;
  options: ClotOptions;
  held: HeldOut;
  /** Where to save the fitted model (kept for the winner). */
  staging: string;
}

export type CandidateMessage = { type: 'progress'; progress: FitProgress } | { type: 'done'; result: CandidateResult } | { type: 'error'; message: string };

const WORKER_FILE = fileURLToPath(new URL('./candidate-worker.js', import.meta.url));

/** Fit one candidate on the held-out split, calibrate its warp, score it, save it to `staging`. */
export async function runCandidate(job: CandidateJob, onProgress?: ProgressHook): Promise<CandidateResult> {
  await initEngine({ quiet: true });
  const start = performance.now();
  // Candidates run side by side: each progress phase says whose it is.
  const tagged: ProgressHook | undefined = onProgress && ((p) => onProgress({ ...p, phase: `${job.candidate.name}: ${p.phase}` }));
  const model = (await fitModel(job.preset, job.held.train, { ...job.options, onProgress: tagged } as FitModelOptions)) as ClotSurrogate;
  try {
    const fitSeconds = (performance.now() - start) / 1000;
    // Every score of a held-out level below is against the same true rows: one OT warm start each.
    const warm: OtWarmStarts[] = job.held.levels.map(() => new Map());
    const positions = calibratePositions(model, job.held, job.held.train, warm);
    const anchors = model.info.anchors;
    // Validation levels calibrate the warp; between them the anchors' transport distances shape it,
    // in the λ scale's coordinate.
    const { spans } = job.held;
    // Each held-out level answered under a warp drawn for it (`warpFor(i)`) in `scale`.
    const scoresUnder = (scale: LambdaScale, warpFor: (i: number) => WarpKnots | undefined) =>
      positions.map((p, i) => {
        model.setWarp(warpFor(i), scale);
        return heldOutScore(model.sample(job.held.inputs, p.lambda), job.held.truth[i], job.held.train, p.lambda, warm[i]);
      });
    const looScores = (scale: LambdaScale) => scoresUnder(scale, (i) => shapeWarp(anchors, warpWithout(anchors, positions, i), scale, spans));
    // Honest scores: each held-out level answered under the warp calibrated on the other levels
    // (validation), or at its uncalibrated position (a left-out anchor's own position is what its
    // calibration is for). In-sample calibrated scores would favour paths that bend to each level.
    // An automatic λ scale is only the prior: the linear one is kept where the held-out levels say so.
    const auto = model.scale;
    const scales: LambdaScale[] = scaleGiven(job.options) || auto === 'linear' ? [auto] : [auto, 'linear'];
    // At the auto scale the uncalibrated scores were taken with the fit's own prior warp.
    const uncalibrated = (scale: LambdaScale) => (scale === auto ? positions.map((p) => p.priorScore) : scoresUnder(scale, () => priorWarp(anchors, scale)));
    const kept = scales
      .map((scale) => ({ scale, scores: job.held.kind === 'validation' ? looScores(scale) : uncalibrated(scale) }))
      .reduce((b, t) => (mean(t.scores) < mean(b.scores) ? t : b));
    const { scale, scores } = kept;
    model.setWarp(job.held.kind === 'validation' ? shapeWarp(anchors, warpFromLevels(anchors, positions), scale, spans) : priorWarp(anchors, scale), scale);
    await model.save(job.staging);
    return {
      name: job.candidate.name,
      options: job.options,
      scale,
      scores,
      calibratedScores: positions.map((p) => p.score),
      priorScores: job.held.kind === 'validation' ? positions.map((p) => p.priorScore) : scores,
      mean: mean(scores),
      rank: job.held.kind === 'validation' ? validationRank(positions.map((p) => p.score), scores) : mean(scores),
      fitSeconds,
      positions,
    };
  } finally {
    model.dispose();
  }
}

function runInWorker(job: CandidateJob, onProgress?: ProgressHook): Promise<CandidateResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_FILE, { workerData: job });
    let settled = false;
    const finish = (fn: () => void) => {
      if (!settled) {
        settled = true;
        fn();
        void worker.terminate();
      }
    };
    worker.on('message', (m: CandidateMessage) => {
      if (m.type === 'progress') onProgress?.(m.progress);
      else if (m.type === 'done') finish(() => resolve(m.result));
      else finish(() => reject(new Error(m.message)));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`a candidate fit stopped unexpectedly (worker exit code ${code})`))));
  });
}

/** Run jobs with at most `parallel` at once; results in job order. */
async function runAll(jobs: CandidateJob[], parallel: number, run: (job: CandidateJob, i: number) => Promise<CandidateResult>): Promise<CandidateResult[]> {
  const results: CandidateResult[] = new Array(jobs.length);
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await run(jobs[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, jobs.length)) }, lane));
  return results;
}

/**
 * Fit `method` on the anchors of `ds` with automatic selection (CLOT presets; baselines are fitted
 * as given), and report it against the trivial references on the held-out levels.
 */
export async function fitSelected(method: string, ds: Dataset, options: SelectOptions = {}): Promise<SelectedFit> {
  const mode = options.select ?? 'auto';
  const held = heldOutFor(ds, options.anchors, options.rows);
  const clot = isClotPreset(method);
  // A λ scale named in the sidecar is the user's word on the hyperparameter; --scale overrides it.
  const fit: FitModelOptions = clot && ds.scale ? { scale: ds.scale, ...options.fit } : (options.fit ?? {});
  if (mode === 'none' || !clot || held.kind === 'none') {
    const train = held.kind === 'left-out-anchors' ? fullTrain(ds, options) : held.train;
    const model = await fitModel(method, train, { ...fit, onProgress: options.onProgress });
    const report = held.kind === 'validation' ? reportFor(model, held) : noReport(held.kind, clot && mode === 'none');
    const selection: SelectionSummary = { mode, heldOut: held.kind, levels: held.levels, chosen: null, candidates: [] };
    attach(model, selection, report, train);
    return { model, selection, report };
  }
  const candidates = options.candidates ?? CANDIDATES;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-select-'));
  try {
    const jobs: CandidateJob[] = candidates.map((c, i) => ({
      preset: presetFor(method as ClotPreset, mergeOptions<ClotOptions>(c.settings, fit as ClotOptions)),
      candidate: c,
      options: mergeOptions<ClotOptions>(c.settings, fit as ClotOptions),
      held,
      staging: path.join(tmp, `candidate-${i}`),
    }));
    const inWorkers = fs.existsSync(WORKER_FILE);
    const parallel = inWorkers ? (options.workers ?? os.availableParallelism()) : 1;
    const results = await runAll(jobs, parallel, async (job) => {
      const r = inWorkers ? await runInWorker(job, options.onProgress) : await runCandidate(job, options.onProgress);
      options.log?.(`candidate ${r.name}: held-out ${fmt(r.mean)} (calibrated on each level itself ${fmt(mean(r.calibratedScores))}, uncalibrated ${fmt(mean(r.priorScores))}; λ scale ${r.scale}), fit ${r.fitSeconds.toFixed(1)} s`);
      return r;
    });
    const best = chooseCandidate(results);
    const winner = jobs[best];
    let model: ClotSurrogate;
    if (held.kind === 'validation') {
      const { stored, tensors } = readModelDir(winner.staging);
      model = loadClot(stored, tensors);
    } else {
      // Left-out anchors: refit the winner on every anchor; its warp from where they were found.
      const { scale } = results[best];
      model = (await fitModel(winner.preset, fullTrain(ds, options), { ...winner.options, onProgress: options.onProgress } as FitModelOptions)) as ClotSurrogate;
      model.setWarp(warpFromLeftOutAnchors(model.info.anchors, results[best].positions, held.train.levels, scale), scale);
    }
    const selection: SelectionSummary = {
      mode,
      heldOut: held.kind,
      levels: held.levels,
      chosen: results[best].name,
      candidates: results.map(({ options: _o, positions: _p, ...rest }) => rest),
    };
    // Held-out evidence: the winner as scored (for left-out anchors, its trial fit without them).
    const report = buildReport(held, { scores: results[best].scores, mean: results[best].mean });
    attach(model, selection, report, held.kind === 'validation' ? held.train : fullTrain(ds, options));
    return { model, selection, report };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Every anchor (the final fit when anchors were left out of the trial fits). */
function fullTrain(ds: Dataset, options: SelectOptions): Dataset {
  return anchorDataset(ds, options.anchors, options.rows);
}

/** Save the selection and the report with the model (config.json's training summary). */
function attach(model: TrajectoryModel, selection: SelectionSummary, report: FitReport, anchors: Dataset): void {
  report.anchors = anchorReproduction(model, anchors);
  model.info.training = { ...(model.info.training ?? {}), selection, report };
}

/** W2² at each anchor after the first between the surrogate's answer and the anchor's own rows. */
function anchorReproduction(model: TrajectoryModel, train: Dataset): FitReport['anchors'] {
  const capped = capForScoring(train);
  const inputs = capped.data[0];
  return capped.levels.slice(1).map((lambda, i) => {
    const truth = capped.data[i + 1];
    return { lambda, score: heldOutScore(model.sample(inputs, lambda), truth, capped, lambda), copyFirst: heldOutScore(inputs, truth, capped, lambda) };
  });
}

/** Score a model's answers at the held-out levels, beside the references. */
function reportFor(model: TrajectoryModel, held: HeldOut): FitReport {
  const scores = held.levels.map((l, i) => heldOutScore(model.sample(held.inputs, l), held.truth[i], held.train, l));
  return buildReport(held, { scores, mean: mean(scores) });
}

function buildReport(held: HeldOut, model: { scores: number[]; mean: number }): FitReport {
  const references = trivialReferences(held.reference, held.levels).map((r) => {
    const scores = r.predictions.map((p, i) => heldOutScore(p, held.truth[i], held.train, held.levels[i]));
    return { name: r.name, scores, mean: mean(scores) };
  });
  const best = references.reduce((b, r) => (r.mean < b.mean ? r : b));
  const beats = model.mean < best.mean;
  const where = held.kind === 'validation' ? 'the validation levels' : 'the left-out anchors';
  return {
    heldOut: held.kind,
    levels: held.levels,
    metric: 'W2² per class or condition group, mean over groups and levels',
    model,
    references,
    bestReference: best.name,
    beatsReferences: beats,
    anchors: [],
    warning: beats
      ? null
      : `the surrogate (${fmt(model.mean)}) does not beat ${best.name} (${fmt(best.mean)}) on ${where}: between the anchors it is no better than that trivial answer`,
  };
}

function noReport(kind: HeldOutKind, selectionOff: boolean): FitReport {
  return {
    heldOut: kind,
    levels: [],
    metric: 'W2² per class or condition group',
    model: { scores: [], mean: NaN },
    references: [],
    bestReference: null,
    beatsReferences: null,
    anchors: [],
    warning:
      kind === 'none'
        ? 'no held-out levels (no validation levels in the sidecar, and only 2 anchors): the fit cannot be compared with the trivial references; list validation levels in the sidecar to have it judged and calibrated'
        : selectionOff
          ? 'left-out anchors are only scored with --select auto: the fit was not compared with the trivial references'
          : null,
  };
}

/** Whether the user named a λ scale (then it is used as given, never replaced by the linear one). */
function scaleGiven(options: ClotOptions): boolean {
  return options.scale !== undefined && options.scale !== 'auto';
}

function mean(v: number[]): number {
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v);
}
