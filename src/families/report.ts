/**
 * What a generated family looks like, level by level: its role, the seconds its network took, the
 * trivial references' and the noise floor's scores (from the sidecar), and — where rows correspond —
 * the progress ρ of the best affine mix of the extreme levels against linear interpolation's.
 */
import type { CachedFamily } from './cache.js';
import { affineProgress, progressSummary, type LevelProgress } from './progress.js';

export interface FamilyLevelReport {
  lambda: number;
  role: 'anchor' | 'validation' | 'test' | '-';
  trainSeconds: number;
  trainCpuSeconds: number;
  /** Reference name → score of the family's first metric (held-out levels only). */
  references: Record<string, number>;
  /** The noise floor's score (test levels with a retrained network only). */
  floor?: number;
  /** Interior levels: progress between the first and last level. */
  progress?: LevelProgress;
}

export interface FamilyReport {
  name: string;
  file: string;
  description: string;
  size: string;
  seed: number;
  backend: string;
  dim: number;
  cond: number;
  rowsPerLevel: number;
  samplesPerCondition: number;
  metric: string;
  split: string;
  levels: FamilyLevelReport[];
  trainSecondsTotal: number;
  trainCpuSecondsTotal: number;
  /** Means over the interior levels of the best mix's and linear interpolation's MSE (rows correspond only). */
  progress?: { from: number; to: number; mseBest: number; mseLinear: number };
}

export function familyReport(family: CachedFamily): FamilyReport {
  const { dataset: ds, sidecar: side } = family;
  const f = side.family;
  const metric = side.references.metrics[0].key;
  const lo = ds.levels[0];
  const hi = ds.levels[ds.levels.length - 1];
  const progress = f.samplesPerCondition === 1 ? affineProgress(ds, lo, hi) : [];
  const role = (l: number): FamilyLevelReport['role'] =>
    side.anchors.includes(l) ? 'anchor' : side.validation.includes(l) ? 'validation' : side.test.includes(l) ? 'test' : '-';
  const levels = ds.levels.map((lambda, t): FamilyLevelReport => {
    const held = side.references.levels.indexOf(lambda);
    const references = held < 0 ? {} : Object.fromEntries(Object.entries(side.references.scores).map(([name, s]) => [name, s[metric][held]]));
    const fl = side.floor?.levels.indexOf(lambda) ?? -1;
    const p = progress.find((x) => x.lambda === lambda);
    return {
      lambda,
      role: role(lambda),
      trainSeconds: f.trainSeconds[t],
      trainCpuSeconds: f.trainCpuSeconds[t],
      references,
      ...(fl >= 0 ? { floor: side.floor!.scores[metric][fl] } : {}),
      ...(p ? { progress: p } : {}),
    };
  });
  return {
    name: f.name,
    file: family.files.npy,
    description: f.description,
    size: f.size,
    seed: f.seed,
    backend: f.backend,
    dim: ds.dim,
    cond: ds.cond,
    rowsPerLevel: ds.data[0].length / (ds.dim + ds.cond),
    samplesPerCondition: f.samplesPerCondition,
    metric,
    split: f.split,
    levels,
    trainSecondsTotal: f.trainSeconds.reduce((a, b) => a + b, 0),
    trainCpuSecondsTotal: f.trainCpuSeconds.reduce((a, b) => a + b, 0),
    ...(progress.length ? { progress: { from: lo, to: hi, ...progressSummary(progress) } } : {}),
  };
}
