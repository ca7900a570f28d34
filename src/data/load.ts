/**
 * Loading and validating datasets (.npy [T, N, D+C] or [N, D+C], or long-form CSV) with their JSON
 * sidecar, and the selections the method needs: levels, anchor levels, row ranges, sampling inputs.
 * Every problem with the input is reported as one Error whose message names the file and the place.
 */
import fs from 'node:fs';
import path from 'node:path';
import { columnNames, distinctClassIds, formatClassIds, LAMBDA_SCALES, levelIndex, MAX_CLASSES, rowCount, rowWidth, type Dataset, type LambdaScale } from './dataset.js';
import { hasNpyMagic, parseNpy, readFileOrThrow } from './npy.js';
import { csvText, parseLongCsv, parseRowsCsv } from './csv.js';

/** The JSON sidecar beside a data file (format of ../shared/data/*.json, plus optional column names). */
export interface Sidecar {
  /** λ of each level, strictly increasing. */
  hyperparameter?: number[];
  dim?: number;
  cond?: number;
  categorical?: boolean;
  anchors?: number[];
  validation?: number[];
  /** Held-out test levels: scored only, never used to fit or select. */
  test?: number[];
  /** The hyperparameter's λ scale (`auto` or one of LAMBDA_SCALES); `hti fit --scale` overrides it. */
  scale?: LambdaScale | 'auto';
  /** CSV only: names of the output and condition columns. */
  outputs?: string[];
  conditions?: string[];
}

export interface LoadOptions {
  /** Sidecar JSON path; default: the data file's name with extension .json, when it exists. */
  meta?: string;
  dim?: number;
  cond?: number;
  categorical?: boolean;
  /** CSV column names (override the sidecar's). */
  outputs?: string[];
  conditions?: string[];
  /** λ values of the levels (override the sidecar's `hyperparameter`). */
  levels?: number[];
  /** Why the condition is taken as categorical when `categorical` is given (named when class ids are bad). */
  categoricalBecause?: string;
}

const isCsvPath = (p: string): boolean => /\.(csv|txt)$/i.test(p);

/** The sidecar that goes with a data file by default: same path with extension .json, if present. */
export function defaultSidecarPath(dataPath: string): string | null {
  const ext = path.extname(dataPath);
  const candidate = (ext ? dataPath.slice(0, -ext.length) : dataPath) + '.json';
  return fs.existsSync(candidate) ? candidate : null;
}

function numberList(value: unknown, key: string, what: string): number[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw new Error(`${what}: '${key}' must be a list of finite numbers`);
  }
  return value as number[];
}

function stringList(value: unknown, key: string, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new Error(`${what}: '${key}' must be a list of column names`);
  return value as string[];
}

function count(value: unknown, key: string, what: string, min: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw new Error(`${what}: '${key}' must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return value;
}

function scaleName(value: unknown, what: string): LambdaScale | 'auto' | undefined {
  if (value === undefined || value === null) return undefined;
  const names = ['auto', ...LAMBDA_SCALES];
  if (typeof value !== 'string' || !names.includes(value)) throw new Error(`${what}: 'scale' must be one of ${names.join(', ')}, got ${JSON.stringify(value)}`);
  return value as LambdaScale | 'auto';
}

/** Parse sidecar JSON text, checking the type of every known field. */
export function parseSidecar(text: string, what = 'sidecar'): Sidecar {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${what}: not valid JSON (${(err as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${what}: expected a JSON object`);
  const r = raw as Record<string, unknown>;
  if (r.categorical !== undefined && typeof r.categorical !== 'boolean') throw new Error(`${what}: 'categorical' must be true or false`);
  return {
    hyperparameter: numberList(r.hyperparameter, 'hyperparameter', what),
    dim: count(r.dim, 'dim', what, 1),
    cond: count(r.cond, 'cond', what, 0),
    categorical: r.categorical as boolean | undefined,
    anchors: numberList(r.anchors, 'anchors', what),
    validation: numberList(r.validation, 'validation', what),
    test: numberList(r.test, 'test', what),
    scale: scaleName(r.scale, what),
    outputs: stringList(r.outputs, 'outputs', what),
    conditions: stringList(r.conditions, 'conditions', what),
  };
}

