/**
 * JSON schemas of every request, built per server from its limits. Bodies are validated strictly
 * (no type coercion, unknown fields rejected); the field query string is coerced from text.
 */
export interface Limits {
  /** Bytes per request body. */
  bodyLimit: number;
  /** Rows per request (given or drawn). */
  maxRows: number;
  /** λ values per trajectory request. */
  maxLambdas: number;
  /** Numbers returned by one trajectory request (rows × λs × width). */
  maxValues: number;
  /** Grid points per side of a field request. */
  maxGrid: number;
}

export const DEFAULT_LIMITS: Limits = {
  bodyLimit: 1024 * 1024,
  maxRows: 10_000,
  maxLambdas: 1001,
  maxValues: 4_000_000,
  maxGrid: 128,
};

const number = { type: 'number' } as const;
const seed = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

function rowsSchema(limits: Limits) {
  return {
    type: 'array',
    minItems: 1,
    maxItems: limits.maxRows,
    items: { type: 'array', maxItems: 4096, items: number },
  } as const;
}

/** Rows given, or drawn from the first anchor (class, n, seed). */
function rowSource(limits: Limits) {
  return {
    rows: rowsSchema(limits),
    class: { type: 'integer', minimum: 0 },
    n: { type: 'integer', minimum: 1, maximum: limits.maxRows },
    seed,
  } as const;
}

export function sampleBody(limits: Limits) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['lambda'],
    properties: { lambda: number, ...rowSource(limits) },
  } as const;
}

export function trajectoryBody(limits: Limits) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      lambdas: { type: 'array', minItems: 1, maxItems: limits.maxLambdas, items: number },
      from: number,
      to: number,
      steps: { type: 'integer', minimum: 2, maximum: limits.maxLambdas },
      layout: { enum: ['nested', 'flat', 'base64'] },
      ...rowSource(limits),
    },
  } as const;
}

export function fieldBody(limits: Limits) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      lambda: number,
      class: { type: 'integer', minimum: 0 },
      cond: { type: 'array', maxItems: 4096, items: number },
      grid: { type: 'integer', minimum: 2, maximum: limits.maxGrid },
      bounds: {
        type: 'array',
        minItems: 2,
        maxItems: 2,
        items: { type: 'array', minItems: 2, maxItems: 2, items: number },
      },
    },
  } as const;
}

export function fieldQuery(limits: Limits) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      lambda: number,
      class: { type: 'integer', minimum: 0 },
      /** Comma-separated condition values. */
      cond: { type: 'string', maxLength: 65536 },
      grid: { type: 'integer', minimum: 2, maximum: limits.maxGrid },
    },
  } as const;
}
