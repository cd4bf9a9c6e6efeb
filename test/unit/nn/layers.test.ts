// The layers of issue 28 against PyTorch (bench/conformance/fixtures/layers.json from gen_layers.py: float64
// references from float32 inputs), by finite differences (first and second order), and their
// option checks: GELU, SiLU, erf, GroupNorm, InstanceNorm2d, ConvTranspose2d, Embedding,
// SelfAttention2d, forward hooks, clipGradNorm, EMA.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import * as nn from '../../../nn/index.js';
import { expectClose, expectGrad, expectGradGrad, useGpu } from '../../support/gpu.js';

useGpu();

interface Arr {
  shape: number[];
  data: number[];
}
const FIX = JSON.parse(
  readFileSync(new URL('../../../bench/conformance/fixtures/layers.json', import.meta.url), 'utf8'),
);
const up = (a: Arr) => E.tensor(a.data, a.shape);

/** Shape, then values within atol + rtol·|expected| (the message names the worst element). */
async function check(label: string, t: E.Tensor, ref: Arr, atol = 2e-5, rtol = 1e-4): Promise<void> {
  expect([...t.shape], `${label}: shape`).toEqual(ref.shape);
  const got = await t.toFloat32();
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - ref.data[i]) - (atol + rtol * Math.abs(ref.data[i]));
    if (e > excess || Number.isNaN(got[i])) (worst = i), (excess = Number.isNaN(got[i]) ? Infinity : e);
  }
  expect(
    worst,
    worst < 0
      ? ''
      : `${label}: element ${worst} is ${got[worst]}, PyTorch says ${ref.data[worst]} (atol ${atol}, rtol ${rtol})`,
  ).toBe(-1);
}

describe('erf, gelu, silu', () => {
  const fns: Record<string, (x: E.Tensor, p: any) => E.Tensor> = {
    erf: (x) => E.erf(x),
    gelu: (x, p) => E.gelu(x, { approximate: p.approximate }),
    silu: (x) => E.silu(x),
  };
  for (const c of FIX.ops as {
    name: string;
    op: string;
    params: any;
    input: Arr;
    out: Arr;
    gradOut: Arr;
    gradInput: Arr;
  }[]) {
    it(`${c.name} vs PyTorch (forward and VJP, float32 to 2 ulp-ish)`, async () => {
      const x = E.requireGrad(up(c.input));
      const [y, gx] = E.tidy(() => {
        const y = fns[c.op](x, c.params);
        return [y, E.grad(y, [x], { gradOutputs: [up(c.gradOut)] })[0]];
      });
      await check(`${c.name}: forward`, y, c.out, 1e-6, 3e-6);
      await check(`${c.name}: VJP`, gx, c.gradInput, 1e-6, 3e-6);
      E.dispose([x, y, gx]);
    });
  }
  it('first and second derivatives by finite differences', async () => {
    E.manualSeed(3);
    const x = E.mul(E.randNormal([3, 7]), 2);
    for (const f of [E.erf, (t: E.Tensor) => E.gelu(t), (t: E.Tensor) => E.gelu(t, { approximate: 'tanh' }), E.silu]) {
      await expectGrad(f, [x]);
      await expectGradGrad(f, [x]);
    }
    x.dispose();
  });
  it('nn.GELU / nn.SiLU and option checks', async () => {
    const x = E.tensor([-1, 0, 0.5, 2], [4]);
    const a = new nn.GELU({ approximate: 'tanh' }).forward(x);
    expectClose(await a.toFloat32(), [-0.15880801, 0, 0.34571401, 1.95459769], 1e-7, 1e-6);
    const s = new nn.SiLU().forward(x);
    expectClose(await s.toFloat32(), [-0.26894142, 0, 0.31122967, 1.76159416], 1e-7, 1e-6);
    expect(() => E.gelu(x, { approximate: 'exact' as 'none' })).toThrow(
      /gelu: option 'approximate' must be one of "none", "tanh", got "exact"/,
    );
    expect(() => new nn.GELU({ aproximate: 'tanh' } as object)).toThrow(
      /GELU: unknown option 'aproximate' \(did you mean 'approximate'\?\)/,
    );
    E.dispose([x, a, s]);
  });
});