export function readSidecar(file: string): Sidecar {
  return parseSidecar(readFileOrThrow(file).toString('utf8'), `sidecar '${file}'`);
}

function checkIncreasing(levels: number[], what: string): void {
  for (let i = 1; i < levels.length; i++) {
    if (!(levels[i] > levels[i - 1])) {
      throw new Error(`${what}: levels must be strictly increasing, but λ = ${levels[i]} follows λ = ${levels[i - 1]} (position ${i})`);
    }
  }
}

/** Snap λ values to the dataset's levels; `role` names them in the error. */
function snapToLevels(ds: Pick<Dataset, 'levels'>, lambdas: number[], role: string, what: string): number[] {
  return lambdas.map((l) => {
    const i = levelIndex(ds, l);
    if (i < 0) throw new Error(`${what}: ${role} λ = ${l} is not one of the levels [${ds.levels.join(', ')}]`);
    return ds.levels[i];
  });
}

/** Load a dataset and validate it; see LoadOptions for what overrides the sidecar. */
export function loadDataset(file: string, options: LoadOptions = {}): Dataset {
  const metaPath = options.meta ?? defaultSidecarPath(file);
  const side: Sidecar = metaPath ? readSidecar(metaPath) : {};
  const metaWhat = metaPath ? `sidecar '${metaPath}'` : 'levels';
  const what = `'${file}'`;
  const categorical = options.categorical ?? side.categorical ?? false;
  let dim = options.dim ?? side.dim;
  // A categorical condition is one class-id column.
  let cond = options.cond ?? side.cond ?? (categorical ? 1 : undefined);
  const given = options.levels ?? side.hyperparameter;
  if (given) checkIncreasing(given, options.levels ? 'levels' : metaWhat);

  let levels: number[];
  let data: Float32Array[];
  let columns: string[] | undefined;
  const bytes = readFileOrThrow(file);
  if (isCsvPath(file) && !hasNpyMagic(bytes)) {
    const table = parseLongCsv(csvText(bytes, what), { outputs: options.outputs ?? side.outputs, conditions: options.conditions ?? side.conditions, dim, cond }, what);
    const width = table.outputs.length + table.conditions.length;
    if (dim === undefined && cond === undefined) {
      dim = table.outputs.length;
      cond = table.conditions.length;
    }
    dim ??= width - cond!;
    cond ??= width - dim;
    if (dim !== table.outputs.length || cond !== table.conditions.length) {
      throw new Error(`${what}: D + C = ${dim} + ${cond} does not match the CSV's ${table.outputs.length} output and ${table.conditions.length} condition columns`);
    }
    if (given) {
      if (given.length !== table.levels.length || given.some((l, i) => levelIndex(table, l) !== i)) {
        throw new Error(`${what}: the CSV's λ values [${table.levels.join(', ')}] do not match the ${metaWhat} hyperparameter list [${given.join(', ')}]`);
      }
    }
    levels = table.levels;
    data = table.data;
    columns = [...table.outputs, ...table.conditions];
  } else {
    const arr = parseNpy(bytes, what);
    if (arr.shape.length !== 3 && arr.shape.length !== 2) {
      throw new Error(`${what}: wrong rank ${arr.shape.length} (shape [${arr.shape.join(', ')}]); expected [levels, rows, D+C] or [rows, D+C]`);
    }
    const [t, n, width] = arr.shape.length === 3 ? arr.shape : [1, ...arr.shape];
    if (dim === undefined && cond === undefined) {
      throw new Error(`${what}: D and C are unknown; give a sidecar JSON with 'dim' and 'cond' (--meta FILE) or --dim and --cond`);
    }
    dim ??= width - cond!;
    cond ??= width - dim;
    if (dim + cond !== width) throw new Error(`${what}: D + C = ${dim} + ${cond} = ${dim + cond} does not match the last axis (${width}) of shape [${arr.shape.join(', ')}]`);
    if (given) {
      if (given.length !== t) throw new Error(`${what}: ${metaWhat} lists ${given.length} hyperparameter values but the array has ${t} level${t === 1 ? '' : 's'}`);
      levels = given.slice();
    } else if (t === 1) {
      levels = [0];
    } else {
      throw new Error(`${what}: the λ values of its ${t} levels are unknown; give a sidecar JSON with 'hyperparameter' (--meta FILE)`);
    }
    const size = n * width;
    data = Array.from({ length: t }, (_, i) => arr.data.slice(i * size, (i + 1) * size));
  }

  if (dim < 1) throw new Error(`${what}: D must be at least 1, got ${dim}`);
  if (cond < 0) throw new Error(`${what}: C must be at least 0, got ${cond}`);
  if (categorical && cond !== 1) throw new Error(`${what}: categorical data needs exactly one condition column (the class id), but C = ${cond}`);
  const ds: Dataset = { levels, data, dim, cond, categorical, classes: 0, source: file };
  if (columns) ds.columns = columns;
  checkFinite(ds, what);
  if (categorical) {
    ds.classIds = checkClassIds(ds, what, options.categoricalBecause);
    ds.classes = ds.classIds.length;
  }
  if (side.anchors) {
    ds.anchors = snapToLevels(ds, side.anchors, 'anchor', metaWhat);
    if (ds.anchors.length < 2) throw new Error(`${metaWhat}: needs at least 2 anchor levels, got ${ds.anchors.length}`);
    checkIncreasing(ds.anchors, `${metaWhat} anchors`);
  }
  if (side.validation) ds.validation = snapToLevels(ds, side.validation, 'validation', metaWhat);
  if (side.scale && side.scale !== 'auto') ds.scale = side.scale;
  if (side.test) {
    ds.test = snapToLevels(ds, side.test, 'test', metaWhat);
    const both = ds.test.find((l) => ds.anchors?.includes(l));
    if (both !== undefined) throw new Error(`${metaWhat}: test λ = ${both} is also an anchor; test levels must be held out`);
  }
  return ds;
}

