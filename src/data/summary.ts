/** Descriptive statistics of a dataset, as `hti info` prints them. */
import { classIdsOf, columnNames, rowCount, rowWidth, type Dataset } from './dataset.js';

export interface ColumnRange {
  name: string;
  kind: 'output' | 'condition';
  min: number;
  max: number;
}

export interface LevelSummary {
  lambda: number;
  rows: number;
  anchor: boolean;
  validation: boolean;
  /** A held-out test level (present only when true). */
  test?: boolean;
  /** Per column (D + C) range at this level. */
  columns: ColumnRange[];
  /** Rows per class, in the order of the summary's `classIds` (categorical only). */
  classCounts?: number[];
}

export interface DatasetSummary {
  source?: string;
  dim: number;
  cond: number;
  categorical: boolean;
  classes: number;
  /** The distinct class ids, sorted (categorical only). */
  classIds?: number[];
  anchors?: number[];
  validation?: number[];
  test?: number[];
  /** The λ scale the sidecar names, when it names one. */
  scale?: string;
  levels: LevelSummary[];
  /** Per column range over all levels. */
  columns: ColumnRange[];
  /** Rows per class over all levels, in the order of `classIds` (categorical only). */
  classCounts?: number[];
}

function ranges(rows: Float32Array, width: number, names: string[], dim: number): ColumnRange[] {
  const out: ColumnRange[] = names.map((name, j) => ({ name, kind: j < dim ? 'output' : 'condition', min: Infinity, max: -Infinity }));
  for (let k = 0; k < rows.length; k++) {
    const c = out[k % width];
    const v = rows[k];
    if (v < c.min) c.min = v;
    if (v > c.max) c.max = v;
  }
  return out;
}

function classCounts(rows: Float32Array, width: number, dim: number, classIds: number[]): number[] {
  const index = new Map(classIds.map((id, i) => [id, i]));
  const counts = new Array<number>(classIds.length).fill(0);
  for (let k = dim; k < rows.length; k += width) counts[index.get(rows[k])!] += 1;
  return counts;
}

export function datasetSummary(ds: Dataset): DatasetSummary {
  const width = rowWidth(ds);
  const names = columnNames(ds);
  const classIds = classIdsOf(ds);
  const isIn = (list: number[] | undefined, l: number) => list?.includes(l) ?? false;
  const levels: LevelSummary[] = ds.levels.map((lambda, t) => {
    const s: LevelSummary = {
      lambda,
      rows: rowCount(ds, t),
      anchor: isIn(ds.anchors, lambda),
      validation: isIn(ds.validation, lambda),
      ...(isIn(ds.test, lambda) ? { test: true } : {}),
      columns: ranges(ds.data[t], width, names, ds.dim),
    };
    if (ds.categorical) s.classCounts = classCounts(ds.data[t], width, ds.dim, classIds);
    return s;
  });
  const columns = names.map((name, j) => ({
    name,
    kind: levels[0]?.columns[j].kind ?? (j < ds.dim ? 'output' : 'condition'),
    min: Math.min(...levels.map((l) => l.columns[j].min)),
    max: Math.max(...levels.map((l) => l.columns[j].max)),
  })) as ColumnRange[];
  const summary: DatasetSummary = {
    source: ds.source,
    dim: ds.dim,
    cond: ds.cond,
    categorical: ds.categorical,
    classes: ds.categorical ? classIds.length : 0,
    anchors: ds.anchors,
    validation: ds.validation,
    ...(ds.test ? { test: ds.test } : {}),
    ...(ds.scale ? { scale: ds.scale } : {}),
    levels,
    columns,
  };
  if (ds.categorical) {
    summary.classIds = classIds;
    summary.classCounts = classIds.map((_, c) => levels.reduce((a, l) => a + l.classCounts![c], 0));
  }
  return summary;
}