/** cGANs with projection (Miyato & Koyama 2018) on points: D(x, y) = ψ(φ(x)) + ⟨embed(y), φ(x)⟩. */
class ProjectionCritic extends nn.Module {
  readonly phi: nn.Sequential;
  readonly psi: nn.Linear;
  readonly embed: nn.Embedding;
  constructor(din: number, hidden: number, classes: number) {
    super();
    this.phi = this.registerModule(
      'phi',
      new nn.Sequential(new nn.Linear(din, hidden), new nn.ReLU(), new nn.Linear(hidden, hidden), new nn.ReLU()),
    );
    this.psi = this.registerModule('psi', new nn.Linear(hidden, 1));
    this.embed = this.registerModule('embed', new nn.Embedding(classes, hidden));
  }
  forward(x: E.Tensor, labels: E.Tensor | ArrayLike<number> = []): E.Tensor {
    const h = this.phi.forward(x);
    return E.add(E.reshape(this.psi.forward(h), [-1]), E.sum(E.mul(this.embed.forward(labels), h), 1));
  }
}

const LAYERS: Record<string, (...a: any[]) => nn.Module> = {
  GroupNorm: (g, c, o) => new nn.GroupNorm(g, c, o),
  InstanceNorm2d: (c, o) => new nn.InstanceNorm2d(c, o),
  ConvTranspose2d: (i, o, k, opts) => new nn.ConvTranspose2d(i, o, k, opts),
  SelfAttention2d: (c, o) => new nn.SelfAttention2d(c, o),
  Embedding: (n, d, o) => new nn.Embedding(n, d, o),
  ProjectionCritic: (i, h, c) => new ProjectionCritic(i, h, c),
};

interface Call {
  mode: 'train' | 'eval';
  inputs: Arr[];
  out: Arr;
  gradOut: Arr;
  gradInputs: Arr[];
  grads: Record<string, Arr>;
  buffers: Record<string, Arr>;
}
interface ModuleCase {
  name: string;
  layer: string;
  args: unknown[];
  state: Record<string, Arr>;
  calls: Call[];
}

describe('layers vs PyTorch (state_dict loaded from torch; forward, input and parameter VJPs, buffers)', () => {
  for (const c of FIX.modules as ModuleCase[]) {
    it(c.name, async () => {
      const m = LAYERS[c.layer](...c.args);
      const state = Object.fromEntries(Object.entries(c.state).map(([k, a]) => [k, up(a)]));
      m.loadStateDict(state);
      E.dispose(Object.values(state));
      const params = m.namedParameters();
      for (const [i, call] of c.calls.entries()) {
        m.train(call.mode === 'train');
        const label = `${c.name}, call ${i + 1} (${call.mode})`;
        // integer inputs (Embedding indices, labels) are host arrays
        const isIndex = (a: Arr) =>
          a.data.every((v) => Number.isInteger(v)) && (c.layer === 'Embedding' || a.shape.length === 1);
        const xs = call.inputs.map((a) => (isIndex(a) ? a.data : E.requireGrad(up(a))));
        const floats = xs.filter((x): x is E.Tensor => x instanceof E.Tensor);
        const [y, ...gs] = E.tidy(() => {
          const y = (m.forward as (...a: unknown[]) => E.Tensor)(...xs);
          return [y, ...E.grad(y, [...floats, ...params.map(([, p]) => p)], { gradOutputs: [up(call.gradOut)] })];
        });
        await check(`${label}: forward`, y, call.out);
        for (const [j, g] of call.gradInputs.entries()) await check(`${label}: VJP of input ${j}`, gs[j], g);
        for (const [j, [name]] of params.entries())
          await check(`${label}: VJP of ${name}`, gs[floats.length + j], call.grads[name]);
        for (const [name, ref] of Object.entries(call.buffers))
          await check(`${label}: buffer ${name}`, m.stateDict().get(name)!, ref);
        E.dispose([y, ...gs, ...floats]);
      }
      expect(Object.keys(c.state)).toEqual([...m.stateDict().keys()]);
      m.dispose();
    });
  }
});

