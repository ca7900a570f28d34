// Placeholder during parallel development; replaced by the CLOT surrogate implementation.
import type { Dataset } from '../data/dataset.js';
import type { NamedArray } from '../engine/index.js';
import type { TrajectoryModel } from './model.js';
import type { StoredModel } from './persist.js';
import type { CommonFitOptions } from './progress.js';

export type ClotPreset = 'full' | 'k-theta' | 'euclidean-potential' | 'euclidean' | 'nlot' | 'nlot-potential';
export const CLOT_PRESETS: ClotPreset[] = ['full', 'k-theta', 'euclidean-potential', 'euclidean', 'nlot', 'nlot-potential'];
export interface ClotOptions extends CommonFitOptions { preset?: ClotPreset }
export async function fitClot(_ds: Dataset, _options: ClotOptions = {}): Promise<TrajectoryModel> {
  throw new Error('CLOT fit not available yet');
}
export function loadClot(_stored: StoredModel, _tensors: Record<string, NamedArray>): TrajectoryModel {
  throw new Error('CLOT load not available yet');
}
