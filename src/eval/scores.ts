/**
 * Scores of predicted rows against true rows. Rows are row-major of width D + C: the D outputs,
 * then the C condition columns (one class id when categorical). All W2 figures are the exact
 * squared-Euclidean OT cost (W2², benchmarks.md's "W.D."), see ot.ts.
 */
import { exactOtCost, newWarmStart, type AssignmentWarmStart } from './ot.js';

/**
 * Warm starts of the exact OT per condition group (or class), kept by the caller across a run of
 * scores against the same true rows (see AssignmentWarmStart): only the work changes.
 */
export type OtWarmStarts = Map<string, AssignmentWarmStart>;

type Rows = Float32Array | Float64Array;

function checkWidth(rows: Rows, width: number, what: string): number {
  if (!Number.isInteger(width) || width < 1) throw new Error(`${what}: row width must be a positive integer, got ${width}`);
  if (rows.length % width !== 0) throw new Error(`${what}: ${rows.length} values is not a whole number of rows of width ${width}`);
  return rows.length / width;
}

/** Rows start..end−1 of a row-major matrix (a copy). */
export function sliceRows(rows: Float32Array, width: number, start: number, end: number): Float32Array {
  const n = checkWidth(rows, width, 'sliceRows');
  if (!(start >= 0 && end <= n && start <= end)) throw new Error(`sliceRows: range ${start}..${end} outside 0..${n}`);
  return rows.slice(start * width, end * width);
}

/** The output block (first dim columns) of the listed rows, packed n × dim. */
function outputsOf(rows: Rows, width: number, dim: number, index: ArrayLike<number>): Float64Array {
  const out = new Float64Array(index.length * dim);
  for (let k = 0; k < index.length; k++) {
    const r = index[k] * width;
    for (let j = 0; j < dim; j++) out[k * dim + j] = rows[r + j];
  }
  return out;
}

/** Rows that share one condition vector. */
export interface ConditionGroup {
  /** The shared condition vector (length C). */
  condition: Float32Array;
  /** Row indices, in order of appearance. */
  rows: Int32Array;
}

/** Key of the cond values starting at offset; float32 values, as predictions carry conditions through float32 unchanged. */
function conditionKey(values: Rows, offset: number, cond: number): string {
  let key = '';
  for (let j = 0; j < cond; j++) key += (j ? ',' : '') + Math.fround(values[offset + j]);
  return key;
}

/** Group rows by identical condition vectors (exact float32 equality), in order of first appearance. */
export function conditionGroups(rows: Rows, dim: number, cond: number): ConditionGroup[] {
  const width = dim + cond;
  const n = checkWidth(rows, width, 'conditionGroups');
  const byKey = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const key = conditionKey(rows, i * width + dim, cond);
    const list = byKey.get(key);
    if (list) list.push(i);
    else byKey.set(key, [i]);
  }
  return [...byKey.values()].map((list) => ({
    condition: Float32Array.from({ length: cond }, (_, j) => rows[list[0] * width + dim + j]),
    rows: Int32Array.from(list),
  }));
}

/** W2² of one condition group; groups are matched between pred and truth by their condition. */
export interface GroupW2 {
  condition: Float32Array;
  w2: number;
  nPred: number;
  nTrue: number;
}

export interface W2Summary {
  /** Mean over the scored groups (each group counts once, whatever its size). */
  mean: number;
  groups: GroupW2[];
}

/**
 * W2² between predicted and true rows within each condition group of the truth, averaged over
 * groups. Every true group must have predicted rows with the same condition.
 */
export function w2ByConditionDetail(pred: Rows, truth: Rows, dim: number, cond: number, warm?: OtWarmStarts): W2Summary {
  const width = dim + cond;
  checkWidth(pred, width, 'w2ByCondition (predicted rows)');
  checkWidth(truth, width, 'w2ByCondition (true rows)');
  if (truth.length === 0) throw new Error('w2ByCondition: no true rows');
  const predGroups = new Map<string, ConditionGroup>();
  for (const g of conditionGroups(pred, dim, cond)) predGroups.set(conditionKey(g.condition, 0, cond), g);
  const groups: GroupW2[] = [];
  for (const g of conditionGroups(truth, dim, cond)) {
    const key = conditionKey(g.condition, 0, cond);
    const p = predGroups.get(key);
    if (!p) throw new Error(`w2ByCondition: no predicted rows with condition (${Array.from(g.condition).join(', ')})`);
    let start = warm?.get(key);
    if (warm && !start) warm.set(key, (start = newWarmStart()));
    const w2 = exactOtCost(outputsOf(pred, width, dim, p.rows), outputsOf(truth, width, dim, g.rows), dim, start);
    groups.push({ condition: g.condition, w2, nPred: p.rows.length, nTrue: g.rows.length });
  }
  return { mean: groups.reduce((s, g) => s + g.w2, 0) / groups.length, groups };
}

