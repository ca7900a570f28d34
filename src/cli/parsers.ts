/**
 * Option-value parsers of every command, `hti serve` included: each turns one option's text into
 * its value or throws commander's InvalidArgumentError, which the CLI reports as a usage error
 * (exit 2). One name means one thing: commands share these rather than keep their own variants.
 */
import { InvalidArgumentError } from 'commander';
import { parseRowRange } from '../data/index.js';

/** Largest integer an option accepts: beyond it a JavaScript number no longer counts exactly. */
export const MAX_INTEGER = Number.MAX_SAFE_INTEGER;
/** Widest hidden layer `--hidden` accepts (wider layers belong to a GPU, not to this CPU tool). */
export const MAX_LAYER_WIDTH = 16384;

export function finiteNumber(value: string): number {
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v)) throw new InvalidArgumentError('expected a number');
  return v;
}

export function positiveNumber(value: string): number {
  const v = finiteNumber(value);
  if (!(v > 0)) throw new InvalidArgumentError('expected a positive number');
  return v;
}

export function nonNegativeNumber(value: string): number {
  const v = finiteNumber(value);
  if (!(v >= 0)) throw new InvalidArgumentError('expected a number ≥ 0');
  return v;
}

function integer(value: string, min: 0 | 1): number | null {
  const text = value.trim();
  if (!(min === 0 ? /^\d+$/ : /^0*[1-9]\d*$/).test(text)) return null;
  const v = Number(text);
  return v <= MAX_INTEGER ? v : null;
}

export function nonNegativeInt(value: string): number {
  const v = integer(value, 0);
  if (v === null) throw new InvalidArgumentError(`expected an integer from 0 to ${MAX_INTEGER}`);
  return v;
}

export function positiveInt(value: string): number {
  const v = integer(value, 1);
  if (v === null) throw new InvalidArgumentError(`expected an integer from 1 to ${MAX_INTEGER}`);
  return v;
}

/** A seed: any integer 0 … 2^53 − 1; different seeds give different random streams (engine/rng.ts). */
export function seed(value: string): number {
  const v = integer(value, 0);
  if (v === null) throw new InvalidArgumentError(`expected a seed, an integer from 0 to ${MAX_INTEGER}`);
  return v;
}

function commaParts(value: string): string[] {
  return value.split(',').map((s) => s.trim());
}

/** Comma-separated finite numbers (λ lists: --anchors, --levels, plot's --lambdas). */
export function numberList(value: string): number[] {
  const parts = commaParts(value);
  const nums = parts.map(Number);
  if (parts.some((p) => p === '') || nums.some((v) => !Number.isFinite(v))) throw new InvalidArgumentError('expected comma-separated numbers, e.g. 0,0.5,1');
  return nums;
}

/** Comma-separated column names (CSV --outputs/--conditions). */
export function nameList(value: string): string[] {
  const names = commaParts(value);
  if (names.some((n) => n === '')) throw new InvalidArgumentError('expected comma-separated column names');
  return names;
}

/** Comma-separated hidden-layer widths, each 1 … MAX_LAYER_WIDTH. */
export function widthList(value: string): number[] {
  const parts = commaParts(value);
  if (parts.some((p) => !/^[1-9]\d*$/.test(p))) throw new InvalidArgumentError('expected comma-separated layer widths, e.g. 64,64');
  const widths = parts.map(Number);
  if (widths.some((w) => w > MAX_LAYER_WIDTH)) throw new InvalidArgumentError(`a layer width is at most ${MAX_LAYER_WIDTH}`);
  return widths;
}

/** Comma-separated distinct seeds. */
export function seedList(value: string): number[] {
  const seeds = commaParts(value).map((p) => integer(p, 0));
  if (seeds.some((s) => s === null)) throw new InvalidArgumentError(`expected comma-separated non-negative integers up to ${MAX_INTEGER}, e.g. 0,1,2`);
  if (new Set(seeds).size !== seeds.length) throw new InvalidArgumentError('a seed is listed twice');
  return seeds as number[];
}

