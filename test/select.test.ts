import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initEngine, Rng } from '../src/engine/index.js';
import type { Dataset } from '../src/data/dataset.js';
import { levelIndex } from '../src/data/dataset.js';
import { linearInterpolation, copyFirstAnchor, mse } from '../src/eval/index.js';
import { anchorSpans, chooseCandidate, heldOutFor, isotonic, warpFromLeftOutAnchors, warpFromLevels, fitSelected, loadModel, RANK_TIE_MARGIN, type Candidate } from '../src/methods/index.js';
import { TimeWarp, hermiteAt, monotoneSlopes, scaleCoordinate, shapeWarp, type ClotOptions, type ClotSurrogate } from '../src/surrogate/index.js';

/** Small schedules so that each candidate fits in seconds. */
const SMALL: ClotOptions = {
  spline: { pretrainSteps: 10, refitSteps: 5, batch: 64, width: 32, nodes: 6, points: 8 },
  maps: { steps: 250, hidden: [32, 32], batch: 64 },
  metric: { stepsPerRound: 3 },
  couplings: { cap: 64 },
  potential: { cap: 32 },
};

/**
 * A family whose truth moves non-uniformly in λ: row n (condition x_n ∈ R²) has output
 * y(λ) = a_n + g(λ)·(b_n − a_n) with g(λ) = λ³ — slow at first, a late jump (like extreme
 * quantile levels). Rows correspond at every level, and the truth at any λ is known.
 */
function lateJumpFamily(levels: number[], n: number, seed: number, progress = (l: number) => l ** 3, sidecar: Pick<Dataset, 'anchors' | 'validation'> = { anchors: [0, 1], validation: [0.5, 0.8] }): Dataset {
  const rng = new Rng(seed);
  const rows = Array.from({ length: n }, () => {
    const x = [rng.normal(), rng.normal()];
    const a = [x[0] + 0.1 * rng.normal(), x[1] + 0.1 * rng.normal()];
    const b = [a[0] + 2 + x[1], a[1] - 1 + 0.5 * x[0]];
    return { x, a, b };
  });
  const data = levels.map((l) => {
    const g = progress(l);
    const out = new Float32Array(n * 4);
    rows.forEach((r, i) => out.set([r.a[0] + g * (r.b[0] - r.a[0]), r.a[1] + g * (r.b[1] - r.a[1]), r.x[0], r.x[1]], i * 4));
    return out;
  });
  return { levels, data, dim: 2, cond: 2, categorical: false, classes: 0, ...sidecar };
}

beforeAll(async () => {
  await initEngine({ quiet: true });
});

describe('held-out information', () => {
  const base = lateJumpFamily([0, 0.25, 0.5, 0.75, 0.8, 1], 20, 1);

  it('uses the validation levels strictly inside the anchor range', () => {
    const h = heldOutFor(base);
    expect(h.kind).toBe('validation');
    expect(h.levels).toEqual([0.5, 0.8]);
    expect(h.train.levels).toEqual([0, 1]);
    expect(h.truth[0]).toEqual(base.data[levelIndex(base, 0.5)]);
    expect(h.inputs).toEqual(base.data[0]);
    expect(h.reference.anchors).toEqual([0, 1]);
  });

  it('without validation levels leaves out every other interior anchor, and with 2 anchors has none', () => {
    const noVal = { ...base, validation: undefined };
    const h = heldOutFor(noVal, [0, 0.25, 0.5, 0.75, 1]);
    expect(h.kind).toBe('left-out-anchors');
    expect(h.levels).toEqual([0.25, 0.75]);
    expect(h.train.levels).toEqual([0, 0.5, 1]);
    expect(heldOutFor(noVal, [0, 0.5, 1]).levels).toEqual([0.5]);
    expect(heldOutFor(noVal).kind).toBe('none');
  });
});

