/**
 * Static scatter plots as hand-written SVG, and SVG → PNG with resvg. Used by `hti plot` and by
 * the demo. Points, paths, short segments and heat maps share one data coordinate system per
 * panel; several panels can share their bounds so that pictures at different λ compare.
 * Text uses DejaVu Sans shipped by the dejavu-fonts-ttf package, so PNGs render the same on any
 * machine (no system fonts needed).
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';
import { writeFileAtomic } from '../data/files.js';

export const CLASS_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'];
const GREYS = ['#ffffff', '#f0f0f0', '#d9d9d9', '#bdbdbd', '#969696'];
export const FONT_FAMILY = 'DejaVu Sans';

export type Bounds = [[number, number], [number, number]];

interface Colouring {
  /** One colour for all, or one per item. */
  color?: string | string[];
  /** Per-item class id → CLASS_COLORS. */
  classes?: ArrayLike<number>;
  /** Per-item value → viridis over `valueRange` (default: the values' min and max). */
  values?: ArrayLike<number>;
  valueRange?: [number, number];
}

export interface PointsLayer extends Colouring {
  kind: 'points';
  /** Interleaved x, y: [x0, y0, x1, y1, …]. */
  xy: ArrayLike<number>;
  radius?: number;
  opacity?: number;
  /** Rings instead of dots (e.g. true samples under surrogate ones). */
  hollow?: boolean;
}

export interface PathsLayer extends Colouring {
  kind: 'paths';
  /** Each path interleaved x, y. */
  paths: ArrayLike<number>[];
  width?: number;
  opacity?: number;
}

export interface SegmentsLayer {
  kind: 'segments';
  /** [x0, y0, x1, y1] per segment. */
  segments: ArrayLike<number>;
  color?: string;
  width?: number;
  /** One opacity, or one per segment. */
  opacity?: number | ArrayLike<number>;
}

export interface HeatmapLayer {
  kind: 'heatmap';
  /** Cell centres; values are row-major with y outer: values[j · xs.length + i]. */
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  values: ArrayLike<number>;
  colormap?: 'greys' | 'viridis';
  /**
   * 'linear' (default): linear in the value from its `clip` quantile (default 0.02) to its
   * maximum — log-densities plunge to a floor far from the data, and the floor would otherwise
   * use up the ramp. 'rank': by rank, ties sharing a colour.
   */
  scale?: 'linear' | 'rank';
  clip?: number;
}

/** A filled band between two curves over the same x values (e.g. a forecast's quantile range). */
export interface BandLayer {
  kind: 'band';
  x: ArrayLike<number>;
  lower: ArrayLike<number>;
  upper: ArrayLike<number>;
  color?: string;
  opacity?: number;
}

export type Layer = PointsLayer | PathsLayer | SegmentsLayer | HeatmapLayer | BandLayer;

export interface LegendEntry {
  label: string;
  color: string;
  shape?: 'dot' | 'ring' | 'line' | 'band';
}

export interface Colorbar {
  label: string;
  range: [number, number];
}

/** What a figure shows around its plotted layers (one scatter, or a grid of panels). */
interface FrameOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Data bounds; default: the extent of every layer (of every panel), padded 5%. */
  bounds?: Bounds;
  /** Same units per pixel on both axes when the spans are comparable (default true). */
  equalAspect?: boolean;
  legend?: LegendEntry[];
  colorbar?: Colorbar;
}

export interface ScatterOptions extends FrameOptions {
  width?: number;
  height?: number;
}

export interface Panel {
  title?: string;
  layers: Layer[];
}

/** A grid of panels sharing one frame: `bounds` applies to every panel. */
export interface PanelsOptions extends FrameOptions {
  columns?: number;
  panelWidth?: number;
  panelHeight?: number;
}

const MARGIN = { left: 52, right: 12, top: 28, bottom: 42 };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

const f2 = (v: number): string => (Math.round(v * 100) / 100).toString();

export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : Number(v.toPrecision(4)).toString();
}

