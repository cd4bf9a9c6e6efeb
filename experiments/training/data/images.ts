// Labelled uint8 image sets (NCHW) and the two data sets we read: Fashion-MNIST (IDX) and
// CIFAR-10 (binary batches).
import fs from 'node:fs';
import path from 'node:path';
import { readIdx } from './idx.js';

export interface ImageSet {
  /** uint8 pixels, NCHW */
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  c: number;
  h: number;
  w: number;
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_CLASSES = [
  'T-shirt',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Boot',
];

/** The first of `names` (plain or .gz) that exists in dir. */
function findFile(dir: string, names: string[], what: string): string {
  const candidates = names.flatMap((n) => [n, `${n}.gz`]);
  for (const n of candidates) {
    const f = path.join(dir, n);
    if (fs.existsSync(f)) return f;
  }
  throw new Error(
    `${what}: none of ${candidates.join(', ')} found in ${dir}` +
      (dir === FASHION_MNIST_DIR
        ? ' (install it with `apt-get install dataset-fashion-mnist` or pass --data <dir>)'
        : ''),
  );
}

/** Fashion-MNIST (or MNIST) from its four IDX files: train-* (60k) or t10k-* (10k). */
export function loadFashionMnist(dir: string, split: 'train' | 'test'): ImageSet {
  const prefix = split === 'train' ? 'train' : 't10k';
  const imgFile = findFile(
    dir,
    [`${prefix}-images-idx3-ubyte`, `${prefix}-images.idx3-ubyte`],
    `Fashion-MNIST ${split} images`,
  );
  const lblFile = findFile(
    dir,
    [`${prefix}-labels-idx1-ubyte`, `${prefix}-labels.idx1-ubyte`],
    `Fashion-MNIST ${split} labels`,
  );
  const img = readIdx(imgFile);
  if (img.dims.length !== 3)
    throw new Error(`${imgFile}: expected 3 dimensions [N, 28, 28] (magic 0x00000803), got [${img.dims.join(', ')}]`);
  const lbl = readIdx(lblFile);
  if (lbl.dims.length !== 1)
    throw new Error(`${lblFile}: expected 1 dimension [N] (magic 0x00000801), got [${lbl.dims.join(', ')}]`);
  const [n, h, w] = img.dims;
  if (lbl.dims[0] !== n) throw new Error(`${lblFile}: ${lbl.dims[0]} labels but ${imgFile} has ${n} images`);
  if (n === 0) throw new Error(`${imgFile}: no images`);
  for (let i = 0; i < n; i++) {
    if (lbl.data[i] > 9) throw new Error(`${lblFile}: label ${lbl.data[i]} at index ${i} is outside 0..9`);
  }
  return { images: img.data, labels: lbl.data, n, c: 1, h, w };
}

export const CIFAR_RECORD = 1 + 3 * 32 * 32;

/** One CIFAR-10 binary batch: records of <1 label byte><3072 pixel bytes, R then G then B planes>. */
export function readCifarBatch(file: string): ImageSet {
  if (!fs.existsSync(file))
    throw new Error(`${file}: file not found (expected a CIFAR-10 binary batch, e.g. data_batch_1.bin)`);
  const buf = fs.readFileSync(file);
  if (buf.length === 0 || buf.length % CIFAR_RECORD !== 0) {
    throw new Error(
      `${file}: ${buf.length} bytes is not a whole number of ${CIFAR_RECORD}-byte CIFAR-10 records (1 label + 3072 pixels; a full batch is 10000 records = 30730000 bytes)`,
    );
  }
  const n = buf.length / CIFAR_RECORD;
  const images = new Uint8Array(n * 3072);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * CIFAR_RECORD;
    if (buf[o] > 9)
      throw new Error(`${file}: record ${i} has label ${buf[o]}, expected 0..9 (is this the CIFAR-100 format?)`);
    labels[i] = buf[o];
    images.set(buf.subarray(o + 1, o + CIFAR_RECORD), i * 3072);
  }
  return { images, labels, n, c: 3, h: 32, w: 32 };
}

/**
 * CIFAR-10 from a folder of binary batches: 'train' = data_batch_1..5.bin, 'test' =
 * test_batch.bin, 'all' = both (the ALR code trains on all 60k).
 */
export function loadCifar10(dir: string, split: 'train' | 'test' | 'all'): ImageSet {
  const train = [1, 2, 3, 4, 5].map((i) => path.join(dir, `data_batch_${i}.bin`));
  const test = [path.join(dir, 'test_batch.bin')];
  const files = split === 'train' ? train : split === 'test' ? test : [...train, ...test];
  return concatSets(files.map(readCifarBatch));
}

export function concatSets(sets: ImageSet[]): ImageSet {
  const [a] = sets;
  for (const s of sets)
    if (s.c !== a.c || s.h !== a.h || s.w !== a.w) throw new Error(`concatSets: image shapes differ`);
  const n = sets.reduce((t, s) => t + s.n, 0);
  const images = new Uint8Array(n * a.c * a.h * a.w);
  const labels = new Uint8Array(n);
  let o = 0;
  for (const s of sets) {
    images.set(s.images, o * a.c * a.h * a.w);
    labels.set(s.labels, o);
    o += s.n;
  }
  return { images, labels, n, c: a.c, h: a.h, w: a.w };
}

/** The images at the given indices (a new set). */
export function subset(s: ImageSet, idx: ArrayLike<number>): ImageSet {
  const d = s.c * s.h * s.w;
  const images = new Uint8Array(idx.length * d);
  const labels = new Uint8Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    images.set(s.images.subarray(idx[i] * d, (idx[i] + 1) * d), i * d);
    labels[i] = s.labels[idx[i]];
  }
  return { images, labels, n: idx.length, c: s.c, h: s.h, w: s.w };
}

/** Zero-pads (uint8 0, i.e. -1 after scaling) each image to size×size, centred. */
export function padTo(s: ImageSet, size: number): ImageSet {
  if (s.h === size && s.w === size) return s;
  if (s.h > size || s.w > size) throw new Error(`padTo: images are ${s.h}×${s.w}, larger than ${size}×${size}`);
  const top = (size - s.h) >> 1;
  const left = (size - s.w) >> 1;
  const images = new Uint8Array(s.n * s.c * size * size);
  for (let p = 0; p < s.n * s.c; p++) {
    for (let y = 0; y < s.h; y++) {
      images.set(s.images.subarray((p * s.h + y) * s.w, (p * s.h + y + 1) * s.w), (p * size + y + top) * size + left);
    }
  }
  return { ...s, images, h: size, w: size };
}

/** The images with their one channel repeated `c` times (a grey set shaped like an RGB one). */
export function repeatChannels(s: ImageSet, c: number): ImageSet {
  if (s.c !== 1) throw new Error(`repeatChannels: expected one-channel images, got ${s.c} channels`);
  const px = s.h * s.w;
  const images = new Uint8Array(s.n * c * px);
  for (let i = 0; i < s.n; i++)
    for (let ch = 0; ch < c; ch++) images.set(s.images.subarray(i * px, (i + 1) * px), (i * c + ch) * px);
  return { ...s, images, c };
}
