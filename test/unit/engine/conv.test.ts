import { afterEach, describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { expectGrad, expectGradGrad, useGpu } from '../../support/gpu.js';

useGpu();

const rnd = (shape: number[], seed: number) => {
  E.manualSeed(seed);
  return E.randUniform(shape, -1, 1);
};

// ---------- float64 reference (direct loops over the definition) ----------

interface Conv {
  xs: number[];
  ws: number[];
  s: number;
  p: number;
}
const outHW = ({ xs, ws, s, p }: Conv) => [
  Math.floor((xs[2] + 2 * p - ws[2]) / s) + 1,
  Math.floor((xs[3] + 2 * p - ws[3]) / s) + 1,
];

/** Calls f(xIndex, wIndex, yIndex) for every (input, weight, output) triple the conv multiplies. */
function forEachTap(cv: Conv, f: (xi: number, wi: number, yi: number) => void): void {
  const [N, C, H, W] = cv.xs;
  const [O, , kh, kw] = cv.ws;
  const [Ho, Wo] = outHW(cv);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++)
          for (let c = 0; c < C; c++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * cv.s - cv.p + ky;
                const ix = ox * cv.s - cv.p + kx;
                if (iy < 0 || ix < 0 || iy >= H || ix >= W) continue;
                f(
                  ((n * C + c) * H + iy) * W + ix,
                  ((o * C + c) * kh + ky) * kw + kx,
                  ((n * O + o) * Ho + oy) * Wo + ox,
                );
              }
}

/** A reference result: values, and per element the sum of |terms| (what rounding scales with). */
interface Ref {
  v: Float64Array;
  mag: Float64Array;
}
function refForward(cv: Conv, x: Float32Array, w: Float32Array, b: Float32Array): Ref {
  const [Ho, Wo] = outHW(cv);
  const hw = Ho * Wo;
  const v = new Float64Array(cv.xs[0] * cv.ws[0] * hw).map((_, i) => b[Math.floor(i / hw) % cv.ws[0]]);
  const mag = v.map(Math.abs);
  forEachTap(cv, (xi, wi, yi) => {
    v[yi] += x[xi] * w[wi];
    mag[yi] += Math.abs(x[xi] * w[wi]);
  });
  return { v, mag };
}
function refInputGrad(cv: Conv, gy: Float32Array, w: Float32Array): Ref {
  const n = cv.xs.reduce((a, b) => a * b);
  const [v, mag] = [new Float64Array(n), new Float64Array(n)];
  forEachTap(cv, (xi, wi, yi) => {
    v[xi] += gy[yi] * w[wi];
    mag[xi] += Math.abs(gy[yi] * w[wi]);
  });
  return { v, mag };
}
function refWeightGrad(cv: Conv, x: Float32Array, gy: Float32Array): Ref {
  const n = cv.ws.reduce((a, b) => a * b);
  const [v, mag] = [new Float64Array(n), new Float64Array(n)];
  forEachTap(cv, (xi, wi, yi) => {
    v[wi] += gy[yi] * x[xi];
    mag[wi] += Math.abs(gy[yi] * x[xi]);
  });
  return { v, mag };
}

/**
 * float32 sums (direct or Winograd) against the float64 reference: the error allowed on each
 * element is 1e-5 of its sum of |terms| (Winograd F(4x4) rounds to ~1e-6), plus 1e-6. A missing
 * or doubled term is off by ~1/n of it, n <= 2e4 terms here.
 */
function expectRef(actual: Float32Array, ref: Ref, what: string): void {
  expect(actual.length, `${what}: length`).toBe(ref.v.length);
  let worst = -1;
  let worstRatio = 1;
  for (let i = 0; i < actual.length; i++) {
    const ratio = Math.abs(actual[i] - ref.v[i]) / (1e-6 + 1e-5 * ref.mag[i]);
    if (!(ratio <= worstRatio)) [worst, worstRatio] = [i, ratio];
  }
  expect(
    worst,
    `${what}: element ${worst} is ${actual[worst]}, expected ${ref.v[worst]} (sum of |terms| ${ref.mag[worst]})`,
  ).toBe(-1);
}

