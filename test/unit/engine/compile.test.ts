// Compiled steps (E.compile): a replayed step gives the same bits as the eager step, step after
// step, on the toy MLP critic (ALP and GP, whose double backward is captured), a residual conv
// critic, a batch-norm critic (running statistics updated in place) and the ALR search with
// trace; steps that cannot be captured fall back with a reason; released state recaptures.
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { asCritic, fashionCritic, toyCritic, toyGenerator } from '../../../nn/index.js';
import {
  adversarialLipschitzPenalty,
  uniformEps,
  wganAlpCriticLoss,
  wganGpCriticLoss,
  type Critic,
} from '../../../alr/index.js';
import { mlpCritic, randomDenseLayers } from '../../../bench/conformance/toy_critics.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

/** Bits of every tensor, as one array of uint32 words per tensor. */
async function bits(ts: E.Tensor[]): Promise<number[][]> {
  return Promise.all(ts.map(async (t) => Array.from(new Uint32Array((await t.toFloat32()).buffer))));
}

interface Setup {
  params: E.Tensor[];
  /** extra state to compare (running statistics) */
  state?: E.Tensor[];
  step: (x: E.Tensor) => Record<string, E.Tensor>;
  input: () => E.Tensor;
  dispose: () => void;
}

/**
 * Runs `steps` iterations of a fresh setup eagerly and compiled (fresh inputs each step, drawn
 * from a host RNG so both runs see the same data) and expects identical outputs and final state.
 */
async function expectSameBits(
  make: () => Setup,
  steps = 5,
  options: E.CompileOptions = {},
): Promise<E.CompiledStep<[E.Tensor], Record<string, E.Tensor>>> {
  const runs: { outs: number[][][]; state: number[][] }[] = [];
  let compiled: E.CompiledStep<[E.Tensor], Record<string, E.Tensor>> | null = null;
  for (const enabled of [false, true]) {
    E.manualSeed(11);
    const s = make();
    const step = E.compile(s.step, { ...options, enabled });
    const outs: number[][][] = [];
    for (let i = 0; i < steps; i++) {
      const r = E.tidy(() => step(s.input()));
      outs.push(await bits(Object.values(r)));
      E.dispose(r);
      await E.endStep();
    }
    runs.push({ outs, state: await bits([...s.params, ...(s.state ?? [])]) });
    if (enabled) compiled = step;
    else step.dispose();
    s.dispose();
  }
  expect(compiled!.fallbackReason).toBeNull();
  expect(compiled!.stats.replays).toBe(steps - 2);
  expect(runs[1].outs).toEqual(runs[0].outs);
  expect(runs[1].state).toEqual(runs[0].state);
  return compiled!;
}

function toySetup(method: 'alp' | 'gp', batch = 64): () => Setup {
  return () => {
    const D = toyCritic(32);
    const G = toyGenerator(32);
    const critic = asCritic(D);
    const opt = new E.Adam(D.parameters(), { lr: 1e-3, betas: [0.5, 0.9] });
    const host = new E.HostRng(3);
    return {
      params: D.parameters(),
      input: () =>
        E.tensor(
          Float32Array.from({ length: batch * 2 }, () => host.next() * 4 - 2),
          [batch, 2],
        ),
      step: (real) => {
        const fake = E.noGrad(() => G.forward(E.randNormal([batch, 2])));
        const s =
          method === 'alp'
            ? wganAlpCriticLoss(critic, real, fake, { lambda: 100, k: 1, xi: 10, eps: uniformEps(0.1, 10) })
            : wganGpCriticLoss(critic, real, fake, { lambda: 0.1, penalty: 'gp' });
        opt.step(E.grad(s.loss, D.parameters()));
        return { loss: E.detach(s.loss), wasserstein: s.wasserstein };
      },
      dispose: () => opt.dispose(),
    };
  };
}

