// Compiles and validates every kernel variant on Dawn's null backend (no execution): a fast
// check that each WGSL variant is valid under the default WebGPU limits, independent of the
// adapter the other tests run on.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import * as E from '../engine/index.js';
import { Adam, SGD } from '../engine/optim.js';
import { matmulRegisterWGSL } from '../shaders/matmul.js';
import { bgemmSubgroupWGSL } from '../shaders/conv.js';

beforeAll(async () => {
  process.env.ALR_BACKEND = 'null';
  await E.initDevice();
});
afterAll(async () => {
  await E.releaseDevice();
  delete process.env.ALR_BACKEND;
});

function exerciseOps(): void {
  E.tidy(() => {
    const x = E.requireGrad(E.randNormal([2, 3, 9, 7]));
    const w = E.requireGrad(E.randNormal([5, 3, 3, 3]));
    const b = E.requireGrad(E.zeros([5]));
    const y = E.conv2d(x, w, b, { stride: 2, padding: 1 });
    const y1 = E.conv2d(x, E.randNormal([4, 3, 1, 1]), null, {});
    // >= 8 channels, 3x3, stride 1: the Winograd paths (F(2x2) small, F(4x4) large)
    const xw = E.requireGrad(E.randNormal([2, 8, 10, 10]));
    const ww = E.requireGrad(E.randNormal([8, 8, 3, 3]));
    const wino = E.conv2d(xw, ww, null, { padding: 1 });
    const xl = E.randNormal([4, 64, 32, 32]);
    const bigConv = E.conv2d(xl, E.randNormal([64, 64, 3, 3]), null, { padding: 1 });
    const bigGrads = [E.conv2dInputGrad(bigConv, E.randNormal([64, 64, 3, 3]), xl.shape, { padding: 1 }), E.conv2dWeightGrad(xl, bigConv, [64, 64, 3, 3], { padding: 1 })];
    const m = E.matmul(E.randNormal([3, 17, 9]), E.randNormal([9, 5]));
    const mt = E.matmul(E.randNormal([9, 17]), E.randNormal([5, 9]), { transA: true, transB: true });
    const big = E.matmul(E.randNormal([64, 64]), E.randNormal([64, 64]));
    const bn = E.batchNorm(y, null, null, E.zeros([5]), E.ones([5]), { training: true });
    const ln = E.layerNorm(y, [1, 2, 3], null, null);
    const pooled = E.avgPool2x2(E.upsampleNearest2x(y1));
    const loss = E.add(
      E.add(E.sum(E.square(bn)), E.sum(E.tanh(ln))),
      E.add(E.add(E.sum(m), E.sum(mt)), E.add(E.sum(big), E.mean(E.softmax(pooled, 1)))),
    );
    const [gx, gw] = E.grad(loss, [x, w], { createGraph: true });
    E.grad(E.add(E.sum(E.square(gx)), E.sum(gw)), [x, w, b]);
    E.grad(E.sum(E.square(wino)), [xw, ww]);
    void bigGrads;
    // linear's epilogue: vec4 and scalar outputs, with and without relu
    void [E.linear(E.randNormal([5, 6]), E.randNormal([8, 6]), E.randNormal([8]), { relu: true }), E.linear(E.randNormal([5, 6]), E.randNormal([7, 6]), E.randNormal([7]))];
    const several = [w, b, E.randNormal([7]), E.randNormal([64]), E.randNormal([3, 5]), E.randNormal([9])];
    new Adam(several).step(several.map((t) => E.onesLike(t))); // several tensors per dispatch
    // elementwise layouts: vec4, four along the innermost dim (vec4 and strided loads), scalar
    void [E.add(E.randNormal([3, 8]), E.randNormal([8])), E.mul(E.transpose(E.randNormal([8, 4])), E.randNormal([4, 8])), E.sub(E.randNormal([3, 6]), E.randNormal([6]))];
    new SGD([b], { momentum: 0.9 }).step([E.onesLike(b)]);
  });
}

describe('kernel validation on the null backend', () => {
  it('the null backend does reject invalid WGSL (so the checks below can fail)', async () => {
    await expect(
      E.checkKernel({
        name: 'test.invalid',
        key: 'test.invalid',
        bindings: ['write'],
        uniforms: false,
        wgsl: () => '@group(0) @binding(1) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1) fn main() { o[0] = nope; }',
      }),
    ).rejects.toThrow(/test\.invalid/);
  });

  for (const variant of ['register', 'tiled']) {
    it(`every kernel compiles and validates with ALR_VARIANT=${variant}`, async () => {
      process.env.ALR_VARIANT = variant;
      try {
        const before = E.counters.compiles;
        exerciseOps();
        await E.sync(); // raises any WGSL or pipeline validation error, naming the kernel
        expect(E.counters.compiles).toBeGreaterThan(before);
      } finally {
        delete process.env.ALR_VARIANT;
      }
    });
  }

  // the null device reports no subgroup size, so the ops never pick 'subgroup' here: check every
  // layout of it directly (sizes 8 as on lavapipe and 32 as on many GPUs)
  it('every layout of the subgroup matmul and Winograd GEMM validates', async () => {
    const checks: Promise<void>[] = [];
    for (let flags = 0; flags < 32; flags++) {
      const [transA, transB, vecA, vecB, vecOut] = [0, 1, 2, 3, 4].map((b) => ((flags >> b) & 1) === 1);
      for (const [tm, sg] of [[32, 8], [8, 8], [32, 32]]) {
        const l = { transA, transB, vecA, vecB, vecOut };
        const key = `test.matmul.subgroup:${flags}:${tm}:${sg}`;
        checks.push(E.checkKernel({ name: key, key, bindings: ['read', 'read', 'write'], uniforms: true, wgsl: () => matmulRegisterWGSL(l, { tm, tn: 4, wx: sg, wy: 1, sg }) }));
      }
    }
    // the linear epilogue (bias, relu) on both output layouts
    for (const vecOut of [true, false]) {
      const l = { transA: false, transB: true, vecA: true, vecB: true, vecOut, bias: true, relu: true };
      const key = `test.matmul.subgroup.epilogue:${+vecOut}`;
      checks.push(E.checkKernel({ name: key, key, bindings: ['read', 'read', 'write', 'read'], uniforms: true, wgsl: () => matmulRegisterWGSL(l, { tm: 32, tn: 4, wx: 8, wy: 1, sg: 8 }) }));
    }
    for (const [bo, sg] of [[32, 8], [16, 8], [8, 8], [32, 32]]) {
      const key = `test.bgemm.subgroup:${bo}:${sg}`;
      checks.push(E.checkKernel({ name: key, key, bindings: ['read', 'read', 'write'], uniforms: true, wgsl: () => bgemmSubgroupWGSL({ bo, bp: 4 }, sg) }));
    }
    await Promise.all(checks);
  });
});
