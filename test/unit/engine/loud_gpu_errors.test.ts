import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { dispatch, Params, type Kernel } from '../../../engine/runtime.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

const broken: Kernel = {
  name: 'test.broken',
  key: 'test.broken',
  bindings: ['write'],
  uniforms: false,
  wgsl: () => `@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  out[gid.x] = undefined_thing;
}`,
};

describe('loud failures', () => {
  it('a WGSL compile error names the kernel, the line and the source', async () => {
    await expect(E.checkKernel(broken)).rejects.toThrow(
      /kernel 'test\.broken'.*failed to compile[\s\S]*line 4[\s\S]*undefined_thing/,
    );
  });

  it('a dispatch of a broken kernel fails at the next readback instead of returning zeros', async () => {
    const t = E.zeros([64]);
    dispatch({ ...broken, key: 'test.broken2' }, [t.binding('test')], null, [1]);
    await expect(t.toArray()).rejects.toThrow(/test\.broken/);
  });

  it('uniform size and buffer count are checked', () => {
    const k: Kernel = { ...broken, key: 'x', uniforms: true };
    expect(() => dispatch(k, [], new Params(), [1])).toThrow(/takes 1 buffers, got 0/);
  });

  it('item() on a non-scalar names the shape', async () => {
    await expect(E.ones([2, 2]).item()).rejects.toThrow(/item: expected one element, tensor has shape \[2, 2\]/);
  });

  it('tensor() checks that the data fills the shape', () => {
    expect(() => E.tensor([1, 2, 3], [2, 2])).toThrow(/tensor: 3 values do not fill shape \[2, 2\]/);
  });

  it('tidy rejects async functions', () => {
    expect(() => E.tidy((async () => 1) as () => unknown)).toThrow(/synchronous/);
  });
});
