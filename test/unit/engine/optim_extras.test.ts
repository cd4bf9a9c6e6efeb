// AdamW, resumable SGD, and learning-rate schedules.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { loadCheckpoint, MLP, saveCheckpoint } from '../../../nn/index.js';
import { expectClose, useGpu } from '../../support/gpu.js';

useGpu();

describe('AdamW', () => {
  it('matches a float64 host reference of torch.optim.AdamW for three steps', async () => {
    const p0 = [0.5, -1.25, 2, 0.75, -0.1];
    const grads = [
      [0.1, -0.2, 0.3, 0.05, -0.4],
      [0.2, 0.1, -0.3, 0.0, 0.25],
      [-0.15, 0.3, 0.1, -0.2, 0.05],
    ];
    const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.999, 1e-8, 0.1];
    const p = E.tensor(p0, [5]);
    const opt = new E.AdamW([p], { lr, betas: [b1, b2], eps, weightDecay: wd });
    const ref = Float64Array.from(p0);
    const m = new Float64Array(5);
    const v = new Float64Array(5);
    for (let t = 1; t <= 3; t++) {
      const g = E.tensor(grads[t - 1], [5]);
      opt.step([g]);
      g.dispose();
      for (let i = 0; i < 5; i++) {
        ref[i] *= 1 - lr * wd;
        m[i] = b1 * m[i] + (1 - b1) * grads[t - 1][i];
        v[i] = b2 * v[i] + (1 - b2) * grads[t - 1][i] ** 2;
        ref[i] -= (lr / (1 - b1 ** t)) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** t) + eps));
      }
      expectClose(await p.toFloat32(), ref, 1e-6, 1e-6);
    }
    const dflt = new E.AdamW([E.ones([1])]);
    expect(dflt.weightDecay).toBe(1e-2); // torch's default
    dflt.dispose();
    opt.dispose();
    p.dispose();
  });
});

describe('SGD state', () => {
  it('a momentum SGD run saved and resumed continues bit for bit', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alr-sgd-'));
    const file = path.join(dir, 'sgd.safetensors');
    const steps = (m: MLP, opt: E.SGD, n: number) => {
      for (let i = 0; i < n; i++) {
        E.tidy(() => {
          const x = E.randUniform([16, 2], -1, 1);
          opt.step(E.grad(E.mean(E.square(m.forward(x))), m.parameters()));
        });
      }
    };
    E.manualSeed(1);
    const a = new MLP([2, 8, 1]);
    const optA = new E.SGD(a.parameters(), { lr: 0.05, momentum: 0.9 });
    steps(a, optA, 3);
    await saveCheckpoint(file, { modules: { m: a }, optimizers: { m: optA }, step: 3 });
    steps(a, optA, 3);
    E.manualSeed(2);
    const b = new MLP([2, 8, 1]);
    const optB = new E.SGD(b.parameters(), { lr: 0.05, momentum: 0.9 });
    await loadCheckpoint(file, { modules: { m: b }, optimizers: { m: optB } });
    steps(b, optB, 3);
    const [pa, pb] = await Promise.all([a, b].map((m) => Promise.all(m.parameters().map((t) => t.toFloat32()))));
    pa.forEach((x, i) => expect(Buffer.from(x.buffer).equals(Buffer.from(pb[i].buffer)), `parameter ${i}`).toBe(true));
    [a, b, optA, optB].forEach((x) => x.dispose());
  });
});

describe('learning-rate schedules', () => {
  it('shapes: linear decay, cosine, step, warm-up', () => {
    const lin = E.linearDecay(10, 0.1);
    expect([0, 5, 10, 20].map(lin)).toEqual([1, 0.55, 0.1, 0.1].map((x) => expect.closeTo(x, 12)));
    const cos = E.cosineDecay(4);
    expect([0, 2, 4].map(cos).map((x) => +x.toFixed(12))).toEqual([1, 0.5, 0]);
    expect([0, 2, 3, 6].map(E.stepDecay(3, 0.5))).toEqual([1, 1, 0.5, 0.25]);
    expect([0, 1, 3, 4, 5].map(E.withWarmup(4, E.stepDecay(1, 0.5)))).toEqual([0.25, 0.5, 1, 1, 0.5]);
    expect(() => E.linearDecay(0)).toThrow(/linearDecay: total must be an integer >= 1, got 0/);
    expect(() => E.stepDecay(2, -1)).toThrow(/stepDecay: gamma must be a finite number >= 0, got -1/);
  });

  it('drive several optimisers from their own starting lr, and resume from state()', () => {
    const [p, q] = [E.zeros([3]), E.zeros([3])];
    const adam = new E.Adam([p], { lr: 0.01 });
    const sgd = new E.SGD([q], { lr: 0.1 });
    const s = new E.LrSchedule([adam, sgd], E.linearDecay(4));
    expect([adam.lr, sgd.lr]).toEqual([0.01, 0.1]);
    s.step();
    s.step();
    expect(adam.lr).toBeCloseTo(0.005, 12);
    expect(sgd.lr).toBeCloseTo(0.05, 12);
    const adam2 = new E.Adam([p], { lr: 0.01 });
    const resumed = new E.LrSchedule(adam2, E.linearDecay(4));
    resumed.loadState(s.state());
    expect(adam2.lr).toBeCloseTo(adam.lr, 15);
    [adam, sgd, adam2].forEach((o) => o.dispose());
    E.dispose([p, q]);
  });
});

