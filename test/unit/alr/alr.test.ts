// alr/: behaviour of the search, the penalty, WGAN-ALP with BN critics, the baselines, the
// monitors and the argument checks (values against PyTorch are in alr_fixtures.test.ts).
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import * as A from '../../../alr/index.js';
import * as T from '../../../bench/conformance/toy_critics.js';
import * as nn from '../../../nn/index.js';
import { expectClose, expectGrad, useGpu } from '../../support/gpu.js';

useGpu();

/** D(x) = x · w + c: Lipschitz constant ‖w‖ exactly. */
function linearCritic(w: number[], c = 0.3): T.MlpCritic {
  return T.mlpCritic([{ W: E.tensor(w, [w.length, 1]), b: E.tensor([c], [1]) }]);
}

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, a) => s + a * a, 0));

async function rows(t: E.Tensor): Promise<number[][]> {
  const d = await t.toFloat32();
  const n = t.shape[0];
  const m = d.length / n;
  return Array.from({ length: n }, (_, i) => Array.from(d.slice(i * m, (i + 1) * m)));
}

describe('adversarial search (eq. 16)', () => {
  it('k = 0 keeps the normalised random start; r_adv = eps * r0 / |r0|', async () => {
    const net = linearCritic([1, 2, 3]);
    const x = E.randUniform([5, 3], -1, 1);
    const r0 = E.tensor([3, 4, 0, 0, 0, 0.5, 1, 1, 1, -2, 0, 0, 0, 0, -7], [5, 3]);
    const eps = E.tensor([1, 2, 0.5, 3, 10], [5]);
    const s = A.adversarialDirection(net, x, { k: 0, r0, epsValues: eps });
    expect(s.searchGrad).toBeNull();
    const dir = await rows(s.direction);
    expectClose(dir[0], [0.6, 0.8, 0]);
    expectClose(dir[1], [0, 0, 1]);
    expectClose(dir[4], [0, 0, -1]);
    expectClose((await rows(s.rAdv))[4], [0, 0, -10]);
  });

  it('k = 1 on a linear critic finds ±w/|w| and the quotient equals the Lipschitz constant |w|', async () => {
    E.manualSeed(3);
    const w = [0.5, -2, 1, 0.25];
    const net = linearCritic(w);
    const x = E.randUniform([16, 4], -1, 1);
    const res = A.adversarialLipschitzPenalty(net, x, { k: 1, K: 1, lambda: 1 });
    for (const r of await rows(res.direction)) {
      const dot = r.reduce((s, v, i) => s + (v * w[i]) / norm(w), 0);
      expect(Math.abs(Math.abs(dot) - 1)).toBeLessThan(1e-5);
    }
    expectClose(await res.ratio.toFloat32(), new Array(16).fill(norm(w)), 1e-4, 1e-4);
    // every sample violates K = 1 by |w| - 1
    expect(await res.monitors.violations.item()).toBe(16);
    expectClose([await res.loss.item()], [(norm(w) - 1) ** 2], 1e-4, 1e-4);
    // k = 0 (a random direction) underestimates the constant
    const r0 = A.adversarialLipschitzPenalty(net, x, { k: 0 });
    expect(await E.mean(r0.ratio).item()).toBeLessThan(norm(w) * 0.9);
  });

  it('a violation is a quotient above K in every penalty form (two-sided: no sample counted when all are below K)', async () => {
    E.manualSeed(4);
    const w = [0.3, -0.2, 0.1, 0.25]; // |w| ≈ 0.45: every quotient is below K = 1
    const net = linearCritic(w);
    const x = E.randUniform([16, 4], -1, 1);
    for (const form of A.PENALTY_FORMS.filter((f) => f !== 'linear')) {
      const res = A.adversarialLipschitzPenalty(net, x, { k: 1, K: 1, lambda: 1, form });
      expect(Math.max(...(await res.ratio.toFloat32())), form).toBeLessThan(1);
      expect(await res.monitors.violations.item(), form).toBe(0);
      // the two-sided form still penalises (it pulls the quotient up to K); the others do not
      expect((await res.loss.item()) > 0, form).toBe(form === 'two-sided');
    }
    // and above K every sample counts, in every form
    const steep = linearCritic([2, 1, 0, 0]);
    for (const form of A.PENALTY_FORMS.filter((f) => f !== 'linear')) {
      expect(await A.adversarialLipschitzPenalty(steep, x, { k: 1, K: 1, form }).monitors.violations.item(), form).toBe(
        16,
      );
    }
  });

  it('sharedForward is refused for critics with batch statistics (before anything is allocated), accepted otherwise', async () => {
    const real = E.randUniform([4, 2], -1, 1);
    const fake = E.randUniform([4, 2], -1, 1);
    const bn = T.mlpCritic(T.randomDenseLayers([2, 8, 1], 3), { batchNorm: true });
    const live = E.memoryStats().liveBuffers;
    expect(() => A.wganAlpCriticLoss(bn, real, fake, { sharedForward: true })).toThrow(
      /wganAlpCriticLoss: sharedForward needs a critic whose samples are independent/,
    );
    expect(E.memoryStats().liveBuffers).toBe(live);
    // an nn Module: batch norm in training mode couples the samples; in eval mode it does not
    const net = new nn.Sequential(new nn.Linear(2, 8), new nn.BatchNorm1d(8), new nn.ReLU(), new nn.Linear(8, 1));
    const critic = nn.asCritic(net);
    expect(critic.batchDependent).toBe(true);
    expect(() => A.wganAlpCriticLoss(critic, real, fake, { sharedForward: true })).toThrow(/sharedForward needs/);
    net.eval();
    expect(critic.batchDependent).toBe(false);
    const s = A.wganAlpCriticLoss(critic, real, fake, { sharedForward: true });
    expect(Number.isFinite(await s.loss.item())).toBe(true);
    const plain = A.wganAlpCriticLoss(T.mlpCritic(T.randomDenseLayers([2, 8, 1], 3)), real, fake, {
      sharedForward: true,
    });
    expect(Number.isFinite(await plain.loss.item())).toBe(true);
  });

  it('more power iterations find larger quotients on a nonlinear critic', async () => {
    const net = T.mlpCritic(T.randomDenseLayers([2, 32, 32, 1], 11));
    E.manualSeed(5);
    const x = E.randUniform([64, 2], -2, 2);
    const r0 = E.randUniform([64, 2], -0.5, 0.5);
    const eps = E.randUniform([64], 0.01, 0.1);
    const mean = async (k: number) =>
      E.mean(A.adversarialLipschitzPenalty(net, x, { k, xi: 0.1, r0, epsValues: eps }).ratio).item();
    const [q0, q1, q5] = [await mean(0), await mean(1), await mean(5)];
    expect(q1).toBeGreaterThan(q0 * 1.05);
    expect(q5).toBeGreaterThanOrEqual(q1 * 0.99);
  });

  it('directions are unit length per sample (norm over all non-batch axes)', async () => {
    const net = T.mlpCritic(T.randomDenseLayers([12, 8, 1], 2));
    const x = E.randUniform([6, 3, 2, 2], -1, 1);
    const s = A.adversarialDirection(net, x, { k: 2 });
    expect(s.direction.shape).toEqual([6, 3, 2, 2]);
    for (const r of await rows(s.direction)) expect(Math.abs(norm(r) - 1)).toBeLessThan(1e-5);
    const eps = await s.eps.toFloat32();
    const radv = await rows(s.rAdv);
    radv.forEach((r, i) => expect(Math.abs(norm(r) - eps[i])).toBeLessThan(1e-4 * eps[i]));
  });

  it('a vanishing search gradient gives r = 0, no penalty and no NaN', async () => {
    // every ReLU dead for inputs in [-1, 1]: D is constant
    const net = T.mlpCritic([
      { W: E.tensor([1, 1, 1, 1], [2, 2]), b: E.tensor([-100, -100], [2]) },
      { W: E.tensor([1, -1], [2, 1]), b: E.tensor([0.5], [1]) },
    ]);
    const x = E.randUniform([4, 2], -1, 1);
    const res = A.adversarialLipschitzPenalty(net, x, { k: 1, lambda: 100 });
    expect(Array.from(await res.direction.toFloat32()).every((v) => v === 0)).toBe(true);
    expectClose(await res.dX.toFloat32(), [1e-10, 1e-10, 1e-10, 1e-10], 1e-15, 1e-5);
    expectClose(await res.ratio.toFloat32(), [0, 0, 0, 0]);
    expect(await res.loss.item()).toBe(0);
    for (const g of E.grad(res.loss, net.parameters()))
      expect(Array.from(await g.toFloat32()).every(Number.isFinite)).toBe(true);
  });

  it('clipping: d_X is the actual distance after clipping, not eps', async () => {
    const net = linearCritic([1, 1]);
    const x = E.tensor([0.9, 0.9, -0.5, 0], [2, 2]);
    const r0 = E.tensor([1, 0, 0, 1], [2, 2]);
    const res = A.adversarialLipschitzPenalty(net, x, { k: 0, r0, epsValues: E.tensor([5, 0.25], [2]), clip: [-1, 1] });
    expectClose(await res.dX.toFloat32(), [0.1, 0.25], 1e-6);
    expectClose(await res.ratio.toFloat32(), [1, 1], 1e-4);
  });

  it('P_eps: uniform and log-uniform stay in [a, b]; fixed is exact', async () => {
    E.manualSeed(9);
    const u = await A.sampleEps(A.uniformEps(0.1, 10), 4000).toFloat32();
    const l = await A.sampleEps({ kind: 'logUniform', min: 0.1, max: 10 }, 4000).toFloat32();
    const f = await A.sampleEps({ kind: 'fixed', value: 8 }, 7).toFloat32();
    const inRange = (a: Float32Array) => a.every((v) => v >= 0.1 - 1e-6 && v <= 10 + 1e-5);
    expect(inRange(u) && inRange(l)).toBe(true);
    const med = (a: Float32Array) => Float32Array.from(a).sort()[a.length >> 1];
    expect(Math.abs(med(u) - 5.05)).toBeLessThan(0.5); // linear: median (a + b) / 2
    expect(Math.abs(med(l) - 1)).toBeLessThan(0.15); // log-uniform: median sqrt(ab)
    expect(Array.from(f)).toEqual(new Array(7).fill(8));
  });
});

