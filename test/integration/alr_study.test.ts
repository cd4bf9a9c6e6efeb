// experiments/common/study.ts and schemes.ts: the ground-truth search on critics with known Lipschitz
// quotients, the pass counter, each search scheme's invariants, and a --quick study end to end.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import * as A from '../../alr/index.js';
import * as T from '../../bench/conformance/toy_critics.js';
import { schemePenalty, schemeSearch, WarmStart, type SchemeOptions } from '../../experiments/common/schemes.js';
import { countingCritic, groundTruth, runSetting, type StudySetting } from '../../experiments/common/study.js';
import { runAlrStudy, studyOptions } from '../../experiments/alr_study.js';
import { useGpu } from '../support/gpu.js';

useGpu();

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, a) => s + a * a, 0));

function linearCritic(w: number[], c = 0.3): T.MlpCritic {
  return T.mlpCritic([{ W: E.tensor(w, [w.length, 1]), b: E.tensor([c], [1]) }]);
}

describe('ground truth', () => {
  it('linear critic f(x) = w·x: every quotient <= |w|, the sup equals |w|, and ‖∇f‖ = |w|', async () => {
    const w = [0.5, -2, 1];
    const net = linearCritic(w);
    E.manualSeed(1);
    const x = E.randUniform([8, 3], -1, 1);
    const gt = await groundTruth(net, x, { radii: [0.1, 1, 10], restarts: 3, steps: 10 });
    for (let i = 0; i < 8; i++) {
      expect(gt.quotient[i]).toBeLessThanOrEqual(norm(w) * (1 + 1e-4));
      expect(gt.quotient[i]).toBeGreaterThan(norm(w) * (1 - 1e-3));
      expect(Math.abs(gt.gradNorm[i] - norm(w))).toBeLessThan(1e-4);
      // the best direction is ±w/|w|
      const d = Array.from(gt.direction.subarray(3 * i, 3 * i + 3));
      expect(Math.abs(d.reduce((s, v, j) => s + (v * w[j]) / norm(w), 0))).toBeGreaterThan(0.999);
    }
    x.dispose();
  });

  it('one ReLU unit f(x) = a·relu(w·x + b): the closed-form sup per sample (hinge distance d: |a||w|·(1 − d/ρmax))', async () => {
    const w = [3, 4]; // |w| = 5
    const a = -0.4; // Lipschitz constant |a||w| = 2
    const b = 0.5;
    const net = T.mlpCritic([
      { W: E.tensor(w, [2, 1]), b: E.tensor([b], [1]) },
      { W: E.tensor([a], [1, 1]), b: E.tensor([0.1], [1]) },
    ]);
    const pts = [0, 0, 1, 1, -1, -1, -0.5, -0.2, 2, -1, -2, 0.5];
    const x = E.tensor(pts, [6, 2]);
    const rhoMax = 2;
    const gt = await groundTruth(net, x, { radii: [0.05, 0.5, rhoMax], restarts: 8, steps: 25 });
    const L = Math.abs(a) * 5;
    for (let i = 0; i < 6; i++) {
      const pre = w[0] * pts[2 * i] + w[1] * pts[2 * i + 1] + b;
      const d = Math.max(0, -pre) / 5; // distance to the hinge
      const want = pre > 0 ? L : L * Math.max(0, 1 - d / rhoMax);
      expect(Math.abs(gt.quotient[i] - want), `sample ${i}: pre ${pre}`).toBeLessThan(2e-3 * L);
      expect(gt.gradNorm[i]).toBeCloseTo(pre > 0 ? L : 0, 4);
    }
    x.dispose();
  });

  it('a random ReLU MLP: the truth is >= ‖∇f(x)‖ (tiny radius) and <= the product of the layer norms', async () => {
    const layers = T.randomDenseLayers([2, 16, 16, 1], 4);
    const net = T.mlpCritic(layers);
    let bound = 1;
    for (const l of layers) bound *= norm(await l.W.toFloat32()); // Frobenius >= spectral
    E.manualSeed(2);
    const x = E.randUniform([16, 2], -2, 2);
    const gt = await groundTruth(net, x, { radii: [1e-3, 0.1, 1], restarts: 4, steps: 20 });
    for (let i = 0; i < 16; i++) {
      expect(gt.quotient[i]).toBeLessThanOrEqual(bound);
      expect(gt.quotient[i]).toBeGreaterThan(gt.gradNorm[i] * 0.98);
    }
    x.dispose();
  });
});

