// Reduction over the middle axis of a contiguous [outer, R, inner] tensor, in chunks:
// out[o, c, j] = op over r in chunk c of in[o, r, j]. A long reduction runs as several passes,
// so that a single sum of a large tensor still spreads over many invocations; a short one folds
// its second pass into the first ('twoLevel': each invocation reduces its chunks, then combines
// them in chunk order, exactly as the second pass would).
import { read, write, type BufferDecl, type KernelDecl } from './kernel.js';

export type ReduceOp = 'sum' | 'max';

/** Fused work around a reduction (see shaders/fused.ts): the loaded values and the stored ones. */
export interface ReduceHooks {
  /** WGSL functions defining `load(e: u32) -> f32` (the source's element e) and their buffers, which replace `src` */
  prologue?: { code: string; buffers: BufferDecl[] };
  /** WGSL functions defining `store(acc: f32, e: u32) -> f32` (what out[e] gets) and their buffers */
  epilogue?: { code: string; buffers: BufferDecl[] };
}

/**
 * `vec4`: inner is a multiple of 4 and each invocation reduces four neighbouring j as one vec4
 * (a quarter of the loads, same order of operations per output, so the same bits); workgroups
 * of 64 keep a small reduction spread over the CPU adapter's threads.
 */
export function reduceKernel(op: ReduceOp, vec4 = false, twoLevel = false, hooks: ReduceHooks = {}): KernelDecl {
  const T = vec4 ? 'vec4<f32>' : 'f32';
  const init = `${T}(${op === 'sum' ? '0.0' : '-3.4028234e38'})`;
  const combine = (acc: string, x: string) =>
    op === 'sum' ? `${acc} = ${acc} + ${x};` : `${acc} = max(${acc}, ${x});`;
  const w = vec4 ? 4 : 1;
  const { prologue, epilogue } = hooks;
  // element k (in units of T) of the source
  const load = !prologue
    ? 'src[k]'
    : vec4
      ? 'vec4<f32>(load(4u * k), load(4u * k + 1u), load(4u * k + 2u), load(4u * k + 3u))'
      : 'load(k)';
  const store = (v: string) => {
    if (!epilogue) return `out[i] = ${v};`;
    return vec4
      ? `out[i] = vec4<f32>(${[0, 1, 2, 3].map((t) => `store(${v}.${'xyzw'[t]}, 4u * i + ${t}u)`).join(', ')});`
      : `out[i] = store(${v}, i);`;
  };
  const chunkLoop = (acc: string) => `
    var ${acc} = ${init};
    var k = (o * u.r + r0) * inner + j;
    for (var r = r0; r < r1; r++) {
      let x = ${load};
      ${combine(acc, 'x')}
      k += inner;
    }`;
  const body = twoLevel
    ? `
  let inner = u.inner / ${w}u;
  let j = i % inner;
  let o = i / inner;
  var total = ${init};
  for (var c = 0u; c < u.chunks; c++) {
    let r0 = c * u.chunk;
    let r1 = min(r0 + u.chunk, u.r);${chunkLoop('acc')}
    ${combine('total', 'acc')}
  }
  ${store('total')}`
    : `
  let inner = u.inner / ${w}u;
  let j = i % inner;
  let c = (i / inner) % u.chunks;
  let o = i / (inner * u.chunks);
  let r0 = c * u.chunk;
  let r1 = min(r0 + u.chunk, u.r);${chunkLoop('acc')}
  ${store('acc')}`;
  return {
    params: 'outer: u32, r: u32, inner: u32, chunk: u32, chunks: u32, n: u32, fence: u32',
    buffers: [...(prologue ? prologue.buffers : [read('src', T)]), write('out', T), ...(epilogue?.buffers ?? [])],
    workgroup: vec4 ? 64 : undefined,
    prelude: [prologue?.code, epilogue?.code].filter(Boolean).join('\n'),
    guard: `u.n / ${w}u`,
    body,
  };
}