describe('trace', () => {
  const setup = () => {
    E.manualSeed(7);
    const net = T.mlpCritic(T.randomDenseLayers([3, 16, 16, 1], 3));
    const x = E.randUniform([6, 3], -1, 1);
    return { net, x };
  };

  it('off: no trace, and the same loss bits as with it on (tracing draws nothing and changes nothing)', async () => {
    const { net, x } = setup();
    E.manualSeed(11);
    const off = A.adversarialLipschitzPenalty(net, x, { k: 2, lambda: 3 });
    expect(off.trace).toBeUndefined();
    E.manualSeed(11);
    const on = A.adversarialLipschitzPenalty(net, x, { k: 2, lambda: 3, trace: true });
    expect(Array.from(await on.loss.toFloat32())).toEqual(Array.from(await off.loss.toFloat32()));
    expect(Array.from(await on.ratio.toFloat32())).toEqual(Array.from(await off.ratio.toFloat32()));
  });

  it('off costs no extra dispatch or readback; on returns every step of the search and the penalty', async () => {
    const { net, x } = setup();
    const before = { ...E.counters };
    const off = E.tidy(() => A.adversarialLipschitzPenalty(net, x, { k: 2 }).loss);
    const offDispatches = E.counters.dispatches - before.dispatches;
    expect(E.counters.readbacks).toBe(before.readbacks);
    const mid = { ...E.counters };
    const xi = 0.5;
    const p = A.adversarialLipschitzPenalty(net, x, { k: 2, xi, trace: true, K: 0.5 });
    expect(E.counters.dispatches - mid.dispatches).toBeGreaterThan(offDispatches);
    expect(E.counters.readbacks).toBe(mid.readbacks);
    off.dispose();
    const t = p.trace!;
    expect(t.steps.length).toBe(2);
    const xs = await rows(x);
    const yClean = Array.from(await t.yClean.toFloat32());
    for (const [i, s] of t.steps.entries()) {
      const [rIn, probe, rOut, g] = await Promise.all([rows(s.rIn), rows(s.probe), rows(s.rOut), rows(s.grad)]);
      const [yProbe, dY, gNorm] = await Promise.all([s.yProbe.toFloat32(), s.dY.toFloat32(), s.gradNorm.toFloat32()]);
      for (let b = 0; b < 6; b++) {
        expectClose(
          probe[b],
          xs[b].map((v, j) => v + xi * rIn[b][j]),
          1e-6,
        );
        expect(dY[b]).toBeCloseTo(Math.abs(yClean[b] - yProbe[b]), 6);
        expect(gNorm[b]).toBeCloseTo(norm(g[b]), 5);
        expectClose(
          rOut[b],
          g[b].map((v) => v / norm(g[b])),
          1e-5,
        );
      }
      // a step starts where the previous one ended
      if (i > 0) expect(await rows(t.steps[i - 1].rOut)).toEqual(rIn);
    }
    expect(await rows(t.steps[1].rOut)).toEqual(await rows(p.direction));
    const [eps, rAdvNorm, ratio, dX, yHat, violating, term, alp] = await Promise.all(
      [p.eps, t.rAdvNorm, t.ratio, t.dX, t.yHat, t.violating, t.term, t.alp].map((v) => v.toFloat32()),
    );
    for (let b = 0; b < 6; b++) {
      expect(rAdvNorm[b]).toBeCloseTo(eps[b], 4);
      expect(ratio[b]).toBeCloseTo(Math.abs(yClean[b] - yHat[b]) / dX[b], 4);
      expect(violating[b]).toBe(ratio[b] > 0.5 ? 1 : 0);
      expect(alp[b]).toBeCloseTo(Math.max(ratio[b] - 0.5, 0), 5);
      expect(term[b]).toBeCloseTo(alp[b] ** 2, 5);
    }
    expect((await p.monitors.violations.toFloat32())[0]).toBe(violating.reduce((a, v) => a + v, 0));
    E.dispose(p);
  });
});