describe('compile: same bits as eager', () => {
  it('toy MLP critic, WGAN-ALP step with Adam', async () => {
    const step = await expectSameBits(toySetup('alp'), 6);
    expect(step.stats.dispatches).toBeLessThanOrEqual(step.stats.recordedDispatches);
    // the penalty's monitors (violations, ratio and alp statistics) are computed and freed unread
    expect(step.stats.skippedDispatches).toBeGreaterThan(0);
  });

  it('toy MLP critic, WGAN-GP step (double backward captured)', async () => {
    await expectSameBits(toySetup('gp'), 5);
  });

  it('residual conv critic, WGAN-ALP with a shared forward and clipping', async () => {
    const step = await expectSameBits(() => {
      const D = fashionCritic(8);
      const critic = asCritic(D);
      const opt = new E.Adam(D.parameters(), { lr: 1e-4, betas: [0, 0.9] });
      return {
        params: D.parameters(),
        input: () => E.randUniform([2, 1, 28, 28], -1, 1),
        step: (x) => {
          const fake = E.randUniform([2, 1, 28, 28], -1, 1);
          const s = wganAlpCriticLoss(critic, x, fake, { lambda: 100, clip: [-1, 1], sharedForward: true });
          opt.step(E.grad(s.loss, D.parameters()));
          return { loss: E.detach(s.loss) };
        },
        dispose: () => opt.dispose(),
      };
    }, 4);
    // maps ran in the stores of GEMMs and of Winograd output transforms, and in reductions
    const ops = step.fusion!.kernels.map((k) => k.ops.join('+'));
    expect(
      ops.some((o) => o.startsWith('conv2d.winograd.output+') || o.startsWith('conv2dInputGrad.winograd.output+')),
    ).toBe(true);
    expect(ops.some((o) => o.startsWith('matmul.'))).toBe(true);
    expect(ops.some((o) => o.includes('reduce.sum'))).toBe(true);
  });

  it('batch-norm critic: running statistics updated in place, as eagerly', async () => {
    await expectSameBits(() => {
      const critic = mlpCritic(randomDenseLayers([2, 16, 16, 1]), { batchNorm: true });
      const opt = new E.Adam(critic.parameters(), { lr: 1e-3 });
      return {
        params: critic.parameters(),
        state: critic.norms!.flatMap((n) => [n.runningMean, n.runningVar]),
        input: () => E.randNormal([32, 2]),
        step: (x) => {
          const fake = E.randNormal([32, 2], 1, 0.5);
          const s = wganGpCriticLoss(critic, x, fake, { lambda: 1, penalty: 'lp' });
          opt.step(E.grad(s.loss, critic.parameters()));
          return { loss: E.detach(s.loss) };
        },
        dispose: () => opt.dispose(),
      };
    }, 5);
  });

  it('the ALR search with trace: every traced intermediate', async () => {
    await expectSameBits(() => {
      const layers = randomDenseLayers([2, 16, 1]);
      const critic: Critic = mlpCritic(layers);
      return {
        params: critic.parameters(),
        input: () => E.randNormal([16, 2]),
        step: (x) => {
          const r = adversarialLipschitzPenalty(critic, x, {
            lambda: 1,
            k: 2,
            xi: 1,
            eps: uniformEps(0.1, 1),
            trace: true,
          });
          const t = r.trace!;
          return {
            loss: E.detach(r.loss),
            rAdv: t.rAdv,
            xHat: t.xHat,
            ratio: t.ratio,
            probe0: t.steps[0].probe,
            grad1: t.steps[1].grad,
          };
        },
        dispose: () => {},
      };
    }, 4);
  });
});

