// Module bookkeeping, initialisers, Linear/BatchNorm1d/MLP and spectral norm against PyTorch
// (fixtures from bench/conformance/fixtures/gen_nn.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import {
  BatchNorm1d,
  Conv2d,
  Dropout2d,
  MaxPool2d,
  Linear,
  lipschitzRegressor,
  MLP,
  Module,
  readSafetensors,
  ReLU,
  Sequential,
  spectralNorm,
  spectralSigma,
  toyCritic,
  toyGenerator,
  withoutStatUpdates,
} from '../../../nn/index.js';
import { expectClose, useGpu } from '../../support/gpu.js';
import type { Arr, Case } from '../../support/nn_fixture.js';

useGpu();

interface SnStep {
  input: Arr;
  out: Arr;
  gradOut: Arr;
  u: Arr;
  v: Arr;
  sigma: number;
  grads: Record<string, Arr>;
}
const FIX = JSON.parse(
  readFileSync(new URL('../../../bench/conformance/fixtures/nn.json', import.meta.url), 'utf8'),
) as {
  cases: Case[];
  batchnorm1d: { steps: { input: Arr; out: Arr; running_mean: Arr; running_var: Arr }[]; evalInput: Arr; evalOut: Arr };
  spectral: { name: string; lr: number; steps: SnStep[]; evalInput: Arr; evalOut: Arr; uAfterEval: Arr }[];
  paramCounts: Record<string, number>;
};
const WEIGHTS = new URL('../../../bench/conformance/fixtures/nn_small.safetensors', import.meta.url).pathname;
const t = (a: Arr) => E.tensor(a.data, a.shape);

/** Loads the fixture weights stored under `prefix.` into m (strict). */
async function loadFixture(m: Module, prefix: string): Promise<void> {
  const { tensors } = await readSafetensors(WEIGHTS);
  const map = new Map<string, E.Tensor>();
  for (const [n, st] of tensors)
    if (n.startsWith(`${prefix}.`)) map.set(n.slice(prefix.length + 1), E.tensor(st.data, st.shape));
  m.loadStateDict(map);
  E.dispose(map);
}

class Tiny extends Module {
  readonly fc1 = this.registerModule('fc1', new Linear(3, 4));
  readonly bn = this.registerModule('bn', new BatchNorm1d(4));
  readonly act = this.registerModule('act', new ReLU());
  readonly fc2 = this.registerModule('fc2', new Linear(4, 2, { bias: false }));
  readonly scale = this.registerParameter('scale', E.ones([2]));
  forward(x: E.Tensor): E.Tensor {
    return E.mul(this.fc2.forward(this.act.forward(this.bn.forward(this.fc1.forward(x)))), this.scale);
  }
}

describe('Module', () => {
  it('names parameters and buffers like a PyTorch state_dict; parameters survive tidy', () => {
    const m = E.tidy(() => new Tiny());
    expect([...m.stateDict().keys()]).toEqual([
      'scale',
      'fc1.weight',
      'fc1.bias',
      'bn.weight',
      'bn.bias',
      'bn.running_mean',
      'bn.running_var',
      'fc2.weight',
    ]);
    expect(m.namedParameters().map(([n]) => n)).toEqual([
      'scale',
      'fc1.weight',
      'fc1.bias',
      'bn.weight',
      'bn.bias',
      'fc2.weight',
    ]);
    expect(m.parameters().every((p) => p.requiresGrad && !p.disposed)).toBe(true);
    expect(m.namedBuffers().every(([, b]) => !b.requiresGrad && !b.disposed)).toBe(true);
    expect(m.numParameters()).toBe(2 + 12 + 4 + 4 + 4 + 8);
    m.eval();
    expect(m.namedModules().every(([, c]) => !c.training)).toBe(true);
    m.train();
    expect(m.bn.training).toBe(true);
    m.dispose();
    expect(m.parameters().every((p) => p.disposed)).toBe(true);
  });

  it('rejects duplicate and dotted member names', () => {
    const m = new Sequential(new ReLU());
    expect(() => m.registerModule('0', new ReLU())).toThrow(/'0' is already registered/);
    expect(() => m.registerParameter('a.b', E.ones([1]))).toThrow(/invalid member name 'a.b'/);
  });

  it('loadStateDict copies values and lists every problem in one error', async () => {
    const a = new Tiny();
    const b = new Tiny();
    const w = b.fc1.weight;
    b.loadStateDict(a.stateDict());
    expect(b.fc1.weight).toBe(w); // same tensor object: optimisers stay valid
    expectClose(await b.fc1.weight.toFloat32(), await a.fc1.weight.toFloat32(), 0, 0);
    expectClose(await b.bn.getBuffer('running_var')!.toFloat32(), [1, 1, 1, 1], 0, 0);

    const bad = new Map(a.stateDict());
    bad.delete('fc2.weight');
    bad.delete('bn.running_mean');
    bad.set('fc1.bias', E.zeros([5]));
    bad.set('extra.weight', E.zeros([1]));
    bad.set('bn.num_batches_tracked', E.zeros([])); // PyTorch's counter is ignored
    const before = await b.fc1.weight.toFloat32();
    let msg = '';
    try {
      b.loadStateDict(bad);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/4 problem\(s\)/);
    expect(msg).toMatch(/missing: fc2\.weight \[2, 4\]/);
    expect(msg).toMatch(/missing: bn\.running_mean \[4\]/);
    expect(msg).toMatch(/shape mismatch: fc1\.bias expects \[4\] f32, got \[5\] f32/);
    expect(msg).toMatch(/unexpected: extra\.weight/);
    expect(msg).not.toMatch(/num_batches_tracked/);
    expectClose(await b.fc1.weight.toFloat32(), before, 0, 0); // nothing copied
    a.dispose();
    b.dispose();
  });
});

