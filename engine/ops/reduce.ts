// Reductions: sum and max over axes (the primitives), and sumTo, the broadcast gradient's
// inverse. The ops composed from them (mean, softmax, ...) are in composite.ts, one layer up.
import { noGrad, record } from '../autograd.js';
import { numel, Tensor, type Shape } from '../tensor.js';
import { dispatch, kernel, Params } from '../runtime.js';
import { normAxes, sameShape } from '../shape_util.js';
import { reduceKernel, type ReduceOp } from '../../shaders/reduce.js';
import { isCpuAdapter } from '../tune.js';
import { capturing } from '../capture.js';
import { checkF32, groups1d } from './map.js';
import { expand, reshape, detach } from './shape.js';
import { div, ge, mul } from './elementwise.js';

/** What a reduction dispatch computes, recorded so the fusion pass can merge it with maps. */
export interface ReduceInfo {
  op: ReduceOp;
  outer: number;
  r: number;
  inner: number;
  chunk: number;
  chunks: number;
  twoLevel: boolean;
  vec4: boolean;
  src: GPUBuffer;
  out: GPUBuffer;
}

/** Source elements up to which a chunked reduction folds its second pass into its first. */
const twoLevelLimit = () => (isCpuAdapter() ? 2 ** 18 : 2 ** 14);

/** Reduces the middle axis of x viewed as [outer, r, inner]; long reductions take several passes. */
function reduceMiddle(op: ReduceOp, x: Tensor, outer: number, r: number, inner: number): Tensor {
  let src = x;
  let len = r;
  for (;;) {
    const nOut = outer * inner;
    const chunks = len <= 64 || nOut >= 4096 ? 1 : Math.min(Math.ceil(len / 64), Math.ceil(8192 / nOut));
    const chunk = Math.ceil(len / chunks);
    // a short reduction runs both passes in one dispatch (the same order of operations)
    const twoLevel = chunks > 1 && chunks <= 64 && outer * len * inner <= twoLevelLimit();
    const out = Tensor.empty([outer * (twoLevel ? 1 : chunks) * inner]);
    const p = new Params().u32(outer, len, inner, chunk, chunks, out.size, 0);
    const vec4 = inner % 4 === 0;
    const bindings = [src.binding(`reduce.${op}`), out.binding(`reduce.${op}`)];
    const k = kernel(`reduce.${op}`, `reduce.${op}${vec4 ? '.vec4' : ''}${twoLevel ? '.2' : ''}`, () =>
      reduceKernel(op, vec4, twoLevel),
    );
    const info: ReduceInfo = {
      op,
      outer,
      r: len,
      inner,
      chunk,
      chunks,
      twoLevel,
      vec4,
      src: bindings[0].buffer,
      out: bindings[1].buffer,
    };
    dispatch(
      k,
      bindings,
      p,
      vec4 ? groups1d(out.size / 4, 64) : groups1d(out.size),
      undefined,
      capturing() ? { reduce: info } : undefined,
    );
    if (src !== x) src.dispose();
    src = out;
    if (chunks === 1 || twoLevel) return out;
    len = chunks;
  }
}

/**
 * Raw reduction without autograd; returns the keepdim shape. Scattered axes (e.g. a conv bias
 * gradient's [0, 2, 3]) are reduced one contiguous run at a time, innermost first: cheaper than
 * permuting the whole tensor, and the first pass already shrinks it.
 */
function reduceRaw(op: ReduceOp, x: Tensor, axes: number[]): Tensor {
  checkF32(op, x);
  if (axes.length === 0)
    return reshape(
      noGrad(() => mul(x, 1)),
      x.shape,
    );
  const runs: number[][] = [];
  for (const a of axes) {
    const last = runs[runs.length - 1];
    if (last && a === last[last.length - 1] + 1) last.push(a);
    else runs.push([a]);
  }
  let src = x;
  for (const run of runs.reverse()) {
    const outer = numel(src.shape.slice(0, run[0]));
    const r = numel(run.map((a) => src.shape[a]));
    const inner = numel(src.shape.slice(run[run.length - 1] + 1));
    const flat = reduceMiddle(op, src, outer, r, inner);
    const y = reshape(
      flat,
      src.shape.map((d, i) => (run.includes(i) ? 1 : d)),
    );
    flat.dispose();
    if (src !== x) src.dispose();
    src = y;
  }
  return src;
}

export function outShape(shape: Shape, axes: number[], keepdim: boolean): number[] {
  return keepdim ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/** Sum over `axes` (default: all). */
export function sum(x: Tensor, axes?: number | number[], keepdim = false): Tensor {
  const ax = normAxes('sum', axes, x.rank);
  const k = reduceRaw('sum', x, ax);
  const y = keepdim ? k : reshape(k, outShape(x.shape, ax, false));
  if (y !== k) k.dispose();
  const keepShape = k.shape;
  return record(y, 'sum', [x], (g) => [expand(reshape(g, keepShape), x.shape)]);
}

/** Maximum over `axes`; the gradient is shared equally among tied maxima. */
export function max(x: Tensor, axes?: number | number[], keepdim = false): Tensor {
  const ax = normAxes('max', axes, x.rank);
  const k = reduceRaw('max', x, ax);
  const y = keepdim ? k : reshape(k, outShape(x.shape, ax, false));
  const keepShape = k.shape;
  if (y !== k) k.dispose();
  return record(y, 'max', [x], (g) => {
    const mask = noGrad(() => {
      const m = ge(x, reshape(detach(y), keepShape));
      return div(m, sum(m, ax, true));
    });
    return [mul(expand(reshape(g, keepShape), x.shape), mask)];
  });
}

/** Sums a broadcast gradient back to `shape` (inverse of NumPy broadcasting). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(g, axes, true), shape);
}