/** Comma-separated distinct finite numbers (λ values). */
export function distinctNumberList(value: string): number[] {
  const list = numberList(value);
  if (new Set(list).size !== list.length) throw new InvalidArgumentError('a value is listed twice');
  return list;
}

/** One name out of `valid`; `what` names one (e.g. 'mode'). */
export function choice<T extends string>(valid: readonly T[], what: string): (value: string) => T {
  return (value: string) => {
    const v = value.trim();
    if (!(valid as readonly string[]).includes(v)) throw new InvalidArgumentError(`unknown ${what} '${v}'; valid ${what}s: ${valid.join(', ')}`);
    return v as T;
  };
}

/** `all`, or a comma list of distinct names out of `valid`; `what` names one (e.g. 'method'). */
export function choiceList(valid: readonly string[], what: string): (value: string) => string[] {
  return (value: string) => {
    if (value.trim() === 'all') return [...valid];
    const list = commaParts(value);
    for (const name of list) {
      if (!valid.includes(name)) throw new InvalidArgumentError(`unknown ${what} '${name}'; valid ${what}s: ${valid.join(', ')}, all`);
    }
    if (new Set(list).size !== list.length) throw new InvalidArgumentError(`a ${what} is listed twice`);
    return list;
  };
}

/** `START:END` rows (END exclusive; either side may be left out). */
export function rowRange(value: string): [number, number] {
  try {
    return parseRowRange(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** Most λ values one grid may hold. */
export const MAX_GRID = 100_000;

/** Round off float noise of a grid (0.1 + 0.2 → 0.3) without moving real values. */
function clean(v: number): number {
  return Number(v.toPrecision(12));
}

/** A λ grid: `a:b:step` (a, a + step, …, up to b inclusive) or a comma list `a,b,c`. */
export function lambdaGrid(value: string): number[] {
  const text = value.trim();
  const usage = 'expected START:END:STEP (e.g. 0:1:0.1) or a comma list (e.g. 0,0.5,1)';
  if (!text.includes(':')) {
    try {
      return numberList(text);
    } catch {
      throw new InvalidArgumentError(usage);
    }
  }
  const parts = text.split(':').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.length !== 3 || parts.some((p) => p === '') || nums.some((v) => !Number.isFinite(v))) throw new InvalidArgumentError(usage);
  const [a, b, step] = nums;
  if (!(step > 0)) throw new InvalidArgumentError(`STEP must be positive, got ${step}`);
  if (!(b >= a)) throw new InvalidArgumentError(`END must be ≥ START, got ${a}:${b}`);
  const count = Math.floor((b - a) / step + 1e-9) + 1;
  if (!(count <= MAX_GRID)) throw new InvalidArgumentError(`the grid has ${count} values; at most ${MAX_GRID}`);
  return Array.from({ length: count }, (_, i) => clean(a + i * step));
}

/** Two output column indices `i,j` (plot axes). */
export function columnPair(value: string): [number, number] {
  const m = /^\s*(\d{1,6})\s*,\s*(\d{1,6})\s*$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected two output column indices, e.g. 0,2');
  return [Number(m[1]), Number(m[2])];
}

/** PNG pixel scale in (0, 8]. */
export function pixelScale(value: string): number {
  const v = Number(value);
  if (value.trim() === '' || !(v > 0 && v <= 8)) throw new InvalidArgumentError('expected a number in (0, 8]');
  return v;
}

/** A TCP port 0 … 65535 (0: any free port). */
export function port(value: string): number {
  if (!/^\d{1,5}$/.test(value.trim()) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number 0..65535');
  return Number(value);
}

/** A JSON object (bench's extra fit options). */
export function jsonObject(value: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`not valid JSON (${(err as Error).message})`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new InvalidArgumentError('expected a JSON object');
  return v as Record<string, unknown>;
}
