// The README's main job, in miniature: a toy WGAN-ALP run writes its picture and metrics, and a
// run resumed from its checkpoint continues exactly as an uninterrupted one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runToyWgan, toyOptions } from '../../experiments/toy_wgan.js';
import { Metrics } from '../../experiments/training/run.js';
import { useGpu } from '../support/gpu.js';

useGpu();

const pngSize = (file: string) => {
  const b = fs.readFileSync(file);
  expect(b.subarray(1, 4).toString()).toBe('PNG');
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
};

describe('toy WGAN experiment', () => {
  it('--quick ALP run: picture, finite metrics, violations within 0..2B', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'toy-'));
    const o = toyOptions({ quick: true, out, seed: 3, progress: false, dataset: '8gaussians', reg: 'alp' });
    const s = await runToyWgan(o);
    expect(fs.existsSync(s.picture)).toBe(true);
    const [w, h] = pngSize(s.picture);
    expect(w).toBeGreaterThan(480);
    expect(h).toBeGreaterThan(480);
    // the picture's spec holds the points it shows and the critic field under them
    const spec = JSON.parse(fs.readFileSync(s.picture.replace(/\.png$/, '.vl.json'), 'utf8'));
    expect(spec.layer.map((l: { mark: { type: string } }) => l.mark.type)).toEqual(['rect', 'circle']);
    expect(spec.layer[1].data.values.length).toBe(2 * 256);
    expect(fs.existsSync(path.join(out, 'samples.svg'))).toBe(true);
    const rows = Metrics.read(path.join(out, 'metrics.jsonl'));
    expect(rows.length).toBe(2);
    for (const r of rows) for (const v of Object.values(r)) expect(Number.isFinite(v)).toBe(true);
    for (const r of rows) {
      expect(r.violations).toBeGreaterThanOrEqual(0);
      expect(r.violations).toBeLessThanOrEqual(2 * o.batch);
    }
    expect(fs.existsSync(path.join(out, 'curves.png'))).toBe(true);
  });

  it('a run resumed from its checkpoint gives bit-identical metrics to an uninterrupted run', async () => {
    const base = { quick: true, seed: 5, progress: false, dataset: '25gaussians', reg: 'alp' };
    const a = fs.mkdtempSync(path.join(os.tmpdir(), 'toyA-'));
    await runToyWgan({ ...toyOptions({ ...base, out: a }), iters: 20, every: 10 });
    const b = fs.mkdtempSync(path.join(os.tmpdir(), 'toyB-'));
    await runToyWgan({ ...toyOptions({ ...base, out: b }), iters: 10, every: 10 });
    await runToyWgan({ ...toyOptions({ ...base, out: b }), iters: 20, every: 10, resume: true });
    const strip = (rows: Record<string, number>[]) =>
      rows.map(({ seconds: _s, rssMB: _r, gpuMB: _g, bindGroups: _b, ...r }) => r);
    const ra = strip(Metrics.read(path.join(a, 'metrics.jsonl')));
    const rb = strip(Metrics.read(path.join(b, 'metrics.jsonl')));
    expect(rb).toEqual(ra);
  });

  it('the compiled iteration (the default) gives the metrics of --eager (ALP, GP, spectral norm)', async () => {
    for (const reg of ['alp', 'gp', 'sn']) {
      const runs: Record<string, number>[][] = [];
      for (const eager of [false, true]) {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), `toy-${reg}-${eager}-`));
        await runToyWgan({
          ...toyOptions({ quick: true, seed: 7, progress: false, dataset: 'swissroll', reg, out }),
          iters: 6,
          every: 6,
          eager,
        });
        runs.push(
          Metrics.read(path.join(out, 'metrics.jsonl')).map(
            ({ seconds: _s, rssMB: _r, gpuMB: _g, bindGroups: _b, ...r }) => r,
          ),
        );
      }
      expect(runs[0], reg).toEqual(runs[1]);
    }
  });
});
