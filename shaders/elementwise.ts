// One generator for every elementwise kernel: up to three f32 inputs read through strides
// (broadcast, permute, slice), two scalar parameters, one contiguous output.
// Each invocation writes PER_THREAD consecutive outputs: on CPU adapters (lavapipe) the cost per
// invocation dominates small kernels, and on GPUs four outputs per thread is still cheap.
import { read, write, type KernelDecl } from './kernel.js';

const NAMES = ['a', 'b', 'c'];
export const PER_THREAD = 4;

// WGSL's pow is undefined for a negative base; integer exponents follow the usual sign rule.
export const POW_S = `fn pow_s(x: f32, p: f32) -> f32 {
  if (p == 0.0) { return 1.0; }
  if (x >= 0.0 || p != floor(p)) { return pow(x, p); }
  let m = pow(-x, p);
  return select(m, -m, (i32(p) & 1) == 1);
}`;

const field = (name: string, d: number) => `u.${name}[${d >> 2}].${'xyzw'[d & 3]}`;

const STRIDED_PARAMS = `shape: array<vec4<u32>, 2>,
  strides0: array<vec4<u32>, 2>,
  strides1: array<vec4<u32>, 2>,
  strides2: array<vec4<u32>, 2>,
  offsets: vec4<u32>,
  n: u32,
  p0: f32,
  p1: f32,`;

/** The scalar expression as a function of the inputs' values and the two scalars. */
const opFn = (expr: string, inputs: string[]) =>
  `fn op(${[...inputs.map((n) => `${n}: f32`), 'p0: f32', 'p1: f32'].join(', ')}) -> f32 { return ${expr}; }`;

/** vec4 of op over the components of the vec4s v_a, v_b, v_c. */
const opVec4 = (inputs: string[]) =>
  `vec4<f32>(${['x', 'y', 'z', 'w'].map((c) => `op(${[...inputs.map((n) => `v_${n}.${c}`), 'p0', 'p1'].join(', ')})`).join(', ')})`;

/** Flat element index e -> each input's element index i_{name}, through `rank` collapsed dims. */
function stridedIndex(inputs: string[], rank: number, indent: string): string {
  const lines: string[] = [];
  inputs.forEach((n, k) => lines.push(`var i_${n} = u.offsets.${'xyz'[k]};`));
  if (rank === 1) {
    inputs.forEach((n, k) => lines.push(`i_${n} += e * ${field(`strides${k}`, 0)};`));
  } else {
    lines.push('var rem = e;');
    for (let d = rank - 1; d >= 0; d--) {
      if (d > 0) lines.push(`let c${d} = rem % ${field('shape', d)};`, `rem = rem / ${field('shape', d)};`);
      else lines.push(`let c0 = rem;`);
      inputs.forEach((n, k) => lines.push(`i_${n} += c${d} * ${field(`strides${k}`, d)};`));
    }
  }
  return lines.map((l) => indent + l).join('\n');
}

/**
 * Four elements along the innermost collapsed dim (a multiple of 4) per invocation, written as
 * one vec4: the index arithmetic (an integer division and remainder per dim) runs once per four
 * elements, and input k is read as one vec4 when `vecIn[k]` (innermost stride 1, 16-byte
 * aligned), else as four strided scalars. A software GPU pays per load, not per byte, so this
 * is also the contiguous fast path (rank 1, every input a vec4; a length that is not a multiple
 * of 4 is padded and the padding lanes compute junk that nothing reads).
 */
function elementwiseInner4(expr: string, arity: number, rank: number, vecIn: boolean[]): KernelDecl {
  const inputs = NAMES.slice(0, arity);
  const load = (n: string, k: number) => {
    if (vecIn[k]) return `  let v_${n} = in_${n}[i_${n} / 4u];`;
    const s = field(`strides${k}`, rank - 1);
    return `  let v_${n} = vec4<f32>(in_${n}[i_${n}], in_${n}[i_${n} + ${s}], in_${n}[i_${n} + 2u * ${s}], in_${n}[i_${n} + 3u * ${s}]);`;
  };
  return {
    params: STRIDED_PARAMS,
    buffers: [...inputs.map((n, k) => read(`in_${n}`, vecIn[k] ? 'vec4<f32>' : 'f32')), write('out', 'vec4<f32>')],
    prelude: `${POW_S}\n${opFn(expr, inputs)}`,
    guard: '(u.n + 3u) / 4u',
    body: `
  let e = i * 4u;
  let p0 = u.p0;
  let p1 = u.p1;
${stridedIndex(inputs, rank, '  ')}
${inputs.map(load).join('\n')}
  out[i] = ${opVec4(inputs)};`,
  };
}

export type ElementwiseLayout = { kind: 'inner4'; rank: number; vecIn: boolean[] } | { kind: 'scalar'; rank: number };

/**
 * `expr` is a WGSL f32 expression in a, b, c (the inputs) and p0, p1 (scalars). Layouts: 'inner4'
 * (see elementwiseInner4), 'scalar' (inputs read through `rank` >= 1 collapsed dims of
 * shape/strides, index math unrolled at compile time).
 */
export function elementwiseKernel(expr: string, arity: number, layout: ElementwiseLayout): KernelDecl {
  if (layout.kind === 'inner4') return elementwiseInner4(expr, arity, layout.rank, layout.vecIn);
  const rank = layout.rank;
  const inputs = NAMES.slice(0, arity);
  const index = stridedIndex(inputs, rank, '    ');
  return {
    params: STRIDED_PARAMS,
    buffers: [...inputs.map((n) => read(`in_${n}`)), write('out')],
    prelude: POW_S,
    guard: `(u.n + ${PER_THREAD - 1}u) / ${PER_THREAD}u`,
    body: `
  let p0 = u.p0;
  let p1 = u.p1;
  for (var k = 0u; k < ${PER_THREAD}u; k++) {
    let e = i * ${PER_THREAD}u + k;
    if (e >= u.n) { return; }
${index}
${inputs.map((n) => `    let ${n} = in_${n}[i_${n}];`).join('\n')}
    out[e] = ${expr};
  }`,
  };
}
