/**
 * What a fit can be judged on besides its anchors: the sidecar's validation levels, or, with three
 * or more anchors and no validation levels, some anchors left out of a trial fit. Candidate
 * settings are scored on it, the time warp is calibrated on it, and the fit report compares the
 * surrogate with the trivial references on it.
 */
import { anchorDataset, levelIndex, rowWidth, selectLevels, selectRows, type Dataset } from '../data/index.js';
import { Rng } from '../engine/rng.js';
import { conditionGroups, scoreLevel, type OtWarmStarts } from '../eval/index.js';

export type HeldOutKind = 'validation' | 'left-out-anchors' | 'none';

export interface HeldOut {
  kind: HeldOutKind;
  /** The anchors candidates are fitted on: all of them, or those kept when some are left out. */
  train: Dataset;
  /** Held-out λ values, increasing (empty when kind is 'none'). */
  levels: number[];
  /** True rows at each held-out level (data units), capped for scoring speed. */
  truth: Float32Array[];
  /** Rows at the first anchor that a surrogate pushes to each held-out level. */
  inputs: Float32Array;
  /** The train anchors and the held-out levels with the same rows (for the trivial references). */
  reference: Dataset;
  /**
   * With validation levels, how far the family moves over each interval of the train anchors
   * (`anchorSpans`): it shapes every candidate's warp between its calibrated knots. Empty otherwise.
   */
  spans: number[];
}

/** Rows per class or condition group kept for scoring (exact OT costs grow fast with size). */
const MAX_ROWS_PER_GROUP = 512;
/** Condition groups kept for scoring (e.g. states of a policy). */
const MAX_GROUPS = 400;

function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

/**
 * The held-out information of a dataset for a fit on `anchors` (default: the sidecar's) and rows
 * `rows` (default: all): validation levels strictly inside the anchor range when the sidecar lists
 * any; otherwise, with ≥ 3 anchors, every other interior anchor (λ_1, λ_3, …) left out; otherwise none.
 */
export function heldOutFor(ds: Dataset, anchors?: number[], rows?: [number, number]): HeldOut {
  const full = anchorDataset(ds, anchors, rows);
  const lambdas = full.levels;
  const lo = lambdas[0];
  const hi = lambdas[lambdas.length - 1];
  const data = rows ? selectRows(ds, rows[0], rows[1]) : ds;
  const validation = (ds.validation ?? []).filter((v) => v > lo && v < hi && !lambdas.some((a) => close(a, v)) && levelIndex(ds, v) >= 0).sort((a, b) => a - b);
  if (validation.length > 0) return build('validation', data, lambdas, validation, full);
  if (lambdas.length >= 3) {
    const left = lambdas.filter((_, k) => k % 2 === 1 && k < lambdas.length - 1);
    const kept = lambdas.filter((l) => !left.includes(l));
    return build('left-out-anchors', data, kept, left, anchorDataset(ds, kept, rows));
  }
  return { kind: 'none', train: full, levels: [], truth: [], inputs: new Float32Array(0), reference: full, spans: [] };
}

/**
 * The dataset with at most a few hundred rows per class and a few hundred condition groups, the
 * same row indices at every level (rows that correspond still do): exact OT scores stay cheap.
 */
export function capForScoring(ds: Dataset): Dataset {
  const keep = scoringRows(ds, new Rng(0x5e1ec7));
  return { ...ds, data: ds.data.map((rows) => pickRowIndices(rows, rowWidth(ds), keep)) };
}

function build(kind: HeldOutKind, data: Dataset, anchors: number[], levels: number[], train: Dataset): HeldOut {
  const reference = { ...selectLevels(data, [...anchors, ...levels].sort((a, b) => a - b)), anchors, validation: levels };
  const capped = capForScoring(reference);
  return {
    kind,
    train,
    levels,
    truth: levels.map((l) => capped.data[levelIndex(capped, l)]),
    inputs: capped.data[levelIndex(capped, anchors[0])],
    reference: capped,
    spans: kind === 'validation' ? anchorSpans(train) : [],
  };
}

/**
 * Row indices kept for scoring, the same at every level (so rows that correspond still do):
 * at most MAX_ROWS_PER_GROUP per class, at most MAX_GROUPS condition groups, chosen with `rng`.
 * Levels with fewer rows than the first keep the indices they have.
 */
function scoringRows(ds: Dataset, rng: Rng): Int32Array {
  const first = ds.data[0];
  const n = first.length / rowWidth(ds);
  if (ds.cond === 0 || ds.categorical) {
    const byGroup = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const g = ds.cond === 0 ? 0 : first[i * rowWidth(ds) + ds.dim];
      if (!byGroup.has(g)) byGroup.set(g, []);
      byGroup.get(g)!.push(i);
    }
    const keep: number[] = [];
    for (const list of byGroup.values()) {
      if (list.length <= MAX_ROWS_PER_GROUP) keep.push(...list);
      else keep.push(...Array.from(rng.sample(list.length, MAX_ROWS_PER_GROUP), (j) => list[j]));
    }
    return Int32Array.from(keep.sort((a, b) => a - b));
  }
  const groups = conditionGroups(first, ds.dim, ds.cond);
  if (groups.length <= MAX_GROUPS) return Int32Array.from({ length: n }, (_, i) => i);
  const chosen = rng.sample(groups.length, MAX_GROUPS);
  return Int32Array.from(Array.from(chosen).flatMap((g) => Array.from(groups[g].rows)).sort((a, b) => a - b));
}

function pickRowIndices(rows: Float32Array, width: number, keep: Int32Array): Float32Array {
  const n = rows.length / width;
  const idx = keep.filter((i) => i < n);
  const out = new Float32Array(idx.length * width);
  idx.forEach((r, i) => out.set(rows.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

/**
 * The one number candidates are ranked by at a held-out level: W2² per class or condition group
 * (mean over groups) when the prediction has every true group; otherwise W2² over all rows.
 */
export function heldOutScore(pred: Float32Array, truth: Float32Array, ds: Pick<Dataset, 'dim' | 'cond' | 'categorical'>, lambda: number, warm?: OtWarmStarts): number {
  try {
    return scoreLevel(pred, truth, ds, lambda, warm).w2;
  } catch {
    // Conditions that do not recur across levels (continuous inputs drawn anew): pooled outputs.
    return scoreLevel(pred, truth, { dim: ds.dim, cond: 0, categorical: false }, lambda, warm).w2;
  }
}

/**
 * How far the family moves over each anchor interval, in data units: the square root of the
 * held-out score between the rows of adjacent anchors (W2 per class or condition group, the RMS
 * row displacement where rows correspond). Non-positive or non-finite distances give equal spans.
 */
export function anchorSpans(train: Dataset): number[] {
  const capped = capForScoring(train);
  const spans = capped.levels.slice(1).map((l, k) => Math.sqrt(heldOutScore(capped.data[k], capped.data[k + 1], capped, l)));
  return spans.every((d) => Number.isFinite(d) && d > 0) ? spans : spans.map(() => 1);
}
