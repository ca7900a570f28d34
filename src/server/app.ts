/**
 * The HTTP API and the viewer page of a trained surrogate, on Fastify. Every request is checked
 * against a JSON schema and against the model (λ range, row width, class ids) before the model
 * runs; every failure is a JSON error with a one-line message, never a stack trace.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { Ajv } from 'ajv';
import type { TrajectoryModel } from '../surrogate/model.js';
import { badRequest, classifyError, errorBody, formatSchemaErrors, HttpError } from './errors.js';
import { DEFAULT_LIMITS, fieldBody, fieldQuery, sampleBody, trajectoryBody, type Limits } from './schemas.js';
import type { FieldRequest, SampleBody, TrajectoryBody } from './requests.js';
import { fieldRoute, modelRoute, referenceRoute, sampleRoute, trajectoryRoute, webFileRoute, type ReferenceData, type ServerContext } from './routes.js';

export type { ReferenceData } from './routes.js';

export interface ServerOptions extends Partial<Limits> {
  /** Folder holding index.html, app.js, style.css; null serves the API only. */
  webDir?: string | null;
  reference?: ReferenceData;
  /** Rows per level returned by /api/reference (evenly thinned). */
  maxReferenceRows?: number;
  /** Called with server-side failures (500s); defaults to one line on stderr. */
  onInternalError?: (err: unknown) => void;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** web/ sits at the package root, two levels above both src/server and dist/server. */
export const DEFAULT_WEB_DIR = path.resolve(HERE, '../../web');

const WEB_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

function limitsOf(options: ServerOptions): Limits {
  return {
    bodyLimit: options.bodyLimit ?? DEFAULT_LIMITS.bodyLimit,
    maxRows: options.maxRows ?? DEFAULT_LIMITS.maxRows,
    maxLambdas: options.maxLambdas ?? DEFAULT_LIMITS.maxLambdas,
    maxValues: options.maxValues ?? DEFAULT_LIMITS.maxValues,
    maxGrid: options.maxGrid ?? DEFAULT_LIMITS.maxGrid,
  };
}

/**
 * Bodies are validated strictly (exact JSON types, unknown fields are errors), query strings are
 * coerced from text; bodies are JSON only, through our own parser so that each failure gets its
 * own message (Fastify's says 'not valid JSON' for prototype poisoning too).
 */
function setUpParsing(app: FastifyInstance): void {
  const strict = new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, useDefaults: false, strict: true });
  const coercing = new Ajv({ allErrors: false, coerceTypes: true, removeAdditional: false, useDefaults: false, strict: true });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema as object));
  // A text/plain body is refused with 415 rather than reaching the handlers as a string.
  app.removeContentTypeParser(['text/plain', 'application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(badRequest('request body is empty; send a JSON object'), undefined);
    try {
      done(null, JSON.parse(body as string, rejectPrototypeKeys));
    } catch (err) {
      done(err instanceof HttpError ? err : badRequest('request body is not valid JSON'), undefined);
    }
  });
}

/** Every failure becomes a JSON error with a one-line message; 500s are also reported to the operator. */
function setUpErrors(app: FastifyInstance, limits: Limits, onInternalError: (err: unknown) => void): void {
  app.setErrorHandler((err, _request, reply) => {
    const { status, message, internal } = classifyError(err, limits.bodyLimit);
    if (internal) onInternalError(err);
    return reply.code(status).type('application/json; charset=utf-8').send(errorBody(status, message));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody(404, `no route ${request.method} ${request.url.split('?')[0]}; the API is under /api (GET /api/model)`)),
  );
}

export function createServer(model: TrajectoryModel, options: ServerOptions = {}): FastifyInstance {
  const limits = limitsOf(options);
  const onInternalError =
    options.onInternalError ?? ((err: unknown) => process.stderr.write(`hti serve: ${err instanceof Error ? err.message : String(err)}\n`));
  const app = Fastify({ logger: false, bodyLimit: limits.bodyLimit, schemaErrorFormatter: formatSchemaErrors });
  setUpParsing(app);
  setUpErrors(app, limits, onInternalError);

  const ctx: ServerContext = { model, limits, reference: options.reference, maxReferenceRows: options.maxReferenceRows ?? 1000 };
  app.get('/api/model', modelRoute(ctx));
  app.post<{ Body: SampleBody }>('/api/sample', { schema: { body: sampleBody(limits) } }, sampleRoute(ctx));
  app.post<{ Body: TrajectoryBody }>('/api/trajectory', { schema: { body: trajectoryBody(limits) } }, trajectoryRoute(ctx));
  const field = fieldRoute(ctx);
  app.get<{ Querystring: FieldRequest }>('/api/field', { schema: { querystring: fieldQuery(limits) } }, (request) => field(request.query));
  app.post<{ Body: FieldRequest }>('/api/field', { schema: { body: fieldBody(limits) } }, (request) => field(request.body));
  app.get('/api/reference', referenceRoute(ctx));

  const webDir = options.webDir === undefined ? DEFAULT_WEB_DIR : options.webDir;
  if (webDir !== null) {
    for (const [route, { file, type }] of Object.entries(WEB_FILES)) app.get(route, webFileRoute(webDir, file, type));
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
