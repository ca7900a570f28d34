// hti viewer: fetches one trajectory over a λ grid, then answers every slider move locally
// (linear interpolation between grid λs) and redraws a canvas. No build step, no network
// beyond this server.

const CLASS_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'];
// Light grey ramp for the potential so the coloured samples stay readable on top of it.
const HEAT = [[255, 255, 255], [240, 240, 240], [217, 217, 217], [189, 189, 189], [150, 150, 150]];
const GRID_STEPS = 201;
const TRAJECTORY_LINES = 150;
const MARGIN = { left: 56, right: 16, top: 16, bottom: 44 };

const $ = (id) => document.getElementById(id);
const state = {
  info: null,
  lambdas: [],
  traj: null, // Float32Array [L, N, W]
  n: 0,
  width: 0,
  lambda: 0,
  dims: [0, 1],
  colorBy: null, // condition column index (continuous models) or null
  field: null, // last /api/field answer
  fieldKey: '',
  reference: null, // { levels, rows }
  bounds: null, // [[x0, x1], [y0, y1]] in data units
  background: null, // offscreen canvas with axes, heat map, field and trajectories
  movingCache: new Map(), // held-out λ → offscreen canvas of its true samples
  points: new Float32Array(0),
  colors: [],
  renderMs: 0,
};
// For tests and for the curious: the plotted state.
window.__hti = { ready: false, lambda: 0, points: new Float32Array(0), renderMs: 0, renders: 0, error: null };

function setStatus(text, isError = false) {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', isError);
  if (isError) window.__hti.error = text;
}

async function api(path, body) {
  const res = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(json.message || `${res.status} ${res.statusText}`);
  return json;
}

function fmt(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : Number(v.toPrecision(4)).toString();
}

function hexToRgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

function ramp(stops, t) {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = typeof stops[i] === 'string' ? hexToRgb(stops[i]) : stops[i];
  const b = typeof stops[i + 1] === 'string' ? hexToRgb(stops[i + 1]) : stops[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f));
}

/** Grid of λ: an even grid plus the anchors themselves, so anchors are exact. */
function lambdaGrid(info) {
  const [lo, hi] = info.range;
  const set = new Set(info.anchors);
  for (let i = 0; i < GRID_STEPS; i++) set.add(i === GRID_STEPS - 1 ? hi : lo + ((hi - lo) * i) / (GRID_STEPS - 1));
  return [...set].sort((a, b) => a - b);
}

function decodeBase64Floats(text) {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

// ---------- geometry ----------

function plotRect(canvas) {
  return { x: MARGIN.left, y: MARGIN.top, w: canvas.width - MARGIN.left - MARGIN.right, h: canvas.height - MARGIN.top - MARGIN.bottom };
}

function toPx(rect, bounds) {
  const [[x0, x1], [y0, y1]] = bounds;
  const sx = rect.w / (x1 - x0);
  const sy = rect.h / (y1 - y0);
  return { sx, sy, px: (x) => rect.x + (x - x0) * sx, py: (y) => rect.y + rect.h - (y - y0) * sy };
}

function niceTicks(lo, hi, count = 6) {
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? 10 * mag;
  const ticks = [];
  // Integer multiples of the step, rounded, so ticks read 0.6 rather than 0.6000000000000001.
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; k++) ticks.push(k === 0 ? 0 : Number((k * step).toPrecision(12)));
  return ticks;
}

/** Data bounds of the chosen dims over the whole trajectory (and reference), padded. */
function computeBounds() {
  const [dx, dy] = state.dims;
  const lo = [Infinity, Infinity];
  const hi = [-Infinity, -Infinity];
  const take = (x, y) => {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    if (x < lo[0]) lo[0] = x;
    if (x > hi[0]) hi[0] = x;
    if (y < lo[1]) lo[1] = y;
    if (y > hi[1]) hi[1] = y;
  };
  const { traj, width } = state;
  for (let o = 0; o < traj.length; o += width) take(traj[o + dx], traj[o + dy]);
  if (state.reference) for (const rows of state.reference.rows) for (const r of rows) take(r[dx], r[dy]);
  const padded = [0, 1].map((j) => {
    const span = hi[j] - lo[j] > 0 ? hi[j] - lo[j] : 1;
    return [lo[j] - 0.05 * span, hi[j] + 0.05 * span];
  });
  return equalAspect(padded, plotRect($('plot')));
}

