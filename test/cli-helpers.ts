// Running the CLI in tests — in this process through main(argv) (fast), or as a real process — and
// the properties every failure must have (the fuzz suite, the hostile-input table, the CLI tests).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { registerServe } from '../src/server/command.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI in this process through main(argv), capturing its output and exit code. */
export async function runCli(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const so = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const se = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    const code = await main(['node', 'hti', ...args], [registerServe]);
    return { code, stdout, stderr };
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
}

/** Run the built CLI (dist/) as a separate process, as a user would. */
export function spawnCli(args: string[], cwd = root): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/hti.js'), ...args], { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Words that only a crash or a library's internals would print. */
export const INTERNAL = /\n\s+at |\bat .*\.(js|ts):\d+|TypeError|RangeError|ReferenceError|SyntaxError|Cannot read prop|is not a function|is not iterable|undefined|Invalid typed array|Invalid array length|Maximum call stack|Error in |ERR_[A-Z_]+|node:internal|tfjs|\[object Object\]|must be a string|Received /;

/** A clean failure: non-zero exit, nothing on stdout, exactly one line on stderr, nothing internal. */
export function expectCleanFailure(r: CliResult, what: string): void {
  expect(r.code, `${what}\n${r.stderr}`).not.toBe(0);
  expect(r.stdout, what).toBe('');
  expect(r.stderr, what).toMatch(/^hti: [^\n]+\n$/);
  expect(r.stderr, what).not.toMatch(INTERNAL);
  expect(r.stderr.length, what).toBeLessThan(800);
}

/** Name → size and mtime of every entry under `dir` (recursively): what "nothing changed" compares. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      const full = path.join(d, name);
      const st = fs.lstatSync(full);
      out.set(path.relative(dir, full), `${st.isDirectory() ? 'dir' : st.size}:${st.mtimeMs}`);
      if (st.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out;
}

/** The entries added, removed or changed between two snapshots. */
export function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of after) if (before.get(k) !== v) out.push(before.has(k) ? `changed ${k}` : `added ${k}`);
  for (const k of before.keys()) if (!after.has(k)) out.push(`removed ${k}`);
  return out;
}
