import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  anchorDataset,
  datasetSummary,
  loadDataset,
  parseRowRange,
  parseSidecar,
  readRowsFile,
  rowCount,
  selectLevels,
  selectRows,
  writeNpy,
  type Dataset,
} from '../src/data/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = path.resolve(here, '../data');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-valid-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/**
 * A [T, N, D+C] dataset file with a sidecar: values y = t + r/10 + j/100, last column a class id r % 2.
 * `edit` may change single values before writing.
 */
function makeData(
  meta: Record<string, unknown> | null,
  options: { shape?: number[]; edit?: (data: Float32Array) => void } = {},
): string {
  const shape = options.shape ?? [3, 4, 3];
  const n = shape.reduce((a, b) => a * b, 1);
  const width = shape[shape.length - 1];
  const data = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const row = Math.floor(k / width);
    const col = k % width;
    data[k] = col === width - 1 ? row % 2 : Math.floor(row / 4) + (row % 4) / 10 + col / 100;
  }
  options.edit?.(data);
  const base = path.join(dir, `d${counter++}`);
  writeNpy(base + '.npy', { shape, data });
  if (meta) fs.writeFileSync(base + '.json', JSON.stringify(meta));
  return base + '.npy';
}

const META = { hyperparameter: [0, 0.5, 1], dim: 2, cond: 1, categorical: true, anchors: [0, 1], validation: [0.5] };

describe('loading valid data', () => {
  it('loads the shared dropout_2moons dataset with its sidecar', () => {
    const ds = loadDataset(path.join(shared, 'dropout_2moons.npy'));
    expect(ds.levels).toEqual([0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99]);
    expect([ds.dim, ds.cond, ds.categorical, ds.classes]).toEqual([2, 1, true, 2]);
    expect(ds.anchors).toEqual([0, 0.5, 0.99]);
    expect(ds.validation).toEqual([0.1, 0.3, 0.7, 0.9]);
    expect(ds.data.map((d) => d.length)).toEqual(new Array(7).fill(3000));
    const s = datasetSummary(ds);
    expect(s.classCounts).toEqual([3500, 3500]);
    expect(s.levels.map((l) => l.classCounts)).toEqual(new Array(7).fill([500, 500]));
    expect(s.levels.map((l) => l.anchor)).toEqual([true, false, false, true, false, false, true]);
    // Ranges agree with a direct computation.
    let min = Infinity;
    let max = -Infinity;
    for (const d of ds.data) for (let r = 0; r < 1000; r++) ((min = Math.min(min, d[r * 3 + 1])), (max = Math.max(max, d[r * 3 + 1])));
    expect(s.columns[1]).toEqual({ name: 'y1', kind: 'output', min, max });
    expect(s.columns[2]).toMatchObject({ name: 'class', kind: 'condition', min: 0, max: 1 });
  });

  it('selects the cancer training set: anchors 0, 5, 10 and rows 0:1000', () => {
    const ds = loadDataset(path.join(shared, 'cancer_reward.npy'));
    expect([ds.dim, ds.cond, ds.categorical]).toEqual([2, 7, false]);
    const train = anchorDataset(ds, undefined, parseRowRange('0:1000'));
    expect(train.levels).toEqual([0, 5, 10]);
    expect(train.anchors).toEqual([0, 5, 10]);
    expect(train.data.map((d) => d.length)).toEqual([9000, 9000, 9000]);
    expect(Array.from(train.data[1].subarray(0, 9))).toEqual(Array.from(ds.data[3].subarray(0, 9)));
    const test = selectRows(ds, ...parseRowRange('1000:'));
    expect(rowCount(test, 0)).toBe(6930);
    expect(Array.from(test.data[6].subarray(0, 9))).toEqual(Array.from(ds.data[6].subarray(9000, 9009)));
  });

  it('takes D, C and categorical from options, which override the sidecar', () => {
    const file = makeData({ ...META, dim: 1, cond: 2, categorical: false });
    const ds = loadDataset(file, { dim: 2, cond: 1, categorical: true });
    expect([ds.dim, ds.cond, ds.classes]).toEqual([2, 1, 2]);
    // C inferred from the last axis; a categorical condition is one column.
    expect(loadDataset(file, { dim: 1, categorical: false }).cond).toBe(2);
    expect(loadDataset(makeData({ hyperparameter: [0, 0.5, 1], categorical: true })).dim).toBe(2);
  });

  it('reads a 2-D array [N, D+C] as a single level', () => {
    const file = makeData(null, { shape: [5, 3] });
    const ds = loadDataset(file, { dim: 2, cond: 1, categorical: true });
    expect(ds.levels).toEqual([0]);
    expect(rowCount(ds, 0)).toBe(5);
    expect(() => anchorDataset(ds)).toThrow(/no anchor levels/);
  });

  it('uses an explicit --meta sidecar', () => {
    const file = makeData(null);
    const meta = path.join(dir, 'elsewhere.json');
    fs.writeFileSync(meta, JSON.stringify(META));
    expect(loadDataset(file, { meta }).anchors).toEqual([0, 1]);
  });
});