describe('gradcheck and gradgradcheck of the new layers', () => {
  it('groupNorm (x, weight, bias) and InstanceNorm2d', async () => {
    E.manualSeed(11);
    const x = E.randNormal([2, 4, 3, 3]);
    const w = E.randUniform([4], 0.5, 1.5);
    const b = E.randNormal([4]);
    const gn = (a: E.Tensor, ww: E.Tensor, bb: E.Tensor) => E.groupNorm(a, 2, ww, bb);
    await expectGrad(gn, [x, w, b]);
    await expectGradGrad(gn, [x, w, b], { maxElements: 16 });
    const inorm = new nn.InstanceNorm2d(4, { affine: true });
    await expectGrad((a) => inorm.forward(a), [x]);
    await expectGradGrad((a) => inorm.forward(a), [x], { maxElements: 16 });
    E.dispose([x, w, b]);
    inorm.dispose();
  });
  it('convTranspose2d (x, weight, bias), stride 2, padding 1, outputPadding 1', async () => {
    E.manualSeed(12);
    const x = E.randNormal([2, 3, 3, 2]);
    const w = E.randNormal([3, 2, 3, 3]);
    const b = E.randNormal([2]);
    const f = (a: E.Tensor, ww: E.Tensor, bb: E.Tensor) =>
      E.convTranspose2d(a, ww, bb, { stride: 2, padding: 1, outputPadding: 1 });
    await expectGrad(f, [x, w, b]);
    await expectGradGrad(f, [x, w, b], { maxElements: 12 });
    E.dispose([x, w, b]);
  });
  it('embedding: host indices and device indices (i32, f32 labels) give the same rows and weight gradients', async () => {
    E.manualSeed(13);
    const w = E.randNormal([5, 3]);
    const idx = [4, 1, 1, 0, 4, 4];
    const fHost = (ww: E.Tensor) => E.square(E.embedding(ww, idx));
    await expectGrad(fHost, [w]);
    await expectGradGrad(fHost, [w]);
    const i32 = E.tensor(Int32Array.from(idx), [2, 3], 'i32');
    const f32 = E.tensor(idx, [6]);
    const fDev = (ww: E.Tensor) => E.square(E.embedding(ww, i32));
    await expectGrad(fDev, [w]);
    await expectGradGrad(fDev, [w]);
    const a = E.embedding(w, idx);
    const b = E.embedding(w, i32);
    const c = E.embedding(w, f32);
    expect([...b.shape]).toEqual([2, 3, 3]);
    expect(await b.toFloat32()).toEqual(await a.toFloat32());
    expect(await c.toFloat32()).toEqual(await a.toFloat32());
    // out-of-range device indices give zero rows (host indices are checked)
    const bad = E.embedding(w, E.tensor(Int32Array.from([-1, 5, 2]), [3], 'i32'));
    const row2 = (await w.toFloat32()).slice(6, 9);
    expect([...(await bad.toFloat32())]).toEqual([0, 0, 0, 0, 0, 0, ...row2]);
    expect(() => E.embedding(w, [0, 5])).toThrow(/index 5 at position 1 is out of range for an axis of size 5/);
    expect(() => new nn.Embedding(0, 3)).toThrow(/Embedding: option 'numEmbeddings' must be an integer >= 1, got 0/);
    E.dispose([w, i32, f32, a, b, c, bad]);
  });
  it('SelfAttention2d (input, with γ ≠ 0) and the projection critic, to second order', async () => {
    E.manualSeed(14);
    const att = new nn.SelfAttention2d(4, { reduction: 2 });
    expect(await att.getParameter('gamma')!.toFloat32()).toEqual(new Float32Array([0])); // starts as the identity
    E.assign(att.getParameter('gamma')!, E.tensor([0.8], [1]));
    const x = E.randNormal([2, 4, 2, 3]);
    await expectGrad((a) => att.forward(a), [x]);
    await expectGradGrad((a) => att.forward(a), [x], { maxElements: 12 });
    const D = new ProjectionCritic(2, 8, 3);
    const p = E.randNormal([5, 2]);
    await expectGrad((a) => D.forward(a, [0, 2, 1, 2, 0]), [p]);
    // a gradient penalty through the embedding's projection: ‖∇ₓD(x, y)‖² differentiated again
    await expectGradGrad((a) => E.tanh(D.forward(a, [0, 2, 1, 2, 0])), [p]);
    E.dispose([x, p]);
    att.dispose();
    D.dispose();
  });
});

