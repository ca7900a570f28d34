/**
 * The demo (`npm run demo`): fit the full method (K_θ−Û) on semicircles, print its scores beside
 * the trivial references, and draw a PNG: the surrogate's trajectories from t = 0 to 1 over the
 * true samples at the anchors and held-out times, then true vs surrogate samples at each held-out
 * time — everything coloured by class.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { TrajectoryModel } from '../surrogate/model.js';
import { classLegend, renderPanelsSvg, svgToPng, type Layer, type Panel } from '../plot/render.js';
import { runMethod, runReferences, type TaskResult } from './run.js';
import { buildTaskTable, fmtNumber, formatTaskTable, type TaskTable } from './table.js';
import { TASKS, type PreparedTask } from './tasks.js';

export interface DemoOptions {
  seed?: number;
  /** PNG path (default out/demo.png). */
  out?: string;
  quick?: boolean;
  fit?: Record<string, unknown>;
  /** Trajectories drawn per class (default 25). */
  pathsPerClass?: number;
  log?: (line: string) => void;
}

export interface DemoResult {
  table: TaskTable;
  text: string;
  png: string;
}

const GRID_STEPS = 41;

/** x, y of every row of width `width` (first two columns), interleaved. */
function xyOf(rows: Float32Array, width: number): Float32Array {
  const n = rows.length / width;
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = rows[i * width];
    out[2 * i + 1] = rows[i * width + 1];
  }
  return out;
}

function classesOf(rows: Float32Array, width: number, dim: number): Float32Array {
  const n = rows.length / width;
  return Float32Array.from({ length: n }, (_, i) => rows[i * width + dim]);
}

/** The first `k` rows of each class of class-ordered rows. */
function firstPerClass(rows: Float32Array, width: number, dim: number, k: number): Float32Array {
  const counts = new Map<number, number>();
  const keep: number[] = [];
  for (let i = 0; i < rows.length / width; i++) {
    const c = rows[i * width + dim];
    const seen = counts.get(c) ?? 0;
    if (seen < k) keep.push(i);
    counts.set(c, seen + 1);
  }
  const out = new Float32Array(keep.length * width);
  keep.forEach((r, i) => out.set(rows.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

/** The demo picture of a fitted semicircles surrogate, as SVG. */
export function demoFigureSvg(model: TrajectoryModel, prepared: PreparedTask, table: TaskTable, pathsPerClass = 25): string {
  const { dim, cond } = prepared.train;
  const width = dim + cond;
  const lo = model.info.anchors[0];
  const hi = model.info.anchors[model.info.anchors.length - 1];
  const grid = Array.from({ length: GRID_STEPS }, (_, i) => lo + ((hi - lo) * i) / (GRID_STEPS - 1));
  const starts = firstPerClass(prepared.inputs, width, dim, pathsPerClass);
  const n = starts.length / width;
  const traj = model.trajectory(starts, grid);
  const paths = Array.from({ length: n }, (_, p) => {
    const xy = new Float32Array(2 * GRID_STEPS);
    for (let g = 0; g < GRID_STEPS; g++) {
      xy[2 * g] = traj[(g * n + p) * width];
      xy[2 * g + 1] = traj[(g * n + p) * width + 1];
    }
    return xy;
  });
  const startClasses = classesOf(starts, width, dim);
  const anchorLayers: Layer[] = prepared.train.data.map((rows) => ({
    kind: 'points',
    xy: xyOf(rows, width),
    classes: classesOf(rows, width, dim),
    radius: 1.6,
    opacity: 0.35,
  }));
  const heldOutTruth: Layer[] = prepared.truth.map((rows) => ({ kind: 'points', xy: xyOf(rows, width), classes: classesOf(rows, width, dim), radius: 2.2, hollow: true, opacity: 0.8 }));
  const w2 = table.rows.find((r) => r.kind === 'method')!.perLevel.w2;
  const floor = table.rows.find((r) => r.name === 'true-samples')?.perLevel.w2;
  const panels: Panel[] = [
    {
      title: `trajectories t = ${lo} → ${hi}; true samples at anchors (dots) and held-out t (rings)`,
      layers: [...anchorLayers, ...heldOutTruth, { kind: 'paths', paths, classes: startClasses, width: 1.1, opacity: 0.75 }],
    },
    ...prepared.levels.map((t, i): Panel => {
      const pushed = model.sample(prepared.inputs, t);
      return {
        title: `t = ${t}: true (rings) vs surrogate (dots); W2² ${fmtNumber(w2[i])}${floor ? ` (floor ${fmtNumber(floor[i])})` : ''}`,
        layers: [heldOutTruth[i], { kind: 'points', xy: xyOf(pushed, width), classes: classesOf(pushed, width, dim), radius: 2, opacity: 0.85 }],
      };
    }),
  ];
  return renderPanelsSvg(panels, {
    columns: 3,
    panelWidth: 520,
    panelHeight: 320,
    title: `semicircles: ${model.info.method} CLOT surrogate (seed ${prepared.seed}), trained on t = ${model.info.anchors.join(', ')}`,
    xLabel: 'y₀',
    yLabel: 'y₁',
    legend: [
      ...classLegend(prepared.train.classes),
      { label: 'true sample', color: '#555', shape: 'ring' },
      { label: 'surrogate sample', color: '#555', shape: 'dot' },
      { label: 'trajectory', color: '#555', shape: 'line' },
    ],
  });
}

/** Fit, score, print-ready table and the PNG on disk. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const seed = options.seed ?? 0;
  const out = options.out ?? path.join('out', 'demo.png');
  if (path.extname(out).toLowerCase() !== '.png') throw new Error(`demo output must be a .png file, got ${out}`);
  const spec = TASKS.semicircles;
  const prepared = spec.prepare(seed, { dataDir: '' });
  const result: TaskResult = {
    task: 'semicircles',
    levels: prepared.levels,
    seeds: [seed],
    methods: [],
    references: runReferences(prepared),
    details: prepared.details,
    settings: 'defaults',
    select: 'auto',
    heldOut: 'validation',
  };
  let table: TaskTable | null = null;
  let png: Buffer | null = null;
  options.log?.(`fitting the full method (K_θ−Û) on semicircles as hti fit does (automatic selection on validation times), seed ${seed}…`);
  await runMethod(spec, prepared, 'full', {
    seed,
    quick: options.quick,
    fit: options.fit,
    withModel: (model, run) => {
      result.methods.push(run);
      table = buildTaskTable(result);
      png = svgToPng(demoFigureSvg(model, prepared, table, options.pathsPerClass), { scale: 1.5 });
    },
  });
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, png!);
  return { table: table!, text: formatTaskTable(table!), png: out };
}

/** `node dist/bench/demo.js [--out FILE.png] [--seed N] [--quick]` */
async function cli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, seed: { type: 'string' }, quick: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write('usage: npm run demo -- [--out FILE.png] [--seed N] [--quick]\n');
    return;
  }
  if (values.seed !== undefined && !/^\d+$/.test(values.seed)) throw new Error(`--seed expects a non-negative integer, got '${values.seed}'`);
  const r = await runDemo({
    out: values.out,
    seed: values.seed === undefined ? 0 : Number(values.seed),
    quick: values.quick,
    log: (line) => process.stderr.write(`[demo] ${line}\n`),
  });
  process.stdout.write(`${r.text}\n\npicture written to ${path.resolve(r.png)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`hti demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