/** Mean over condition groups of the exact W2² between predicted and true outputs. */
export function w2ByCondition(pred: Rows, truth: Rows, dim: number, cond: number): number {
  return w2ByConditionDetail(pred, truth, dim, cond).mean;
}

/**
 * Per-class W2² for rows of width D + 1 (class id at column D), averaged over the classes present
 * in the truth — or over `classes` when given. Class ids must be integers.
 */
export function perClassW2Detail(pred: Rows, truth: Rows, dim: number, classes?: number[], warm?: OtWarmStarts): W2Summary {
  for (const [rows, what] of [
    [pred, 'predicted'],
    [truth, 'true'],
  ] as const) {
    const n = checkWidth(rows, dim + 1, `perClassW2 (${what} rows)`);
    for (let i = 0; i < n; i++) {
      const c = rows[i * (dim + 1) + dim];
      if (!Number.isInteger(c)) throw new Error(`perClassW2: ${what} row ${i} has class ${c}, not an integer id`);
    }
  }
  const all = w2ByConditionDetail(pred, truth, dim, 1, warm);
  if (!classes) return { mean: all.mean, groups: [...all.groups].sort((p, q) => p.condition[0] - q.condition[0]) };
  const groups = classes.map((c) => {
    const g = all.groups.find((x) => x.condition[0] === c);
    if (!g) throw new Error(`perClassW2: class ${c} has no true rows`);
    return g;
  });
  if (groups.length === 0) throw new Error('perClassW2: empty class list');
  return { mean: groups.reduce((s, g) => s + g.w2, 0) / groups.length, groups };
}

/** Mean over classes of the exact W2² between predicted and true outputs of each class. */
export function perClassW2(pred: Rows, truth: Rows, dim: number, classes?: number[]): number {
  return perClassW2Detail(pred, truth, dim, classes).mean;
}

/** Per-state distributional scores for grouped rows (see groupedScores). */
export interface GroupedScores {
  /** Mean over groups of the exact W2² between the k predicted and k true outputs. */
  w2: number;
  /** Mean over groups and output dims of (mean predicted − mean true output)². */
  mse: number;
  /** W2² of each group. */
  perGroup: Float64Array;
}

/**
 * Scores for data where consecutive blocks of `groupSize` rows share one condition (cancer_reward:
 * rows 10i..10i+9 are 10 actions at one state). Predicted rows must be aligned with the true rows
 * block by block and carry the same condition.
 */
export function groupedScores(pred: Rows, truth: Rows, dim: number, cond: number, groupSize: number): GroupedScores {
  const width = dim + cond;
  const n = checkWidth(truth, width, 'groupedScores (true rows)');
  const np = checkWidth(pred, width, 'groupedScores (predicted rows)');
  if (np !== n) throw new Error(`groupedScores: ${np} predicted rows for ${n} true rows`);
  if (!Number.isInteger(groupSize) || groupSize < 1) throw new Error(`groupedScores: group size must be a positive integer, got ${groupSize}`);
  if (n === 0 || n % groupSize !== 0) throw new Error(`groupedScores: ${n} rows is not a whole number of groups of ${groupSize}`);
  const groups = n / groupSize;
  const perGroup = new Float64Array(groups);
  const index = new Int32Array(groupSize);
  let sq = 0;
  for (let g = 0; g < groups; g++) {
    const first = g * groupSize;
    for (let k = 0; k < groupSize; k++) index[k] = first + k;
    for (let k = 0; k < groupSize; k++) {
      for (let j = 0; j < cond; j++) {
        const want = truth[first * width + dim + j];
        const got = pred[(first + k) * width + dim + j];
        if (Math.abs(got - want) > 1e-5 * (1 + Math.abs(want))) {
          throw new Error(`groupedScores: predicted row ${first + k} has condition column ${j} = ${got}, but its group's true condition is ${want}`);
        }
      }
    }
    const yp = outputsOf(pred, width, dim, index);
    const yt = outputsOf(truth, width, dim, index);
    perGroup[g] = exactOtCost(yp, yt, dim);
    for (let j = 0; j < dim; j++) {
      let mp = 0;
      let mt = 0;
      for (let k = 0; k < groupSize; k++) {
        mp += yp[k * dim + j];
        mt += yt[k * dim + j];
      }
      sq += ((mp - mt) / groupSize) ** 2;
    }
  }
  return { w2: perGroup.reduce((s, v) => s + v, 0) / groups, mse: sq / (groups * dim), perGroup };
}

/** Mean squared error over rows and the first dim columns, for deterministic outputs (rows of width dim + cond). */
export function mse(pred: Rows, truth: Rows, dim: number, cond = 0): number {
  const width = dim + cond;
  const n = checkWidth(truth, width, 'mse (true rows)');
  const np = checkWidth(pred, width, 'mse (predicted rows)');
  if (np !== n) throw new Error(`mse: ${np} predicted rows for ${n} true rows`);
  if (n === 0) throw new Error('mse: no rows');
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) s += (pred[i * width + j] - truth[i * width + j]) ** 2;
  }
  return s / (n * dim);
}
