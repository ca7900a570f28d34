import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { encodeSafetensors, decodeSafetensors, type NamedArray } from '../engine/index.js';
import { MAX_CLASSES } from '../data/dataset.js';
import { fileError, onFile } from '../data/files.js';
import type { ModelInfo } from './model.js';

export const MODEL_FORMAT = 'hti-model';
export const MODEL_FORMAT_VERSION = 2;
const CONFIG_FILE = 'config.json';
const WEIGHTS_FILE = 'weights.safetensors';
/** The files a model directory consists of; anything else in the directory is the user's and is kept. */
export const MODEL_FILES: readonly string[] = [CONFIG_FILE, WEIGHTS_FILE];

export interface StoredModel {
  format: string;
  version: number;
  info: ModelInfo;
  /** Model-specific settings needed to rebuild the networks. */
  options: Record<string, unknown>;
  /**
   * Id of the saved weights (a digest of the tensors), also in the weights file's metadata (`save_id`): a
   * config.json and a weights.safetensors from different saves are caught when both carry one.
   */
  saveId?: string;
}

/** What a path holds, as far as writing a model there goes. */
export type ModelDirState = 'absent' | 'empty' | 'model' | 'other';

/** Whether `dir` holds an hti model: a config.json carrying our format marker. */
export function isModelDir(dir: string): boolean {
  try {
    const config = JSON.parse(fs.readFileSync(path.join(dir, CONFIG_FILE), 'utf8')) as { format?: unknown };
    return config?.format === MODEL_FORMAT;
  } catch {
    return false;
  }
}

export function modelDirState(target: string): ModelDirState {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw fileError(err, 'use', target);
  }
  if (!stat.isDirectory()) return 'other';
  if (isModelDir(target)) return 'model';
  return onFile('read', target, () => fs.readdirSync(target)).length === 0 ? 'empty' : 'other';
}

/**
 * Refuse a target that a model may not be written to: anything but nothing, an empty directory or
 * an hti model directory (checked by the format marker in its config.json, not by the file name).
 */
export function checkModelTarget(target: string, label = target): void {
  const state = modelDirState(target);
  if (state === 'other') {
    throw new Error(`${label} exists and is not an hti model directory (no config.json with format '${MODEL_FORMAT}'); not writing there`);
  }
}

/**
 * Move a complete model directory `staging` (config.json + weights.safetensors) to `target`: a
 * rename when the target does not exist; otherwise only the model's two files are replaced (weights
 * first, then config: the save id in both catches a reader in between), and every
 * other file in the target stays. `staging` is gone afterwards.
 */
export function publishModelDir(staging: string, target: string, label = target): void {
  checkModelTarget(target, label);
  if (modelDirState(target) === 'absent') {
    onFile('write', label, () => fs.renameSync(staging, target));
    return;
  }
  for (const file of [WEIGHTS_FILE, CONFIG_FILE]) {
    onFile('write', path.join(label, file), () => fs.renameSync(path.join(staging, file), path.join(target, file)));
  }
  fs.rmSync(staging, { recursive: true, force: true });
}

/**
 * Write a model directory (config.json + weights.safetensors). Everything goes to a temporary
 * sibling directory first, so an interrupted save never leaves a half-written model, and is then
 * published (publishModelDir): a target that is neither absent, empty nor an hti model is refused.
 */