describe('trace with batch norm', () => {
  it("records each layer's batch statistics per critic call: the probes', f(x)'s and f(x̂)'s", async () => {
    E.manualSeed(4);
    const model = new nn.Sequential(
      new nn.BatchNorm1d(2),
      new nn.Linear(2, 8),
      new nn.ReLU(),
      new nn.BatchNorm1d(8),
      new nn.Linear(8, 1),
    );
    const critic = nn.asCritic(model);
    const x = E.randNormal([10, 2]);
    const p = A.adversarialLipschitzPenalty(critic, x, { k: 2, trace: true });
    const t = p.trace!;
    expect(t.steps.map((s) => s.batchStats!.map((b) => b.layer))).toEqual([
      ['0', '3'],
      ['0', '3'],
    ]);
    expect(t.batchStats!.clean!.map((b) => b.layer)).toEqual(['0', '3']);
    // the first layer normalises the pass's input itself: its statistics are the probe's and x̂'s
    const colStats = async (v: E.Tensor) => {
      const a = await v.toFloat32();
      return [0, 1].map((c) => {
        const col = Array.from({ length: 10 }, (_, i) => a[2 * i + c]);
        const m = col.reduce((s, u) => s + u, 0) / 10;
        return [m, col.reduce((s, u) => s + (u - m) ** 2, 0) / 10];
      });
    };
    for (const [input, stats] of [
      [t.steps[1].probe, t.steps[1].batchStats![0]],
      [t.xHat, t.batchStats!.hat[0]],
      [x, t.batchStats!.clean![0]],
    ] as const) {
      const want = await colStats(input);
      expectClose(
        await stats.mean.toFloat32(),
        want.map((w) => w[0]),
        1e-5,
      );
      expectClose(
        await stats.variance.toFloat32(),
        want.map((w) => w[1]),
        1e-5,
        1e-4,
      );
    }
    expect(t.batchStats!.hat[1].mean.shape).toEqual([8]);
    E.dispose([p, x]);
    model.dispose();
  });
});

