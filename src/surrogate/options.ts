/**
 * CLOT settings, grouped by the phase of the fit that uses them. Every length, bandwidth and
 * weight is in standardised units (each output and continuous condition column scaled to mean 0,
 * spread 1 over the pooled anchors), so a setting means the same thing on every dataset.
 */
import { METRIC_KINDS, type ActionForm, type MetricKind } from '../lagrangian/index.js';
import type { CommonFitOptions } from './progress.js';
import { resolveScale, type LambdaScale } from './warp.js';

export type ClotPreset = 'full' | 'k-theta' | 'euclidean-potential' | 'euclidean' | 'nlot' | 'nlot-potential';
export const CLOT_PRESETS: ClotPreset[] = ['full', 'k-theta', 'euclidean-potential', 'euclidean', 'nlot', 'nlot-potential'];

/** The paper's ablations: which metric and whether the density potential is on. */
export const PRESET_SETTINGS: Record<ClotPreset, { metric: MetricKind; potential: boolean; label: string }> = {
  full: { metric: 'eigen-budget', potential: true, label: 'K_θ−Û (full method)' },
  'k-theta': { metric: 'eigen-budget', potential: false, label: 'K_θ' },
  'euclidean-potential': { metric: 'euclidean', potential: true, label: 'K_I−Û' },
  euclidean: { metric: 'euclidean', potential: false, label: 'K_I' },
  nlot: { metric: 'fixed-eigen', potential: false, label: 'NLOT' },
  'nlot-potential': { metric: 'fixed-eigen', potential: true, label: 'NLOT−Û' },
};

/** The density potential U(q | x) = α log(p̂(q | x) + ε) (method.md §2.2). */
export interface PotentialSettings {
  /** On or off (the preset decides by default). */
  enabled: boolean;
  /** Weight α. */
  alpha: number;
  /** Output-space KDE bandwidth h_y; `auto`: the median distance to the 7th nearest neighbour. */
  bandwidth: number | 'auto';
  /** Condition-space bandwidth h_x (continuous conditions); `auto`: Scott's rule. */
  condBandwidth: number | 'auto';
  /** Mixture components kept per path (larger reference sets are compressed by k-means). */
  cap: number;
}

/** The learned Riemannian metric G(q | x) (method.md §2.1, §2.5). */
export interface MetricSettings {
  /** The preset decides by default. */
  kind: MetricKind;
  /** Hidden width of the metric network. */
  width: number;
  /** Adam learning rate of the metric steps. */
  lr: number;
  /** Metric steps per coupling round (each lowers the coupled pairs' mean transport cost). */
  stepsPerRound: number;
}

/** The spline network S(y0, y1, x) → φ that amortises least-action paths (method.md §2.3). */
export interface SplineSettings {
  /** Action form the paths minimise (their shape and timing); `same`: the transport cost's form. */
  form: ActionForm | 'same';
  /** Pre-fit steps on random same-condition pairs of adjacent anchors. */
  pretrainSteps: number;
  /** Steps of each refit (after each coupling round, and the final fit on the maps' own pairs). */
  refitSteps: number;
  width: number;
  lr: number;
  /** Pairs per spline step. */
  batch: number;
  /** Spline nodes M and path points S. */
  nodes: number;
  points: number;
}

/** Exact discrete couplings between adjacent anchors, under the current Lagrangian cost. */
export interface CouplingSettings {
  /** Samples per class or condition group in one exact coupling. */
  cap: number;
  /**
   * Disjoint minibatches of `cap` source rows per class or condition group in the couplings the
   * maps are fitted to (each one exact coupling): groups larger than `cap` enter the map fit with up
   * to cap × minibatches rows instead of cap. The couplings of the metric rounds use one.
   */
  minibatches: number;
  /** Rounds of (couplings → metric steps → spline refit) before the maps are fitted (learned metrics). */
  rounds: number;
}

/** The maps T_k(y | x) = y + MLP(y, x) regressed onto the couplings (method.md §2.4). */
export interface MapSettings {
  steps: number;
  lr: number;
  hidden: number[];
  /** Coupled pairs per regression step. */
  batch: number;
}

