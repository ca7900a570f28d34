import { beforeAll, describe, expect, it } from 'vitest';
import { backendName, initEngine, Rng, tf } from '../src/engine/index.js';
import { anchorDataset } from '../src/data/index.js';
import { scaleFamilyDataset, scaleFamilyRadius, scaleFamilyTime, scaleFamilyTruth, SCALE_HELD_OUT } from '../src/bench/scale-family.js';
import { parseScaleArgs, scaleTable, type ScaleRun } from '../src/bench/scale-bench.js';
import { AnchorData, autoBandwidth, ClotNetworks, fitClot, mergeOptions, resolveClotOptions, type ClotOptions } from '../src/surrogate/index.js';
import { DensityPotential, disposeReferences } from '../src/lagrangian/index.js';
import { couplePair } from '../src/surrogate/couplings.js';

beforeAll(async () => {
  await initEngine({ quiet: true });
});

describe('scale family', () => {
  it('is seeded, has the documented levels, classes and radii, and a warped clock τ = λ²', () => {
    const a = scaleFamilyDataset({ dim: 5, rows: 40, classes: 4, seed: 3 });
    const b = scaleFamilyDataset({ dim: 5, rows: 40, classes: 4, seed: 3 });
    expect(a.levels).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(a.anchors).toEqual([0, 0.5, 1]);
    expect(a.validation).toEqual([...SCALE_HELD_OUT]);
    expect(a.data.map((d) => d.length)).toEqual(Array(5).fill(40 * 6));
    expect(Array.from(a.data[2])).toEqual(Array.from(b.data[2]));
    expect(scaleFamilyTime(0.5)).toBe(0.25);
    // Mean radius in planes 0 and 1 and the drift coordinate at λ = 1, over many true rows.
    const truth = scaleFamilyTruth(5, 4, 1, 2000, 9);
    const mean = [0, 0, 0];
    const n = truth.length / 6;
    for (let i = 0; i < n; i++) {
      mean[0] += Math.hypot(truth[i * 6], truth[i * 6 + 1]) / n;
      mean[1] += Math.hypot(truth[i * 6 + 2], truth[i * 6 + 3]) / n;
      mean[2] += truth[i * 6 + 4] / n;
    }
    expect(mean[0]).toBeCloseTo(scaleFamilyRadius(0, 1), 1);
    expect(mean[1]).toBeCloseTo(scaleFamilyRadius(1, 1), 1);
    expect(mean[2]).toBeCloseTo(1, 1);
    expect(() => scaleFamilyTruth(0, 2, 0, 1, 0)).toThrow(/D must be a positive integer/);
  });

  it('bench:scale parses its options and prints one table row per run', () => {
    const o = parseScaleArgs(['--dims', '2,8', '--row-sweep', '', '--seeds', '0,1', '--fit', '{"maps":{"steps":5}}']);
    expect(o.dims).toEqual([2, 8]);
    expect(o.rowSweep).toEqual([]);
    expect(o.fit).toEqual({ maps: { steps: 5 } });
    expect(() => parseScaleArgs(['--rows', '0'])).toThrow(/positive integer/);
    expect(() => parseScaleArgs(['--bogus', '1'])).toThrow(/unknown option '--bogus'/);
    expect(o.select).toBe('none');
    expect(parseScaleArgs(['--select', 'auto']).select).toBe('auto');
    expect(() => parseScaleArgs(['--select', 'best'])).toThrow(/--select expects one of auto, none/);
    const run: ScaleRun = {
      dim: 2,
      rows: 1000,
      seed: 0,
      fitSeconds: 40,
      fitCpuSeconds: 30,
      peakRssMB: 300,
      load: [1, 2],
      chosen: null,
      w2: { clot: 0.1, 'copy-first-anchor': 1, 'displacement-interpolation': 0.2, 'true-samples': 0.05 },
      w2Unseen: { clot: 0.12, 'copy-first-anchor': 1.5, 'displacement-interpolation': 0.25, 'true-samples': 0.06 },
      w2PerLevel: {},
      rowsUsed: null,
    };
    const table = scaleTable([run, { ...run, dim: 128 }]).split('\n');
    expect(table.length).toBe(4);
    expect(table[3]).toMatch(/^\| 128 /);
    expect(table[2]).toContain('0.100 / 0.120');
    expect(table[3]).toMatch(/\| — +\|/);
  });
});

