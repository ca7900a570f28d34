/**
 * The closed-loop benchmark of cancer_env.md (`hti bench cancer_closed_loop`): keep the λ = 0 PPO
 * policy, and at every day push its action (with the observation as the condition) through a
 * surrogate to λ; the episode return under the λ reward is the score, against policies a user
 * could deploy instead — the λ = 0 policy unchanged, the nearest anchor's policy, the bracketing
 * anchor policies' actions interpolated in λ — and the policy retrained at λ (the oracle).
 *
 * Every method meets the same patients: episode e has the same seed (parameters, initial state,
 * τ, observation noise stream) for every method and every λ, so comparisons are paired. Episodes
 * run in lockstep, so a surrogate pushes all episodes' actions for one day in one batched call.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Rng } from '../engine/rng.js';
import { initEngine } from '../engine/index.js';
import { nearestAnchorLevel } from '../eval/references.js';
import { fitModel, methodLabel } from '../methods/registry.js';
import { renderLineChartsSvg, writePlot, CLASS_COLORS, type LineChart } from '../plot/render.js';
import { intervalOf } from '../surrogate/anchors.js';
import type { ProgressHook, TrajectoryModel } from '../surrogate/index.js';
import { ACTION_DIM, CancerEnv, MAX_DAYS, NOISY, OBS_DIM, lambdaReward, type NoiseSettings } from '../sim/cancer.js';
import { policyAt, policyFileName, policyFiles, loadPolicy, type GaussianPolicy } from '../sim/policy.js';
import { fitOptionsFor, selects } from './run.js';
import { fitSelected } from '../methods/select.js';
import { getTask } from './tasks.js';

export const CLOSED_LOOP_TASK = 'cancer_closed_loop';
export const CLOSED_LOOP_DEFAULT_EPISODES = 20;
/** The paper's mean return of K_θ−Û over λ ∈ {1, 2, 3, 4, 6, 7, 8, 9} (one episode per λ, 20 surrogate seeds). */
export const PAPER_CLOSED_LOOP_RETURN = 102.49;
/** The offline task whose surrogate (training set and fit settings) the closed loop deploys. */
const SOURCE_TASK = 'cancer_reward';

export type ClosedLoopKind = 'surrogate' | 'reference' | 'oracle';

/** Actions (n × 2, inside the action box) for n observations (n × 7). */
export type Controller = (obs: Float32Array, n: number) => Float64Array;

/** One episode day by day, for the picture: day 0 is the initial state. */
export interface EpisodeTrace {
  method: string;
  level: number;
  episode: number;
  /** T_p + T_s and N_p + N_s of the true (float32) state, days 0..length. */
  tumour: number[];
  nk: number[];
  /** Actions taken on days 0..length − 1. */
  dose: number[];
  chemo: number[];
  return: number;
}

export interface ClosedLoopMethod {
  name: string;
  label: string;
  kind: ClosedLoopKind;
  /** Per level: each episode's return, or null where the method is not available (no retrained policy). */
  returns: (number[] | null)[];
  /** Per level: how the episodes ended, and how far the actions were from the retrained policy's. */
  outcomes: (LevelOutcome | null)[];
  fitSeconds?: number;
  rolloutSeconds: number;
  /** Simulated days, over all levels and episodes. */
  days: number;
}

export interface ClosedLoopResult {
  levels: number[];
  episodes: number;
  seed: number;
  anchors: number[];
  noise: NoiseSettings;
  maxDays: number;
  /** Surrogates in the order asked for, then the references, then `retrained`. */
  methods: ClosedLoopMethod[];
  /** The recorded episode of every method, when one was asked for. */
  traces: EpisodeTrace[];
  fitOptions: Record<string, Record<string, unknown>>;
}

export interface ClosedLoopOptions {
  /** Folder of `policy_lambda{λ}.safetensors` (the anchors' policies are required). */
  policiesDir: string;
  /** Folder of cancer_reward.npy (+ .json), the surrogate's training data. */
  dataDir: string;
  /** λ to evaluate (default: the validation λ of cancer_reward.json with a policy in policiesDir). */
  levels?: number[];
  episodes?: number;
  /** Surrogate methods: CLOT presets and baselines. */
  methods: string[];
  seed: number;
  quick?: boolean;
  /** Extra fit options, applied last. */
  fit?: Record<string, unknown>;
  maxDays?: number;
  noise?: NoiseSettings;
  /** Record one episode of every method for the picture: this level and episode, or `true` for defaultRecord's. */
  record?: { level: number; episode: number } | true;
  log?: (line: string) => void;
  onProgress?: (method: string) => ProgressHook | undefined;
}

