// Failures that used to be silent or late: a throwing tidy() leaked its tensors, backward through
// a released intermediate returned zeros, oversized or malformed shapes and unknown dtypes were
// accepted until the next sync, and an ALR option error allocated before it was noticed.
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { adversarialLipschitzPenalty, wganAlpCriticLoss } from '../../../alr/index.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

const critic = (w: E.Tensor) => ({ forward: (x: E.Tensor) => E.matmul(x, w), parameters: () => [w] });

describe('errors inside tidy()', () => {
  it('releases every tensor the scope created, then rethrows', async () => {
    const a = E.randNormal([4, 3]);
    const before = E.memoryStats().liveBuffers;
    expect(() =>
      E.tidy(() => {
        const m = E.matmul(a, E.randNormal([3, 5]));
        E.tidy(() => E.relu(m)); // a nested scope that finished
        return E.add(m, E.ones([7])); // [4, 5] + [7]: a shape error after two kernels
      }),
    ).toThrow(/add/);
    expect(E.memoryStats().liveBuffers).toBe(before);
    a.dispose();
  });

  it('tensors made before the scope, and kept ones, survive the throw', async () => {
    const outer = E.ones([3]);
    let kept: E.Tensor | null = null;
    expect(() =>
      E.tidy(() => {
        kept = E.keep(E.mul(outer, 2));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(Array.from(await kept!.toFloat32())).toEqual([2, 2, 2]);
    expect(Array.from(await outer.toFloat32())).toEqual([1, 1, 1]);
    E.dispose([outer, kept]);
  });

  it('an ALR option error allocates nothing', () => {
    const w = E.requireGrad(E.randNormal([2, 1]));
    const x = E.randNormal([8, 2]);
    const before = E.memoryStats().liveBuffers;
    expect(() => adversarialLipschitzPenalty(critic(w), x, { xi: -1 })).toThrow(
      /adversarialLipschitzPenalty: xi must be a finite number > 0, got -1/,
    );
    expect(() => adversarialLipschitzPenalty(critic(w), x, { k: 1.5 })).toThrow(
      /k \(power iterations\) must be an integer/,
    );
    expect(() => wganAlpCriticLoss(critic(w), x, x, { eps: { kind: 'uniform', min: 2, max: 1 } })).toThrow(
      /eps range \[2, 1\] is empty/,
    );
    expect(E.memoryStats().liveBuffers).toBe(before);
    E.dispose([w, x]);
  });
});

describe('released tensors', () => {
  it('backward through a released intermediate throws naming its op instead of returning zeros', () => {
    const w = E.requireGrad(E.randNormal([3, 3]));
    const x = E.randNormal([2, 3]);
    const h = E.tanh(E.matmul(x, w));
    const loss = E.sum(h); // sum's backward does not read h: only the tape knows h is gone
    h.dispose();
    expect(() => E.grad(loss, [w])).toThrow(
      /backward: tensor #\d+ \[2, 3\] \(output of 'tanh'\) was released before the backward pass/,
    );
    expect(() => E.backward(loss)).toThrow(/output of 'tanh'/);
    // where the next rule reads the released tensor, that rule's op names it
    const h2 = E.tanh(E.matmul(x, w));
    const loss2 = E.sum(E.square(h2));
    h2.dispose();
    expect(() => E.grad(loss2, [w])).toThrow(/tensor #\d+ \[2, 3\] was already released/);
    expect(w.grad).toBeNull();
    E.dispose([w, x, loss, loss2]);
  });

  it('a backward rule that needs a released input names the op', () => {
    const w = E.requireGrad(E.randNormal([3]));
    const x = E.randNormal([3]);
    const y = E.sum(E.mul(w, x)); // mul's backward reads x
    x.dispose();
    expect(() => E.grad(y, [w])).toThrow(/was already released/);
    E.dispose([w, y]);
  });
});

describe('sizes, shapes and dtypes are checked when the tensor is made', () => {
  it('a tensor beyond the device limit fails at once, naming the limit', () => {
    const before = E.memoryStats().liveBuffers;
    expect(() => E.zeros([1e6, 1e6])).toThrow(
      /shape \[1000000, 1000000\] needs 3\.64 TiB, more than the device's maxStorageBufferBindingSize/,
    );
    expect(() => E.zeros([65536, 32768])).toThrow(/needs 8 GiB, more than the device's maxStorageBufferBindingSize/);
    expect(() => E.randNormal([65536, 32768])).toThrow(/maxStorageBufferBindingSize/);
    expect(E.memoryStats().liveBuffers).toBe(before);
  });

  it('shapes must be non-negative integers', () => {
    expect(() => E.zeros([NaN])).toThrow(
      /zeros: shape \[NaN\] has dimension NaN; dimensions must be non-negative integers/,
    );
    expect(() => E.ones([2, -1])).toThrow(/ones: shape \[2, -1\] has dimension -1/);
    expect(() => E.full([1.5], 0)).toThrow(/full: .* dimension 1\.5/);
    expect(() => E.tensor([1, 2], [2, NaN])).toThrow(/tensor: shape \[2, NaN\]/);
  });

  it('unsupported dtypes are named with the supported ones', () => {
    expect(() => E.tensor([1, 2], [2], 'f64' as E.DType)).toThrow(
      /tensor: dtype 'f64' is not supported; the engine has f32, i32, u32/,
    );
  });
});

describe('grad() outside tidy()', () => {
  it('leaves nothing behind but the gradients it returns (seeds and backward temporaries freed)', () => {
    const x = E.requireGrad(E.randNormal([4, 3]));
    const w = E.requireGrad(E.randNormal([3, 2]));
    for (const f of [() => E.sum(E.square(x)), () => E.mean(E.tanh(E.matmul(x, w)))]) {
      const y = f();
      const before = E.memoryStats().liveBuffers;
      const gs = E.grad(y, [x, w]);
      expect(E.memoryStats().liveBuffers).toBe(before + 2);
      E.dispose([...gs, y]);
    }
    E.dispose([x, w]);
  });
});
