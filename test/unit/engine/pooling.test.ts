import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { hostRng } from '../../../engine/gradcheck.js';
import { expectClose, expectGrad, expectGradGrad, useGpu } from '../../support/gpu.js';

useGpu();

function randHost(n: number, seed: number): Float32Array {
  const r = hostRng(seed);
  return Float32Array.from({ length: n }, () => 4 * r() - 2);
}
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
const idx4 = (s: number[], n: number, c: number, h: number, w: number) => ((n * s[1] + c) * s[2] + h) * s[3] + w;

/** CPU references on NCHW arrays. */
function avgPoolRef(x: Float32Array, s: number[]): Float64Array {
  const [N, C, H, W] = s;
  const o = [N, C, H / 2, W / 2];
  const out = new Float64Array(numel(o));
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H / 2; h++)
        for (let w = 0; w < W / 2; w++) {
          let t = 0;
          for (const [dh, dw] of [
            [0, 0],
            [0, 1],
            [1, 0],
            [1, 1],
          ])
            t += x[idx4(s, n, c, 2 * h + dh, 2 * w + dw)];
          out[idx4(o, n, c, h, w)] = t / 4;
        }
  return out;
}
function upsampleRef(x: Float32Array, s: number[]): Float64Array {
  const [N, C, H, W] = s;
  const o = [N, C, 2 * H, 2 * W];
  const out = new Float64Array(numel(o));
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < 2 * H; h++)
        for (let w = 0; w < 2 * W; w++) out[idx4(o, n, c, h, w)] = x[idx4(s, n, c, h >> 1, w >> 1)];
  return out;
}
/** depth-to-space; 'CRD' = torch.pixel_shuffle, 'DCR' = TF depth_to_space (transposed to NCHW) */
function d2sRef(x: Float32Array, s: number[], r: number, mode: 'CRD' | 'DCR'): Float64Array {
  const [N, Cin, H, W] = s;
  const C = Cin / (r * r);
  const o = [N, C, H * r, W * r];
  const out = new Float64Array(numel(o));
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H * r; h++)
        for (let w = 0; w < W * r; w++) {
          const k = (h % r) * r + (w % r);
          const ch = mode === 'CRD' ? c * r * r + k : k * C + c;
          out[idx4(o, n, c, h, w)] = x[idx4(s, n, ch, Math.floor(h / r), Math.floor(w / r))];
        }
  return out;
}