function hexToRgb(hex: string): [number, number, number] {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

function rgbHex([r, g, b]: number[]): string {
  return `#${[r, g, b].map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;
}

/** Colour at t ∈ [0, 1] along a list of hex stops. */
export function rampColor(stops: string[], t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const a = hexToRgb(stops[i]);
  const b = hexToRgb(stops[i + 1]);
  return rgbHex(a.map((c, k) => c + (b[k] - c) * (x - i)));
}

export const viridis = (t: number): string => rampColor(VIRIDIS, t);

/** Legend of classes 0..classes−1, or of the given class ids (coloured as the points are: by id). */
export function classLegend(classes: number | number[], shape: LegendEntry['shape'] = 'dot'): LegendEntry[] {
  const ids = Array.isArray(classes) ? classes : Array.from({ length: classes }, (_, c) => c);
  return ids.map((c) => ({ label: `class ${c}`, color: CLASS_COLORS[Math.abs(Math.round(c)) % CLASS_COLORS.length], shape }));
}

function minMax(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return [lo, hi];
}

function colorAt(c: Colouring, i: number): string {
  if (Array.isArray(c.color)) return c.color[i % c.color.length];
  if (typeof c.color === 'string') return c.color;
  if (c.classes) return CLASS_COLORS[Math.abs(Math.round(c.classes[i])) % CLASS_COLORS.length];
  if (c.values) {
    const [lo, hi] = c.valueRange ?? minMax(c.values);
    return viridis((c.values[i] - lo) / (hi - lo || 1));
  }
  return CLASS_COLORS[0];
}

/** Extent of every finite coordinate in the layers (heat maps count by their cell centres). */
export function layersExtent(layers: Layer[]): Bounds | null {
  const lo = [Infinity, Infinity];
  const hi = [-Infinity, -Infinity];
  const take = (xy: ArrayLike<number>) => {
    for (let i = 0; i + 1 < xy.length; i += 2) {
      for (let j = 0; j < 2; j++) {
        const v = xy[i + j];
        if (Number.isFinite(v)) {
          if (v < lo[j]) lo[j] = v;
          if (v > hi[j]) hi[j] = v;
        }
      }
    }
  };
  for (const l of layers) {
    if (l.kind === 'points') take(l.xy);
    else if (l.kind === 'paths') l.paths.forEach(take);
    else if (l.kind === 'segments') take(l.segments);
    else if (l.kind === 'band') {
      const [x0, x1] = minMax(l.x);
      const [y0] = minMax(l.lower);
      const [, y1] = minMax(l.upper);
      take([x0, y0, x1, y1]);
    } else {
      const [x0, x1] = minMax(l.xs);
      const [y0, y1] = minMax(l.ys);
      take([x0, y0, x1, y1]);
    }
  }
  if (!(hi[0] >= lo[0]) || !(hi[1] >= lo[1])) return null;
  return [
    [lo[0], hi[0]],
    [lo[1], hi[1]],
  ];
}

function pad(b: Bounds, fraction = 0.05): Bounds {
  return b.map(([lo, hi]) => {
    const span = hi - lo > 0 ? hi - lo : Math.max(1, Math.abs(lo));
    return [lo - fraction * span, hi + fraction * span];
  }) as Bounds;
}

function withEqualAspect(b: Bounds, w: number, h: number): Bounds {
  const sx = (b[0][1] - b[0][0]) / w;
  const sy = (b[1][1] - b[1][0]) / h;
  if (Math.max(sx, sy) / Math.min(sx, sy) > 4) return b;
  const s = Math.max(sx, sy);
  const widen = ([lo, hi]: [number, number], px: number): [number, number] => {
    const extra = (s * px - (hi - lo)) / 2;
    return [lo - extra, hi + extra];
  };
  return [widen(b[0], w), widen(b[1], h)];
}

export function niceTicks(lo: number, hi: number, count = 5): number[] {
  const step0 = (hi - lo) / count;
  if (!(step0 > 0) || !Number.isFinite(step0)) return [lo];
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? 10 * mag;
  const ticks: number[] = [];
  // Integer multiples of the step, rounded, so ticks read 0.6 rather than 0.6000000000000001.
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; k++) ticks.push(k === 0 ? 0 : Number((k * step).toPrecision(12)));
  return ticks;
}

interface Frame {
  x: number;
  y: number;
  w: number;
  h: number;
  bounds: Bounds;
}

function projector(f: Frame) {
  const [[x0, x1], [y0, y1]] = f.bounds;
  return {
    px: (x: number) => f.x + ((x - x0) / (x1 - x0)) * f.w,
    py: (y: number) => f.y + f.h - ((y - y0) / (y1 - y0)) * f.h,
  };
}

/** Heat-map values mapped to [0, 1] (see HeatmapLayer.scale). */
export function heatLevels(values: ArrayLike<number>, scale: 'linear' | 'rank', clip: number): Float64Array {
  const n = values.length;
  const t = new Float64Array(n);
  const order = Array.from({ length: n }, (_, k) => k).sort((a, b) => values[a] - values[b]);
  if (scale === 'rank') {
    // Equal values share their first rank, so a flat floor is one colour and not noise.
    let r = 0;
    order.forEach((k, i) => {
      if (i > 0 && values[k] !== values[order[i - 1]]) r = i;
      t[k] = r / Math.max(1, n - 1);
    });
    return t;
  }
  const lo = values[order[Math.min(n - 1, Math.max(0, Math.floor(clip * (n - 1))))]];
  const hi = values[order[n - 1]];
  for (let k = 0; k < n; k++) t[k] = hi > lo ? Math.min(1, Math.max(0, (values[k] - lo) / (hi - lo))) : 0;
  return t;
}

function heatmapSvg(l: HeatmapLayer, f: Frame): string {
  const { px, py } = projector(f);
  const nx = l.xs.length;
  const ny = l.ys.length;
  if (nx < 2 || ny < 2 || l.values.length !== nx * ny) throw new Error(`heat map needs values for ${nx} × ${ny} cells, got ${l.values.length}`);
  const stops = l.colormap === 'viridis' ? VIRIDIS : GREYS;
  const t = heatLevels(l.values, l.scale ?? 'linear', l.clip ?? 0.02);
  const hx = (l.xs[1] - l.xs[0]) / 2;
  const hy = (l.ys[1] - l.ys[0]) / 2;
  const parts: string[] = [];
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const x0 = px(l.xs[i] - hx);
      const x1 = px(l.xs[i] + hx);
      const y0 = py(l.ys[j] + hy);
      const y1 = py(l.ys[j] - hy);
      // A quarter-pixel overlap hides the seams anti-aliasing would leave between cells.
      parts.push(`<rect x="${f2(x0)}" y="${f2(y0)}" width="${f2(x1 - x0 + 0.25)}" height="${f2(y1 - y0 + 0.25)}" fill="${rampColor(stops, t[j * nx + i])}"/>`);
    }
  }
  return `<g shape-rendering="crispEdges">${parts.join('')}</g>`;
}

function layerSvg(l: Layer, f: Frame): string {
  const { px, py } = projector(f);
  if (l.kind === 'heatmap') return heatmapSvg(l, f);
  if (l.kind === 'band') {
    const n = l.x.length;
    if (l.lower.length !== n || l.upper.length !== n) throw new Error(`band needs lower and upper values for its ${n} x values`);
    const pts: string[] = [];
    for (let i = 0; i < n; i++) pts.push(`${f2(px(l.x[i]))},${f2(py(l.upper[i]))}`);
    for (let i = n - 1; i >= 0; i--) pts.push(`${f2(px(l.x[i]))},${f2(py(l.lower[i]))}`);
    return `<polygon points="${pts.join(' ')}" fill="${l.color ?? CLASS_COLORS[0]}" fill-opacity="${f2(l.opacity ?? 0.25)}" stroke="none"/>`;
  }
  if (l.kind === 'segments') {
    const parts: string[] = [];
    const op = l.opacity ?? 0.6;
    for (let k = 0; k + 3 < l.segments.length; k += 4) {
      const o = typeof op === 'number' ? op : op[k / 4];
      const s = l.segments;
      parts.push(`<line x1="${f2(px(s[k]))}" y1="${f2(py(s[k + 1]))}" x2="${f2(px(s[k + 2]))}" y2="${f2(py(s[k + 3]))}" stroke-opacity="${f2(o)}"/>`);
    }
    return `<g stroke="${l.color ?? '#222'}" stroke-width="${l.width ?? 1}" stroke-linecap="round">${parts.join('')}</g>`;
  }
  if (l.kind === 'paths') {
    const parts = l.paths.map((p, i) => {
      const pts: string[] = [];
      for (let k = 0; k + 1 < p.length; k += 2) if (Number.isFinite(p[k]) && Number.isFinite(p[k + 1])) pts.push(`${f2(px(p[k]))},${f2(py(p[k + 1]))}`);
      return pts.length > 1 ? `<polyline points="${pts.join(' ')}" stroke="${colorAt(l, i)}"/>` : '';
    });
    return `<g fill="none" stroke-width="${l.width ?? 1}" stroke-opacity="${l.opacity ?? 0.35}" stroke-linejoin="round">${parts.join('')}</g>`;
  }
  const r = l.radius ?? 2.2;
  const parts: string[] = [];
  for (let i = 0; 2 * i + 1 < l.xy.length; i++) {
    const x = l.xy[2 * i];
    const y = l.xy[2 * i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const c = colorAt(l, i);
    parts.push(l.hollow ? `<circle cx="${f2(px(x))}" cy="${f2(py(y))}" r="${r}" stroke="${c}"/>` : `<circle cx="${f2(px(x))}" cy="${f2(py(y))}" r="${r}" fill="${c}"/>`);
  }
  const style = l.hollow ? `fill="none" stroke-width="1" stroke-opacity="${l.opacity ?? 0.6}"` : `fill-opacity="${l.opacity ?? 0.8}"`;
  return `<g ${style}>${parts.join('')}</g>`;
}

function axesSvg(f: Frame, xLabel?: string, yLabel?: string): string {
  const { px, py } = projector(f);
  const out: string[] = [`<rect x="${f2(f.x)}" y="${f2(f.y)}" width="${f2(f.w)}" height="${f2(f.h)}" fill="none" stroke="#999"/>`];
  for (const t of niceTicks(f.bounds[0][0], f.bounds[0][1])) {
    const x = f2(px(t));
    out.push(`<line x1="${x}" y1="${f2(f.y + f.h)}" x2="${x}" y2="${f2(f.y + f.h + 4)}" stroke="#999"/>`);
    out.push(`<text x="${x}" y="${f2(f.y + f.h + 15)}" text-anchor="middle">${escapeXml(formatTick(t))}</text>`);
  }
  for (const t of niceTicks(f.bounds[1][0], f.bounds[1][1])) {
    const y = f2(py(t));
    out.push(`<line x1="${f2(f.x - 4)}" y1="${y}" x2="${f2(f.x)}" y2="${y}" stroke="#999"/>`);
    out.push(`<text x="${f2(f.x - 6)}" y="${y}" dy="0.35em" text-anchor="end">${escapeXml(formatTick(t))}</text>`);
  }
  if (xLabel) out.push(`<text x="${f2(f.x + f.w / 2)}" y="${f2(f.y + f.h + 32)}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  if (yLabel) {
    const cx = f.x - 40;
    const cy = f.y + f.h / 2;
    out.push(`<text x="${f2(cx)}" y="${f2(cy)}" text-anchor="middle" transform="rotate(-90 ${f2(cx)} ${f2(cy)})">${escapeXml(yLabel)}</text>`);
  }
  return `<g font-size="11" fill="#444">${out.join('')}</g>`;
}

