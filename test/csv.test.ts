import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseLongCsv, parseNumberCell, parseRowsCsv } from '../src/data/csv.js';
import { loadDataset, readRowsFile } from '../src/data/load.js';
import { columnNames } from '../src/data/dataset.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-csv-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const LONG = ['lambda,a,b,cls', '0.5,1,2,0', '0,3,4,1', '0.5,5,6,1', '0,7,8,0', '1,9,10,0'].join('\n');

describe('long-form CSV', () => {
  it('groups rows by λ into increasing levels, keeping file order within a level', () => {
    const t = parseLongCsv(LONG, { outputs: ['a', 'b'], conditions: ['cls'] });
    expect(t.levels).toEqual([0, 0.5, 1]);
    expect(t.outputs).toEqual(['a', 'b']);
    expect(t.conditions).toEqual(['cls']);
    expect(Array.from(t.data[0])).toEqual([3, 4, 1, 7, 8, 0]);
    expect(Array.from(t.data[1])).toEqual([1, 2, 0, 5, 6, 1]);
    expect(Array.from(t.data[2])).toEqual([9, 10, 0]);
  });

  it('orders columns as named, whatever the header order', () => {
    const t = parseLongCsv(LONG, { outputs: ['b', 'a'], conditions: [] });
    expect(t.conditions).toEqual([]);
    expect(Array.from(t.data[2])).toEqual([10, 9]);
  });

  it('takes the remaining columns as outputs or conditions when only one side is named', () => {
    expect(parseLongCsv(LONG, { conditions: ['cls'] }).outputs).toEqual(['a', 'b']);
    expect(parseLongCsv(LONG, { outputs: ['a'] }).conditions).toEqual(['b', 'cls']);
  });

  it('splits unnamed columns by position given D and C', () => {
    const t = parseLongCsv(LONG, { dim: 1, cond: 2 });
    expect(t.outputs).toEqual(['a']);
    expect(t.conditions).toEqual(['b', 'cls']);
    expect(() => parseLongCsv(LONG, { dim: 2, cond: 2 })).toThrow(/D \+ C = 2 \+ 2 = 4 does not match the 3 non-lambda columns/);
  });

  it('handles quotes, spaces, CRLF, a BOM, blank lines, comments and exponent notation', () => {
    const text = '\ufeff"lambda", "y, first" ,z\r\n# a comment\r\n1e-1, "2.5", -3E2\r\n\r\n0.1,.5,+4\r\n';
    const t = parseLongCsv(text, { outputs: ['y, first', 'z'] });
    expect(t.levels).toEqual([0.1]);
    expect(Array.from(t.data[0])).toEqual([2.5, -300, 0.5, 4]);
  });

  it('parses NaN and infinities (left for validation to locate) but refuses other text', () => {
    expect(parseNumberCell('nan')).toBeNaN();
    expect(parseNumberCell('-Inf')).toBe(-Infinity);
    expect(parseNumberCell('1.5e3')).toBe(1500);
    expect(parseNumberCell('abc')).toBeNull();
    expect(parseNumberCell('')).toBeNull();
    expect(parseNumberCell('0x10')).toBeNull();
  });

  it('gives one clear error for each malformed input', () => {
    const cols = { outputs: ['a', 'b'], conditions: ['cls'] };
    expect(() => parseLongCsv('', cols, 'f.csv')).toThrow('f.csv: empty CSV (no header)');
    expect(() => parseLongCsv('lambda,a,b,cls\n', cols, 'f.csv')).toThrow('f.csv: CSV has a header but no data rows');
    expect(() => parseLongCsv('lam,a,b,cls\n0,1,2,3', cols, 'f.csv')).toThrow("f.csv: no 'lambda' column in the header (lam, a, b, cls)");
    expect(() => parseLongCsv(LONG, { outputs: ['a', 'q'] }, 'f.csv')).toThrow("f.csv: output column 'q' is not in the header");
    expect(() => parseLongCsv(LONG, { outputs: ['a'], conditions: ['a'] }, 'f.csv')).toThrow("column 'a' is named both as output and as condition");
    expect(() => parseLongCsv(LONG, { outputs: ['lambda'] }, 'f.csv')).toThrow("'lambda' is the level column");
    expect(() => parseLongCsv(LONG, {}, 'f.csv')).toThrow(/cannot tell output columns from condition columns/);
    expect(() => parseLongCsv('lambda,a,b,cls\n0,1,x,0', cols, 'f.csv')).toThrow("f.csv: line 2, column 'b': 'x' is not a number");
    expect(() => parseLongCsv('lambda,a,b,cls\n0,1,,0', cols, 'f.csv')).toThrow("f.csv: line 2, column 'b': '' is not a number");
    expect(() => parseLongCsv('lambda,a,b,cls\n0,1,2', cols, 'f.csv')).toThrow('f.csv: line 2 has 3 columns, the header has 4');
    expect(() => parseLongCsv('lambda,a,a,cls\n0,1,2,0', cols, 'f.csv')).toThrow("column 'a' appears twice");
    expect(() => parseLongCsv('lambda,a,b,cls\ninf,1,2,0', cols, 'f.csv')).toThrow("line 2: λ value 'inf' is not finite");
  });
});