describe('penalty forms and output distances', () => {
  it('output distances per sample match their definitions on logits', async () => {
    const y = E.tensor([1, 2, 0, -1, 0.5, 0.5], [2, 3]);
    const z = E.tensor([0, 2, 1, -1, 1.5, 0.5], [2, 3]);
    const host = { abs: [2, 1], sqL2: [2, 1], msd: [2 / 3, 1 / 3] };
    for (const [k, v] of Object.entries(host))
      expectClose(await A.outputDistance(k as A.OutputDistance, y, z).toFloat32(), v);
    const sm = (a: number[]) => a.map((v) => Math.exp(v) / a.reduce((s, t) => s + Math.exp(t), 0));
    const kl = (p: number[], q: number[]) => p.reduce((s, pi, i) => s + pi * Math.log(pi / q[i]), 0);
    expectClose(await A.outputDistance('kl', y, z).toFloat32(), [
      kl(sm([1, 2, 0]), sm([0, 2, 1])),
      kl(sm([-1, 0.5, 0.5]), sm([-1, 1.5, 0.5])),
    ]);
  });

  it('violation() per form, and their gradients', async () => {
    const ratio = E.tensor([0.5, 1.5, 3], [3]);
    const v = async (f: A.PenaltyForm, K = 1) => {
      const { alp, term } = A.violation(f, ratio, K);
      return [Array.from(await alp.toFloat32()), Array.from(await term.toFloat32())];
    };
    expect(await v('one-sided')).toEqual([
      [0, 0.5, 2],
      [0, 0.25, 4],
    ]);
    expect(await v('two-sided')).toEqual([
      [0.5, 0.5, 2],
      [0.25, 0.25, 4],
    ]);
    expect(await v('abs+squared')).toEqual([
      [0, 0.5, 2],
      [0, 0.75, 6],
    ]);
    expect(await v('linear', 0)).toEqual([
      [0.5, 1.5, 3],
      [0.5, 1.5, 3],
    ]);
    for (const f of A.PENALTY_FORMS) {
      await expectGrad((q) => A.violation(f, q, f === 'linear' ? 0 : 1).term, [E.tensor([0.3, 1.4, 2.2], [3])]);
    }
  });

  it('VAT (kl, fixed eps) and semi-supervised (msd) presets run on a classifier: finite, f(x) held fixed', async () => {
    // image-like dimension: with xi = 10 a unit r moves each pixel ~0.5, so the clamp rarely saturates
    const clf = T.mlpCritic(T.randomDenseLayers([400, 16, 3], 4));
    const x = E.randUniform([8, 400], -0.5, 0.5);
    for (const preset of [A.VAT_BASELINE, A.SEMI_SUPERVISED_ALR]) {
      const res = A.adversarialLipschitzPenalty(clf, x, preset);
      if (preset.eps?.kind === 'fixed') {
        // no clamp on x̂ here: d_X is exactly the radius (no silent unit-norm replacement, alr/README.md: Deviations)
        expectClose(await res.dX.toFloat32(), new Array(8).fill(8), 1e-4, 1e-5);
      }
      expect(res.clean.shape).toEqual([8, 3]);
      const gs = E.grad(res.loss, clf.parameters());
      for (const g of gs) expect(Array.from(await g.toFloat32()).every(Number.isFinite)).toBe(true);
      expect(await res.loss.item()).toBeGreaterThan(0);
    }
  });
});

