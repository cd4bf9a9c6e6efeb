import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { hostRng } from '../../../engine/gradcheck.js';
import { expectClose, expectGrad, expectGradGrad, useGpu } from '../../support/gpu.js';

useGpu();

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
function randHost(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  const r = hostRng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}
const T = (data: Float32Array, shape: number[]) => E.tensor(data, shape);

/** float64 reference of normalisation per b of x viewed as [A, B, D]. */
function normRef(
  x: ArrayLike<number>,
  A: number,
  B: number,
  D: number,
  eps: number,
  w?: ArrayLike<number>,
  bias?: ArrayLike<number>,
) {
  const M = A * D;
  const mean = new Float64Array(B);
  const vb = new Float64Array(B);
  const y = new Float64Array(x.length);
  const xhat = new Float64Array(x.length);
  const at = (a: number, b: number, d: number) => (a * B + b) * D + d;
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let a = 0; a < A; a++) for (let d = 0; d < D; d++) s += x[at(a, b, d)];
    mean[b] = s / M;
    let q = 0;
    for (let a = 0; a < A; a++) for (let d = 0; d < D; d++) q += (x[at(a, b, d)] - mean[b]) ** 2;
    vb[b] = q / M;
    for (let a = 0; a < A; a++)
      for (let d = 0; d < D; d++) {
        const i = at(a, b, d);
        xhat[i] = (x[i] - mean[b]) / Math.sqrt(vb[b] + eps);
        y[i] = xhat[i] * (w ? w[b] : 1) + (bias ? bias[b] : 0);
      }
  }
  return { y, xhat, mean, vb, vu: vb.map((v) => (v * M) / (M - 1)) };
}

/** float64 reference gradients of training-mode normalisation. */
function normBackRef(
  x: ArrayLike<number>,
  g: ArrayLike<number>,
  A: number,
  B: number,
  D: number,
  eps: number,
  w?: ArrayLike<number>,
) {
  const { xhat, vb } = normRef(x, A, B, D, eps);
  const M = A * D;
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(B);
  const db = new Float64Array(B);
  const at = (a: number, b: number, d: number) => (a * B + b) * D + d;
  for (let b = 0; b < B; b++) {
    for (let a = 0; a < A; a++)
      for (let d = 0; d < D; d++) {
        const i = at(a, b, d);
        db[b] += g[i];
        dw[b] += g[i] * xhat[i];
      }
    const k = (w ? w[b] : 1) / Math.sqrt(vb[b] + eps);
    for (let a = 0; a < A; a++)
      for (let d = 0; d < D; d++) {
        const i = at(a, b, d);
        dx[i] = k * (g[i] - db[b] / M - (xhat[i] * dw[b]) / M);
      }
  }
  return { dx, dw, db };
}

