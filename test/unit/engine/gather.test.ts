// indexSelect against a host reference, its gradient (repeated indices add up) and second
// derivative by finite differences, and its errors.
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { expectGrad, expectGradGrad, useGpu } from '../../support/gpu.js';

useGpu();

describe('indexSelect', () => {
  it('gathers along any axis like torch.index_select', async () => {
    E.manualSeed(2);
    const x = E.randNormal([3, 5, 2]);
    const xv = await x.toFloat32();
    const at = (a: number, b: number, c: number) => xv[(a * 5 + b) * 2 + c];
    const idx = [4, 0, 4, 2];
    const y = E.indexSelect(x, 1, idx);
    expect([...y.shape]).toEqual([3, 4, 2]);
    const want: number[] = [];
    for (let a = 0; a < 3; a++) for (const b of idx) for (let c = 0; c < 2; c++) want.push(at(a, b, c));
    expect(Array.from(await y.toFloat32())).toEqual(want);
    const rows = E.indexSelect(x, 0, [2, 2]);
    expect(Array.from(await rows.toFloat32())).toEqual([...xv.slice(20, 30), ...xv.slice(20, 30)]);
    expect([...E.indexSelect(x, -1, [1]).shape]).toEqual([3, 5, 1]);
    expect([...E.indexSelect(x, 1, []).shape]).toEqual([3, 0, 2]);
    E.dispose([x, y, rows]);
  });

  it('gradients: repeated indices add up; second derivative too', async () => {
    E.manualSeed(3);
    const x = E.randNormal([4, 3]);
    await expectGrad((t) => E.indexSelect(t, 0, [3, 1, 3, 3, 0]), [x]);
    await expectGradGrad((t) => E.indexSelect(E.square(t), 1, [2, 2, 0]), [x]);
    // the VJP of ones: how often each row was picked
    const [g] = E.grad(E.sum(E.indexSelect(E.requireGrad(x), 0, [3, 1, 3, 3])), [x]);
    expect(Array.from(await g.toFloat32())).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 3, 3, 3]);
    E.dispose([x, g]);
  });

  it('rejects out-of-range or non-integer indices and bad axes, naming the op', () => {
    const x = E.zeros([4, 3]);
    expect(() => E.indexSelect(x, 0, [1, 4])).toThrow(
      /indexSelect: index 4 at position 1 is out of range for an axis of size 4/,
    );
    expect(() => E.indexSelect(x, 1, [0.5])).toThrow(/indexSelect: index 0.5 at position 0 is out of range/);
    expect(() => E.indexSelect(x, 2, [0])).toThrow(/indexSelect: axis 2 is out of range for a tensor of rank 2/);
    x.dispose();
  });
});