describe('loading CSV datasets', () => {
  it('uses column names from the options', () => {
    const file = write('opts.csv', LONG);
    const ds = loadDataset(file, { outputs: ['a', 'b'], conditions: ['cls'], categorical: true });
    expect(ds.levels).toEqual([0, 0.5, 1]);
    expect([ds.dim, ds.cond, ds.categorical, ds.classes]).toEqual([2, 1, true, 2]);
    expect(columnNames(ds)).toEqual(['a', 'b', 'cls']);
  });

  it('uses column names, anchors and levels from a sidecar of the same name', () => {
    const file = write('side.csv', LONG);
    write('side.json', JSON.stringify({ hyperparameter: [0, 0.5, 1], dim: 2, cond: 1, categorical: true, anchors: [0, 1], validation: [0.5], outputs: ['a', 'b'], conditions: ['cls'] }));
    const ds = loadDataset(file);
    expect(ds.anchors).toEqual([0, 1]);
    expect(ds.validation).toEqual([0.5]);
    expect(ds.classes).toBe(2);
  });

  it('refuses a CSV whose λ values differ from the sidecar list', () => {
    const file = write('mismatch.csv', LONG);
    write('mismatch.json', JSON.stringify({ hyperparameter: [0, 0.5, 2], outputs: ['a', 'b'] }));
    expect(() => loadDataset(file)).toThrow(/the CSV's λ values \[0, 0\.5, 1\] do not match the sidecar '.*mismatch\.json' hyperparameter list \[0, 0\.5, 2\]/);
  });

  it('refuses D/C that disagree with the named columns', () => {
    const file = write('dc.csv', LONG);
    expect(() => loadDataset(file, { outputs: ['a'], dim: 2 })).toThrow(/D \+ C = 2 \+ 1 does not match the CSV's 1 output and 2 condition columns/);
  });
});

describe('rows files for sampling', () => {
  it('reads CSV rows with or without a header and checks the width', () => {
    expect(parseRowsCsv('x,y\n1,2\n3,4\n', 2)).toEqual({ rows: 2, data: Float32Array.from([1, 2, 3, 4]) });
    expect(parseRowsCsv('1,2\n3,4\n', 2)).toEqual({ rows: 2, data: Float32Array.from([1, 2, 3, 4]) });
    expect(() => parseRowsCsv('1,2,3\n', 2, 'r.csv')).toThrow('r.csv: line 1 has 3 columns, expected 2');
    const file = write('rows.csv', 'a,b,c\n1,2,3\n');
    expect(() => readRowsFile(file, 7)).toThrow(/the header \(line 1\) names 3 columns, expected 7/);
    expect(readRowsFile(file, 3).rows).toBe(1);
    expect(() => readRowsFile(write('nan.csv', '1,2\n3,nan\n'), 2)).toThrow(/NaN at row 1, column 1/);
  });
});
