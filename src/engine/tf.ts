// The only module that imports tfjs. Everything numeric in hti goes through the `tf` re-exported
// here, so a faster engine can replace this file without touching the method.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone ships no gradient functions; training needs them registered.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';

export { tf };
export type Tensor = tf.Tensor;
export type Tensor1D = tf.Tensor1D;
export type Tensor2D = tf.Tensor2D;
export type Tensor3D = tf.Tensor3D;
export type Scalar = tf.Scalar;
export type Variable = tf.Variable;

export type BackendName = 'wasm' | 'cpu';

let ready: Promise<BackendName> | null = null;

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
