import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { expectClose, useGpu } from '../../support/gpu.js';

useGpu();

describe('autograd', () => {
  it('accumulates through shared subexpressions in topological order', async () => {
    // y = (x*x) * (x*x) + x*x: shared node used three times; dy/dx = 4x^3 + 2x
    const x = E.requireGrad(E.tensor([1.5, -2, 0.5], [3]));
    const s = E.mul(x, x);
    const y = E.sum(E.add(E.mul(s, s), s));
    const [g] = E.grad(y, [x]);
    expectClose(await g.toFloat32(), [4 * 1.5 ** 3 + 3, 4 * -8 - 4, 4 * 0.125 + 1]);
  });

  it('returns gradients for non-leaf inputs and zeros for unused inputs', async () => {
    const x = E.requireGrad(E.tensor([1, 2], [2]));
    const unused = E.requireGrad(E.tensor([5, 5, 5], [3]));
    const h = E.mul(x, 3);
    const y = E.sum(E.square(h));
    const [gh, gx, gu] = E.grad(y, [h, x, unused]);
    expectClose(await gh.toFloat32(), [6, 12]);
    expectClose(await gx.toFloat32(), [18, 36]);
    expectClose(await gu.toFloat32(), [0, 0, 0]);
  });

  it('uses gradOutputs for non-scalar outputs and rejects a missing one', async () => {
    const x = E.requireGrad(E.tensor([1, 2, 3], [3]));
    const y = E.mul(x, x);
    expect(() => E.grad(y, [x])).toThrow(/pass gradOutputs/);
    const [g] = E.grad(y, [x], { gradOutputs: [E.tensor([1, 0, -1], [3])] });
    expectClose(await g.toFloat32(), [2, 0, -6]);
  });

  it('backward() accumulates into .grad until zeroGrad()', async () => {
    const w = E.requireGrad(E.tensor([2, -1], [2]));
    for (let i = 0; i < 2; i++) E.tidy(() => E.backward(E.sum(E.mul(w, w))));
    expectClose(await w.grad!.toFloat32(), [8, -4]);
    E.zeroGrad([w]);
    expect(w.grad).toBeNull();
  });

  it('noGrad and detach stop recording', () => {
    const x = E.requireGrad(E.tensor([1], [1]));
    expect(E.noGrad(() => E.mul(x, 2)).requiresGrad).toBe(false);
    expect(E.detach(x).requiresGrad).toBe(false);
    expect(E.mul(E.detach(x), 2).node).toBeNull();
  });

  it('second order: d/dx of (dy/dx)^2 for y = sum(x^3) is 36 x^3', async () => {
    const x = E.requireGrad(E.tensor([0.5, -1, 2], [3]));
    const [g] = E.grad(E.sum(E.pow(x, 3)), [x], { createGraph: true }); // 3x^2
    const [gg] = E.grad(E.sum(E.square(g)), [x]); // d/dx 9x^4 = 36x^3
    expectClose(await gg.toFloat32(), [36 * 0.125, -36, 36 * 8], 1e-4, 1e-5);
  });

  it('without createGraph the backward pass records nothing; with it, it does', () => {
    const x = E.requireGrad(E.tensor([0.5, -1], [2]));
    const y = E.sum(E.tanh(E.mul(x, x)));
    const before = E.tapeStats.recordedDuringBackward;
    E.grad(y, [x]);
    expect(E.tapeStats.recordedDuringBackward).toBe(before);
    E.grad(y, [x], { createGraph: true });
    expect(E.tapeStats.recordedDuringBackward).toBeGreaterThan(before);
  });

  it('names the op and the tensor when a released tensor is used', () => {
    const a = E.tensor([1, 2], [2]);
    a.dispose();
    expect(() => E.exp(a)).toThrow(/exp: tensor #\d+ \[2\] was already released/);
  });

  it('handles long chains without recursion limits', async () => {
    const x = E.requireGrad(E.tensor([1], [1]));
    let y = x;
    for (let i = 0; i < 3000; i++) y = E.add(y, 0.001);
    const [g] = E.grad(E.sum(y), [x]);
    expectClose(await g.toFloat32(), [1]);
  });

  it('computes only the gradients on a path to the requested inputs', () => {
    const x = E.requireGrad(E.randUniform([8, 16]));
    const w = E.requireGrad(E.randUniform([16, 16]));
    const y = E.sum(E.matmul(E.matmul(x, w), w));
    const d0 = E.counters.dispatches;
    E.grad(y, [x]);
    const onlyX = E.counters.dispatches - d0;
    const d1 = E.counters.dispatches;
    E.grad(y, [x, w]);
    const both = E.counters.dispatches - d1;
    expect(onlyX).toBeLessThan(both);
  });
});
