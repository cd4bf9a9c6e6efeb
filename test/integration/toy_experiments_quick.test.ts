// End-to-end --quick runs of the toy experiment scripts (A.4 regression grid, margins, toy
// WGAN comparison): outputs exist, pictures have the right size, metrics are finite.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useGpu } from '../support/gpu.js';
import {
  fOpt,
  gradNormOpt,
  gridConfigs,
  gridMetrics,
  gridPoints,
  LR_DEFAULTS,
  runGrid,
  runLipschitzRegression,
  runName,
  type LrOptions,
} from '../../experiments/lipschitz_regression.js';
import { MARGIN_DEFAULTS, PENALTIES, runMargins, twoRolls } from '../../experiments/margins.js';
import { runToyCompare, COMPARED } from '../../experiments/toy_compare.js';
import { toyOptions } from '../../experiments/toy_wgan.js';
import { Metrics } from '../../experiments/training/run.js';

useGpu();

function pngSize(file: string): { width: number; height: number } {
  const b = fs.readFileSync(file);
  expect(b.subarray(1, 4).toString('latin1'), `${file} is a PNG`).toBe('PNG');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** A chart: a PNG of a plausible size with its Vega-Lite spec (title, data) beside it. */
function expectChart(file: string): void {
  const { width, height } = pngSize(file);
  expect(width, file).toBeGreaterThan(300);
  expect(height, file).toBeGreaterThan(200);
  const spec = JSON.parse(fs.readFileSync(file.replace(/\.png$/, '.vl.json'), 'utf8'));
  expect(typeof spec.title, `${file}: spec title`).toBe('string');
}

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `alr-${name}-`));

/** Markdown table rows (lines starting with '| ' that are not the header or separator). */
function tableRows(md: string): string[] {
  return md
    .split('\n')
    .filter(
      (l) => l.startsWith('| ') && !l.startsWith('| run') && !l.startsWith('| penalty') && !l.startsWith('| reg'),
    );
}

describe('A.4 Lipschitz regression', () => {
  it('the reference f_opt scores zero error against itself', () => {
    const n = 33;
    const pts = gridPoints(n);
    const f = new Float32Array(n * n);
    const gn = new Float32Array(n * n);
    for (let i = 0; i < n * n; i++) {
      const r = Math.hypot(pts[2 * i], pts[2 * i + 1]);
      f[i] = fOpt(r);
      gn[i] = gradNormOpt(r);
    }
    const m = gridMetrics(f, gn, n);
    expect(m.mseOpt).toBeLessThan(1e-12); // float32 storage of f
    expect(m.gradNormErr).toBe(0);
    expect(m.maxGradNorm).toBe(1);
    expect(m.mseTarget).toBeGreaterThan(0.01); // f_opt is not the (discontinuous) target
    expect(m.mseTarget).toBeLessThan(0.1);
  });

  it('--quick grid writes heat maps, a contact sheet and summary.md; reruns skip finished runs', async () => {
    const out = tmp('a4');
    const o: LrOptions = { ...LR_DEFAULTS, iters: 12, every: 6, grid: 32, regBatch: 128, out, progress: false };
    const configs = gridConfigs(true);
    const r = await runGrid(o, configs);
    expect(r.summaries.length).toBe(configs.length);
    for (const s of r.summaries) {
      expectChart(s.heatmap);
      for (const [k, v] of Object.entries(s.metrics)) expect(Number.isFinite(v), `${s.name} ${k}`).toBe(true);
      expect(s.metrics.maxGradNorm).toBeGreaterThan(0);
      expect(s.metrics.fracAbove105).toBeGreaterThanOrEqual(0);
      expect(s.metrics.fracAbove105).toBeLessThanOrEqual(1);
      expect(s.wallSeconds).toBeGreaterThan(0);
      expect(s.assumptions.optimizer).toContain('Adam');
      expect(fs.existsSync(path.join(out, s.name, 'checkpoint.safetensors'))).toBe(true);
    }
    expectChart(path.join(out, 'f_opt.png'));
    expect(pngSize(r.sheet).width).toBe(4 * 400);
    const md = fs.readFileSync(r.table, 'utf8');
    expect(md).toContain('Assumptions: optimizer: Adam lr=0.001');
    const rows = tableRows(md).filter((l) => !l.startsWith('|---'));
    expect(rows.map((l) => l.split('|')[1].trim())).toEqual(['none', 'SN', 'LP λ=1 +BN', 'ALP λ=1 k=1 +BN']);
    // a second call reads the summaries back instead of training again
    const t = performance.now();
    const again = await runGrid(o, configs);
    expect(again.summaries.map((s) => s.wallSeconds)).toEqual(r.summaries.map((s) => s.wallSeconds));
    expect(performance.now() - t).toBeLessThan(5000);
  });

  it('a single run resumes from its checkpoint', async () => {
    const out = tmp('a4r');
    const base: LrOptions = {
      ...LR_DEFAULTS,
      reg: 'alp',
      lambda: 1,
      k: 1,
      bn: true,
      iters: 8,
      every: 4,
      ckptEvery: 4,
      grid: 16,
      regBatch: 64,
      out,
      progress: false,
    };
    await runLipschitzRegression(base);
    const s = await runLipschitzRegression({ ...base, iters: 16, resume: true });
    const rows = Metrics.read(path.join(out, runName(base), 'metrics.jsonl'));
    expect(rows.map((r) => r.step)).toEqual([4, 8, 12, 16]);
    expect(s.secondsPerIter).toBeGreaterThan(0);
    for (const r of rows) expect(r.violations).toBeGreaterThanOrEqual(0);
    for (const r of rows) expect(r.violations).toBeLessThanOrEqual(64);
  });
});

