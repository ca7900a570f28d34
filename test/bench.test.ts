import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { methodLabel } from '../src/methods/registry.js';
import { mergeOptions } from '../src/surrogate/index.js';
import { QUICK_CLOT, anchorsOnly, fitOptionsFor, runMethod, runReferences, runTask, type TaskResult } from '../src/bench/run.js';
import { benchReport, buildTaskTable, formatTaskTable, summarize, tQuantile975 } from '../src/bench/table.js';
import { CANCER_ACTION_NOISE, TASKS, getTask, jitterOutputs, twoFolds } from '../src/bench/tasks.js';
import { semicircleDataset } from '../src/bench/semicircles.js';
import { Rng } from '../src/engine/rng.js';
import { renderScatterSvg } from '../src/plot/render.js';
import { demoFigureSvg } from '../src/bench/demo.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.resolve(root, 'data');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-bench-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Tiny CLOT settings: the quick schedule on small networks, so a fit takes seconds. */
const TINY = mergeOptions(QUICK_CLOT, {
  maps: { steps: 10, batch: 32, hidden: [16, 16] },
  couplings: { cap: 16 },
  potential: { cap: 16 },
  spline: { width: 16, batch: 32 },
  metric: { width: 8 },
});

describe('t quantile and interval over seeds', () => {
  it('matches Student t tables', () => {
    expect(tQuantile975(1)).toBeCloseTo(12.706, 3);
    expect(tQuantile975(19)).toBeCloseTo(2.093, 3); // the paper's 20 seeds
    expect(tQuantile975(60)).toBeCloseTo(2.0003, 2);
    expect(tQuantile975(1000)).toBeCloseTo(1.9623, 3);
    expect(() => tQuantile975(0)).toThrow(/degrees of freedom/);
  });

  it('gives the mean and a t-interval only with several seeds', () => {
    expect(summarize([2])).toEqual({ mean: 2, perSeed: [2] });
    const s = summarize([1, 2, 3, 6]);
    const sd = Math.sqrt(((1 - 3) ** 2 + 1 + 0 + 9) / 3);
    expect(s.mean).toBe(3);
    expect(s.ci![0]).toBeCloseTo(3 - (3.182 * sd) / 2, 10);
    expect(s.ci![1]).toBeCloseTo(3 + (3.182 * sd) / 2, 10);
  });
});

