// Shape ops. reshape and detach share the buffer; permute, expand, slice and concat write a
// contiguous copy through the elementwise kernel's strided reads.
import { record, sumToShape as sumTo } from '../autograd.js';
import { numel, shapeStr, Tensor, type Shape } from '../tensor.js';
import { broadcastShapes, broadcastStrides, contiguousStrides, normAxis, sameShape } from '../shape_util.js';
import { copyBuffer, dispatch, kernel, Params } from '../runtime.js';
import { copyIntoKernel, slicePadKernel } from '../../shaders/copy.js';
import { groups1d, map } from './map.js';

/** Same elements, new shape (one entry may be -1). Shares the buffer. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const free = shape.indexOf(-1);
  let s = [...shape];
  if (free >= 0) {
    const known = numel(shape.filter((_, i) => i !== free));
    if (known === 0 || x.size % known !== 0) {
      throw new Error(`reshape: cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(shape)}`);
    }
    s[free] = x.size / known;
  }
  if (numel(s) !== x.size || s.some((d) => d < 0 || !Number.isInteger(d))) {
    throw new Error(`reshape: cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(shape)}`);
  }
  if (sameShape(s, x.shape)) s = [...x.shape];
  const y = Tensor.alias(x, s);
  return record(y, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

export function flatten(x: Tensor, startAxis = 1): Tensor {
  return reshape(x, [...x.shape.slice(0, startAxis), -1]);
}

/** A tensor with the same buffer and no autograd history. */
export function detach(x: Tensor): Tensor {
  return Tensor.alias(x, x.shape);
}

/** A contiguous copy (recorded: gradient passes through). */
export function clone(x: Tensor): Tensor {
  const y = map('clone', 'a', [x], x.shape);
  return record(y, 'clone', [x], (g) => [g]);
}

/** Reorders axes: y.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: number[]): Tensor {
  const r = x.rank;
  const p = perm.map((a) => normAxis('permute', a, r));
  if (p.length !== r || new Set(p).size !== r) {
    throw new Error(`permute: [${perm.join(', ')}] is not a permutation of the ${r} axes of ${shapeStr(x.shape)}`);
  }
  const st = contiguousStrides(x.shape);
  const shape = p.map((a) => x.shape[a]);
  const y = map('permute', 'a', [{ tensor: x, strides: p.map((a) => st[a]), offset: 0 }], shape);
  const inv = new Array<number>(r);
  p.forEach((a, i) => (inv[a] = i));
  return record(y, 'permute', [x], (g) => [permute(g, inv)]);
}

/** Swaps two axes (default: the last two). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const p = [...Array(x.rank).keys()];
  const i = normAxis('transpose', a, x.rank);
  const j = normAxis('transpose', b, x.rank);
  [p[i], p[j]] = [p[j], p[i]];
  return permute(x, p);
}

/** Broadcasts to a larger shape (NumPy rules), materialised. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const out = broadcastShapes('expand', x.shape, shape);
  if (!sameShape(out, shape)) throw new Error(`expand: cannot expand ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
  const y = map('expand', 'a', [{ tensor: x, strides: broadcastStrides(x.shape, shape), offset: 0 }], shape);
  return record(y, 'expand', [x], (g) => [sumTo(g, x.shape)]);
}

/**
 * x[start:end:step] along one axis (negative indices count from the end), materialised.
 */
export function slice(x: Tensor, axis: number, start: number, end?: number, step = 1): Tensor {
  const a = normAxis('slice', axis, x.rank);
  const n = x.shape[a];
  if (!Number.isInteger(step) || step < 1) throw new Error(`slice: step must be a positive integer, got ${step}`);
  const s0 = Math.min(Math.max(start < 0 ? start + n : start, 0), n);
  const e0 = Math.min(Math.max(end === undefined ? n : end < 0 ? end + n : end, 0), n);
  const len = Math.max(0, Math.ceil((e0 - s0) / step));
  const st = contiguousStrides(x.shape);
  const shape = x.shape.map((d, i) => (i === a ? len : d));
  const strides = st.map((s, i) => (i === a ? s * step : s));
  const y = map('slice', 'a', [{ tensor: x, strides, offset: s0 * st[a] }], shape);
  return record(y, 'slice', [x], (g) => [sliceBackward(g, x.shape, a, s0, step)]);
}

/** Places g at positions start, start+step, ... of `axis` in zeros of `shape` (a slice's adjoint). */
function sliceBackward(g: Tensor, shape: Shape, axis: number, start: number, step: number): Tensor {
  const out = Tensor.empty(shape);
  const inner = numel(shape.slice(axis + 1));
  const p = new Params().u32(out.size, inner, shape[axis], g.shape[axis], start, step);
  if (out.size)
    dispatch(
      kernel('slicePad', 'slicePad', slicePadKernel),
      [g.binding('sliceBackward'), out.binding('sliceBackward')],
      p,
      groups1d(out.size),
    );
  const len = g.shape[axis];
  return record(out, 'sliceBackward', [g], (gg) => [slice(gg, axis, start, start + len * step, step)]);
}

/** Joins tensors along an axis. */
export function concat(xs: Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error('concat: needs at least one tensor');
  const r = xs[0].rank;
  const a = normAxis('concat', axis, r);
  for (const t of xs) {
    if (t.rank !== r || t.shape.some((d, i) => i !== a && d !== xs[0].shape[i])) {
      throw new Error(`concat: shapes ${xs.map((t) => shapeStr(t.shape)).join(', ')} differ outside axis ${a}`);
    }
  }
  if (xs.some((t) => t.dtype !== xs[0].dtype))
    throw new Error(`concat: dtypes ${xs.map((t) => t.dtype).join(', ')} differ; concatenate tensors of one dtype`);
  const total = xs.reduce((s, t) => s + t.shape[a], 0);
  const shape = xs[0].shape.map((d, i) => (i === a ? total : d));
  const out = Tensor.empty(shape, xs[0].dtype);
  let off = 0;
  for (const t of xs) {
    copyInto(out, t, a, off);
    off += t.shape[a];
  }
  const sizes = xs.map((t) => t.shape[a]);
  return record(out, 'concat', xs, (g) => {
    let o = 0;
    return sizes.map((n) => {
      const part = slice(g, a, o, o + n);
      o += n;
      return part;
    });
  });
}

/** Writes `src` into `dst` at offset `off` along `axis` (dst's other dims equal src's). */
function copyInto(dst: Tensor, src: Tensor, axis: number, off: number): void {
  if (src.size === 0) return;
  const inner = numel(src.shape.slice(axis + 1));
  if (numel(dst.shape.slice(0, axis)) === 1) {
    // one contiguous block (concatenating along the first non-unit axis): a buffer copy, no kernel
    copyBuffer(src.binding('concat').buffer, dst.binding('concat').buffer, src.size * 4, off * inner * 4);
    return;
  }
  const p = new Params().u32(src.size, src.shape[axis] * inner, dst.shape[axis] * inner, off * inner);
  dispatch(
    kernel('copyInto', 'copyInto', copyIntoKernel),
    [src.binding('concat'), dst.binding('concat')],
    p,
    groups1d(src.size),
  );
}

/** Stacks equal-shaped tensors along a new axis. */
export function stack(xs: Tensor[], axis = 0): Tensor {
  const a = axis < 0 ? axis + xs[0].rank + 1 : axis;
  return concat(
    xs.map((t) => reshape(t, [...t.shape.slice(0, a), 1, ...t.shape.slice(a)])),
    a,
  );
}

/** Adds a one-length axis. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.rank + 1 : axis;
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}
