// The image experiments end to end in --quick mode on small synthetic IDX / CIFAR files, plus
// the host linear algebra behind cFID / cIS against closed forms.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useGpu } from '../support/gpu.js';
import { Metrics } from '../../experiments/training/run.js';
import { frechetDistance, inceptionScore, meanCov, sqrtmPsd, symmetricEigen } from '../../experiments/image_metrics.js';
import { classifierOptions, runClassifier } from '../../experiments/fmnist_classifier.js';
import { imageOptions, runImageWgan } from '../../experiments/image_wgan.js';
import { runSemisup, semisupOptions } from '../../experiments/semisup.js';
import { writeSyntheticCifar, writeSyntheticFashion } from '../../experiments/training/data/synthetic.js';

useGpu();

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'alr-img-'));

/** PNG width and height from the IHDR chunk. */
function pngSize(file: string): [number, number] {
  const b = fs.readFileSync(file);
  expect(b.subarray(1, 4).toString()).toBe('PNG');
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

/** A chart: a PNG of a plausible size with its Vega-Lite spec (title, data) beside it. */
function expectChart(file: string): void {
  const [width, height] = pngSize(file);
  expect(width, file).toBeGreaterThan(300);
  expect(height, file).toBeGreaterThan(200);
  const spec = JSON.parse(fs.readFileSync(file.replace(/\.png$/, '.vl.json'), 'utf8'));
  expect(typeof spec.title, `${file}: spec title`).toBe('string');
}

function matmul(a: ArrayLike<number>, b: ArrayLike<number>, d: number): number[] {
  const out = new Array(d * d).fill(0);
  for (let i = 0; i < d; i++)
    for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) out[i * d + j] += a[i * d + k] * b[k * d + j];
  return out;
}

function randomRotation(d: number, seed: number): number[] {
  // Gram-Schmidt on a deterministic pseudo-random matrix
  const m = Array.from({ length: d * d }, (_, i) => (Math.sin(seed * 97.1 + i * 12.9898) * 43758.5453) % 1);
  const q = new Array(d * d).fill(0);
  for (let c = 0; c < d; c++) {
    const v = Array.from({ length: d }, (_, r) => m[r * d + c]);
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let r = 0; r < d; r++) dot += v[r] * q[r * d + p];
      for (let r = 0; r < d; r++) v[r] -= dot * q[r * d + p];
    }
    const n = Math.hypot(...v);
    for (let r = 0; r < d; r++) q[r * d + c] = v[r] / n;
  }
  return q;
}

const transpose = (a: number[], d: number) => a.map((_, i) => a[(i % d) * d + Math.floor(i / d)]);

describe('cFID / cIS linear algebra', () => {
  it('Jacobi eigen-decomposition reconstructs a symmetric matrix; sqrtm squares back', () => {
    const d = 6;
    const q = randomRotation(d, 1);
    const lam = [5, 3, 2, 1, 0.5, 0.01];
    const a = matmul(
      matmul(
        q,
        lam.flatMap((l, i) => Array.from({ length: d }, (_, j) => (i === j ? l : 0))),
        d,
      ),
      transpose(q, d),
      d,
    );
    const { values } = symmetricEigen(a, d);
    expect([...values].sort((x, y) => y - x).map((v) => +v.toFixed(8))).toEqual(lam);
    const s = sqrtmPsd(a, d);
    const s2 = matmul(s, s, d);
    for (let i = 0; i < d * d; i++) expect(s2[i]).toBeCloseTo(a[i], 9);
  });

  it('Fréchet distance matches the closed form for diagonal covariances and is rotation invariant', () => {
    const mu1 = [0, 1, 2];
    const mu2 = [1, 1, 0];
    const v1 = [1, 4, 9];
    const v2 = [4, 1, 0.25];
    const diag = (v: number[]) => v.flatMap((x, i) => v.map((_, j) => (i === j ? x : 0)));
    // ‖Δμ‖² + Σ (σ1 - σ2)²
    const expected = 1 + 0 + 4 + (1 - 2) ** 2 + (2 - 1) ** 2 + (3 - 0.5) ** 2;
    expect(frechetDistance(mu1, diag(v1), mu2, diag(v2))).toBeCloseTo(expected, 9);
    const q = randomRotation(3, 2);
    const rot = (c: number[]) => matmul(matmul(q, c, 3), transpose(q, 3), 3);
    const rv = (m: number[]) => [0, 1, 2].map((i) => m.reduce((s, x, j) => s + q[i * 3 + j] * x, 0));
    expect(frechetDistance(rv(mu1), rot(diag(v1)), rv(mu2), rot(diag(v2)))).toBeCloseTo(expected, 8);
    expect(frechetDistance(mu1, rot(diag(v1)), mu1, rot(diag(v1)))).toBeCloseTo(0, 7);
    expect(() => frechetDistance([0], [1], [0, 1], [1, 0, 0, 1])).toThrow(/mismatched sizes/);
  });

  it('mean and unbiased covariance', () => {
    const { mu, cov } = meanCov([1, 2, 3, 6, 5, 4], 3, 2);
    expect([...mu]).toEqual([3, 4]);
    expect([...cov]).toEqual([4, 2, 2, 4]);
    const neg = meanCov([0, 2, 1, 1, 2, 0], 3, 2);
    expect([...neg.cov]).toEqual([1, -1, -1, 1]);
  });

  it('IS analogue: k for confident uniform predictions, 1 for identical ones, split statistics', () => {
    const k = 4;
    const onehots = Array.from({ length: 8 }, (_, i) =>
      Array.from({ length: k }, (_, j) => (j === i % k ? 1 : 0)),
    ).flat();
    expect(inceptionScore(onehots, 8, k).mean).toBeCloseTo(4, 10);
    const same = Array.from({ length: 8 }, () => [0.7, 0.1, 0.1, 0.1]).flat();
    expect(inceptionScore(same, 8, k).mean).toBeCloseTo(1, 10);
    // two rows [p, 1-p] and [1-p, p]: p(y) uniform, IS = exp(log 2 - H(p))
    const p = 0.9;
    const h = -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
    expect(inceptionScore([p, 1 - p, 1 - p, p], 2, 2).mean).toBeCloseTo(Math.exp(Math.log(2) - h), 10);
    const s = inceptionScore(onehots, 8, k, 2);
    expect(s.mean).toBeCloseTo(4, 10);
    expect(s.std).toBeCloseTo(0, 10);
    expect(() => inceptionScore(onehots, 8, k, 9)).toThrow(/splits/);
  });
});