describe('tasks', () => {
  it('semicircles: anchors for training, fresh independent truth, references with the noise floor', () => {
    const p = TASKS.semicircles.prepare(3, { dataDir });
    expect(p.train.levels).toEqual([0, 0.5, 1]);
    expect(p.train.data.every((d) => d.length === 400 * 3)).toBe(true);
    expect(p.levels).toEqual([0.25, 0.75]);
    expect(p.inputs).toEqual(semicircleDataset(3).data[0]);
    expect(p.truth[0]).not.toEqual(TASKS.semicircles.prepare(4, { dataDir }).truth[0]);
    const refs = runReferences(p);
    expect(refs.map((r) => r.name)).toEqual(['copy-first-anchor', 'nearest-anchor', 'displacement-interpolation', 'true-samples']);
    const floor = refs[3].perLevel;
    // benchmarks.md calibration: two true sets are W2 ≈ 0.015 apart; truth's NLL ≈ −0.9, CD ≈ 0.04.
    for (const l of floor) {
      expect(l.w2).toBeLessThan(0.05);
      expect(l.nll).toBeGreaterThan(-1.1);
      expect(l.nll).toBeLessThan(-0.7);
      expect(l.cd).toBeGreaterThan(0.03);
      expect(l.cd).toBeLessThan(0.05);
    }
    // Straight lines between OT partners cut the circles' chords: far above the floor.
    for (const l of refs[2].perLevel) expect(l.w2).toBeGreaterThan(0.1);
    // Copying t = 0 is far off at t = 0.75; the nearest anchor (t = 0.5) is closer.
    expect(refs[0].perLevel[1].w2).toBeGreaterThan(1);
    expect(refs[1].perLevel[1].w2).toBeLessThan(refs[0].perLevel[1].w2);
  });

  it('dropout_2moons: copying p = 0 scores the calibration of benchmarks.md', () => {
    const p = TASKS.dropout_2moons.prepare(0, { dataDir });
    expect(p.train.levels).toEqual([0, 0.5, 0.99]);
    expect(p.levels).toEqual([0.1, 0.3, 0.7, 0.9]);
    expect(p.inputs.length).toBe(1000 * 3);
    const copy = runReferences(p).find((r) => r.name === 'copy-first-anchor')!;
    const w2 = copy.perLevel.map((l) => l.w2);
    [0.021, 0.041, 0.06, 0.175].forEach((v, i) => expect(w2[i]).toBeCloseTo(v, 2));
    expect(w2.reduce((a, b) => a + b) / 4).toBeCloseTo(0.074, 3);
  });

  it('cancer_reward: noisy anchor rows 0:1000, 200 test states, calibrated references', () => {
    const p = TASKS.cancer_reward.prepare(0, { dataDir });
    expect(p.train.levels).toEqual([0, 5, 10]);
    expect(p.train.data.every((d) => d.length === 1000 * 9)).toBe(true);
    expect(p.inputs.length).toBe(2000 * 9);
    expect(p.levels).toEqual([1, 3, 7, 9]);
    const refs = runReferences(p);
    expect(refs.map((r) => r.name)).toEqual(['copy-first-anchor', 'nearest-anchor', 'linear-interpolation', 'displacement-interpolation']);
    const mean = (name: string) => {
      const r = refs.find((x) => x.name === name)!;
      return r.perLevel.reduce((s, l) => s + l.w2, 0) / r.perLevel.length;
    };
    expect(mean('copy-first-anchor')).toBeCloseTo(5.04, 1);
    expect(mean('nearest-anchor')).toBeCloseTo(2.61, 1);
    expect(refs[2].perLevel.every((l) => Number.isFinite(l.mse))).toBe(true);
    expect(TASKS.cancer_reward.prepare(0, { dataDir, allStates: true }).inputs.length).toBe(6930 * 9);
  });

  it('jitters only the outputs, by about the requested noise, reproducibly', () => {
    const ds = TASKS.cancer_reward.prepare(0, { dataDir }).train;
    const clean = { ...ds, data: ds.data.map((d) => d.map(Math.round)) };
    const a = jitterOutputs(clean, CANCER_ACTION_NOISE, new Rng(1));
    const b = jitterOutputs(clean, CANCER_ACTION_NOISE, new Rng(1));
    expect(a.data[0]).toEqual(b.data[0]);
    let sq = 0;
    let n = 0;
    for (let i = 0; i < clean.data[0].length; i++) {
      const d = a.data[0][i] - clean.data[0][i];
      if (i % 9 < 2) {
        sq += d * d;
        n++;
      } else expect(d).toBe(0);
    }
    expect(Math.sqrt(sq / n)).toBeGreaterThan(0.0008);
    expect(Math.sqrt(sq / n)).toBeLessThan(0.0012);
  });

  it('refuses unknown tasks', () => {
    expect(() => getTask('moons')).toThrow(/unknown task 'moons'.*semicircles/);
  });
});

describe('fit options per method', () => {
  it("passes the task's CLOT settings to CLOT presets only, quick and extra options merged on top", () => {
    const spec = TASKS.dropout_2moons;
    // By default CLOT gets the defaults (as hti fit); the hand-set settings only when asked for.
    expect(fitOptionsFor(spec, 'full', { seed: 2 })).toEqual({ seed: 2 });
    expect(fitOptionsFor(spec, 'full', { seed: 2, settings: 'hand' })).toEqual({ ...spec.hand, seed: 2 });
    const quick = fitOptionsFor(spec, 'euclidean', { seed: 0, settings: 'hand', quick: true, fit: { potential: { alpha: 0.5 } } });
    // Groups merge: the quick schedule's spline steps replace the task's, other keys of a group stay.
    expect(quick).toEqual({ ...spec.hand, ...QUICK_CLOT, spline: { ...spec.hand.spline, ...QUICK_CLOT.spline }, potential: { ...spec.hand.potential, alpha: 0.5 }, seed: 0 });
    expect(fitOptionsFor(spec, 'direct', { seed: 1 })).toEqual({ seed: 1 });
    expect(() => fitOptionsFor(spec, 'nope', { seed: 0 })).toThrow(/unknown method 'nope'/);
    expect(methodLabel('full')).toContain('K_θ−Û');
    expect(methodLabel('euclidean-potential')).toBe('K_I−Û');
  });
});