describe('density potential at D = 64 with the automatic bandwidth', () => {
  it('is highest on the data, lower off the curve the rows lie near, and finite everywhere', () => {
    const ds = anchorDataset(scaleFamilyDataset({ dim: 64, rows: 400, classes: 2, seed: 2 }));
    const anchors = AnchorData.fromDataset(ds);
    // The median distance to the 7th neighbour: the kernel between neighbours is e^(−1/2) in any D.
    const h = autoBandwidth(anchors);
    const p = new DensityPotential(anchors.pooledY, anchors.pooledX, 64, 1, true, { alpha: 1, bandwidth: h, cap: 64 });
    const rng = new Rng(5);
    const q = new Float32Array(3 * 64);
    const y0 = anchors.y[1].subarray(0, 64);
    for (let e = 0; e < 64; e++) {
      q[e] = y0[e];
      q[64 + e] = y0[e] + (h / 8) * rng.normal(); // a bandwidth off, spread over 64 axes
      q[128 + e] = -y0[e]; // across the origin: far from class 0's rows
    }
    const conds = Float32Array.from([anchors.x[1][0], anchors.x[1][0], anchors.x[1][0]]);
    const refs = p.pathReferences(conds, 3);
    const u = tf.tidy(() => p.evaluate(tf.tensor3d(q, [3, 1, 64]), refs).dataSync());
    disposeReferences(refs);
    expect(Array.from(u).every(Number.isFinite)).toBe(true);
    expect(u[0]).toBeGreaterThan(u[1]);
    expect(u[1]).toBeGreaterThan(u[2] + 1);
  });
});

describe('minibatch couplings', () => {
  it('match disjoint minibatches of couplingCap rows per class, covering more rows', () => {
    const ds = anchorDataset(scaleFamilyDataset({ dim: 2, rows: 200, classes: 2, seed: 1 }));
    const anchors = AnchorData.fromDataset(ds);
    const opts = resolveClotOptions({ couplings: { cap: 16 }, spline: { width: 16 }, metric: { width: 8 }, maps: { hidden: [8] } }, anchors.dim, () => ({ bandwidth: 0.3, condBandwidth: 1 }), anchors.lambdas);
    const nets = new ClotNetworks(anchors, opts);
    try {
      const one = couplePair(nets, 0, 16, new Rng(4));
      expect(one.sourceRows).toBe(32);
      expect(one.problems).toBe(2);
      const four = couplePair(nets, 0, 16, new Rng(4), 4);
      expect(four.problems).toBe(8);
      expect(four.sourceRows).toBe(4 * 32);
      expect(four.y.length / 2).toBe(4 * 32);
      // More minibatches than the rows fill: 100 rows per class make ⌈100/16⌉ = 7.
      const all = couplePair(nets, 0, 16, new Rng(4), 50);
      expect(all.problems).toBe(14);
      expect(all.sourceRows).toBe(200);
      // Every matched target is a row of the same class at the next anchor.
      const next = new Set<string>();
      for (let i = 0; i < anchors.rows[1]; i++) next.add(`${anchors.y[1][2 * i]},${anchors.y[1][2 * i + 1]},${anchors.x[1][i]}`);
      for (let i = 0; i < all.y.length / 2; i++) expect(next.has(`${all.yHat[2 * i]},${all.yHat[2 * i + 1]},${all.x[i]}`)).toBe(true);
    } finally {
      nets.dispose();
    }
  });
});

/** A few steps of every phase: enough to run every code path at a dimension, not to fit well. */
const SHORT: ClotOptions = {
  spline: { pretrainSteps: 2, refitSteps: 1, width: 16, batch: 8 },
  metric: { stepsPerRound: 2 },
  maps: { steps: 3, hidden: [16], batch: 8 },
  couplings: { cap: 8 },
  potential: { cap: 8 },
};

describe('high output dimensions fit without wasm faults (issue 18)', () => {
  // D = 32 used to abort ("Aborted()"/"memory access out of bounds") and D = 64 with the Euclidean
  // metric to fault after the spline pre-fit ("table index is out of bounds"): the wasm heap ran
  // past its 4 GiB ceiling. Each case also checks the surrogate answers with finite rows.
  const cases: { dim: number; options: ClotOptions }[] = [
    { dim: 32, options: {} },
    { dim: 32, options: { potential: { enabled: false } } },
    { dim: 64, options: { metric: { kind: 'euclidean' } } },
    { dim: 128, options: {} },
  ];
  for (const { dim, options } of cases) {
    it(`D = ${dim} ${JSON.stringify(options)}`, async () => {
      const ds = anchorDataset(scaleFamilyDataset({ dim, rows: 24, classes: 2, seed: dim }));
      const model = await fitClot(ds, mergeOptions<ClotOptions>(SHORT, options));
      try {
        const rows = model.anchorRows(null, 6, 1);
        const out = model.sample(rows, 0.75);
        expect(out.length).toBe(6 * (dim + 1));
        expect(Array.from(out).every(Number.isFinite)).toBe(true);
        const used = model.info.training!.rows as { anchors: number[]; coupled: number[] };
        expect(used.anchors).toEqual([24, 24, 24]);
        // 12 rows per class and couplings.cap 8: two minibatches per class take every row.
        expect(used.coupled).toEqual([24, 24]);
        if (backendName() === 'wasm') {
          const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
          expect(heap).toBeLessThan(2 ** 30);
        }
      } finally {
        model.dispose();
      }
    }, 120_000);
  }
});