describe('image experiments (--quick, synthetic data)', () => {
  const root = tmp();
  const fashion = writeSyntheticFashion(path.join(root, 'fashion'), { train: 120, test: 60 });
  const clfDir = path.join(root, 'clf');

  it('fmnist_classifier trains, caches and reuses its weights', async () => {
    const o = classifierOptions({ quick: true, data: fashion, out: clfDir, progress: false, seed: 0 });
    const s = await runClassifier(o);
    expect(s.cached).toBe(false);
    for (const a of [s.valAccuracy, s.testAccuracy]) expect(a >= 0 && a <= 1).toBe(true);
    expect(fs.existsSync(path.join(clfDir, 'classifier.safetensors'))).toBe(true);
    const rows = Metrics.read(path.join(clfDir, 'metrics.jsonl'));
    expect(rows.length).toBe(2);
    for (const r of rows) expect(Number.isFinite(r.trainLoss)).toBe(true);
    expectChart(path.join(clfDir, 'curves.png'));
    const again = await runClassifier(o);
    expect(again.cached).toBe(true);
    expect(again.testAccuracy).toBe(s.testAccuracy);
  });

  it('image_wgan (ALP) writes metrics, grids, curves, cFID / cIS and resumes', async () => {
    const out = path.join(root, 'alp');
    const o = imageOptions({
      config: 'fmnist',
      reg: 'alp',
      norm: 'none',
      quick: true,
      data: fashion,
      out,
      progress: false,
      seed: 0,
      classifier: clfDir,
    });
    const first = await runImageWgan({ ...o, iters: 2 });
    expect(first.final.step).toBe(2);
    const s = await runImageWgan({ ...o, iters: 4, resume: true });
    const rows = Metrics.read(path.join(out, 'metrics.jsonl'));
    expect(rows.map((r) => r.step)).toEqual([2, 4]);
    for (const r of rows) {
      for (const k of ['wasserstein', 'criticLoss', 'gradNormInterp', 'violations', 'probeViolations'])
        expect(Number.isFinite(r[k]), k).toBe(true);
      expect(r.violations).toBeGreaterThanOrEqual(0);
      expect(r.probeViolations).toBeLessThanOrEqual(2 * o.batch);
    }
    expect(Number.isFinite(s.final.cFID) && s.final.cFID >= 0).toBe(true);
    expect(s.final.cIS).toBeGreaterThanOrEqual(1 - 1e-6);
    expect(s.final.cIS).toBeLessThanOrEqual(10 + 1e-6);
    // 8×8 grid of 28×28 images with 1-pixel gaps, scale 2
    expect(pngSize(path.join(out, 'samples_000004.png'))).toEqual([8 * 29 * 2, 8 * 29 * 2]);
    for (const f of [
      'curves.png',
      'violations.png',
      'gradnorm.png',
      'scores.png',
      'summary.json',
      'checkpoint.safetensors',
    ]) {
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    }
    const ev = await runImageWgan({ ...o, iters: 4, evalOnly: true });
    expect(ev.final.step).toBe(4);
    const scores = JSON.parse(fs.readFileSync(path.join(out, 'scores.json'), 'utf8'));
    expect(scores.cFID).toBeGreaterThanOrEqual(0);
    // real training images against real test images: the floor, far below 4 iterations' samples
    expect(scores.realTrainCFID).toBeGreaterThanOrEqual(0);
    expect(scores.realTrainCFID).toBeLessThan(scores.cFID);
  });

  it('image_wgan runs GP with WGAN-BN, SN with layer norm and no regulariser at 32×32', async () => {
    for (const [reg, norm] of [
      ['gp', 'batch'],
      ['sn', 'layer'],
      ['none', 'none'],
    ] as const) {
      const out = path.join(root, `${reg}_${norm}`);
      const o = imageOptions({
        config: 'fmnist',
        reg,
        norm,
        quick: true,
        data: fashion,
        out,
        progress: false,
        seed: 1,
        size: 32,
      });
      const s = await runImageWgan({ ...o, iters: 1, criticIters: 1 });
      expect(Number.isFinite(s.final.wasserstein), `${reg}/${norm}`).toBe(true);
      expect(pngSize(path.join(out, 'samples.png'))).toEqual([8 * 33 * 2, 8 * 33 * 2]);
      if (reg === 'gp') expect(s.final.gradNormPenalty).toBeGreaterThan(0);
    }
  });

  it('image_wgan --config cifar10 keeps the paper setting and runs on CIFAR-10 binary batches', async () => {
    const cifar = writeSyntheticCifar(path.join(root, 'cifar'), 4);
    const full = imageOptions({
      config: 'cifar10',
      reg: 'alp',
      norm: 'none',
      data: cifar,
      out: root,
      progress: false,
      seed: 0,
    });
    expect([
      full.dim,
      full.batch,
      full.genBatch,
      full.criticIters,
      full.lr,
      full.beta1,
      full.beta2,
      full.decayIters,
      full.iters,
    ]).toEqual([128, 64, 128, 5, 2e-4, 0, 0.9, 100_000, 100_000]);
    expect([full.xi, full.epsMin, full.epsMax, full.k, full.flip]).toEqual([10, 0.1, 10, 1, true]);
    const o = imageOptions({
      config: 'cifar10',
      reg: 'alp',
      norm: 'none',
      quick: true,
      data: cifar,
      out: path.join(root, 'cifar_out'),
      progress: false,
      seed: 0,
    });
    const s = await runImageWgan({ ...o, iters: 1, criticIters: 1 });
    expect(s.lambda).toBe(100);
    expect(Number.isFinite(s.final.wasserstein)).toBe(true);
    expect(pngSize(path.join(root, 'cifar_out', 'samples.png'))).toEqual([8 * 33 * 2, 8 * 33 * 2]);
  });

  it('semisup compares supervised, VAT and ALR and writes the table', async () => {
    const out = path.join(root, 'semisup');
    const o = semisupOptions({
      quick: true,
      data: fashion,
      out,
      progress: false,
      seed: 0,
      methods: 'supervised,vat,alr',
      seeds: '0',
    });
    const results = await runSemisup({ ...o, steps: 2, every: 1 });
    expect(results.map((r) => r.method)).toEqual(['supervised', 'vat', 'alr']);
    for (const r of results) {
      expect(r.valAccuracy >= 0 && r.valAccuracy <= 1).toBe(true);
      expect(r.testAccuracy >= 0 && r.testAccuracy <= 1).toBe(true);
    }
    const alr = Metrics.read(path.join(out, 'alr_seed0', 'metrics.jsonl'));
    expect(alr.every((r) => Number.isFinite(r.penalty) && r.penalty > 0 && Number.isFinite(r.entropy))).toBe(true);
    const sup = Metrics.read(path.join(out, 'supervised_seed0', 'metrics.jsonl'));
    expect(sup.every((r) => r.penalty === 0)).toBe(true);
    expect(fs.readFileSync(path.join(out, 'results.md'), 'utf8')).toMatch(/\| alr \| [\d.]+ \| [\d.]+ \| 1 \|/);
    expectChart(path.join(out, 'accuracy.png'));
    expect(() => semisupOptions({ methods: 'vat,foo', seeds: '0' })).toThrow(/unknown method 'foo'/);
  });
});