describe('running methods', () => {
  it('fits a tiny CLOT surrogate on semicircles, scores every level, times it and measures memory', async () => {
    const spec = TASKS.semicircles;
    const p = spec.prepare(0, { dataDir });
    let svg = '';
    const run = await runMethod(spec, p, 'full', {
      seed: 0,
      select: 'none',
      fit: TINY,
      withModel: (model, r) => {
        const table = buildTaskTable({ task: 'semicircles', levels: p.levels, seeds: [0], methods: [r], references: runReferences(p), details: {}, settings: 'defaults', select: 'none', heldOut: 'validation' });
        svg = demoFigureSvg(model, p, table, 3);
      },
    });
    expect(run.fitOptions).toMatchObject({ couplings: { cap: 16 } });
    expect(run.folds).toBeUndefined();
    expect(run.perLevel).toHaveLength(2);
    for (const l of run.perLevel) for (const k of ['w2', 'nll', 'cd']) expect(Number.isFinite(l[k])).toBe(true);
    expect(run.fitSeconds).toBeGreaterThan(0);
    expect(run.peakRssMB).toBeGreaterThan(30);
    expect(run.peakRssMB).toBeLessThan(8000);
    // The demo figure: three panels, 4 classes × 3 trajectories.
    expect(svg.startsWith('<svg') || svg.startsWith('<?xml')).toBe(true);
    expect((svg.match(/<path|<polyline/g) ?? []).length).toBeGreaterThanOrEqual(12);
    expect(svg).toContain('t = 0.25');
    expect(renderScatterSvg([])).toContain('<svg');
  });

  it('fits as hti fit does on each fold: selects on the fold\'s validation levels, scores the levels outside them', async () => {
    const spec = TASKS.dropout_2moons;
    const p = spec.prepare(0, { dataDir });
    expect(p.folds).toEqual(twoFolds([0.1, 0.3, 0.7, 0.9]));
    expect(p.folds).toEqual([{ validation: [0.1, 0.7] }, { validation: [0.3, 0.9] }]);
    expect(p.selectionData.levels).toEqual([0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99]);
    // Two candidates and a short schedule keep this to seconds (2 folds × 2 candidate fits).
    const candidates = [
      { name: 'a', settings: { potential: { alpha: 0.05 } } },
      { name: 'b', settings: { potential: { enabled: false } } },
    ];
    const run = await runMethod(spec, p, 'full', { seed: 0, candidates, fit: mergeOptions(TINY, { maps: { steps: 5 }, couplings: { cap: 8 } }) });
    expect(run.folds!.map((f) => [f.validation, f.scored])).toEqual([
      [[0.1, 0.7], [0.3, 0.9]],
      [[0.3, 0.9], [0.1, 0.7]],
    ]);
    for (const f of run.folds!) {
      expect(f.selection.heldOut).toBe('validation');
      expect(f.selection.levels).toEqual(f.validation);
      expect(f.report.references.map((r) => r.name)).toContain('copy-first-anchor');
    }
    expect(run.perLevel).toHaveLength(4);
    for (const l of run.perLevel) expect(Number.isFinite(l.w2)).toBe(true);
    // The table (and its JSON) says which candidate each fold kept.
    const table = buildTaskTable({ task: 'dropout_2moons', levels: p.levels, seeds: [0], methods: [run], references: [], details: {}, settings: 'defaults', select: 'auto', heldOut: 'validation' });
    expect(table.rows[0].selection!.map((f) => [f.heldOut, f.levels, f.scored])).toEqual([
      ['validation', [0.1, 0.7], [0.3, 0.9]],
      ['validation', [0.3, 0.9], [0.1, 0.7]],
    ]);
    const chosen = run.folds!.map((f) => f.selection.chosen);
    expect(chosen.every((c) => c === 'a' || c === 'b')).toBe(true);
    expect(formatTaskTable(table)).toContain(`full, candidate kept: seed 0, validation 0.1, 0.7: ${chosen[0]}; seed 0, validation 0.3, 0.9: ${chosen[1]}`);
  });

  it('with held-out anchors fits as hti fit does without validation levels: leaves out the interior anchor, scores every level in one fold', async () => {
    const spec = TASKS.dropout_2moons;
    const p = spec.prepare(0, { dataDir });
    const only = anchorsOnly(p);
    expect(only.selectionData.levels).toEqual([0, 0.5, 0.99]);
    expect(only.folds).toEqual([{ validation: [] }]);
    const candidates = [
      { name: 'a', settings: { potential: { alpha: 0.05 } } },
      { name: 'b', settings: { potential: { enabled: false } } },
    ];
    const run = await runMethod(spec, p, 'full', { seed: 0, heldOut: 'anchors', candidates, fit: mergeOptions(TINY, { maps: { steps: 5 }, couplings: { cap: 8 } }) });
    expect(run.folds!.map((f) => [f.validation, f.scored])).toEqual([[[], [0.1, 0.3, 0.7, 0.9]]]);
    expect(run.folds![0].selection.heldOut).toBe('left-out-anchors');
    expect(run.folds![0].selection.levels).toEqual([0.5]);
    expect(run.perLevel.map((l) => Number.isFinite(l.w2))).toEqual([true, true, true, true]);
    await expect(runTask('dropout_2moons', ['direct'], { seeds: [0], heldOut: 'anchors', task: { dataDir } })).rejects.toThrow(/held-out anchors apply to CLOT with automatic selection/);
  });

  it('cancer_reward selects on its training states, with the anchors jittered as for training', () => {
    const p = TASKS.cancer_reward.prepare(0, { dataDir });
    expect(p.selectionData.levels).toEqual([0, 1, 3, 5, 7, 9, 10]);
    expect(p.selectionData.data[0].length).toBe(1000 * 9);
    expect(p.selectionData.data[0]).toEqual(p.train.data[0]);
    expect(p.selectionData.data[1]).not.toEqual(p.train.data[0]);
  });

  it('runs a baseline through the registry over two seeds, references per seed', async () => {
    const r = await runTask('dropout_2moons', ['direct'], { seeds: [0, 1], fit: { steps: 3 }, task: { dataDir } });
    expect(r.methods.map((m) => [m.method, m.seed])).toEqual([
      ['direct', 0],
      ['direct', 1],
    ]);
    expect(r.references).toHaveLength(6);
    const t = buildTaskTable(r);
    const direct = t.rows[0];
    expect(direct.kind).toBe('method');
    expect(direct.mean.w2.ci).toBeDefined();
    expect(direct.mean.w2.perSeed).toHaveLength(2);
    const copy = t.rows.find((x) => x.name === 'copy-first-anchor')!;
    expect(copy.mean.w2.mean).toBeCloseTo(0.0743, 3);
    // The same data for both seeds: a zero-width interval.
    expect(copy.mean.w2.ci![1] - copy.mean.w2.ci![0]).toBeCloseTo(0, 12);
  });
});

