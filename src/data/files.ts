import fs from 'node:fs';
import path from 'node:path';

/**
 * File-system failures as one line that names the user's path, not a hidden temp file or a raw
 * errno: every module that reads or writes a user's file goes through these.
 */

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'the name is too long',
  EEXIST: 'it already exists',
  ENOTEMPTY: 'the directory is not empty',
  EBUSY: 'it is busy (in use or a mount point)',
  EXDEV: 'it is on another file system',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  EIO: 'an input/output error',
  ERR_FS_FILE_TOO_LARGE: 'it is larger than 2 GiB, the most hti reads at once',
  ERR_INVALID_ARG_VALUE: 'not a valid path (it holds a NUL character)',
  ERR_INVALID_ARG_TYPE: 'not a valid path',
};

/** The errno code of a Node file-system error, if it is one. */
export function fsCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * One clear Error for a failed file operation on the user's `file`: `cannot write 'out.npy': permission denied`.
 * Errors that are not file-system errors pass through unchanged.
 */
export function fileError(err: unknown, verb: string, file: string): Error {
  const code = fsCode(err);
  if (code === undefined || !(/^E[A-Z]+$/.test(code) || code in REASONS)) return err instanceof Error ? err : new Error(String(err));
  return new Error(`cannot ${verb} '${file}': ${REASONS[code] ?? code.toLowerCase()}`);
}

/** Run a file operation, reporting its failure as fileError. */
export function onFile<T>(verb: string, file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fileError(err, verb, file);
  }
}

/**
 * Write a file beside its final name, then rename: a reader never sees a half-written file, and a
 * failure leaves nothing behind. The folder must exist; errors name the user's `file`.
 */
export function writeFileAtomic(file: string, bytes: Uint8Array | string): void {
  if (file.includes('\0')) throw new Error(`cannot write '${file}': ${REASONS.ERR_INVALID_ARG_VALUE}`);
  const full = path.resolve(file);
  const dir = path.dirname(full);
  let dirStat: fs.Stats | null = null;
  try {
    dirStat = fs.statSync(dir);
  } catch {
    dirStat = null;
  }
  if (!dirStat?.isDirectory()) throw new Error(`cannot write '${file}': folder ${path.dirname(file)} does not exist`);
  if (fs.existsSync(full) && fs.statSync(full).isDirectory()) throw new Error(`cannot write '${file}': it is a directory`);
  const tmp = path.join(dir, `.${path.basename(full).slice(0, 100)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, full);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw fileError(err, 'write', file);
  }
}