/** Same units per pixel on both axes when the spans are comparable (shapes stay true). */
function equalAspect(bounds, rect) {
  const sx = (bounds[0][1] - bounds[0][0]) / rect.w;
  const sy = (bounds[1][1] - bounds[1][0]) / rect.h;
  if (Math.max(sx, sy) / Math.min(sx, sy) > 4) return bounds;
  const s = Math.max(sx, sy);
  const widen = ([a, b], px) => {
    const extra = (s * px - (b - a)) / 2;
    return [a - extra, b + extra];
  };
  return [widen(bounds[0], rect.w), widen(bounds[1], rect.h)];
}

// ---------- colours ----------

function rowColors() {
  const { info, traj, n, width } = state;
  const colors = new Array(n);
  if (info.categorical) {
    for (let i = 0; i < n; i++) colors[i] = CLASS_COLORS[traj[i * width + info.dim] % CLASS_COLORS.length];
    return colors;
  }
  if (state.colorBy === null) return colors.fill('#4e79a7');
  const col = info.dim + state.colorBy;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = traj[i * width + col];
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  state.colorRange = [lo, hi];
  for (let i = 0; i < n; i++) {
    const [r, g, b] = ramp(VIRIDIS, (traj[i * width + col] - lo) / (hi - lo || 1));
    colors[i] = `rgb(${r},${g},${b})`;
  }
  return colors;
}

function colorOfRow(row) {
  const { info } = state;
  if (info.categorical) return CLASS_COLORS[row[info.dim] % CLASS_COLORS.length];
  if (state.colorBy === null || !state.colorRange) return '#4e79a7';
  const [lo, hi] = state.colorRange;
  const [r, g, b] = ramp(VIRIDIS, (row[info.dim + state.colorBy] - lo) / (hi - lo || 1));
  return `rgb(${r},${g},${b})`;
}

/** The model's class ids (servers before the list existed: 0..classes−1). */
function classIds(info) {
  return info.classIds ?? Array.from({ length: info.classes }, (_, c) => c);
}

function renderLegend() {
  const el = $('legend');
  el.replaceChildren();
  const { info } = state;
  const item = (color, text) => {
    const span = document.createElement('span');
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = color;
    span.append(sw, text);
    el.append(span);
  };
  if (info.categorical) {
    for (const c of classIds(info)) item(CLASS_COLORS[c % CLASS_COLORS.length], `class ${c}`);
  } else if (state.colorBy !== null && state.colorRange) {
    const bar = document.createElement('span');
    bar.className = 'ramp';
    bar.style.background = `linear-gradient(to right, ${VIRIDIS.join(',')})`;
    const [lo, hi] = state.colorRange;
    el.append(`${info.columns[info.dim + state.colorBy]}: ${fmt(lo)} `, bar, ` ${fmt(hi)}`);
  }
}

// ---------- drawing ----------

