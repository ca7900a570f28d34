/**
 * The safetensors container (8-byte little-endian header length, JSON header, raw little-endian
 * data), float32 only: that is all hti stores. Reading validates every offset so that a truncated
 * or corrupt file is refused with a clear message instead of producing garbage weights.
 */
export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

export function encodeSafetensors(tensors: Record<string, NamedArray>, metadata: Record<string, string> = {}): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const { shape, data } = tensors[name];
    const expected = shape.reduce((a, b) => a * b, 1);
    if (expected !== data.length) throw new Error(`tensor '${name}' has ${data.length} values but shape [${shape}]`);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  while ((json.length + 8) % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name].data;
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, at);
    at += d.byteLength;
  }
  return out;
}

export function decodeSafetensors(buf: Buffer, what = 'weights'): { tensors: Record<string, NamedArray>; metadata: Record<string, string> } {
  if (buf.length < 8) throw new Error(`${what}: file is truncated (${buf.length} bytes)`);
  const headerLength = Number(buf.readBigUInt64LE(0));
  if (headerLength <= 0 || 8 + headerLength > buf.length) throw new Error(`${what}: corrupt header length ${headerLength} for a ${buf.length}-byte file`);
  let header: Record<string, any>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8'));
  } catch {
    throw new Error(`${what}: header is not valid JSON (corrupt file)`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new Error(`${what}: header is not a JSON object (corrupt file)`);
  const dataStart = 8 + headerLength;
  const dataLength = buf.length - dataStart;
  const tensors: Record<string, NamedArray> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (entry && typeof entry === 'object' && !Array.isArray(entry)) metadata = entry as Record<string, string>;
      continue;
    }
    const shapeOk = Array.isArray(entry?.shape) && (entry.shape as unknown[]).every((d) => Number.isInteger(d) && (d as number) >= 0);
    const offsetsOk = Array.isArray(entry?.data_offsets) && entry.data_offsets.length === 2 && (entry.data_offsets as unknown[]).every((v) => Number.isInteger(v));
    if (!entry || entry.dtype !== 'F32' || !shapeOk || !offsetsOk) {
      throw new Error(`${what}: tensor '${name}' has an unsupported or malformed entry`);
    }
    const [begin, end] = entry.data_offsets as number[];
    const count = (entry.shape as number[]).reduce((a, b) => a * b, 1);
    if (!(begin >= 0 && end >= begin && end <= dataLength) || end - begin !== count * 4) {
      throw new Error(`${what}: tensor '${name}' lies outside the file (truncated or corrupt)`);
    }
    const bytes = buf.subarray(dataStart + begin, dataStart + end);
    const data = new Float32Array(count);
    Buffer.from(data.buffer).set(bytes);
    tensors[name] = { shape: entry.shape, data };
  }
  return { tensors, metadata };
}