/** The seed of each episode: the same patients for every method and level. */
export function episodeSeeds(seed: number, episodes: number): number[] {
  const rng = new Rng(seed).fork(`${CLOSED_LOOP_TASK}:episodes`);
  return Array.from({ length: episodes }, () => rng.int(0x7fffffff));
}

/** How a method's episodes at one level ended. */
export interface LevelOutcome {
  /** Episodes that ended with the tumour gone (+100). */
  cured: number;
  /** Episodes ended by a state variable leaving its bounds (−100; in practice NK cells above 1e10). */
  failed: number;
  /** RMS distance of the actions taken to the retrained policy's actions at the same observations (when there is one). */
  actionRms?: number;
}

export interface RolloutResult extends LevelOutcome {
  returns: number[];
  days: number;
  trace?: Omit<EpisodeTrace, 'method' | 'level' | 'episode'>;
}

/**
 * Run one episode per seed in lockstep under a controller, summing the λ reward. Each day the
 * controller gets the observations of the episodes still running, in one batch.
 */
export function rollout(
  controller: Controller,
  lambda: number,
  seeds: number[],
  options: { noise?: NoiseSettings; maxDays?: number; record?: number; reference?: Controller } = {},
): RolloutResult {
  const envs = seeds.map(() => new CancerEnv({ noise: options.noise ?? NOISY, maxDays: options.maxDays ?? MAX_DAYS }));
  const obs = envs.map((env, i) => env.reset(seeds[i]));
  const returns = new Array<number>(seeds.length).fill(0);
  let cured = 0;
  let failed = 0;
  let days = 0;
  let squaredError = 0;
  const rec = options.record;
  const trace = rec !== undefined ? { tumour: [] as number[], nk: [] as number[], dose: [] as number[], chemo: [] as number[], return: 0 } : undefined;
  const note = (i: number) => {
    if (trace && i === rec) {
      const s = envs[i].state;
      trace.tumour.push(s[0] + s[4]);
      trace.nk.push(s[1] + s[5]);
    }
  };
  envs.forEach((_, i) => note(i));
  for (;;) {
    const alive = envs.flatMap((env, i) => (env.done ? [] : [i]));
    if (alive.length === 0) break;
    const batch = new Float32Array(alive.length * OBS_DIM);
    alive.forEach((i, r) => batch.set(obs[i], r * OBS_DIM));
    const actions = controller(batch, alive.length);
    if (options.reference) {
      const ref = options.reference(batch, alive.length);
      for (let i = 0; i < ref.length; i++) squaredError += (actions[i] - ref[i]) ** 2;
    }
    alive.forEach((i, r) => {
      const action = actions.subarray(r * ACTION_DIM, (r + 1) * ACTION_DIM);
      if (trace && i === rec) {
        trace.dose.push(action[0]);
        trace.chemo.push(action[1]);
      }
      const step = envs[i].step(action);
      returns[i] += lambdaReward(step, lambda);
      if (step.termination === 'positive') cured++;
      if (step.termination === 'negative') failed++;
      obs[i] = step.obs;
      days++;
      note(i);
    });
  }
  if (trace && rec !== undefined) trace.return = returns[rec];
  const actionRms = options.reference ? Math.sqrt(squaredError / Math.max(1, days)) : undefined;
  return { returns, cured, failed, days, ...(actionRms !== undefined ? { actionRms } : {}), ...(trace ? { trace } : {}) };
}

/** The policy's deterministic actions. */
export function policyController(policy: GaussianPolicy): Controller {
  return (obs) => policy.act(obs);
}

/**
 * Where two policies' actions are blended: `actions`, the deterministic (clipped) actions, as a user
 * who has only the policies' outputs would, and as the surrogates see them (the data hold clipped
 * draws); `means`, the unclipped mean actions μ(o), clipped after blending — a policy's own
 * coordinate, which the data never show where the mean lies outside the action box.
 */
