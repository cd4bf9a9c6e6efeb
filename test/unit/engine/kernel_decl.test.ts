// Kernels declared once (shaders/kernel.ts): the generated header, and a user's own kernel
// launched through the same path as the engine's.
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

const scaleShift = (): E.KernelDecl => ({
  params: 'n: u32, a: f32, b: f32',
  buffers: [E.read('x'), E.write('y')],
  guard: 'u.n',
  body: 'y[i] = u.a * x[i] + u.b;',
});

describe('kernel declarations', () => {
  it('generate the uniform block, the bindings in order, the entry point and the guard', () => {
    const code = E.kernelWGSL({
      ...scaleShift(),
      buffers: [E.read('x'), E.read('idx', 'u32'), E.write('y', 'vec4<f32>')],
      workgroup: 64,
    });
    const lines = code.split('\n');
    expect(lines).toContain('@group(0) @binding(0) var<uniform> u: Params;');
    expect(lines.indexOf('@group(0) @binding(1) var<storage, read> x: array<f32>;')).toBeGreaterThan(0);
    expect(lines).toContain('@group(0) @binding(2) var<storage, read> idx: array<u32>;');
    expect(lines).toContain('@group(0) @binding(3) var<storage, read_write> y: array<vec4<f32>>;');
    expect(code).toContain('@compute @workgroup_size(64)');
    expect(code).toContain('let i = gid.x + gid.y * nwg.x * 64u;');
    expect(code).toContain('if (i >= u.n) { return; }');
  });

  it('derive the bind-group layout from the same list, so a wrong buffer count is an error', () => {
    const k = E.kernel('test.scaleShift', 'test.scaleShift', scaleShift);
    expect(k.bindings).toEqual(['read', 'write']);
    expect(k.uniforms).toBe(true);
    const x = E.tensor([1, 2, 3], [3]);
    expect(() => E.dispatch(k, [x.binding('test')], new E.Params().u32(3).f32(2, 1), [1, 1, 1])).toThrow(
      /takes 2 buffers, got 1/,
    );
    x.dispose();
  });

  it('one (name, key) pair is declared once and shares its object', () => {
    let calls = 0;
    const declare = () => (calls++, scaleShift());
    const a = E.kernel('test.once', 'test.once', declare);
    const b = E.kernel('test.once', 'test.once', declare);
    expect(a).toBe(b);
    expect(calls).toBe(1);
  });

  it("run a user's kernel through dispatch, with autograd recorded by E.record", async () => {
    const k = E.kernel('test.scaleShift', 'test.scaleShift', scaleShift);
    const x = E.requireGrad(E.tensor([1, -2, 3, 0.5], [4]));
    const y = E.Tensor.empty([4]);
    E.dispatch(k, [x.binding('scaleShift'), y.binding('scaleShift')], new E.Params().u32(4).f32(3, 0.25), [1, 1, 1]);
    const out = E.record(y, 'scaleShift', [x], (g) => [E.mul(g, 3)]);
    expect(Array.from(await out.toFloat32())).toEqual([3.25, -5.75, 9.25, 1.75]);
    const [gx] = E.grad(E.sum(out), [x]);
    expect(Array.from(await gx.toFloat32())).toEqual([3, 3, 3, 3]);
    E.dispose([x, y, out, gx]);
  });
});
