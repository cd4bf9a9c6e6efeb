// A training loop of a small MLP with Adam: 1000+ steps, one submit per step, flat memory.
import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import { Adam } from '../../engine/optim.js';
import { useGpu } from '../support/gpu.js';

useGpu();

function mlp(sizes: number[]) {
  const params: E.Tensor[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const bound = Math.sqrt(6 / sizes[i]);
    params.push(E.requireGrad(E.randUniform([sizes[i], sizes[i + 1]], -bound, bound)));
    params.push(E.requireGrad(E.zeros([sizes[i + 1]])));
  }
  const forward = (x: E.Tensor) => {
    let h = x;
    for (let i = 0; i < params.length; i += 2) {
      h = E.add(E.matmul(h, params[i]), params[i + 1]);
      if (i + 2 < params.length) h = E.relu(h);
    }
    return h;
  };
  return { params, forward };
}

describe('training loop', () => {
  it('1000 Adam steps: at most one submit per step, no readback, live buffers and bytes flat after warm-up; loss falls', async () => {
    E.manualSeed(0);
    const net = mlp([2, 32, 32, 1]);
    const opt = new Adam(net.params, { lr: 3e-3 });
    const x = E.randUniform([128, 2], -1, 1);
    const target = E.sin(E.mul(E.sum(x, 1, true), 2));
    const step = () =>
      E.tidy(() => {
        const loss = E.mean(E.square(E.sub(net.forward(x), target)));
        opt.step(E.grad(loss, net.params));
        return loss;
      });
    const first = step();
    const firstLoss = await first.item();
    first.dispose();
    for (let i = 0; i < 20; i++) step().dispose();
    await E.sync();
    const warm = E.memoryStats();
    const c0 = { ...E.counters };
    for (let i = 0; i < 1000; i++) step().dispose();
    const submitsDuring = E.counters.submits - c0.submits;
    const readbacksDuring = E.counters.readbacks - c0.readbacks;
    await E.sync();
    const after = E.memoryStats();
    expect(readbacksDuring).toBe(0);
    // the command stream is only cut when the uniform arena fills (every ~1024 dispatches)
    expect(submitsDuring).toBeLessThanOrEqual(Math.ceil((E.counters.dispatches - c0.dispatches) / 1024) + 1);
    expect(after.liveBuffers).toBe(warm.liveBuffers);
    expect(after.bytesInUse).toBe(warm.bytesInUse);
    expect(after.bytesAllocated).toBe(warm.bytesAllocated);
    const last = step();
    const lastLoss = await last.item();
    expect(lastLoss).toBeLessThan(firstLoss * 0.2);
  });
});
