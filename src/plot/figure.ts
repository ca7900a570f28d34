/**
 * The viewer's pictures without a browser: one panel per λ with the surrogate's samples (coloured
 * by class, or by a condition column) and the paths they took from λ_0, plus — for 2-D models
 * with a learned potential or metric — one panel per condition showing the potential as a heat
 * map and the metric's principal direction as short segments, under that condition's paths.
 */
import type { TrajectoryModel } from '../surrogate/model.js';
import { checkLambda, checkRows, knownClasses } from '../surrogate/model.js';
import { classLegend, panelsBounds, renderPanelsSvg, type Bounds, type Colorbar, type Layer, type LegendEntry, type Panel } from './render.js';

export interface ModelFigureOptions {
  /** λ of each sample panel (default: 4 even values over the model's range). */
  lambdas?: number[];
  /** Starting rows at the first anchor, N × (D + C); default: n stored anchor rows. */
  rows?: Float32Array;
  n?: number;
  seed?: number;
  /** Output columns on the axes (default [0, 1]). */
  dims?: [number, number];
  /** Condition column that colours continuous models (default 0). */
  colorBy?: number;
  /** Add the potential/metric panels when the model has them (default true). */
  field?: boolean;
  /** Paths drawn per panel (default 80). */
  paths?: number;
  title?: string;
  columns?: number;
}

const PATH_STEPS = 81;
const FIELD_GRID = 40;
const FIELD_SEGMENTS = 18;
const MAX_FIELD_PANELS = 4;
const MAX_LEGEND_CLASSES = 12;
/** Most samples one figure draws (more would not be visible, only slow). */
export const MAX_FIGURE_ROWS = 100_000;

function evenLambdas(lo: number, hi: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (i === count - 1 ? hi : lo + ((hi - lo) * i) / (count - 1)));
}

/** Sorted, de-duplicated union of λ grids (exact values kept). */
function unionGrid(...grids: number[][]): number[] {
  return [...new Set(grids.flat())].sort((a, b) => a - b);
}

export function modelFigureSvg(model: TrajectoryModel, options: ModelFigureOptions = {}): string {
  const info = model.info;
  const width = info.dim + info.cond;
  const lo = info.anchors[0];
  const hi = info.anchors[info.anchors.length - 1];
  const lambdas = options.lambdas ?? evenLambdas(lo, hi, 4);
  if (lambdas.length === 0) throw new Error('give at least one λ to plot');
  if (lambdas.length > 24) throw new Error(`at most 24 λ panels, got ${lambdas.length}`);
  lambdas.forEach((l) => checkLambda(info, l));
  const [dx, dy] = options.dims ?? [0, 1];
  for (const d of [dx, dy]) {
    if (!Number.isInteger(d) || d < 0 || d >= info.dim) throw new Error(`dimension ${d} is not one of this model's outputs 0..${info.dim - 1}`);
  }
  if (dx === dy) throw new Error('the two plotted dimensions must differ');
  const colorBy = options.colorBy ?? 0;
  if (!info.categorical && info.cond > 0 && (!Number.isInteger(colorBy) || colorBy < 0 || colorBy >= info.cond)) {
    throw new Error(`colour column ${colorBy} is not one of this model's condition columns 0..${info.cond - 1}`);
  }
  const requested = options.rows ? options.rows.length / Math.max(1, width) : (options.n ?? 500);
  if (requested > MAX_FIGURE_ROWS) throw new Error(`a figure draws at most ${MAX_FIGURE_ROWS} samples, got ${requested}`);
  const rows = options.rows ?? model.anchorRows(null, options.n ?? 500, options.seed ?? 0);
  const n = checkRows(info, rows);

  // One trajectory call covers every panel: a fine grid for the paths plus the panel λs exactly.
  const grid = unionGrid(evenLambdas(lo, hi, PATH_STEPS), lambdas);
  const traj = model.trajectory(rows, grid);
  const at = (l: number, i: number, d: number) => traj[(l * n + i) * width + d];

  const classes = info.categorical ? Array.from({ length: n }, (_, i) => rows[i * width + info.dim]) : undefined;
  const values = !info.categorical && info.cond > 0 ? Array.from({ length: n }, (_, i) => rows[i * width + info.dim + colorBy]) : undefined;
  const colouring = classes ? { classes } : values ? { values, valueRange: minMax(values) } : { color: '#4e79a7' };
  const pathCount = Math.min(n, options.paths ?? 80);

  function pathsUpTo(lambda: number, keep: (i: number) => boolean = () => true): Layer {
    const last = grid.findIndex((g) => g >= lambda);
    const paths: number[][] = [];
    const pick: number[] = [];
    for (let i = 0; i < n && paths.length < pathCount; i++) {
      if (!keep(i)) continue;
      const p: number[] = [];
      for (let l = 0; l <= last; l++) p.push(at(l, i, dx), at(l, i, dy));
      paths.push(p);
      pick.push(i);
    }
    const sub = classes ? { classes: pick.map((i) => classes[i]) } : values ? { values: pick.map((i) => values[i]), valueRange: colouring.valueRange } : { color: '#4e79a7' };
    return { kind: 'paths', paths, ...sub, width: 0.8, opacity: 0.3 };
  }

  function pointsAt(lambda: number, keep: (i: number) => boolean = () => true, hollow = false): Layer {
    const l = grid.indexOf(lambda);
    const xy: number[] = [];
    const pick: number[] = [];
    for (let i = 0; i < n; i++) {
      if (!keep(i)) continue;
      xy.push(at(l, i, dx), at(l, i, dy));
      pick.push(i);
    }
    const sub = classes ? { classes: pick.map((i) => classes[i]) } : values ? { values: pick.map((i) => values[i]), valueRange: colouring.valueRange } : { color: '#4e79a7' };
    return { kind: 'points', xy, ...sub, radius: hollow ? 2.6 : 2, hollow, opacity: hollow ? 0.5 : 0.8 };
  }

  const fmt = (v: number) => Number(v.toPrecision(4)).toString();
  const anchorSet = new Set(info.anchors);
  const panels: Panel[] = lambdas.map((l) => ({
    title: `λ = ${fmt(l)}${anchorSet.has(l) ? ' (anchor)' : ''}`,
    layers: [pathsUpTo(l), pointsAt(l)],
  }));
  const panelSize = { panelWidth: 340, panelHeight: 320 };
  const bounds: Bounds = panelsBounds(
    [...panels.flatMap((p) => p.layers), pathsUpTo(hi)],
    panelSize,
  );

  const wantField = (options.field ?? true) && info.dim === 2 && (model.potential || model.metric);
  if (wantField) {
    const conds: { label: string; cond: Float32Array; keep: (i: number) => boolean }[] = [];
    if (info.categorical) {
      for (const c of knownClasses(info).slice(0, MAX_FIELD_PANELS)) conds.push({ label: `class ${c}`, cond: Float32Array.of(c), keep: (i) => classes![i] === c });
    } else {
      const mean = new Float32Array(info.cond);
      for (let i = 0; i < n; i++) for (let j = 0; j < info.cond; j++) mean[j] += rows[i * width + info.dim + j] / n;
      conds.push({ label: 'mean condition', cond: mean, keep: () => true });
    }
    for (const c of conds) panels.push({ title: `U and G · ${c.label}`, layers: [...fieldLayers(model, c.cond, bounds), pathsUpTo(hi, c.keep), pointsAt(lo, c.keep, true)] });
  }

  let legend: LegendEntry[] | undefined;
  let colorbar: Colorbar | undefined;
  if (info.categorical) legend = classLegend(knownClasses(info).slice(0, MAX_LEGEND_CLASSES));
  else if (values) colorbar = { label: `x${colorBy}`, range: minMax(values) };
  if (wantField) {
    legend = [...(legend ?? []), { label: 'start (λ0)', color: '#555', shape: 'ring' }];
    if (model.metric) legend.push({ label: 'metric principal direction', color: '#222', shape: 'line' });
  }
  return renderPanelsSvg(panels, {
    ...panelSize,
    bounds,
    columns: options.columns ?? Math.min(4, panels.length),
    title: options.title ?? `${info.kind} (${info.method}) · λ ∈ [${fmt(lo)}, ${fmt(hi)}] · ${n} samples`,
    xLabel: `y${dx}`,
    yLabel: `y${dy}`,
    legend,
    colorbar,
  });
}

