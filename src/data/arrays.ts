/** Concatenate typed-array blocks of one kind into a new array. */
export function concatArrays(blocks: Float32Array[]): Float32Array;
export function concatArrays(blocks: Float64Array[]): Float64Array;
export function concatArrays(blocks: (Float32Array | Float64Array)[]): Float32Array | Float64Array {
  const total = blocks.reduce((n, b) => n + b.length, 0);
  const out = blocks[0] instanceof Float64Array ? new Float64Array(total) : new Float32Array(total);
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** Rows `index` (in that order) of a row-major matrix of the given width. */
export function pickRows(values: Float32Array, width: number, index: ArrayLike<number>): Float32Array {
  const out = new Float32Array(index.length * width);
  for (let i = 0; i < index.length; i++) out.set(values.subarray(index[i] * width, (index[i] + 1) * width), i * width);
  return out;
}
