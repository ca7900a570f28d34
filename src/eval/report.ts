/**
 * Scoring a fitted surrogate on a dataset with known true levels: the first anchor's rows pushed
 * to each level and scored (W2² per class or condition group, MSE where rows correspond, MSE of
 * group means), beside the trivial references scored the same way. `hti eval` prints this report.
 */
import { levelIndex, rowWidth, type Dataset } from '../data/index.js';
import type { ModelInfo, TrajectoryModel } from '../surrogate/model.js';
import { conditionGroups, mse, perClassW2Detail, w2ByConditionDetail, type OtWarmStarts } from './scores.js';
import { trivialReferences } from './references.js';

/** Scores of predicted rows against the true rows of one level. */
export interface LevelScores {
  lambda: number;
  /** W2² (exact OT, squared Euclidean) per class or condition group, averaged over them. */
  w2: number;
  /** Categorical: W2² of each class present in the truth. */
  perClass?: { class: number; w2: number }[];
  /** Continuous conditions: how many condition groups were scored. */
  groups?: number;
  /** Row-wise MSE of the outputs, where row i of the prediction is row i of the truth. */
  mse?: number;
  /** MSE of each condition group's mean output (groups of several rows). */
  meanMse?: number;
}

export interface SourceScores {
  /** 'model' or a trivial reference's name. */
  name: string;
  kind: 'model' | 'reference';
  perLevel: LevelScores[];
  /** Means over levels of the scores present at every level. */
  mean: { w2: number; mse?: number; meanMse?: number };
}

export interface EvalReport {
  model: string;
  info: Omit<ModelInfo, 'training'>;
  data: string;
  rows: [number, number | null];
  /** The level whose rows are pushed to every scored level (the model's first anchor). */
  inputLambda: number;
  inputRows: number;
  levels: number[];
  scores: SourceScores[];
}

/** Whether pred row i and truth row i share their condition for every i (outputs then compare row by row). */
export function rowsMatch(pred: Float32Array, truth: Float32Array, dim: number, cond: number): boolean {
  if (pred.length !== truth.length || cond === 0) return false;
  const width = dim + cond;
  for (let i = 0; i < truth.length; i += width) {
    for (let j = dim; j < width; j++) if (Math.fround(pred[i + j]) !== Math.fround(truth[i + j])) return false;
  }
  return true;
}

/** MSE between the mean output of each true condition group and the mean of the predicted rows with that condition. */
export function groupMeanMse(pred: Float32Array, truth: Float32Array, dim: number, cond: number): number {
  const width = dim + cond;
  const key = (g: { condition: Float32Array }) => Array.from(g.condition).join(',');
  const predGroups = new Map(conditionGroups(pred, dim, cond).map((g) => [key(g), g]));
  const meanOf = (rows: Float32Array, idx: Int32Array, j: number) => idx.reduce((s, r) => s + rows[r * width + j], 0) / idx.length;
  let sq = 0;
  let n = 0;
  for (const g of conditionGroups(truth, dim, cond)) {
    const p = predGroups.get(key(g));
    if (!p) throw new Error(`no predicted rows with condition (${Array.from(g.condition).join(', ')})`);
    for (let j = 0; j < dim; j++) sq += (meanOf(pred, p.rows, j) - meanOf(truth, g.rows, j)) ** 2;
    n += dim;
  }
  return sq / n;
}

/** Score predicted rows at one level: per-class or per-group W2², and MSE where rows correspond. */
export function scoreLevel(pred: Float32Array, truth: Float32Array, ds: Pick<Dataset, 'dim' | 'cond' | 'categorical'>, lambda: number, warm?: OtWarmStarts): LevelScores {
  const { dim, cond } = ds;
  if (ds.categorical) {
    const d = perClassW2Detail(pred, truth, dim, undefined, warm);
    return { lambda, w2: d.mean, perClass: d.groups.map((g) => ({ class: g.condition[0], w2: g.w2 })) };
  }
  const d = w2ByConditionDetail(pred, truth, dim, cond, warm);
  const out: LevelScores = { lambda, w2: d.mean, groups: d.groups.length };
  if (rowsMatch(pred, truth, dim, cond)) out.mse = mse(pred, truth, dim, cond);
  if (cond > 0 && d.groups.some((g) => g.nTrue > 1)) out.meanMse = groupMeanMse(pred, truth, dim, cond);
  return out;
}