function minMax(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Heat map of U and segments along G's principal direction over `bounds` at one condition. */
export function fieldLayers(model: TrajectoryModel, cond: Float32Array, bounds: Bounds): Layer[] {
  const layers: Layer[] = [];
  const axis = ([a, b]: [number, number], k: number) => Array.from({ length: k }, (_, i) => a + ((b - a) * (i + 0.5)) / k);
  if (model.potential) {
    const xs = axis(bounds[0], FIELD_GRID);
    const ys = axis(bounds[1], FIELD_GRID);
    const pts = new Float32Array(FIELD_GRID * FIELD_GRID * 2);
    let k = 0;
    for (const y of ys) for (const x of xs) (pts[k++] = x), (pts[k++] = y);
    layers.push({ kind: 'heatmap', xs, ys, values: model.potential(pts, cond) });
  }
  if (model.metric) {
    const xs = axis(bounds[0], FIELD_SEGMENTS);
    const ys = axis(bounds[1], FIELD_SEGMENTS);
    const pts = new Float32Array(FIELD_SEGMENTS * FIELD_SEGMENTS * 2);
    let k = 0;
    for (const y of ys) for (const x of xs) (pts[k++] = x), (pts[k++] = y);
    const { eigenvalues, principal } = model.metric(pts, cond);
    const cell = Math.min(xs[1] - xs[0], ys[1] - ys[0]);
    const segments: number[] = [];
    const opacity: number[] = [];
    for (let p = 0; p < pts.length / 2; p++) {
      const e0 = eigenvalues[2 * p];
      const e1 = eigenvalues[2 * p + 1];
      const big = Math.max(e0, e1);
      const aniso = big > 0 ? 1 - Math.min(e0, e1) / big : 0;
      const norm = Math.hypot(principal[2 * p], principal[2 * p + 1]) || 1;
      const half = 0.42 * cell * (0.3 + 0.7 * aniso);
      const ux = (principal[2 * p] / norm) * half;
      const uy = (principal[2 * p + 1] / norm) * half;
      segments.push(pts[2 * p] - ux, pts[2 * p + 1] - uy, pts[2 * p] + ux, pts[2 * p + 1] + uy);
      opacity.push(0.3 + 0.5 * aniso);
    }
    layers.push({ kind: 'segments', segments, opacity, color: '#222', width: 1 });
  }
  return layers;
}
