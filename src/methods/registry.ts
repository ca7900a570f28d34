/**
 * One entry point for every surrogate: the CLOT presets and the baselines are fitted, saved and
 * loaded the same way, so the CLI, benchmarks and server need not know which one they hold.
 */
import type { Dataset } from '../data/dataset.js';
import { CLOT_PRESETS, PRESET_SETTINGS, fitClot, loadClot, readModelDir, type ClotOptions, type ClotPreset, type CommonFitOptions, type TrajectoryModel } from '../surrogate/index.js';
import { fitCfm, type CfmOptions } from '../baselines/cfm.js';
import { fitDirect, loadDirect, type DirectOptions } from '../baselines/direct.js';
import { loadFlow } from '../baselines/flow.js';
import { fitMfm, type MfmOptions } from '../baselines/mfm.js';

export const BASELINES = ['direct', 'cfm', 'mfm'] as const;
export type Baseline = (typeof BASELINES)[number];

/** Every method `fitModel` accepts: the CLOT presets, then the baselines. */
export const METHODS: readonly string[] = [...CLOT_PRESETS, ...BASELINES];

/** Options any method takes; method-specific ones (e.g. `interpolantSteps`) pass through. */
export type FitModelOptions = CommonFitOptions & { steps?: number } & Record<string, unknown>;

export function isMethod(method: string): boolean {
  return METHODS.includes(method);
}

export function isClotPreset(method: string): method is ClotPreset {
  return (CLOT_PRESETS as string[]).includes(method);
}

const BASELINE_LABELS: Record<Baseline, string> = { direct: 'Direct', cfm: 'CFM', mfm: 'MFM' };

/** The paper's name of a method (K_θ−Û for 'full', …). */
export function methodLabel(method: string): string {
  return isClotPreset(method) ? PRESET_SETTINGS[method].label : BASELINE_LABELS[method as Baseline] ?? method;
}

/**
 * The preset that `settings` turn `preset` into: its metric family, with the density potential on
 * or off as the settings say (e.g. 'full' without the potential is 'k-theta').
 */
export function presetFor(preset: ClotPreset, settings: ClotOptions): ClotPreset {
  const base = PRESET_SETTINGS[preset];
  const metric = settings.metric?.kind ?? base.metric;
  const potential = settings.potential?.enabled ?? base.potential;
  const found = (Object.keys(PRESET_SETTINGS) as ClotPreset[]).find((p) => PRESET_SETTINGS[p].metric === metric && PRESET_SETTINGS[p].potential === potential);
  return found ?? preset;
}

function unknownMethod(method: string): Error {
  return new Error(`unknown method '${method}'; valid methods: ${METHODS.join(', ')}`);
}

/** Fit the named method on a training set whose levels are exactly the anchors. */
export async function fitModel(method: string, train: Dataset, options: FitModelOptions = {}): Promise<TrajectoryModel> {
  if ((CLOT_PRESETS as string[]).includes(method)) return fitClot(train, { ...options, preset: method as ClotPreset } as ClotOptions);
  switch (method) {
    case 'direct':
      return fitDirect(train, options as DirectOptions);
    case 'cfm':
      return fitCfm(train, options as CfmOptions);
    case 'mfm':
      return fitMfm(train, options as MfmOptions);
    default:
      throw unknownMethod(method);
  }
}

/** Load any saved model directory, whichever method made it. */
export function loadModel(dir: string): TrajectoryModel {
  const { stored, tensors } = readModelDir(dir);
  const loaders: Record<string, typeof loadClot | typeof loadDirect> = { clot: loadClot, direct: loadDirect, cfm: loadFlow, mfm: loadFlow };
  const load = Object.hasOwn(loaders, stored.info.kind) ? loaders[stored.info.kind] : undefined;
  if (!load) throw new Error(`model ${dir} is of kind '${String(stored.info.kind)}', which cannot be loaded (known kinds: clot, direct, cfm, mfm)`);
  try {
    return load(stored, tensors);
  } catch (err) {
    // The files parsed but do not make a model: name the model directory, and when a tensor's shape
    // is not what the config implies, say that the two files disagree (either may be the wrong one).
    const message = err instanceof Error ? err.message : String(err);
    const mismatch = /has shape .* in the file|has shape \[.*\], expected/.test(message);
    throw new Error(`model ${dir}: ${message}${mismatch ? ' (config.json and weights.safetensors disagree)' : ''}`);
  }
}