function meanScores(perLevel: LevelScores[]): SourceScores['mean'] {
  const avg = (pick: (l: LevelScores) => number | undefined): number | undefined => {
    const v = perLevel.map(pick);
    return v.every((x) => x !== undefined) ? (v as number[]).reduce((s, x) => s + x, 0) / v.length : undefined;
  };
  const out: SourceScores['mean'] = { w2: avg((l) => l.w2)! };
  const m = avg((l) => l.mse);
  const mm = avg((l) => l.meanMse);
  if (m !== undefined) out.mse = m;
  if (mm !== undefined) out.meanMse = mm;
  return out;
}

/** The levels scored by default: the sidecar's validation levels, else every non-anchor level in the model's range. */
export function defaultEvalLevels(ds: Dataset, info: ModelInfo): number[] {
  if (ds.validation?.length) return ds.validation.slice();
  const lo = info.anchors[0];
  const hi = info.anchors[info.anchors.length - 1];
  const inside = ds.levels.filter((l) => l >= lo && l <= hi && !info.anchors.some((a) => Math.abs(a - l) <= 1e-9 * Math.max(1, Math.abs(a))));
  if (inside.length === 0) throw new Error(`the data has no level strictly between the model's anchors [${info.anchors.join(', ')}]; give --levels`);
  return inside;
}

/** Push the data's first-anchor rows to each level and score them, with the trivial references. */
export function evaluateModel(model: TrajectoryModel, ds: Dataset, levels: number[]): Omit<EvalReport, 'model' | 'data' | 'rows'> {
  const { info } = model;
  if (ds.dim !== info.dim || ds.cond !== info.cond || ds.categorical !== info.categorical) {
    throw new Error(`the data has D = ${ds.dim}, C = ${ds.cond}${ds.categorical ? ' (categorical)' : ''} but the model expects D = ${info.dim}, C = ${info.cond}${info.categorical ? ' (categorical)' : ''}`);
  }
  if (levels.length === 0) throw new Error('no levels to score');
  const first = info.anchors[0];
  const inputIdx = levelIndex(ds, first);
  if (inputIdx < 0) throw new Error(`the data has no level at the model's first anchor λ = ${first} (levels: ${ds.levels.join(', ')}); its rows are what gets pushed`);
  const truthIdx = levels.map((l) => {
    const i = levelIndex(ds, l);
    if (i < 0) throw new Error(`λ = ${l} is not a level of the data (levels: ${ds.levels.join(', ')})`);
    return i;
  });
  const inputs = ds.data[inputIdx];
  const score = (name: string, kind: SourceScores['kind'], preds: Float32Array[]): SourceScores => {
    const perLevel = preds.map((p, i) => scoreLevel(p, ds.data[truthIdx[i]], ds, levels[i]));
    return { name, kind, perLevel, mean: meanScores(perLevel) };
  };
  const scores = [score('model', 'model', levels.map((l) => model.sample(inputs, l)))];
  // References need every model anchor among the data's levels (nearest anchor, interpolation).
  const anchorsPresent = info.anchors.every((a) => levelIndex(ds, a) >= 0);
  const refs = anchorsPresent
    ? trivialReferences({ ...ds, anchors: info.anchors }, levels)
    : [{ name: 'copy-first-anchor', predictions: levels.map(() => inputs.slice()) }];
  for (const r of refs) scores.push(score(r.name, 'reference', r.predictions));
  const { training: _t, ...rest } = info;
  void _t;
  return { info: rest, inputLambda: first, inputRows: inputs.length / rowWidth(ds), levels, scores };
}
