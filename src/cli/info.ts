import { InvalidArgumentError, type Command } from 'commander';
import { datasetSummary, defaultSidecarPath, loadDataset, type DatasetSummary } from '../data/index.js';
import { nonNegativeInt } from './parsers.js';

interface InfoOptions {
  meta?: string;
  dim?: number;
  cond?: number;
  categorical?: boolean;
  outputs?: string[];
  conditions?: string[];
  json?: boolean;
}


function nameList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new InvalidArgumentError('expected comma-separated column names');
  return names;
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

export function formatInfo(s: DatasetSummary, sidecar: string | null): string {
  const lines: string[] = [];
  lines.push(`data        ${s.source ?? '?'}`);
  lines.push(`sidecar     ${sidecar ?? '(none)'}`);
  const condText = s.categorical ? `${s.cond} (categorical, ${s.classes} classes)` : String(s.cond);
  lines.push(`D (outputs) ${s.dim}   C (conditions) ${condText}`);
  const roles = [s.anchors ? `${s.anchors.length} anchors` : 'no anchors', s.validation ? `${s.validation.length} validation` : null, s.test ? `${s.test.length} test` : null].filter(Boolean);
  lines.push(`levels      ${s.levels.length} (${roles.join(', ')})`);
  lines.push('');
  const header = ['level', 'λ', 'role', 'rows', ...(s.categorical ? Array.from({ length: s.classes }, (_, c) => `class ${c}`) : [])];
  const rows = s.levels.map((l, t) => [
    String(t),
    fmt(l.lambda),
    l.anchor ? 'anchor' : l.validation ? 'validation' : l.test ? 'test' : '-',
    String(l.rows),
    ...(l.classCounts ?? []).map(String),
  ]);
  lines.push(table([header, ...rows], header.map((_, j) => j !== 2)));
  lines.push('');
  lines.push('column ranges over all levels');
  const colRows = s.columns.map((c) => [c.name, c.kind, fmt(c.min), fmt(c.max)]);
  lines.push(table([['column', 'kind', 'min', 'max'], ...colRows], [false, false, true, true]));
  return lines.join('\n');
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('describe a dataset: levels, rows, dimensions, column ranges, class counts')
    .argument('<data>', '.npy ([levels, rows, D+C] or [rows, D+C]) or long-form .csv file')
    .option('--meta <file>', 'JSON sidecar (default: the data file name with .json, when present)')
    .option('--dim <D>', 'number of output columns', nonNegativeInt)
    .option('--cond <C>', 'number of condition columns', nonNegativeInt)
    .option('--categorical', 'the condition is one integer class-id column')
    .option('--outputs <names>', 'CSV: comma-separated output column names', nameList)
    .option('--conditions <names>', 'CSV: comma-separated condition column names', nameList)
    .option('--json', 'print the summary as JSON')
    .action(async (data: string, opts: InfoOptions) => {
      const ds = loadDataset(data, {
        meta: opts.meta,
        dim: opts.dim,
        cond: opts.cond,
        categorical: opts.categorical,
        outputs: opts.outputs,
        conditions: opts.conditions,
      });
      const sidecar = opts.meta ?? defaultSidecarPath(data);
      const summary = datasetSummary(ds);
      const text = opts.json ? JSON.stringify({ ...summary, sidecar }, null, 2) : formatInfo(summary, sidecar);
      process.stdout.write(text + '\n');
    });
}
