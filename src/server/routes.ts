/**
 * The API's route handlers, one function per route. Each receives the server's context (the model,
 * its limits, the reference data) and a request that already passed its JSON schema; the checks
 * against the model are the shared helpers of requests.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { checkLambda, knownClasses, type TrajectoryModel } from '../surrogate/model.js';
import { badRequest, HttpError } from './errors.js';
import { computeField, paddedBounds } from './field.js';
import { asClientError, checkBounds, resolveCondition, resolveLambdas, resolveRows, type FieldRequest, type SampleBody, type TrajectoryBody } from './requests.js';
import type { Limits } from './schemas.js';

/** True samples at data levels, shown by the viewer next to the surrogate (optional). */
export interface ReferenceData {
  levels: number[];
  /** Per level a row-major N × (D + C) matrix. */
  data: Float32Array[];
}

/** What every handler of one server shares. */
export interface ServerContext {
  model: TrajectoryModel;
  limits: Limits;
  reference?: ReferenceData;
  /** Rows per level returned by /api/reference (evenly thinned). */
  maxReferenceRows: number;
}

const widthOf = (ctx: ServerContext) => ctx.model.info.dim + ctx.model.info.cond;

/** Row-major [n, width] as nested arrays. */
function nested(data: Float32Array, n: number, width: number): number[][] {
  const out: number[][] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = Array.from(data.subarray(i * width, (i + 1) * width));
  return out;
}

function columnNames(model: TrajectoryModel): string[] {
  const { dim, cond, categorical } = model.info;
  const y = Array.from({ length: dim }, (_, j) => `y${j}`);
  const x = categorical && cond === 1 ? ['class'] : Array.from({ length: cond }, (_, j) => `x${j}`);
  return [...y, ...x];
}

/** GET /api/model: what the model is and what the server accepts. */
export function modelRoute(ctx: ServerContext) {
  return async () => {
    const { model, limits, reference } = ctx;
    const info = model.info;
    return {
      kind: info.kind,
      method: info.method,
      dim: info.dim,
      cond: info.cond,
      categorical: info.categorical,
      classes: info.classes,
      classIds: knownClasses(info),
      anchors: info.anchors,
      range: [info.anchors[0], info.anchors[info.anchors.length - 1]],
      bounds: info.bounds,
      columns: columnNames(model),
      potential: typeof model.potential === 'function',
      metric: typeof model.metric === 'function',
      reference: reference ? reference.levels : null,
      training: info.training ?? null,
      limits,
    };
  };
}

/** POST /api/sample: rows pushed to one λ. */
export function sampleRoute(ctx: ServerContext) {
  return async (request: FastifyRequest<{ Body: SampleBody }>) => {
    const body = request.body;
    asClientError(() => checkLambda(ctx.model.info, body.lambda));
    const rows = resolveRows(ctx.model, body);
    const out = ctx.model.sample(rows, body.lambda);
    const width = widthOf(ctx);
    return { lambda: body.lambda, rows: nested(out, rows.length / width, width) };
  };
}

/** POST /api/trajectory: rows pushed along a λ grid, nested, flat or as base64 float32. */
export function trajectoryRoute(ctx: ServerContext) {
  return async (request: FastifyRequest<{ Body: TrajectoryBody }>) => {
    const body = request.body;
    const lambdas = resolveLambdas(ctx.model.info, body);
    const rows = resolveRows(ctx.model, body);
    const width = widthOf(ctx);
    const n = rows.length / width;
    const values = n * lambdas.length * width;
    if (values > ctx.limits.maxValues) {
      throw badRequest(`the trajectory would hold ${values} numbers (${n} rows × ${lambdas.length} λ × ${width}); the limit is ${ctx.limits.maxValues}: ask for fewer rows or λ values`);
    }
    const out = ctx.model.trajectory(rows, lambdas);
    if (body.layout === 'flat') return { lambdas, n, width, data: Array.from(out) };
    // Little-endian float32 bytes: a fifth of the JSON size and no number parsing in the page.
    if (body.layout === 'base64') return { lambdas, n, width, base64: Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64') };
    const block = n * width;
    return { lambdas, trajectory: lambdas.map((_, l) => nested(out.subarray(l * block, (l + 1) * block), n, width)) };
  };
}

/** /api/field (GET with a query, POST with a body): the learned potential and metric on a grid. */
export function fieldRoute(ctx: ServerContext) {
  return async (req: FieldRequest) => {
    const { model } = ctx;
    const info = model.info;
    if (info.dim !== 2) throw badRequest(`the field view needs 2 output dimensions; this model has ${info.dim}`);
    if (!model.potential && !model.metric) {
      throw new HttpError(404, `this model (${info.kind}, ${info.method}) has no learned potential or metric to show`);
    }
    if (req.lambda !== undefined) asClientError(() => checkLambda(info, req.lambda as number));
    const cond = resolveCondition(info, req);
    const bounds = req.bounds ?? paddedBounds(info);
    checkBounds(bounds);
    const grid = req.grid ?? 32;
    const result = computeField(model, cond, bounds, grid);
    // U and G do not depend on λ in this model contract; λ is echoed for the caller's bookkeeping.
    return { lambda: req.lambda ?? null, cond: Array.from(cond), grid, ...result };
  };
}

/** GET /api/reference: the true samples given with --data, thinned to a few rows per level. */
export function referenceRoute(ctx: ServerContext) {
  return async () => {
    const ref = ctx.reference;
    if (!ref) throw new HttpError(404, 'no reference data was given to this server (hti serve MODEL --data FILE)');
    const cap = ctx.maxReferenceRows;
    const width = widthOf(ctx);
    return {
      levels: ref.levels,
      rows: ref.data.map((d) => {
        const n = d.length / width;
        const stride = Math.max(1, n / cap);
        const picked: number[][] = [];
        for (let k = 0; Math.floor(k * stride) < n && picked.length < cap; k++) {
          const i = Math.floor(k * stride);
          picked.push(Array.from(d.subarray(i * width, (i + 1) * width)));
        }
        return picked;
      }),
    };
  };
}

// The page loads only its own files: no network at runtime.
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};

/** GET of one viewer file (index.html, app.js, style.css), read per request so an edit shows on reload. */
export function webFileRoute(webDir: string, file: string, type: string) {
  const full = path.join(webDir, file);
  return async (_request: FastifyRequest, reply: FastifyReply) => {
    let text: string;
    try {
      text = fs.readFileSync(full, 'utf8');
    } catch {
      throw new HttpError(404, `the viewer file ${file} is missing from ${webDir}`);
    }
    return reply.headers(PAGE_HEADERS).type(type).send(text);
  };
}