describe('option and argument checks', () => {
  it('every new layer refuses unknown options and bad values, naming them', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => new nn.GroupNorm(3, 4), /GroupNorm: numChannels 4 must be divisible by numGroups 3/],
      [
        () => new nn.GroupNorm(2, 4, { afine: false } as object),
        /GroupNorm: unknown option 'afine' \(did you mean 'affine'\?\); valid options: eps, affine/,
      ],
      [() => new nn.GroupNorm(2, 4, { eps: 0 }), /GroupNorm: option 'eps' must be a finite number > 0, got 0/],
      [() => new nn.GroupNorm(1.5, 4), /GroupNorm: option 'numGroups' must be an integer >= 1, got 1.5/],
      [
        () => new nn.InstanceNorm2d(4, { track_running_stats: true } as object),
        /InstanceNorm2d: unknown option 'track_running_stats' \(did you mean 'trackRunningStats'\?\)/,
      ],
      [
        () => new nn.InstanceNorm2d(4, { affine: 1 } as object),
        /InstanceNorm2d: option 'affine' must be true or false, got 1/,
      ],
      [
        () => new nn.ConvTranspose2d(2, 3, 3, { stride: 2, outputPadding: 2 }),
        /ConvTranspose2d: outputPadding 2 must be smaller than stride 2/,
      ],
      [
        () => new nn.ConvTranspose2d(2, 3, 3, { output_padding: 1 } as object),
        /ConvTranspose2d: unknown option 'output_padding' \(did you mean 'outputPadding'\?\)/,
      ],
      [() => new nn.ConvTranspose2d(2, 3, 0), /ConvTranspose2d: option 'kernelSize' must be an integer >= 1, got 0/],
      [
        () => new nn.Embedding(4, 2, { padding_idx: 0 } as object),
        /Embedding: unknown option 'padding_idx'; valid options: std/,
      ],
      [
        () => new nn.SelfAttention2d(8, { reduction: 0 }),
        /SelfAttention2d: option 'reduction' must be an integer >= 1, got 0/,
      ],
      [
        () => new nn.EMA(new nn.Linear(2, 2), { decay: 1.5 }),
        /EMA: option 'decay' must be a finite number >= 0 and <= 1, got 1.5/,
      ],
      [() => new nn.EMA({} as nn.Module), /EMA: expected a Module to average/],
      [() => E.clipGradNorm([], -1), /clipGradNorm: option 'maxNorm' must be a finite number >= 0, got -1/],
      [
        () => E.clipGradNorm([], 1, { norm: 'two' as 'inf' }),
        /clipGradNorm: option 'norm' must be a number > 0, Infinity or 'inf', got "two"/,
      ],
      [() => E.clipGradNorm([], 1, { type: 2 } as object), /clipGradNorm: unknown option 'type'; valid options: norm/],
      [
        () => new nn.Linear(2, 2).registerForwardHook(null as unknown as nn.ForwardHook),
        /Linear.registerForwardHook: hook must be a function, got object/,
      ],
    ];
    for (const [f, re] of cases) expect(f).toThrow(re);
  });
  it('ops check shapes', () => {
    const x = E.zeros([1, 4, 2, 2]);
    expect(() => E.groupNorm(x, 3)).toThrow(/groupNorm: 4 channels do not split into 3 groups/);
    expect(() => E.convTranspose2d(x, E.zeros([3, 2, 3, 3]))).toThrow(
      /convTranspose2d: the input has 4 channels but the weight \[in, out, kh, kw\] expects 3/,
    );
    expect(() => new nn.SelfAttention2d(3).forward(x)).toThrow(
      /SelfAttention2d\(3\): expected input \[N, 3, H, W\], got \[1, 4, 2, 2\]/,
    );
    expect(() => E.gelu(x, null as unknown as object)).not.toThrow();
    E.dispose(x);
  });
});

