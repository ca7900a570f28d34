/**
 * The HTTP API and the viewer page of a trained surrogate, on Fastify. Every request is checked
 * against a JSON schema and against the model (λ range, row width, class ids) before the model
 * runs; every failure is a JSON error with a one-line message, never a stack trace.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { Ajv } from 'ajv';
import { checkLambda, checkRows, type TrajectoryModel } from '../surrogate/model.js';
import { badRequest, classifyError, errorBody, formatSchemaErrors, HttpError } from './errors.js';
import { computeField, paddedBounds } from './field.js';
import { DEFAULT_LIMITS, fieldBody, fieldQuery, sampleBody, trajectoryBody, type Limits } from './schemas.js';

/** True samples at data levels, shown by the viewer next to the surrogate (optional). */
export interface ReferenceData {
  levels: number[];
  /** Per level a row-major N × (D + C) matrix. */
  data: Float32Array[];
}

export interface ServerOptions extends Partial<Limits> {
  /** Folder holding index.html, app.js, style.css; null serves the API only. */
  webDir?: string | null;
  reference?: ReferenceData;
  /** Rows per level returned by /api/reference (evenly thinned). */
  maxReferenceRows?: number;
  /** Called with server-side failures (500s); defaults to one line on stderr. */
  onInternalError?: (err: unknown) => void;
}

interface RowSource {
  rows?: number[][];
  class?: number;
  n?: number;
  seed?: number;
}
interface SampleBody extends RowSource {
  lambda: number;
}
interface TrajectoryBody extends RowSource {
  lambdas?: number[];
  from?: number;
  to?: number;
  steps?: number;
  layout?: 'nested' | 'flat' | 'base64';
}
interface FieldRequest {
  lambda?: number;
  class?: number;
  cond?: number[] | string;
  grid?: number;
  bounds?: [[number, number], [number, number]];
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** web/ sits at the package root, two levels above both src/server and dist/server. */
export const DEFAULT_WEB_DIR = path.resolve(HERE, '../../web');

const WEB_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

// The page loads only its own files: no network at runtime.
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};

/** Row-major [n, width] as nested arrays. */
function nested(data: Float32Array, n: number, width: number): number[][] {
  const out: number[][] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = Array.from(data.subarray(i * width, (i + 1) * width));
  return out;
}

/** Run a model check (checkLambda, checkRows), turning its message into a 400. */
function asClientError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw badRequest(err instanceof Error ? err.message : String(err));
  }
}

function columnNames(model: TrajectoryModel): string[] {
  const { dim, cond, categorical } = model.info;
  const y = Array.from({ length: dim }, (_, j) => `y${j}`);
  const x = categorical && cond === 1 ? ['class'] : Array.from({ length: cond }, (_, j) => `x${j}`);
  return [...y, ...x];
}