describe('pass counting and settings', () => {
  it('countingCritic counts forward and backward rows', async () => {
    const { critic, counter } = countingCritic(linearCritic([1, 2]));
    const x = E.requireGrad(E.randUniform([5, 2], -1, 1));
    const y = critic.forward(x);
    E.grad(E.sum(y), [x]);
    E.noGrad(() => critic.forward(E.concat([x, x], 0)));
    expect(counter.forwardRows).toBe(15);
    expect(counter.backwardRows).toBe(5);
  });

  it('ALR k = 1 on a linear critic: |cos(r, ∇f)| = 1, every violation detected, cost 4 passes', async () => {
    const w = [1.5, -1, 0.5];
    const net = linearCritic(w);
    E.manualSeed(3);
    const x = E.randUniform([12, 3], -1, 1);
    const gt = await groundTruth(net, x, { radii: [0.1, 1], restarts: 2, steps: 5 });
    const s: StudySetting = { name: 'k1', scheme: 'paper', k: 1, xi: A.SEARCH_DEFAULTS.xi, eps: A.SEARCH_DEFAULTS.eps };
    const r = await runSetting(net, x, gt, s, { K: 1 });
    expect(r.cosGrad).toBeGreaterThan(0.99999);
    expect(r.cosTruth).toBeGreaterThan(0.999);
    expect(r.trueViolations).toBe(12);
    expect(r.detectionRate).toBe(1);
    expect([r.forward, r.backward]).toEqual([3, 1]);
    // a random direction (k = 0) is worse and costs 2
    const r0 = await runSetting(net, x, gt, { ...s, name: 'k0', k: 0 }, { K: 1 });
    expect(r0.cosGrad).toBeLessThan(0.99);
    expect(r0.cost).toBe(2);
    x.dispose();
  });
});

