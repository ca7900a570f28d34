// The source tree keeps its imports flowing one way: a folder imports only folders before it in
// LAYERS (and itself). New wings take their place here; the README's layout line says the same.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');

export const LAYERS = ['data', 'engine', 'lagrangian', 'ot', 'surrogate', 'baselines', 'eval', 'methods', 'plot', 'sim', 'families', 'export', 'bench', 'cli', 'server'];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Relative module specifiers of every import / export-from / dynamic import in a file. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.[^'"]+)['"]/g)) out.push(m[1]);
  return out;
}

describe('source layout', () => {
  it('every top-level folder of src is a known layer', () => {
    const folders = fs.readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.filter((f) => !LAYERS.includes(f))).toEqual([]);
  });

  it('imports flow one way: a folder imports only itself and folders before it', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const rel = path.relative(SRC, file);
      const layer = rel.split(path.sep)[0];
      if (!LAYERS.includes(layer)) continue; // src/index.ts re-exports everything
      for (const spec of importsOf(file)) {
        const target = path.relative(SRC, path.resolve(path.dirname(file), spec));
        const targetLayer = target.split(path.sep)[0];
        if (!LAYERS.includes(targetLayer)) continue;
        if (LAYERS.indexOf(targetLayer) > LAYERS.indexOf(layer)) violations.push(`${rel} imports ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
