// Compiles and validates every kernel variant on Dawn's null backend (no execution): a fast
// check that each WGSL variant is valid under the default WebGPU limits, independent of the
// adapter the other tests run on.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import * as E from '../../../engine/index.js';
import { matmulRegisterKernel } from '../../../shaders/matmul.js';
import { bgemmSubgroupKernel } from '../../../shaders/conv.js';
import { read } from '../../../shaders/kernel.js';
import { exerciseOps } from '../../../bench/conformance/exercise.js';

beforeAll(async () => {
  process.env.ALR_BACKEND = 'null';
  await E.initDevice();
});
afterAll(async () => {
  await E.releaseDevice();
  delete process.env.ALR_BACKEND;
});

describe('kernel validation on the null backend', () => {
  it('the null backend does reject invalid WGSL (so the checks below can fail)', async () => {
    await expect(
      E.checkKernel({
        name: 'test.invalid',
        key: 'test.invalid',
        bindings: ['write'],
        uniforms: false,
        wgsl: () =>
          '@group(0) @binding(1) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1) fn main() { o[0] = nope; }',
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
  // layout of it directly (sizes 8 as on lavapipe, 4 as on SwiftShader with its 16 columns per
  // lane, and 32 as on many GPUs)
  it('every layout of the subgroup matmul and Winograd GEMM validates', async () => {
    const checks: Promise<void>[] = [];
    for (let flags = 0; flags < 32; flags++) {
      const [transA, transB, vecA, vecB, vecOut] = [0, 1, 2, 3, 4].map((b) => ((flags >> b) & 1) === 1);
      for (const [tm, tn, sg] of [
        [32, 4, 8],
        [8, 4, 8],
        [32, 16, 4],
        [32, 4, 32],
      ]) {
        const l = { transA, transB, vecA, vecB, vecOut };
        const key = `test.matmul.subgroup:${flags}:${tm}x${tn}:${sg}`;
        checks.push(E.checkKernel(E.kernel(key, key, () => matmulRegisterKernel(l, { tm, tn, wx: sg, wy: 1, sg }))));
        if (!vecB) continue;
        // B as a uniform array of 4096 vec4s (64 KiB, the largest binding WebGPU guarantees)
        const ukey = `${key}:uniformB`;
        checks.push(
          E.checkKernel(
            E.kernel(ukey, ukey, () => matmulRegisterKernel({ ...l, uniformB: 4096 }, { tm, tn, wx: sg, wy: 1, sg })),
          ),
        );
      }
    }
    // the linear epilogue (bias, relu) on both output layouts
    for (const vecOut of [true, false]) {
      const l = { transA: false, transB: true, vecA: true, vecB: true, vecOut, bias: true, relu: true };
      const key = `test.matmul.subgroup.epilogue:${+vecOut}`;
      checks.push(
        E.checkKernel(E.kernel(key, key, () => matmulRegisterKernel(l, { tm: 32, tn: 4, wx: 8, wy: 1, sg: 8 }))),
      );
    }
    for (const [bo, sg] of [
      [32, 8],
      [16, 8],
      [8, 8],
      [32, 32],
    ]) {
      const key = `test.bgemm.subgroup:${bo}:${sg}`;
      checks.push(E.checkKernel(E.kernel(key, key, () => bgemmSubgroupKernel({ bo, bp: 4 }, sg))));
    }
    await Promise.all(checks);
  });

  it('a GEMM with fused stores validates and writes its block in one loop, not one inlined map per output', async () => {
    // inlined per output, a 32 x 8 block's maps took LLVM 45 s to compile on lavapipe
    const store = { code: 'fn store(acc: f32, e: u32) -> f32 { return acc + X[e]; }', buffers: [read('X')] };
    const checks: Promise<void>[] = [];
    for (const vecOut of [true, false]) {
      const l = { transA: true, transB: false, vecA: true, vecB: true, vecOut, bias: true, relu: true, store };
      const decl = matmulRegisterKernel(l, { tm: 32, tn: 8, wx: 8, wy: 1, sg: 8 });
      expect(decl.body).toContain('for (var i = 0u; i < rows; i++)');
      // one map call per column group (vec4 stores) or per column (scalar stores), not per row
      expect(decl.body.match(vecOut ? /store4\(/g : /store\(/g)?.length).toBe(vecOut ? 2 : 8);
      const key = `test.matmul.subgroup.store:${+vecOut}`;
      checks.push(E.checkKernel(E.kernel(key, key, () => decl)));
    }
    await Promise.all(checks);
  });
});