/** Refuse NaN/Inf, naming the level, row and column (all counted from 0). */
function checkFinite(ds: Dataset, what: string): void {
  const width = rowWidth(ds);
  const names = columnNames(ds);
  ds.data.forEach((rows, t) => {
    for (let k = 0; k < rows.length; k++) {
      if (!Number.isFinite(rows[k])) {
        const row = Math.floor(k / width);
        const col = k % width;
        throw new Error(`${what}: ${rows[k]} at level ${t} (λ = ${ds.levels[t]}), row ${row}, column ${col} ('${names[col]}'); counted from 0`);
      }
    }
  });
}

/** The class column must hold integers ≥ 0, at most MAX_CLASSES distinct ones; returns them sorted. */
function checkClassIds(ds: Dataset, what: string, because?: string): number[] {
  const width = rowWidth(ds);
  ds.data.forEach((rows, t) => {
    for (let r = 0; r < rows.length / width; r++) {
      const v = rows[r * width + ds.dim];
      if (!Number.isInteger(v) || v < 0) {
        if (because) {
          throw new Error(`${what}: ${because}, so column ${ds.dim} must hold class ids (integers ≥ 0), but it holds ${v} at level ${t} (λ = ${ds.levels[t]}), row ${r}: is this data continuous?`);
        }
        throw new Error(`${what}: categorical column holds ${v} at level ${t} (λ = ${ds.levels[t]}), row ${r}; class ids must be integers ≥ 0`);
      }
    }
  });
  const ids = distinctClassIds(ds.data, ds.dim, width);
  if (ids.length > MAX_CLASSES) {
    throw new Error(`${what}: the class column holds ${ids.length} distinct ids (${formatClassIds(ids)}); at most ${MAX_CLASSES} classes are supported — is this column continuous?`);
  }
  return ids;
}

