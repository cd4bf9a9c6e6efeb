import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { expectClose, expectGrad, expectGradGrad, useGpu } from '../../support/gpu.js';

useGpu();

const rnd = (shape: number[], seed = 1) => {
  E.manualSeed(seed);
  return E.randUniform(shape, -1, 1);
};

/** float64 reference: sum over axes of a row-major array */
function cpuSum(x: Float32Array, shape: number[], axes: number[]): number[] {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Array(outShape.reduce((a, b) => a * b, 1)).fill(0);
  const idx = new Array(shape.length).fill(0);
  for (let i = 0; i < x.length; i++) {
    let o = 0;
    for (let d = 0; d < shape.length; d++) o = o * outShape[d] + (axes.includes(d) ? 0 : idx[d]);
    out[o] += x[i];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

describe('reductions', () => {
  const shape = [3, 5, 7, 2];
  for (const axes of [[0], [1], [3], [1, 2], [0, 2], [0, 1, 2, 3], [0, 3]]) {
    it(`sum over axes [${axes}] matches a float64 reference`, async () => {
      const x = rnd(shape);
      const v = await x.toFloat32();
      expectClose(await E.sum(x, axes).toFloat32(), cpuSum(v, shape, axes), 1e-5, 1e-5);
      expect(E.sum(x, axes, true).shape).toEqual(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
    });
  }

  // an inner extent that is a multiple of 4 takes the vec4 kernel (four outputs per invocation)
  for (const [vshape, vaxes] of [
    [[300, 12], [0]],
    [[6, 130, 8], [1]],
    [
      [5, 3, 64],
      [0, 1],
    ],
  ] as [number[], number[]][]) {
    it(`sum and max over [${vaxes}] of [${vshape}] (vec4 kernel) match a float64 reference`, async () => {
      const x = rnd(vshape, 4);
      const v = await x.toFloat32();
      expectClose(await E.sum(x, vaxes).toFloat32(), cpuSum(v, vshape, vaxes), 1e-5, 1e-5);
      // max: exact, over the same index walk as cpuSum
      const n = v.length / vaxes.reduce((a, d) => a * vshape[d], 1);
      const want = new Array(n).fill(-Infinity);
      const outShape = vshape.map((d, i) => (vaxes.includes(i) ? 1 : d));
      const idx = vshape.map(() => 0);
      for (const value of v) {
        let o = 0;
        for (let d = 0; d < vshape.length; d++) o = o * outShape[d] + (vaxes.includes(d) ? 0 : idx[d]);
        want[o] = Math.max(want[o], value);
        for (let d = vshape.length - 1; d >= 0 && ++idx[d] === vshape[d]; d--) idx[d] = 0;
      }
      expect(Array.from(await E.max(x, vaxes).toFloat32())).toEqual(want);
    });
  }

  it('long reductions run in several passes and stay accurate', async () => {
    const x = rnd([300_001], 2);
    const v = await x.toFloat32();
    let s = 0;
    for (const a of v) s += a;
    expect(Math.abs((await E.sum(x).item()) - s)).toBeLessThan(1e-2);
    const big = rnd([4, 70_000], 3);
    const bv = await big.toFloat32();
    expectClose(await E.sum(big, 1).toFloat32(), cpuSum(bv, [4, 70_000], [1]), 1e-2, 1e-5);
    expect(await E.max(big).item()).toBe(bv.reduce((m, v) => Math.max(m, v), -Infinity));
  });

  it('gradients: sum, mean, max (ties split), variance, softmax, logSoftmax, logsumexp, perSampleNorm', async () => {
    const x = rnd([3, 4, 5]);
    await expectGrad((a) => E.sum(a, [0, 2]), [x]);
    await expectGrad((a) => E.mean(a, 1, true), [x]);
    // max is not differentiable at ties: use well-separated values (a shuffled ramp, step 0.05)
    const ramp = Array.from({ length: 60 }, (_, i) => ((i * 37) % 60) * 0.05 - 1.5);
    await expectGrad((a) => E.max(a, 2), [E.tensor(ramp, [3, 4, 5])]);
    await expectGrad((a) => E.variance(a, [1, 2]), [x]);
    await expectGrad((a) => E.softmax(a, 1), [x]);
    await expectGrad((a) => E.logSoftmax(a, -1), [x]);
    await expectGrad((a) => E.logsumexp(a, 0), [x]);
    await expectGrad((a) => E.perSampleNorm(a), [x]);
    const ties = E.tensor([1, 3, 3, 2], [1, 4]);
    const [g] = E.grad(E.sum(E.max(E.requireGrad(ties), 1)), [ties]);
    expectClose(await g.toFloat32(), [0, 0.5, 0.5, 0]);
  });

  it('second order through softmax, variance and the per-sample norm', async () => {
    const x = rnd([2, 3, 4], 5);
    await expectGradGrad((a) => E.softmax(a, -1), [x]);
    await expectGradGrad((a) => E.variance(a, [1, 2]), [x]);
    await expectGradGrad((a) => E.perSampleNorm(a), [x]);
    await expectGradGrad((a) => E.normalizePerSample(a), [x]);
  });

  it('rejects bad axes', () => {
    const x = rnd([2, 3]);
    expect(() => E.sum(x, 2)).toThrow(/sum: axis 2 is out of range for a tensor of rank 2/);
    expect(() => E.sum(x, [0, 0])).toThrow(/repeated axis/);
  });
});

describe('shape ops', () => {
  it('permute, transpose, slice, concat, stack values', async () => {
    const x = E.tensor([0, 1, 2, 3, 4, 5], [2, 3]);
    expectClose(await E.transpose(x).toFloat32(), [0, 3, 1, 4, 2, 5]);
    expectClose(await E.slice(x, 1, 0, 3, 2).toFloat32(), [0, 2, 3, 5]);
    expectClose(await E.slice(x, -1, -2).toFloat32(), [1, 2, 4, 5]);
    expectClose(await E.concat([x, E.mul(x, 10)], 0).toFloat32(), [0, 1, 2, 3, 4, 5, 0, 10, 20, 30, 40, 50]);
    expect(E.stack([x, x], 1).shape).toEqual([2, 2, 3]);
    expectClose(await E.expand(E.tensor([1, 2], [2, 1]), [2, 3]).toFloat32(), [1, 1, 1, 2, 2, 2]);
  });

  it('concat along the outermost non-unit axis copies buffers (no kernel); inner axes use the kernel', async () => {
    const a = E.tensor([0, 1, 2, 3, 4, 5], [1, 2, 3]);
    const b = E.tensor([6, 7, 8], [1, 1, 3]);
    const i32 = E.tensor(new Int32Array([-1, 2]), [2], 'i32');
    const d0 = E.counters.dispatches;
    const rows = E.concat([a, b, a], 1);
    const ints = E.concat([i32, i32], 0);
    expect(E.counters.dispatches - d0).toBe(0);
    expectClose(await rows.toFloat32(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4, 5]);
    expect(ints.dtype).toBe('i32');
    expect([...(await ints.toArray())]).toEqual([-1, 2, -1, 2]);
    const cols = E.concat([a, a], 2);
    expect(E.counters.dispatches - d0).toBe(2);
    expectClose(await cols.toFloat32(), [0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
    expect(() => E.concat([i32, E.tensor([1], [1])], 0)).toThrow(/concat: dtypes i32, f32 differ/);
    E.dispose([a, b, i32, rows, ints, cols]);
  });

  it('permutes axes of equal size (strided reads, not the contiguous fast path)', async () => {
    const x = E.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8], [3, 3]);
    expectClose(await E.transpose(x).toFloat32(), [0, 3, 6, 1, 4, 7, 2, 5, 8]);
    const c = E.tensor([0, 1, 2, 3, 4, 5, 6, 7], [2, 2, 2]);
    expectClose(await E.permute(c, [2, 1, 0]).toFloat32(), [0, 4, 2, 6, 1, 5, 3, 7]);
  });

  it('gradients of permute, slice (with step), concat, expand, reshape, first and second order', async () => {
    const x = rnd([3, 4, 5]);
    const y = rnd([3, 2, 5], 2);
    const f1 = (a: E.Tensor) => E.mul(E.permute(a, [2, 0, 1]), E.permute(a, [2, 0, 1]));
    await expectGrad(f1, [x]);
    await expectGradGrad(f1, [x]);
    await expectGrad((a) => E.square(E.slice(a, 1, 1, 4, 2)), [x]);
    await expectGradGrad((a) => E.square(E.slice(a, 2, 1, 5, 3)), [x]);
    await expectGrad((a, b) => E.square(E.concat([a, b, a], 1)), [x, y]);
    await expectGrad((a) => E.square(E.expand(E.reshape(a, [3, 1, 20]), [3, 2, 20])), [x]);
  });

  it('errors name the op and the shapes', () => {
    const x = rnd([2, 3]);
    expect(() => E.reshape(x, [4, 2])).toThrow(/reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/);
    expect(() => E.permute(x, [0, 0])).toThrow(/permute/);
    expect(() => E.concat([x, rnd([3, 3])], 1)).toThrow(/concat: shapes \[2, 3\], \[3, 3\] differ outside axis 1/);
    expect(() => E.expand(x, [3, 3])).toThrow(/expand/);
  });
});
