// gradcheck itself: its defaults must catch a backward that is 1% wrong, name the worst element
// by its position, and throw on request.
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

/** y = 2x whose backward multiplies by k (k = 2 is right). */
const twice = (k: number) => (x: E.Tensor) =>
  E.record(
    E.noGrad(() => E.mul(x, 2)),
    'twice',
    [x],
    (g) => [E.mul(g, k)],
  );

describe('gradcheck defaults', () => {
  it('pass the exact backward and fail one that is 1% wrong, naming the element by position', async () => {
    E.manualSeed(1);
    const x = E.randNormal([3, 4, 2]);
    expect((await E.gradcheck(twice(2), [x])).ok).toBe(true);
    const wrong = await E.gradcheck(twice(2.02), [x]);
    expect(wrong.ok).toBe(false);
    expect(wrong.worst.position).toHaveLength(3);
    const [a, b, c] = wrong.worst.position;
    expect(wrong.worst.index).toBe(a * 8 + b * 2 + c);
    expect(wrong.message).toMatch(/gradcheck FAILED: 24 elements; worst at input 0 \[3, 4, 2\] element \[\d, \d, \d\]/);
    await expect(E.gradcheck(twice(2.02), [x], { throwOnFailure: true })).rejects.toThrow(/gradcheck FAILED/);
    // gradgradcheck with the same defaults: a correct second derivative passes
    const sq = (t: E.Tensor) =>
      E.record(
        E.noGrad(() => E.square(t)),
        'sq',
        [t],
        (g) => [E.mul(E.mul(g, t), 2)],
      );
    expect((await E.gradgradcheck(sq, [x])).ok).toBe(true);
    x.dispose();
  });
});
