// One generator for every elementwise kernel: up to three f32 inputs read through
// arbitrary strides (broadcast, permute, slice), two scalar parameters, one contiguous output.
import { dimAt, flatIndex, mainSignature } from './common.js';

const NAMES = ['a', 'b', 'c'];

// WGSL's pow is undefined for a negative base; integer exponents follow the usual sign rule.
const POW = `fn pow_s(x: f32, p: f32) -> f32 {
  if (p == 0.0) { return 1.0; }
  if (x >= 0.0 || p != floor(p)) { return pow(x, p); }
  let m = pow(-x, p);
  return select(m, -m, (i32(p) & 1) == 1);
}`;

/**
 * `expr` is a WGSL f32 expression in a, b, c (the inputs) and p0, p1 (scalars).
 * `strided`: inputs are indexed through shape/strides; otherwise every input is contiguous
 * and has the output's shape (the fast path).
 */
export function elementwiseWGSL(expr: string, arity: number, strided: boolean): string {
  const inputs = NAMES.slice(0, arity);
  const decls = inputs
    .map((n, k) => `@group(0) @binding(${k + 1}) var<storage, read> in_${n}: array<f32>;`)
    .join('\n');
  const index = strided
    ? `  var rem = i;
${inputs.map((n) => `  var i_${n} = u.offsets[${NAMES.indexOf(n)}];`).join('\n')}
  for (var d = u.rank; d > 0u; d--) {
    let s = ${dimAt('u.shape', 'd - 1u')};
    let coord = rem % s;
    rem = rem / s;
${inputs.map((n, k) => `    i_${n} += coord * ${dimAt(`u.strides${k}`, 'd - 1u')};`).join('\n')}
  }`
    : inputs.map((n) => `  let i_${n} = i;`).join('\n');
  return `struct Params {
  shape: array<vec4<u32>, 2>,
  strides0: array<vec4<u32>, 2>,
  strides1: array<vec4<u32>, 2>,
  strides2: array<vec4<u32>, 2>,
  offsets: vec4<u32>,
  n: u32,
  rank: u32,
  p0: f32,
  p1: f32,
}
@group(0) @binding(0) var<uniform> u: Params;
${decls}
${POW}
@group(0) @binding(${arity + 1}) var<storage, read_write> out: array<f32>;

${mainSignature()} {
  ${flatIndex()}
  if (i >= u.n) { return; }
  let p0 = u.p0;
  let p1 = u.p1;
${index}
${inputs.map((n) => `  let ${n} = in_${n}[i_${n}];`).join('\n')}
  out[i] = ${expr};
}
`;
}
