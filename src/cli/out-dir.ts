/**
 * The model directory `hti fit --out` writes, handled so that nothing that is not ours is lost:
 * - only an absent path, an empty directory or an hti model directory (format marker in its
 *   config.json) is written to; a refit replaces the model's two files and keeps every other file;
 * - a lock beside the target makes a second fit on the same --out refuse at once instead of
 *   interleaving with the first;
 * - a fit that fails or is interrupted removes only what it created: its staging directory, the
 *   parent directories it made, its lock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileError, fsCode, onFile } from '../data/files.js';
import { checkModelTarget, publishModelDir } from '../surrogate/persist.js';

interface LockRecord {
  pid: number;
  host: string;
  started: string;
}

/** Whether a lock's process still runs (only knowable on this machine; elsewhere assume it does). */
function lockHolderAlive(lock: LockRecord): boolean {
  if (lock.host !== os.hostname() || !Number.isInteger(lock.pid)) return true;
  try {
    process.kill(lock.pid, 0);
    return true;
  } catch (err) {
    return fsCode(err) !== 'ESRCH';
  }
}

function readLock(file: string): LockRecord | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockRecord;
  } catch {
    return null;
  }
}

/** Take the lock file (created exclusively); a lock left by a process that has died is taken over. */
function takeLock(file: string, label: string): void {
  const record: LockRecord = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(record) + '\n', { flag: 'wx' });
      return;
    } catch (err) {
      if (fsCode(err) !== 'EEXIST') throw fileError(err, 'lock', label);
    }
    const holder = readLock(file);
    if (holder && lockHolderAlive(holder)) {
      throw new Error(`--out ${label} is being written by another hti fit (pid ${holder.pid} on ${holder.host}, since ${holder.started}); wait for it to finish or choose another --out`);
    }
    if (!holder) {
      // A lock being written right now, or a damaged one: do not guess.
      throw new Error(`--out ${label} is locked by ${file}; if no other hti fit is running, delete that file`);
    }
    fs.rmSync(file, { force: true });
  }
  throw new Error(`--out ${label}: could not take the lock ${file}`);
}

export class OutDir {
  /** Where the fit saves before publishing (a hidden sibling of the target). */
  readonly staging: string;
  private readonly lockFile: string;
  /** The outermost parent directory this fit created, to remove again on failure. */
  private readonly createdParent: string | undefined;
  private released = false;

  private constructor(
    readonly target: string,
    readonly label: string,
    createdParent: string | undefined,
  ) {
    const parent = path.dirname(target);
    const base = path.basename(target);
    this.createdParent = createdParent;
    this.lockFile = path.join(parent, `.${base}.lock`);
    this.staging = path.join(parent, `.${base}.fit-${process.pid}-${Date.now().toString(36)}`);
  }

  /** Check the target, create its parent directories, take the lock. */
  static claim(outArg: string): OutDir {
    const target = path.resolve(outArg);
    checkModelTarget(target, `--out ${outArg}`);
    const created = onFile('create', path.dirname(outArg), () => fs.mkdirSync(path.dirname(target), { recursive: true }));
    const out = new OutDir(target, outArg, created);
    try {
      takeLock(out.lockFile, outArg);
    } catch (err) {
      out.removeCreatedParents();
      throw err;
    }
    return out;
  }

  /** Move the finished model in place (checking the target again: it may have changed meanwhile). */
  publish(): void {
    publishModelDir(this.staging, this.target, this.label);
  }

  /** After a failure: remove the staging directory, the parents this fit created, the lock. */
  abandon(): void {
    this.removeStaging();
    this.release();
    this.removeCreatedParents();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    fs.rmSync(this.lockFile, { force: true });
  }

  /** The staging directory and writeModelDir's temporary siblings of it. */
  private removeStaging(): void {
    const parent = path.dirname(this.staging);
    const base = path.basename(this.staging);
    let names: string[] = [];
    try {
      names = fs.readdirSync(parent);
    } catch {
      return;
    }
    for (const n of names) {
      if (n === base || n.startsWith(`.${base}.tmp-`)) fs.rmSync(path.join(parent, n), { recursive: true, force: true });
    }
  }

  /** Parent directories this fit created, innermost first, each only while it is empty. */
  private removeCreatedParents(): void {
    if (!this.createdParent) return;
    for (let dir = path.dirname(this.target); ; dir = path.dirname(dir)) {
      try {
        fs.rmdirSync(dir);
      } catch {
        return; // not empty (someone else's file) or already gone: leave it
      }
      if (dir === this.createdParent || dir === path.dirname(dir)) return;
    }
  }
}