export type BlendSpace = 'actions' | 'means';

/** (1 − s) · lower's actions + s · upper's: the bracketing anchor policies interpolated in λ. */
export function interpolatedController(lower: GaussianPolicy, upper: GaussianPolicy, s: number, space: BlendSpace = 'actions'): Controller {
  const of = (p: GaussianPolicy, obs: Float32Array) => (space === 'actions' ? p.act(obs) : p.mean(obs));
  return (obs) => {
    const a = of(lower, obs);
    if (s !== 0) {
      const b = of(upper, obs);
      for (let i = 0; i < a.length; i++) a[i] = (1 - s) * a[i] + s * b[i];
    }
    return space === 'actions' ? a : lower.clip(a);
  };
}

const BLEND_SPACES: BlendSpace[] = ['actions', 'means'];

export interface BlendOutcome {
  s: number;
  cured: number;
  failed: number;
  meanDays: number;
}

export interface BlendScan {
  episodes: number;
  seed: number;
  intervals: { lower: number; upper: number; blends: Record<BlendSpace, BlendOutcome[]> }[];
}

/** Cure and loss counts of the blended anchor policies at each position of each anchor interval. */
export function blendScan(policiesDir: string, anchors: number[], positions: number[], episodes: number, seed: number): BlendScan {
  const seeds = episodeSeeds(seed, episodes);
  const policy = (l: number) => {
    const p = policyAt(policiesDir, l);
    if (!p) throw new Error(`${policiesDir} has no policy for the anchor λ = ${l} (${policyFileName(l)})`);
    return p;
  };
  const intervals = anchors.slice(1).map((upper, k) => {
    const lo = policy(anchors[k]);
    const hi = policy(upper);
    const blends = Object.fromEntries(
      BLEND_SPACES.map((space) => [
        space,
        positions.map((s) => {
          // λ = 0: the reward's weight does not change the dynamics, only the return.
          const r = rollout(interpolatedController(lo, hi, s, space), 0, seeds);
          return { s, cured: r.cured, failed: r.failed, meanDays: r.days / episodes };
        }),
      ]),
    ) as Record<BlendSpace, BlendOutcome[]>;
    return { lower: anchors[k], upper, blends };
  });
  return { episodes, seed, intervals };
}

/**
 * The first anchor's deterministic action pushed through the surrogate to λ, one batched
 * `sample` call for all rows [action | observation], then clipped to the action box.
 */
export function surrogateController(model: TrajectoryModel, base: GaussianPolicy, lambda: number): Controller {
  const { dim, cond } = model.info;
  if (dim !== ACTION_DIM || cond !== OBS_DIM) throw new Error(`the surrogate maps ${dim} outputs given ${cond} conditions; the closed loop needs ${ACTION_DIM} actions given ${OBS_DIM} observations`);
  const width = dim + cond;
  return (obs, n) => {
    const a0 = base.act(obs);
    const rows = new Float32Array(n * width);
    for (let r = 0; r < n; r++) {
      rows[r * width] = a0[r * dim];
      rows[r * width + 1] = a0[r * dim + 1];
      rows.set(obs.subarray(r * cond, (r + 1) * cond), r * width + dim);
    }
    const pushed = model.sample(rows, lambda);
    const out = new Float64Array(n * dim);
    for (let r = 0; r < n; r++) for (let d = 0; d < dim; d++) out[r * dim + d] = pushed[r * width + d];
    return base.clip(out);
  };
}

function checkLevels(levels: number[], anchors: number[]): void {
  if (levels.length === 0) throw new Error('no λ to evaluate');
  const lo = anchors[0];
  const hi = anchors[anchors.length - 1];
  for (const l of levels) {
    if (!Number.isFinite(l)) throw new Error(`λ must be finite, got ${l}`);
    if (l < lo || l > hi) throw new Error(`λ = ${l} is outside the anchors' range [${lo}, ${hi}] (the surrogate does not extrapolate)`);
  }
  if (new Set(levels).size !== levels.length) throw new Error('a λ is listed twice');
}

