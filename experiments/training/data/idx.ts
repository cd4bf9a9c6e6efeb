// IDX files (the MNIST / Fashion-MNIST format), plain or gzipped:
//   magic 0x00 0x00 <type> <ndims>, then ndims big-endian uint32 sizes, then the data.
// Only unsigned bytes (type 0x08) are supported: that is all (Fashion-)MNIST uses.
import fs from 'node:fs';
import zlib from 'node:zlib';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Reads a file, gunzipping it when it starts with the gzip magic 1f 8b. */
export function readMaybeGzip(file: string): Buffer {
  if (!fs.existsSync(file)) throw new Error(`${file}: file not found`);
  const raw = fs.readFileSync(file);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return zlib.gunzipSync(raw);
    } catch (e) {
      throw new Error(`${file}: corrupt or truncated gzip data (${(e as Error).message})`);
    }
  }
  return raw;
}

/** Parses IDX bytes; `file` names the source in errors. */
export function parseIdx(buf: Uint8Array, file: string): IdxArray {
  if (buf.length < 4) throw new Error(`${file}: too short for an IDX header (${buf.length} bytes, need at least 4)`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new Error(
      `${file}: not an IDX file: magic starts with 0x${hex(buf[0])} 0x${hex(buf[1])}, expected 0x00 0x00`,
    );
  }
  if (buf[2] !== 0x08)
    throw new Error(`${file}: IDX data type 0x${hex(buf[2])} is not supported; expected 0x08 (unsigned byte)`);
  const ndims = buf[3];
  if (ndims < 1) throw new Error(`${file}: IDX header declares 0 dimensions`);
  const headerBytes = 4 + 4 * ndims;
  if (buf.length < headerBytes)
    throw new Error(`${file}: truncated IDX header: ${buf.length} bytes, need ${headerBytes} for ${ndims} dimensions`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const have = buf.length - headerBytes;
  if (have !== count) {
    throw new Error(
      `${file}: IDX dims [${dims.join(', ')}] need ${count} data bytes after the ${headerBytes}-byte header, found ${have}${have < count ? ' (truncated)' : ''}`,
    );
  }
  return { dims, data: buf.subarray(headerBytes) };
}

export function readIdx(file: string): IdxArray {
  return parseIdx(readMaybeGzip(file), file);
}

/** Encodes an unsigned-byte IDX array (tests and tools write small data sets with it). */
export function encodeIdx(dims: number[], data: Uint8Array): Buffer {
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`encodeIdx: ${data.length} bytes do not fill dims [${dims.join(', ')}]`);
  const out = Buffer.alloc(4 + 4 * dims.length + count);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => out.writeUInt32BE(d, 4 + 4 * i));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function hex(b: number | undefined): string {
  return (b ?? 0).toString(16).padStart(2, '0');
}
