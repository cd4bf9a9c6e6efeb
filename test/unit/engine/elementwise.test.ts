import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { expectClose, expectGrad, expectGradGrad, useGpu } from '../../support/gpu.js';

useGpu();

const rnd = (shape: number[], lo = -2, hi = 2, seed = 1) => {
  E.manualSeed(seed);
  return E.randUniform(shape, lo, hi);
};

describe('elementwise', () => {
  it('broadcasts like NumPy', async () => {
    const a = E.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = E.tensor([10, 20, 30], [3]);
    const c = E.tensor([100, 200], [2, 1]);
    expectClose(await E.add(a, b).toFloat32(), [11, 22, 33, 14, 25, 36]);
    expectClose(await E.mul(a, c).toFloat32(), [100, 200, 300, 800, 1000, 1200]);
    expect(() => E.add(a, E.tensor([1, 2], [2]))).toThrow(/add: shapes \[2, 3\] and \[2\] cannot be broadcast/);
  });

  // the kernel layouts: contiguous vec4, four-along-the-innermost-dim (vec4 or strided loads),
  // and the scalar strided path (innermost dim not a multiple of 4)
  it('every kernel layout (broadcast, transpose, slice, 3 inputs) matches a host reference', async () => {
    const host = (n: number, seed: number) =>
      Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3) * 3);
    const t = (shape: number[], seed: number) =>
      E.tensor(
        host(
          shape.reduce((a, b) => a * b, 1),
          seed,
        ),
        shape,
      );
    // reference: value of a [rows, cols] operand given its row/col strides into its host array
    const at =
      (h: Float32Array, rs: number, cs: number, off = 0) =>
      (r: number, c: number) =>
        h[off + r * rs + c * cs];
    const cases: [string, () => E.Tensor, number, number, (r: number, c: number) => number][] = [];
    for (const [rows, cols] of [
      [6, 8],
      [5, 6],
      [3, 3],
    ]) {
      const [x, b, col] = [host(rows * cols, 1), host(cols, 2), host(rows, 3)];
      const xs = at(x, cols, 1);
      cases.push([
        `[${rows},${cols}] + bias`,
        () => E.add(E.tensor(x, [rows, cols]), E.tensor(b, [cols])),
        rows,
        cols,
        (r, c) => xs(r, c) + b[c],
      ]);
      cases.push([
        `[${rows},${cols}] * column`,
        () => E.mul(E.tensor(x, [rows, cols]), E.tensor(col, [rows, 1])),
        rows,
        cols,
        (r, c) => xs(r, c) * col[r],
      ]);
      const xt = host(rows * cols, 4); // stored [cols, rows], read transposed
      cases.push([
        `transpose [${cols},${rows}] - x`,
        () => E.sub(E.transpose(E.tensor(xt, [cols, rows])), E.tensor(x, [rows, cols])),
        rows,
        cols,
        (r, c) => xt[c * rows + r] - xs(r, c),
      ]);
      const wide = host(rows * (cols + 3), 5); // columns 1 .. cols of a [rows, cols + 3] tensor
      cases.push([
        `slice [${rows},${cols + 3}] + x`,
        () => E.add(E.slice(E.tensor(wide, [rows, cols + 3]), 1, 1, cols + 1), E.tensor(x, [rows, cols])),
        rows,
        cols,
        (r, c) => wide[r * (cols + 3) + 1 + c] + xs(r, c),
      ]);
      const cond = Float32Array.from({ length: rows * cols }, (_, i) => ((i * 5) % 3 === 0 ? 1 : 0));
      cases.push([
        `where [${rows},${cols}]`,
        () => E.where(E.tensor(cond, [rows, cols]), E.tensor(b, [cols]), E.tensor(col, [rows, 1])),
        rows,
        cols,
        (r, c) => (cond[r * cols + c] ? b[c] : col[r]),
      ]);
    }
    for (const [name, f, rows, cols, ref] of cases) {
      const got = await E.tidy(f).toFloat32();
      const want = Float32Array.from({ length: rows * cols }, (_, i) => ref(Math.floor(i / cols), i % cols));
      expect(Array.from(got), name).toEqual(Array.from(want));
    }
  });

  const unaryCases: [string, (x: E.Tensor) => E.Tensor, number, number][] = [
    ['neg', E.neg, -2, 2],
    ['abs', E.abs, -2, 2],
    ['square', E.square, -2, 2],
    ['sqrt', E.sqrt, 0.5, 3],
    ['exp', E.exp, -2, 2],
    ['log', E.log, 0.5, 3],
    ['reciprocal', E.reciprocal, 0.5, 3],
    ['relu', E.relu, -2, 2],
    ['leakyRelu', (x) => E.leakyRelu(x, 0.2), -2, 2],
    ['tanh', E.tanh, -2, 2],
    ['sin', E.sin, -2, 2],
    ['cos', E.cos, -2, 2],
    ['sigmoid', E.sigmoid, -4, 4],
    ['clamp', (x) => E.clamp(x, -0.5, 0.7), -2, 2],
    ['pow 3', (x) => E.pow(x, 3), -2, 2],
    ['pow 1.5', (x) => E.pow(x, 1.5), 0.5, 2],
  ];
  for (const [name, f, lo, hi] of unaryCases) {
    it(`${name}: gradient and second derivative match finite differences`, async () => {
      const x = rnd([3, 5], lo, hi);
      await expectGrad(f, [x]);
      await expectGradGrad(f, [x]);
    });
  }

  const binaryCases: [string, (a: E.Tensor, b: E.Tensor) => E.Tensor][] = [
    ['add', E.add],
    ['sub', E.sub],
    ['mul', E.mul],
    ['div', E.div],
    ['maximum', E.maximum],
    ['minimum', E.minimum],
    ['pow', (a, b) => E.pow(E.add(E.abs(a), 0.5), b)],
  ];
  for (const [name, f] of binaryCases) {
    it(`${name} with broadcasting: gradients of both inputs, first and second order`, async () => {
      const a = rnd([3, 4], -2, 2, 1);
      const b = E.add(rnd([4], 0.5, 2, 2), 0); // positive: safe for div and pow
      await expectGrad(f, [a, b]);
      await expectGradGrad(f, [a, b]);
    });
  }

  it('masks: positiveMask is x > 0, ge takes a tensor or a scalar; backward helpers are not exported', async () => {
    const x = E.tensor([-1, 0, 0.5, 2], [4]);
    expectClose(await E.positiveMask(x).toFloat32(), [0, 0, 1, 1]);
    expectClose(await E.ge(x, 0.5).toFloat32(), [0, 0, 1, 1]);
    expectClose(await E.ge(x, E.tensor([0, 0, 1, 1], [4])).toFloat32(), [0, 1, 0, 1]);
    // deprecated aliases of 0.1
    expectClose(await E.positive(x).toFloat32(), [0, 0, 1, 1]);
    expectClose(await E.geScalar(x, 0).toFloat32(), [0, 1, 1, 1]);
    for (const name of ['reluGrad', 'sumTo', 'outShape']) expect(name in E).toBe(false);
  });

  it('where routes values and gradients by a mask', async () => {
    const c = E.tensor([1, 0, 1, 0], [4]);
    const a = rnd([4], -1, 1, 3);
    const b = rnd([4], -1, 1, 4);
    const [av, bv, w] = [await a.toFloat32(), await b.toFloat32(), await E.where(c, a, b).toFloat32()];
    expectClose(w, [av[0], bv[1], av[2], bv[3]], 0, 0);
    await expectGrad((x, y) => E.mul(E.where(c, x, y), E.where(c, y, x)), [a, b]);
  });

  it('rejects integer tensors in float ops', () => {
    const i = E.tensor([1, 2], [2], 'i32');
    expect(() => E.exp(i)).toThrow(/exp: expected a float32 tensor, got i32/);
  });
});