export interface ResolvedClotOptions {
  preset: ClotPreset;
  seed: number;
  /** Action form of the transport cost (couplings and metric learning). */
  actionForm: ActionForm;
  potential: Omit<PotentialSettings, 'bandwidth' | 'condBandwidth'> & { bandwidth: number; condBandwidth: number };
  metric: MetricSettings;
  spline: SplineSettings;
  couplings: CouplingSettings;
  maps: MapSettings;
  /** The coordinate the time warp is shaped in (warp.ts), resolved for the anchors. */
  scale: LambdaScale;
}

type Group<T> = Partial<T>;

/** What a CLOT fit can be told: any subset of every group; the rest takes CLOT_DEFAULTS. */
export interface ClotOptions extends Omit<CommonFitOptions, 'equalSpacing'> {
  preset?: ClotPreset;
  actionForm?: ActionForm;
  potential?: Group<PotentialSettings>;
  metric?: Group<MetricSettings>;
  spline?: Group<SplineSettings>;
  couplings?: Group<CouplingSettings>;
  maps?: Group<MapSettings>;
  /** λ scale of the time warp (warp.ts): `auto` (default) picks it from the anchors' range. */
  scale?: LambdaScale | 'auto';
}

/**
 * Mixture components of the density potential. Every coupled path evaluates one exp per component
 * and path point, which made the potential most of a fit's time; 32 moment-matched components (a
 * smoother density than the 7th-neighbour bandwidth alone gives) fitted faster and scored no worse
 * than 64 or 128 on the potential-driven tasks (README, "How the fit works").
 */
export const DEFAULT_POTENTIAL_CAP = 32;

export const CLOT_DEFAULTS = {
  preset: 'full' as ClotPreset,
  seed: 0,
  actionForm: 'paper' as ActionForm,
  potential: { alpha: 0.01, bandwidth: 'auto', condBandwidth: 'auto', cap: DEFAULT_POTENTIAL_CAP } as Omit<PotentialSettings, 'enabled'>,
  metric: { width: 32, lr: 5e-3, stepsPerRound: 30 } as Omit<MetricSettings, 'kind'>,
  spline: { form: 'same', pretrainSteps: 60, refitSteps: 20, width: 128, lr: 3e-3, batch: 256, nodes: 15, points: 20 } as SplineSettings,
  couplings: { cap: 256, minibatches: 8, rounds: 1 } as CouplingSettings,
  maps: { steps: 600, lr: 1e-2, hidden: [64, 64, 64, 64], batch: 256 } as MapSettings,
};

const GROUPS = ['potential', 'metric', 'spline', 'couplings', 'maps'] as const;
const TOP_LEVEL = new Set(['preset', 'seed', 'actionForm', 'scale', 'onProgress', ...GROUPS]);

function checkKeys(group: string, given: object | undefined, known: object): void {
  if (given === undefined) return;
  if (!given || typeof given !== 'object' || Array.isArray(given)) throw new Error(`CLOT option '${group}' must be an object of settings`);
  for (const key of Object.keys(given)) {
    if (!(key in known)) throw new Error(`unknown CLOT option ${shown(`${group}.${key}`)} (known: ${Object.keys(known).join(', ')})`);
  }
}

function defined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Upper bounds far beyond any real model and far below what would exhaust memory: a hand-edited
 * or corrupt config is one clear error, never an allocation of billions of values.
 */
const MAX = { width: 16384, nodes: 256, points: 4096, cap: 1_000_000, steps: 10_000_000 };

/** A value as it appears in an error message: JSON, clipped. */
function shown(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return '(missing)';
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

function integer(value: number, name: string, min: number, max = MAX.steps): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`CLOT option ${name} must be an integer from ${min} to ${max}, got ${shown(value)}`);
}

function positive(value: number, name: string): void {
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`CLOT option ${name} must be a positive number, got ${shown(value)}`);
}

/**
 * Largest D at which the learned-metric presets (full, k-theta) direct their eigenvalue budget with
 * Givens rotations (`eigen-budget`, the paper's form); above it they use Householder reflections
 * (`householder`: the same budget, cost linear in D). At D = 2 and 3 Householder gained nothing on
 * the benchmarks and lost on cancer_reward (README, "Many outputs, many rows"); above, Givens costs
 * D(D−1)/2 sequential rotations.
 */
export const GIVENS_DEFAULT_MAX_DIM = 3;

/** The metric a preset uses in D output dimensions (when the options do not name one). */
export function presetMetric(kind: MetricKind, dim: number): MetricKind {
  return kind === 'eigen-budget' && dim > GIVENS_DEFAULT_MAX_DIM ? 'householder' : kind;
}

