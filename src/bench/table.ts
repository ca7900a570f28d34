/**
 * The benchmark table: per task and metric, one row per method and per trivial reference, with
 * the score at each held-out level (mean over seeds), the mean over levels (with a 95% t-interval
 * over seeds when there are several), the paper's figure, fit seconds and peak RSS. The same
 * figures are available as JSON.
 */
import type { MethodRun, ReferenceRun, SeedScores, TaskResult } from './run.js';
import { methodLabel } from '../methods/registry.js';
import { flattenOptions } from '../surrogate/index.js';
import { getTask, type MetricSpec } from './tasks.js';

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08,
  2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The 0.975 quantile of Student's t with df degrees of freedom (Cornish–Fisher beyond 30). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`t quantile: degrees of freedom must be a positive integer, got ${df}`);
  if (df <= T975.length) return T975[df - 1];
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

export interface MeanSummary {
  mean: number;
  /** 95% t-interval of the mean over seeds (only with ≥ 2 seeds). */
  ci?: [number, number];
  /** The value for each seed, in seed order. */
  perSeed: number[];
}

/** Mean and, for ≥ 2 values, the 95% t-interval of the mean. */
export function summarize(values: number[]): MeanSummary {
  const n = values.length;
  if (n === 0) throw new Error('summarize: no values');
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n < 2 || !values.every(Number.isFinite)) return { mean, perSeed: values };
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const half = (tQuantile975(n - 1) * sd) / Math.sqrt(n);
  return { mean, ci: [mean - half, mean + half], perSeed: values };
}

export interface TableRow {
  kind: 'method' | 'reference';
  /** Method (preset) or reference name. */
  name: string;
  label: string;
  note?: string;
  /** perLevel[metric][i]: mean over seeds of the score at levels[i]. */
  perLevel: Record<string, number[]>;
  /** Per metric: the mean over levels, summarised over seeds. */
  mean: Record<string, MeanSummary>;
  /** The paper's figure per metric, where it has one. */
  paper: Record<string, number>;
  fitSeconds?: number;
  peakRssMB?: number;
  /** With automatic selection: per seed and fold, what was held out and which candidate was kept. */
  selection?: SelectionFold[];
}

export interface SelectionFold {
  seed: number;
  /** The held-out information selection used (validation levels, left-out anchors, none) and its levels. */
  heldOut: string;
  levels: number[];
  /** Candidate kept; null when selection fell back to the defaults. */
  chosen: string | null;
  /** Levels this fold scored. */
  scored: number[];
  fitSeconds: number;
}

export interface TaskTable {
  task: string;
  title: string;
  levels: number[];
  seeds: number[];
  metrics: MetricSpec[];
  clotSettings: Record<string, unknown>;
  /** Which CLOT settings the methods were fitted with. */
  settings: string;
  details: Record<string, unknown>;
  rows: TableRow[];
}

/** Arithmetic mean (NaN for an empty list). */
export function mean(v: number[]): number {
  return v.reduce((s, x) => s + x, 0) / v.length;
}

/** One table row from the runs of one method (or reference) over seeds. */
function rowFrom(runs: SeedScores[], metrics: MetricSpec[], levels: number[]): Pick<TableRow, 'perLevel' | 'mean'> {
  const perLevel: Record<string, number[]> = {};
  const summary: Record<string, MeanSummary> = {};
  for (const { key } of metrics) {
    perLevel[key] = levels.map((_, i) => mean(runs.map((r) => r.perLevel[i][key])));
    summary[key] = summarize(runs.map((r) => mean(r.perLevel.map((l) => l[key]))));
  }
  return { perLevel, mean: summary };
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

function selectionFold(seed: number, f: NonNullable<MethodRun['folds']>[number]): SelectionFold {
  return { seed, heldOut: f.selection.heldOut, levels: f.selection.levels, chosen: f.selection.chosen, scored: f.scored, fitSeconds: f.fitSeconds };
}

/** One line per method row with selection: which candidate each fold kept, on what held-out levels. */
function selectionLine(r: TableRow): string | null {
  if (!r.selection?.length) return null;
  const folds = r.selection.map((f) => {
    const held = f.heldOut === 'none' ? 'no held-out information' : `${f.heldOut} ${f.levels.join(', ')}`;
    return `seed ${f.seed}, ${held}: ${f.chosen ?? 'the defaults'}`;
  });
  return `${r.name}, candidate kept: ${folds.join('; ')}`;
}

/** Aggregate a task's runs into its table (methods first, in run order, then references). */
export function buildTaskTable(result: TaskResult): TaskTable {
  const spec = getTask(result.task);
  const rows: TableRow[] = [];
  for (const [method, runs] of groupBy<MethodRun>(result.methods, (r) => r.method)) {
    const paper: Record<string, number> = {};
    for (const { key } of spec.metrics) {
      const v = spec.paper[key]?.[method];
      if (v !== undefined) paper[key] = v;
    }
    rows.push({
      kind: 'method',
      name: method,
      label: methodLabel(method),
      ...rowFrom(runs, spec.metrics, result.levels),
      paper,
      fitSeconds: mean(runs.map((r) => r.fitSeconds ?? NaN)),
      peakRssMB: Math.max(...runs.map((r) => r.peakRssMB ?? NaN)),
      ...(runs.some((r) => r.folds) ? { selection: runs.flatMap((r) => (r.folds ?? []).map((f) => selectionFold(r.seed, f))) } : {}),
    });
  }
  for (const [name, runs] of groupBy<ReferenceRun>(result.references, (r) => r.name)) {
    rows.push({ kind: 'reference', name, label: runs[0].label, ...(runs[0].note ? { note: runs[0].note } : {}), ...rowFrom(runs, spec.metrics, result.levels), paper: {} });
  }
  return {
    task: result.task,
    title: spec.title,
    levels: result.levels,
    seeds: result.seeds,
    metrics: spec.metrics,
    clotSettings: result.settings === 'hand' ? flattenOptions(spec.hand as Record<string, unknown>) : {},
    settings: result.settings === 'hand' ? 'hand' : result.select === 'auto' ? `defaults, automatic selection${result.heldOut === 'anchors' ? ' without validation levels' : ''}` : 'defaults, no selection',
    details: result.details,
    rows,
  };
}

/** A number in 4 significant digits (no exponent for ordinary magnitudes). */
export function fmtNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-4 && a < 1e6) return String(Number(v.toPrecision(4)));
  return v.toExponential(2);
}

