/**
 * NumPy `.npy` files: read float32/float64 little-endian C-order arrays of any shape (format
 * versions 1, 2 and 3), write float32 with a version-1 header. Everything is returned as float32,
 * the precision hti computes in. See numpy.lib.format for the layout.
 */
import fs from 'node:fs';
import os from 'node:os';
import { fileError } from './files.js';

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
/** numpy aligns the start of the data to this many bytes. */
const ALIGN = 64;

export function hasNpyMagic(buf: Uint8Array): boolean {
  return buf.length >= MAGIC.length && MAGIC.every((b, i) => buf[i] === b);
}

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

/** Parse the Python dict literal of an .npy header, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (7, 3), }. */
function parseHeaderDict(text: string, what: string): NpyHeader {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new Error(`${what}: malformed .npy header ${JSON.stringify(text.trim())}`);
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim().replace(/L$/, ''))
    .filter((s) => s.length > 0)
    .map((s) => {
      if (!/^\d+$/.test(s)) throw new Error(`${what}: malformed shape (${shape[1]}) in .npy header`);
      return Number(s);
    });
  return { descr: descr[1], fortranOrder: fortran[1] === 'True', shape: dims };
}

/** Decode an .npy file held in memory. `what` names it in error messages. */
export function parseNpy(buf: Uint8Array, what = 'array'): NpyArray {
  if (!hasNpyMagic(buf)) throw new Error(`${what}: not a .npy file (bad magic bytes)`);
  if (buf.length < 10) throw new Error(`${what}: .npy file is truncated inside its header`);
  const major = buf[6];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new Error(`${what}: .npy file is truncated inside its header`);
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new Error(`${what}: unsupported .npy format version ${major}.${buf[7]} (1, 2 and 3 are supported)`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > buf.length) throw new Error(`${what}: .npy file is truncated inside its header`);
  // Version 3 only differs by allowing UTF-8 in the header; latin1 and utf8 agree on the keys we read.
  const text = Buffer.from(buf.buffer, buf.byteOffset + headerStart, headerLength).toString(major === 3 ? 'utf8' : 'latin1');
  const header = parseHeaderDict(text, what);
  if (header.fortranOrder) throw new Error(`${what}: Fortran-order .npy arrays are not supported; save with numpy.ascontiguousarray`);
  const itemSize = dtypeSize(header.descr, what);
  const count = header.shape.reduce((a, b) => a * b, 1);
  const expected = count * itemSize;
  const available = buf.length - dataStart;
  if (available < expected) {
    throw new Error(`${what}: .npy data is truncated (shape [${header.shape}] needs ${expected} bytes, file has ${available})`);
  }
  if (available > expected) {
    throw new Error(`${what}: .npy file has ${available - expected} unexpected bytes after the data (corrupt file)`);
  }
  return { shape: header.shape, data: decodeValues(buf, dataStart, count, itemSize) };
}

function dtypeSize(descr: string, what: string): 4 | 8 {
  if (descr === '<f4') return 4;
  if (descr === '<f8') return 8;
  if (descr === '>f4' || descr === '>f8') throw new Error(`${what}: big-endian .npy arrays ('${descr}') are not supported; save as little-endian float32`);
  throw new Error(`${what}: unsupported .npy dtype '${descr}' (only float32 '<f4' and float64 '<f8' are read)`);
}

function decodeValues(buf: Uint8Array, start: number, count: number, itemSize: 4 | 8): Float32Array {
  const out = new Float32Array(count);
  if (itemSize === 4 && os.endianness() === 'LE') {
    // Copy the bytes: the data may not be 4-byte aligned inside a pooled Buffer.
    new Uint8Array(out.buffer).set(buf.subarray(start, start + count * 4));
    return out;
  }
  const view = new DataView(buf.buffer, buf.byteOffset + start, count * itemSize);
  if (itemSize === 4) for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  else for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

/** Read an .npy file; errors name the path. */
export function readNpy(path: string): NpyArray {
  return parseNpy(readFileOrThrow(path), `'${path}'`);
}

/** Read a whole file, turning fs errors into one clear line. */
export function readFileOrThrow(path: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (err) {
    throw fileError(err, 'read', path);
  }
}

/** Encode a float32 array as an .npy file (version 1 header, or 2 if the header would not fit). */
export function encodeNpy(array: NpyArray): Buffer {
  const { shape, data } = array;
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`invalid .npy shape [${shape}]`);
  if (count !== data.length) throw new Error(`.npy shape [${shape}] needs ${count} values, got ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  // Same bytes as numpy.save: spare spaces so the first axis can grow in place (21 digits), then
  // padding to a 64-byte boundary, then a newline.
  const growth = shape.length > 0 ? ' '.repeat(Math.max(0, 21 - String(shape[0]).length)) : '';
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }` + growth;
  let prefix = 10;
  let padded = padHeader(dict, prefix);
  const v2 = padded.length > 0xffff;
  if (v2) {
    prefix = 12;
    padded = padHeader(dict, prefix);
  }
  const out = Buffer.alloc(prefix + padded.length + count * 4);
  MAGIC.copy(out, 0);
  out[6] = v2 ? 2 : 1;
  out[7] = 0;
  if (v2) out.writeUInt32LE(padded.length, 8);
  else out.writeUInt16LE(padded.length, 8);
  out.write(padded, prefix, 'latin1');
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (os.endianness() === 'LE') out.set(bytes, prefix + padded.length);
  else for (let i = 0; i < count; i++) out.writeFloatLE(data[i], prefix + padded.length + i * 4);
  return out;
}

/** Pad the header dict with spaces and a final newline so that the data starts 64-byte aligned (as numpy does). */
function padHeader(dict: string, prefix: number): string {
  const pad = ALIGN - ((prefix + dict.length + 1) % ALIGN);
  return dict + ' '.repeat(pad) + '\n';
}

export function writeNpy(path: string, array: NpyArray): void {
  fs.writeFileSync(path, encodeNpy(array));
}