/** The validation λ of the training data that have a policy in the folder. */
export function defaultClosedLoopLevels(validation: number[] | undefined, policiesDir: string): number[] {
  const present = policyFiles(policiesDir);
  const levels = (validation ?? []).filter((l) => present.has(l)).sort((a, b) => a - b);
  if (levels.length === 0) {
    throw new Error(`no validation λ of ${SOURCE_TASK} (${(validation ?? []).join(', ') || 'none listed'}) has a policy in ${policiesDir}; give --levels`);
  }
  return levels;
}

/** Fit the surrogates, then run every method at every level. */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const episodes = options.episodes ?? CLOSED_LOOP_DEFAULT_EPISODES;
  if (!(Number.isInteger(episodes) && episodes >= 1)) throw new Error(`episodes must be a positive integer, got ${episodes}`);
  const maxDays = options.maxDays ?? MAX_DAYS;
  if (!(Number.isInteger(maxDays) && maxDays >= 1)) throw new Error(`the episode length must be a positive integer number of days, got ${maxDays}`);
  const noise = options.noise ?? NOISY;
  const spec = getTask(SOURCE_TASK);
  for (const m of options.methods) fitOptionsFor(spec, m, { seed: options.seed });
  if (!fs.existsSync(options.policiesDir)) throw new Error(`policy folder ${options.policiesDir} does not exist`);
  const files = policyFiles(options.policiesDir);

  const prepared = spec.prepare(options.seed, { dataDir: options.dataDir });
  const anchors = prepared.train.levels;
  const levels = options.levels ? [...options.levels].sort((a, b) => a - b) : defaultClosedLoopLevels(prepared.levels, options.policiesDir);
  checkLevels(levels, anchors);
  const missing = anchors.filter((a) => !files.has(a));
  if (missing.length) throw new Error(`${options.policiesDir} has no policy for the anchor λ = ${missing.join(', ')} (policy_lambda{λ}.safetensors); the references need them`);
  const policies = new Map<number, GaussianPolicy>();
  const policy = (l: number) => {
    let p = policies.get(l);
    if (!p) policies.set(l, (p = loadPolicy(files.get(l)!)));
    return p;
  };
  const base = policy(anchors[0]);
  if (base.obsDim !== OBS_DIM || base.actionDim !== ACTION_DIM) throw new Error(`the λ = ${anchors[0]} policy maps ${base.obsDim} observations to ${base.actionDim} actions; the simulator has ${OBS_DIM} and ${ACTION_DIM}`);
  const record = options.record === true ? defaultRecord(levels, options.policiesDir) : options.record;
  if (record && (!levels.includes(record.level) || !(record.episode >= 0 && record.episode < episodes))) {
    throw new Error(`cannot record λ = ${record.level}, episode ${record.episode}: not among the levels [${levels.join(', ')}] and episodes 0..${episodes - 1}`);
  }
  const seeds = episodeSeeds(options.seed, episodes);
  const log = options.log;

  const models: { name: string; model: TrajectoryModel; fitSeconds: number }[] = [];
  const fitOptions: Record<string, Record<string, unknown>> = {};
  try {
    if (options.methods.length) await initEngine({ quiet: true });
    for (const method of options.methods) {
      const opts = fitOptionsFor(spec, method, { seed: options.seed, quick: options.quick, fit: options.fit });
      fitOptions[method] = opts;
      log?.(`${CLOSED_LOOP_TASK} · ${method}: fitting on ${SOURCE_TASK}'s anchors λ = ${anchors.join(', ')}…`);
      const t0 = performance.now();
      // As hti fit on the task's data does: automatic selection on its validation levels (CLOT).
      const onProgress = options.onProgress?.(method);
      let chosen = '';
      let model: TrajectoryModel;
      if (selects(method, {})) {
        const selected = await fitSelected(method, prepared.selectionData, { fit: opts, onProgress });
        model = selected.model;
        chosen = `, chose ${selected.selection.chosen ?? 'the defaults'} (${selected.selection.heldOut} ${selected.selection.levels.join(', ')})`;
      } else {
        model = await fitModel(method, prepared.train, { ...opts, onProgress });
      }
      const fitSeconds = (performance.now() - t0) / 1000;
      models.push({ name: method, model, fitSeconds });
      log?.(`${CLOSED_LOOP_TASK} · ${method}: fit ${fitSeconds.toFixed(1)} s${chosen}`);
    }

    type Entry = { name: string; label: string; kind: ClosedLoopKind; controllerAt: (l: number) => Controller | null; fitSeconds?: number };
    const entries: Entry[] = [
      ...models.map(({ name, model, fitSeconds }): Entry => ({ name, label: methodLabel(name), kind: 'surrogate', fitSeconds, controllerAt: (l) => surrogateController(model, base, l) })),
      { name: 'copy-first-anchor', label: `λ = ${anchors[0]} policy unchanged`, kind: 'reference', controllerAt: () => policyController(base) },
      { name: 'nearest-anchor', label: 'nearest anchor policy', kind: 'reference', controllerAt: (l) => policyController(policy(nearestAnchorLevel(prepared.train, l))) },
      {
        name: 'linear-interpolation',
        label: 'anchor policies interpolated',
        kind: 'reference',
        controllerAt: (l) => {
          const { k, s } = intervalOf(anchors, l);
          return interpolatedController(policy(anchors[k]), policy(anchors[k + 1]), s);
        },
      },
      { name: 'retrained', label: 'policy retrained at λ', kind: 'oracle', controllerAt: (l) => (files.has(l) ? policyController(policy(l)) : null) },
    ];

    const methods: ClosedLoopMethod[] = [];
    const traces: EpisodeTrace[] = [];
    for (const entry of entries) {
      const t0 = performance.now();
      const out: ClosedLoopMethod = { name: entry.name, label: entry.label, kind: entry.kind, returns: [], outcomes: [], rolloutSeconds: 0, days: 0, ...(entry.fitSeconds !== undefined ? { fitSeconds: entry.fitSeconds } : {}) };
      for (const lambda of levels) {
        const controller = entry.controllerAt(lambda);
        if (!controller) {
          out.returns.push(null);
          out.outcomes.push(null);
          continue;
        }
        const rec = record && record.level === lambda ? record.episode : undefined;
        const retrained = files.has(lambda) ? policyController(policy(lambda)) : undefined;
        const r = rollout(controller, lambda, seeds, { noise, maxDays, record: rec, reference: retrained });
        out.returns.push(r.returns);
        out.outcomes.push({ cured: r.cured, failed: r.failed, ...(r.actionRms !== undefined ? { actionRms: r.actionRms } : {}) });
        out.days += r.days;
        if (r.trace) traces.push({ method: entry.name, level: lambda, episode: rec!, ...r.trace });
      }
      out.rolloutSeconds = (performance.now() - t0) / 1000;
      log?.(`${CLOSED_LOOP_TASK} · ${entry.name}: ${levels.length} λ × ${episodes} episodes, ${out.days} days simulated in ${out.rolloutSeconds.toFixed(1)} s`);
      methods.push(out);
    }
    return { levels, episodes, seed: options.seed, anchors, noise, maxDays, methods, traces, fitOptions };
  } finally {
    for (const { model } of models) model.dispose();
  }
}

