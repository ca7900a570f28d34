/**
 * Turning every failure into a short JSON error: validation messages that name the field, fixed
 * wording for Fastify's own body errors, and no stack trace ever reaching a client.
 */
import type { ErrorObject } from 'ajv';

/** An error meant for the client, with its HTTP status. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, message);

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function errorBody(statusCode: number, message: string): ErrorBody {
  return { statusCode, error: REASONS[statusCode] ?? 'Error', message };
}

/** JSON-pointer path (/rows/0/1) as a readable one: rows[0][1]. */
function readablePath(dataVar: string, pointer: string): string {
  let out = dataVar;
  for (const part of pointer.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(key) ? `[${key}]` : `.${key}`;
  }
  return out;
}

function describe(e: ErrorObject, dataVar: string): string {
  const where = readablePath(dataVar, e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return `${where} has an unknown field '${String(p.additionalProperty)}'`;
    case 'required':
      return `${where} lacks the required field '${String(p.missingProperty)}'`;
    case 'type':
      // JSON numbers beyond float range (1e400) parse to Infinity and land here too.
      if (p.type === 'number') return `${where} must be a finite number`;
      return `${where} must be ${/^[aeiou]/.test(String(p.type)) ? 'an' : 'a'} ${String(p.type)}`;
    case 'maxItems':
      return `${where} has too many items (at most ${String(p.limit)})`;
    case 'minItems':
      return `${where} has too few items (at least ${String(p.limit)})`;
    case 'enum':
      return `${where} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${where} ${e.message ?? 'is invalid'}`;
  }
}

/** Fastify's schemaErrorFormatter: one sentence naming the first offending field. */
export function formatSchemaErrors(errors: ErrorObject[], dataVar: string): Error {
  const message = errors.length > 0 ? describe(errors[0], dataVar) : `${dataVar} is invalid`;
  return new Error(message);
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
  validation?: unknown;
}

/**
 * Map any thrown value to a status and a client-safe message. Client errors keep their message;
 * anything else is a 500 that names the failure but never carries a stack.
 */
export function classifyError(err: unknown, bodyLimit: number): { status: number; message: string; internal: boolean } {
  if (err instanceof HttpError) return { status: err.statusCode, message: err.message, internal: false };
  const e = (err ?? {}) as FastifyLikeError;
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, message: 'request body is not valid JSON', internal: false };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, message: 'request body is empty; send a JSON object', internal: false };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, message: `request body is larger than the limit of ${bodyLimit} bytes`, internal: false };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, message: 'unsupported content type; send the body as application/json', internal: false };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, message: 'content-length does not match the body', internal: false };
    default:
      break;
  }
  if (err instanceof SyntaxError) return { status: 400, message: 'request body is not valid JSON', internal: false };
  if (e.validation) return { status: 400, message: e.message ?? 'invalid request', internal: false };
  const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
  if (status < 500) return { status, message: e.message ?? 'bad request', internal: false };
  return { status: 500, message: `the server failed: ${e.message ?? String(err)}`.split('\n')[0], internal: true };
}
