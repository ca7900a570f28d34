/**
 * Generated families live in a cache folder (never committed): `<dir>/<family>-<size>-seed<seed>.npy`
 * and its `.json` sidecar. A cached family is reused while its sidecar names the current generator
 * version, settings, tfjs backend and engine revision; otherwise it is trained again. Files are written atomically, so a
 * concurrent reader sees the old pair or the new one. Families sharing a generator (quantile and
 * quantile3) are written together from one training run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { encodeNpy, loadDataset, readNpy, writeFileAtomic, type Dataset } from '../data/index.js';
import { backendName, ENGINE_REVISION, initEngine } from '../engine/index.js';
import { familyDataset, familySidecar, generateLevels, SIDECAR_FORMAT, type FamilySidecar, type FamilySize, type FamilySpec, type GeneratedLevels } from './family.js';
import { FAMILIES } from './registry.js';

/** `$HTI_CACHE_DIR/families`, else `.cache/families` under the working directory. */
export function defaultCacheDir(): string {
  const root = process.env.HTI_CACHE_DIR;
  return root ? path.resolve(root, 'families') : path.resolve('.cache', 'families');
}

export interface FamilyFiles {
  npy: string;
  json: string;
  /** Rows of the networks retrained from other initialisations at the test levels: [levels, N, D + C]. */
  floor: string;
}

export function familyFiles(name: string, size: FamilySize, seed: number, dir = defaultCacheDir()): FamilyFiles {
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`family seed must be a non-negative integer, got ${seed}`);
  const base = path.join(dir, `${name}-${size}-seed${seed}`);
  return { npy: `${base}.npy`, json: `${base}.json`, floor: `${base}.floor.npy` };
}

export interface CachedFamily {
  dataset: Dataset;
  sidecar: FamilySidecar;
  files: FamilyFiles;
  /** Noise-floor rows per level of `sidecar.floor.levels`, when stored. */
  floor: Float32Array[] | null;
}

/** The sidecar of a cached family if it is current (same generator version, settings and backend), else null. */
function currentSidecar(spec: FamilySpec, files: FamilyFiles, backend: string): FamilySidecar | null {
  if (!fs.existsSync(files.npy) || !fs.existsSync(files.json)) return null;
  let side: FamilySidecar;
  try {
    side = JSON.parse(fs.readFileSync(files.json, 'utf8')) as FamilySidecar;
  } catch {
    return null;
  }
  const f = side.family;
  if (!f || f.generator !== spec.generator.id || f.version !== spec.generator.version || f.backend !== backend || f.engine !== ENGINE_REVISION) return null;
  if (JSON.stringify(f.settings) !== JSON.stringify(spec.generator.settings(f.size))) return null;
  if (side.floor && !fs.existsSync(files.floor)) return null;
  return side;
}

function splitLevels(data: Float32Array, levels: number): Float32Array[] {
  const size = data.length / levels;
  return Array.from({ length: levels }, (_, t) => data.slice(t * size, (t + 1) * size));
}

/** A cached, current family; null when it must be generated first (see `ensureFamily`). */
export function readCachedFamily(spec: FamilySpec, seed: number, size: FamilySize, dir = defaultCacheDir()): CachedFamily | null {
  const files = familyFiles(spec.name, size, seed, dir);
  const sidecar = currentSidecar(spec, files, backendName());
  if (!sidecar) return null;
  const floor = sidecar.floor ? splitLevels(readNpy(files.floor).data, sidecar.floor.levels.length) : null;
  const dataset = loadDataset(files.npy);
  if (sidecar.family.format === SIDECAR_FORMAT) return { dataset, sidecar, files, floor };
  // An older sidecar layout: rebuild it from the cached rows (the networks need no retraining).
  const f = sidecar.family;
  const generated: GeneratedLevels = {
    outputs: dataset.data.map((rows, t) => ({ rows, seconds: f.trainSeconds[t], cpuSeconds: f.trainCpuSeconds?.[t] ?? 0, loss: f.trainLoss[t] })),
    floorLevels: sidecar.floor?.levels ?? [],
    floor: (floor ?? []).map((rows, i) => ({ rows, seconds: sidecar.floor!.trainSeconds[i], cpuSeconds: 0, loss: NaN })),
  };
  return writeFamily(spec, generated, seed, size, dir);
}

/** Stack per-level rows into one [levels, N, width] .npy. */
function levelsNpy(rows: Float32Array[], width: number): Buffer {
  const data = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
  rows.forEach((r, t) => data.set(r, t * r.length));
  return encodeNpy({ shape: [rows.length, rows[0].length / width, width], data });
}

/** Write a family's .npy, sidecar and noise-floor rows (those at its test levels) into the cache folder. */
export function writeFamily(spec: FamilySpec, generated: GeneratedLevels, seed: number, size: FamilySize, dir = defaultCacheDir()): CachedFamily {
  const files = familyFiles(spec.name, size, seed, dir);
  const width = spec.generator.dim + spec.generator.cond;
  const dataset = familyDataset(spec, generated.outputs, files.npy);
  const keep = generated.floorLevels.map((l, i) => [l, i] as const).filter(([l]) => spec.test.includes(l));
  const mine: GeneratedLevels = { ...generated, floorLevels: keep.map(([l]) => l), floor: keep.map(([, i]) => generated.floor[i]) };
  const sidecar = familySidecar(spec, dataset, mine, seed, size, mine.floor.length ? path.basename(files.floor) : undefined);
  fs.mkdirSync(dir, { recursive: true });
  if (mine.floor.length) writeFileAtomic(files.floor, levelsNpy(mine.floor.map((o) => o.rows), width));
  writeFileAtomic(files.npy, levelsNpy(generated.outputs.map((o) => o.rows), width));
  // The sidecar last: a family is complete once its sidecar names it.
  writeFileAtomic(files.json, JSON.stringify(sidecar, null, 1) + '\n');
  return { dataset, sidecar, files, floor: mine.floor.length ? mine.floor.map((o) => o.rows) : null };
}

export interface EnsureOptions {
  seed: number;
  size: FamilySize;
  dir?: string;
  /** A plain progress line per trained network. */
  log?: (line: string) => void;
}

/**
 * The family from the cache, or trained now and cached (with every family sharing its generator):
 * a network per level, and the noise-floor networks at the test levels. Resolves once the files
 * are on disk.
 */
export async function ensureFamily(spec: FamilySpec, options: EnsureOptions): Promise<CachedFamily> {
  await initEngine({ quiet: true });
  const dir = options.dir ?? defaultCacheDir();
  const cached = readCachedFamily(spec, options.seed, options.size, dir);
  if (cached) return cached;
  const g = spec.generator;
  const siblings = Object.values(FAMILIES).filter((f) => f.generator === g && f !== spec);
  const floorLevels = [spec, ...siblings].flatMap((f) => f.test);
  const started = performance.now();
  options.log?.(`${spec.name} (${options.size}, seed ${options.seed}): training a network per ${g.hyperparameter} at ${g.levels.length} levels, then again from other seeds at the test levels (the noise floor)`);
  const generated = await generateLevels(g, options.seed, options.size, floorLevels, (lambda, out, done, total, floor) => {
    options.log?.(`${spec.name}: λ = ${lambda}${floor ? ' (noise floor)' : ''} trained in ${out.seconds.toFixed(1)} s (${done}/${total})`);
  });
  options.log?.(`${spec.name}: trained in ${((performance.now() - started) / 1000).toFixed(1)} s; cached in ${dir}`);
  for (const other of siblings) writeFamily(other, generated, options.seed, options.size, dir);
  return writeFamily(spec, generated, options.seed, options.size, dir);
}