describe('batchNorm', () => {
  // shapes chosen to cover every kernel path: flat/grid elementwise, scalar/vec4 rows,
  // thread/group reductions (group strides with and without carrying into the next row)
  const shapes: number[][] = [
    [6, 5], // flat, scalar, thread
    [300, 4], // flat, scalar, group (rows of 1)
    [20, 3, 5, 6], // flat, scalar, group (rows of 30)
    [5, 2, 12, 8], // flat, vec4 (rows of 24 vec4s), group
    [2, 2, 9, 9], // grid, scalar, thread
    [2, 3, 16, 16], // grid, vec4, group
  ];
  for (const shape of shapes) {
    it(`training ${JSON.stringify(shape)}: forward, running stats over 3 calls, backward (fused and graph paths)`, async () => {
      const [N, C] = shape;
      const D = numel(shape.slice(2));
      const w = randHost(C, 11, 0.5, 1.5);
      const b = randHost(C, 12);
      const rm0 = randHost(C, 13);
      const rv0 = randHost(C, 14, 0.5, 2);
      const rm = T(rm0, [C]);
      const rv = T(rv0, [C]);
      const refRm = Float64Array.from(rm0);
      const refRv = Float64Array.from(rv0);
      const momentum = 0.3;
      for (let call = 0; call < 3; call++) {
        const xh = randHost(numel(shape), 100 + call, -3, 5);
        const y = E.tidy(() => E.batchNorm(T(xh, shape), T(w, [C]), T(b, [C]), rm, rv, { training: true, momentum }));
        const ref = normRef(xh, N, C, D, 1e-5, w, b);
        expectClose(await y.toFloat32(), ref.y, 1e-4, 1e-4);
        y.dispose();
        for (let c = 0; c < C; c++) {
          refRm[c] = (1 - momentum) * refRm[c] + momentum * ref.mean[c];
          refRv[c] = (1 - momentum) * refRv[c] + momentum * ref.vu[c];
        }
        expectClose(await rm.toFloat32(), refRm, 1e-5, 1e-5);
        expectClose(await rv.toFloat32(), refRv, 1e-5, 1e-5);
      }
      const xh = randHost(numel(shape), 7, -3, 5);
      const gh = randHost(numel(shape), 8);
      const ref = normBackRef(xh, gh, N, C, D, 1e-5, w);
      for (const createGraph of [false, true]) {
        const gs = E.tidy(() => {
          const [x, wt, bt] = [T(xh, shape), T(w, [C]), T(b, [C])].map(E.requireGrad);
          const y = E.batchNorm(x, wt, bt, null, null, { training: true });
          return E.grad(y, [x, wt, bt], { gradOutputs: [T(gh, shape)], createGraph });
        });
        const [dx, dw, db] = await Promise.all(gs.map((t) => t.toFloat32()));
        E.dispose(gs);
        expectClose(dx, ref.dx, 1e-4, 1e-3);
        expectClose(dw, ref.dw, 1e-4, 1e-4);
        expectClose(db, ref.db, 1e-4, 1e-4);
      }
      E.dispose([rm, rv]);
    });
  }

  it('eval mode uses the running statistics; gradients of x, weight, bias', async () => {
    const shape = [3, 4, 2, 5];
    const C = 4;
    const xh = randHost(numel(shape), 1);
    const [w, b, rm, rv] = [randHost(C, 2), randHost(C, 3), randHost(C, 4), randHost(C, 5, 0.5, 2)];
    const y = await E.tidy(() =>
      E.batchNorm(T(xh, shape), T(w, [C]), T(b, [C]), T(rm, [C]), T(rv, [C]), { training: false }),
    ).toFloat32();
    const ref = xh.map((v, i) => {
      const c = Math.floor(i / 10) % C;
      return ((v - rm[c]) / Math.sqrt(rv[c] + 1e-5)) * w[c] + b[c];
    });
    expectClose(y, ref, 1e-5, 1e-4);
    const rmT = T(rm, [C]);
    const rvT = T(rv, [C]);
    const f = (x: E.Tensor, wt: E.Tensor, bt: E.Tensor) => E.batchNorm(x, wt, bt, rmT, rvT, { training: false });
    const inputs = [T(xh, shape), T(w, [C]), T(b, [C])];
    await expectGrad(f, inputs);
    await expectGradGrad(f, inputs, { maxElements: 24 });
    // running stats are untouched in eval mode
    expectClose(await rmT.toFloat32(), rm, 0, 0);
  });

  for (const shape of [
    [5, 3],
    [2, 3, 2, 3],
  ]) {
    it(`training ${JSON.stringify(shape)}: gradcheck and gradgradcheck of x, weight, bias`, async () => {
      const C = shape[1];
      const f = (x: E.Tensor, w: E.Tensor, b: E.Tensor) => E.batchNorm(x, w, b, null, null, { training: true });
      const inputs = [T(randHost(numel(shape), 21), shape), T(randHost(C, 22, 0.5, 1.5), [C]), T(randHost(C, 23), [C])];
      await expectGrad(f, inputs, { maxElements: 36 });
      await expectGradGrad(f, inputs, { maxElements: 24, atol: 2e-3, rtol: 2e-2 });
    });
  }

  it('updateStats: false normalises with batch statistics and leaves running stats alone', async () => {
    const xh = randHost(24, 31);
    const rm = E.tensor([1, 2, 3], [3]);
    const rv = E.tensor([4, 5, 6], [3]);
    const y = E.batchNorm(T(xh, [8, 3]), null, null, rm, rv, { training: true, updateStats: false });
    expectClose(await y.toFloat32(), normRef(xh, 8, 3, 1, 1e-5).y, 1e-5, 1e-4);
    expectClose(await rm.toFloat32(), [1, 2, 3], 0, 0);
    expectClose(await rv.toFloat32(), [4, 5, 6], 0, 0);
  });

  it('rejects bad arguments with the op, shapes and expectation', () => {
    const x = E.zeros([4, 3, 2, 2]);
    expect(() => E.batchNorm(x, null, null, null, null, { training: false })).toThrow(
      /batchNorm: eval mode needs runningMean and runningVar/,
    );
    expect(() => E.batchNorm(x, E.zeros([4]), null, null, null, { training: true })).toThrow(
      /batchNorm: weight has shape \[4\], expected \[3\] for input \[4, 3, 2, 2\]/,
    );
    expect(() => E.batchNorm(x, null, null, E.zeros([3]), null, { training: true })).toThrow(
      /runningMean and runningVar, or neither/,
    );
    expect(() => E.batchNorm(E.zeros([1, 3]), null, null, null, null, { training: true })).toThrow(
      /more than one value per channel/,
    );
    expect(() => E.batchNorm(E.zeros([3]), null, null, null, null, { training: true })).toThrow(
      /expected input \[N, C\]/,
    );
  });
});