function panelSvg(panel: Panel, f: Frame, id: string, xLabel?: string, yLabel?: string): string {
  const body = panel.layers.map((l) => layerSvg(l, f)).join('\n');
  const title = panel.title ? `<text x="${f2(f.x + f.w / 2)}" y="${f2(f.y - 8)}" text-anchor="middle" font-size="13" fill="#222">${escapeXml(panel.title)}</text>` : '';
  return [
    `<clipPath id="${id}"><rect x="${f2(f.x)}" y="${f2(f.y)}" width="${f2(f.w)}" height="${f2(f.h)}"/></clipPath>`,
    `<g clip-path="url(#${id})">${body}</g>`,
    axesSvg(f, xLabel, yLabel),
    title,
  ].join('\n');
}

/** Legend and colour bar in one row at (x, y); returns the SVG. */
function keySvg(x: number, y: number, legend: LegendEntry[] = [], colorbar?: Colorbar): string {
  const out: string[] = [];
  let cx = x;
  for (const e of legend) {
    const mark =
      e.shape === 'band'
        ? `<rect x="${f2(cx)}" y="${f2(y - 5)}" width="14" height="10" fill="${e.color}" fill-opacity="0.45"/>`
        : e.shape === 'line'
        ? `<line x1="${f2(cx)}" y1="${f2(y)}" x2="${f2(cx + 14)}" y2="${f2(y)}" stroke="${e.color}" stroke-width="2"/>`
        : e.shape === 'ring'
          ? `<circle cx="${f2(cx + 5)}" cy="${f2(y)}" r="4" fill="none" stroke="${e.color}" stroke-width="1.2"/>`
          : `<circle cx="${f2(cx + 5)}" cy="${f2(y)}" r="4.5" fill="${e.color}"/>`;
    const w = e.shape === 'line' || e.shape === 'band' ? 18 : 13;
    out.push(mark, `<text x="${f2(cx + w)}" y="${f2(y)}" dy="0.35em">${escapeXml(e.label)}</text>`);
    cx += w + 8 + 6.6 * e.label.length;
  }
  if (colorbar) {
    const [lo, hi] = colorbar.range;
    out.push(`<text x="${f2(cx)}" y="${f2(y)}" dy="0.35em">${escapeXml(`${colorbar.label}: ${formatTick(lo)}`)}</text>`);
    cx += 6.6 * (colorbar.label.length + formatTick(lo).length + 3);
    const stops = VIRIDIS.map((c, i) => `<stop offset="${f2(i / (VIRIDIS.length - 1))}" stop-color="${c}"/>`).join('');
    out.push(`<linearGradient id="hti-colorbar">${stops}</linearGradient>`);
    out.push(`<rect x="${f2(cx)}" y="${f2(y - 5)}" width="100" height="10" fill="url(#hti-colorbar)"/>`);
    out.push(`<text x="${f2(cx + 106)}" y="${f2(y)}" dy="0.35em">${escapeXml(formatTick(hi))}</text>`);
  }
  return `<g font-size="11" fill="#333">${out.join('')}</g>`;
}