export function createServer(model: TrajectoryModel, options: ServerOptions = {}): FastifyInstance {
  const limits: Limits = {
    bodyLimit: options.bodyLimit ?? DEFAULT_LIMITS.bodyLimit,
    maxRows: options.maxRows ?? DEFAULT_LIMITS.maxRows,
    maxLambdas: options.maxLambdas ?? DEFAULT_LIMITS.maxLambdas,
    maxValues: options.maxValues ?? DEFAULT_LIMITS.maxValues,
    maxGrid: options.maxGrid ?? DEFAULT_LIMITS.maxGrid,
  };
  const info = model.info;
  const width = info.dim + info.cond;
  const lo = info.anchors[0];
  const hi = info.anchors[info.anchors.length - 1];
  const onInternalError =
    options.onInternalError ?? ((err: unknown) => process.stderr.write(`hti serve: ${err instanceof Error ? err.message : String(err)}\n`));

  const app = Fastify({
    logger: false,
    bodyLimit: limits.bodyLimit,
    schemaErrorFormatter: formatSchemaErrors,
  });

  // Bodies: exact JSON types, unknown fields are errors. Query strings arrive as text, so coerce.
  const strict = new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, useDefaults: false, strict: true });
  const coercing = new Ajv({ allErrors: false, coerceTypes: true, removeAdditional: false, useDefaults: false, strict: true });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema as object));

  // JSON only: a text/plain body is refused with 415 rather than reaching the handlers as a string.
  // Our own JSON parser so that each failure gets its own message (Fastify's says 'not valid
  // JSON' for prototype poisoning too).
  app.removeContentTypeParser(['text/plain', 'application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(badRequest('request body is empty; send a JSON object'), undefined);
    try {
      done(null, JSON.parse(body as string, rejectPrototypeKeys));
    } catch (err) {
      done(err instanceof HttpError ? err : badRequest('request body is not valid JSON'), undefined);
    }
  });

  app.setErrorHandler((err, _request, reply) => {
    const { status, message, internal } = classifyError(err, limits.bodyLimit);
    if (internal) onInternalError(err);
    return reply.code(status).type('application/json; charset=utf-8').send(errorBody(status, message));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody(404, `no route ${request.method} ${request.url.split('?')[0]}; the API is under /api (GET /api/model)`)),
  );

  function resolveRows(body: RowSource): Float32Array {
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
    if (body.class !== undefined) {
      if (!info.categorical) throw badRequest('class is only for categorical models; this model has continuous conditions');
      if (body.class >= info.classes) throw badRequest(`class ${body.class} is not one of 0..${info.classes - 1}`);
    }
    return model.anchorRows(body.class ?? null, body.n, body.seed ?? 0);
  }

  function resolveLambdas(body: TrajectoryBody): number[] {
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

  function resolveCondition(req: FieldRequest): Float32Array {
    if (info.categorical) {
      if (req.cond !== undefined) throw badRequest('this model is categorical: give class, not cond');
      if (req.class === undefined) throw badRequest(`class is required (one of 0..${info.classes - 1})`);
      if (req.class >= info.classes) throw badRequest(`class ${req.class} is not one of 0..${info.classes - 1}`);
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

  function field(req: FieldRequest) {
    if (info.dim !== 2) throw badRequest(`the field view needs 2 output dimensions; this model has ${info.dim}`);
    if (!model.potential && !model.metric) {
      throw new HttpError(404, `this model (${info.kind}, ${info.method}) has no learned potential or metric to show`);
    }
    if (req.lambda !== undefined) asClientError(() => checkLambda(info, req.lambda as number));
    const cond = resolveCondition(req);
    const bounds = req.bounds ?? paddedBounds(info);
    bounds.forEach(([a, b], j) => {
      if (!(b > a)) throw badRequest(`bounds[${j}] must be [low, high] with low < high`);
    });
    const grid = req.grid ?? 32;
    const result = computeField(model, cond, bounds, grid);
    // U and G do not depend on λ in this model contract; λ is echoed for the caller's bookkeeping.
    return { lambda: req.lambda ?? null, cond: Array.from(cond), grid, ...result };
  }

  app.get('/api/model', async () => ({
    kind: info.kind,
    method: info.method,
    dim: info.dim,
    cond: info.cond,
    categorical: info.categorical,
    classes: info.classes,
    anchors: info.anchors,
    range: [lo, hi],
    bounds: info.bounds,
    columns: columnNames(model),
    potential: typeof model.potential === 'function',
    metric: typeof model.metric === 'function',
    reference: options.reference ? options.reference.levels : null,
    training: info.training ?? null,
    limits,
  }));

  app.post<{ Body: SampleBody }>('/api/sample', { schema: { body: sampleBody(limits) } }, async (request) => {
    const body = request.body;
    asClientError(() => checkLambda(info, body.lambda));
    const rows = resolveRows(body);
    const out = model.sample(rows, body.lambda);
    return { lambda: body.lambda, rows: nested(out, rows.length / width, width) };
  });

  app.post<{ Body: TrajectoryBody }>('/api/trajectory', { schema: { body: trajectoryBody(limits) } }, async (request) => {
    const body = request.body;
    const lambdas = resolveLambdas(body);
    const rows = resolveRows(body);
    const n = rows.length / width;
    const values = n * lambdas.length * width;
    if (values > limits.maxValues) {
      throw badRequest(`the trajectory would hold ${values} numbers (${n} rows × ${lambdas.length} λ × ${width}); the limit is ${limits.maxValues}: ask for fewer rows or λ values`);
    }
    const out = model.trajectory(rows, lambdas);
    if (body.layout === 'flat') return { lambdas, n, width, data: Array.from(out) };
    // Little-endian float32 bytes: a fifth of the JSON size and no number parsing in the page.
    if (body.layout === 'base64') return { lambdas, n, width, base64: Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64') };
    const block = n * width;
    return { lambdas, trajectory: lambdas.map((_, l) => nested(out.subarray(l * block, (l + 1) * block), n, width)) };
  });

  app.get<{ Querystring: FieldRequest }>('/api/field', { schema: { querystring: fieldQuery(limits) } }, async (request) => field(request.query));
  app.post<{ Body: FieldRequest }>('/api/field', { schema: { body: fieldBody(limits) } }, async (request) => field(request.body));

  app.get('/api/reference', async () => {
    const ref = options.reference;
    if (!ref) throw new HttpError(404, 'no reference data was given to this server (hti serve MODEL --data FILE)');
    const cap = options.maxReferenceRows ?? 1000;
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
  });

  const webDir = options.webDir === undefined ? DEFAULT_WEB_DIR : options.webDir;
  if (webDir !== null) {
    for (const [route, { file, type }] of Object.entries(WEB_FILES)) {
      const full = path.join(webDir, file);
      app.get(route, async (_request, reply) => {
        // Read per request so an edited page shows on reload; the files are small.
        let text: string;
        try {
          text = fs.readFileSync(full, 'utf8');
        } catch {
          throw new HttpError(404, `the viewer file ${file} is missing from ${webDir}`);
        }
        return reply.headers(PAGE_HEADERS).type(type).send(text);
      });
    }
  }
  return app;
}

/** JSON.parse reviver refusing keys that could pollute prototypes downstream. */
function rejectPrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && 'prototype' in value)) {
    throw badRequest('request body holds a forbidden __proto__ or constructor.prototype key');
  }
  return value;
}

/** Hosts that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
