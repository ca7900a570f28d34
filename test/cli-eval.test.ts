import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fitModel } from '../src/methods/registry.js';
import { defaultEvalLevels, evaluateModel, groupMeanMse, rowsMatch, scoreLevel } from '../src/eval/report.js';
import { anchorDataset, loadDataset, selectRows, type Dataset } from '../src/data/index.js';
import { initEngine } from '../src/engine/index.js';
import type { ModelInfo, TrajectoryModel } from '../src/surrogate/model.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const data = path.resolve(root, 'data');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-eval-'));
const moonsModel = path.join(dir, 'moons-direct');
const cancerModel = path.join(dir, 'cancer-direct');

beforeAll(async () => {
  if (!fs.existsSync(path.join(root, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run `npx tsc -p .` (npm test does) before these tests');
  await initEngine({ quiet: true });
  const moons = anchorDataset(loadDataset(path.join(data, 'dropout_2moons.npy')));
  const m = await fitModel('direct', moons, { steps: 3, seed: 0 });
  await m.save(moonsModel);
  m.dispose();
  const cancer = anchorDataset(loadDataset(path.join(data, 'cancer_reward.npy')), undefined, [0, 1000]);
  const c = await fitModel('direct', cancer, { steps: 3, seed: 0 });
  await c.save(cancerModel);
  c.dispose();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function hti(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'bin/hti.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A model that returns its input rows shifted by λ in the first output: scores are known in closed form. */
function shiftModel(info: Partial<ModelInfo>): TrajectoryModel {
  const full: ModelInfo = { kind: 'direct', method: 'shift', dim: 1, cond: 1, categorical: false, classes: 0, anchors: [0, 1], bounds: [[0, 1]], ...info };
  const width = full.dim + full.cond;
  return {
    info: full,
    sample: (rows, lambda) => rows.map((v, i) => (i % width === 0 ? v + lambda : v)),
    trajectory: () => new Float32Array(0),
    anchorRows: () => new Float32Array(0),
    save: async () => {},
    dispose: () => {},
  };
}

describe('eval scores', () => {
  it('continuous conditions: per-group W2², row MSE where rows correspond, MSE of group means', () => {
    // Two groups (x = 0, x = 1) of two rows, outputs y; predictions shifted by 0.5.
    const truth = Float32Array.from([0, 0, 2, 0, 10, 1, 12, 1]);
    const pred = Float32Array.from([0.5, 0, 2.5, 0, 10.5, 1, 12.5, 1]);
    expect(rowsMatch(pred, truth, 1, 1)).toBe(true);
    const s = scoreLevel(pred, truth, { dim: 1, cond: 1, categorical: false }, 0.3);
    expect(s).toMatchObject({ lambda: 0.3, groups: 2 });
    expect(s.w2).toBeCloseTo(0.25, 6);
    expect(s.mse).toBeCloseTo(0.25, 6);
    expect(s.meanMse).toBeCloseTo(0.25, 6);
    // Swapping rows inside a group keeps W2² and the group means, changes the row MSE.
    const swapped = Float32Array.from([2.5, 0, 0.5, 0, 10.5, 1, 12.5, 1]);
    const t = scoreLevel(swapped, truth, { dim: 1, cond: 1, categorical: false }, 0.3);
    expect(t.w2).toBeCloseTo(0.25, 6);
    expect(t.meanMse).toBeCloseTo(0.25, 6);
    expect(t.mse).toBeCloseTo((2.5 ** 2 + 1.5 ** 2 + 0.25 + 0.25) / 4, 6);
    expect(groupMeanMse(Float32Array.from([1, 0, 1, 0]), Float32Array.from([0, 0, 4, 0]), 1, 1)).toBeCloseTo(1, 6);
  });

  it('no row MSE when conditions do not line up; categorical data scores per class', () => {
    const truth = Float32Array.from([0, 0, 1, 1]);
    const pred = Float32Array.from([1, 1, 0, 0]);
    expect(rowsMatch(pred, truth, 1, 1)).toBe(false);
    expect(scoreLevel(pred, truth, { dim: 1, cond: 1, categorical: false }, 1).mse).toBeUndefined();
    const cls = scoreLevel(Float32Array.from([0, 0, 3, 1]), Float32Array.from([1, 0, 5, 1]), { dim: 1, cond: 1, categorical: true }, 1);
    expect(cls.perClass).toEqual([
      { class: 0, w2: 1 },
      { class: 1, w2: 4 },
    ]);
    expect(cls.w2).toBe(2.5);
    expect(cls.mse).toBeUndefined();
  });

  it('evaluateModel pushes the first anchor rows and scores the references the same way', () => {
    const rows = (shift: number) => Float32Array.from([0 + shift, 0, 1 + shift, 0, 5 + shift, 1, 6 + shift, 1]);
    const ds: Dataset = { levels: [0, 0.5, 1], data: [rows(0), rows(0.5), rows(1)], dim: 1, cond: 1, categorical: false, classes: 0, validation: [0.5] };
    const model = shiftModel({});
    expect(defaultEvalLevels(ds, model.info)).toEqual([0.5]);
    const r = evaluateModel(model, ds, [0.5]);
    expect(r.inputLambda).toBe(0);
    expect(r.inputRows).toBe(4);
    const by = Object.fromEntries(r.scores.map((s) => [s.name, s.mean]));
    expect(by.model.w2).toBeCloseTo(0, 10);
    expect(by.model.mse).toBeCloseTo(0, 10);
    expect(by['copy-first-anchor'].w2).toBeCloseTo(0.25, 6);
    expect(by['linear-interpolation'].mse).toBeCloseTo(0, 6);
    expect(() => evaluateModel(model, ds, [0.7])).toThrow(/λ = 0.7 is not a level of the data/);
    expect(() => evaluateModel(shiftModel({ anchors: [0.2, 1] }), ds, [0.5])).toThrow(/no level at the model's first anchor λ = 0.2/);
    expect(() => evaluateModel(shiftModel({ dim: 2, cond: 0 }), ds, [0.5])).toThrow(/model expects D = 2, C = 0/);
    const noValidation = { ...ds, validation: undefined };
    expect(defaultEvalLevels(noValidation, model.info)).toEqual([0.5]);
    expect(() => defaultEvalLevels({ ...noValidation, levels: [0, 1], data: [rows(0), rows(1)] }, model.info)).toThrow(/give --levels/);
  });
});

describe('hti eval (built CLI)', () => {
  it('scores a saved model on dropout_2moons validation levels, per class, beside the references', () => {
    const r = hti('eval', moonsModel, path.join(data, 'dropout_2moons.npy'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pushed  the 1000 rows of λ = 0 to each level');
    expect(r.stdout).toMatch(/W2² .*per class, mean over classes/);
    expect(r.stdout).toMatch(/\s+λ=0\.1\s+λ=0\.3\s+λ=0\.7\s+λ=0\.9\s+mean\n/);
    expect(r.stdout).toMatch(/\n  class 0\s/);
    expect(r.stdout).toMatch(/\ncopy-first-anchor \(ref\)\s+0\.02141\s+0\.04094\s+0\.06026\s+0\.1745\s+0\.07429\n/);
    expect(r.stdout).not.toContain('MSE');
  });

  it('--json, --levels and --rows on cancer_reward: per-state W2², row MSE and mean MSE', () => {
    const r = hti('eval', cancerModel, path.join(data, 'cancer_reward.npy'), '--rows', '1000:1200', '--levels', '1,9', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.levels).toEqual([1, 9]);
    expect(report.rows).toEqual([1000, 1200]);
    expect(report.inputRows).toBe(200);
    expect(report.info.method).toBe('direct');
    const model = report.scores[0];
    expect(model.perLevel[0].groups).toBe(20);
    for (const k of ['w2', 'mse', 'meanMse']) expect(Number.isFinite(model.mean[k])).toBe(true);
    expect(report.scores.map((s: { name: string }) => s.name)).toEqual(['model', 'copy-first-anchor', 'nearest-anchor', 'linear-interpolation', 'displacement-interpolation']);
    // Independent check of the copy-first-anchor reference on the same rows.
    const ds = selectRows(loadDataset(path.join(data, 'cancer_reward.npy')), 1000, 1200);
    const copy = report.scores[1].perLevel[0];
    const ref = scoreLevel(ds.data[0], ds.data[1], ds, 1);
    expect(copy.w2).toBeCloseTo(ref.w2, 6);
    expect(copy.mse).toBeCloseTo(ref.mse!, 6);
  });

  it('reports bad input on one line', () => {
    const level = hti('eval', moonsModel, path.join(data, 'dropout_2moons.npy'), '--levels', '0.2');
    expect(level.code).toBe(1);
    expect(level.stderr).toMatch(/^hti: λ = 0.2 is not a level of the data \(levels: 0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99\)\n$/);
    const missing = hti('eval', path.join(dir, 'nope'), path.join(data, 'dropout_2moons.npy'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^hti: model .*nope does not exist\n$/);
    const clash = hti('eval', moonsModel, path.join(data, 'cancer_reward.npy'));
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/^hti: sidecar .*cancer_reward\.json' says D = 2, C = 7 \(continuous\) but model .* expects D = 2, C = 1 \(categorical\)\n$/);
    const range = hti('eval', moonsModel, path.join(data, 'dropout_2moons.npy'), '--levels', '0.3', '--rows', '5:2');
    expect(range.code).toBe(2); // a malformed option value is a usage error, as in hti fit
    expect(range.stderr).toContain('--rows expects START:END');
    const atAnchor = hti('eval', cancerModel, path.join(data, 'cancer_reward.npy'), '--rows', '1000:1100', '--levels', '0,1');
    expect(atAnchor.code).toBe(0); // anchors are valid levels to score
  });
});