function fmtMean(s: MeanSummary): string {
  return s.ci ? `${fmtNumber(s.mean)} [${fmtNumber(s.ci[0])}, ${fmtNumber(s.ci[1])}]` : fmtNumber(s.mean);
}

/** Lay out rows as aligned columns; `right` marks right-aligned columns. */
export function alignColumns(rows: string[][], right: boolean[]): string {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  return rows.map((r) => r.map((cell, j) => (right[j] ? cell.padStart(widths[j]) : cell.padEnd(widths[j]))).join('  ').trimEnd()).join('\n');
}

function rowName(row: TableRow): string {
  return row.kind === 'method' ? (row.label === row.name ? row.name : `${row.name} = ${row.label}`) : `${row.label} (ref${row.note ? '*' : ''})`;
}

/**
 * Generated families: the seconds each network took to train at the scored levels (what the
 * surrogate saves per level), the whole family's, and the fit's in networks' worth.
 */
export function networkTrainingLine(t: TaskTable): string | null {
  const secs = t.details.trainSeconds as Record<string, number> | undefined;
  if (!secs) return null;
  const all = Object.values(secs);
  const total = all.reduce((a, b) => a + b, 0);
  const perNet = total / all.length;
  const cpu = Object.values((t.details.trainCpuSeconds as Record<string, number> | undefined) ?? {});
  const cpuText = cpu.length ? ` (${(cpu.reduce((a, b) => a + b, 0) / cpu.length).toFixed(1)} s CPU)` : '';
  const at = t.levels.map((l) => `λ=${l} ${secs[String(l)]?.toFixed(1) ?? '?'}`).join(' · ');
  const fit = t.rows.find((r) => r.kind === 'method')?.fitSeconds;
  const fitText = fit !== undefined ? `; a fit of ${fit.toFixed(1)} s costs ${(fit / perNet).toFixed(1)} networks` : '';
  return `network training s (what the surrogate saves): ${at}; ${all.length} networks ${total.toFixed(0)} s, ${perNet.toFixed(1)} s each${cpuText}${fitText}`;
}

/** A Markdown table with padded columns (benchmark scripts print it for the README). */
export function markdownTable(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((l) => l[i].length)));
  const row = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  return [row(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(row)].join('\n');
}

/** The text tables of one task: one table per metric. */
export function formatTaskTable(t: TaskTable): string {
  const out: string[] = [];
  out.push(`== ${t.title}`);
  const hand = Object.entries(t.clotSettings).map(([k, v]) => `${k} ${v}`).join(', ');
  out.push(`seeds ${t.seeds.join(',')} · CLOT settings: ${t.settings}${hand ? ` (${hand})` : ''}`);
  const hasMethods = t.rows.some((r) => r.kind === 'method');
  for (const m of t.metrics) {
    out.push('');
    out.push(`${m.label}: ${m.description}; lower is better`);
    const meanHead = t.seeds.length > 1 ? 'mean [95% CI]' : 'mean';
    const header = ['method', ...t.levels.map((l) => `λ=${l}`), meanHead, 'paper', ...(hasMethods ? ['fit s', 'peak MB'] : [])];
    const body = t.rows.map((r) => [
      rowName(r),
      ...r.perLevel[m.key].map(fmtNumber),
      fmtMean(r.mean[m.key]),
      r.paper[m.key] !== undefined ? fmtNumber(r.paper[m.key]) : '—',
      ...(hasMethods ? [r.fitSeconds !== undefined ? r.fitSeconds.toFixed(1) : '', r.peakRssMB !== undefined ? String(Math.round(r.peakRssMB)) : ''] : []),
    ]);
    out.push(alignColumns([header, ...body], header.map((_, j) => j > 0)));
  }
  const kept = t.rows.map(selectionLine).filter((l): l is string => l !== null);
  if (kept.length) out.push('', ...kept);
  const training = networkTrainingLine(t);
  if (training) out.push('', training);
  const notes = t.rows.filter((r) => r.note);
  if (notes.length) {
    out.push('');
    for (const r of notes) out.push(`* ${r.label}: ${r.note}`);
  }
  return out.join('\n');
}

export function formatTables(tables: TaskTable[]): string {
  return tables.map(formatTaskTable).join('\n\n');
}

/** The JSON document `hti bench --json` prints and `--out` writes. */
export interface BenchReport {
  format: 'hti-bench';
  version: 1;
  created: string;
  options: Record<string, unknown>;
  tasks: TaskTable[];
  /** Raw per-seed runs, for re-analysis. */
  runs: TaskResult[];
}

export function benchReport(results: TaskResult[], options: Record<string, unknown>): BenchReport {
  return { format: 'hti-bench', version: 1, created: new Date().toISOString(), options, tasks: results.map(buildTaskTable), runs: results };
}