// odd sizes, channels not multiples of 4, both strides, both paddings, 1x1 / 3x3 / 3x2 kernels
const CASES: Conv[] = [
  { xs: [2, 3, 5, 7], ws: [5, 3, 3, 3], s: 1, p: 1 },
  { xs: [2, 3, 5, 7], ws: [5, 3, 3, 3], s: 2, p: 1 },
  { xs: [3, 5, 6, 5], ws: [6, 5, 1, 1], s: 1, p: 0 },
  { xs: [2, 6, 7, 7], ws: [3, 6, 1, 1], s: 2, p: 1 },
  { xs: [1, 2, 7, 6], ws: [3, 2, 3, 2], s: 2, p: 0 },
  { xs: [2, 4, 3, 3], ws: [7, 4, 3, 3], s: 1, p: 0 },
  // the weight gradient sums this one in two chunks of images (4 + 1)
  { xs: [5, 2, 24, 24], ws: [3, 2, 3, 3], s: 1, p: 1 },
  // 3x3, stride 1, >= 8 channels: Winograd F(2x2, 3x3), odd output sizes, paddings 1, 0, 2
  { xs: [2, 16, 5, 7], ws: [17, 16, 3, 3], s: 1, p: 1 },
  { xs: [3, 9, 6, 6], ws: [8, 9, 3, 3], s: 1, p: 0 },
  { xs: [2, 8, 5, 4], ws: [12, 8, 3, 3], s: 1, p: 2 },
  // big enough for Winograd F(4x4, 3x3): 9x9 is 3x3 tiles of 4x4, the last ones part-filled
  { xs: [12, 32, 9, 9], ws: [33, 32, 3, 3], s: 1, p: 1 },
  // padding 3: direct again
  { xs: [1, 8, 4, 4], ws: [8, 8, 3, 3], s: 1, p: 3 },
  // one input channel (input gradient: one-row blocks) and one output channel (forward and weight gradient)
  { xs: [3, 1, 6, 5], ws: [4, 1, 3, 3], s: 1, p: 1 },
  { xs: [2, 5, 6, 5], ws: [1, 5, 3, 3], s: 1, p: 1 },
];
const label = (cv: Conv) => `x [${cv.xs}] w [${cv.ws}] stride ${cv.s} padding ${cv.p}`;

const VARIANT_ENV = ['ALR_VARIANT_CONV2D', 'ALR_VARIANT_CONV2DINPUTGRAD', 'ALR_VARIANT_CONV2DWEIGHTGRAD'];
function forceVariant(v: string | null): void {
  for (const k of VARIANT_ENV) {
    if (v) process.env[k] = v;
    else delete process.env[k];
  }
}
afterEach(() => forceVariant(null));

