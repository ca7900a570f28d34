/**
 * Per-column standardisation, the one used by every method: CLOT and the baselines learn in
 * standardised units, so that a dataset's units never change what is fitted (power-of-two scalings
 * give bit-identical fits) and every tuning knob means the same thing on every dataset.
 */

/** Mean and spread of a block of columns. */
export interface Standardizer {
  mean: number[];
  std: number[];
}

/**
 * The spread used for a column with standard deviation `sd` around `mean`. A column that is
 * constant up to float32 round-off keeps its own magnitude as scale (1 when it is exactly 0), so
 * that scaling the data scales the standardiser and leaves standardised values unchanged.
 */
export function columnScale(mean: number, sd: number): number {
  if (sd > 1e-6 * Math.abs(mean) && sd > 0) return sd;
  return Math.abs(mean) > 0 ? Math.abs(mean) : 1;
}

/** Per-column mean and spread over columns [offset, offset + cols) of every row-major block of width `width`. */
export function fitStandardizer(blocks: ArrayLike<number>[], width: number, offset: number, cols: number): Standardizer {
  const mean = new Float64Array(cols);
  let n = 0;
  for (const b of blocks) {
    for (let i = 0; i < b.length; i += width) {
      for (let j = 0; j < cols; j++) mean[j] += b[i + offset + j];
      n++;
    }
  }
  if (n === 0) throw new Error('cannot standardise an empty set of rows');
  for (let j = 0; j < cols; j++) mean[j] /= n;
  // Two passes (deviations from the mean), so that data far from 0 keeps its spread in float64.
  const sq = new Float64Array(cols);
  for (const b of blocks) {
    for (let i = 0; i < b.length; i += width) {
      for (let j = 0; j < cols; j++) sq[j] += (b[i + offset + j] - mean[j]) ** 2;
    }
  }
  return { mean: Array.from(mean), std: Array.from(sq, (s, j) => columnScale(mean[j], Math.sqrt(s / n))) };
}

/** Columns [offset, offset + cols) of row-major rows, standardised, as an n × cols block. */
export function standardize(rows: ArrayLike<number>, width: number, offset: number, st: Standardizer): Float32Array {
  const cols = st.mean.length;
  const n = rows.length / width;
  const out = new Float32Array(n * cols);
  for (let i = 0; i < n; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = (rows[i * width + offset + j] - st.mean[j]) / st.std[j];
  return out;
}

/** A standardised n × cols block back in data units. */
export function destandardize(z: ArrayLike<number>, st: Standardizer): Float32Array {
  const cols = st.mean.length;
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = z[i] * st.std[i % cols] + st.mean[i % cols];
  return out;
}

/** Standardised outputs y (n × D) back into rows of width D + C, the condition copied from `rows`. */
export function destandardizeInto(y: ArrayLike<number>, rows: Float32Array, dim: number, width: number, st: Standardizer): Float32Array {
  const out = Float32Array.from(rows);
  const n = rows.length / width;
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) out[i * width + j] = y[i * dim + j] * st.std[j] + st.mean[j];
  return out;
}

/** Check a stored standardiser (from a model file) has `cols` finite columns and positive spreads. */
export function checkStandardizer(st: unknown, cols: number, what: string): Standardizer {
  const s = st as Standardizer | undefined;
  const ok =
    !!s &&
    Array.isArray(s.mean) &&
    Array.isArray(s.std) &&
    s.mean.length === cols &&
    s.std.length === cols &&
    s.mean.every(Number.isFinite) &&
    s.std.every((v) => Number.isFinite(v) && v > 0);
  if (!ok) throw new Error(`${what}: the stored standardisation is missing or malformed (corrupt config)`);
  return s!;
}
