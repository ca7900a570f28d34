import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy, parseNpy, readNpy, writeNpy } from '../src/data/npy.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = path.resolve(here, '../data');
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** Build an .npy file by hand: any version, any header dict, raw data bytes. */
function handNpy(version: 1 | 2 | 3, dict: string, data: Uint8Array): Buffer {
  const prefix = version === 1 ? 10 : 12;
  const pad = 64 - ((prefix + dict.length + 1) % 64);
  const header = Buffer.from(dict + ' '.repeat(pad) + '\n', 'latin1');
  const head = Buffer.alloc(prefix);
  Buffer.from(MAGIC).copy(head, 0);
  head[6] = version;
  head[7] = 0;
  if (version === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, header, Buffer.from(data)]);
}

function f64Bytes(values: number[]): Uint8Array {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeDoubleLE(v, i * 8));
  return b;
}

function f32Bytes(values: number[]): Uint8Array {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

// Written by numpy 2.x: np.lib.format.write_array(f, np.arange(6.).reshape(2, 3) / 7 - 0.25, version=(2, 0)) and (3, 0).
const NUMPY_F64_V2 =
  'k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAADQv9y2bdu2bbu/kCRJkiRJoj+2bdu2bdvGPyRJkiRJktQ/btu2bdu23T8=';
const NUMPY_F64_V3 =
  'k05VTVBZAwB0AAAAeydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAADQv9y2bdu2bbu/kCRJkiRJoj+2bdu2bdvGPyRJkiRJktQ/btu2bdu23T8=';

describe('.npy files written by numpy (shared data)', () => {
  it('reads dropout_2moons: [7, 1000, 3], class column 0/1 with 500 rows each per level', () => {
    const a = readNpy(path.join(shared, 'dropout_2moons.npy'));
    expect(a.shape).toEqual([7, 1000, 3]);
    expect(a.data.length).toBe(7 * 1000 * 3);
    for (let t = 0; t < 7; t++) {
      const counts = [0, 0];
      for (let r = 0; r < 1000; r++) {
        const c = a.data[(t * 1000 + r) * 3 + 2];
        expect(c === 0 || c === 1).toBe(true);
        counts[c] += 1;
      }
      expect(counts).toEqual([500, 500]);
    }
    // The two moons lie within a few units of the origin; all values finite.
    expect(a.data.every((v) => Number.isFinite(v) && Math.abs(v) < 20)).toBe(true);
  });

  it('reads cancer_reward: [7, 7930, 9], finite', () => {
    const a = readNpy(path.join(shared, 'cancer_reward.npy'));
    expect(a.shape).toEqual([7, 7930, 9]);
    expect(a.data.every(Number.isFinite)).toBe(true);
  });

  it('re-encodes both shared files to exactly numpy’s bytes', () => {
    for (const name of ['dropout_2moons.npy', 'cancer_reward.npy']) {
      const bytes = fs.readFileSync(path.join(shared, name));
      expect(Buffer.compare(encodeNpy(parseNpy(bytes)), bytes)).toBe(0);
    }
  });

  it('reads numpy-written float64 with v2 and v3 headers, converting to float32', () => {
    const expected = [0, 1, 2, 3, 4, 5].map((i) => Math.fround(i / 7 - 0.25));
    for (const b64 of [NUMPY_F64_V2, NUMPY_F64_V3]) {
      const a = parseNpy(Buffer.from(b64, 'base64'));
      expect(a.shape).toEqual([2, 3]);
      expect(a.data).toBeInstanceOf(Float32Array);
      expect(Array.from(a.data)).toEqual(expected);
    }
  });
});

describe('.npy written by hand', () => {
  it('reads float64 with a version 1 header', () => {
    const values = [1.5, -2.25, 1e-3, 3.141592653589793];
    const a = parseNpy(handNpy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", f64Bytes(values)));
    expect(a.shape).toEqual([2, 2]);
    expect(Array.from(a.data)).toEqual(values.map(Math.fround));
  });

  it('reads float32 with a version 2 header and any key order', () => {
    const values = [0.5, 1, 2, 4, 8, 16];
    const a = parseNpy(handNpy(2, "{'shape': (1, 3, 2), 'fortran_order': False, 'descr': '<f4'}", f32Bytes(values)));
    expect(a.shape).toEqual([1, 3, 2]);
    expect(Array.from(a.data)).toEqual(values);
  });

  it('reads a 1-D, a scalar and an empty array', () => {
    expect(parseNpy(handNpy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f32Bytes([1, 2, 3])))).toEqual({ shape: [3], data: Float32Array.from([1, 2, 3]) });
    expect(parseNpy(handNpy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f32Bytes([7])))).toEqual({ shape: [], data: Float32Array.from([7]) });
    expect(parseNpy(handNpy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", new Uint8Array(0))).shape).toEqual([0, 4]);
  });

  it('refuses Fortran order, other dtypes, big-endian, truncation, trailing bytes and bad magic', () => {
    const ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
    expect(() => parseNpy(handNpy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", f32Bytes([1, 2, 3, 4])))).toThrow(/Fortran-order/);
    expect(() => parseNpy(handNpy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(16)))).toThrow(/unsupported \.npy dtype '<i8'/);
    expect(() => parseNpy(handNpy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(8)))).toThrow(/big-endian/);
    const full = handNpy(1, ok, f32Bytes([1, 2, 3, 4]));
    expect(() => parseNpy(full.subarray(0, full.length - 3), 'x.npy')).toThrow(/x\.npy: \.npy data is truncated \(shape \[2,2\] needs 16 bytes, file has 13\)/);
    expect(() => parseNpy(full.subarray(0, 40))).toThrow(/truncated inside its header/);
    expect(() => parseNpy(Buffer.concat([full, Buffer.alloc(4)]))).toThrow(/4 unexpected bytes/);
    expect(() => parseNpy(Buffer.from('lambda,y0\n0,1\n'))).toThrow(/not a \.npy file \(bad magic bytes\)/);
    expect(() => parseNpy(handNpy(1, "{'descr': '<f4', 'shape': (2,), }", new Uint8Array(8)))).toThrow(/malformed \.npy header/);
    const v9 = Buffer.from(full);
    v9[6] = 9;
    expect(() => parseNpy(v9)).toThrow(/unsupported \.npy format version 9/);
  });
});

describe('.npy writing', () => {
  it('round-trips shapes through a file with a 64-byte aligned v1 header', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-npy-'));
    try {
      for (const shape of [[2, 3, 4], [5], [], [0, 3], [1000, 9]]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i) * 1e3));
        const file = path.join(dir, `a${shape.join('x')}.npy`);
        writeNpy(file, { shape, data });
        const bytes = fs.readFileSync(file);
        expect(Array.from(bytes.subarray(0, 8))).toEqual([...MAGIC, 1, 0]);
        expect((10 + bytes.readUInt16LE(8)) % 64).toBe(0);
        expect(readNpy(file)).toEqual({ shape, data });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a shape that does not match the data', () => {
    expect(() => encodeNpy({ shape: [2, 2], data: new Float32Array(3) })).toThrow(/needs 4 values, got 3/);
  });

  it('names the missing file', () => {
    expect(() => readNpy('/nonexistent/hti/x.npy')).toThrow("cannot read '/nonexistent/hti/x.npy': no such file");
  });
});