describe('conv2d', () => {
  for (const cv of CASES) {
    it(`forward and both gradients match a float64 reference: ${label(cv)}`, async () => {
      const opts = { stride: cv.s, padding: cv.p };
      const [Ho, Wo] = outHW(cv);
      const x = rnd(cv.xs, 1);
      const w = rnd(cv.ws, 2);
      const b = rnd([cv.ws[0]], 3);
      const gy = rnd([cv.xs[0], cv.ws[0], Ho, Wo], 4);
      const [xv, wv, bv, gv] = await Promise.all([x, w, b, gy].map((t) => t.toFloat32()));
      const y = E.conv2d(x, w, b, opts);
      expect(y.shape).toEqual([cv.xs[0], cv.ws[0], Ho, Wo]);
      expectRef(await y.toFloat32(), refForward(cv, xv, wv, bv), 'conv2d');
      expectRef(await E.conv2dInputGrad(gy, w, cv.xs, opts).toFloat32(), refInputGrad(cv, gv, wv), 'conv2dInputGrad');
      expectRef(
        await E.conv2dWeightGrad(x, gy, cv.ws, opts).toFloat32(),
        refWeightGrad(cv, xv, gv),
        'conv2dWeightGrad',
      );
      E.dispose([x, w, b, gy, y]);
    });
  }

  const BITWISE: Conv[] = [
    CASES[1],
    CASES[3],
    CASES[6],
    CASES[7],
    CASES[10],
    CASES[12],
    CASES[13],
    // big enough for the large register blocks (the others use 4x4; each big one takes seconds
    // to compile on lavapipe): 12x8 in the Winograd F(4x4) GEMM; 12x8 direct (forward and
    // weight gradient of a 3-channel conv) and 4x16 direct (its input gradient)
    { xs: [16, 24, 24, 24], ws: [24, 24, 3, 3], s: 1, p: 1 },
    { xs: [16, 3, 32, 32], ws: [24, 3, 3, 3], s: 1, p: 1 },
  ];
  for (const cv of BITWISE) {
    it(`every kernel variant agrees bit for bit in every direction: ${label(cv)}`, async () => {
      const opts = { stride: cv.s, padding: cv.p };
      const [Ho, Wo] = outHW(cv);
      const x = rnd(cv.xs, 5);
      const w = rnd(cv.ws, 6);
      const b = rnd([cv.ws[0]], 7);
      const gy = rnd([cv.xs[0], cv.ws[0], Ho, Wo], 8);
      const results: Float32Array[][] = [];
      // 'subgroup' (Winograd GEMMs only, where subgroups have a fixed size) is forced globally:
      // the direct kernels, which have no such variant, keep their default
      const variants = ['register', 'tiled', ...(E.deviceInfo().subgroupSize ? ['subgroup'] : [])];
      for (const v of variants) {
        if (v === 'subgroup') process.env.ALR_VARIANT = v;
        else forceVariant(v);
        try {
          const outs = [
            E.conv2d(x, w, b, opts),
            E.conv2dInputGrad(gy, w, cv.xs, opts),
            E.conv2dWeightGrad(x, gy, cv.ws, opts),
          ];
          results.push(await Promise.all(outs.map((t) => t.toFloat32())));
          E.dispose(outs);
        } finally {
          delete process.env.ALR_VARIANT;
          forceVariant(null);
        }
      }
      ['conv2d', 'conv2dInputGrad', 'conv2dWeightGrad'].forEach((op, i) => {
        for (let k = 1; k < variants.length; k++) {
          const [r, t] = [results[0][i], results[k][i]];
          const first = r.findIndex((v, j) => !Object.is(v, t[j]));
          expect(first, `${op}: element ${first} register ${r[first]} vs ${variants[k]} ${t[first]}`).toBe(-1);
        }
      });
      // and the bits are right, not just equal
      expectRef(results[0][2], refWeightGrad(cv, await x.toFloat32(), await gy.toFloat32()), 'conv2dWeightGrad');
      E.dispose([x, w, b, gy]);
    });
  }

  it('Winograd over several chunks of images gives the same results', async () => {
    // F(2x2) and F(4x4); forward and input gradient keep every output's sum inside one chunk
    // (same bits), the weight gradient adds per-chunk partials (same up to rounding)
    for (const cv of [CASES[7], CASES[10]]) {
      const opts = { stride: cv.s, padding: cv.p };
      const [Ho, Wo] = outHW(cv);
      const x = rnd(cv.xs, 51);
      const w = rnd(cv.ws, 52);
      const b = rnd([cv.ws[0]], 53);
      const gy = rnd([cv.xs[0], cv.ws[0], Ho, Wo], 54);
      const run = async () => {
        const outs = [
          E.conv2d(x, w, b, opts),
          E.conv2dInputGrad(gy, w, cv.xs, opts),
          E.conv2dWeightGrad(x, gy, cv.ws, opts),
        ];
        const vals = await Promise.all(outs.map((t) => t.toFloat32()));
        E.dispose(outs);
        return vals;
      };
      const whole = await run();
      process.env.ALR_CONV_WINO_CHUNK = String(2 ** 11); // one image per chunk
      let chunked: Float32Array[];
      try {
        chunked = await run();
      } finally {
        delete process.env.ALR_CONV_WINO_CHUNK;
      }
      for (const i of [0, 1])
        expect(
          chunked[i].every((v, j) => Object.is(v, whole[i][j])),
          `${label(cv)} output ${i}`,
        ).toBe(true);
      expectRef(chunked[2], refWeightGrad(cv, await x.toFloat32(), await gy.toFloat32()), 'conv2dWeightGrad in chunks');
      expect(
        chunked[2].some((v, j) => v !== whole[2][j]),
        'the weight gradient was really split',
      ).toBe(true);
      E.dispose([x, w, b, gy]);
    }
  });

  it('gradients of conv2d for input, weight and bias match finite differences', async () => {
    const winograd = { xs: [2, 8, 4, 5], ws: [8, 8, 3, 3], s: 1, p: 1 };
    for (const cv of [CASES[0], CASES[1], CASES[3], winograd]) {
      const opts = { stride: cv.s, padding: cv.p };
      const f = (x: E.Tensor, w: E.Tensor, b: E.Tensor) => E.conv2d(x, w, b, opts);
      await expectGrad(f, [rnd(cv.xs, 11), rnd(cv.ws, 12), rnd([cv.ws[0]], 13)], { maxElements: 24 });
    }
  });

  for (const cv of [CASES[1], { xs: [2, 8, 3, 5], ws: [9, 8, 3, 3], s: 1, p: 1 }]) {
    it(`the gradient ops have gradients of their own (first and second order): ${label(cv)}`, async () => {
      const opts = { stride: cv.s, padding: cv.p };
      const [Ho, Wo] = outHW(cv);
      const gy = rnd([cv.xs[0], cv.ws[0], Ho, Wo], 21);
      const w = rnd(cv.ws, 22);
      const x = rnd(cv.xs, 23);
      const dx = (g: E.Tensor, ww: E.Tensor) => E.conv2dInputGrad(g, ww, cv.xs, opts);
      const dw = (xx: E.Tensor, g: E.Tensor) => E.conv2dWeightGrad(xx, g, cv.ws, opts);
      await expectGrad(dx, [gy, w], { maxElements: 16 });
      await expectGrad(dw, [x, gy], { maxElements: 16 });
      await expectGradGrad(dx, [gy, w], { maxElements: 12 });
      await expectGradGrad(dw, [x, gy], { maxElements: 12 });
    });
  }

  it('second derivatives of conv2d match finite differences', async () => {
    for (const cv of [CASES[0], CASES[3], { xs: [1, 8, 4, 3], ws: [8, 8, 3, 3], s: 1, p: 1 }]) {
      const opts = { stride: cv.s, padding: cv.p };
      const f = (x: E.Tensor, w: E.Tensor, b: E.Tensor) => E.tanh(E.conv2d(x, w, b, opts));
      await expectGradGrad(f, [rnd(cv.xs, 31), rnd(cv.ws, 32), rnd([cv.ws[0]], 33)], { maxElements: 12 });
    }
  });

  it('a WGAN-GP style penalty through three convs (createGraph) has the right gradient', async () => {
    const opts = { padding: 1 };
    // critic(x) = sum(conv(conv(tanh(conv(x, w1) + b1), w2), w3)); penalty = sum(square(d critic / dx))
    // (the 8-channel 3x3 conv runs as Winograd, the others directly)
    const penalty = (x: E.Tensor, w1: E.Tensor, b1: E.Tensor, w2: E.Tensor, w3: E.Tensor) => {
      const h = E.tanh(E.conv2d(x, w1, b1, opts));
      const critic = E.sum(E.conv2d(E.tanh(E.conv2d(h, w2, null, opts)), w3, null, { stride: 2, padding: 1 }));
      const [gx] = E.grad(critic, [x], { createGraph: true });
      return E.sum(E.square(gx));
    };
    const x = rnd([2, 2, 5, 6], 41);
    const w1 = E.mul(rnd([8, 2, 3, 3], 42), 0.5);
    const b1 = rnd([8], 43);
    const w2 = E.mul(rnd([8, 8, 3, 3], 44), 0.3);
    const w3 = rnd([2, 8, 3, 3], 45);
    // the penalty depends on every input, so a wrong backward shows up
    const [gw1] = E.grad(penalty(E.requireGrad(x), E.requireGrad(w1), b1, w2, w3), [w1]);
    expect(Math.max(...(await E.abs(gw1).toFloat32()))).toBeGreaterThan(1e-3);
    // the penalty is ~300: float32 differences need a step of 1e-2
    await expectGrad(penalty, [x, w1, b1, w2, w3], { maxElements: 10, eps: 1e-2, atol: 2e-3, rtol: 2e-2 });
  });

  it('rejects bad inputs with messages naming the op and the shapes', () => {
    const x = E.zeros([2, 3, 5, 5]);
    const w = E.zeros([4, 3, 3, 3]);
    expect(() => E.conv2d(x, E.zeros([4, 2, 3, 3]))).toThrow(
      /conv2d: the input has 3 channels but the weight expects 2: x \[2, 3, 5, 5\], w \[4, 2, 3, 3\]/,
    );
    expect(() => E.conv2d(E.zeros([3, 5, 5]), w)).toThrow(
      /conv2d: the input must have rank 4 \(NCHW \/ OIHW\), got \[3, 5, 5\]/,
    );
    expect(() => E.conv2d(x, E.zeros([4, 3, 9]))).toThrow(/conv2d: the weight must have rank 4/);
    expect(() => E.conv2d(x, E.zeros([4, 3, 8, 8]), null, { padding: 1 })).toThrow(
      /conv2d: kernel 8x8 is larger than the padded input 7x7: x \[2, 3, 5, 5\], w \[4, 3, 8, 8\], stride 1, padding 1/,
    );
    expect(() => E.conv2d(E.tensor(new Array(75).fill(0), [1, 3, 5, 5], 'i32'), w)).toThrow(
      /conv2d: expected float32 tensors, got i32/,
    );
    expect(() => E.conv2d(x, w, E.zeros([3]))).toThrow(/conv2d: bias must have shape \[4\], got \[3\]/);
    expect(() => E.conv2d(x, w, null, { stride: 0 })).toThrow(/conv2d: stride must be a positive integer, got 0/);
    expect(() => E.conv2d(x, w, null, { padding: -1 })).toThrow(
      /conv2d: padding must be a non-negative integer, got -1/,
    );
    expect(() => E.conv2dInputGrad(E.zeros([2, 4, 4, 4]), w, [2, 3, 5, 5])).toThrow(
      /conv2dInputGrad: the output gradient has shape \[2, 4, 4, 4\], expected \[2, 4, 3, 3\]: gy \[2, 4, 4, 4\], w \[4, 3, 3, 3\], input \[2, 3, 5, 5\]/,
    );
    expect(() => E.conv2dInputGrad(E.zeros([2, 4, 3, 3]), w, [2, 5, 5, 5])).toThrow(
      /conv2dInputGrad: the input has 5 channels but the weight expects 3/,
    );
    expect(() => E.conv2dWeightGrad(x, E.zeros([2, 5, 3, 3]), [4, 3, 3, 3])).toThrow(
      /conv2dWeightGrad: the output gradient has shape \[2, 5, 3, 3\], expected \[2, 4, 3, 3\]/,
    );
    expect(() => E.conv2dWeightGrad(x, E.zeros([2, 4, 3, 3]), [4, 3, 3])).toThrow(
      /conv2dWeightGrad: the weight must have rank 4/,
    );
    E.dispose([x, w]);
  });
});
