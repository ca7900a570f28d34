/**
 * Checking the options a saved CLOT model keeps in config.json before any network is built from
 * them: a hand-edited or corrupt config must be one clear error naming the option, never a crash
 * or an allocation of billions of values. Only what sizes or selects the rebuilt pieces is checked
 * here; training-only options are not used on load.
 */
import { ACTION_FORMS, METRIC_KINDS } from '../lagrangian/index.js';
import type { ModelInfo } from './model.js';

/** Generous bounds: far beyond any real model, far below what would exhaust memory. */
const LIMITS = { width: 16384, splineNodes: 256, pathPoints: 4096, potentialCap: 1_000_000 };

function bad(option: string, why: string, value: unknown): Error {
  const shown = JSON.stringify(value);
  return new Error(`config.json: option '${option}' ${why}, got ${shown === undefined ? '(missing)' : shown.slice(0, 80)}`);
}

const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function checkStandardizer(s: unknown, info: ModelInfo): void {
  const st = s as Record<string, unknown> | null;
  const list = (v: unknown, n: number, positive: boolean) =>
    Array.isArray(v) && v.length === n && v.every((x) => isFiniteNumber(x) && (!positive || x > 0));
  const xCols = info.categorical ? 0 : info.cond;
  if (!st || typeof st !== 'object' || !list(st.yMean, info.dim, false) || !list(st.yStd, info.dim, true) || !list(st.xMean, xCols, false) || !list(st.xStd, xCols, true)) {
    throw new Error(`config.json: the standardisation does not match D = ${info.dim}, C = ${xCols} (corrupt config)`);
  }
}

/** Throws one clear error for the first stored CLOT option that cannot rebuild a model. */
export function checkStoredClotOptions(options: Record<string, unknown>, info: ModelInfo, presets: readonly string[]): void {
  const o = options;
  if (!presets.includes(o.preset as string)) throw bad('preset', `must be one of ${presets.join(', ')}`, o.preset);
  if (!(METRIC_KINDS as string[]).includes(o.metric as string)) throw bad('metric', `must be one of ${METRIC_KINDS.join(', ')}`, o.metric);
  for (const key of ['actionForm', 'pathForm']) {
    if (key === 'pathForm' && o[key] === undefined) continue;
    if (!(ACTION_FORMS as string[]).includes(o[key] as string)) throw bad(key, `must be one of ${ACTION_FORMS.join(', ')}`, o[key]);
  }
  if (typeof o.potential !== 'boolean') throw bad('potential', 'must be true or false', o.potential);
  const hidden = o.hidden;
  if (!Array.isArray(hidden) || hidden.length === 0 || !hidden.every((w) => isInt(w, 1, LIMITS.width))) throw bad('hidden', `must list layer widths from 1 to ${LIMITS.width}`, hidden);
  const ints: [string, number, number][] = [
    ['splineWidth', 1, LIMITS.width],
    ['metricWidth', 1, LIMITS.width],
    ['splineNodes', 3, LIMITS.splineNodes],
    ['pathPoints', 2, LIMITS.pathPoints],
    ['potentialCap', 1, LIMITS.potentialCap],
  ];
  for (const [key, min, max] of ints) if (!isInt(o[key], min, max)) throw bad(key, `must be an integer from ${min} to ${max}`, o[key]);
  if (!isFiniteNumber(o.alpha) || o.alpha < 0) throw bad('alpha', 'must be a number ≥ 0', o.alpha);
  for (const key of ['bandwidth', 'condBandwidth']) if (!isFiniteNumber(o[key]) || !((o[key] as number) > 0)) throw bad(key, 'must be a positive number', o[key]);
  if (!isFiniteNumber(o.seed)) throw bad('seed', 'must be a finite number', o.seed);
  checkStandardizer(o.standardizer, info);
}