describe('choosing among ranked candidates', () => {
  it('takes the lowest rank, and straight when it lies within the tie margin of it', () => {
    const r = (name: string, rank: number) => ({ name, rank });
    expect(chooseCandidate([r('paper', 0.3), r('paper-strong-potential', 0.2), r('straight', 0.5)])).toBe(1);
    expect(chooseCandidate([r('paper', 0.3), r('paper-strong-potential', 0.271), r('straight', 0.275)])).toBe(2);
    const edge = 0.2 * (1 + RANK_TIE_MARGIN);
    expect(chooseCandidate([r('paper', 0.2), r('straight', edge * 1.001)])).toBe(0);
    expect(chooseCandidate([r('paper', 0.2), r('straight', edge * 0.999)])).toBe(1);
    expect(chooseCandidate([r('paper', 0.3), r('reference-dwelling', 0.29)])).toBe(1);
    expect(() => chooseCandidate([])).toThrow(/no candidate/);
  });
});

describe('warp calibration pieces', () => {
  it('isotonic regression pools violators into their mean', () => {
    expect(isotonic([1, 2, 3])).toEqual([1, 2, 3]);
    expect(isotonic([0.4, 0.3])).toEqual([0.35, 0.35]);
    expect(isotonic([0.1, 0.5, 0.2, 0.3, 0.9])).toEqual([0.1, 1 / 3, 1 / 3, 1 / 3, 0.9]);
  });

  it('builds warp knots through anchors and calibrated levels', () => {
    const knots = warpFromLevels([0, 1, 2], [
      { lambda: 0.5, k: 0, best: 0.1, s: 0.1, priorScore: 1, score: 0.5 },
      { lambda: 1.5, k: 1, best: 0.8, s: 0.8, priorScore: 1, score: 0.5 },
    ]);
    expect(knots).toEqual({ lambdas: [0, 0.5, 1, 1.5, 2], progress: [0, 0.1, 1, 1.8, 2] });
    const w = new TimeWarp([0, 1, 2], knots);
    expect(w.position(0.5).s).toBeCloseTo(0.1, 12);
    expect(w.position(1)).toEqual({ k: 1, s: 0 });
  });

  it('draws a warp from a left-out anchor: found 24% of the way, the finer intervals split the move', () => {
    const knots = warpFromLeftOutAnchors([0.01, 0.5, 0.99], [{ lambda: 0.5, k: 0, best: 0.24, s: 0.24, priorScore: 1, score: 0.5 }], [0.01, 0.99], 'linear');
    const w = new TimeWarp([0.01, 0.5, 0.99], knots);
    expect(w.position(0.5)).toEqual({ k: 1, s: 0 });
    // Accelerating: in the second interval the move is late (below the linear position).
    expect(w.position(0.745).s).toBeLessThan(0.5);
    // A degenerate position carries no shape: the warp stays linear.
    const flat = warpFromLeftOutAnchors([0, 1, 2], [{ lambda: 1, k: 0, best: 1, s: 1, priorScore: 1, score: 1 }], [0, 2], 'linear');
    expect(flat.lambdas).toEqual([0, 1, 2]);
  });

  it("draws the left-out anchor's curve in the λ scale's coordinate, and the prior where no anchor was left out", () => {
    const found = { lambda: 0.5, k: 0, best: 0.24, s: 0.24, priorScore: 1, score: 0.5 };
    const g = scaleCoordinate('logit');
    const x = [0.01, 0.5, 0.99].map(g.to);
    const m = monotoneSlopes(x, [0, 0.24, 1]);
    const curve = (l: number) => hermiteAt(x, [0, 0.24, 1], m, g.to(l));
    const w = new TimeWarp([0.01, 0.5, 0.99], warpFromLeftOutAnchors([0.01, 0.5, 0.99], [found], [0.01, 0.99], 'logit'));
    // Closed form: the second interval covers the curve from 0.24 to 1.
    for (const l of [0.75, 0.9, 0.95]) expect(w.position(l).s).toBeCloseTo((curve(l) - 0.24) / 0.76, 2);
    for (const l of [0.05, 0.1]) expect(w.position(l).s).toBeCloseTo(curve(l) / 0.24, 2);
    // Four anchors, the last interval uninformed: linear in logit there.
    const four = [0.01, 0.5, 0.9, 0.99];
    const w4 = new TimeWarp(four, warpFromLeftOutAnchors(four, [found], [0.01, 0.9, 0.99], 'logit'));
    expect(w4.position(0.5)).toEqual({ k: 1, s: 0 });
    const mid = g.from((g.to(0.9) + g.to(0.99)) / 2);
    expect(w4.position(mid).s).toBeCloseTo(0.5, 2);
  });

  it('measures each interval by the transport distance between its anchors', () => {
    // One class; anchor 1 is anchor 0 shifted by 1, anchor 2 by 3: exact OT moves every row by the shift.
    const rng = new Rng(2);
    const base = Array.from({ length: 40 }, () => [rng.normal(), rng.normal()]);
    const at = (shift: number) => Float32Array.from(base.flatMap(([a, b]) => [a + shift, b, 0]));
    const ds: Dataset = { levels: [0, 1, 2], data: [at(0), at(1), at(3)], dim: 2, cond: 1, categorical: true, classes: 1 };
    const spans = anchorSpans(ds);
    expect(spans[0]).toBeCloseTo(1, 5);
    expect(spans[1]).toBeCloseTo(2, 5);
    // Identical anchors give no scale to go by: equal spans.
    expect(anchorSpans({ ...ds, data: [at(0), at(0), at(3)] })).toEqual([1, 1]);
    // The held-out information carries the spans of its anchors, once, for every candidate: with
    // validation levels only.
    const withValidation: Dataset = { ...ds, levels: [0, 0.5, 1, 2], data: [at(0), at(0.5), at(1), at(3)], anchors: [0, 1, 2], validation: [0.5] };
    const held = heldOutFor(withValidation);
    expect(held.kind).toBe('validation');
    expect(held.spans).toEqual(anchorSpans(held.train));
    expect(heldOutFor({ ...withValidation, validation: [] }).spans).toEqual([]);
  });

  it('shapes the warp between its knots by the spans: a far interval after a near one starts slowly', () => {
    const anchors = [0, 1, 2];
    const plain = { lambdas: [0, 0.5, 1, 2], progress: [0, 0.3, 1, 2] };
    // One interval: nothing to weigh.
    expect(shapeWarp([0, 1], { lambdas: [0, 1], progress: [0, 1] }, 'linear', [5])).toEqual({ lambdas: [0, 1], progress: [0, 1] });
    // Equal spans: the added knots lie on the plain warp's own curve, the given knots are kept.
    const same = shapeWarp(anchors, plain, 'linear', [2, 2]);
    const w = new TimeWarp(anchors, plain);
    same.lambdas.forEach((l, i) => expect(same.progress[i]).toBeCloseTo(w.progress(l), 12));
    for (const [i, l] of plain.lambdas.entries()) expect(same.progress[same.lambdas.indexOf(l)]).toBe(plain.progress[i]);
    // Spans 1 then 10 (closed form: the monotone cubic through (0, 0), (1, 1), (2, 11), in distance):
    // at λ = 1.5, distance 4.415, i.e. 34% of the second interval; at λ = 0.5, 27% of the first.
    const far = new TimeWarp(anchors, shapeWarp(anchors, { lambdas: anchors, progress: [0, 1, 2] }, 'linear', [1, 10]));
    expect(far.progress(1.5)).toBeCloseTo(1 + (4.415 - 1) / 10, 2);
    expect(far.progress(0.5)).toBeCloseTo(0.273, 2);
    expect(far.position(1)).toEqual({ k: 1, s: 0 });
    const grid = Array.from({ length: 41 }, (_, i) => far.progress(i / 20));
    for (let i = 1; i < grid.length; i++) expect(grid[i]).toBeGreaterThanOrEqual(grid[i - 1]);
  });
});

