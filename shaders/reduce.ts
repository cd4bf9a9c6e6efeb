// Reduction over the middle axis of a contiguous [outer, R, inner] tensor, in chunks:
// out[o, c, j] = op over r in chunk c of in[o, r, j]. A long reduction runs as several passes,
// so that a single sum of a large tensor still spreads over many invocations.
import { read, write, type KernelDecl } from './kernel.js';

export type ReduceOp = 'sum' | 'max';

/**
 * `vec4`: inner is a multiple of 4 and each invocation reduces four neighbouring j as one vec4
 * (a quarter of the loads, same order of operations per output, so the same bits); workgroups
 * of 64 keep a small reduction spread over the CPU adapter's threads.
 */
export function reduceKernel(op: ReduceOp, vec4 = false): KernelDecl {
  const T = vec4 ? 'vec4<f32>' : 'f32';
  const init = `${T}(${op === 'sum' ? '0.0' : '-3.4028234e38'})`;
  const step = op === 'sum' ? 'acc = acc + x;' : 'acc = max(acc, x);';
  const w = vec4 ? 4 : 1;
  return {
    params: 'outer: u32, r: u32, inner: u32, chunk: u32, chunks: u32, n: u32',
    buffers: [read('src', T), write('out', T)],
    workgroup: vec4 ? 64 : undefined,
    guard: `u.n / ${w}u`,
    body: `
  let inner = u.inner / ${w}u;
  let j = i % inner;
  let c = (i / inner) % u.chunks;
  let o = i / (inner * u.chunks);
  let r0 = c * u.chunk;
  let r1 = min(r0 + u.chunk, u.r);
  var acc = ${init};
  var k = (o * u.r + r0) * inner + j;
  for (var r = r0; r < r1; r++) {
    let x = src[k];
    ${step}
    k += inner;
  }
  out[i] = acc;`,
  };
}
