// A small safetensors encoder/decoder (portable; the file reader/writer is safetensors_file.ts). There is no well-kept npm library for it (the
// `safetensors` package is a 0.0.1 stub), and the format is simple: an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
// "__metadata__": {string: string}}, then the raw little-endian tensor bytes, offsets counted
// from the start of that data section.

export type StDType = 'F32' | 'I32' | 'U32';
export interface StTensor {
  dtype: StDType;
  shape: number[];
  data: Float32Array | Int32Array | Uint32Array;
}

export const ARRAYS = { F32: Float32Array, I32: Int32Array, U32: Uint32Array } as const;
const KNOWN_DTYPES = new Set([
  'BOOL',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
]);
/** Largest header the reference implementation accepts (100 MB). */
const MAX_HEADER = 100_000_000;

export function checkHost(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1)
    throw new Error('safetensors: this reader/writer assumes a little-endian host');
}

export function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Serialises tensors (in the given order) and string metadata to safetensors bytes. */
export function encodeSafetensors(
  tensors: Iterable<[string, StTensor]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  checkHost();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors: metadata '${k}' must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  const parts: Uint8Array[] = [];
  let off = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__' || name in header)
      throw new Error(`safetensors: duplicate or reserved tensor name '${name}'`);
    if (!(t.data instanceof ARRAYS[t.dtype]))
      throw new Error(`safetensors: '${name}' is ${t.dtype} but its data is a ${t.data.constructor.name}`);
    if (numel(t.shape) !== t.data.length) {
      throw new Error(`safetensors: '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    }
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + bytes.length] };
    parts.push(bytes);
    off += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const head = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20); // space-padded: the data section is 8-aligned
  head.set(json);
  const out = new Uint8Array(8 + head.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let p = 8 + head.length;
  for (const b of parts) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

export interface SafetensorsEntry {
  name: string;
  dtype: StDType;
  shape: number[];
  begin: number;
  end: number;
}

/** Reads the 8-byte header length; `fileLen` is the whole file's size. */
export function headerLength(first8: Uint8Array, fileLen: number, fail: (m: string) => never): number {
  if (fileLen < 8) fail(`file is ${fileLen} bytes, too short for the 8-byte header length (truncated?)`);
  const n64 = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) fail(`header length ${n64} is implausible (corrupt file?)`);
  const n = Number(n64);
  if (8 + n > fileLen) fail(`header length ${n} exceeds the ${fileLen - 8} bytes after the length field (truncated?)`);
  return n;
}

/**
 * Validates a header against the size of the data section, before any tensor is read: every
 * structural problem (JSON error, unknown dtype, offsets out of range or overlapping, byte counts
 * that do not match the shape, a data section of the wrong length) throws.
 */
export function parseHeader(
  json: Uint8Array,
  dataLen: number,
  fail: (m: string) => never,
): { entries: SafetensorsEntry[]; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(json));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!entry || typeof entry !== 'object') fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') fail(`entry '${name}' is not an object`);
    if (typeof e.dtype !== 'string' || !KNOWN_DTYPES.has(e.dtype))
      fail(`'${name}' has unknown dtype ${JSON.stringify(e.dtype)}`);
    const dtype = e.dtype as string;
    if (!(dtype in ARRAYS)) fail(`'${name}' has dtype ${dtype}; only F32, I32 and U32 are supported`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      fail(`'${name}' has an invalid shape ${JSON.stringify(shape)}`);
    const offs = e.data_offsets;
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((d) => Number.isInteger(d) && d >= 0) ||
      offs[0] > offs[1]
    ) {
      fail(`'${name}' has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const want = numel(shape as number[]) * 4;
    if (end - begin !== want)
      fail(`'${name}' spans ${end - begin} bytes but ${dtype} [${(shape as number[]).join(', ')}] needs ${want}`);
    if (end > dataLen)
      fail(
        `'${name}' data_offsets [${begin}, ${end}] are out of range: the data section has ${dataLen} bytes (truncated?)`,
      );
    entries.push({ name, dtype: dtype as StDType, shape: shape as number[], begin, end });
  }
  // the tensors must tile the data section exactly: no overlaps, holes or trailing bytes
  const spans = [...entries].sort((x, y) => x.begin - y.begin);
  let pos = 0;
  for (const { begin, end, name } of spans) {
    if (begin !== pos) fail(`'${name}' starts at byte ${begin}, expected ${pos} (overlapping or missing data)`);
    pos = end;
  }
  if (pos !== dataLen) fail(`the data section has ${dataLen} bytes but the tensors cover ${pos} (wrong byte count)`);
  return { entries, metadata };
}

export const failer =
  (source: string) =>
  (msg: string): never => {
    throw new Error(`safetensors: ${source}: ${msg}`);
  };

/** Parses safetensors bytes; every structural problem throws an error naming `source`. */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = '<bytes>',
): { tensors: Map<string, StTensor>; metadata: Record<string, string> } {
  checkHost();
  const fail = failer(source);
  const n = headerLength(bytes.subarray(0, 8), bytes.length, fail);
  const dataStart = 8 + n;
  const { entries, metadata } = parseHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, fail);
  const tensors = new Map<string, StTensor>();
  for (const e of entries) {
    const copy = bytes.slice(dataStart + e.begin, dataStart + e.end); // a fresh, aligned buffer
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: new ARRAYS[e.dtype](copy.buffer) });
  }
  return { tensors, metadata };
}
