import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { useGpu } from '../../support/gpu.js';
import { encodeIdx, parseIdx, readIdx } from '../../../experiments/training/data/idx.js';
import {
  CIFAR_RECORD,
  loadCifar10,
  loadFashionMnist,
  padTo,
  readCifarBatch,
} from '../../../experiments/training/data/images.js';
import { Batcher, oneHot, toFloat } from '../../../experiments/training/data/batches.js';
import { writeSyntheticCifar, writeSyntheticFashion } from '../../../experiments/training/data/synthetic.js';

useGpu();

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'alr-data-'));

describe('IDX', () => {
  it('round-trips plain and gzipped files', () => {
    const dir = tmp();
    const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 7);
    const buf = encodeIdx([2, 3, 4], data);
    expect([...buf.subarray(0, 4)]).toEqual([0, 0, 8, 3]);
    fs.writeFileSync(path.join(dir, 'a'), buf);
    fs.writeFileSync(path.join(dir, 'a.gz'), zlib.gzipSync(buf));
    for (const f of ['a', 'a.gz']) {
      const r = readIdx(path.join(dir, f));
      expect(r.dims).toEqual([2, 3, 4]);
      expect([...r.data]).toEqual([...data]);
    }
  });

  it('names the file and what was expected for every malformed input', () => {
    const dir = tmp();
    const good = encodeIdx([2, 2], Uint8Array.from([1, 2, 3, 4]));
    expect(() => readIdx(path.join(dir, 'missing'))).toThrow(/missing: file not found/);
    expect(() => parseIdx(Uint8Array.from([0, 0]), 'f')).toThrow(/f: too short.*2 bytes/);
    expect(() => parseIdx(Uint8Array.from([1, 2, 8, 1, 0, 0, 0, 0]), 'f')).toThrow(
      /f: not an IDX file.*0x01 0x02.*expected 0x00 0x00/,
    );
    expect(() => parseIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), 'f')).toThrow(/data type 0x0d.*expected 0x08/);
    expect(() => parseIdx(Uint8Array.from([0, 0, 8, 0]), 'f')).toThrow(/0 dimensions/);
    expect(() => parseIdx(good.subarray(0, 9), 'f')).toThrow(/truncated IDX header: 9 bytes, need 12/);
    expect(() => parseIdx(good.subarray(0, 14), 'f')).toThrow(/need 4 data bytes.*found 2 \(truncated\)/);
    expect(() => parseIdx(Buffer.concat([good, Buffer.from([9])]), 'f')).toThrow(/need 4 data bytes.*found 5/);
    const gz = zlib.gzipSync(good);
    fs.writeFileSync(path.join(dir, 'cut.gz'), gz.subarray(0, gz.length - 6));
    expect(() => readIdx(path.join(dir, 'cut.gz'))).toThrow(/cut.gz: corrupt or truncated gzip/);
  });
});

describe('Fashion-MNIST loader', () => {
  for (const gzip of [true, false]) {
    it(`reads the four files (${gzip ? 'gzipped' : 'plain'})`, () => {
      const dir = writeSyntheticFashion(tmp(), { train: 30, test: 20, gzip });
      const tr = loadFashionMnist(dir, 'train');
      const te = loadFashionMnist(dir, 'test');
      expect([tr.n, tr.c, tr.h, tr.w, te.n]).toEqual([30, 1, 28, 28, 20]);
      expect([...tr.labels.subarray(0, 12)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
      expect(tr.images.length).toBe(30 * 784);
    });
  }

  it('rejects missing files, wrong ranks, count mismatches and bad labels', () => {
    const dir = tmp();
    expect(() => loadFashionMnist(dir, 'train')).toThrow(/train-images-idx3-ubyte.*found in/);
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), encodeIdx([2, 784], new Uint8Array(2 * 784)));
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), encodeIdx([2], Uint8Array.from([0, 1])));
    expect(() => loadFashionMnist(dir, 'train')).toThrow(
      /train-images-idx3-ubyte: expected 3 dimensions.*got \[2, 784\]/,
    );
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), encodeIdx([3, 28, 28], new Uint8Array(3 * 784)));
    expect(() => loadFashionMnist(dir, 'train')).toThrow(/2 labels but .* has 3 images/);
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), encodeIdx([3], Uint8Array.from([0, 12, 1])));
    expect(() => loadFashionMnist(dir, 'train')).toThrow(/label 12 at index 1 is outside 0..9/);
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), encodeIdx([3, 1], Uint8Array.from([0, 1, 2])));
    expect(() => loadFashionMnist(dir, 'train')).toThrow(/expected 1 dimension/);
  });
});