describe('validation errors: one clear message each', () => {
  it('file missing', () => {
    expect(() => loadDataset(path.join(dir, 'none.npy'))).toThrow(/^cannot read '.*none\.npy': no such file$/);
  });

  it('file unreadable (a directory)', () => {
    expect(() => loadDataset(dir, { dim: 2, cond: 1 })).toThrow(/^cannot read '.*': it is a directory$/);
  });

  it('not a .npy (bad magic)', () => {
    const file = path.join(dir, 'text.npy');
    fs.writeFileSync(file, 'hello, world\n');
    expect(() => loadDataset(file, { dim: 2, cond: 1 })).toThrow(/text\.npy': not a \.npy file \(bad magic bytes\)$/);
  });

  it('wrong rank', () => {
    expect(() => loadDataset(makeData(META, { shape: [9] }))).toThrow(/wrong rank 1 \(shape \[9\]\); expected \[levels, rows, D\+C\] or \[rows, D\+C\]/);
    expect(() => loadDataset(makeData(META, { shape: [3, 1, 2, 3] }))).toThrow(/wrong rank 4/);
  });

  it('D + C does not match the last axis', () => {
    expect(() => loadDataset(makeData({ ...META, dim: 2, cond: 2, categorical: false }))).toThrow(
      /D \+ C = 2 \+ 2 = 4 does not match the last axis \(3\) of shape \[3, 4, 3\]/,
    );
  });

  it('D and C unknown', () => {
    expect(() => loadDataset(makeData({ hyperparameter: [0, 0.5, 1] }))).toThrow(/D and C are unknown/);
  });

  it('NaN and Inf, saying level, row and column', () => {
    const nan = makeData(META, { edit: (d) => (d[(1 * 4 + 2) * 3 + 1] = NaN) });
    expect(() => loadDataset(nan)).toThrow(/: NaN at level 1 \(λ = 0\.5\), row 2, column 1 \('y1'\); counted from 0$/);
    const inf = makeData({ ...META, categorical: false }, { edit: (d) => (d[(2 * 4 + 3) * 3 + 2] = -Infinity) });
    expect(() => loadDataset(inf)).toThrow(/: -Infinity at level 2 \(λ = 1\), row 3, column 2 \('x0'\)/);
  });

  it('levels not strictly increasing', () => {
    expect(() => loadDataset(makeData({ ...META, hyperparameter: [0, 1, 1] }))).toThrow(/levels must be strictly increasing, but λ = 1 follows λ = 1 \(position 2\)/);
    expect(() => loadDataset(makeData({ ...META, hyperparameter: [0, 1, 0.5] }))).toThrow(/but λ = 0\.5 follows λ = 1/);
  });

  it('level count not matching the array', () => {
    expect(() => loadDataset(makeData({ ...META, hyperparameter: [0, 1] }))).toThrow(/lists 2 hyperparameter values but the array has 3 levels/);
  });

  it('level values unknown for a multi-level array', () => {
    expect(() => loadDataset(makeData(null), { dim: 2, cond: 1 })).toThrow(/the λ values of its 3 levels are unknown/);
  });

  it('categorical column not integral, or negative', () => {
    const frac = makeData(META, { edit: (d) => (d[(2 * 4 + 1) * 3 + 2] = 0.5) });
    expect(() => loadDataset(frac)).toThrow(/categorical column holds 0\.5 at level 2 \(λ = 1\), row 1; class ids must be integers ≥ 0/);
    const neg = makeData(META, { edit: (d) => (d[2] = -1) });
    expect(() => loadDataset(neg)).toThrow(/categorical column holds -1 at level 0 \(λ = 0\), row 0/);
  });

  it('categorical with more than one condition column', () => {
    expect(() => loadDataset(makeData({ ...META, dim: 1, cond: 2 }))).toThrow(/categorical data needs exactly one condition column \(the class id\), but C = 2/);
  });

  it('anchors not among the levels', () => {
    expect(() => loadDataset(makeData({ ...META, anchors: [0, 0.7] }))).toThrow(/anchor λ = 0\.7 is not one of the levels \[0, 0\.5, 1\]/);
    expect(() => loadDataset(makeData({ ...META, validation: [0.25] }))).toThrow(/validation λ = 0\.25 is not one of the levels/);
  });

  it('test levels: read from the sidecar, among the levels, never an anchor', () => {
    const meta = { ...META, hyperparameter: [0, 0.25, 0.5, 1], validation: [0.5], test: [0.25] };
    const ds = loadDataset(makeData(meta, { shape: [4, 4, 3] }));
    expect(ds.test).toEqual([0.25]);
    expect(selectLevels(ds, [0, 0.25]).test).toEqual([0.25]);
    expect(() => loadDataset(makeData({ ...meta, test: [0.3] }, { shape: [4, 4, 3] }))).toThrow(/test λ = 0\.3 is not one of the levels/);
    expect(() => loadDataset(makeData({ ...meta, test: [1] }, { shape: [4, 4, 3] }))).toThrow(/test λ = 1 is also an anchor; test levels must be held out/);
    expect(() => parseSidecar('{"test": [0.5, null]}', 's.json')).toThrow("s.json: 'test' must be a list of finite numbers");
  });

  it('λ scale: read from the sidecar, carried by level selections, one of the known names', () => {
    const ds = loadDataset(makeData({ ...META, scale: 'log1m' }));
    expect(ds.scale).toBe('log1m');
    expect(anchorDataset(ds).scale).toBe('log1m');
    expect(loadDataset(makeData({ ...META, scale: 'auto' })).scale).toBeUndefined();
    expect(() => parseSidecar('{"scale": "cubic"}', 's.json')).toThrow(`s.json: 'scale' must be one of auto, linear, log, logit, log1m, got "cubic"`);
    expect(() => parseSidecar('{"scale": 2}', 's.json')).toThrow(/'scale' must be one of/);
  });

  it('fewer than 2 anchors', () => {
    expect(() => loadDataset(makeData({ ...META, anchors: [0.5] }))).toThrow(/needs at least 2 anchor levels, got 1/);
    const ds = loadDataset(makeData(META));
    expect(() => anchorDataset(ds, [1])).toThrow(/needs at least 2 anchor levels, got 1/);
  });

  it('sidecar missing, not JSON, or with a mistyped field', () => {
    const file = makeData(null);
    expect(() => loadDataset(file, { meta: path.join(dir, 'nope.json') })).toThrow(/^cannot read '.*nope\.json': no such file$/);
    expect(() => parseSidecar('{"dim": 2,', 's.json')).toThrow(/^s\.json: not valid JSON/);
    expect(() => parseSidecar('[1, 2]', 's.json')).toThrow('s.json: expected a JSON object');
    expect(() => parseSidecar('{"dim": 1.5}', 's.json')).toThrow("s.json: 'dim' must be an integer ≥ 1, got 1.5");
    expect(() => parseSidecar('{"anchors": [0, "a"]}', 's.json')).toThrow("s.json: 'anchors' must be a list of finite numbers");
    expect(() => parseSidecar('{"categorical": "yes"}', 's.json')).toThrow("s.json: 'categorical' must be true or false");
  });
});

describe('selections', () => {
  const ds: Dataset = loadDataset(makeData(META));

  it('selects levels by λ, sorted, keeping anchors and validation that remain', () => {
    const s = selectLevels(ds, [1, 0.5]);
    expect(s.levels).toEqual([0.5, 1]);
    expect(s.data[0]).toBe(ds.data[1]);
    expect(s.anchors).toEqual([1]);
    expect(s.validation).toEqual([0.5]);
    expect(selectLevels(ds, [0.5 + 1e-9]).levels).toEqual([0.5]);
    expect(() => selectLevels(ds, [0.3])).toThrow(/λ = 0\.3 is not one of the levels \[0, 0\.5, 1\]/);
    expect(() => selectLevels(ds, [0, 0])).toThrow(/selected twice/);
  });

  it('selects row ranges, clipped to each level', () => {
    const s = selectRows(ds, 1, 3);
    expect(s.data.map((d) => d.length)).toEqual([6, 6, 6]);
    expect(Array.from(s.data[2])).toEqual(Array.from(ds.data[2].subarray(3, 9)));
    expect(rowCount(selectRows(ds, 2, 100), 0)).toBe(2);
    expect(() => selectRows(ds, 4, 10)).toThrow(/row range 4:10 is empty at level λ = 0, which has 4 rows/);
  });

  it('parses --rows', () => {
    expect(parseRowRange('0:1000')).toEqual([0, 1000]);
    expect(parseRowRange('1000:')).toEqual([1000, Infinity]);
    expect(parseRowRange(':5')).toEqual([0, 5]);
    for (const bad of ['5', '5:5', '6:2', 'a:b', '-1:3', '1.5:3']) expect(() => parseRowRange(bad)).toThrow(/--rows expects START:END/);
  });

  it('builds the anchor training set from the sidecar or given anchors', () => {
    expect(anchorDataset(ds).levels).toEqual([0, 1]);
    const a = anchorDataset(ds, [0, 0.5], [0, 2]);
    expect(a.levels).toEqual([0, 0.5]);
    expect(a.anchors).toEqual([0, 0.5]);
    expect(rowCount(a, 1)).toBe(2);
  });

  it('reads rows files as .npy [N, width] and names the expected width', () => {
    const file = path.join(dir, 'rows.npy');
    writeNpy(file, { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    expect(readRowsFile(file, 3)).toEqual({ rows: 2, data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    expect(() => readRowsFile(file, 7)).toThrow(/shape \[2, 3\] is not rows of width 7; expected \[N, 7\]/);
    writeNpy(file, { shape: [3], data: Float32Array.from([1, 2, 3]) });
    expect(readRowsFile(file, 3).rows).toBe(1);
  });
});
