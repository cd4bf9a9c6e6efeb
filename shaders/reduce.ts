// Reduction over the middle axis of a contiguous [outer, R, inner] tensor, in chunks:
// out[o, c, j] = op over r in chunk c of in[o, r, j]. A long reduction runs as several passes,
// so that a single sum of a large tensor still spreads over many invocations.
import { flatIndex, mainSignature } from './common.js';

export type ReduceOp = 'sum' | 'max';

export function reduceWGSL(op: ReduceOp): string {
  const init = op === 'sum' ? '0.0' : '-3.4028234e38';
  const step = op === 'sum' ? 'acc = acc + x;' : 'acc = max(acc, x);';
  return `struct Params { outer: u32, r: u32, inner: u32, chunk: u32, chunks: u32, n: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

${mainSignature()} {
  ${flatIndex()}
  if (i >= u.n) { return; }
  let j = i % u.inner;
  let c = (i / u.inner) % u.chunks;
  let o = i / (u.inner * u.chunks);
  let r0 = c * u.chunk;
  let r1 = min(r0 + u.chunk, u.r);
  var acc = ${init};
  var k = (o * u.r + r0) * u.inner + j;
  for (var r = r0; r < r1; r++) {
    let x = src[k];
    ${step}
    k += u.inner;
  }
  out[i] = acc;
}
`;
}