/**
 * Coupling sizes by output dimension. A coupling problem of `cap` rows evaluates the Lagrangian on
 * cap² paths of S points in D dimensions, so the work per coupled row grows as cap · D. Up to
 * D = COUPLING_FULL_CAP_MAX_DIM the default cap holds; above it the cap shrinks as 1/D (never below
 * COUPLING_MIN_CAP rows, where a minibatch coupling gets too noisy) and the minibatches grow so
 * that the same number of rows per group still reaches the map fit. Measured at D = 32 (README,
 * "Many outputs, many rows"): equal held-out accuracy at less than half the fit time.
 */
export const COUPLING_FULL_CAP_MAX_DIM = 8;
export const COUPLING_MIN_CAP = 64;

export function presetCouplings(dim: number): CouplingSettings {
  const base = CLOT_DEFAULTS.couplings;
  if (dim <= COUPLING_FULL_CAP_MAX_DIM) return base;
  const cap = Math.max(COUPLING_MIN_CAP, Math.floor((base.cap * COUPLING_FULL_CAP_MAX_DIM) / dim));
  return { ...base, cap, minibatches: Math.ceil((base.cap * base.minibatches) / cap) };
}

/**
 * Merge options over the defaults and the preset, checking every value; bandwidths left `auto`
 * are computed by `autoBandwidths` (on standardised anchor data), a λ scale left `auto` is picked
 * from the anchor λ values.
 */
export function resolveClotOptions(options: ClotOptions, dim: number, autoBandwidths: () => { bandwidth: number; condBandwidth: number }, anchors: number[]): ResolvedClotOptions {
  for (const key of Object.keys(options)) {
    if (!TOP_LEVEL.has(key)) {
      const hint = key === 'equalSpacing' ? ' (CLOT answers inside each interval by its own position; equal spacing applies to the time-based baselines direct, cfm and mfm)' : '';
      throw new Error(`unknown CLOT option ${shown(key)}${hint}`);
    }
  }
  const preset = options.preset ?? CLOT_DEFAULTS.preset;
  const base = PRESET_SETTINGS[preset];
  if (!base) throw new Error(`unknown preset ${shown(preset)} (expected one of ${CLOT_PRESETS.join(', ')})`);
  const defaults = {
    potential: { enabled: base.potential, ...CLOT_DEFAULTS.potential },
    metric: { kind: presetMetric(base.metric, dim), ...CLOT_DEFAULTS.metric },
    spline: CLOT_DEFAULTS.spline,
    couplings: presetCouplings(dim),
    maps: CLOT_DEFAULTS.maps,
  };
  for (const g of GROUPS) checkKeys(g, options[g], defaults[g]);
  const potential = { ...defaults.potential, ...defined(options.potential) };
  const metric = { ...defaults.metric, ...defined(options.metric) };
  const spline = { ...defaults.spline, ...defined(options.spline) };
  // A cap set by hand keeps the plain minibatch default (the dimension-scaled count goes with the scaled cap).
  const handCap = options.couplings?.cap !== undefined ? { minibatches: CLOT_DEFAULTS.couplings.minibatches } : {};
  const couplings = { ...defaults.couplings, ...handCap, ...defined(options.couplings) };
  const maps = { ...defaults.maps, ...defined(options.maps) };
  const seed = options.seed ?? CLOT_DEFAULTS.seed;
  integer(seed, 'seed', 0, Number.MAX_SAFE_INTEGER);
  const actionForm = options.actionForm ?? CLOT_DEFAULTS.actionForm;
  if (actionForm !== 'paper' && actionForm !== 'reference') throw new Error(`unknown action form ${shown(actionForm)} (expected paper or reference)`);
  if (!['paper', 'reference', 'same'].includes(spline.form)) throw new Error(`unknown spline.form ${shown(spline.form)} (expected paper, reference or same)`);
  if (typeof potential.enabled !== 'boolean') throw new Error('CLOT option potential.enabled must be true or false');
  if (!(Number.isFinite(potential.alpha) && potential.alpha >= 0)) throw new Error(`CLOT option potential.alpha must be ≥ 0, got ${shown(potential.alpha)}`);
  if (!METRIC_KINDS.includes(metric.kind)) throw new Error(`unknown metric ${shown(metric.kind)} (expected ${METRIC_KINDS.join(', ')})`);
  integer(potential.cap, 'potential.cap', 1, MAX.cap);
  integer(metric.width, 'metric.width', 1, MAX.width);
  positive(metric.lr, 'metric.lr');
  integer(metric.stepsPerRound, 'metric.stepsPerRound', 0);
  for (const k of ['pretrainSteps', 'refitSteps'] as const) integer(spline[k], `spline.${k}`, 0);
  integer(spline.width, 'spline.width', 1, MAX.width);
  integer(spline.batch, 'spline.batch', 1, MAX.cap);
  integer(spline.points, 'spline.points', 2, MAX.points);
  integer(spline.nodes, 'spline.nodes', 3, MAX.nodes);
  positive(spline.lr, 'spline.lr');
  integer(couplings.cap, 'couplings.cap', 1, MAX.cap);
  integer(couplings.rounds, 'couplings.rounds', 1);
  integer(couplings.minibatches, 'couplings.minibatches', 1, MAX.cap);
  integer(maps.steps, 'maps.steps', 0);
  integer(maps.batch, 'maps.batch', 1, MAX.cap);
  positive(maps.lr, 'maps.lr');
  if (!Array.isArray(maps.hidden) || maps.hidden.length === 0 || maps.hidden.length > 64 || maps.hidden.some((w) => !Number.isInteger(w) || w < 1 || w > MAX.width)) {
    throw new Error(`CLOT option maps.hidden must be a list of 1 to 64 layer widths from 1 to ${MAX.width}, got ${shown(maps.hidden)}`);
  }
  let auto: { bandwidth: number; condBandwidth: number } | null = null;
  const pick = (v: number | 'auto', key: 'bandwidth' | 'condBandwidth'): number => {
    if (v === 'auto') return (auto ??= autoBandwidths())[key];
    positive(v, `potential.${key}`);
    return v;
  };
  const resolvedPotential = { ...potential, bandwidth: pick(potential.bandwidth, 'bandwidth'), condBandwidth: pick(potential.condBandwidth, 'condBandwidth') };
  const scale = resolveScale(options.scale, anchors);
  return { preset, seed, actionForm, potential: resolvedPotential, metric, spline, couplings, maps, scale };
}