describe('search schemes', () => {
  const settings: [string, SchemeOptions][] = [
    ['paper k=1', { scheme: 'paper', k: 1 }],
    ['warm k=1', { scheme: 'warm', k: 1 }],
    ['multiRadius k=0 M=3', { scheme: 'multiRadius', k: 0, radii: 3 }],
    ['ascent s=1', { scheme: 'ascent', ascentSteps: 1 }],
    ['ascent s=3', { scheme: 'ascent', ascentSteps: 3 }],
  ];

  it('every scheme returns unit directions, quotients <= ground truth + tolerance, and the counted cost', async () => {
    const net = T.mlpCritic(T.randomDenseLayers([2, 16, 16, 1], 9));
    E.manualSeed(6);
    const x = E.randUniform([24, 2], -2, 2);
    const gt = await groundTruth(net, x, { radii: [0.1, 0.3, 1, 3, 10], restarts: 6, steps: 40 });
    const { critic, counter } = countingCritic(net);
    const expectedCost: Record<string, number> = {
      'paper k=1': 4,
      'warm k=1': 4,
      'multiRadius k=0 M=3': 4,
      'ascent s=1': 4,
      'ascent s=3': 8,
    };
    for (const [name, o] of settings) {
      const warm = o.scheme === 'warm' ? new WarmStart() : undefined;
      counter.reset();
      const res = schemeSearch(critic, x, { ...o, warm, xi: A.SEARCH_DEFAULTS.xi, eps: A.SEARCH_DEFAULTS.eps });
      expect(counter.forwardRows / 24 + counter.backwardRows / 24, name).toBe(expectedCost[name]);
      expect(res.passes.forward + res.passes.backward, name).toBe(expectedCost[name]);
      const dir = await res.direction.toFloat32();
      for (let i = 0; i < 24; i++)
        expect(Math.abs(norm(dir.subarray(2 * i, 2 * i + 2)) - 1), `${name} sample ${i}`).toBeLessThan(1e-5);
      const q = await res.quotient!.toFloat32();
      const eps = await res.eps.toFloat32();
      for (let i = 0; i < 24; i++) {
        expect(q[i], `${name} sample ${i}`).toBeLessThanOrEqual(gt.quotient[i] * 1.02 + 1e-4);
        expect(eps[i]).toBeGreaterThanOrEqual(0.1 - 1e-6);
        expect(eps[i]).toBeLessThanOrEqual(10 + 1e-5);
      }
      warm?.dispose();
    }
    x.dispose();
  });

  it('warm start over consecutive steps on the same points acts like a longer power iteration', async () => {
    const net = T.mlpCritic(T.randomDenseLayers([2, 32, 32, 1], 11));
    E.manualSeed(5);
    const x = E.randUniform([64, 2], -2, 2);
    const eps = E.randUniform([64], 0.01, 0.1);
    const r0 = E.randUniform([64, 2], -0.5, 0.5);
    const meanQ = async (o: SchemeOptions) =>
      E.mean(schemeSearch(net, x, { xi: 0.1, r0, epsValues: eps, ...o }).quotient!).item();
    const warm = new WarmStart();
    let qWarm = 0;
    for (let t = 0; t < 5; t++) qWarm = await meanQ({ scheme: 'warm', k: 1, warm });
    const q1 = await meanQ({ scheme: 'paper', k: 1 });
    const q5 = await meanQ({ scheme: 'paper', k: 5 });
    expect(qWarm).toBeGreaterThanOrEqual(q1 * 0.999);
    expect(Math.abs(qWarm - q5)).toBeLessThan(0.02 * q5);
    warm.dispose();
  });

  it('multiRadius keeps the worst of its radii; schemePenalty gives a finite loss and counts passes', async () => {
    const net = T.mlpCritic(T.randomDenseLayers([2, 16, 1], 12));
    E.manualSeed(8);
    const x = E.randUniform([16, 2], -2, 2);
    const one = await E.mean(schemeSearch(net, x, { scheme: 'multiRadius', k: 1, radii: 1 }).quotient!).item();
    E.manualSeed(8);
    E.randUniform([16, 2], -2, 2);
    const four = await E.mean(schemeSearch(net, x, { scheme: 'multiRadius', k: 1, radii: 4 }).quotient!).item();
    expect(four).toBeGreaterThanOrEqual(one * 0.98);
    for (const scheme of ['paper', 'warm', 'multiRadius', 'ascent'] as const) {
      const p = schemePenalty(net, x, {
        scheme,
        k: 1,
        lambda: 10,
        K: 0.1,
        warm: scheme === 'warm' ? new WarmStart() : undefined,
      });
      const loss = await p.loss.item();
      expect(Number.isFinite(loss) && loss > 0, scheme).toBe(true);
      expect(p.passes.forward + p.passes.backward, scheme).toBe(
        scheme === 'multiRadius' ? 7 : scheme === 'ascent' ? 5 : 4,
      );
      const [g] = E.grad(p.loss, [net.layers[0].W]);
      expect(Number.isFinite(await E.sum(E.abs(g)).item())).toBe(true);
    }
    expect(() => schemeSearch(net, x, { scheme: 'warm' })).toThrow(/WarmStart/);
    expect(() => schemeSearch(net, x, { scheme: 'nope' as never })).toThrow(/unknown scheme 'nope'/);
    x.dispose();
  });
});

describe('the study, --quick', () => {
  it('trains a tiny critic, writes tables and plots, reproducible from the seed', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'alr-study-'));
    const o = studyOptions({ quick: true, out, progress: false, seed: 3, wganIters: 2 });
    const r = await runAlrStudy(o);
    for (const f of [
      'study.md',
      'study.json',
      'scatter.png',
      'detection_vs_k.png',
      'cosine_vs_k.png',
      'wgan.md',
      'wgan.json',
    ]) {
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    }
    const paper1 = r.settings.find((s) => s.name === 'paper k=1 ξ=10 ε~U[0.1,10]')!;
    expect(paper1.cost).toBe(4);
    expect(r.equalCost.find((e) => e.cost === 4)!.rows.length).toBeGreaterThanOrEqual(4);
    expect(r.wgan!.length).toBeGreaterThanOrEqual(4);
    // same seed, same checkpoint: the same numbers
    const again = await runAlrStudy({
      ...o,
      checkpoint: path.join(out, 'toy_critic', 'checkpoint.safetensors'),
      wganIters: 0,
    });
    expect(again.settings.map((s) => s.meanQuotient)).toEqual(r.settings.map((s) => s.meanQuotient));
  }, 120_000);
});