describe('forward hooks', () => {
  it('see (module, input, output), may replace the output, and go away with remove()', async () => {
    E.manualSeed(21);
    const lin = new nn.Linear(2, 3);
    const net = new nn.Sequential(lin, new nn.ReLU());
    const x = E.randNormal([4, 2]);
    const seen: [nn.Module, unknown[], number[]][] = [];
    const h1 = lin.registerForwardHook((m, input, out) => void seen.push([m, input, [...out.shape]]));
    const h2 = lin.registerForwardHook((_m, _input, out) => E.mul(out, 0));
    expect(lin.forwardHookCount()).toBe(2);
    const y = net.forward(x);
    expect(seen.length).toBe(1);
    expect(seen[0][0]).toBe(lin);
    expect(seen[0][1][0]).toBe(x);
    expect(seen[0][2]).toEqual([4, 3]);
    expect([...(await y.toFloat32())].every((v) => v === 0)).toBe(true);
    h2.remove();
    h2.remove(); // idempotent
    const y2 = net.forward(x);
    expect([...(await y2.toFloat32())].some((v) => v !== 0)).toBe(true);
    h1.remove();
    expect(lin.forwardHookCount()).toBe(0);
    expect(Object.prototype.hasOwnProperty.call(lin, 'forward')).toBe(false); // unwrapped
    net.forward(x);
    expect(seen.length).toBe(2);
    // nn.summary wraps forward on its own and restores the hook's wrapper
    const h3 = lin.registerForwardHook(() => undefined);
    expect(nn.summary(net, [4, 2]).text).toMatch(/Linear/);
    expect(lin.forwardHookCount()).toBe(1);
    h3.remove();
    E.dispose([x, y, y2]);
    net.dispose();
  });
  it('do not break withoutStatUpdates, spectral norm, or an ALR penalty with trace', async () => {
    E.manualSeed(22);
    const { adversarialLipschitzPenalty } = await import('../../../alr/index.js');
    const conv = nn.spectralNorm(new nn.Linear(2, 8));
    const bn = new nn.BatchNorm1d(8);
    const D = new nn.Sequential(conv, bn, new nn.ReLU(), new nn.Linear(8, 1));
    const calls: number[] = [];
    const hs = [
      conv.registerForwardHook((_m, _i, out) => void calls.push(out.shape[0])),
      bn.registerForwardHook(() => undefined),
    ];
    const rm0 = await bn.getBuffer('running_mean')!.toFloat32();
    const u0 = await conv.getBuffer('weight_u')!.toFloat32();
    const x = E.randNormal([6, 2]);
    nn.withoutStatUpdates(() => E.tidy(() => void D.forward(x)));
    expect(await bn.getBuffer('running_mean')!.toFloat32()).toEqual(rm0);
    expect(await conv.getBuffer('weight_u')!.toFloat32()).toEqual(u0);
    const r = E.tidy(() => {
      const p = adversarialLipschitzPenalty(nn.asCritic(D), x, { trace: true, k: 1 });
      return { loss: p.loss, steps: p.trace!.steps.length };
    });
    expect(Number.isFinite(await r.loss.item())).toBe(true);
    expect(r.steps).toBe(1);
    expect(calls.length).toBeGreaterThanOrEqual(4); // the wrapper ran in every pass the penalty made
    expect(await bn.getBuffer('running_mean')!.toFloat32()).toEqual(rm0); // the penalty's passes update nothing
    for (const h of hs) h.remove();
    E.dispose([x, r.loss]);
    D.dispose();
  });
});

describe('clipGradNorm vs torch.nn.utils.clip_grad_norm_', () => {
  for (const c of FIX.clip as {
    norm: number | 'inf';
    maxNorm: number;
    grads: Arr[];
    total: number;
    clipped: Arr[];
  }[]) {
    it(`norm ${c.norm}, maxNorm ${c.maxNorm}: total norm and clipped .grad, with no readback`, async () => {
      const params = c.grads.map((g) => E.requireGrad(E.zeros(g.shape)));
      params.forEach((p, i) => (p.grad = up(c.grads[i])));
      const before = E.counters.readbacks;
      const total = E.clipGradNorm([...params, E.requireGrad(E.zeros([2]))], c.maxNorm, { norm: c.norm }); // one without .grad
      expect(E.counters.readbacks).toBe(before);
      expect([...total.shape]).toEqual([]);
      expect(await total.item()).toBeCloseTo(c.total, 4);
      for (const [i, p] of params.entries()) await check(`grad ${i}`, p.grad!, c.clipped[i], 1e-6, 1e-5);
      // clipGrads: the same on gradient tensors themselves (what E.grad returns)
      const gs = c.grads.map(up);
      const t2 = E.clipGrads(gs, c.maxNorm, { norm: c.norm === 'inf' ? Infinity : c.norm });
      expect(await t2.item()).toBeCloseTo(c.total, 4);
      for (const [i, g] of gs.entries()) await check(`clipGrads ${i}`, g, c.clipped[i], 1e-6, 1e-5);
      E.dispose([params.map((p) => p.grad), params, total, t2, gs]);
    });
  }
  it('a norm below maxNorm leaves the gradients bit for bit', async () => {
    const g = E.tensor([0.1, -0.2, 0.3], [3]);
    const v0 = await g.toFloat32();
    const t = E.clipGrads([g], 10);
    expect(await g.toFloat32()).toEqual(v0);
    E.dispose([g, t]);
  });
});