describe('CIFAR-10 loader', () => {
  it('reads binary batches (train, test, all) with labels and R, G, B planes', () => {
    const dir = writeSyntheticCifar(tmp(), 4);
    const one = readCifarBatch(path.join(dir, 'data_batch_1.bin'));
    const raw = fs.readFileSync(path.join(dir, 'data_batch_1.bin'));
    expect(one.n).toBe(4);
    expect(one.labels[2]).toBe(raw[2 * CIFAR_RECORD]);
    expect(one.images[3072 + 1024 + 5]).toBe(raw[CIFAR_RECORD + 1 + 1024 + 5]);
    expect(loadCifar10(dir, 'train').n).toBe(20);
    expect(loadCifar10(dir, 'test').n).toBe(4);
    expect(loadCifar10(dir, 'all').n).toBe(24);
  });

  it('rejects missing, truncated and non-CIFAR-10 files', () => {
    const dir = tmp();
    expect(() => loadCifar10(dir, 'test')).toThrow(/test_batch.bin: file not found/);
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), Buffer.alloc(CIFAR_RECORD * 2 - 100));
    expect(() => loadCifar10(dir, 'test')).toThrow(/test_batch.bin: 6046 bytes is not a whole number of 3073-byte/);
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), Buffer.alloc(0));
    expect(() => loadCifar10(dir, 'test')).toThrow(/0 bytes/);
    const bad = Buffer.alloc(CIFAR_RECORD);
    bad[0] = 57;
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), bad);
    expect(() => loadCifar10(dir, 'test')).toThrow(/record 0 has label 57, expected 0..9/);
  });
});

describe('batches', () => {
  const set = {
    images: Uint8Array.from([0, 255, 128, 7, 10, 20, 30, 40]),
    labels: Uint8Array.from([3, 5]),
    n: 2,
    c: 1,
    h: 2,
    w: 2,
  };

  it('scales to [-1, 1) with dequantisation noise within one bin, and flips left-right', () => {
    const mid = toFloat(set, [0], null);
    expect([...mid].map((v) => +v.toFixed(6))).toEqual(
      [0, 255, 128, 7].map((u) => +(((u + 0.5) / 256 - 0.5) * 2).toFixed(6)),
    );
    const rng = new (class {
      n = 0;
      next() {
        return [0.99, 0.3][this.n++ % 2];
      }
    })();
    const noisy = toFloat(set, [0, 1], rng as never, false);
    for (let i = 0; i < 8; i++) {
      const lo = (set.images[i] / 256 - 0.5) * 2;
      expect(noisy[i]).toBeGreaterThanOrEqual(lo);
      expect(noisy[i]).toBeLessThan(lo + 2 / 256);
      expect(noisy[i]).toBeLessThan(1);
    }
    const flipped = toFloat(set, [0], { next: () => 0.1 } as never, true); // < 0.5: mirror
    expect(flipped[0]).toBeGreaterThan(0.99); // 255 moved to the left
    expect(flipped[1]).toBeLessThan(-0.99);
  });

  it('pads 28×28 to 32×32 with background', () => {
    const p = padTo(
      { images: new Uint8Array(784).fill(9), labels: Uint8Array.from([1]), n: 1, c: 1, h: 28, w: 28 },
      32,
    );
    expect([p.h, p.w, p.images.length]).toEqual([32, 32, 1024]);
    expect(p.images[0]).toBe(0);
    expect(p.images[2 * 32 + 2]).toBe(9);
    expect(p.images[29 * 32 + 29]).toBe(9);
    expect(p.images[30 * 32 + 30]).toBe(0);
  });

  it('uploads whole batches, covers each epoch, and resumes from its state', async () => {
    const big = {
      images: new Uint8Array(10 * 4).map((_, i) => i),
      labels: Uint8Array.from({ length: 10 }, (_, i) => i),
      n: 10,
      c: 1,
      h: 2,
      w: 2,
    };
    const b = new Batcher(big, { batch: 5, seed: 3 });
    const first = b.next();
    expect(first.x.shape).toEqual([5, 1, 2, 2]);
    const second = b.next();
    expect(new Set([...first.indices, ...second.indices]).size).toBe(10);
    expect([...first.labels]).toEqual(first.indices);
    const saved = JSON.parse(JSON.stringify(b.state()));
    const a1 = await b.next().x.toFloat32();
    const c = new Batcher(big, { batch: 5, seed: 99 });
    c.setState(saved);
    expect([...(await c.next().x.toFloat32())]).toEqual([...a1]);
    const oh = await oneHot([2, 0], 3).toFloat32();
    expect([...oh]).toEqual([0, 0, 1, 1, 0, 0]);
  });
});