function svgDocument(width: number, height: number, body: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}

function resolveBounds(layers: Layer[], given: Bounds | undefined, w: number, h: number, equal: boolean): Bounds {
  let b = given ?? layersExtent(layers);
  if (!b) b = [[0, 1], [0, 1]];
  else if (!given) b = pad(b);
  return equal ? withEqualAspect(b, w, h) : b;
}

/** One scatter panel as a complete SVG document. */
export function renderScatterSvg(layers: Layer[], options: ScatterOptions = {}): string {
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  const hasKey = (options.legend?.length ?? 0) > 0 || options.colorbar !== undefined;
  const top = MARGIN.top + (options.title ? 0 : -12);
  const w = width - MARGIN.left - MARGIN.right;
  const h = height - top - MARGIN.bottom - (hasKey ? 22 : 0);
  const bounds = resolveBounds(layers, options.bounds, w, h, options.equalAspect ?? true);
  const frame: Frame = { x: MARGIN.left, y: top, w, h, bounds };
  const body = [panelSvg({ title: options.title, layers }, frame, 'hti-clip-0', options.xLabel, options.yLabel)];
  if (hasKey) body.push(keySvg(MARGIN.left, height - 12, options.legend, options.colorbar));
  return svgDocument(width, height, body.join('\n'));
}