function drawAxes(ctx, rect, bounds) {
  const { px, py } = toPx(rect, bounds);
  ctx.save();
  ctx.strokeStyle = '#999';
  ctx.fillStyle = '#444';
  ctx.lineWidth = 1;
  ctx.font = '12px "DejaVu Sans", sans-serif';
  ctx.strokeRect(rect.x + 0.5, rect.y + 0.5, rect.w, rect.h);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of niceTicks(bounds[0][0], bounds[0][1])) {
    const x = Math.round(px(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, rect.y + rect.h);
    ctx.lineTo(x, rect.y + rect.h + 5);
    ctx.stroke();
    ctx.fillText(fmt(t), x, rect.y + rect.h + 7);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of niceTicks(bounds[1][0], bounds[1][1])) {
    const y = Math.round(py(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(rect.x - 5, y);
    ctx.lineTo(rect.x, y);
    ctx.stroke();
    ctx.fillText(fmt(t), rect.x - 7, y);
  }
  const cols = state.info.columns;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(cols[state.dims[0]], rect.x + rect.w / 2, rect.y + rect.h + 40);
  ctx.save();
  ctx.translate(14, rect.y + rect.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.fillText(cols[state.dims[1]], 0, 0);
  ctx.restore();
  ctx.restore();
}

function drawHeatmap(ctx, rect, bounds, field) {
  const nx = field.xs.length;
  const ny = field.ys.length;
  const u = field.potential;
  // Linear from the 2nd percentile to the maximum: log-densities plunge to a floor far from the
  // data, and that floor would otherwise use up the whole ramp.
  const sorted = Float64Array.from(u).sort();
  const lo = sorted[Math.floor(0.02 * (sorted.length - 1))];
  const hi = sorted[sorted.length - 1];
  const level = (v) => (hi > lo ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : 0);
  const img = new ImageData(nx, ny);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const [r, g, b] = ramp(HEAT, level(u[j * nx + i]));
      const o = ((ny - 1 - j) * nx + i) * 4; // image rows run top-down, ys bottom-up
      img.data[o] = r;
      img.data[o + 1] = g;
      img.data[o + 2] = b;
      img.data[o + 3] = 255;
    }
  }
  const tile = new OffscreenCanvas(nx, ny);
  tile.getContext('2d').putImageData(img, 0, 0);
  const { px, py } = toPx(rect, bounds);
  // Grid values sit at cell centres: stretch by half a cell each side.
  const hx = (field.xs[1] - field.xs[0]) / 2;
  const hy = (field.ys[1] - field.ys[0]) / 2;
  ctx.save();
  ctx.beginPath();
  ctx.rect(rect.x, rect.y, rect.w, rect.h);
  ctx.clip();
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(tile, px(field.xs[0] - hx), py(field.ys[ny - 1] + hy), px(field.xs[nx - 1] + hx) - px(field.xs[0] - hx), py(field.ys[0] - hy) - py(field.ys[ny - 1] + hy));
  ctx.restore();
}

function drawMetric(ctx, rect, bounds, field) {
  const { px, py } = toPx(rect, bounds);
  const nx = field.xs.length;
  const ny = field.ys.length;
  const stride = Math.max(1, Math.round(nx / 20));
  const cell = Math.min(rect.w / nx, rect.h / ny) * stride;
  ctx.save();
  ctx.strokeStyle = '#222';
  ctx.lineWidth = 1;
  for (let j = 0; j < ny; j += stride) {
    for (let i = 0; i < nx; i += stride) {
      const p = j * nx + i;
      const e0 = field.eigenvalues[2 * p];
      const e1 = field.eigenvalues[2 * p + 1];
      const big = Math.max(e0, e1);
      const aniso = big > 0 ? 1 - Math.min(e0, e1) / big : 0;
      // Direction in pixels (y flips); the segment length shows how anisotropic G is.
      let ux = field.principal[2 * p];
      let uy = -field.principal[2 * p + 1];
      const norm = Math.hypot(ux, uy) || 1;
      ux /= norm;
      uy /= norm;
      const half = 0.42 * cell * (0.3 + 0.7 * aniso);
      const cx = px(field.xs[i]);
      const cy = py(field.ys[j]);
      ctx.globalAlpha = 0.25 + 0.4 * aniso;
      ctx.beginPath();
      ctx.moveTo(cx - ux * half, cy - uy * half);
      ctx.lineTo(cx + ux * half, cy + uy * half);
      ctx.stroke();
    }
  }
  ctx.restore();
}

function drawTrajectories(ctx, rect, bounds) {
  const { px, py } = toPx(rect, bounds);
  const { traj, n, width, lambdas } = state;
  const [dx, dy] = state.dims;
  const lines = Math.min(n, TRAJECTORY_LINES);
  const block = n * width;
  ctx.save();
  ctx.beginPath();
  ctx.rect(rect.x, rect.y, rect.w, rect.h);
  ctx.clip();
  ctx.lineWidth = 1;
  ctx.globalAlpha = 0.35;
  for (let i = 0; i < lines; i++) {
    ctx.strokeStyle = state.colors[i];
    ctx.beginPath();
    for (let l = 0; l < lambdas.length; l++) {
      const o = l * block + i * width;
      const x = px(traj[o + dx]);
      const y = py(traj[o + dy]);
      if (l === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.stroke();
  }
  ctx.restore();
}

/** Rows shown by the "anchor samples" toggle: true data at anchor levels when the server has
 * it (plus the level the slider sits on), else the surrogate at each anchor. */
function anchorLayers() {
  const { info, reference, lambdas, traj, n, width } = state;
  const layers = [];
  if (reference) {
    const tol = 1e-6 * Math.max(1, ...info.anchors.map(Math.abs));
    reference.levels.forEach((lv, k) => {
      const isAnchor = info.anchors.some((a) => Math.abs(a - lv) <= tol);
      const here = Math.abs(lv - state.lambda) <= (info.range[1] - info.range[0]) / 400;
      if (isAnchor || here) layers.push({ lambda: lv, rows: reference.rows[k], current: here, moving: !isAnchor });
    });
    return layers;
  }
  for (const a of info.anchors) {
    const l = lambdas.indexOf(a);
    const rows = [];
    for (let i = 0; i < n; i++) rows.push(traj.subarray((l * n + i) * width, (l * n + i + 1) * width));
    layers.push({ lambda: a, rows, current: false, moving: false });
  }
  return layers;
}

/** Static anchor layers (the moving one is pre-drawn per level, see buildReferenceTiles). */
function drawAnchorSamples(ctx, rect, bounds) {
  for (const layer of anchorLayers()) if (!layer.moving) drawRings(ctx, rect, bounds, layer.rows, false);
}

/** Rows as rings coloured like the samples; one path per colour keeps it to a few strokes. */
function drawRings(ctx, rect, bounds, rows, bold) {
  const { px, py } = toPx(rect, bounds);
  const [dx, dy] = state.dims;
  const r = bold ? 4 : 3;
  ctx.save();
  ctx.beginPath();
  ctx.rect(rect.x, rect.y, rect.w, rect.h);
  ctx.clip();
  ctx.lineWidth = 1;
  ctx.globalAlpha = bold ? 0.9 : 0.45;
  const byColor = new Map();
  for (const row of rows) {
    const c = colorOfRow(row);
    if (!byColor.has(c)) byColor.set(c, []);
    byColor.get(c).push(row);
  }
  for (const [color, list] of byColor) {
    ctx.strokeStyle = color;
    ctx.beginPath();
    for (const row of list) {
      const x = px(row[dx]);
      const y = py(row[dy]);
      ctx.moveTo(x + r, y);
      ctx.arc(x, y, r, 0, 2 * Math.PI);
    }
    ctx.stroke();
  }
  ctx.restore();
}

/** True samples of each held-out level, drawn into its own tile when the background is built,
 * so that sitting on a level costs one blit. */
function buildReferenceTiles(canvas) {
  state.movingCache = new Map();
  if (!state.reference || !$('show-anchors').checked) return;
  const tol = 1e-6 * Math.max(1, ...state.info.anchors.map(Math.abs));
  for (const [k, lv] of state.reference.levels.entries()) {
    if (state.info.anchors.some((a) => Math.abs(a - lv) <= tol)) continue;
    const tile = new OffscreenCanvas(canvas.width, canvas.height);
    drawRings(tile.getContext('2d'), plotRect(canvas), state.bounds, state.reference.rows[k], true);
    state.movingCache.set(lv, tile);
  }
}

function drawMovingReference(ctx) {
  for (const layer of anchorLayers()) {
    const tile = layer.moving ? state.movingCache.get(layer.lambda) : undefined;
    if (tile) ctx.drawImage(tile, 0, 0);
  }
}

/** Everything that does not move with λ goes to an offscreen canvas, drawn once per change. */
function buildBackground(canvas) {
  const bg = new OffscreenCanvas(canvas.width, canvas.height);
  const ctx = bg.getContext('2d');
  const rect = plotRect(canvas);
  const bounds = state.bounds;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, bg.width, bg.height);
  const f = state.field;
  if ($('show-potential').checked && f?.potential) drawHeatmap(ctx, rect, bounds, f);
  if ($('show-metric').checked && f?.eigenvalues) drawMetric(ctx, rect, bounds, f);
  if ($('show-trajectories').checked) drawTrajectories(ctx, rect, bounds);
  if ($('show-anchors').checked) drawAnchorSamples(ctx, rect, bounds);
  drawAxes(ctx, rect, bounds);
  state.background = bg;
  buildReferenceTiles(canvas);
}

/** Current points: linear interpolation between the two grid λs around the slider value. */
function interpolate(lambda) {
  const { lambdas, traj, n, width } = state;
  let a = 0;
  let b = lambdas.length - 1;
  while (b - a > 1) {
    const m = (a + b) >> 1;
    if (lambdas[m] <= lambda) a = m;
    else b = m;
  }
  const t = lambdas[b] > lambdas[a] ? Math.min(1, Math.max(0, (lambda - lambdas[a]) / (lambdas[b] - lambdas[a]))) : 0;
  const [dx, dy] = state.dims;
  const out = state.points.length === 2 * n ? state.points : new Float32Array(2 * n);
  const oa = a * n * width;
  const ob = b * n * width;
  for (let i = 0; i < n; i++) {
    const r = i * width;
    out[2 * i] = traj[oa + r + dx] + t * (traj[ob + r + dx] - traj[oa + r + dx]);
    out[2 * i + 1] = traj[oa + r + dy] + t * (traj[ob + r + dy] - traj[oa + r + dy]);
  }
  state.points = out;
}

function render() {
  const t0 = performance.now();
  const canvas = $('plot');
  const ctx = canvas.getContext('2d');
  interpolate(state.lambda);
  ctx.drawImage(state.background, 0, 0);
  const rect = plotRect(canvas);
  if ($('show-anchors').checked && state.reference) drawMovingReference(ctx);
  const { px, py } = toPx(rect, state.bounds);
  ctx.save();
  ctx.beginPath();
  ctx.rect(rect.x, rect.y, rect.w, rect.h);
  ctx.clip();
  // One path per colour keeps 1000+ points to a handful of fill calls.
  const byColor = new Map();
  for (let i = 0; i < state.n; i++) {
    const c = state.colors[i];
    if (!byColor.has(c)) byColor.set(c, []);
    byColor.get(c).push(i);
  }
  ctx.globalAlpha = 0.85;
  for (const [color, idx] of byColor) {
    ctx.fillStyle = color;
    ctx.beginPath();
    for (const i of idx) {
      const x = px(state.points[2 * i]);
      const y = py(state.points[2 * i + 1]);
      ctx.moveTo(x + 2.5, y);
      ctx.arc(x, y, 2.5, 0, 2 * Math.PI);
    }
    ctx.fill();
  }
  ctx.restore();
  const ms = performance.now() - t0;
  state.renderMs = ms;
  $('lambda-value').textContent = fmt(state.lambda);
  const h = window.__hti;
  h.lambda = state.lambda;
  h.points = state.points.slice();
  h.renderMs = ms;
  h.renders += 1;
  setStatus(`${state.n} samples · ${state.lambdas.length} grid λ · drawn in ${ms.toFixed(1)} ms`);
}

// ---------- data loading ----------

async function loadField() {
  const { info } = state;
  const wanted = ($('show-potential').checked || $('show-metric').checked) && info.dim === 2 && (info.potential || info.metric);
  if (!wanted) return;
  const body = { grid: 48, bounds: state.bounds, lambda: state.lambda };
  if (info.categorical) body.class = Number($('field-class').value);
  else if (info.cond > 0) {
    // Continuous conditions: the field at the mean condition of the drawn samples.
    const mean = new Array(info.cond).fill(0);
    for (let i = 0; i < state.n; i++) for (let j = 0; j < info.cond; j++) mean[j] += state.traj[i * state.width + info.dim + j] / state.n;
    body.cond = mean;
  }
  const key = JSON.stringify({ ...body, lambda: undefined });
  if (key === state.fieldKey) return;
  state.field = await api('/api/field', body);
  state.fieldKey = key;
}

async function refreshBackground() {
  try {
    await loadField();
  } catch (err) {
    setStatus(`field: ${err.message}`, true);
  }
  buildBackground($('plot'));
  render();
}

async function loadTrajectory() {
  const { info } = state;
  const n = Math.max(1, Math.min(info.limits.maxRows, Math.floor(Number($('n-samples').value) || 1000)));
  const seed = Math.max(0, Math.floor(Number($('seed').value) || 0));
  setStatus('computing trajectories…');
  const t0 = performance.now();
  const res = await api('/api/trajectory', { lambdas: lambdaGrid(info), n, seed, layout: 'base64' });
  state.lambdas = res.lambdas;
  state.n = res.n;
  state.width = res.width;
  state.traj = decodeBase64Floats(res.base64);
  state.fetchMs = performance.now() - t0;
  state.colors = rowColors();
  state.bounds = computeBounds();
  state.fieldKey = '';
  renderLegend();
}

function fillSelect(select, labels, value) {
  select.replaceChildren(...labels.map((text, i) => new Option(text, String(i))));
  select.value = String(value);
}

function setupControls() {
  const { info } = state;
  const [lo, hi] = info.range;
  const slider = $('lambda');
  slider.min = String(lo);
  slider.max = String(hi);
  slider.step = String((hi - lo) / 1000);
  slider.value = String(lo);
  slider.disabled = false;
  state.lambda = lo;
  const marks = $('anchor-marks');
  marks.replaceChildren();
  for (const a of info.anchors) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'anchor-mark';
    b.textContent = fmt(a);
    b.title = `anchor λ = ${a}`;
    b.style.left = `${(100 * (a - lo)) / (hi - lo)}%`;
    b.addEventListener('click', () => {
      slider.value = String(a);
      state.lambda = a;
      render();
    });
    marks.append(b);
  }
  slider.addEventListener('input', () => {
    state.lambda = Number(slider.value);
    render();
  });

  const hasField = info.dim === 2 && (info.potential || info.metric);
  for (const [id, ok] of [['show-metric', hasField && info.metric], ['show-potential', hasField && info.potential]]) {
    const box = $(id);
    box.disabled = !ok;
    box.parentElement.classList.toggle('disabled', !ok);
    box.parentElement.title = ok ? '' : info.dim !== 2 ? 'only for 2-D outputs' : 'this model has none';
  }
  if (info.categorical && hasField) {
    $('field-row').hidden = false;
    const ids = classIds(info);
    $('field-class').replaceChildren(...ids.map((c) => new Option(`class ${c}`, String(c))));
    $('field-class').value = String(ids[0]);
  }
  if (!info.categorical && info.cond > 0) {
    $('color-row').hidden = false;
    const select = $('color-by');
    select.replaceChildren(new Option('none', ''), ...info.columns.slice(info.dim).map((c, j) => new Option(c, String(j))));
    select.value = '0';
    state.colorBy = 0;
    select.addEventListener('change', () => {
      state.colorBy = select.value === '' ? null : Number(select.value);
      state.colors = rowColors();
      renderLegend();
      buildBackground($('plot'));
      render();
    });
  }
  if (info.dim > 2) {
    $('dims-row').hidden = false;
    const labels = info.columns.slice(0, info.dim);
    fillSelect($('dim-x'), labels, 0);
    fillSelect($('dim-y'), labels, 1);
    const onDims = () => {
      state.dims = [Number($('dim-x').value), Number($('dim-y').value)];
      state.bounds = computeBounds();
      buildBackground($('plot'));
      render();
    };
    $('dim-x').addEventListener('change', onDims);
    $('dim-y').addEventListener('change', onDims);
  }
  for (const id of ['show-anchors', 'show-trajectories']) {
    $(id).addEventListener('change', () => {
      buildBackground($('plot'));
      render();
    });
  }
  for (const id of ['show-metric', 'show-potential', 'field-class']) $(id).addEventListener('change', refreshBackground);
  $('reload').addEventListener('click', async () => {
    try {
      await loadTrajectory();
      await refreshBackground();
    } catch (err) {
      setStatus(err.message, true);
    }
  });
}

async function main() {
  try {
    const info = await api('/api/model');
    state.info = info;
    const cond = info.categorical ? `${info.classes} classes` : `${info.cond} condition column${info.cond === 1 ? '' : 's'}`;
    $('summary').textContent = `${info.kind} (${info.method}) · D = ${info.dim} · ${cond} · λ ∈ [${fmt(info.range[0])}, ${fmt(info.range[1])}]`;
    if (info.reference) state.reference = await api('/api/reference');
    setupControls();
    await loadTrajectory();
    buildBackground($('plot'));
    render();
    window.__hti.ready = true;
  } catch (err) {
    setStatus(err.message, true);
  }
}

main();
