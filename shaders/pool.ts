// Pooling and resampling kernels on contiguous NCHW tensors (one invocation per element of
// the smaller side, so each reads or writes a 2x2 block / one r×r block position).
import { read, write, type KernelDecl } from './kernel.js';

/** Invocation i's 2x2 window: top-left input index k, input row length w_in. */
const WINDOW = `  let j = i % u.w_out;
  let r = i / u.w_out;
  let w_in = 2u * u.w_out;
  let k = 2u * r * w_in + 2u * j;`;

/** out[r, j] = s · (x[2r, 2j] + x[2r, 2j+1] + x[2r+1, 2j] + x[2r+1, 2j+1]), rows r over N·C·H/2. */
export const pool2x2Kernel = (): KernelDecl => ({
  params: 'n: u32, w_out: u32, s: f32',
  buffers: [read('x'), write('out')],
  guard: 'u.n',
  body: `${WINDOW}
  out[i] = u.s * ((x[k] + x[k + 1u]) + (x[k + w_in] + x[k + w_in + 1u]));`,
});

/**
 * 2x2 max pooling as a pair of adjoint linear maps given the window's argmax in x (the first
 * maximum in row order, as PyTorch): 'select' out[r, j] = v[argmax], 'scatter' puts g[r, j] at
 * the argmax and 0 elsewhere. One invocation per window.
 */
export const maxPoolKernel = (scatter: boolean): KernelDecl => ({
  params: 'n: u32, w_out: u32',
  buffers: [read('v'), read('x'), write('out')],
  guard: 'u.n',
  body: `${WINDOW}
  let ks = array<u32, 4>(k, k + 1u, k + w_in, k + w_in + 1u);
  var best = 0u;
  var m = x[k];
  for (var q = 1u; q < 4u; q++) {
    let xq = x[ks[q]];
    if (xq > m) { m = xq; best = q; }
  }
${
  scatter
    ? `  let g = v[i];
  for (var q = 0u; q < 4u; q++) { out[ks[q]] = select(0.0, g, q == best); }`
    : '  out[i] = v[ks[best]];'
}`,
});

/** Nearest 2x upsampling times s: each input element fills its 2x2 output block. */
export const upsample2xKernel = (): KernelDecl => ({
  params: 'n: u32, w_in: u32, s: f32',
  buffers: [read('x'), write('out')],
  guard: 'u.n',
  body: `
  let j = i % u.w_in;
  let r = i / u.w_in;
  let w_out = 2u * u.w_in;
  let k = 2u * r * w_out + 2u * j;
  let v = u.s * x[i];
  out[k] = v;
  out[k + 1u] = v;
  out[k + w_out] = v;
  out[k + w_out + 1u] = v;`,
});

/**
 * Depth-to-space / space-to-depth, one invocation per element of the depth layout
 * [N, C·r², H, W] <-> [N, C, H·r, W·r]. Mode 'CRD' (PyTorch pixel_shuffle): depth channel
 * c·r² + i·r + j; 'DCR' (TensorFlow/ONNX default): (i·r + j)·C + c.
 */
export function depthSpaceKernel(toSpace: boolean, mode: 'CRD' | 'DCR'): KernelDecl {
  const chan = mode === 'CRD' ? 'let c = ch / rr; let ij = ch % rr;' : 'let ij = ch / u.c_out; let c = ch % u.c_out;';
  return {
    params: 'n: u32, c_out: u32, h: u32, w: u32, r: u32',
    buffers: [read('src'), write('dst')],
    guard: 'u.n',
    body: `
  let rr = u.r * u.r;
  let x = i % u.w;
  let t = i / u.w;
  let y = t % u.h;
  let t2 = t / u.h;
  let ch = t2 % (u.c_out * rr);
  let nb = t2 / (u.c_out * rr);
  ${chan}
  let di = ij / u.r;
  let dj = ij % u.r;
  let s = ((nb * u.c_out + c) * u.h * u.r + y * u.r + di) * u.w * u.r + x * u.r + dj;
  ${toSpace ? 'dst[s] = src[i];' : 'dst[i] = src[s];'}`,
  };
}