describe('layerNorm', () => {
  it('over (C, H, W) with per-channel [1, C, 1, 1] and elementwise [C, H, W] affine matches float64', async () => {
    const shape = [3, 4, 5, 6];
    const xh = randHost(numel(shape), 41, -2, 6);
    const ref = normRef(xh, 1, 3, 120, 1e-5);
    const wc = randHost(4, 42);
    const bc = randHost(4, 43);
    const y1 = await E.tidy(() =>
      E.layerNorm(T(xh, shape), [1, 2, 3], T(wc, [1, 4, 1, 1]), T(bc, [1, 4, 1, 1])),
    ).toFloat32();
    expectClose(
      y1,
      ref.y.map((v, i) => {
        const c = Math.floor(i / 30) % 4;
        return v * wc[c] + bc[c];
      }),
      1e-5,
      1e-4,
    );
    const we = randHost(120, 44);
    const be = randHost(120, 45);
    const y2 = await E.tidy(() =>
      E.layerNorm(T(xh, shape), [-3, -2, -1], T(we, [4, 5, 6]), T(be, [4, 5, 6])),
    ).toFloat32();
    expectClose(
      y2,
      ref.y.map((v, i) => v * we[i % 120] + be[i % 120]),
      1e-5,
      1e-4,
    );
  });

  it('affine parameters of every broadcast pattern (fused runs of axes, scalar, mixed, and generic fallback)', async () => {
    const shape = [2, 3, 2, 4];
    const xh = randHost(48, 46);
    const ref = normRef(xh, 1, 2, 24, 1e-5).y;
    const at = (i: number) => ({ c: Math.floor(i / 8) % 3, h: Math.floor(i / 4) % 2, w: i % 4 });
    const wAll = randHost(24, 47);
    const cases: [number[], number[], (i: number) => number, (i: number) => number][] = [
      [[1], [3, 1, 1], () => wAll[0], (i) => wAll[at(i).c]], // scalar weight, per-channel bias [C, 1, 1]
      [[1, 3, 1, 4], [2, 4], (i) => wAll[at(i).c * 4 + at(i).w], (i) => wAll[at(i).h * 4 + at(i).w]], // C and W not adjacent: generic mul
      [[3, 2, 1], [1, 3, 2, 4], (i) => wAll[at(i).c * 2 + at(i).h], (i) => wAll[i % 24]],
    ];
    for (const [ws, bs, wf, bf] of cases) {
      const w = wAll.slice(0, numel(ws));
      const b = wAll.slice(0, numel(bs));
      const y = await E.tidy(() => E.layerNorm(T(xh, shape), [1, 2, 3], T(w, ws), T(b, bs))).toFloat32();
      expectClose(
        y,
        ref.map((v, i) => v * wf(i) + bf(i)),
        1e-5,
        1e-4,
      );
    }
    const f = (x: E.Tensor, w: E.Tensor, b: E.Tensor) => E.layerNorm(x, [1, 2, 3], w, b);
    await expectGrad(f, [T(xh, shape), T(wAll.slice(0, 12), [1, 3, 1, 4]), T(wAll.slice(0, 6), [3, 2, 1])], {
      maxElements: 24,
    });
  });

  it('other axis layouts: [N, F] over features, leading axis, and non-adjacent axes', async () => {
    const xh = randHost(60, 51);
    const y = await E.layerNorm(T(xh, [5, 12]), [1], null, null).toFloat32();
    expectClose(y, normRef(xh, 1, 5, 12, 1e-5).y, 1e-5, 1e-4);
    const y0 = await E.layerNorm(T(xh, [5, 12]), [0], null, null, 1e-3).toFloat32();
    expectClose(y0, normRef(xh, 5, 12, 1, 1e-3).y, 1e-5, 1e-4);
    // axes [1, 3] of [2, 3, 2, 5]: kept axes 0 and 2 are not adjacent (permute path)
    const shape = [2, 3, 2, 5];
    const yp = await E.layerNorm(T(xh, shape), [1, 3], null, null).toFloat32();
    const ref = new Float64Array(60);
    for (let n = 0; n < 2; n++)
      for (let h = 0; h < 2; h++) {
        const idx: number[] = [];
        for (let c = 0; c < 3; c++) for (let w = 0; w < 5; w++) idx.push(((n * 3 + c) * 2 + h) * 5 + w);
        const r = normRef(
          idx.map((i) => xh[i]),
          1,
          1,
          15,
          1e-5,
        );
        idx.forEach((i, k) => (ref[i] = r.y[k]));
      }
    expectClose(yp, ref, 1e-5, 1e-4);
  });

  it('gradcheck and gradgradcheck of x, weight, bias (per-channel affine)', async () => {
    const shape = [2, 3, 2, 2];
    const f = (x: E.Tensor, w: E.Tensor, b: E.Tensor) => E.layerNorm(x, [1, 2, 3], w, b);
    const inputs = [
      T(randHost(24, 61), shape),
      T(randHost(3, 62, 0.5, 1.5), [1, 3, 1, 1]),
      T(randHost(3, 63), [1, 3, 1, 1]),
    ];
    await expectGrad(f, inputs);
    await expectGradGrad(f, inputs, { maxElements: 24, atol: 2e-3, rtol: 2e-2 });
    // the recorded (createGraph) backward equals the fused first-order one
    const [first, graph] = await Promise.all(
      [false, true].map((createGraph) =>
        E.tidy(() => {
          const xs = inputs.map((t) => E.requireGrad(E.clone(t)));
          const gs = E.grad(E.sum(E.mul(f(xs[0], xs[1], xs[2]), E.tensor(randHost(24, 64), shape))), xs, {
            createGraph,
          });
          return E.concat(
            gs.map((g) => E.reshape(g, [-1])),
            0,
          );
        }).toFloat32(),
      ),
    );
    expectClose(graph, first, 1e-5, 1e-4);
  });

  it('gradcheck and gradgradcheck on [N, F] with elementwise affine, and the permute path', async () => {
    const f = (x: E.Tensor, w: E.Tensor, b: E.Tensor) => E.layerNorm(x, [1], w, b);
    const inputs = [T(randHost(12, 71), [3, 4]), T(randHost(4, 72, 0.5, 1.5), [4]), T(randHost(4, 73), [4])];
    await expectGrad(f, inputs);
    await expectGradGrad(f, inputs, { atol: 2e-3, rtol: 2e-2 });
    const fp = (x: E.Tensor) => E.layerNorm(x, [0, 2], null, null);
    await expectGrad(fp, [T(randHost(18, 74), [3, 2, 3])]);
  });

  it('rejects bad arguments', () => {
    const x = E.zeros([2, 3, 4]);
    expect(() => E.layerNorm(x, [], null, null)).toThrow(/layerNorm: no axes/);
    expect(() => E.layerNorm(x, [3], null, null)).toThrow(/layerNorm: axis 3 is out of range/);
    expect(() => E.layerNorm(x, [1, 2], E.zeros([5]), null)).toThrow(
      /layerNorm: shapes \[2, 3, 4\] and \[5\] cannot be broadcast/,
    );
    expect(() => E.layerNorm(x, [1, 2], E.zeros([2, 2, 3, 4]), null)).toThrow(
      /layerNorm: weight \[2, 2, 3, 4\] does not broadcast to input \[2, 3, 4\]/,
    );
  });
});