describe('pooling', () => {
  it('avgPool2x2 and upsampleNearest2x match CPU references', async () => {
    const s = [2, 3, 4, 6];
    const xh = randHost(numel(s), 1);
    expectClose(await E.avgPool2x2(E.tensor(xh, s)).toFloat32(), avgPoolRef(xh, s), 1e-6, 1e-6);
    expectClose(await E.upsampleNearest2x(E.tensor(xh, s)).toFloat32(), upsampleRef(xh, s), 0, 0);
  });

  it('depthToSpace / spaceToDepth in both channel orders; they invert each other', async () => {
    const s = [2, 12, 2, 3];
    const xh = randHost(numel(s), 2);
    for (const mode of ['CRD', 'DCR'] as const) {
      for (const r of [1, 2]) {
        const y = E.depthToSpace(E.tensor(xh, s), r, mode);
        expect(y.shape).toEqual([2, 12 / (r * r), 2 * r, 3 * r]);
        expectClose(await y.toFloat32(), d2sRef(xh, s, r, mode), 0, 0);
        expectClose(await E.spaceToDepth(y, r, mode).toFloat32(), xh, 0, 0);
      }
    }
    const y3 = E.depthToSpace(E.tensor(randHost(2 * 18 * 4, 3), [2, 18, 2, 2]), 3);
    expect(y3.shape).toEqual([2, 2, 6, 6]);
  });

  it("upsampleNearest2x equals WGAN-GP's depth_to_space(concat([x, x, x, x]))", async () => {
    const s = [2, 3, 3, 2];
    const x = E.tensor(randHost(numel(s), 4), s);
    const viaTf = E.depthToSpace(E.concat([x, x, x, x], 1), 2, 'DCR');
    expectClose(await viaTf.toFloat32(), await E.upsampleNearest2x(x).toFloat32(), 0, 0);
  });

  it('globalMeanPool averages over H and W', async () => {
    const s = [2, 3, 4, 5];
    const xh = randHost(numel(s), 5);
    const y = E.globalMeanPool(E.tensor(xh, s));
    expect(y.shape).toEqual([2, 3]);
    const ref = Array.from({ length: 6 }, (_, k) => xh.slice(k * 20, k * 20 + 20).reduce((a, b) => a + b, 0) / 20);
    expectClose(await y.toFloat32(), ref, 1e-6, 1e-5);
  });

  const cases: [string, (x: E.Tensor) => E.Tensor, number[]][] = [
    ['avgPool2x2', E.avgPool2x2, [2, 2, 4, 4]],
    ['upsampleNearest2x', E.upsampleNearest2x, [1, 2, 3, 2]],
    ['depthToSpace CRD', (x) => E.depthToSpace(x, 2), [1, 8, 2, 3]],
    ['depthToSpace DCR', (x) => E.depthToSpace(x, 2, 'DCR'), [1, 8, 2, 3]],
    ['spaceToDepth', (x) => E.spaceToDepth(x, 2), [1, 2, 4, 2]],
    ['globalMeanPool', E.globalMeanPool, [2, 3, 2, 3]],
    ['maxPool2x2', E.maxPool2x2, [2, 2, 4, 4]],
  ];
  for (const [name, f, s] of cases) {
    it(`${name}: gradcheck and gradgradcheck`, async () => {
      // squared so that the second derivative is not trivially zero
      const g = (x: E.Tensor) => E.square(f(E.square(x)));
      const x = E.tensor(randHost(numel(s), 6), s);
      await expectGrad(g, [x]);
      await expectGradGrad(g, [x], { maxElements: 24 });
    });
  }

  it('maxPool2x2: ties send the gradient to the first maximum in row order, as PyTorch', async () => {
    // windows: all equal; max twice (positions 1 and 2); a single max at the last position
    const x = E.requireGrad(E.tensor([5, 5, 5, 5, 1, 7, 7, 0, -3, -2, -4, -1], [1, 3, 2, 2]));
    const { y, g } = E.tidy(() => {
      const out = E.maxPool2x2(x);
      return { y: out, g: E.grad(E.sum(E.mul(out, E.tensor([1, 2, 3], [1, 3, 1, 1]))), [x])[0] };
    });
    expect([...(await y.toFloat32())]).toEqual([5, 7, -1]);
    expect([...(await g.toFloat32())]).toEqual([1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3]);
    expect(() => E.maxPool2x2(E.zeros([1, 1, 4, 3]))).toThrow(/maxPool2x2: H and W must be even, got \[1, 1, 4, 3\]/);
  });

  it('rejects bad shapes with the op and shape', () => {
    expect(E.avgPool2x2(E.zeros([1, 1, 3, 4])).shape).toEqual([1, 1, 1, 2]); // odd H floors, as in PyTorch
    expect(() => E.avgPool2x2(E.zeros([1, 1, 1, 4]))).toThrow(
      /avgPool2x2: H and W must be at least 2, got \[1, 1, 1, 4\]/,
    );
    expect(() => E.avgPool2x2(E.zeros([4, 4]))).toThrow(/avgPool2x2: expected an NCHW input of rank 4, got \[4, 4\]/);
    expect(() => E.depthToSpace(E.zeros([1, 6, 2, 2]), 2)).toThrow(
      /depthToSpace: channels 6 of \[1, 6, 2, 2\] are not divisible by block² = 4/,
    );
    expect(() => E.spaceToDepth(E.zeros([1, 1, 3, 4]), 2)).toThrow(
      /spaceToDepth: H and W of \[1, 1, 3, 4\] must be divisible by the block 2/,
    );
    expect(() => E.depthToSpace(E.zeros([1, 4, 2, 2]), 0)).toThrow(/block must be a positive integer/);
  });
});
