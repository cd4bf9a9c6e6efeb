// Launches the elementwise kernel family. A "view" reads a contiguous tensor through
// strides and an offset, which is how broadcast, permute and slice are expressed.
import { Tensor, shapeStr, type Shape } from '../tensor.js';
import { dispatch, kernel, Params, type Kernel } from '../runtime.js';
import { contiguousStrides, MAX_RANK, sameShape } from '../shape_util.js';
import { elementwiseKernel, PER_THREAD, type ElementwiseLayout } from '../../shaders/elementwise.js';
import { WG } from '../../shaders/kernel.js';
import { capturing } from '../capture.js';
import type { MapInfo } from '../fusion.js';

export interface View {
  tensor: Tensor;
  strides: number[];
  offset: number;
}

export function contiguousView(t: Tensor): View {
  return { tensor: t, strides: contiguousStrides(t.shape), offset: 0 };
}

function mapKernel(name: string, expr: string, arity: number, layout: ElementwiseLayout): Kernel {
  const shape = layout.kind === 'inner4' ? `inner4:${layout.rank}:${layout.vecIn.map(Number).join('')}` : layout.rank;
  return kernel(`map.${name}`, `map:${shape}:${arity}:${expr}`, () => elementwiseKernel(expr, arity, layout));
}

/**
 * Drops size-1 dims and merges neighbours that every input walks contiguously, so that most
 * strided reads need one or two dims of index arithmetic (a bias add becomes rank 2, a scalar
 * broadcast rank 1).
 */
function collapse(shape: Shape, views: View[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = views.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && views.every((v, k) => outStrides[k][last] === v.strides[d] * shape[d])) {
      outShape[last] *= shape[d];
      views.forEach((v, k) => (outStrides[k][last] = v.strides[d]));
    } else {
      outShape.push(shape[d]);
      views.forEach((v, k) => outStrides[k].push(v.strides[d]));
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    views.forEach((_, k) => outStrides[k].push(0));
  }
  return { shape: outShape, strides: outStrides };
}

/** Splits a 1-D workgroup count over x and y (the per-dimension limit is 65535). */
export function groups1d(n: number, wg = WG): [number, number] {
  const g = Math.ceil(n / wg);
  if (g <= 65535) return [g, 1];
  const gy = Math.ceil(g / 65535);
  return [Math.ceil(g / gy), gy];
}

export function checkF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== 'f32') throw new Error(`${op}: expected a float32 tensor, got ${t.dtype} ${shapeStr(t.shape)}`);
  }
}

/**
 * out[i] = expr(a, b, c) over `shape`. Inputs are tensors of that exact shape (contiguous fast
 * path) or views. Returns a new tensor; records nothing (callers record autograd).
 */
export function map(name: string, expr: string, inputs: (Tensor | View)[], shape: Shape, p0 = 0, p1 = 0): Tensor {
  if (shape.length > MAX_RANK)
    throw new Error(`${name}: rank ${shape.length} exceeds the engine's limit of ${MAX_RANK}`);
  const views = inputs.map((x) => (x instanceof Tensor ? contiguousView(x) : x));
  for (const v of views) checkF32(name, v.tensor);
  const out = Tensor.empty(shape);
  if (out.size === 0) return out;
  const dense = contiguousStrides(shape);
  const fast = views.every(
    (v) => v.offset === 0 && sameShape(v.tensor.shape, shape) && v.strides.every((s, i) => s === dense[i]),
  );
  const bindings = [...views.map((v) => v.tensor.binding(name)), out.binding(name)];
  // contiguous with every buffer padded to 16 bytes: one dim of vec4s (see elementwiseInner4WGSL)
  const padded = Math.ceil(out.size / 4) * 4;
  const vec4 = fast && bindings.every((b) => b.buffer.size >= padded * 4);
  const dims = vec4 ? { shape: [padded], strides: views.map(() => [1]) } : collapse(shape, views);
  const n = vec4 ? padded : out.size;
  const p = new Params()
    .dims8(dims.shape, 1)
    .dims8(dims.strides[0] ?? [])
    .dims8(dims.strides[1] ?? [])
    .dims8(dims.strides[2] ?? [])
    .u32(views[0]?.offset ?? 0, views[1]?.offset ?? 0, views[2]?.offset ?? 0, 0)
    .u32(n)
    .f32(p0, p1);
  const rank = dims.shape.length;
  // what the fusion pass of a captured step needs to merge this map with its neighbours
  const info: MapInfo | undefined = capturing()
    ? {
        name,
        expr,
        inputs: views.map((v) => ({
          buffer: bindings[views.indexOf(v)].buffer,
          strides: [...v.strides],
          offset: v.offset,
          elements: v.tensor.size,
        })),
        shape: [...shape],
        p0,
        p1,
        out: bindings[views.length].buffer,
      }
    : undefined;
  if (dims.shape[rank - 1] % 4 === 0) {
    // four elements along the innermost dim per invocation; inputs laid out along it as vec4s
    bindings[views.length].bytes = n * 4;
    const vecIn = views.map((v, k) => {
      const aligned =
        v.offset % 4 === 0 && dims.strides[k].every((st, d) => (d === rank - 1 ? st === 1 : st % 4 === 0));
      const bytes = Math.ceil(v.tensor.size / 4) * 16;
      if (!aligned || bindings[k].buffer.size < bytes) return false;
      bindings[k].bytes = bytes;
      return true;
    });
    dispatch(
      mapKernel(name, expr, views.length, { kind: 'inner4', rank, vecIn }),
      bindings,
      p,
      groups1d(n / 4),
      undefined,
      info && { map: info },
    );
    return out;
  }
  dispatch(
    mapKernel(name, expr, views.length, { kind: 'scalar', rank }),
    bindings,
    p,
    groups1d(Math.ceil(out.size / PER_THREAD)),
    undefined,
    info && { map: info },
  );
  return out;
}
