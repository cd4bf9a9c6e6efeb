import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { expectClose, expectGrad, expectGradGrad, useGpu } from '../../support/gpu.js';

useGpu();

// 'subgroup' exists where the device has subgroups of one fixed size (lavapipe: 8), and
// 'subgroup-uniform' there too where B fits a uniform binding (vec4 rows, at most 64 KiB)
const allVariants = () => [
  'register',
  'tiled',
  ...(E.deviceInfo().subgroupSize ? ['subgroup', 'subgroup-uniform'] : []),
];

/**
 * Runs fn with ALR_VARIANT_MATMUL forced (tune.ts reads the environment on every call);
 * 'subgroup-uniform' is forced through ALR_VARIANT, which ops without it ignore, so a product
 * whose B does not fit a uniform binding runs its own first choice.
 */
async function withVariant<T>(v: string | undefined, fn: () => Promise<T>): Promise<T> {
  const name = v === 'subgroup-uniform' ? 'ALR_VARIANT' : 'ALR_VARIANT_MATMUL';
  const prev = process.env[name];
  if (v === undefined) delete process.env[name];
  else process.env[name] = v;
  try {
    return await fn();
  } finally {
    if (prev === undefined) delete process.env[name];
    else process.env[name] = prev;
  }
}

let seed = 100;
const rnd = (shape: number[]) => {
  E.manualSeed(seed++);
  return E.randUniform(shape, -1, 1);
};

interface Case {
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  aBatch?: number[];
  bBatch?: number[];
}

const aShape = (c: Case) => [...(c.aBatch ?? []), ...(c.transA ? [c.K, c.M] : [c.M, c.K])];
const bShape = (c: Case) => [...(c.bBatch ?? []), ...(c.transB ? [c.N, c.K] : [c.K, c.N])];

/** float64 reference with NumPy batch broadcasting, computed straight from the definition. */
function reference(c: Case, a: Float32Array, b: Float32Array): { shape: number[]; data: Float64Array } {
  const ab = c.aBatch ?? [];
  const bb = c.bBatch ?? [];
  const rank = Math.max(ab.length, bb.length);
  const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s];
  const [pa, pb] = [pad(ab), pad(bb)];
  const batch = pa.map((d, i) => Math.max(d, pb[i]));
  const nb = batch.reduce((x, y) => x * y, 1);
  const { M, N, K } = c;
  const out = new Float64Array(nb * M * N);
  for (let z = 0; z < nb; z++) {
    // batch coordinates -> flat matrix index of a and b (size-1 axes repeat)
    let rem = z;
    let ia = 0;
    let ib = 0;
    let sa = 1;
    let sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const coord = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      if (pa[d] !== 1) ia += coord * sa;
      if (pb[d] !== 1) ib += coord * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a[ia * M * K + (c.transA ? k * M + m : m * K + k)];
          const bv = b[ib * K * N + (c.transB ? n * K + k : k * N + n)];
          s += av * bv;
        }
        out[(z * M + m) * N + n] = s;
      }
    }
  }
  return { shape: [...batch, M, N], data: out };
}

const name = (c: Case) => `${aShape(c).join('x')}${c.transA ? 'ᵀ' : ''} @ ${bShape(c).join('x')}${c.transB ? 'ᵀ' : ''}`;

const valueCases: Case[] = [
  { M: 1, N: 1, K: 1 },
  { M: 7, N: 13, K: 5 },
  { M: 7, N: 13, K: 5, transA: true },
  { M: 7, N: 13, K: 5, transB: true },
  { M: 7, N: 13, K: 5, transA: true, transB: true },
  { M: 1, N: 9, K: 3 },
  { M: 9, N: 1, K: 3, transB: true },
  { M: 8, N: 12, K: 16 }, // every operand vec4-aligned
  { M: 8, N: 12, K: 16, transA: true, transB: true },
  { M: 67, N: 70, K: 37 }, // crosses the 64-wide tiles and the 16-deep K steps
  { M: 64, N: 68, K: 20, transA: true },
  { M: 5, N: 6, K: 7, aBatch: [3] },
  { M: 5, N: 6, K: 7, bBatch: [3] },
  { M: 5, N: 4, K: 8, aBatch: [2, 1], bBatch: [3], transB: true },
  { M: 4, N: 3, K: 6, aBatch: [1, 3], bBatch: [2, 1], transA: true },
  { M: 3, N: 5, K: 2, aBatch: [2, 3], bBatch: [2, 3] },
  // large enough for the register variant's 8x8 blocks and the subgroup variant's 32 rows
  { M: 64, N: 128, K: 256, transB: true },
  { M: 100, N: 64, K: 64 },
  { M: 96, N: 40, K: 36, transA: true },
  { M: 45, N: 12, K: 13, transA: true },
  { M: 67, N: 70, K: 121, aBatch: [3, 1], bBatch: [2], transA: true },
];