describe('WGAN-ALP critic step', () => {
  it('records no second-order graph; a GP step does', async () => {
    const net = T.mlpCritic(T.randomDenseLayers([2, 32, 32, 1], 1));
    const real = E.randNormal([16, 2]);
    const fake = E.randNormal([16, 2]);
    E.tapeStats.recordedDuringBackward = 0;
    E.tidy(() => {
      const s = A.wganAlpCriticLoss(net, real, fake, { k: 5 });
      E.backward(s.loss);
    });
    expect(E.tapeStats.recordedDuringBackward).toBe(0);
    E.tidy(() => E.backward(A.wganGpCriticLoss(net, real, fake).loss));
    expect(E.tapeStats.recordedDuringBackward).toBeGreaterThan(0);
    E.zeroGrad(net.parameters());
  });

  it('BN critic: only the main passes D(real), D(fake) update running statistics', async () => {
    const layers = T.randomDenseLayers([3, 8, 8, 1], 6);
    const net = T.mlpCritic(layers, { batchNorm: true });
    E.manualSeed(2);
    const real = E.randNormal([8, 3]);
    const fake = E.randNormal([8, 3]);
    E.tidy(() => E.backward(A.wganAlpCriticLoss(net, real, fake, { k: 2 }).loss));
    expect(net.statUpdates).toBe(4); // 2 BN layers x (D(real), D(fake)); search and penalty passes excluded
    // the same running statistics as two plain forward passes of a fresh copy
    const ref = T.mlpCritic(
      layers.map((l) => ({ W: E.clone(l.W), b: E.clone(l.b) })),
      { batchNorm: true },
    );
    E.noGrad(() => [ref.forward(real), ref.forward(fake)]);
    expectClose(await net.norms![1].runningMean.toFloat32(), await ref.norms![1].runningMean.toFloat32());
    expectClose(await net.norms![1].runningVar.toFloat32(), await ref.norms![1].runningVar.toFloat32());
    E.zeroGrad(net.parameters());
  });

  it('sharedForward gives the same loss and gradients for a batch-independent critic', async () => {
    const net = T.mlpCritic(T.randomDenseLayers([2, 16, 1], 8));
    const real = E.randNormal([6, 2]);
    const fake = E.randNormal([6, 2]);
    const r0 = E.randUniform([12, 2], -0.5, 0.5);
    const eps = E.randUniform([12], 0.1, 10);
    const run = (sharedForward: boolean) => {
      const s = A.wganAlpCriticLoss(net, real, fake, { r0, epsValues: eps, sharedForward });
      return [s.loss, ...E.grad(s.loss, net.parameters())];
    };
    const a = run(false);
    const b = run(true);
    for (let i = 0; i < a.length; i++) expectClose(await b[i].toFloat32(), await a[i].toFloat32(), 1e-5, 1e-4);
  });

  it('Progressive GAN form (eq. 20): separate searches, alp + alp^2 summed over real and fake, drift term', async () => {
    const w = [1.2, -1.6]; // |w| = 2: every quotient is 2 once the search has found ±w
    const net = linearCritic(w, 0.1);
    const real = E.randNormal([5, 2]);
    const fake = E.randNormal([5, 2]);
    const s = A.progressiveGanCriticLoss(net, real, fake, { lambda: 0.5 });
    expectClose(await s.penalty.ratio.toFloat32(), new Array(5).fill(2), 1e-4, 1e-4);
    expectClose(await s.penaltyFake.ratio.toFloat32(), new Array(5).fill(2), 1e-4, 1e-4);
    const dr = await s.dReal.toFloat32();
    const df = await s.dFake.toFloat32();
    const avg = (a: ArrayLike<number>) => Array.from(a).reduce((t, v) => t + v, 0) / a.length;
    const expected = avg(df) - avg(dr) + 2 * 0.5 * (1 + 1) + 0.001 * avg(Array.from(dr, (v) => v * v));
    expect(await s.loss.item()).toBeCloseTo(expected, 4);
  });

  it('generator loss is -mean D(fake) and reaches the generator', async () => {
    const net = linearCritic([1, -1], 0);
    const fake = E.requireGrad(E.tensor([1, 0, 0, 2], [2, 2]));
    const lg = A.wganGeneratorLoss(net, fake);
    expect(await lg.item()).toBeCloseTo(0.5, 6); // -(1 + -2)/2
    expectClose(await E.grad(lg, [fake])[0].toFloat32(), [-0.5, 0.5, -0.5, 0.5]);
  });
});

