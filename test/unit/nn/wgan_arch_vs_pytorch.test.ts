// The residual WGAN blocks, critic and generator against PyTorch re-implementations of
// gan_cifar_resnet.py (bench/conformance/fixtures/gen_nn.py): forward, input and parameter gradients,
// BatchNorm buffers; reference parameter counts at DIM = 128.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import {
  ConvClassifier,
  Critic,
  fashionCritic,
  fashionGenerator,
  Generator,
  MLP,
  type Module,
  OptimizedResBlockDisc1,
  readSafetensors,
  ResidualBlock,
  withoutStatUpdates,
} from '../../../nn/index.js';
import { expectClose, useGpu } from '../../support/gpu.js';
import type { Arr, Case } from '../../support/nn_fixture.js';

useGpu();

const FIX = JSON.parse(
  readFileSync(new URL('../../../bench/conformance/fixtures/nn.json', import.meta.url), 'utf8'),
) as { cases: Case[]; paramCounts: Record<string, number> };
const WEIGHTS = new URL('../../../bench/conformance/fixtures/nn_small.safetensors', import.meta.url).pathname;
const t = (a: Arr) => E.tensor(a.data, a.shape);

async function loadFixture(m: Module, prefix: string): Promise<void> {
  const { tensors } = await readSafetensors(WEIGHTS);
  const map = new Map<string, E.Tensor>();
  for (const [n, st] of tensors)
    if (n.startsWith(`${prefix}.`)) map.set(n.slice(prefix.length + 1), E.tensor(st.data, st.shape));
  m.loadStateDict(map);
  E.dispose(map);
}

