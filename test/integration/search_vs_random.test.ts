// experiments/search_vs_random.ts: its option checks, and a --quick study on
// every critic kind (synthetic Fashion-MNIST files) with its tables and pictures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSearchVsRandom, svrOptions } from '../../experiments/search_vs_random.js';
import { writeSyntheticFashion } from '../../experiments/training/data/synthetic.js';
import { useGpu } from '../support/gpu.js';

useGpu();

describe('search_vs_random', () => {
  it('refuses bad lists in one line', () => {
    expect(() => svrOptions({ critics: 'toy,mnist' })).toThrow(
      /^--critics: expected some of toy, toy-trained, fmnist, fmnist-trained, cifar, cifar-trained, got 'mnist'$/,
    );
    expect(() => svrOptions({ ks: '0,1.5' })).toThrow(/^--ks: expected integers >= 0, got '1.5'$/);
    expect(() => svrOptions({ xis: '1,-1' })).toThrow(/^--xis: expected numbers > 0, got '-1'$/);
    expect(() => svrOptions({ toyPoints: 3 })).toThrow(/expected even numbers/);
  });
});

describe('search_vs_random --quick', () => {
  it('studies 2-, 784- and 3072-dim critics, untrained and trained, and writes tables and charts', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'svr-'));
    const data = writeSyntheticFashion(path.join(root, 'fashion'), { train: 64, test: 32 });
    const o = svrOptions({
      quick: true,
      out: path.join(root, 'out'),
      data,
      progress: false,
      critics: 'toy,toy-trained,fmnist-trained,cifar-trained',
      ks: '0,1',
      xis: '10',
    });
    const r = await runSearchVsRandom(o);
    expect(Object.keys(r.truth)).toEqual(['toy', 'toy-trained', 'fmnist-trained', 'cifar-trained']);
    // the CIFAR-shaped critic trained on 3-channel 32×32 images
    expect(fs.existsSync(path.join(o.out, 'train_cifar_shaped', 'checkpoint.safetensors'))).toBe(true);
    expect(r.rows.map((x) => x.dim)).toContain(3072);
    expect(r.rows.map((x) => x.dim)).toContain(784);
    for (const row of r.rows) {
      expect(row.passes).toBe(2 + 2 * row.k);
      expect(row.cos.n).toBeGreaterThan(0);
      expect(row.cos.mean).toBeGreaterThanOrEqual(0);
      expect(row.cos.mean).toBeLessThanOrEqual(1 + 1e-6);
      if (row.detection.n) expect(row.detection.mean >= 0 && row.detection.mean <= 1).toBe(true);
      expect(row.detectionMedian.n).toBeGreaterThan(0);
    }
    // one paper row and one random row per critic and k
    expect(r.rows.length).toBe(4 * 2 * 2);
    const md = fs.readFileSync(path.join(o.out, 'results.md'), 'utf8');
    expect(md).toMatch(/Welch t-tests/);
    for (const f of ['cos_vs_k.png', 'detection_vs_k.png', 'detection_median_vs_k.png', 'results.json'])
      expect(fs.existsSync(path.join(o.out, f)), f).toBe(true);
  });
});