export function writeModelDir(target: string, config: Omit<StoredModel, 'format' | 'version'>, tensors: Record<string, NamedArray>): void {
  for (const [name, t] of Object.entries(tensors)) {
    for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i])) throw new Error(`refusing to save: parameter '${name}' holds a non-finite value`);
  }
  const full = path.resolve(target);
  const parent = path.dirname(full);
  checkModelTarget(full, target);
  onFile('create', path.dirname(target), () => fs.mkdirSync(parent, { recursive: true }));
  const tmp = onFile('write in', path.dirname(target), () => fs.mkdtempSync(path.join(parent, `.${path.basename(full)}.tmp-`)));
  try {
    // The id is a digest of the tensors: the same model saves to the same bytes (a seed gives the
    // same files), while weights from another fit carry another id.
    const meta = { format: MODEL_FORMAT, version: String(MODEL_FORMAT_VERSION) };
    const saveId = createHash('sha256').update(encodeSafetensors(tensors, meta)).digest('hex').slice(0, 32);
    const weights = encodeSafetensors(tensors, { ...meta, save_id: saveId });
    const stored: StoredModel = { ...config, format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, saveId };
    onFile('write', target, () => {
      fs.writeFileSync(path.join(tmp, WEIGHTS_FILE), weights);
      fs.writeFileSync(path.join(tmp, CONFIG_FILE), JSON.stringify(stored, null, 2) + '\n');
    });
    publishModelDir(tmp, full, target);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Widest output or condition a saved model may claim (far beyond any real one; guards allocations). */
const MAX_COLUMNS = 65536;

const isCount = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/**
 * Check every field of a stored model description before anything is built from it, so that a
 * hand-edited or corrupt config.json is one clear error naming the field, never a crash or a huge
 * allocation. `what` names the file.
 */
export function checkModelInfo(info: unknown, what: string): asserts info is ModelInfo {
  const bad = (why: string) => new Error(`${what}: ${why}`);
  if (!info || typeof info !== 'object' || Array.isArray(info)) throw bad('lacks a valid model description (info)');
  const i = info as Record<string, unknown>;
  if (typeof i.kind !== 'string' || typeof i.method !== 'string') throw bad("'kind' and 'method' must be strings");
  if (!isCount(i.dim, 1, MAX_COLUMNS)) throw bad(`'dim' must be an integer from 1 to ${MAX_COLUMNS}, got ${JSON.stringify(i.dim)}`);
  if (!isCount(i.cond, 0, MAX_COLUMNS)) throw bad(`'cond' must be an integer from 0 to ${MAX_COLUMNS}, got ${JSON.stringify(i.cond)}`);
  if (typeof i.categorical !== 'boolean') throw bad("'categorical' must be true or false");
  if (i.categorical) {
    if (i.cond !== 1) throw bad(`a categorical model has one condition column, but 'cond' is ${i.cond}`);
    if (!isCount(i.classes, 1, MAX_CLASSES)) throw bad(`'classes' must be an integer from 1 to ${MAX_CLASSES} for a categorical model, got ${JSON.stringify(i.classes)}`);
    if (i.classIds !== undefined) {
      const ids = i.classIds;
      const valid = Array.isArray(ids) && ids.length === i.classes && ids.every((c, k) => isCount(c, 0, Number.MAX_SAFE_INTEGER) && (k === 0 || c > ids[k - 1]));
      if (!valid) throw bad(`'classIds' must list ${i.classes} increasing integer class ids ≥ 0`);
    }
  } else if (i.classes !== 0) {
    throw bad(`'classes' must be 0 for a model without a categorical condition, got ${JSON.stringify(i.classes)}`);
  }
  const anchors = i.anchors;
  if (!Array.isArray(anchors) || anchors.length < 2 || anchors.some((a, k) => typeof a !== 'number' || !Number.isFinite(a) || (k > 0 && !(a > anchors[k - 1])))) {
    throw bad("'anchors' must list at least 2 increasing finite λ values");
  }
  const bounds = i.bounds;
  const pair = (b: unknown) => Array.isArray(b) && b.length === 2 && b.every((v) => typeof v === 'number' && Number.isFinite(v)) && b[0] <= b[1];
  if (!Array.isArray(bounds) || bounds.length !== i.dim || !bounds.every(pair)) throw bad(`'bounds' must hold ${i.dim} [min, max] pairs, one per output column`);
  const condBounds = i.condBounds;
  if (condBounds !== undefined && (!Array.isArray(condBounds) || condBounds.length !== i.cond || !condBounds.every(pair))) {
    throw bad(`'condBounds' must hold ${i.cond} [min, max] pairs, one per condition column`);
  }
  if (i.training !== undefined && (i.training === null || typeof i.training !== 'object' || Array.isArray(i.training))) throw bad("'training' must be an object");
}

/** Read and check a model directory; every problem is one clear error. */
export function readModelDir(target: string): { stored: StoredModel; tensors: Record<string, NamedArray> } {
  if (!fs.existsSync(target)) throw new Error(`model ${target} does not exist`);
  if (!fs.statSync(target).isDirectory()) throw new Error(`model ${target} is not a model directory (expected ${CONFIG_FILE} and ${WEIGHTS_FILE} inside)`);
  const configPath = path.join(target, CONFIG_FILE);
  const weightsPath = path.join(target, WEIGHTS_FILE);
  if (!fs.existsSync(configPath)) throw new Error(`model ${target} has no ${CONFIG_FILE}`);
  if (!fs.existsSync(weightsPath)) throw new Error(`model ${target} has no ${WEIGHTS_FILE}`);
  const text = onFile('read', configPath, () => fs.readFileSync(configPath, 'utf8'));
  let stored: StoredModel;
  try {
    stored = JSON.parse(text);
  } catch {
    throw new Error(`model ${target}: ${CONFIG_FILE} is not valid JSON (corrupt file)`);
  }
  if (stored?.format !== MODEL_FORMAT) throw new Error(`model ${target}: ${CONFIG_FILE} is not an hti model config`);
  if (stored.version !== MODEL_FORMAT_VERSION) {
    const older = typeof stored.version === 'number' && stored.version < MODEL_FORMAT_VERSION;
    throw new Error(`model ${target}: format version ${JSON.stringify(stored.version) ?? '(missing)'} is not supported (this hti reads version ${MODEL_FORMAT_VERSION})${older ? '; refit the model with this hti' : ''}`);
  }
  checkModelInfo(stored.info, `model ${target}: ${CONFIG_FILE}`);
  const bytes = onFile('read', weightsPath, () => fs.readFileSync(weightsPath));
  const { tensors, metadata } = decodeSafetensors(bytes, `model ${target}`);
  if (typeof stored.saveId === 'string' && typeof metadata.save_id === 'string' && stored.saveId !== metadata.save_id) {
    throw new Error(`model ${target}: ${WEIGHTS_FILE} is not the one ${CONFIG_FILE} was saved with (an interrupted save, or files mixed from two models)`);
  }
  // A flipped byte can turn a weight into NaN/Inf while the file still parses: refuse it here
  // rather than answer with NaN samples.
  for (const [name, t] of Object.entries(tensors)) {
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i])) throw new Error(`model ${target}: tensor '${name}' holds a non-finite value (corrupt ${WEIGHTS_FILE})`);
    }
  }
  return { stored, tensors };
}
