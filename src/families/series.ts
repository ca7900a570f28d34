/**
 * A generated time series for the quantile-forecaster family: trend, two seasonalities, an
 * autocorrelated disturbance whose innovations are heteroscedastic (noisier at seasonal peaks,
 * with volatility clustering), right-skewed and heavy-tailed (log-normal body plus rare Pareto
 * spikes). The skewed heavy right tail is what makes real quantile forecasters move slowly in τ
 * at first and jump late towards τ = 0.99.
 */
import type { Rng } from '../engine/rng.js';

/** Steps per short season (a "day" of hourly data). */
export const SEASON = 24;
/** Steps per long season (a "week"). */
export const LONG_SEASON = 168;

export interface SeriesShape {
  /** Log-normal shape δ of the innovation body: (exp(δz) − 1)/δ, right-skewed for δ > 0. */
  skew: number;
  /** Probability of a spike at each step. */
  spikeRate: number;
  /** Pareto tail index of spike sizes (smaller = heavier). */
  spikeTail: number;
  /** Scale of spikes relative to the local volatility. */
  spikeScale: number;
  /** AR(1) coefficient of the disturbance. */
  ar: number;
}

export const DEFAULT_SERIES_SHAPE: SeriesShape = { skew: 0.8, spikeRate: 0.02, spikeTail: 2, spikeScale: 2, ar: 0.4 };

/** One innovation: a right-skewed log-normal body with median 0, plus a rare heavy-tailed upward spike. */
export function skewedInnovation(rng: Rng, shape: SeriesShape): number {
  const body = shape.skew > 0 ? Math.expm1(shape.skew * rng.normal()) / shape.skew : rng.normal();
  if (rng.next() >= shape.spikeRate) return body;
  let u = 0;
  while (u <= 1e-12) u = rng.next();
  return body + shape.spikeScale * Math.pow(u, -1 / shape.spikeTail);
}

/** The deterministic part at step t: trend + daily + weekly seasonality (phases fixed by the caller). */
export function seasonalSignal(t: number, phase: number, slope: number): number {
  const day = (2 * Math.PI * t) / SEASON + phase;
  const week = (2 * Math.PI * t) / LONG_SEASON;
  return slope * t + 0.6 * Math.sin((2 * Math.PI * t) / 2000) + 1.0 * Math.sin(day) + 0.35 * Math.sin(2 * day + 0.8) + 0.4 * Math.sin(week);
}

/** Volatility multiplier by season: the series is noisier around its daily peak. */
export function seasonalVolatility(t: number, phase: number): number {
  const day = (2 * Math.PI * t) / SEASON + phase;
  return 0.6 + 0.5 * (1 + Math.sin(day));
}

/**
 * A series of `length` steps. Innovations e_t = σ_t · skewedInnovation, σ_t = base · seasonal
 * volatility · clustering factor (a GARCH-like recursion on recent absolute shocks); disturbance
 * a_t = ar · a_{t−1} + e_t; series = signal + a.
 */
export function generateSeries(rng: Rng, length: number, shape: SeriesShape = DEFAULT_SERIES_SHAPE, base = 0.25): Float64Array {
  const out = new Float64Array(length);
  const phase = 2 * Math.PI * rng.next();
  const slope = 0.0004 + 0.0004 * rng.next();
  let a = 0;
  let cluster = 1;
  let lastShock = 0;
  for (let t = 0; t < length; t++) {
    cluster = 0.3 + 0.6 * cluster + 0.1 * Math.min(6, Math.abs(lastShock));
    const sigma = base * seasonalVolatility(t, phase) * cluster;
    const shock = skewedInnovation(rng, shape);
    a = shape.ar * a + sigma * shock;
    lastShock = shock;
    out[t] = seasonalSignal(t, phase, slope) + a;
  }
  return out;
}

/** Forecast windows: history[t − H .. t − 1] → targets[t .. t + F − 1], for every t in [start, end). */
export interface Windows {
  /** [n, history] row-major. */
  history: Float32Array;
  /** [n, horizon] row-major. */
  targets: Float32Array;
  n: number;
  historyLength: number;
  horizon: number;
}

export function forecastWindows(series: Float64Array, historyLength: number, horizon: number, start: number, end: number): Windows {
  if (start < historyLength || end + horizon - 1 > series.length || end <= start) {
    throw new Error(`forecast windows [${start}, ${end}) need history ${historyLength} and horizon ${horizon} inside a series of ${series.length} steps`);
  }
  const n = end - start;
  const history = new Float32Array(n * historyLength);
  const targets = new Float32Array(n * horizon);
  for (let i = 0; i < n; i++) {
    const t = start + i;
    for (let j = 0; j < historyLength; j++) history[i * historyLength + j] = series[t - historyLength + j];
    for (let j = 0; j < horizon; j++) targets[i * horizon + j] = series[t + j];
  }
  return { history, targets, n, historyLength, horizon };
}