describe('compile: capture rules', () => {
  it('replays without per-op work: no new tensors, the recorded dispatches only', async () => {
    const x = E.keep(E.randNormal([64, 8]));
    const w = E.keep(E.randNormal([8, 8]));
    const step = E.compile((a: E.Tensor) => ({ y: E.sum(E.relu(E.matmul(a, w))) }));
    for (let i = 0; i < 3; i++) E.dispose(step(x));
    await E.endStep();
    const live = E.memoryStats().liveBuffers;
    const d0 = E.counters.dispatches;
    const r = step(x);
    // one new tensor: the caller's copy of the output
    expect(E.memoryStats().liveBuffers).toBe(live + 1);
    expect(E.counters.dispatches - d0).toBe(step.stats.dispatches);
    const eager = E.tidy(() => E.sum(E.relu(E.matmul(x, w))));
    expect(await bits([r.y])).toEqual(await bits([eager]));
    E.dispose([r, eager, x, w]);
    step.dispose();
  });

  it('skips work whose results nobody reads, and keeps what a later kernel reads from a reused buffer', async () => {
    const x = E.keep(E.randNormal([64, 8]));
    const w = E.keep(E.randNormal([8, 8]));
    const body = (a: E.Tensor) => {
      const t = E.exp(a);
      const kept = E.sum(t, 1); // read from t before t is freed
      t.dispose();
      E.relu(E.matmul(a, w)); // freed unread at the end of the step, likely in t's old buffer
      E.sum(E.square(a)); // freed unread
      return { kept, y: E.matmul(a, w) };
    };
    const step = E.compile(body);
    for (let i = 0; i < 3; i++) E.dispose(step(x));
    await E.endStep();
    expect(step.stats.skippedDispatches).toBeGreaterThanOrEqual(2);
    expect(step.stats.dispatches).toBeLessThan(step.stats.recordedDispatches);
    const d0 = E.counters.dispatches;
    const r = step(x);
    expect(E.counters.dispatches - d0).toBe(step.stats.dispatches);
    const eager = E.tidy(() => body(x));
    expect(await bits([r.kept, r.y])).toEqual(await bits([eager.kept, eager.y]));
    E.dispose([r, eager, x, w]);
    step.dispose();
  });

  it('counts the floating-point work of the products and convolutions a replay runs', async () => {
    const x = E.keep(E.randNormal([16, 12]));
    const w = E.keep(E.randNormal([12, 8]));
    const img = E.keep(E.randNormal([2, 3, 6, 6]));
    const k = E.keep(E.randNormal([4, 3, 3, 3]));
    img.requiresGrad = true;
    k.requiresGrad = true;
    const step = E.compile(() => {
      E.matmul(w, x, { transA: true, transB: true }); // unread: skipped, not counted
      const y = E.relu(E.matmul(x, w)); // the relu runs in the GEMM's stores: still counted once
      const conv = E.conv2d(img, k, null, { padding: 1 });
      const [gx, gk] = E.grad(E.sum(E.square(conv)), [img, k]); // input and weight gradients: a conv's work each
      return { y, gx, gk };
    });
    for (let i = 0; i < 3; i++) E.dispose(step());
    await E.endStep();
    const product = 2 * 16 * 12 * 8;
    const conv = 2 * 2 * 36 * 4 * 3 * 9; // images, output pixels, out and in channels, taps
    expect(step.stats.flops).toBe(product + 3 * conv);
    expect(step.kernelNames.filter((n) => n.startsWith('matmul'))).toHaveLength(1);
    E.dispose([x, w, img, k]);
    step.dispose();
  });

  it('runs constants (fills and maps of them) only in the capture call, and keeps returned ones', async () => {
    const x = E.keep(E.randNormal([64, 8]));
    const x2 = E.keep(E.randNormal([128, 1024]));
    const body = (a: E.Tensor) => {
      const c = E.mul(E.full([64, 8], 2), 3); // a constant the step reads
      return { y: E.mul(a, c), z: E.full([2], 5) }; // z: a constant the caller gets
    };
    const step = E.compile(body, { fuse: false });
    for (let i = 0; i < 3; i++) E.dispose(step(x));
    expect(step.kernelNames).toEqual(['map.mul', 'map.fill']);
    expect(step.stats.skippedDispatches).toBe(2);
    const eager = E.tidy(() => body(x));
    for (let i = 0; i < 3; i++) {
      const r = step(x);
      expect(await bits([r.y, r.z])).toEqual(await bits([eager.y, eager.z]));
      E.dispose(r);
    }
    E.dispose([eager, x]);
    step.dispose();
    // a constant whose buffer a dead command reuses later in the call is not one: that command
    // overwrote it during the capture call, and replays skip it (512 KiB: large buffers are reused
    // within a capture)
    const reused = (a: E.Tensor) => {
      const c = E.full([128, 1024], 2);
      const y = E.mul(a, c);
      c.dispose();
      E.square(a); // unread; takes c's freed buffer
      return { y };
    };
    const step2 = E.compile(reused, { fuse: false });
    for (let i = 0; i < 3; i++) E.dispose(step2(x2));
    const want = E.tidy(() => reused(x2));
    const got = step2(x2);
    // the first differing word (a failing toEqual would diff 2^17 words)
    const [g, w] = [...(await bits([got.y])), ...(await bits([want.y]))];
    expect(g.findIndex((v, i) => v !== w[i])).toBe(-1);
    E.dispose([got, want, x2]);
    step2.dispose();
  });

  it('rebuilds a product of a row concatenation from its blocks, only while they still hold', async () => {
    const a = E.keep(E.randNormal([48, 8]));
    const b = E.keep(E.randNormal([80, 8]));
    const w1 = E.keep(E.randNormal([16, 8]));
    const b1 = E.keep(E.randNormal([16]));
    const w2 = E.keep(E.randNormal([4, 16]));
    // two layers on a and on b, then on [a; b]: the second pass's two GEMMs become copies
    const twoLayers = (x: E.Tensor) => E.linear(E.linear(x, w1, b1, { relu: true }), w2, null);
    const body = () => ({ ya: twoLayers(a), yb: twoLayers(b), yab: twoLayers(E.concat([a, b], 0)) });
    const step = E.compile(body);
    for (let i = 0; i < 3; i++) E.dispose(step());
    expect(step.kernelNames.filter((k) => k.startsWith('matmul')).length).toBe(4);
    const eager = E.tidy(body);
    const r = step();
    expect(await bits([r.ya, r.yb, r.yab])).toEqual(await bits([eager.ya, eager.yb, eager.yab]));
    E.dispose([r, eager]);
    step.dispose();
    // GEMMs a replay runs when `between` updates a tensor in place after the two block products
    const gemmsWith = (between: () => void) => {
      const s = E.compile(() => {
        const ya = twoLayers(a);
        const yb = twoLayers(b);
        between();
        return { ya, yb, yab: twoLayers(E.concat([a, b], 0)) };
      });
      for (let i = 0; i < 3; i++) E.dispose(s());
      const n = s.kernelNames.filter((k) => k.startsWith('matmul')).length;
      s.dispose();
      return n;
    };
    // a block whose product used other weights (w1 updated in place in between) is computed anew
    const w1b = E.keep(E.randNormal([16, 8]));
    expect(gemmsWith(() => E.assign(w1, w1b))).toBe(6);
    // nor is a block whose input changed (a updated in place) between its product and the concat:
    // both layers of the third pass run; the first is not rebuilt, so the second has no blocks
    const aNew = E.keep(E.randNormal([48, 8]));
    expect(gemmsWith(() => E.assign(a, aNew))).toBe(6);
    E.dispose([a, b, w1, b1, w2, w1b, aNew]);
  });

  it('a bias gradient runs in its weight gradient GEMM, with the bits of the sum reduction', async () => {
    const prev = process.env.ALR_VARIANT_MATMUL;
    try {
      for (const variant of ['subgroup', 'register']) {
        process.env.ALR_VARIANT_MATMUL = variant;
        // batch x features: one chunk (64); chunks of 64 (256), 60 (300) and 63 (1000); features
        // not a multiple of 4 sum scalars
        for (const [batch, features] of [
          [64, 128],
          [256, 128],
          [300, 12],
          [1000, 12],
          [300, 6],
          [130, 1],
        ]) {
          E.manualSeed(batch);
          const x = E.keep(E.randNormal([batch, 8]));
          const x2 = E.keep(E.randNormal([batch, 8]));
          const w = E.keep(E.requireGrad(E.randNormal([features, 8])));
          const b = E.keep(E.requireGrad(E.randNormal([features])));
          // two passes through the layer: the second pass's gradients accumulate into the first's
          const body = () => {
            const y = E.linear(x, w, b, { relu: true });
            const y2 = E.linear(x2, w, b, { relu: true });
            const [gw, gb] = E.grad(E.add(E.sum(E.mul(y, y)), E.sum(y2)), [w, b]);
            return { gw, gb };
          };
          const step = E.compile(body);
          for (let i = 0; i < 3; i++) E.dispose(step());
          const r = step();
          const eager = E.tidy(body);
          const what = `${variant}, [${batch}, ${features}]`;
          expect(await bits([r.gw, r.gb]), what).toEqual(await bits([eager.gw, eager.gb]));
          expect(step.kernelNames.filter((k) => k.endsWith('+reduce.sum')).length, what).toBe(2);
          E.dispose([r, eager, x, x2, w, b]);
          step.dispose();
        }
      }
    } finally {
      if (prev === undefined) delete process.env.ALR_VARIANT_MATMUL;
      else process.env.ALR_VARIANT_MATMUL = prev;
    }
  });

  it('dispose() right after a replay that is not submitted yet leaves the next submit valid', async () => {
    const x = E.keep(E.randNormal([8]));
    const step = E.compile((a: E.Tensor) => ({ y: E.mul(a, 2) }));
    for (let i = 0; i < 3; i++) E.dispose(step(x)); // the third call is a replay, still in the batch
    step.dispose();
    const y = E.mul(x, 1);
    expect(await bits([y])).toEqual(await bits([x]));
    E.dispose([x, y]);
  });

  it('memory stays flat over many replays (buffers, bind groups, pipelines)', async () => {
    const s = toySetup('alp', 32)();
    const step = E.compile(s.step);
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const x = s.input();
        E.dispose(step(x));
        x.dispose();
        if (i % 3 === 2) await E.endStep();
      }
      await E.endStep();
    };
    await run(6);
    const before = { ...E.memoryStats(), ...E.cacheStats() };
    await run(60);
    const after = { ...E.memoryStats(), ...E.cacheStats() };
    expect(after.liveBuffers).toBe(before.liveBuffers);
    expect(after.bytesAllocated).toBe(before.bytesAllocated);
    expect(after.bindGroups).toBe(before.bindGroups);
    expect(after.pipelines).toBe(before.pipelines);
    step.dispose();
    s.dispose();
    expect(E.memoryStats().liveBuffers).toBeLessThan(before.liveBuffers); // the step's buffers went back
  });

  it('eager calls (enabled: false, fallbacks) release their temporaries, as replays do', async () => {
    const x = E.randNormal([64]);
    const eager = E.compile((a: E.Tensor) => E.sum(E.mul(E.exp(a), 2)), { enabled: false });
    const fallback = E.compile((a: E.Tensor) => E.add(E.mul(a, E.tensor(new Float32Array(64).fill(2), [64])), 1));
    E.dispose([eager(x), fallback(x)]);
    await E.sync();
    const before = E.memoryStats().liveBuffers;
    for (let i = 0; i < 5; i++) E.dispose([eager(x), fallback(x)]);
    await E.sync();
    expect(fallback.fallbackReason).toMatch(/uploads host data/);
    expect(E.memoryStats().liveBuffers).toBe(before);
    eager.dispose();
    fallback.dispose();
    x.dispose();
  });

  it('a readback, a host upload or a replaced state tensor falls back to eager with the reason', async () => {
    const x = E.keep(E.randNormal([4]));
    const reads = E.compile((a: E.Tensor) => {
      void a.toArray();
      return E.mul(a, 2);
    });
    const uploads = E.compile((a: E.Tensor) => E.add(a, E.tensor([1, 2, 3, 4])));
    let acc = E.keep(E.zeros([4]));
    const replaces = E.compile((a: E.Tensor) => {
      const next = E.keep(E.add(acc, a));
      acc.dispose();
      acc = next;
      return E.mul(next, 1);
    });
    for (let i = 0; i < 4; i++) E.dispose([reads(x), uploads(x), replaces(x)]);
    await E.sync();
    expect(reads.fallbackReason).toMatch(/reads a tensor back/);
    expect(uploads.fallbackReason).toMatch(/uploads host data/);
    expect(replaces.fallbackReason).toMatch(/releases a tensor that existed before it/);
    // eager fallback still computes: acc = 4x
    const [a4, xs] = await Promise.all([acc.toFloat32(), x.toFloat32()]);
    expect(Array.from(a4)).toEqual(Array.from(xs).map((v) => Math.fround(Math.fround(Math.fround(v + v) + v) + v)));
    const strict = E.compile((a: E.Tensor) => E.add(a, E.tensor([1, 2, 3, 4])), { strict: true });
    E.dispose(strict(x));
    expect(() => strict(x)).toThrow(/cannot be captured: the step uploads host data/);
    E.dispose([x, acc]);
    for (const s of [reads, uploads, replaces, strict]) s.dispose();
  });

  it('a new shape captures again; a released parameter makes the next call capture again', async () => {
    let w = E.keep(E.randNormal([4, 4]));
    const step = E.compile((a: E.Tensor) => E.matmul(a, w));
    const run = async (rows: number) => {
      const a = E.randNormal([rows, 4]);
      const y = step(a);
      const ref = E.matmul(a, w);
      expect(await bits([y])).toEqual(await bits([ref]));
      E.dispose([a, y, ref]);
    };
    for (let i = 0; i < 3; i++) await run(2);
    for (let i = 0; i < 3; i++) await run(3);
    expect(step.stats.captures).toBe(2);
    w.dispose();
    w = E.keep(E.randNormal([4, 4]));
    for (let i = 0; i < 2; i++) await run(2);
    expect(step.stats.captures).toBe(3);
    w.dispose();
    step.dispose();
  });

  it('a compiled step called inside another one is captured as part of it', async () => {
    const w = E.keep(E.randNormal([4, 4]));
    const inner = E.compile((a: E.Tensor) => E.tanh(E.matmul(a, w)));
    const outer = E.compile((a: E.Tensor) => E.mul(inner(a), 2));
    const x = E.keep(E.randNormal([3, 4]));
    for (let i = 0; i < 2; i++) E.dispose(inner(x)); // the inner step replays on its own
    for (let i = 0; i < 4; i++) {
      const [y, ref] = [outer(x), E.tidy(() => E.mul(E.tanh(E.matmul(x, w)), 2))];
      expect(await bits([y])).toEqual(await bits([ref]));
      E.dispose([y, ref]);
    }
    expect(outer.stats.replays).toBe(2);
    expect(outer.fallbackReason).toBeNull();
    E.dispose([w, x]);
    inner.dispose();
    outer.dispose();
  });

  it('captures only once the kernel variants it uses are tuned', async () => {
    const platform = E.platform();
    E.setPlatform({ ...platform, tuneCache: E.memoryTuneCache() });
    E.setOption('ALR_TUNE', '1');
    try {
      const w = E.keep(E.randNormal([40, 24]));
      const step = E.compile((a: E.Tensor) => E.matmul(a, w)); // a shape class the cache has not seen
      const x = E.keep(E.randNormal([72, 40]));
      E.dispose(step(x)); // eager: every variant timed
      if (E.timestampsSupported()) {
        expect(E.tuningPending()).toBe(true);
        E.dispose(step(x)); // still eager: the timings are not in
        expect(step.stats).toMatchObject({ eagerCalls: 2, captures: 0 });
      }
      await E.settleTimings();
      expect(E.tuningPending()).toBe(false);
      E.dispose(step(x)); // now captured
      expect(step.stats.captures).toBe(1);
      E.dispose([w, x]);
      step.dispose();
    } finally {
      E.setOption('ALR_TUNE', undefined);
      E.setPlatform(platform);
    }
  });

  it('unknown options and non-tensor arguments are refused by name', () => {
    expect(() => E.compile((a: E.Tensor) => a, { stict: true } as E.CompileOptions)).toThrow(
      /unknown option 'stict' \(did you mean 'strict'\?\)/,
    );
    const step = E.compile((a: E.Tensor) => a);
    expect(() => (step as unknown as (x: number) => void)(3)).toThrow(/argument 0 is not a tensor/);
  });
});