describe('automatic selection on a family that moves non-uniformly in λ', () => {
  const levels = [0, 0.25, 0.5, 0.65, 0.8, 0.9, 1];
  const ds = lateJumpFamily(levels, 160, 3);
  const candidates: Candidate[] = [
    { name: 'paper', settings: { actionForm: 'paper', potential: { alpha: 0.05 } } },
    { name: 'no-potential', settings: { potential: { enabled: false } } },
  ];
  const test = [0.25, 0.65, 0.9];

  it('calibrates the position, beats copy-first and linear interpolation at test levels by a margin, and keeps the spread', async () => {
    const { model, selection, report } = await fitSelected('full', ds, { fit: SMALL, candidates });
    try {
      expect(selection.heldOut).toBe('validation');
      expect(selection.candidates.map((c) => c.name)).toEqual(['paper', 'no-potential']);
      // Ranked by the geometric mean of the calibrated and the leave-one-level-out scores.
      const avg = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      for (const c of selection.candidates) expect(c.rank).toBeCloseTo(Math.sqrt(avg(c.calibratedScores) * avg(c.scores)), 10);
      const ranks = selection.candidates.map((c) => c.rank);
      expect(selection.chosen).toBe(selection.candidates[ranks.indexOf(Math.min(...ranks))].name);
      // The warp found the late jump: at λ = 0.5 the truth is 12.5% of the way.
      const clot = model as ClotSurrogate;
      expect(clot.warp.isLinear()).toBe(false);
      expect(clot.warp.position(0.5).s).toBeGreaterThan(0.05);
      expect(clot.warp.position(0.5).s).toBeLessThan(0.25);
      expect(report.beatsReferences).toBe(true);
      expect(report.warning).toBeNull();
      // The last anchor is reproduced: far closer to its own rows than copying the first anchor.
      expect(report.anchors.map((a) => a.lambda)).toEqual([1]);
      expect(report.anchors[0].score).toBeLessThan(0.05 * report.anchors[0].copyFirst);
      // Held-out test levels the fit never saw.
      const anchors = { ...ds, anchors: [0, 1] };
      const lin = linearInterpolation(anchors, test);
      const copy = copyFirstAnchor(anchors, test);
      const score = (pred: Float32Array[]) => test.reduce((s, l, i) => s + mse(pred[i], ds.data[levelIndex(ds, l)], 2, 2), 0) / test.length;
      const surrogate = score(test.map((l) => model.sample(ds.data[0], l)));
      expect(surrogate).toBeLessThan(0.5 * score(lin));
      expect(surrogate).toBeLessThan(0.5 * score(copy));
      // No collapse: the spread of the answers stays within a factor 1.5 of the truth's.
      const spread = (rows: Float32Array) => {
        let m = 0;
        let v = 0;
        const n = rows.length / 4;
        for (let i = 0; i < n; i++) m += rows[i * 4] / n;
        for (let i = 0; i < n; i++) v += (rows[i * 4] - m) ** 2 / n;
        return Math.sqrt(v);
      };
      for (const l of test) {
        const ratio = spread(model.sample(ds.data[0], l)) / spread(ds.data[levelIndex(ds, l)]);
        expect(ratio).toBeGreaterThan(1 / 1.5);
        expect(ratio).toBeLessThan(1.5);
      }
      // The choice and the report travel with the model.
      expect(model.info.training?.selection).toEqual(selection);
      expect(model.info.training?.report).toEqual(report);
    } finally {
      model.dispose();
    }
  });

  it('with --select none fits the given settings, uncalibrated, and still reports against the references', async () => {
    const { model, selection, report } = await fitSelected('full', ds, { select: 'none', fit: SMALL });
    try {
      expect(selection.chosen).toBeNull();
      expect((model as ClotSurrogate).warp.isLinear()).toBe(true);
      expect(report.levels).toEqual([0.5, 0.8]);
      expect(report.references.map((r) => r.name)).toEqual(['copy-first-anchor', 'nearest-anchor', 'linear-interpolation', 'displacement-interpolation']);
    } finally {
      model.dispose();
    }
  });
});

