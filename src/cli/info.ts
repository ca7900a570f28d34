import type { Command } from 'commander';
import { datasetSummary, defaultSidecarPath, formatClassIds, type DatasetSummary } from '../data/index.js';
import { addDataFlags, loadWithFlags, type DataFlags } from './data-flags.js';

interface InfoOptions extends DataFlags {
  json?: boolean;
}

/** A number in at most 5 significant digits, without trailing noise. */
function fmt(v: number): string {
  return String(Number(v.toPrecision(5)));
}

/** Lay out rows as aligned columns; `right` marks right-aligned (numeric) columns. */
function table(rows: string[][], right: boolean[]): string {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  return rows
    .map((r) => r.map((cell, j) => (right[j] ? cell.padStart(widths[j]) : cell.padEnd(widths[j]))).join('  ').trimEnd())
    .join('\n');
}

const MAX_CLASS_COLUMNS = 12;

export function formatInfo(s: DatasetSummary, sidecar: string | null): string {
  const lines: string[] = [];
  lines.push(`data        ${s.source ?? '?'}`);
  lines.push(`sidecar     ${sidecar ?? '(none)'}`);
  const condText = s.categorical ? `${s.cond} (categorical, ${s.classes} class${s.classes === 1 ? '' : 'es'})` : String(s.cond);
  lines.push(`D (outputs) ${s.dim}   C (conditions) ${condText}`);
  if (s.categorical) lines.push(`class ids   ${formatClassIds(s.classIds ?? [])}`);
  const roles = [s.anchors ? `${s.anchors.length} anchors` : 'no anchors', s.validation ? `${s.validation.length} validation` : null, s.test ? `${s.test.length} test` : null].filter(Boolean);
  lines.push(`levels      ${s.levels.length} (${roles.join(', ')})${s.scale ? `, λ scale ${s.scale}` : ''}`);
  lines.push('');
  // Rows per class as columns while they fit on a screen (the JSON has them all).
  const perClass = (s.classIds?.length ?? 0) <= MAX_CLASS_COLUMNS;
  const header = ['level', 'λ', 'role', 'rows', ...(perClass ? (s.classIds ?? []).map((c) => `class ${c}`) : [])];
  const rows = s.levels.map((l, t) => [
    String(t),
    fmt(l.lambda),
    l.anchor ? 'anchor' : l.validation ? 'validation' : l.test ? 'test' : '-',
    String(l.rows),
    ...(perClass ? (l.classCounts ?? []).map(String) : []),
  ]);
  lines.push(table([header, ...rows], header.map((_, j) => j !== 2)));
  lines.push('');
  lines.push('column ranges over all levels');
  const colRows = s.columns.map((c) => [c.name, c.kind, fmt(c.min), fmt(c.max)]);
  lines.push(table([['column', 'kind', 'min', 'max'], ...colRows], [false, false, true, true]));
  return lines.join('\n');
}

export function registerInfo(program: Command): void {
  const cmd = program
    .command('info')
    .description('describe a dataset: levels, rows, dimensions, column ranges, class counts')
    .argument('<data>', '.npy ([levels, rows, D+C] or [rows, D+C]) or long-form .csv file');
  addDataFlags(cmd)
    .option('--json', 'print the summary as JSON')
    .action(async (data: string, opts: InfoOptions) => {
      const ds = loadWithFlags(data, opts);
      const sidecar = opts.meta ?? defaultSidecarPath(data);
      const summary = datasetSummary(ds);
      const text = opts.json ? JSON.stringify({ ...summary, sidecar }, null, 2) : formatInfo(summary, sidecar);
      process.stdout.write(text + '\n');
    });
}