describe('parameter groups', () => {
  const init = () => [
    E.tensor([0.5, -1, 2, 0.25, 3, -0.5, 1, 2], [8]),
    E.tensor([1, 2, 3], [3]),
    E.tensor([-1, 0.5], [2]),
  ];
  const gradsAt = (t: number) => [
    E.tensor(
      Array.from({ length: 8 }, (_, i) => Math.sin(t + i)),
      [8],
    ),
    E.tensor([0.1 * t, -0.2, 0.3], [3]),
    E.tensor([0.05, -0.1 * t], [2]),
  ];
  const run = async (
    make: (ps: E.Tensor[]) => {
      opts: { step(g: E.Tensor[]): void; lr: number; dispose(): void }[];
      split: (g: E.Tensor[]) => E.Tensor[][];
    },
  ) => {
    const ps = init();
    const { opts, split } = make(ps);
    for (let t = 1; t <= 4; t++) {
      if (t === 3) for (const o of opts) o.lr *= 0.5; // a schedule's change reaches every group
      const gs = gradsAt(t);
      split(gs).forEach((g, i) => opts[i].step(g));
      E.dispose(gs);
    }
    const out = await Promise.all(ps.map((p) => p.toFloat32()));
    for (const o of opts) o.dispose();
    E.dispose(ps);
    return out.map((a) => Array.from(a));
  };

  for (const [name, Opt] of [
    ['Adam', E.Adam],
    ['AdamW', E.AdamW],
    ['SGD', E.SGD],
  ] as const) {
    it(`${name}: groups with their own lr and weight decay give the bits of separate optimisers`, async () => {
      const momentum = name === 'SGD' ? { momentum: 0.9 } : {};
      const grouped = await run((ps) => ({
        opts: [
          new Opt([{ params: [ps[0], ps[2]] }, { params: [ps[1]], lr: 0.03, weightDecay: 0.2 }], {
            lr: 0.01,
            weightDecay: 0.05,
            ...momentum,
          }),
        ],
        split: (g) => [[g[0], g[2], g[1]]], // grads in the order of the groups' parameters
      }));
      const separate = await run((ps) => ({
        opts: [
          new Opt([ps[0], ps[2]], { lr: 0.01, weightDecay: 0.05, ...momentum }),
          new Opt([ps[1]], { lr: 0.03, weightDecay: 0.2, ...momentum }),
        ],
        split: (g) => [[g[0], g[2]], [g[1]]],
      }));
      expect(grouped).toEqual(separate);
    });
  }

  it('groupLr follows the base lr; bad groups are named', () => {
    const a = E.tensor([1], [1]);
    const b = E.tensor([2], [1]);
    const opt = new E.Adam([{ params: [a] }, { params: [b], lr: 4e-3 }], { lr: 1e-3 });
    expect(opt.groupLr(1)).toBeCloseTo(4e-3, 12);
    opt.lr = 5e-4;
    expect(opt.groupLr(0)).toBe(5e-4);
    expect(opt.groupLr(1)).toBeCloseTo(2e-3, 12);
    expect(() => opt.groupLr(2)).toThrow(/no parameter group 2 \(there are 2\)/);
    expect(() => new E.SGD([{ params: [a] }, { params: [b], lr: -1 }])).toThrow(
      /SGD: group 1: lr must be a finite number >= 0, got -1/,
    );
    expect(() => new E.Adam([{ params: [a] }, { params: [a] }])).toThrow(/appears more than once/);
    expect(() => new E.Adam([{ lr: 1 } as never])).toThrow(/parameter group 0 needs a params array/);
    opt.dispose();
    E.dispose([a, b]);
  });
});