describe('tables', () => {
  const result: TaskResult = {
    task: 'semicircles',
    levels: [0.25, 0.75],
    seeds: [0, 1],
    methods: [
      { method: 'full', seed: 0, perLevel: [{ w2: 1, nll: -0.5, cd: 0.02 }, { w2: 3, nll: -0.7, cd: 0.04 }], fitSeconds: 10, peakRssMB: 500, fitOptions: {} },
      { method: 'full', seed: 1, perLevel: [{ w2: 2, nll: -0.6, cd: 0.03 }, { w2: 4, nll: -0.8, cd: 0.05 }], fitSeconds: 20, peakRssMB: 700, fitOptions: {} },
    ],
    references: [
      { name: 'copy-first-anchor', label: 'copy first anchor', seed: 0, perLevel: [{ w2: 0.6, nll: 0.4, cd: 0.04 }, { w2: 2.9, nll: 6.7, cd: 0.04 }] },
      { name: 'copy-first-anchor', label: 'copy first anchor', seed: 1, perLevel: [{ w2: 0.8, nll: 0.6, cd: 0.04 }, { w2: 2.7, nll: 6.5, cd: 0.04 }] },
    ],
    details: {},
    settings: 'defaults',
    select: 'auto',
    heldOut: 'validation',
  };

  it('averages levels over seeds, summarises the level mean over seeds, places the paper figure', () => {
    const t = buildTaskTable(result);
    expect(t.rows.map((r) => [r.kind, r.name])).toEqual([
      ['method', 'full'],
      ['reference', 'copy-first-anchor'],
    ]);
    const full = t.rows[0];
    expect(full.perLevel.w2).toEqual([1.5, 3.5]);
    expect(full.mean.w2.perSeed).toEqual([2, 3]);
    expect(full.mean.w2.mean).toBe(2.5);
    // n = 2: half-width t(1) · sd / √2 with sd = √0.5.
    expect(full.mean.w2.ci![1] - 2.5).toBeCloseTo((12.706 * Math.sqrt(0.5)) / Math.SQRT2, 6);
    expect(full.paper).toEqual({ nll: -0.662, cd: 0.016 });
    expect(full.fitSeconds).toBe(15);
    expect(full.peakRssMB).toBe(700);
  });

  it('prints one table per metric with levels, interval, paper, timing and the references', () => {
    const text = formatTaskTable(buildTaskTable(result));
    expect(text).toContain('== semicircles');
    expect(text).toMatch(/method\s+λ=0\.25\s+λ=0\.75\s+mean \[95% CI\]\s+paper\s+fit s\s+peak MB/);
    expect(text).toMatch(/full = K_θ−Û \(full method\)\s+1\.5\s+3\.5\s+2\.5 \[-3\.853, 8\.853\]\s+—\s+15\.0\s+700/);
    expect(text).toMatch(/NLL.*\n.*\nfull = K_θ−Û \(full method\)\s+-0\.55\s+-0\.75\s+-0\.65 \[[^\]]+\]\s+-0\.662/);
    expect(text).toMatch(/copy first anchor \(ref\)\s+0\.7\s+2\.8\s+1\.75/);
  });

  it('JSON carries the same tables and the raw runs', () => {
    const report = JSON.parse(JSON.stringify(benchReport([result], { seeds: [0, 1] })));
    expect(report.format).toBe('hti-bench');
    expect(report.tasks[0].rows[0].perLevel.w2).toEqual([1.5, 3.5]);
    expect(report.runs[0].methods).toHaveLength(2);
  });
});