/** The dataset restricted to some levels (sorted increasingly); each λ must be a level. */
export function selectLevels(ds: Dataset, lambdas: number[]): Dataset {
  const what = ds.source ? `'${ds.source}'` : 'dataset';
  if (lambdas.length === 0) throw new Error(`${what}: no levels selected`);
  const idx = lambdas.map((l) => {
    const i = levelIndex(ds, l);
    if (i < 0) throw new Error(`${what}: λ = ${l} is not one of the levels [${ds.levels.join(', ')}]`);
    return i;
  });
  const unique = [...new Set(idx)].sort((a, b) => a - b);
  if (unique.length !== idx.length) throw new Error(`${what}: a level is selected twice in [${lambdas.join(', ')}]`);
  const levels = unique.map((i) => ds.levels[i]);
  const keep = (list?: number[]) => list?.filter((l) => levels.includes(l));
  return recountClasses({ ...ds, levels, data: unique.map((i) => ds.data[i]), anchors: keep(ds.anchors), validation: keep(ds.validation), test: keep(ds.test) });
}

/** A selection holds only some of the classes: its class list is the ids its rows hold. */
function recountClasses(ds: Dataset): Dataset {
  if (!ds.categorical) return ds;
  const classIds = distinctClassIds(ds.data, ds.dim, rowWidth(ds));
  return { ...ds, classIds, classes: classIds.length };
}

/** Rows [start, end) of every level (end clipped to each level's row count; Infinity = to the end). */
export function selectRows(ds: Dataset, start: number, end: number): Dataset {
  const what = ds.source ? `'${ds.source}'` : 'dataset';
  if (!Number.isInteger(start) || start < 0 || !(end > start)) throw new Error(`${what}: invalid row range ${start}:${end}`);
  const width = rowWidth(ds);
  const data = ds.data.map((rows, t) => {
    const n = rowCount(ds, t);
    if (start >= n) throw new Error(`${what}: row range ${start}:${end === Infinity ? '' : end} is empty at level λ = ${ds.levels[t]}, which has ${n} rows`);
    return rows.slice(start * width, Math.min(end, n) * width);
  });
  return recountClasses({ ...ds, data });
}

/** Parse `--rows START:END` (either side may be omitted: `1000:` or `:500`). END is exclusive. */
export function parseRowRange(text: string): [number, number] {
  const m = /^\s*(\d*)\s*:\s*(\d*)\s*$/.exec(text);
  const bad = () => new Error(`--rows expects START:END with integers 0 ≤ START < END (e.g. 0:1000 or 1000:), got '${text}'`);
  if (!m) throw bad();
  const start = m[1] === '' ? 0 : Number(m[1]);
  const end = m[2] === '' ? Infinity : Number(m[2]);
  if (!(end > start)) throw bad();
  return [start, end];
}

/** The training set: the anchor levels (the sidecar's by default), optionally a row range of each. */
export function anchorDataset(ds: Dataset, anchors?: number[], rows?: [number, number]): Dataset {
  const what = ds.source ? `'${ds.source}'` : 'dataset';
  const list = anchors ?? ds.anchors;
  if (!list) throw new Error(`${what}: no anchor levels; give them (--anchors) or list 'anchors' in the sidecar`);
  if (list.length < 2) throw new Error(`${what}: needs at least 2 anchor levels, got ${list.length}`);
  let out = selectLevels(ds, list);
  out = { ...out, anchors: out.levels.slice() };
  return rows ? selectRows(out, rows[0], rows[1]) : out;
}

/** Rows [N, width] for sampling input, from a .npy ([N, width] or one row [width]) or a CSV. */
export function readRowsFile(file: string, width: number): { rows: number; data: Float32Array } {
  const what = `'${file}'`;
  const bytes = readFileOrThrow(file);
  let out: { rows: number; data: Float32Array };
  if (isCsvPath(file) && !hasNpyMagic(bytes)) {
    out = parseRowsCsv(csvText(bytes, what), width, what);
  } else {
    const arr = parseNpy(bytes, what);
    const ok = (arr.shape.length === 2 && arr.shape[1] === width) || (arr.shape.length === 1 && arr.shape[0] === width);
    if (!ok) throw new Error(`${what}: shape [${arr.shape.join(', ')}] is not rows of width ${width}; expected [N, ${width}]`);
    out = { rows: arr.shape.length === 2 ? arr.shape[0] : 1, data: arr.data };
  }
  for (let k = 0; k < out.data.length; k++) {
    if (!Number.isFinite(out.data[k])) throw new Error(`${what}: ${out.data[k]} at row ${Math.floor(k / width)}, column ${k % width} (counted from 0)`);
  }
  return out;
}
