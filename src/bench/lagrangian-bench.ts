/**
 * Micro-benchmark of the Lagrangian hot path (issue 3): milliseconds per action + gradient
 * evaluation for a batch of B = 256 spline paths of S = 20 points, per metric, D = 2 and 3, with and
 * without the density potential; per metric-parameter gradient; and what a transpose flag costs the
 * engine's matrix products (`transposeFlags`). Prints one JSON object.
 *
 *   node dist/bench/lagrangian-bench.js [--runs 10] [--warmup 2] [--batch 256] [--width 32]
 */
import { initEngine, backendName, tf, Rng, type ConditionSpec, type Film, type Scalar, type Tensor2D, type Tensor3D } from '../engine/index.js';
import { DensityPotential, Lagrangian, Metric, SplinePaths, disposeReferences, type ActionForm, type MetricKind, type PathContext } from '../lagrangian/index.js';

interface Options {
  runs: number;
  warmup: number;
  batch: number;
  width: number;
  form: ActionForm;
}

const NODES = 15;
const POINTS = 20;
const CLASSES = 4;

function parseArgs(argv: string[]): Options {
  const out: Options = { runs: 10, warmup: 2, batch: 256, width: 32, form: 'reference' };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[i + 1];
    const int = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${key} expects a positive integer, got '${value}'`);
      i++;
      return n;
    };
    if (key === '--runs') out.runs = int();
    else if (key === '--warmup') out.warmup = int();
    else if (key === '--batch') out.batch = int();
    else if (key === '--width') out.width = int();
    else if (key === '--form') {
      if (value !== 'reference' && value !== 'paper') throw new Error(`--form expects 'reference' or 'paper', got '${value}'`);
      out.form = value;
      i++;
    } else throw new Error(`unknown option '${key}' (expected --runs, --warmup, --batch, --width, --form)`);
  }
  return out;
}

/** Median and minimum wall time in ms of `fn` after warm-up runs (the minimum resists a busy machine). */
function timeMs(fn: () => void, runs: number, warmup: number): { median: number; min: number } {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return { median: times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2, min: times[0] };
}

const round = (x: number) => Math.round(x * 100) / 100;

interface PotentialCase {
  name: string;
  /** Reference samples per class (categorical) or in all (continuous). */
  samples: number;
  categorical: boolean;
}

/**
 * Potentials benchmarked: none; 4 classes of 100 references (kept exactly); 4 classes of 1000
 * (compressed to the default cap); 4000 references with a continuous 4-D condition (Nadaraya–Watson,
 * compressed to the cap).
 */
const POTENTIALS: (PotentialCase | null)[] = [
  null,
  { name: 'categorical-4x100', samples: 100, categorical: true },
  { name: 'categorical-4x1000', samples: 1000, categorical: true },
  { name: 'continuous-4000', samples: 4000, categorical: false },
];
const CONT_DIM = 4;

function benchCase(kind: MetricKind, dim: number, pot: PotentialCase | null, opts: Options) {
  const rng = new Rng(1000 * dim + kind.length);
  const b = opts.batch;
  const continuous = pot !== null && !pot.categorical;
  const condition: ConditionSpec = continuous ? { kind: 'continuous', dim: CONT_DIM } : { kind: 'categorical', classes: CLASSES };
  const metric = new Metric({ kind, dim, condition, width: opts.width }, rng.fork('metric'));
  let potential: DensityPotential | null = null;
  if (pot) {
    const n = pot.categorical ? CLASSES * pot.samples : pot.samples;
    const y = rng.normals(n * dim, 2);
    const x = pot.categorical ? Float32Array.from({ length: n }, (_, i) => i % CLASSES) : rng.normals(n * CONT_DIM);
    potential = new DensityPotential(y, x, dim, pot.categorical ? 1 : CONT_DIM, pot.categorical, { alpha: 0.01, bandwidth: 0.2, condBandwidth: 1 }, 0);
  }
  const paths = new SplinePaths(NODES, POINTS);
  const lag = new Lagrangian(metric, potential, paths, opts.form);
  const conds = continuous ? rng.normals(b * CONT_DIM) : Float32Array.from({ length: b }, (_, i) => i % CLASSES);
  const condT = tf.keep(tf.tensor2d(conds, [b, continuous ? CONT_DIM : 1]));
  const y0 = tf.keep(tf.tensor2d(rng.normals(b * dim), [b, dim]));
  const y1 = tf.keep(tf.tensor2d(rng.normals(b * dim), [b, dim]));
  const phi = tf.keep(tf.tensor3d(rng.normals(b * NODES * dim, 0.1), [b, NODES, dim]));
  const refsStart = performance.now();
  const refs = potential ? potential.pathReferences(conds, b) : null;
  const refsMs = performance.now() - refsStart;
  // FiLM depends on the condition only: computed once per batch, as the c-transform does.
  const film: Film | null = metric.net ? (tf.tidy(() => ({ ...metric.film(condT)! })) as unknown as Film) : null;
  const ctx: PathContext = { film, refs };
  const before = tf.memory().numTensors;

  // The c-transform's inner step: action and its gradient with respect to the end points.
  const gradY1 = tf.grad((y) => tf.sum(lag.action(y0, y as Tensor2D, phi as Tensor3D, ctx)));
  const actionGradMs = timeMs(
    () => {
      const g = tf.tidy(() => gradY1(y1));
      g.dataSync();
      g.dispose();
    },
    opts.runs,
    opts.warmup,
  );

  // The metric step: action with FiLM recomputed inside, gradient with respect to every metric parameter.
  let metricGradMs: { median: number; min: number } | null = null;
  if (metric.net) {
    const vars = metric.net.params.list();
    metricGradMs = timeMs(
      () => {
        const { value, grads } = tf.variableGrads(
          () => tf.sum(lag.action(y0, y1, phi as Tensor3D, { film: metric.film(condT), refs })) as Scalar,
          vars,
        );
        value.dataSync();
        value.dispose();
        tf.dispose(Object.values(grads));
      },
      opts.runs,
      opts.warmup,
    );
  }
  const leaked = tf.memory().numTensors - before;

  if (refs) disposeReferences(refs);
  if (film) tf.dispose([film.scale, film.shift]);
  tf.dispose([condT, y0, y1, phi]);
  metric.net?.params.dispose();
  paths.dispose();
  return {
    dim,
    metric: kind,
    potential: pot ? pot.name : 'none',
    potentialCap: potential ? potential.cap : null,
    components: refs ? refs.refs.shape[1] : 0,
    actionGradY1Ms: round(actionGradMs.median),
    actionGradY1MinMs: round(actionGradMs.min),
    metricParamGradMs: metricGradMs === null ? null : round(metricGradMs.median),
    metricParamGradMinMs: metricGradMs === null ? null : round(metricGradMs.min),
    referencesMs: pot ? round(refsMs) : null,
    leakedTensors: leaked,
  };
}

/**
 * Why the engine routes matMul gradients through explicit transposes: the wasm backend's product
 * with a transpose flag set against an explicit transpose followed by a plain product, at the
 * shapes of a spline-network layer's backward pass (B·S rows of width 128).
 */
function transposeFlagCost(opts: Options) {
  const rows = opts.batch * (POINTS - 1);
  const rng = new Rng(3);
  const g = tf.tensor2d(rng.normals(rows * 128), [rows, 128]);
  const h = tf.tensor2d(rng.normals(rows * 128), [rows, 128]);
  const w = tf.tensor2d(rng.normals(128 * 128), [128, 128]);
  const run = (f: () => tf.Tensor) => timeMs(() => tf.tidy(() => tf.sum(f()).dataSync()), opts.runs, opts.warmup);
  const out = {
    shape: `[${rows}, 128] against [128, 128]`,
    inputGradFlaggedMs: round(run(() => tf.matMul(g, w, false, true)).median),
    inputGradExplicitMs: round(run(() => tf.matMul(g, tf.transpose(w))).median),
    weightGradFlaggedMs: round(run(() => tf.matMul(h, g, true, false)).median),
    weightGradExplicitMs: round(run(() => tf.matMul(tf.transpose(h), g)).median),
  };
  tf.dispose([g, h, w]);
  return out;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  await initEngine();
  const transposeFlags = transposeFlagCost(opts);
  const results = [];
  for (const dim of [2, 3]) {
    for (const kind of ['euclidean', 'fixed-eigen', 'eigen-budget', 'householder'] as MetricKind[]) {
      if (kind === 'fixed-eigen' && dim !== 2) continue;
      for (const pot of POTENTIALS) results.push(benchCase(kind, dim, pot, opts));
    }
  }
  const report = {
    benchmark: 'lagrangian',
    backend: backendName(),
    node: process.version,
    batch: opts.batch,
    points: POINTS,
    splineNodes: NODES,
    metricWidth: opts.width,
    actionForm: opts.form,
    statistic: `ms per evaluation: median (and min) of ${opts.runs} runs after ${opts.warmup} warm-up; referencesMs: one build of the batch's potential references`,
    transposeFlags,
    results,
  };
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
}

main().catch((err: Error) => {
  process.stderr.write(`hti: ${err.message}\n`);
  process.exit(1);
});