function meanOf(v: number[]): number {
  return v.reduce((s, x) => s + x, 0) / v.length;
}

/** Standard error of the mean (n − 1 in the variance); NaN for a single value. */
export function standardError(v: number[]): number {
  if (v.length < 2) return NaN;
  const m = meanOf(v);
  return Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1) / v.length);
}

/** The JSON of the issue: per method, the mean return and its standard error at each level (null where unavailable). */
export function closedLoopJson(result: ClosedLoopResult): { levels: number[]; episodes: number; methods: Record<string, { return: (number | null)[]; stderr: (number | null)[] }> } {
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  const methods: Record<string, { return: (number | null)[]; stderr: (number | null)[] }> = {};
  for (const m of result.methods) {
    methods[m.name] = {
      return: m.returns.map((r) => (r ? finite(meanOf(r)) : null)),
      stderr: m.returns.map((r) => (r ? finite(standardError(r)) : null)),
    };
  }
  return { levels: result.levels, episodes: result.episodes, methods };
}

export interface ClosedLoopSummary {
  name: string;
  /** Mean over levels of the mean return (over the levels where the method ran). */
  meanOverLevels: number;
  /** Per episode, the mean over levels of (method − retrained); null without retrained at every level. */
  gapToRetrained: { mean: number; stderr: number } | null;
  /** Gap to retrained as a fraction of copy-first-anchor's gap (0 = as good as retraining, 1 = no better than copying). */
  gapFraction: number | null;
}

