// Small synthetic data sets in the real on-disk formats, for tests and --quick runs: each class
// is a bright band at its own position plus noise, so classifiers can learn it in a few steps.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { HostRng } from '../../../engine/index.js';
import { encodeIdx } from './idx.js';
import { CIFAR_RECORD } from './images.js';

function classImage(label: number, c: number, h: number, w: number, rng: HostRng): Uint8Array {
  const img = new Uint8Array(c * h * w);
  const band = Math.floor(((label + 0.5) * h) / 10);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const on = Math.abs(y - band) <= 1 && x >= 2 && x < w - 2;
        img[(ch * h + y) * w + x] = Math.min(255, (on ? 200 : 10) + rng.int(40));
      }
    }
  }
  return img;
}

/** Writes train-/t10k- IDX image and label files (gzipped unless gzip = false) into dir. */
export function writeSyntheticFashion(
  dir: string,
  o: { train?: number; test?: number; gzip?: boolean; seed?: number } = {},
): string {
  fs.mkdirSync(dir, { recursive: true });
  const rng = new HostRng(o.seed ?? 1);
  for (const [prefix, n] of [
    ['train', o.train ?? 200],
    ['t10k', o.test ?? 100],
  ] as const) {
    const images = new Uint8Array(n * 784);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 10;
      images.set(classImage(labels[i], 1, 28, 28, rng), i * 784);
    }
    const write = (name: string, buf: Buffer) =>
      o.gzip === false
        ? fs.writeFileSync(path.join(dir, name), buf)
        : fs.writeFileSync(path.join(dir, `${name}.gz`), zlib.gzipSync(buf));
    write(`${prefix}-images-idx3-ubyte`, encodeIdx([n, 28, 28], images));
    write(`${prefix}-labels-idx1-ubyte`, encodeIdx([n], labels));
  }
  return dir;
}

/** Writes data_batch_1..5.bin and test_batch.bin with `perBatch` records each. */
export function writeSyntheticCifar(dir: string, perBatch = 20, seed = 2): string {
  fs.mkdirSync(dir, { recursive: true });
  const rng = new HostRng(seed);
  const names = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`).concat('test_batch.bin');
  for (const name of names) {
    const buf = Buffer.alloc(perBatch * CIFAR_RECORD);
    for (let i = 0; i < perBatch; i++) {
      const label = rng.int(10);
      buf[i * CIFAR_RECORD] = label;
      buf.set(classImage(label, 3, 32, 32, rng), i * CIFAR_RECORD + 1);
    }
    fs.writeFileSync(path.join(dir, name), buf);
  }
  return dir;
}