/**
 * Settings given in `options` that change nothing under the resolved configuration (metric steps
 * with the Euclidean metric, potential settings with the potential off), as `group.key` names.
 * The CLI refuses them when a user names them; shared schedules (benchmarks) may carry them.
 */
export function idleSettings(options: ClotOptions, resolved: Pick<ResolvedClotOptions, 'metric' | 'potential'>): string[] {
  const idle: string[] = [];
  if (resolved.metric.kind === 'euclidean') {
    if (options.metric?.stepsPerRound !== undefined) idle.push('metric.stepsPerRound');
    if (options.metric?.width !== undefined) idle.push('metric.width');
    if (options.metric?.lr !== undefined) idle.push('metric.lr');
    if (options.couplings?.rounds !== undefined) idle.push('couplings.rounds');
  }
  if (!resolved.potential.enabled) {
    for (const k of ['alpha', 'bandwidth', 'condBandwidth', 'cap'] as const) if (options.potential?.[k] !== undefined) idle.push(`potential.${k}`);
  }
  return idle;
}

/** The action form the spline network minimises. */
export function pathForm(o: ResolvedClotOptions): ActionForm {
  return o.spline.form === 'same' ? o.actionForm : o.spline.form;
}

/**
 * Options laid over each other, later ones winning, merged one level deep so that a group given
 * by a later part ({spline: {refitSteps: 5}}) keeps the earlier part's other keys of that group.
 */
export function mergeOptions<T extends object>(...parts: (Partial<T> | undefined)[]): T {
  const out: Record<string, unknown> = {};
  for (const part of parts) {
    for (const [key, value] of Object.entries(part ?? {})) {
      const prev = out[key];
      const plain = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
      out[key] = plain(prev) && plain(value) ? { ...prev, ...value } : value;
    }
  }
  return out as T;
}

/** Nested options as flat `group.key` entries (for tables and messages). */
export function flattenOptions(o: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, flattenOptions(value as Record<string, unknown>, `${prefix}${key}.`));
    else out[`${prefix}${key}`] = value;
  }
  return out;
}