async function stats(x: E.Tensor): Promise<{ mean: number; variance: number; maxAbs: number }> {
  const d = await x.toFloat32();
  let s = 0;
  let s2 = 0;
  let m = 0;
  for (const v of d) {
    s += v;
    s2 += v * v;
    m = Math.max(m, Math.abs(v));
  }
  return { mean: s / d.length, variance: s2 / d.length - (s / d.length) ** 2, maxAbs: m };
}

describe('initialisers', () => {
  const cases: [string, () => Linear | Conv2d, number, boolean][] = [
    ['Linear glorot', () => new Linear(300, 200), Math.sqrt(6 / 500), true],
    ['Linear he', () => new Linear(300, 200, { init: 'he' }), Math.sqrt(6 / 300), true],
    ['Linear torch', () => new Linear(300, 200, { init: 'torch' }), 1 / Math.sqrt(300), false],
    ['Conv2d he (ALR)', () => new Conv2d(3, 128, 3), Math.sqrt(6 / 27), true],
    ['Conv2d gp_he', () => new Conv2d(3, 128, 3, { init: 'gp_he' }), Math.sqrt(12 / (27 + 1152)), true],
    ['Conv2d glorot 1x1', () => new Conv2d(64, 128, 1, { init: 'glorot' }), Math.sqrt(6 / 192), true],
  ];
  for (const [name, make, limit, zeroBias] of cases) {
    it(`${name}: U(±${limit.toFixed(4)})${zeroBias ? ', zero bias' : ''}`, async () => {
      E.manualSeed(11);
      const m = make();
      const s = await stats(m.weight);
      expect(s.maxAbs).toBeLessThanOrEqual(limit);
      expect(s.maxAbs).toBeGreaterThan(limit * 0.98);
      expect(Math.abs(s.mean)).toBeLessThan(limit * 0.05);
      expect(s.variance / ((limit * limit) / 3)).toBeGreaterThan(0.9);
      expect(s.variance / ((limit * limit) / 3)).toBeLessThan(1.1);
      const b = await stats(m.bias!);
      if (zeroBias) expect(b.maxAbs).toBe(0);
      else expect(b.maxAbs).toBeGreaterThan(0);
      m.dispose();
    });
  }

  it('a seed fixes the initial weights', async () => {
    E.manualSeed(3);
    const a = toyCritic(16);
    E.manualSeed(3);
    const b = toyCritic(16);
    const c = toyCritic(16);
    for (const [[n, p], [, q], [, r]] of a
      .namedParameters()
      .map((e, i) => [e, b.namedParameters()[i], c.namedParameters()[i]])) {
      const pa = await p.toFloat32();
      expectClose(await q.toFloat32(), pa, 0, 0);
      if (n.endsWith('weight')) expect(Array.from(await r.toFloat32())).not.toEqual(Array.from(pa));
    }
    for (const m of [a, b, c]) m.dispose();
  });
});