describe('baselines', () => {
  it('interpolates per sample: u * fake + (1 - u) * real', async () => {
    const real = E.tensor([0, 0, 1, 1], [2, 2]);
    const fake = E.tensor([2, 4, 3, 3], [2, 2]);
    expectClose(await A.interpolates(real, fake, E.tensor([0.5, 0], [2])).toFloat32(), [1, 2, 1, 1]);
  });

  it('GP of a linear critic: (|w| - 1)^2, LP zero when |w| <= 1; norms L1 and Linf', async () => {
    const real = E.randNormal([4, 2]);
    const fake = E.randNormal([4, 2]);
    const steep = linearCritic([3, -4]);
    const gp = A.gradientPenalty(steep, real, fake, { lambda: 1 });
    expectClose(await gp.gradNorm.toFloat32(), [5, 5, 5, 5], 1e-5);
    expect(await gp.loss.item()).toBeCloseTo(16, 4);
    expect(await A.lipschitzPenalty(linearCritic([0.6, 0.8 - 1e-3]), real, fake).loss.item()).toBe(0);
    expect(
      await A.gradientNormPenalty(steep, real, fake, { norm: 'l1', g: 'hinge', lambda: 1 }).loss.item(),
    ).toBeCloseTo(6, 4);
    expect(
      await A.gradientNormPenalty(steep, real, fake, { norm: 'linf', g: 'squared', lambda: 2 }).loss.item(),
    ).toBeCloseTo(18, 4);
  });

  it('GAN losses on known scores', async () => {
    const dr = E.tensor([2, 0], [2]);
    const df = E.tensor([-1, 0.5], [2]);
    const sp = (v: number) => Math.log1p(Math.exp(v));
    const cases: [A.GanLoss, number, number][] = [
      ['wgan', -0.25 - 1, -(-0.25)],
      ['hinge', (0 + 1) / 2 + (0 + 1.5) / 2, -(-0.25)],
      ['standard', (sp(-2) + sp(0)) / 2 + (sp(-1) + sp(0.5)) / 2, (sp(1) + sp(-0.5)) / 2],
      ['leastSquares', 0.5 * ((1 + 1) / 2 + (1 + 0.25) / 2), 0.5 * ((4 + 0.25) / 2)],
    ];
    for (const [k, ld, lg] of cases) {
      expect(await A.criticGanLoss(k, dr, df).item(), k).toBeCloseTo(ld, 5);
      expect(await A.generatorGanLoss(k, df).item(), k).toBeCloseTo(lg, 5);
    }
  });

  it('softplus is overflow-free with derivative 1/2 at 0', async () => {
    expectClose(await A.softplus(E.tensor([-200, 0, 200], [3])).toFloat32(), [0, Math.LN2, 200]);
    const x = E.requireGrad(E.tensor([0, 100, -100], [3]));
    expectClose(await E.grad(E.sum(A.softplus(x)), [x])[0].toFloat32(), [0.5, 1, 0]);
    await expectGrad((t) => A.softplus(t), [E.tensor([-3, -0.4, 0.7, 2.5], [4])]);
  });

  it('weight clipping clamps parameters in place', async () => {
    const w = E.requireGrad(E.tensor([-0.5, 0.005, 0.2], [3]));
    A.clipWeights([w], 0.01);
    expectClose(await w.toFloat32(), [-0.01, 0.005, 0.01]);
    expect(() => A.clipWeights([w], 0)).toThrow(/c must be a finite number > 0/);
  });
});