/** Mean over levels, the paired gap to `retrained`, and that gap as a fraction of copy-first's. */
export function summarizeClosedLoop(result: ClosedLoopResult): ClosedLoopSummary[] {
  const retrained = result.methods.find((m) => m.name === 'retrained');
  const complete = retrained && retrained.returns.every((r) => r !== null);
  const gap = (m: ClosedLoopMethod) => {
    if (!complete || m.returns.some((r) => r === null)) return null;
    const perEpisode = Array.from({ length: result.episodes }, (_, e) => meanOf(result.levels.map((_, i) => m.returns[i]![e] - retrained!.returns[i]![e])));
    return { mean: -meanOf(perEpisode), stderr: standardError(perEpisode) };
  };
  const copyGap = gap(result.methods.find((m) => m.name === 'copy-first-anchor')!);
  return result.methods.map((m) => {
    const g = gap(m);
    const available = m.returns.filter((r): r is number[] => r !== null);
    return {
      name: m.name,
      meanOverLevels: available.length ? meanOf(available.map(meanOf)) : NaN,
      gapToRetrained: g,
      gapFraction: g && copyGap && copyGap.mean > 0 ? g.mean / copyGap.mean : null,
    };
  });
}

const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

/** Per level and method: episodes cured / failed (−100), and the RMS distance of the actions to the retrained policy's. */
function outcomeTable(result: ClosedLoopResult): string {
  const header = ['method', ...result.levels.map((l) => `λ = ${l}`)];
  const rows = result.methods.map((m) => [
    m.name,
    ...m.outcomes.map((o) => (o ? `${o.cured}/${o.failed}${o.actionRms !== undefined ? ` · ${o.actionRms.toFixed(2)}` : ''}` : '—')),
  ]);
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells: string[]) => cells.map((c, j) => (j === 0 ? pad(c, widths[j]) : lpad(c, widths[j]))).join('  ');
  return [
    `  episodes cured (+100) / ended by a state bound (−100, NK cells above 1e10) · RMS distance of the actions to the retrained policy's at the same observations:`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}

/** The table: mean return ± s.e. per level and method, the mean over levels, the gap to retrained. */
export function formatClosedLoopTable(result: ClosedLoopResult): string {
  const summary = summarizeClosedLoop(result);
  const cell = (r: number[] | null) => {
    if (!r) return '—';
    const se = standardError(r);
    return Number.isFinite(se) ? `${meanOf(r).toFixed(1)} ± ${se.toFixed(1)}` : meanOf(r).toFixed(1);
  };
  const header = ['method', ...result.levels.map((l) => `λ = ${l}`), 'mean over λ', 'gap to retrained', 'gap / copy-first gap'];
  const rows = result.methods.map((m, i) => {
    const s = summary[i];
    const g = s.gapToRetrained;
    return [
      m.kind === 'surrogate' ? `${m.name} [${m.label}]` : m.name,
      ...m.returns.map(cell),
      Number.isFinite(s.meanOverLevels) ? s.meanOverLevels.toFixed(2) : '—',
      g ? `${g.mean.toFixed(2)}${Number.isFinite(g.stderr) ? ` ± ${g.stderr.toFixed(2)}` : ''}` : '—',
      s.gapFraction === null ? '—' : s.gapFraction.toFixed(2),
    ];
  });
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells: string[]) => cells.map((c, j) => (j === 0 ? pad(c, widths[j]) : lpad(c, widths[j]))).join('  ');
  const n = result.noise;
  const out = [
    `${CLOSED_LOOP_TASK}: episode return under the λ reward (base + λ · NK penalty), mean ± standard error over ${result.episodes} episode${result.episodes === 1 ? '' : 's'}`,
    `  the λ = ${result.anchors[0]} policy's deterministic action pushed to λ each day, clipped to the action box; surrogate fitted on ${SOURCE_TASK} (anchors λ = ${result.anchors.join(', ')}, rows 0:1000), seed ${result.seed}`,
    `  noise: obs ${n.obs}, state ${n.state}, pkpd ${n.pkpd}; at most ${result.maxDays} days; the same patients for every method and λ (gaps are paired over episodes)`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `  gap to retrained: mean over λ of retrained − method, ± paired standard error over episodes; gap / copy-first gap: 0 = as good as retraining, 1 = no better than the λ = ${result.anchors[0]} policy.`,
    `  paper (K_θ−Û, λ ∈ {1, 2, 3, 4, 6, 7, 8, 9}, one episode per λ, 20 surrogate seeds, unclipped actions): mean return ${PAPER_CLOSED_LOOP_RETURN}.`,
    '',
    outcomeTable(result),
    `  seconds: ${result.methods.map((m) => `${m.name} ${m.fitSeconds !== undefined ? `fit ${m.fitSeconds.toFixed(1)} + ` : ''}rollouts ${m.rolloutSeconds.toFixed(1)}`).join(', ')}`,
  ];
  return out.join('\n');
}