describe('the λ scale of the time warp', () => {
  // A level in (0, 1) whose family moves linearly in its log-odds, as extreme quantile levels do:
  // fast near both ends, slowly in the middle.
  const logit = (l: number) => Math.log(l / (1 - l));
  const progress = (l: number) => (logit(l) - logit(0.02)) / (logit(0.98) - logit(0.02));
  const test = [0.05, 0.1, 0.3, 0.7, 0.9, 0.95];
  const ds = lateJumpFamily([0.02, ...test, 0.98], 160, 4, progress, { anchors: [0.02, 0.98], validation: [] });

  it('with two anchors and no held-out levels answers on the auto scale (logit), beats linear interpolation by a margin, and keeps it when saved; the linear scale does not', async () => {
    const score = (model: { sample(rows: Float32Array, l: number): Float32Array }) =>
      test.reduce((s, l) => s + mse(model.sample(ds.data[0], l), ds.data[levelIndex(ds, l)], 2, 2), 0) / test.length;
    const lin = linearInterpolation(ds, test);
    const linear = test.reduce((s, l, i) => s + mse(lin[i], ds.data[levelIndex(ds, l)], 2, 2), 0) / test.length;
    const auto = await fitSelected('full', ds, { fit: SMALL });
    const plain = await fitSelected('full', ds, { fit: { ...SMALL, scale: 'linear' } });
    try {
      expect(auto.selection.heldOut).toBe('none');
      expect((auto.model as ClotSurrogate).scale).toBe('logit');
      expect((plain.model as ClotSurrogate).warp.isLinear()).toBe(true);
      expect(score(auto.model)).toBeLessThan(0.3 * linear);
      expect(score(plain.model)).toBeGreaterThan(0.7 * linear);
      // A scale named in the sidecar is used as given (and --scale, the fit options, override it).
      const named = await fitSelected('full', { ...ds, scale: 'linear' }, { fit: { ...SMALL, maps: { steps: 20 } } });
      expect((named.model as ClotSurrogate).scale).toBe('linear');
      named.model.dispose();
      const overridden = await fitSelected('full', { ...ds, scale: 'linear' }, { fit: { ...SMALL, maps: { steps: 20 }, scale: 'logit' } });
      expect((overridden.model as ClotSurrogate).scale).toBe('logit');
      overridden.model.dispose();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-scale-'));
      try {
        await (auto.model as ClotSurrogate).save(dir);
        const loaded = loadModel(dir) as ClotSurrogate;
        expect(loaded.scale).toBe('logit');
        expect(loaded.sample(ds.data[0], 0.1)).toEqual(auto.model.sample(ds.data[0], 0.1));
        loaded.dispose();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      auto.model.dispose();
      plain.model.dispose();
    }
  });

  it('with validation levels keeps the linear scale when the family moves linearly in λ, and logit when it moves in log-odds', async () => {
    const levels = [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95];
    const sidecar = { anchors: [0.05, 0.95], validation: [0.2, 0.35, 0.65, 0.8] };
    const straight: Candidate[] = [{ name: 'straight', settings: { metric: { kind: 'euclidean' }, potential: { enabled: false } } }];
    const linearFamily = lateJumpFamily(levels, 160, 5, (l) => (l - 0.05) / 0.9, sidecar);
    const oddsFamily = lateJumpFamily(levels, 160, 5, (l) => (logit(l) - logit(0.05)) / (logit(0.95) - logit(0.05)), sidecar);
    for (const [family, expected] of [
      [linearFamily, 'linear'],
      [oddsFamily, 'logit'],
    ] as const) {
      const { model, selection } = await fitSelected('full', family, { fit: SMALL, candidates: straight });
      try {
        expect(selection.candidates[0].scale).toBe(expected);
        expect((model as ClotSurrogate).scale).toBe(expected);
      } finally {
        model.dispose();
      }
    }
  });
});