describe('monitors', () => {
  it('keeps scalars on the GPU and reads a window back with one readback', async () => {
    const net = T.mlpCritic(T.randomDenseLayers([2, 8, 1], 3));
    const m = new A.Monitor(3);
    const real = E.randNormal([8, 2]);
    const fake = E.randNormal([8, 2]);
    const expected: number[] = [];
    for (let i = 0; i < 3; i++) {
      E.tidy(() => {
        const s = A.wganAlpCriticLoss(net, real, fake, {});
        m.push({ ...A.criticStepMonitors(s), gradNorm: A.gradNormAtInterpolates(net, real, fake) });
      });
    }
    expect(m.due).toBe(true);
    const before = E.counters.readbacks;
    const out = await m.flush();
    expect(E.counters.readbacks - before).toBe(1);
    expect(out.map((r) => r.step)).toEqual([0, 1, 2]);
    for (const r of out) {
      expect(Number.isInteger(r.violations) && r.violations >= 0 && r.violations <= 16).toBe(true);
      expect(r.criticLoss).toBeCloseTo(-r.wasserstein + r.penaltyLoss, 4);
      expect(r.gradNorm).toBeGreaterThan(0);
      expected.push(r.ratioMean);
    }
    expect(m.pending).toBe(0);
    expect(await m.flush()).toEqual([]);
    expect(() => m.push({ v: E.zeros([2]) })).toThrow(/one-element/);
  });

  it('gradient norm at interpolates of a linear critic is |w|', async () => {
    const g = A.gradNormAtInterpolates(linearCritic([3, 4]), E.randNormal([5, 2]), E.randNormal([5, 2]));
    expect(await g.item()).toBeCloseTo(5, 4);
  });

  it('the lambda controller moves lambda toward the violation band', () => {
    const c = new A.LambdaController({ lambda: 10, band: [0.1, 0.5], factor: 2 });
    expect(c.update(0.9)).toBe(20);
    expect(c.update(0.3)).toBe(20);
    expect(c.update(0)).toBe(10);
    expect(() => new A.LambdaController({ lambda: -1 })).toThrow(/lambda/);
    expect(() => c.update(1.5)).toThrow(/violationFraction/);
  });
});

