// Block copies for concat and the adjoint of slice.
import { read, write, type KernelDecl } from './kernel.js';

/** dst[o, off + r, j] = src[o, r, j], flattened as blocks: src block = srcAxis·inner. */
export const copyIntoKernel = (): KernelDecl => ({
  params: 'n: u32, src_block: u32, dst_block: u32, dst_off: u32',
  buffers: [read('src'), write('dst')],
  guard: 'u.n',
  body: `
  let o = i / u.src_block;
  dst[o * u.dst_block + u.dst_off + i % u.src_block] = src[i];`,
});

/** out[o, k, j] = g[o, (k - start) / step, j] where that lands on the slice, else 0. */
export const slicePadKernel = (): KernelDecl => ({
  params: 'n: u32, inner: u32, axis_len: u32, len: u32, start: u32, step: u32',
  buffers: [read('g'), write('out')],
  guard: 'u.n',
  body: `
  let j = i % u.inner;
  let k = (i / u.inner) % u.axis_len;
  let o = i / (u.inner * u.axis_len);
  var v = 0.0;
  if (k >= u.start) {
    let t = k - u.start;
    if (t % u.step == 0u && t / u.step < u.len) {
      v = g[(o * u.len + t / u.step) * u.inner + j];
    }
  }
  out[i] = v;`,
});