describe('nn.EMA', () => {
  it('follows ema ← decay·ema + (1 − decay)·p (float64 reference), one dispatch per group of 8 tensors', async () => {
    const f = FIX.ema as {
      decay: number;
      initial: Record<string, Arr>;
      steps: { params: Record<string, Arr>; ema: Record<string, Arr> }[];
    };
    const m = new nn.Linear(3, 2);
    m.loadStateDict(Object.fromEntries(Object.entries(f.initial).map(([k, a]) => [k, up(a)])));
    const ema = new nn.EMA(m, { decay: f.decay });
    expect([...ema.stateDict().keys()]).toEqual(['module.weight', 'module.bias']);
    expect(ema.module.parameters()[0]).not.toBe(m.parameters()[0]);
    for (const step of f.steps) {
      m.loadStateDict(Object.fromEntries(Object.entries(step.params).map(([k, a]) => [k, up(a)])));
      const d0 = E.counters.dispatches;
      ema.update();
      expect(E.counters.dispatches - d0).toBe(1);
      for (const [k, ref] of Object.entries(step.ema))
        await check(`ema ${k}`, ema.module.stateDict().get(k)!, ref, 1e-6, 1e-5);
    }
    ema.dispose();
    m.dispose();
  });
  it('copies buffers, survives a checkpoint, and averages a spectral-norm, batch-norm model', async () => {
    E.manualSeed(31);
    const G = new nn.Sequential(
      nn.spectralNorm(new nn.Linear(2, 4)),
      new nn.BatchNorm1d(4),
      new nn.GELU(),
      new nn.Linear(4, 2),
    );
    const ema = new nn.EMA(G, { decay: 0.5 });
    const opt = new E.Adam(G.parameters(), { lr: 0.1 });
    for (let i = 0; i < 3; i++) {
      E.tidy(() => {
        const loss = E.mean(E.square(G.forward(E.randNormal([8, 2]))));
        opt.step(E.grad(loss, G.parameters()));
      });
      ema.update();
    }
    // buffers are copies of the source's; parameters are averages (not equal to the source's)
    for (const [name, t] of G.namedBuffers())
      expect(await ema.module.stateDict().get(name)!.toFloat32(), name).toEqual(await t.toFloat32());
    const w = await G.stateDict().get('3.weight')!.toFloat32();
    const we = await ema.module.stateDict().get('3.weight')!.toFloat32();
    expect(we).not.toEqual(w);
    // the averaged copy runs on its own buffers (spectral norm's u, v included)
    ema.module.eval();
    const x = E.randNormal([3, 2]);
    const y = ema.module.forward(x);
    expect([...y.shape]).toEqual([3, 2]);
    const bytes = await nn.encodeCheckpoint({ modules: { G, ema } });
    const ema2 = new nn.EMA(G, { decay: 0.5 });
    nn.loadCheckpointBytes(bytes, { modules: { G, ema: ema2 } });
    expect(await ema2.module.stateDict().get('3.weight')!.toFloat32()).toEqual(we);
    const sd = [...ema.stateDict().keys()];
    expect(sd).toContain('module.0.weight_orig');
    expect(sd).toContain('module.1.running_mean');
    E.dispose([x, y]);
    for (const mm of [G, ema, ema2]) mm.dispose();
    opt.dispose();
  });
});