describe('expected margins', () => {
  it('two rolls: the second class is the first scaled by 1.5', () => {
    const { x, y } = twoRolls(50, 0, 3);
    const r = (i: number) => Math.hypot(x[2 * i], x[2 * i + 1]);
    for (let i = 0; i < 50; i++) expect(y[i]).toBe(-1);
    for (let i = 50; i < 100; i++) expect(y[i]).toBe(1);
    // noise 0: radii t/7.5 ∈ [1.5π, 4.5π]/7.5 and 1.5× that
    for (let i = 0; i < 50; i++) expect(r(i)).toBeGreaterThanOrEqual((1.5 * Math.PI) / 7.5 - 1e-5);
    for (let i = 50; i < 100; i++) expect(r(i)).toBeLessThanOrEqual((1.5 * 4.5 * Math.PI) / 7.5 + 1e-5);
  });

  it('--quick writes a table with every penalty row and finite margins', async () => {
    const out = tmp('margins');
    const o = { ...MARGIN_DEFAULTS, seeds: 2, iters: 25, perClass: 32, hidden: 16, steps: 16, bisect: 8, out };
    const r = await runMargins(o);
    expect(r.results.length).toBe(2 * PENALTIES.length);
    for (const res of r.results) {
      expect(res.accuracy).toBeGreaterThanOrEqual(0);
      expect(res.accuracy).toBeLessThanOrEqual(1);
      if (res.correct > 0) {
        for (const v of Object.values(res.firstOrder)) {
          expect(Number.isFinite(v)).toBe(true);
          expect(v).toBeGreaterThan(0);
        }
        // L∞ ≤ L2 ≤ L1 margins for the dual-norm estimate (‖g‖∞ ≤ ‖g‖₂ ≤ ‖g‖₁)
        expect(res.firstOrder.linf).toBeLessThanOrEqual(res.firstOrder.l2 + 1e-6);
        expect(res.firstOrder.l2).toBeLessThanOrEqual(res.firstOrder.l1 + 1e-6);
      }
      for (const v of Object.values(res.lineSearch)) if (!Number.isNaN(v)) expect(v).toBeLessThanOrEqual(o.tMax);
    }
    const md = fs.readFileSync(r.table, 'utf8');
    const rows = tableRows(md).filter((l) => !l.startsWith('|---'));
    expect(rows.length).toBe(2 * PENALTIES.length); // margin table + line-search table
    for (const p of PENALTIES) expect(md).toContain(`| ${p.label} |`);
    expect(pngSize(r.sheet).width).toBe(4 * 300);
  });
});

describe('toy WGAN comparison', () => {
  it('--quick runs every regulariser and writes curves, a sample sheet and summary.md', async () => {
    const out = tmp('toycmp');
    const o = toyOptions({ quick: true, dataset: '8gaussians', reg: 'alp', out, progress: false });
    const r = await runToyCompare(o);
    expect(r.summaries.map((s) => s.reg)).toEqual(COMPARED);
    for (const c of r.curves) expectChart(c);
    expect(pngSize(r.sheet).width).toBe(3 * 300);
    for (const s of r.summaries) {
      expect(Number.isFinite(s.final.w1)).toBe(true);
      expect(Number.isFinite(s.final.gradNormInterp)).toBe(true);
      expect(s.final.probeViolations).toBeGreaterThanOrEqual(0);
      expect(s.final.probeViolations).toBeLessThanOrEqual(512);
    }
    const alp = r.summaries.find((s) => s.reg === 'alp')!;
    expect(alp.final.violations).toBeGreaterThanOrEqual(0);
    expect(alp.final.violations).toBeLessThanOrEqual(2 * o.batch);
    const md = fs.readFileSync(r.table, 'utf8');
    for (const reg of COMPARED) expect(md).toContain(`| ${reg} |`);
  });
});
