// Philox-4x32-10 (Salmon et al., SC'11): a counter-based generator, so element i of a draw
// depends only on (seed, counter + i / 4). Each invocation produces 4 values.
import { write, type KernelDecl } from './kernel.js';

export type Distribution = 'uniform' | 'normal';

const PHILOX = `fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  // 32x32 -> 64-bit product from 16-bit halves (WGSL has no mulhi)
  let a0 = a & 0xffffu; let a1 = a >> 16u;
  let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
  return vec2<u32>(hi, a * b);
}
fn philox(counter: vec4<u32>, key0: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key0;
  for (var r = 0; r < 10; r++) {
    let m0 = mulhilo(0xD2511F53u, c.x);
    let m1 = mulhilo(0xCD9E8D57u, c.z);
    c = vec4<u32>(m1.x ^ c.y ^ k.x, m1.y, m0.x ^ c.w ^ k.y, m0.y);
    k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}
// 24 random bits -> [0, 1)
fn unit(x: u32) -> f32 { return f32(x >> 8u) * (1.0 / 16777216.0); }`;

export function randomKernel(dist: Distribution): KernelDecl {
  const body =
    dist === 'uniform'
      ? `let v = vec4<f32>(unit(r.x), unit(r.y), unit(r.z), unit(r.w)) * (u.p1 - u.p0) + u.p0;`
      : `// Box-Muller on two pairs; 1 - unit() is in (0, 1], so the log is finite
  let r1 = sqrt(-2.0 * log(1.0 - unit(r.x)));
  let t1 = 6.283185307179586 * unit(r.y);
  let r2 = sqrt(-2.0 * log(1.0 - unit(r.z)));
  let t2 = 6.283185307179586 * unit(r.w);
  let v = vec4<f32>(r1 * cos(t1), r1 * sin(t1), r2 * cos(t2), r2 * sin(t2)) * u.p1 + u.p0;`;
  return {
    params: 'key: vec2<u32>, counter: vec2<u32>, n: u32, p0: f32, p1: f32',
    buffers: [write('out')],
    prelude: PHILOX,
    // four values per invocation
    guard: '(u.n + 3u) / 4u',
    body: `
  // 64-bit block counter: counter + i, with carry into the high word
  let lo = u.counter.x + i;
  let hi = u.counter.y + select(0u, 1u, lo < i);
  let r = philox(vec4<u32>(lo, hi, 0u, 0u), u.key);
  ${body}
  for (var j = 0u; j < 4u; j++) {
    if (4u * i + j < u.n) { out[4u * i + j] = v[j]; }
  }`,
  };
}
