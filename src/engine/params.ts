import { tf, type Variable } from './tf.js';
import type { NamedArray } from './safetensors.js';
import type { Rng } from './rng.js';

/** A named collection of trainable variables: what an optimiser updates and what a model saves. */
export class ParamStore {
  private readonly vars = new Map<string, Variable>();

  add(name: string, shape: number[], values: Float32Array): Variable {
    if (this.vars.has(name)) throw new Error(`parameter '${name}' defined twice`);
    // The variable takes its own reference to the data; the initial tensor must be freed here.
    const init = tf.tensor(values, shape, 'float32');
    const v = tf.variable(init, true, `${name}_${uniqueSuffix++}`);
    init.dispose();
    this.vars.set(name, v);
    return v;
  }

  /** Glorot-uniform weights (seeded). */
  addGlorot(name: string, fanIn: number, fanOut: number, rng: Rng, gain = 1): Variable {
    const limit = gain * Math.sqrt(6 / (fanIn + fanOut));
    return this.add(name, [fanIn, fanOut], rng.uniforms(fanIn * fanOut, -limit, limit));
  }

  addZeros(name: string, shape: number[]): Variable {
    return this.add(name, shape, new Float32Array(shape.reduce((a, b) => a * b, 1)));
  }

  get(name: string): Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`unknown parameter '${name}'`);
    return v;
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  list(): Variable[] {
    return [...this.vars.values()];
  }

  /** Absorb another store's variables under a prefix (the other store is emptied). */
  adopt(prefix: string, other: ParamStore): void {
    for (const [name, v] of other.vars) {
      if (this.vars.has(prefix + name)) throw new Error(`parameter '${prefix + name}' defined twice`);
      this.vars.set(prefix + name, v);
    }
    other.vars.clear();
  }

  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  toRecord(prefix = ''): Record<string, NamedArray> {
    const out: Record<string, NamedArray> = {};
    for (const [name, v] of this.vars) out[prefix + name] = { shape: v.shape.slice(), data: Float32Array.from(v.dataSync() as Float32Array) };
    return out;
  }

  /** Overwrite values from a record, checking that every parameter is present with its shape. */
  loadRecord(record: Record<string, NamedArray>, prefix = ''): void {
    for (const [name, v] of this.vars) {
      const entry = record[prefix + name];
      if (!entry) throw new Error(`weights file lacks parameter '${prefix + name}'`);
      if (entry.shape.length !== v.shape.length || entry.shape.some((d, i) => d !== v.shape[i])) {
        throw new Error(`parameter '${prefix + name}' has shape [${entry.shape}] in the file, expected [${v.shape}]`);
      }
      tf.tidy(() => v.assign(tf.tensor(entry.data, v.shape, 'float32')));
    }
  }

  /** Snapshot of all values (for rollback after a non-finite step). */
  snapshot(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.vars) out.set(name, Float32Array.from(v.dataSync() as Float32Array));
    return out;
  }

  restore(snap: Map<string, Float32Array>): void {
    for (const [name, v] of this.vars) {
      const d = snap.get(name);
      if (d) tf.tidy(() => v.assign(tf.tensor(d, v.shape, 'float32')));
    }
  }

  allFinite(): boolean {
    for (const v of this.vars.values()) {
      const d = v.dataSync();
      for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false;
    }
    return true;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

let uniqueSuffix = 0;
