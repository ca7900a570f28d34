// The only module that imports tfjs. Everything numeric in hti goes through the `tf` re-exported
// here, so a faster engine can replace this file without touching the method.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export { tf };
export type Tensor = tf.Tensor;
export type Tensor1D = tf.Tensor1D;
export type Tensor2D = tf.Tensor2D;
export type Tensor3D = tf.Tensor3D;
export type Scalar = tf.Scalar;
export type Variable = tf.Variable;

export type BackendName = 'wasm' | 'cpu';

let ready: Promise<BackendName> | null = null;

/**
 * tfjs-core alone registers no gradient functions and its per-op ES modules are not loadable by
 * Node; `npm run build` bundles them into vendor/ (scripts/bundle-gradients.mjs).
 */
async function registerGradients(): Promise<void> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const bundle = path.resolve(here, '..', '..', 'vendor', 'tfjs-gradients.mjs');
  try {
    await import(pathToFileURL(bundle).href);
  } catch (err) {
    throw new Error(`tfjs gradient bundle missing (${bundle}); run \`npm run build\` (${(err as Error).message})`);
  }
}

/** The tensor with its last two axes swapped (a batch of matrices transposed). */
function swapLastTwo(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  perm[t.rank - 2] = t.rank - 1;
  perm[t.rank - 1] = t.rank - 2;
  return tf.transpose(t, perm);
}

/** a·b with either operand transposed first, then one untransposed product. */
function productOf(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
  return tf.matMul(transposeA ? swapLastTwo(a) : a, transposeB ? swapLastTwo(b) : b);
}

/**
 * tfjs's own matMul gradient multiplies with a transpose flag set (dA = dY·Bᵀ, dB = Aᵀ·dY), and the
 * wasm backend runs a flagged product about ten times slower than an explicit transpose followed by
 * an untransposed product (`npm run bench:lagrangian`, `transposeFlags`; README, "Engine"). The same
 * mathematics, for every backward pass of every network.
 */
function registerFastMatMulGradient(): void {
  tf.registerGradient({
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const g = dy as tf.Tensor;
      const [a, b] = saved;
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return { a: () => productOf(g, b, false, true), b: () => productOf(a, g, true, false) };
      if (!transposeA && transposeB) return { a: () => productOf(g, b, false, false), b: () => productOf(g, a, true, false) };
      if (transposeA && !transposeB) return { a: () => productOf(b, g, false, true), b: () => productOf(a, g, false, false) };
      return { a: () => productOf(b, g, true, true), b: () => productOf(g, a, true, true) };
    },
  });
}

/** Directory holding the .wasm binaries that ship inside @tensorflow/tfjs-backend-wasm. */
function wasmDirectory(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@tensorflow/tfjs-backend-wasm');
  return path.dirname(entry) + path.sep;
}

/**
 * Initialise the numeric engine once: the SIMD wasm backend loaded from node_modules (offline),
 * or the pure-JS cpu backend with a one-line notice when wasm cannot start.
 * HTI_BACKEND=cpu forces the fallback.
 */
export function initEngine(options: { quiet?: boolean } = {}): Promise<BackendName> {
  if (ready) return ready;
  ready = (async () => {
    await registerGradients();
    registerFastMatMulGradient();
    const forced = process.env.HTI_BACKEND;
    if (forced !== 'cpu') {
      try {
        setWasmPaths(wasmDirectory());
        // Silence the wasm backend's own console chatter about threads.
        if (await tf.setBackend('wasm')) {
          await tf.ready();
          return 'wasm' as const;
        }
      } catch (err) {
        if (!options.quiet) {
          process.stderr.write(`hti: wasm backend unavailable (${(err as Error).message}); using the slower cpu backend\n`);
        }
      }
    }
    await tf.setBackend('cpu');
    await tf.ready();
    return 'cpu' as const;
  })();
  return ready;
}

/**
 * Revision of the engine's arithmetic: bumped when a change alters the bits a training run produces
 * on the same backend (2: the matMul gradient through explicit transposes). Cached artefacts trained
 * by the engine (generated families) record it and are rebuilt when it changes.
 */
export const ENGINE_REVISION = 2;

export function backendName(): string {
  return tf.getBackend();
}

/** Copy a tensor's values out (synchronously) as float32. */
export function toFloat32(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/**
 * The slices t[..., j] of a tensor along its last axis, each of shape t.shape[:-1].
 *
 * The last axis is brought to the front once, then the rows are split by recursive halving: the
 * wasm Slice kernel copies its whole input to the JS side before it cuts, so W single-row slices of
 * a [W, N] tensor would copy W·N·W values; halving copies 2·W·N per level, O(W·N·log W) in all, and
 * the backward pass (pads and one transpose) is as cheap. (A matmul with a unit vector per column
 * is fast forward, but each column's gradient is then a dense [N, W] outer product: O(N·W²) on the
 * tape, which overflowed the 4 GiB wasm heap for the wide output of a metric network at D = 32.)
 */
export function lastAxisColumns(t: tf.Tensor): tf.Tensor[] {
  const shape = t.shape;
  const width = shape[shape.length - 1];
  const outer = shape.slice(0, -1);
  if (width === 1) return [tf.reshape(t, outer)];
  const rows = tf.transpose(tf.reshape(t, [-1, width])) as tf.Tensor2D; // [W, N]
  const out: tf.Tensor[] = [];
  const split = (block: tf.Tensor2D): void => {
    const w = block.shape[0];
    if (w <= 4) {
      for (const row of tf.unstack(block, 0)) out.push(tf.reshape(row, outer));
      return;
    }
    const half = w >> 1;
    const [lo, hi] = tf.split(block, [half, w - half], 0) as tf.Tensor2D[];
    split(lo);
    split(hi);
  };
  split(rows);
  return out;
}

/**
 * Σ over the last axis (keeping it, size 1) as a matmul with a ones column: the gradient of a
 * sum-reduction builds its ones tensor element by element in JS (a measurable share of a training
 * step on wide tensors); a matmul's gradient does not.
 */
export function sumLastAxis(x: tf.Tensor): tf.Tensor {
  const shape = x.shape;
  const width = shape[shape.length - 1];
  const flat = tf.reshape(x, [-1, width]) as tf.Tensor2D;
  return tf.reshape(tf.matMul(flat, tf.ones([width, 1])), [...shape.slice(0, -1), 1]);
}

/**
 * log Σ_j exp(x[..., j]) over the last axis without overflow or underflow (the maximum is
 * subtracted first), with the gradient softmax(x) · dy written directly from the saved
 * exponentials: the maximum carries no gradient and no second exp is taken on the way back.
 */
export function logSumExpLastAxis(x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const axis = input.rank - 1;
    const max = tf.max(input, axis, true);
    const shifted = tf.exp(tf.sub(input, max));
    const total = sumLastAxis(shifted);
    save([shifted, total]);
    return {
      value: tf.squeeze(tf.add(tf.log(total), max), [axis]),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [e, sum] = saved;
        return tf.mul(e, tf.div(tf.expandDims(dy as tf.Tensor, -1), sum));
      },
    };
  });
  return f(x);
}
