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

export function backendName(): string {
  return tf.getBackend();
}

/** Copy a tensor's values out (synchronously) as float32. */
export function toFloat32(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/**
 * The slices t[..., j] of a tensor along its last axis, each of shape t.shape[:-1]. Done with
 * matmuls against unit vectors: the wasm backend slices strided tensors in plain JS, which is far
 * slower on the hot path.
 */
export function lastAxisColumns(t: tf.Tensor): tf.Tensor[] {
  const shape = t.shape;
  const width = shape[shape.length - 1];
  const flat = tf.reshape(t, [-1, width]) as tf.Tensor2D;
  const outer = shape.slice(0, -1);
  return Array.from({ length: width }, (_, j) => {
    const unit = new Float32Array(width);
    unit[j] = 1;
    return tf.reshape(tf.matMul(flat, tf.tensor2d(unit, [width, 1])), outer);
  });
}
