import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

describe('memory', () => {
  it('tidy releases intermediates and keeps what it returns', () => {
    const before = E.memoryStats().liveBuffers;
    const kept = E.tidy(() => {
      const a = E.ones([100]);
      const b = E.mul(E.exp(a), 2);
      return { b, nested: [E.add(b, 1)] };
    });
    expect(E.memoryStats().liveBuffers).toBe(before + 2);
    E.dispose(kept);
    expect(E.memoryStats().liveBuffers).toBe(before);
  });

  it('reshape aliases share a buffer until the last reference is released', () => {
    const before = E.memoryStats().liveBuffers;
    const a = E.ones([4, 4]);
    const b = E.reshape(a, [16]);
    expect(E.memoryStats().liveBuffers).toBe(before + 1);
    a.dispose();
    expect(E.memoryStats().liveBuffers).toBe(before + 1);
    b.dispose();
    expect(E.memoryStats().liveBuffers).toBe(before);
  });

  it('the pool reuses buffers: repeated steps allocate nothing new', async () => {
    const x = E.requireGrad(E.randUniform([64, 32]));
    const step = () =>
      E.tidy(() => {
        const y = E.sum(E.tanh(E.mul(x, x)));
        E.grad(y, [x]);
      });
    for (let i = 0; i < 5; i++) step();
    await E.sync();
    const warm = E.memoryStats();
    for (let i = 0; i < 200; i++) step();
    await E.sync();
    const after = E.memoryStats();
    expect(after.liveBuffers).toBe(warm.liveBuffers);
    expect(after.bytesInUse).toBe(warm.bytesInUse);
    expect(after.bytesAllocated).toBe(warm.bytesAllocated);
    expect(after.created).toBe(warm.created);
  });
});