/**
 * The bounds renderPanelsSvg will draw: `options.bounds` or the layers' padded extent, widened
 * for equal aspect. Lets callers compute grids (heat maps) that fill the panels exactly.
 */
export function panelsBounds(layers: Layer[], options: Pick<PanelsOptions, 'bounds' | 'panelWidth' | 'panelHeight' | 'equalAspect'> = {}): Bounds {
  const w = (options.panelWidth ?? 340) - MARGIN.left - MARGIN.right;
  const h = (options.panelHeight ?? 320) - MARGIN.top - MARGIN.bottom;
  return resolveBounds(layers, options.bounds, w, h, options.equalAspect ?? true);
}

interface GridOptions {
  columns: number;
  panelWidth: number;
  panelHeight: number;
  title?: string;
  xLabel?: string;
  legend?: LegendEntry[];
  colorbar?: Colorbar;
}

/**
 * Panels in a grid with one title and one key; `cell(k, w, h)` gives panel k, its data bounds
 * for a w × h plot area, and its y-axis label.
 */
function gridSvg(count: number, cell: (k: number, w: number, h: number) => { panel: Panel; bounds: Bounds; yLabel?: string }, options: GridOptions): string {
  const columns = Math.max(1, Math.min(options.columns, count));
  const rows = Math.ceil(count / columns);
  const pw = options.panelWidth;
  const ph = options.panelHeight;
  const head = options.title ? 30 : 0;
  const hasKey = (options.legend?.length ?? 0) > 0 || options.colorbar !== undefined;
  const width = columns * pw;
  const height = head + rows * ph + (hasKey ? 26 : 0);
  const w = pw - MARGIN.left - MARGIN.right;
  const h = ph - MARGIN.top - MARGIN.bottom;
  const body: string[] = [];
  if (options.title) body.push(`<text x="${f2(width / 2)}" y="20" text-anchor="middle" font-size="15" fill="#111">${escapeXml(options.title)}</text>`);
  for (let k = 0; k < count; k++) {
    const col = k % columns;
    const row = Math.floor(k / columns);
    const { panel, bounds, yLabel } = cell(k, w, h);
    const frame: Frame = { x: col * pw + MARGIN.left, y: head + row * ph + MARGIN.top, w, h, bounds };
    body.push(panelSvg(panel, frame, `hti-clip-${k}`, options.xLabel, yLabel));
  }
  if (hasKey) body.push(keySvg(MARGIN.left, height - 14, options.legend, options.colorbar));
  return svgDocument(width, height, body.join('\n'));
}