describe('matmul values', () => {
  for (const v of ['register', 'tiled', 'subgroup', 'subgroup-uniform']) {
    it(`${v}: matches a float64 reference (odd shapes, transposes, batch broadcast)`, async () => {
      // no 'subgroup' kernel without fixed-size subgroups (lavapipe has them: asserted below)
      if (!allVariants().includes(v)) return;
      await withVariant(v, async () => {
        for (const c of valueCases) {
          const a = rnd(aShape(c));
          const b = rnd(bShape(c));
          const y = E.matmul(a, b, { transA: c.transA, transB: c.transB });
          const ref = reference(c, (await a.toFloat32()) as Float32Array, (await b.toFloat32()) as Float32Array);
          expect(y.shape, name(c)).toEqual(ref.shape);
          expectClose(await y.toFloat32(), ref.data, 1e-5, 1e-5);
          E.dispose([a, b, y]);
        }
      });
    });
  }

  it('K = 0 gives zeros; empty M or N gives an empty tensor', async () => {
    const y = E.matmul(E.zeros([3, 0]), E.zeros([0, 2]));
    expect(y.shape).toEqual([3, 2]);
    expect([...(await y.toFloat32())]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(E.matmul(E.zeros([0, 4]), E.zeros([4, 5])).shape).toEqual([0, 5]);
  });

  it('splits grids beyond 65535 workgroups (large batch, very tall output)', async () => {
    for (const v of allVariants()) {
      await withVariant(v, async () => {
        const batched: Case = { M: 1, N: 1, K: 2, aBatch: [65537] };
        const a = rnd(aShape(batched));
        const b = rnd(bShape(batched));
        const ref = reference(batched, (await a.toFloat32()) as Float32Array, (await b.toFloat32()) as Float32Array);
        expectClose(await E.matmul(a, b).toFloat32(), ref.data, 1e-6, 1e-5);
      });
    }
    // 'register' covers 64 rows per workgroup of a one-column output: 2^22 + 1 rows need 65537 groups in y
    await withVariant('register', async () => {
      const tall: Case = { M: 2 ** 22 + 1, N: 1, K: 1 };
      const a = rnd(aShape(tall));
      const b = E.tensor([3], [1, 1]);
      const y = await E.matmul(a, b).toFloat32();
      const av = await a.toFloat32();
      for (const i of [0, 1, 65535 * 64 - 1, 65535 * 64, 2 ** 22])
        expect(y[i], `row ${i}`).toBe(Math.fround(av[i] * 3));
    });
  });
});

describe('matmul variants', () => {
  const bitCases: Case[] = [
    { M: 7, N: 13, K: 5 },
    { M: 33, N: 17, K: 29, transA: true },
    { M: 20, N: 36, K: 45, transB: true },
    { M: 70, N: 66, K: 40, transA: true, transB: true },
    { M: 64, N: 64, K: 64 },
    { M: 5, N: 8, K: 100, aBatch: [2, 1], bBatch: [3] },
    { M: 12, N: 9, K: 16, aBatch: [4], transA: true, transB: true },
    { M: 64, N: 128, K: 256, transB: true },
    { M: 67, N: 70, K: 121, aBatch: [3, 1], bBatch: [2], transA: true },
    { M: 96, N: 40, K: 36, transA: true },
    { M: 100, N: 60, K: 64 },
  ];
  it('every variant agrees with register bit for bit', async () => {
    if (/llvmpipe/.test(E.adapterName())) expect(E.deviceInfo().subgroupSize).toBe(8); // lavapipe tests 'subgroup'
    for (const c of bitCases) {
      const a = rnd(aShape(c));
      const b = rnd(bShape(c));
      const run = (v: string) =>
        withVariant(v, async () => {
          const y = E.matmul(a, b, { transA: c.transA, transB: c.transB });
          const bits = new Uint32Array((await y.toFloat32()).buffer);
          y.dispose();
          return bits;
        });
      const r = await run('register');
      for (const v of allVariants().slice(1)) {
        const t = await run(v);
        expect(t.length, `${name(c)} ${v}`).toBe(r.length);
        let firstDiff = -1;
        for (let i = 0; i < r.length && firstDiff < 0; i++) if (r[i] !== t[i]) firstDiff = i;
        expect(firstDiff, `${name(c)} ${v}: first differing element`).toBe(-1);
      }
      E.dispose([a, b]);
    }
  });

  it("'subgroup-uniform' reads B from a uniform binding where it fits, from storage where not", async () => {
    if (!E.deviceInfo().subgroupSize) return; // no subgroup kernels on this adapter (lavapipe has them)
    // B [64, 64] (16 KiB) fits; B [128, 160] (80 KiB) does not; B [64, 6] is not read as vec4s
    const cases: [number[], number[], boolean, string][] = [
      [[64, 64], [64, 64], false, 'matmul.subgroup-uniform'],
      [[64, 128], [128, 160], false, 'matmul.subgroup'],
      [[64, 64], [64, 128], true, 'matmul.subgroup-uniform'],
    ];
    for (const [as, bs, transB, kernel] of cases) {
      const a = E.keep(rnd(as));
      const b = E.keep(rnd(transB ? [...bs].reverse() : bs));
      const step = E.compile(() => E.matmul(a, b, { transB }));
      const names = await withVariant('subgroup-uniform', async () => {
        for (let i = 0; i < 3; i++) E.dispose(step() as E.Tensor);
        await E.sync();
        return step.kernelNames;
      });
      expect(names, `${as} x ${bs}${transB ? 'ᵀ' : ''}`).toEqual([kernel]);
      step.dispose();
      E.dispose([a, b]);
    }
    // one buffer bound twice in a dispatch, as read-only storage (A) and as uniform (B): a Gram matrix
    const x = rnd([64, 64]);
    const gram = (v: string) =>
      withVariant(v, async () => {
        const y = E.matmul(x, x, { transB: true });
        const bits = new Uint32Array((await y.toFloat32()).buffer);
        y.dispose();
        return bits;
      });
    expect(await gram('subgroup-uniform')).toEqual(await gram('register'));
    x.dispose();
  });

  it('rejects an unknown forced variant', async () => {
    await withVariant('nope', async () => {
      expect(() => E.matmul(E.zeros([2, 2]), E.zeros([2, 2]))).toThrow(/ALR_VARIANT_MATMUL=nope/);
    });
  });
});

describe('matmul gradients', () => {
  const gradCases: Case[] = [
    { M: 3, N: 5, K: 4 },
    { M: 3, N: 5, K: 4, transA: true },
    { M: 3, N: 5, K: 4, transB: true },
    { M: 3, N: 2, K: 4, transA: true, transB: true },
    { M: 2, N: 3, K: 3, aBatch: [2, 1], bBatch: [3] },
    { M: 2, N: 3, K: 2, aBatch: [2], transA: true, transB: true },
  ];
  for (const c of gradCases) {
    it(`first and second order: ${name(c)}`, async () => {
      const f = (a: E.Tensor, b: E.Tensor) => E.matmul(a, b, { transA: c.transA, transB: c.transB });
      const a = rnd(aShape(c));
      const b = rnd(bShape(c));
      await expectGrad(f, [a, b]);
      // matmul is bilinear: multiply by a second use of the inputs so second derivatives are non-trivial
      const g = (x: E.Tensor, y: E.Tensor) => E.mul(f(x, y), f(x, y));
      await expectGradGrad(g, [a, b], { maxElements: 24 });
    });
  }
});

describe('matmul errors', () => {
  it('names the op and both shapes', () => {
    const m = (a: number[], b: number[], o?: E.MatmulOptions) => () => E.matmul(E.zeros(a), E.zeros(b), o);
    expect(m([3], [3, 2])).toThrow(/matmul: both inputs need rank >= 2: \[3\] x \[3, 2\]/);
    expect(m([2, 3], [4, 5])).toThrow(/matmul: inner dimensions differ \(3 vs 4\): \[2, 3\] x \[4, 5\]/);
    expect(m([2, 3], [4, 3], { transA: true })).toThrow(
      /matmul: inner dimensions differ \(2 vs 4\): \[2, 3\]ᵀ x \[4, 3\]/,
    );
    expect(m([2, 2, 3], [3, 3, 4])).toThrow(
      /matmul: batch dimensions cannot be broadcast \(axis 0: 2 vs 3\): \[2, 2, 3\] x \[3, 3, 4\]/,
    );
    const i = E.tensor([1, 2, 3, 4], [2, 2], 'i32');
    expect(() => E.matmul(i, E.zeros([2, 2]))).toThrow(
      /matmul: expected float32 tensors, got i32 x f32: \[2, 2\] x \[2, 2\]/,
    );
  });
});

describe('linear (matmul with bias and relu in its epilogue)', () => {
  const bitsOf = async (t: E.Tensor) => Array.from(new Uint32Array((await t.toFloat32()).buffer));
  // N = out features: 12 (vec4 output), 7 (scalar output); relu on and off; with and without bias
  const cases = [
    { n: 9, inF: 20, out: 12, bias: true, relu: true },
    { n: 9, inF: 20, out: 7, bias: true, relu: true },
    { n: 33, inF: 16, out: 40, bias: false, relu: true },
    { n: 5, inF: 3, out: 8, bias: true, relu: false },
  ];
  for (const c of cases) {
    const label = `[${c.n}, ${c.inF}] -> ${c.out}${c.bias ? ' + bias' : ''}${c.relu ? ', relu' : ''}`;
    it(`${label}: every variant matches relu(add(matmul)) bit for bit, values and gradients`, async () => {
      const x = E.requireGrad(rnd([c.n, c.inF]));
      const w = E.requireGrad(rnd([c.out, c.inF]));
      const b = c.bias ? E.requireGrad(rnd([c.out])) : null;
      const g = rnd([c.n, c.out]);
      const inputs = b ? [x, w, b] : [x, w];
      const unfused = () => {
        const z = E.matmul(x, w, { transB: true });
        const zb = b ? E.add(z, b) : z;
        return c.relu ? E.relu(zb) : zb;
      };
      const ref = E.tidy(() => [unfused(), ...E.grad(unfused(), inputs, { gradOutputs: [g] })]);
      for (const v of allVariants()) {
        await withVariant(v, async () => {
          const d0 = E.counters.dispatches;
          const y = E.linear(x, w, b, { relu: c.relu });
          expect(E.counters.dispatches - d0, `${v}: one kernel`).toBe(1);
          const got = [y, ...E.grad(E.linear(x, w, b, { relu: c.relu }), inputs, { gradOutputs: [g] })];
          for (let i = 0; i < got.length; i++)
            expect(await bitsOf(got[i]), `${v}: output ${i}`).toEqual(await bitsOf(ref[i]));
          E.dispose(got);
        });
      }
      E.dispose([x, w, g, ...(b ? [b] : []), ...ref]);
    });
  }

  it('gradients and second derivatives match finite differences', async () => {
    const x = rnd([4, 5]);
    const w = rnd([6, 5]);
    const b = rnd([6]);
    const f = (x: E.Tensor, w: E.Tensor, b: E.Tensor) => E.linear(x, w, b, { relu: true });
    await expectGrad(f, [x, w, b]);
    // relu is piecewise linear: square the output so that second derivatives are non-trivial
    await expectGradGrad((x, w, b) => E.square(f(x, w, b)), [x, w, b], { maxElements: 24 });
  });

  it('zero input features fall back to the unfused ops; bad shapes are named', async () => {
    const y = E.linear(E.zeros([3, 0]), E.zeros([4, 0]), E.tensor([1, -2, 3, -4], [4]), { relu: true });
    expect(Array.from(await y.toFloat32())).toEqual([1, 0, 3, 0, 1, 0, 3, 0, 1, 0, 3, 0]);
    expect(() => E.linear(E.zeros([3, 5]), E.zeros([4, 6]), null)).toThrow(
      /linear: expected x \[N, in\] and w \[out, in\] with the same in, got x \[3, 5\], w \[4, 6\]/,
    );
    expect(() => E.linear(E.zeros([3, 5]), E.zeros([4, 5]), E.zeros([5]))).toThrow(
      /linear: expected b \[4\], got x \[3, 5\], w \[4, 5\], b \[5\]/,
    );
    expect(() => E.linear(E.zeros([3, 5]), E.zeros([4, 5]), E.tensor([1, 2, 3, 4], [4], 'i32'))).toThrow(
      /linear: expected a float32 bias, got i32/,
    );
  });
});