describe('hti bench (built CLI)', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(root, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run `npx tsc -p .` (npm test does) before these tests');
  });
  const hti = (...args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin/hti.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 110_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('prints the table and writes JSON with --out', () => {
    const out = path.join(tmp, 'sub', 'bench.json');
    const r = hti('bench', 'semicircles', '--quick', '--select', 'none', '--fit', JSON.stringify(TINY), '--out', out);
    expect(r.stderr).toContain('[bench] semicircles · full · seed 0: fit');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/W2².*\nmethod\s+λ=0\.25\s+λ=0\.75\s+mean\s+paper\s+fit s\s+peak MB/);
    expect(r.stdout).toMatch(/\nfull = K_θ−Û \(full method\)\s+\S+\s+\S+\s+\S+\s+—\s+\d+\.\d\s+\d+\n/);
    expect(r.stdout).toMatch(/\nfresh true samples \(ref\*\)\s+0\.0/);
    const report = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(report.options).toMatchObject({ tasks: ['semicircles'], methods: ['full'], seeds: [0], quick: true });
    expect(report.tasks[0].rows.map((x: { name: string }) => x.name)).toEqual(['full', 'copy-first-anchor', 'nearest-anchor', 'displacement-interpolation', 'true-samples']);
    expect(r.stdout).toContain('CLOT settings: defaults, no selection');
  });

  it('--json prints JSON only on stdout', () => {
    const r = hti('bench', 'dropout_2moons', '--method', 'direct', '--fit', '{"steps":2}', '--json', '--quiet');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout);
    expect(report.tasks[0].task).toBe('dropout_2moons');
    expect(report.tasks[0].rows[0].paper).toEqual({});
  });

  it('rejects bad tasks, methods, seeds and fit JSON with one clear line', () => {
    const task = hti('bench', 'moons');
    expect(task.code).toBe(1);
    expect(task.stderr).toMatch(/^hti: unknown task 'moons'; tasks: semicircles, dropout_2moons, cancer_reward, (\w+, )*cancer_closed_loop, all\n$/);
    const method = hti('bench', 'semicircles', '--method', 'full,sinkhorn');
    expect(method.code).toBe(2);
    expect(method.stderr).toContain("unknown method 'sinkhorn'");
    expect(hti('bench', 'semicircles', '--seeds', '0,x').stderr).toContain('comma-separated non-negative integers');
    expect(hti('bench', 'semicircles', '--fit', '{bad').stderr).toContain('not valid JSON');
    const data = hti('bench', 'cancer_reward', '--data-dir', path.join(tmp, 'nowhere'));
    expect(data.code).toBe(1);
    expect(data.stderr).toMatch(/^hti: data folder .*nowhere does not exist/);
  });
});
