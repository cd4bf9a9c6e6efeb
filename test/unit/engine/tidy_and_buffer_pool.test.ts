import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { pool } from '../../../engine/buffer_pool.js';
import { beginCapture, endCapture } from '../../../engine/capture.js';
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

  it('grad() outside tidy() frees the gradients its rules make for constants', () => {
    const x = E.requireGrad(E.randUniform([4, 3]));
    const c = E.ones([4, 1]); // sub's rule also returns -g summed to c's shape: nobody wants it
    const before = E.memoryStats().liveBuffers;
    const z = E.sub(x, c);
    const s = E.sum(z);
    const [g] = E.grad(s, [x]);
    E.dispose([z, s, g]);
    expect(E.memoryStats().liveBuffers).toBe(before);
    E.dispose([x, c]);
  });

  it('composite ops outside tidy() leave nothing behind but their result', async () => {
    const x = E.randUniform([4, 3], 0.1, 1);
    const ops: [string, (t: E.Tensor) => E.Tensor][] = [
      ['mean', (t) => E.mean(t, 0)],
      ['variance', (t) => E.variance(t, 1)],
      ['softmax', (t) => E.softmax(t, 1)],
      ['logSoftmax', (t) => E.logSoftmax(t, 0)],
      ['logsumexp', (t) => E.logsumexp(t, 1)],
      ['perSampleNorm', (t) => E.perSampleNorm(t)],
      ['normalizePerSample', (t) => E.normalizePerSample(t)],
    ];
    for (const [name, op] of ops) {
      const before = E.memoryStats().liveBuffers;
      op(x).dispose();
      expect(E.memoryStats().liveBuffers, name).toBe(before);
      // with a gradient to come, the intermediates its backward reads live as long as the result
      const xg = E.requireGrad(E.randUniform([4, 3], 0.1, 1));
      const start = E.memoryStats().liveBuffers;
      const y = op(xg);
      const sq = E.mul(y, y);
      const s = E.sum(sq);
      const [g] = E.grad(s, [xg]);
      const expected = E.tidy(() => {
        const yy = op(xg);
        return E.grad(E.sum(E.mul(yy, yy)), [xg])[0];
      });
      expect(Array.from(await g.toArray()), name).toEqual(Array.from(await expected.toArray()));
      E.dispose([y, sq, s, g, expected]);
      expect(E.memoryStats().liveBuffers, name).toBe(start);
      xg.dispose();
    }
    x.dispose();
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

  it('during a capture, small released buffers are not reused until it ends; large ones are', () => {
    const reuse = (elements: number) => {
      const a = E.zeros([elements]);
      const buf = a.binding('test').buffer;
      a.dispose();
      const b = E.zeros([elements]);
      const same = b.binding('test').buffer === buf;
      b.dispose();
      return same;
    };
    expect(reuse(16)).toBe(true); // outside a capture
    beginCapture();
    try {
      expect(reuse(16)).toBe(false);
      expect(reuse(256 * 1024)).toBe(true); // 1 MiB
    } finally {
      endCapture();
      pool.endQuarantine();
    }
    expect(reuse(16)).toBe(true);
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
