// alr-webgpu/training (experiments/training/index.ts) as a user's script imports it: the WGAN
// loop on a tiny MLP pair (rows, checkpoint, exact resume), Metrics, Progress off a terminal, the
// option parsers and a chart written as PNG + SVG + spec.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { MLP } from '../../../nn/index.js';
import * as T from '../../../experiments/training/index.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'alr-training-'));

/** A 1-D WGAN (critic clipped to nothing: the loop is under test, not the GAN) for `iters` iterations. */
async function tinyRun(out: string, iters: number, resume: boolean): Promise<T.WganLoopResult> {
  E.manualSeed(0);
  const G = new MLP([2, 8, 2]);
  const D = new MLP([2, 8, 1]);
  const optG = new E.Adam(G.parameters(), { lr: 1e-3 });
  const optD = new E.Adam(D.parameters(), { lr: 1e-3 });
  let draws = 0;
  return T.runWganLoop({
    name: 'tiny',
    out,
    iters,
    every: 2,
    resume,
    progress: false,
    label: 'tiny',
    modules: { G, D },
    optimizers: { G: optG, D: optD },
    hostState: { key: 'draws', get: () => draws, set: (v) => (draws = v as number) },
    options: { iters },
    iteration: () => {
      draws++;
      const real = E.randNormal([16, 2]);
      const fake = G.forward(E.randNormal([16, 2]));
      const { loss, mon } = T.plainCriticLoss(D, real, E.detach(fake));
      optD.step(E.grad(loss, D.parameters()));
      const gLoss = E.neg(E.mean(D.forward(fake)));
      optG.step(E.grad(gLoss, G.parameters()));
      return mon;
    },
    evaluate: async (ctx) => ({ step: ctx.iter, wasserstein: ctx.mean('wasserstein'), draws }),
    progressText: (row) => `W ${row.wasserstein}`,
  });
}

describe('alr-webgpu/training', () => {
  it('runWganLoop writes a row and a checkpoint every `every` iterations and resumes from them', async () => {
    const out = tmp();
    const first = await tinyRun(out, 4, false);
    expect(first.itersRun).toBe(4);
    expect(first.rows.map((r) => r.step)).toEqual([2, 4]);
    expect(first.rows.every((r) => Number.isFinite(r.wasserstein))).toBe(true);
    expect(fs.existsSync(path.join(out, 'checkpoint.safetensors'))).toBe(true);
    // resumed to 6: two more iterations, host state restored from the checkpoint
    const resumed = await tinyRun(out, 6, true);
    expect(resumed.itersRun).toBe(2);
    expect(resumed.rows.map((r) => r.step)).toEqual([2, 4, 6]);
    expect(resumed.lastRow.draws).toBe(6);
  });

  it('Metrics drops rows after the step it resumes from; Progress off a terminal only logs', () => {
    const file = path.join(tmp(), 'metrics.jsonl');
    const m = new T.Metrics(file);
    for (const step of [1, 2, 3]) m.write({ step, loss: step / 10 });
    m.close();
    const again = new T.Metrics(file, 2);
    again.write({ step: 3, loss: 0 });
    again.close();
    expect(T.Metrics.read(file)).toEqual([
      { step: 1, loss: 0.1 },
      { step: 2, loss: 0.2 },
      { step: 3, loss: 0 },
    ]);
    const p = new T.Progress(10, false);
    p.update(5, 'status');
    p.stop();
  });

  it('option parsers name the flag; program() has the common flags', () => {
    expect(T.intArg('--iters', '12', 1)).toBe(12);
    expect(() => T.intArg('--iters', '0', 1)).toThrow(/--iters: expected an integer >= 1, got '0'/);
    expect(() => T.numArg('--lr', 'x')).toThrow(/--lr: expected a number/);
    const opts = T.program('mine', 'a user script', 'out/mine').parse(['--seed', '3'], { from: 'user' }).opts();
    expect(opts).toMatchObject({ seed: 3, out: 'out/mine', quick: false, progress: true });
  });

  it('saveChart writes the PNG, its SVG and the Vega-Lite spec', async () => {
    const file = path.join(tmp(), 'curve.png');
    const spec = T.lineChartSpec([{ name: 'loss', x: [1, 2, 3], y: [3, 2, 1.5] }], {
      title: 'loss',
      xTitle: 'step',
      yTitle: 'loss',
    });
    expect(await T.saveChart(spec, file)).toBe(file);
    for (const f of ['curve.png', 'curve.svg', 'curve.vl.json'])
      expect(fs.statSync(path.join(path.dirname(file), f)).size).toBeGreaterThan(100);
  });
});