/** Which level and episode the picture shows by default: episode 0 at the highest level with a retrained policy. */
export function defaultRecord(levels: number[], policiesDir: string): { level: number; episode: number } {
  const present = policyFiles(policiesDir);
  const withPolicy = levels.filter((l) => present.has(l));
  const pool = withPolicy.length ? withPolicy : levels;
  return { level: pool[pool.length - 1], episode: 0 };
}

/**
 * One episode's tumour burden and NK cells over the days, and the two actions, for the retrained
 * policy, the (first) surrogate and copy-first-anchor.
 */
export function closedLoopFigureSvg(result: ClosedLoopResult): string {
  if (result.traces.length === 0) throw new Error('no episode was recorded for the picture');
  const { level, episode } = result.traces[0];
  const surrogate = result.methods.find((m) => m.kind === 'surrogate')?.name;
  const shown = [
    { name: 'retrained', color: '#59a14f', width: 3.2, opacity: 0.55 },
    ...(surrogate ? [{ name: surrogate, color: CLASS_COLORS[0], width: 1.6, opacity: 0.95 }] : []),
    { name: 'copy-first-anchor', color: CLASS_COLORS[2], width: 1.6, opacity: 0.95 },
  ].flatMap((s) => {
    const trace = result.traces.find((t) => t.method === s.name);
    return trace ? [{ ...s, trace }] : [];
  });
  const days = (n: number) => Array.from({ length: n }, (_, i) => i);
  const log10Floor = (v: number[]) => v.map((x) => Math.log10(Math.max(x, 1e-2)));
  const chart = (title: string, yLabel: string, pick: (t: EpisodeTrace) => number[]): LineChart => ({
    title,
    yLabel,
    series: shown.map(({ trace, color, width, opacity }) => ({ x: days(pick(trace).length), y: pick(trace), color, width, opacity })),
  });
  const charts = [
    chart('tumour burden', 'log10(T_p + T_s)', (t) => log10Floor(t.tumour)),
    chart('NK cells', 'log10(N_p + N_s)', (t) => log10Floor(t.nk)),
    chart('radiation dose D', 'D', (t) => t.dose),
    chart('chemotherapy input v_M', 'v_M', (t) => t.chemo),
  ];
  const legend = shown.map(({ name, color, trace }) => ({ label: `${name === surrogate ? `${name} (surrogate)` : name}: return ${trace.return.toFixed(1)}`, color, shape: 'line' as const }));
  return renderLineChartsSvg(charts, { title: `${CLOSED_LOOP_TASK}: λ = ${level}, episode ${episode} (seed ${result.seed})`, xLabel: 'day', legend });
}

/** Write the picture as PNG or SVG (by extension) through a temporary file, so no half-written file is left. */
export function writeClosedLoopFigure(result: ClosedLoopResult, file: string): void {
  const dir = path.dirname(path.resolve(file));
  const ext = path.extname(file).toLowerCase();
  const tmp = path.join(dir, `.${path.basename(file, ext)}.${process.pid}.tmp${ext}`);
  try {
    writePlot(tmp, closedLoopFigureSvg(result));
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