/** Small multiples: panels in a grid, sharing bounds, with one title and one key. */
export function renderPanelsSvg(panels: Panel[], options: PanelsOptions = {}): string {
  if (panels.length === 0) throw new Error('nothing to plot: no panels');
  const columns = Math.max(1, Math.min(options.columns ?? Math.min(3, panels.length), panels.length));
  const bounds = panelsBounds(
    panels.flatMap((p) => p.layers),
    options,
  );
  return gridSvg(panels.length, (k) => ({ panel: panels[k], bounds, yLabel: k % columns === 0 ? options.yLabel : undefined }), {
    ...options,
    columns,
    panelWidth: options.panelWidth ?? 340,
    panelHeight: options.panelHeight ?? 320,
  });
}

const require = createRequire(import.meta.url);

/** The DejaVu Sans TTF from node_modules (resvg needs TrueType/OpenType, not woff2). */
export function fontFile(): string {
  return require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
}

function rendered(svg: string, scale: number) {
  if (!(scale > 0 && scale <= 8)) throw new Error(`PNG scale must be in (0, 8], got ${scale}`);
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: false, fontFiles: [fontFile()], defaultFontFamily: FONT_FAMILY },
    fitTo: { mode: 'zoom', value: scale },
    background: '#ffffff',
  });
  return resvg.render();
}

/** Rasterise an SVG document to PNG bytes; `scale` multiplies its pixel size. */
export function svgToPng(svg: string, options: { scale?: number } = {}): Buffer {
  return rendered(svg, options.scale ?? 1).asPng();
}

/** Rasterise to RGBA pixels (row-major, 4 bytes a pixel). */
export function svgToPixels(svg: string, options: { scale?: number } = {}): { width: number; height: number; pixels: Uint8Array } {
  const image = rendered(svg, options.scale ?? 1);
  return { width: image.width, height: image.height, pixels: new Uint8Array(image.pixels) };
}

/** Write an SVG document as .svg, or rasterised as .png, by the file's extension. */
export function writePlot(file: string, svg: string, options: { scale?: number } = {}): void {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') throw new Error(`--out must end in .png or .svg, got ${file}`);
  writeFileAtomic(file, ext === '.svg' ? svg : svgToPng(svg, options));
}

/** One line of a line chart: y against x, points with a non-finite coordinate skipped. */
export interface LineSeries {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color: string;
  width?: number;
  opacity?: number;
}

export interface LineChart {
  title?: string;
  yLabel?: string;
  series: LineSeries[];
  /** Data bounds; default: the series' extent, padded 5%. */
  bounds?: Bounds;
}

export interface LineChartsOptions {
  columns?: number;
  panelWidth?: number;
  panelHeight?: number;
  title?: string;
  xLabel?: string;
  legend?: LegendEntry[];
}

/**
 * Line charts in a grid, each with its own y range and label (series over a shared x such as
 * time, where the quantities differ in units), one title and one key.
 */
export function renderLineChartsSvg(charts: LineChart[], options: LineChartsOptions = {}): string {
  if (charts.length === 0) throw new Error('nothing to plot: no charts');
  const cell = (k: number, w: number, h: number) => {
    const chart = charts[k];
    const layers: Layer[] = chart.series.map((s) => {
      if (s.x.length !== s.y.length) throw new Error(`line chart ${chart.title ?? k}: a series has ${s.x.length} x and ${s.y.length} y values`);
      const xy = new Float64Array(2 * s.x.length);
      for (let i = 0; i < s.x.length; i++) {
        xy[2 * i] = s.x[i];
        xy[2 * i + 1] = s.y[i];
      }
      return { kind: 'paths', paths: [xy], color: s.color, width: s.width ?? 1.6, opacity: s.opacity ?? 0.9 };
    });
    return { panel: { title: chart.title, layers }, bounds: resolveBounds(layers, chart.bounds, w, h, false), yLabel: chart.yLabel };
  };
  return gridSvg(charts.length, cell, {
    ...options,
    columns: options.columns ?? Math.min(2, charts.length),
    panelWidth: options.panelWidth ?? 420,
    panelHeight: options.panelHeight ?? 260,
  });
}
