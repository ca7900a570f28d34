import fs from 'node:fs';
import path from 'node:path';
import { encodeSafetensors, decodeSafetensors, type NamedArray } from '../engine/index.js';
import type { ModelInfo } from './model.js';

export const MODEL_FORMAT = 'hti-model';
export const MODEL_FORMAT_VERSION = 2;
const CONFIG_FILE = 'config.json';
const WEIGHTS_FILE = 'weights.safetensors';

export interface StoredModel {
  format: string;
  version: number;
  info: ModelInfo;
  /** Model-specific settings needed to rebuild the networks. */
  options: Record<string, unknown>;
}

/**
 * Write a model directory (config.json + weights.safetensors) atomically: everything goes to a
 * temporary sibling directory that is renamed into place only when complete, so an interrupted
 * save never leaves a half-written model.
 */
export function writeModelDir(target: string, config: Omit<StoredModel, 'format' | 'version'>, tensors: Record<string, NamedArray>): void {
  for (const [name, t] of Object.entries(tensors)) {
    for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i])) throw new Error(`refusing to save: parameter '${name}' holds a non-finite value`);
  }
  const full = path.resolve(target);
  const parent = path.dirname(full);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(full)}.tmp-`));
  try {
    const stored: StoredModel = { format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, ...config };
    fs.writeFileSync(path.join(tmp, CONFIG_FILE), JSON.stringify(stored, null, 2) + '\n');
    fs.writeFileSync(path.join(tmp, WEIGHTS_FILE), encodeSafetensors(tensors, { format: MODEL_FORMAT, version: String(MODEL_FORMAT_VERSION) }));
    if (fs.existsSync(full)) {
      const stat = fs.statSync(full);
      if (!stat.isDirectory() || !fs.existsSync(path.join(full, CONFIG_FILE))) {
        throw new Error(`${target} exists and is not an hti model directory; not overwriting it`);
      }
      const old = `${tmp}-old`;
      fs.renameSync(full, old);
      fs.renameSync(tmp, full);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, full);
    }
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Read and check a model directory; every problem is one clear error. */
export function readModelDir(target: string): { stored: StoredModel; tensors: Record<string, NamedArray> } {
  if (!fs.existsSync(target)) throw new Error(`model ${target} does not exist`);
  if (!fs.statSync(target).isDirectory()) throw new Error(`model ${target} is not a model directory (expected ${CONFIG_FILE} and ${WEIGHTS_FILE} inside)`);
  const configPath = path.join(target, CONFIG_FILE);
  const weightsPath = path.join(target, WEIGHTS_FILE);
  if (!fs.existsSync(configPath)) throw new Error(`model ${target} has no ${CONFIG_FILE}`);
  if (!fs.existsSync(weightsPath)) throw new Error(`model ${target} has no ${WEIGHTS_FILE}`);
  let stored: StoredModel;
  try {
    stored = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  } catch {
    throw new Error(`model ${target}: ${CONFIG_FILE} is not valid JSON (corrupt file)`);
  }
  if (stored?.format !== MODEL_FORMAT) throw new Error(`model ${target}: ${CONFIG_FILE} is not an hti model config`);
  if (stored.version !== MODEL_FORMAT_VERSION) {
    const older = typeof stored.version === 'number' && stored.version < MODEL_FORMAT_VERSION;
    throw new Error(`model ${target}: format version ${stored.version} is not supported (this hti reads version ${MODEL_FORMAT_VERSION})${older ? '; refit the model with this hti' : ''}`);
  }
  const info = stored.info;
  if (!info || !Array.isArray(info.anchors) || info.anchors.length < 2 || !(info.dim >= 1) || !(info.cond >= 0)) {
    throw new Error(`model ${target}: ${CONFIG_FILE} lacks a valid model description`);
  }
  const { tensors } = decodeSafetensors(fs.readFileSync(weightsPath), `model ${target}`);
  // A flipped byte can turn a weight into NaN/Inf while the file still parses: refuse it here
  // rather than answer with NaN samples.
  for (const [name, t] of Object.entries(tensors)) {
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i])) throw new Error(`model ${target}: tensor '${name}' holds a non-finite value (corrupt ${WEIGHTS_FILE})`);
    }
  }
  return { stored, tensors };
}