describe('toy models', () => {
  it('parameter counts match the PyTorch references', () => {
    const ms: [string, Module][] = [
      ['toyGenerator512', toyGenerator()],
      ['toyCritic512', toyCritic()],
      ['regressor', lipschitzRegressor()],
      ['regressor_bn', lipschitzRegressor({ batchNorm: true })],
    ];
    // the counts PyTorch gives for the same layers (1741: the A.4 regressor's size as the authors state it)
    expect(FIX.paramCounts).toMatchObject({
      toyGenerator512: 527874,
      toyCritic512: 527361,
      regressor: 1741,
      regressor_bn: 1901,
    });
    for (const [k, m] of ms) {
      expect(m.numParameters(), k).toBe(FIX.paramCounts[k]);
      m.dispose();
    }
  });

  it('MLP with BatchNorm1d: forward and gradients match PyTorch', async () => {
    const c = FIX.cases.find((x) => x.name === 'mlp_bn')!;
    const m = new MLP([2, 5, 4, 1], { batchNorm: true, squeeze: false });
    await loadFixture(m, c.name);
    const names = m.namedParameters().map(([n]) => n);
    expect(names.sort()).toEqual(Object.keys(c.grads).sort());
    const res = E.tidy(() => {
      const x = E.requireGrad(t(c.input));
      const y = m.forward(x);
      const gs = E.grad(y, [x, ...m.parameters()], { gradOutputs: [t(c.gradOut)] });
      return { y, gs };
    });
    expectClose(await res.y.toFloat32(), c.out.data, 1e-5, 1e-4);
    expectClose(await res.gs[0].toFloat32(), c.gradInput.data, 1e-5, 1e-3);
    for (const [i, [n]] of m.namedParameters().entries())
      expectClose(await res.gs[i + 1].toFloat32(), c.grads[n].data, 1e-5, 1e-3);
    for (const [n, b] of m.namedBuffers()) expectClose(await b.toFloat32(), c.buffers[n].data, 1e-6, 1e-5);
    E.dispose(res);
    m.dispose();
  });
});

describe('pooling and dropout layers', () => {
  it('MaxPool2d takes the 2x2 maximum and routes the gradient to it', async () => {
    const vals = Array.from({ length: 2 * 3 * 4 * 6 }, (_, i) => Math.sin(i * 1.7) * 3);
    const x = E.requireGrad(E.tensor(vals, [2, 3, 4, 6]));
    const { y, g } = E.tidy(() => {
      const out = new MaxPool2d().forward(x);
      return { y: out, g: E.grad(E.sum(out), [x])[0] };
    });
    expect(y.shape).toEqual([2, 3, 2, 3]);
    const want: number[] = [];
    const wantG = new Array<number>(vals.length).fill(0);
    for (let nc = 0; nc < 6; nc++)
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 3; j++) {
          const idx = [0, 1, 6, 7].map((o) => nc * 24 + i * 12 + j * 2 + o);
          const best = idx.reduce((a, b) => (vals[b] > vals[a] ? b : a));
          want.push(vals[best]);
          wantG[best] = 1;
        }
    expectClose(await y.toFloat32(), want, 1e-6, 1e-6);
    expectClose(await g.toFloat32(), wantG, 0, 0);
    E.dispose([x, y, g]);
  });

  it('Dropout2d drops whole channels with probability p in training and is the identity in eval', async () => {
    E.manualSeed(9);
    const d = new Dropout2d(0.25);
    const x = E.ones([64, 32, 2, 2]);
    const y = await E.tidy(() => d.forward(x)).toFloat32();
    let kept = 0;
    for (let ch = 0; ch < 64 * 32; ch++) {
      const v = y.slice(ch * 4, ch * 4 + 4);
      expect(v.every((a) => a === v[0])).toBe(true); // one decision per channel
      expect([0, 1 / 0.75].some((w) => Math.abs(v[0] - w) < 1e-6)).toBe(true);
      if (v[0] > 0) kept++;
    }
    expect(kept / 2048).toBeGreaterThan(0.72);
    expect(kept / 2048).toBeLessThan(0.78);
    d.eval();
    expect(d.forward(x)).toBe(x);
    x.dispose();
  });
});

describe('BatchNorm1d', () => {
  it('running statistics and eval output match PyTorch; withoutStatUpdates leaves them alone', async () => {
    const f = FIX.batchnorm1d;
    const bn = new BatchNorm1d(5);
    await loadFixture(bn, 'bn1d');
    for (const s of f.steps) {
      // a train-mode pass without updates: same output, statistics untouched
      const before = await bn.getBuffer('running_mean')!.toFloat32();
      const y0 = E.tidy(() => withoutStatUpdates(() => bn.forward(t(s.input))));
      expectClose(await y0.toFloat32(), s.out.data, 1e-5, 1e-4);
      expectClose(await bn.getBuffer('running_mean')!.toFloat32(), before, 0, 0);
      const y = E.tidy(() => bn.forward(t(s.input)));
      expectClose(await y.toFloat32(), s.out.data, 1e-5, 1e-4);
      expectClose(await bn.getBuffer('running_mean')!.toFloat32(), s.running_mean.data, 1e-6, 1e-5);
      expectClose(await bn.getBuffer('running_var')!.toFloat32(), s.running_var.data, 1e-6, 1e-5);
      E.dispose([y, y0]);
    }
    bn.eval();
    const y = E.tidy(() => bn.forward(t(f.evalInput)));
    expectClose(await y.toFloat32(), f.evalOut.data, 1e-5, 1e-4);
    y.dispose();
    bn.dispose();
  });
});

