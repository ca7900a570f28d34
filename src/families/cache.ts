/**
 * Generated families live in a cache folder (never committed): `<dir>/<family>-<size>-seed<seed>.npy`
 * and its `.json` sidecar. A cached family is reused while its sidecar names the current generator
 * version and tfjs backend; otherwise it is trained again. Files are written atomically, so a
 * concurrent reader sees the old pair or the new one. Families sharing a generator (quantile and
 * quantile3) are written together from one training run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { encodeNpy, loadDataset, writeFileAtomic, type Dataset } from '../data/index.js';
import { backendName, initEngine } from '../engine/index.js';
import { familyDataset, familySidecar, type FamilySidecar, type FamilySize, type FamilySpec, type LevelOutput } from './family.js';
import { FAMILIES } from './registry.js';

/** `$HTI_CACHE_DIR/families`, else `.cache/families` under the working directory. */
export function defaultCacheDir(): string {
  const root = process.env.HTI_CACHE_DIR;
  return root ? path.resolve(root, 'families') : path.resolve('.cache', 'families');
}

export interface FamilyFiles {
  npy: string;
  json: string;
}

export function familyFiles(name: string, size: FamilySize, seed: number, dir = defaultCacheDir()): FamilyFiles {
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`family seed must be a non-negative integer, got ${seed}`);
  const base = path.join(dir, `${name}-${size}-seed${seed}`);
  return { npy: `${base}.npy`, json: `${base}.json` };
}

export interface CachedFamily {
  dataset: Dataset;
  sidecar: FamilySidecar;
  files: FamilyFiles;
}

/** The sidecar of a cached family if it is current (same generator version and backend), else null. */
function currentSidecar(spec: FamilySpec, files: FamilyFiles, backend: string): FamilySidecar | null {
  if (!fs.existsSync(files.npy) || !fs.existsSync(files.json)) return null;
  let side: FamilySidecar;
  try {
    side = JSON.parse(fs.readFileSync(files.json, 'utf8')) as FamilySidecar;
  } catch {
    return null;
  }
  const f = side.family;
  if (!f || f.generator !== spec.generator.id || f.version !== spec.generator.version || f.backend !== backend) return null;
  return side;
}

/** A cached, current family; null when it must be generated first (see `ensureFamily`). */
export function readCachedFamily(spec: FamilySpec, seed: number, size: FamilySize, dir = defaultCacheDir()): CachedFamily | null {
  const files = familyFiles(spec.name, size, seed, dir);
  const sidecar = currentSidecar(spec, files, backendName());
  return sidecar ? { dataset: loadDataset(files.npy), sidecar, files } : null;
}

/** Write a family's .npy and sidecar into the cache folder. */
export function writeFamily(spec: FamilySpec, outputs: LevelOutput[], seed: number, size: FamilySize, dir = defaultCacheDir()): CachedFamily {
  const files = familyFiles(spec.name, size, seed, dir);
  const dataset = familyDataset(spec, outputs, files.npy);
  const sidecar = familySidecar(spec, dataset, outputs, seed, size);
  const n = outputs[0].rows.length / (spec.generator.dim + spec.generator.cond);
  const data = new Float32Array(outputs.length * outputs[0].rows.length);
  outputs.forEach((o, t) => data.set(o.rows, t * o.rows.length));
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(files.npy, encodeNpy({ shape: [outputs.length, n, spec.generator.dim + spec.generator.cond], data }));
  writeFileAtomic(files.json, JSON.stringify(sidecar, null, 1) + '\n');
  return { dataset, sidecar, files };
}

export interface EnsureOptions {
  seed: number;
  size: FamilySize;
  dir?: string;
  /** A plain progress line per trained network. */
  log?: (line: string) => void;
}

/**
 * The family from the cache, or trained now and cached (with every family sharing its generator).
 * Resolves once the files are on disk.
 */
export async function ensureFamily(spec: FamilySpec, options: EnsureOptions): Promise<CachedFamily> {
  await initEngine({ quiet: true });
  const dir = options.dir ?? defaultCacheDir();
  const cached = readCachedFamily(spec, options.seed, options.size, dir);
  if (cached) return cached;
  const g = spec.generator;
  const started = performance.now();
  options.log?.(`${spec.name} (${options.size}, seed ${options.seed}): training ${g.levels.length} networks, one per ${g.hyperparameter}`);
  const outputs = await g.generate(options.seed, options.size, (lambda, i, out) => {
    options.log?.(`${spec.name}: λ = ${lambda} trained in ${out.seconds.toFixed(1)} s (${i + 1}/${g.levels.length})`);
  });
  options.log?.(`${spec.name}: ${g.levels.length} networks in ${((performance.now() - started) / 1000).toFixed(1)} s; cached in ${dir}`);
  const siblings = Object.values(FAMILIES).filter((f) => f.generator === g && f !== spec);
  for (const other of siblings) writeFamily(other, outputs, options.seed, options.size, dir);
  return writeFamily(spec, outputs, options.seed, options.size, dir);
}