describe('bad input names the parameter', () => {
  // built lazily: the device exists only once the tests run
  let net: A.Critic, x: E.Tensor;
  const cases: [string, () => unknown, RegExp][] = [
    [
      'negative lambda',
      () => A.adversarialLipschitzPenalty(net, x, { lambda: -1 }),
      /lambda must be a finite number >= 0, got -1/,
    ],
    [
      'k < 0',
      () => A.adversarialDirection(net, x, { k: -1 }),
      /k \(power iterations\) must be an integer >= 0, got -1/,
    ],
    ['k non-integer', () => A.adversarialDirection(net, x, { k: 1.5 }), /k .* got 1.5/],
    ['xi = 0', () => A.adversarialDirection(net, x, { xi: 0 }), /xi must be a finite number > 0, got 0/],
    ['eps a <= 0', () => A.adversarialDirection(net, x, { eps: A.uniformEps(0, 1) }), /eps.min must be > 0, got 0/],
    ['eps a > b', () => A.adversarialDirection(net, x, { eps: A.uniformEps(2, 1) }), /eps range \[2, 1\] is empty/],
    [
      'fixed eps <= 0',
      () => A.adversarialDirection(net, x, { eps: { kind: 'fixed', value: -8 } }),
      /eps.value must be > 0/,
    ],
    [
      'r0 shape',
      () => A.adversarialDirection(net, x, { r0: E.zeros([2, 3]) }),
      /r0 has shape \[2, 3\], x has \[2, 2\]/,
    ],
    [
      'epsValues shape',
      () => A.adversarialDirection(net, x, { epsValues: E.zeros([3]) }),
      /epsValues must have shape \[2\]/,
    ],
    [
      'unknown form',
      () => A.adversarialLipschitzPenalty(net, x, { form: 'cubic' as A.PenaltyForm }),
      /unknown form 'cubic'/,
    ],
    ['bad clip', () => A.adversarialLipschitzPenalty(net, x, { clip: [1, -1] }), /clip must be \[lo, hi\]/],
    [
      'mismatched batches (ALP)',
      () => A.wganAlpCriticLoss(net, x, E.zeros([3, 2])),
      /wganAlpCriticLoss: fake has shape \[3, 2\] but real has \[2, 2\]/,
    ],
    ['mismatched batches (GP)', () => A.wganGpCriticLoss(net, x, E.zeros([2, 3])), /fake has shape \[2, 3\]/],
    ['negative lambda (WGAN)', () => A.wganAlpCriticLoss(net, x, x, { lambda: -5 }), /wganAlpCriticLoss: lambda/],
    ['negative lambda (GP)', () => A.gradientPenalty(net, x, x, { lambda: -5 }), /lambda must be a finite number >= 0/],
    [
      'non-scalar WGAN critic',
      () => A.wganGeneratorLoss(T.mlpCritic(T.randomDenseLayers([2, 3])), x),
      /must output \[B\] or \[B, 1\] scores, got \[2, 3\]/,
    ],
  ];
  for (const [name, fn, re] of cases) {
    it(name, () => {
      net ??= linearCritic([1, 1]);
      x ??= E.tensor([0, 0, 1, 1], [2, 2]);
      expect(fn).toThrow(re);
    });
  }
});