describe('spectral norm', () => {
  for (const fx of FIX.spectral) {
    it(`${fx.name}: u, v, sigma, output and gradients match torch.nn.utils.spectral_norm over 3 steps`, async () => {
      const m =
        fx.name === 'sn_linear'
          ? spectralNorm(new Linear(5, 7, { init: 'torch' }))
          : spectralNorm(new Conv2d(3, 4, 3, { init: 'torch' }));
      expect([...m.stateDict().keys()]).toEqual(['bias', 'weight_orig', 'weight_u', 'weight_v']);
      await loadFixture(m, fx.name);
      const opt = new E.SGD(m.parameters(), { lr: fx.lr });
      for (const [k, s] of fx.steps.entries()) {
        const y = E.tidy(() => {
          const out = m.forward(t(s.input));
          E.backward(out, t(s.gradOut));
          return out;
        });
        expectClose(await y.toFloat32(), s.out.data, 1e-5, 1e-4);
        expectClose(await m.getBuffer('weight_u')!.toFloat32(), s.u.data, 1e-5, 1e-4);
        expectClose(await m.getBuffer('weight_v')!.toFloat32(), s.v.data, 1e-5, 1e-4);
        const sigma = spectralSigma(m);
        expect(Math.abs((await sigma.item()) - s.sigma), `step ${k} sigma`).toBeLessThan(1e-5 * s.sigma);
        for (const [n, p] of m.namedParameters()) expectClose(await p.grad!.toFloat32(), s.grads[n].data, 1e-5, 1e-3);
        opt.step();
        E.zeroGrad(m.parameters());
        E.dispose([y, sigma]);
      }
      // a train-mode pass inside withoutStatUpdates does not move u
      const u0 = await m.getBuffer('weight_u')!.toFloat32();
      E.tidy(() => withoutStatUpdates(() => m.forward(t(fx.evalInput))));
      expectClose(await m.getBuffer('weight_u')!.toFloat32(), u0, 0, 0);
      // eval: no power iteration
      m.eval();
      const y = E.tidy(() => m.forward(t(fx.evalInput)));
      expectClose(await y.toFloat32(), fx.evalOut.data, 1e-5, 1e-4);
      expectClose(await m.getBuffer('weight_u')!.toFloat32(), fx.uAfterEval.data, 1e-5, 1e-4);
      expectClose(await m.getBuffer('weight_u')!.toFloat32(), u0, 0, 0);
      y.dispose();
      opt.dispose();
      m.dispose();
    });
  }

  it('no gradient flows into u and v; sigma of a spectrally normalised weight is 1 after many iterations', async () => {
    E.manualSeed(2);
    const m = spectralNorm(new Linear(6, 4));
    for (let i = 0; i < 30; i++) E.tidy(() => m.forward(E.ones([1, 6])));
    expect(m.getBuffer('weight_u')!.requiresGrad).toBe(false);
    // σ(W / σ) = 1: the largest singular value of the effective weight
    const w = E.tidy(() => E.noGrad(() => m.effectiveWeight()));
    const wd = await w.toFloat32();
    // power iteration on the host, in float64
    let v = new Float64Array(6).fill(1);
    let s = 0;
    for (let it = 0; it < 200; it++) {
      const u = new Float64Array(4);
      for (let r = 0; r < 4; r++) for (let c = 0; c < 6; c++) u[r] += wd[r * 6 + c] * v[c];
      const nv = new Float64Array(6);
      for (let r = 0; r < 4; r++) for (let c = 0; c < 6; c++) nv[c] += wd[r * 6 + c] * u[r];
      s = Math.sqrt(Math.hypot(...nv));
      const n = Math.hypot(...nv);
      v = nv.map((x) => x / n);
    }
    expect(Math.abs(s - 1)).toBeLessThan(1e-3);
    w.dispose();
    m.dispose();
  });
});