const maxAbs = (a: number[]) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * float32 GPU vs float64 reference: absolute slack scaled to the array's magnitude, with a floor
 * from `floorScale` (the case's largest parameter gradient): a conv bias right before BatchNorm
 * has an exactly-zero gradient that float32 only reaches up to cancellation error.
 */
function expectNear(actual: ArrayLike<number>, expected: number[], what: string, floorScale = 0, rel = 2e-4): void {
  try {
    expectClose(actual, expected, Math.max(rel * maxAbs(expected), 2e-6 * floorScale) + 1e-7, 1e-3);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}

const builders: Record<string, () => Module> = {
  block_up_bn: () => new ResidualBlock(4, 6, { resample: 'up', norm: 'batch' }),
  block_down_ln: () => new ResidualBlock(4, 6, { resample: 'down', norm: 'layer' }),
  block_down_none: () => new ResidualBlock(5, 5, { resample: 'down' }),
  block_id_none: () => new ResidualBlock(6, 6),
  block_proj_bn: () => new ResidualBlock(4, 6, { norm: 'batch' }),
  block_proj_bn_eval: () => new ResidualBlock(4, 6, { norm: 'batch' }),
  opt_block: () => new OptimizedResBlockDisc1(3, 6),
  opt_block_bn: () => new OptimizedResBlockDisc1(3, 6, { norm: 'batch' }),
  critic: () => new Critic({ dim: 8 }),
  critic_bn: () => new Critic({ dim: 8, norm: 'batch' }),
  critic_ln: () => new Critic({ dim: 8, norm: 'layer' }),
  critic_fashion28: () => fashionCritic(4),
  generator: () => new Generator({ dim: 8, zDim: 16 }),
  generator_fashion28: () => fashionGenerator(4, 28, { zDim: 8 }),
};

describe('residual WGAN modules match PyTorch', () => {
  for (const [name, build] of Object.entries(builders)) {
    it(`${name}: output, input gradient, parameter gradients, buffers`, async () => {
      const c = FIX.cases.find((x) => x.name === name)!;
      const m = build();
      await loadFixture(m, name);
      m.train(c.train);
      const named = m.namedParameters();
      expect(named.map(([n]) => n).sort()).toEqual(Object.keys(c.grads).sort());
      const res = E.tidy(() => {
        const x = E.requireGrad(t(c.input));
        const y = m.forward(x);
        const gs = E.grad(y, [x, ...named.map(([, p]) => p)], { gradOutputs: [t(c.gradOut)] });
        return { y, gs };
      });
      expect(res.y.shape).toEqual(c.out.shape);
      expectNear(await res.y.toFloat32(), c.out.data, 'output');
      expectNear(await res.gs[0].toFloat32(), c.gradInput.data, 'input gradient');
      const floor = Math.max(...Object.values(c.grads).map((g) => maxAbs(g.data)));
      for (const [i, [n]] of named.entries())
        expectNear(await res.gs[i + 1].toFloat32(), c.grads[n].data, `gradient of ${n}`, floor);
      const bufs = m.namedBuffers();
      expect(bufs.map(([n]) => n).sort()).toEqual(Object.keys(c.buffers).sort());
      for (const [n, b] of bufs) expectNear(await b.toFloat32(), c.buffers[n].data, `buffer ${n}`);
      E.dispose(res);
      m.dispose();
    });
  }
});

describe('architectures', () => {
  it('DIM = 128 parameter counts equal the reference (PyTorch-counted in gen_nn.py)', () => {
    // Generator 1,204,483; Critic 1,053,825 (WGAN-BN 1,055,873; LayerNorm 1,055,361)
    expect(FIX.paramCounts).toMatchObject({
      generator128: 1204483,
      critic128: 1053825,
      critic128_bn: 1055873,
      critic128_ln: 1055361,
    });
    const ms: [string, Module][] = [
      ['generator128', new Generator()],
      ['critic128', new Critic()],
      ['critic128_bn', new Critic({ norm: 'batch' })],
      ['critic128_ln', new Critic({ norm: 'layer' })],
    ];
    for (const [k, m] of ms) {
      expect(m.numParameters(), k).toBe(FIX.paramCounts[k]);
      m.dispose();
    }
  });

  it('WGAN-BN critic: withoutStatUpdates leaves the running statistics alone, normal train passes move them', async () => {
    E.manualSeed(5);
    const d = new Critic({ dim: 4, norm: 'batch' });
    const x = E.randUniform([3, 3, 8, 8], -1, 1);
    const rm = d.block2.norm1!.getBuffer('running_mean')!;
    const before = await rm.toFloat32();
    const y1 = E.tidy(() => withoutStatUpdates(() => d.forward(x)));
    expectClose(await rm.toFloat32(), before, 0, 0);
    const y2 = E.tidy(() => d.forward(x));
    expectClose(await y2.toFloat32(), await y1.toFloat32(), 0, 0);
    expect(Array.from(await rm.toFloat32())).not.toEqual(Array.from(before));
    expect(y1.shape).toEqual([3]);
    E.dispose([x, y1, y2]);
    d.dispose();
  });

  it('training steps (BN critic, spectral-norm MLP, Adam) leave no buffers behind', async () => {
    E.manualSeed(10);
    const d = new Critic({ dim: 4, norm: 'batch' });
    const mlp = new MLP([2, 8, 1], { spectralNorm: true, batchNorm: true });
    const opt = new E.Adam([...d.parameters(), ...mlp.parameters()]);
    const x = E.randUniform([2, 3, 8, 8], -1, 1);
    const step = () => {
      E.tidy(() => {
        const loss = E.add(
          E.mean(d.forward(x)),
          withoutStatUpdates(() => E.mean(mlp.forward(E.randNormal([4, 2])))),
        );
        E.backward(loss);
      });
      opt.step();
      E.zeroGrad([...d.parameters(), ...mlp.parameters()]);
    };
    step();
    await E.sync();
    const live = E.memoryStats().liveBuffers;
    step();
    step();
    await E.sync();
    expect(E.memoryStats().liveBuffers).toBe(live);
    for (const o of [d, mlp, opt, x]) o.dispose();
  });

  it('generator: tanh range and shapes for CIFAR and Fashion-MNIST sizes', async () => {
    E.manualSeed(6);
    for (const [g, shape] of [
      [new Generator({ dim: 4, zDim: 8 }), [2, 3, 32, 32]],
      [fashionGenerator(4, 28, { zDim: 8 }), [2, 1, 28, 28]],
      [fashionGenerator(4, 32, { zDim: 8 }), [2, 1, 32, 32]],
    ] as const) {
      const y = E.tidy(() => g.forward(E.randNormal([2, 8])));
      expect(y.shape).toEqual(shape);
      const v = await y.toFloat32();
      expect(v.every((a) => a > -1 && a < 1)).toBe(true);
      y.dispose();
      g.dispose();
    }
  });

  it('conv classifier: logits and penultimate features', async () => {
    E.manualSeed(8);
    const net = new ConvClassifier({ inChannels: 1, widths: [4, 6, 8], convsPerStage: 1, numClasses: 10 });
    const x = E.randUniform([2, 1, 12, 12], -1, 1);
    net.eval();
    const { f, y } = E.tidy(() => ({ f: net.features(x), y: net.forward(x) }));
    expect(f.shape).toEqual([2, 4]);
    expect(y.shape).toEqual([2, 10]);
    // logits are the Linear of the features
    const z = E.tidy(() => net.fc.forward(f));
    expectClose(await z.toFloat32(), await y.toFloat32(), 1e-6, 1e-5);
    // training mode runs dropout and batch statistics and still gives finite gradients
    net.train();
    const g = E.tidy(() => {
      const out = net.forward(x);
      return E.grad(E.sum(out), net.parameters());
    });
    for (const gi of g) expect((await gi.toFloat32()).every(Number.isFinite)).toBe(true);
    E.dispose([x, f, y, z, g]);
    net.dispose();
  });
});
