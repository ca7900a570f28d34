/**
 * Checking a request against the model before it runs: the rows (given or drawn), the λ grid, the
 * condition of a field view. Each helper turns a bad request into a 400 with one clear message.
 */
import { checkLambda, checkRows, knownClasses, unknownClassError, type ModelInfo, type TrajectoryModel } from '../surrogate/model.js';
import { formatClassIds } from '../data/dataset.js';
import { badRequest } from './errors.js';

export interface RowSource {
  rows?: number[][];
  class?: number;
  n?: number;
  seed?: number;
}

export interface SampleBody extends RowSource {
  lambda: number;
}

export interface TrajectoryBody extends RowSource {
  lambdas?: number[];
  from?: number;
  to?: number;
  steps?: number;
  layout?: 'nested' | 'flat' | 'base64';
}

export interface FieldRequest {
  lambda?: number;
  class?: number;
  cond?: number[] | string;
  grid?: number;
  bounds?: [[number, number], [number, number]];
}

/** Run a model check (checkLambda, checkRows), turning its message into a 400. */
export function asClientError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw badRequest(err instanceof Error ? err.message : String(err));
  }
}

/** A class id the request names: the model must be categorical and know the class. */
function checkClass(info: ModelInfo, klass: number, otherwise: string): void {
  if (!info.categorical) throw badRequest(`class is only for categorical models; ${otherwise}`);
  if (!knownClasses(info).includes(klass)) throw badRequest(unknownClassError(info, klass).message);
}

/** The rows to push: given (checked against the model), or drawn at the first anchor. */
export function resolveRows(model: TrajectoryModel, body: RowSource): Float32Array {
  const info = model.info;
  const width = info.dim + info.cond;
  if (body.rows !== undefined) {
    if (body.n !== undefined || body.class !== undefined || body.seed !== undefined) {
      throw badRequest('give either rows, or class/n/seed to draw rows at the first anchor, not both');
    }
    const flat = new Float32Array(body.rows.length * width);
    body.rows.forEach((row, i) => {
      if (row.length !== width) {
        throw badRequest(`rows[${i}] has ${row.length} values; this model needs ${width} (${info.dim} outputs then ${info.cond} condition)`);
      }
      flat.set(row, i * width);
    });
    asClientError(() => checkRows(info, flat));
    return flat;
  }
  if (body.n === undefined) {
    throw badRequest(`give rows (each ${width} numbers), or n${info.categorical ? ' (and optionally class)' : ''} to draw rows at the first anchor`);
  }
  if (body.class !== undefined) checkClass(info, body.class, 'this model has continuous conditions');
  return asClientError(() => model.anchorRows(body.class ?? null, body.n!, body.seed ?? 0));
}

/** The λ values of a trajectory: a list, or an even grid of `steps` over [from, to]. */
export function resolveLambdas(info: ModelInfo, body: TrajectoryBody): number[] {
  const lo = info.anchors[0];
  const hi = info.anchors[info.anchors.length - 1];
  const grid = body.from !== undefined || body.to !== undefined || body.steps !== undefined;
  if (body.lambdas !== undefined) {
    if (grid) throw badRequest('give either lambdas, or steps (with optional from and to), not both');
    body.lambdas.forEach((l) => asClientError(() => checkLambda(info, l)));
    return body.lambdas;
  }
  if (body.steps === undefined) throw badRequest(`give lambdas, or steps (with optional from and to) for an even grid over [${lo}, ${hi}]`);
  const from = body.from ?? lo;
  const to = body.to ?? hi;
  asClientError(() => checkLambda(info, from));
  asClientError(() => checkLambda(info, to));
  const steps = body.steps;
  // Exact endpoints (no round-off past the range).
  return Array.from({ length: steps }, (_, i) => (i === steps - 1 ? to : from + ((to - from) * i) / (steps - 1)));
}

/** The condition row of a field view: a class (categorical) or the condition values. */
export function resolveCondition(info: ModelInfo, req: FieldRequest): Float32Array {
  if (info.categorical) {
    if (req.cond !== undefined) throw badRequest('this model is categorical: give class, not cond');
    if (req.class === undefined) throw badRequest(`class is required (one of ${formatClassIds(knownClasses(info))})`);
    checkClass(info, req.class, '');
    return Float32Array.of(req.class);
  }
  if (req.class !== undefined) throw badRequest('class is only for categorical models; give cond (the condition values)');
  let cond: number[] = [];
  if (typeof req.cond === 'string') {
    cond = req.cond === '' ? [] : req.cond.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  } else if (req.cond) cond = req.cond;
  if (cond.length !== info.cond) throw badRequest(`cond must hold ${info.cond} numbers (this model's condition columns), got ${cond.length}`);
  cond.forEach((v, j) => {
    if (!Number.isFinite(v)) throw badRequest(`cond[${j}] is not a finite number`);
  });
  return Float32Array.from(cond);
}

/** The field view's bounds: given (each [low, high] with low < high) or the data's. */
export function checkBounds(bounds: [[number, number], [number, number]]): void {
  bounds.forEach(([a, b], j) => {
    if (!(b > a)) throw badRequest(`bounds[${j}] must be [low, high] with low < high`);
  });
}
