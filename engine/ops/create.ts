// Tensor creation from host data and constants.
import { checkDType, checkShape, numel, shapeStr, Tensor, type DType, type Shape } from '../tensor.js';
import { copyBuffer, upload } from '../runtime.js';
import { map } from './map.js';

type HostData = ArrayLike<number> | Float32Array | Int32Array | Uint32Array;

/** A tensor from host values (copied); shape defaults to 1-D. */
export function tensor(data: HostData | number, shape?: Shape, dtype: DType = 'f32'): Tensor {
  const values = typeof data === 'number' ? [data] : data;
  const s = shape ?? (typeof data === 'number' ? [] : [values.length]);
  checkShape(s, 'tensor');
  checkDType(dtype, 'tensor');
  if (numel(s) !== values.length) {
    throw new Error(`tensor: ${values.length} values do not fill shape ${shapeStr(s)} (${numel(s)} elements)`);
  }
  const t = Tensor.empty(s, dtype);
  const Arr = dtype === 'f32' ? Float32Array : dtype === 'i32' ? Int32Array : Uint32Array;
  upload(t.binding('tensor').buffer, values instanceof Arr ? values : Arr.from(values));
  return t;
}

export function full(shape: Shape, value: number, op = 'full'): Tensor {
  checkShape(shape, op);
  return map('fill', 'p0', [], shape, value);
}
export const zeros = (shape: Shape) => full(shape, 0, 'zeros');
export const ones = (shape: Shape) => full(shape, 1, 'ones');
export const zerosLike = (t: Tensor) => full(t.shape, 0);
export const onesLike = (t: Tensor) => full(t.shape, 1);
export const fullLike = (t: Tensor, v: number) => full(t.shape, v);

/**
 * Overwrites `dst`'s values with `src`'s, in the command stream (no readback). For in-place
 * state such as running statistics; records nothing for autograd.
 */
export function assign(dst: Tensor, src: Tensor): void {
  if (dst.shape.join() !== src.shape.join() || dst.dtype !== src.dtype) {
    throw new Error(
      `assign: source ${shapeStr(src.shape)} ${src.dtype} does not match destination ${shapeStr(dst.shape)} ${dst.dtype}`,
    );
  }
  if (dst.size === 0) return;
  copyBuffer(src.binding('assign').buffer, dst.binding('assign').buffer, dst.size * 4);
}

/**
 * Copies `src`'s elements into `dst`'s flat elements from `offset` on, in the command stream (no
 * readback, no allocation). For logs kept on the GPU; records nothing for autograd.
 */
export function assignAt(dst: Tensor, src: Tensor, offset: number): void {
  if (dst.dtype !== src.dtype)
    throw new Error(`assignAt: source dtype ${src.dtype} does not match destination ${dst.dtype}`);
  if (!(Number.isInteger(offset) && offset >= 0 && offset + src.size <= dst.size)) {
    throw new Error(
      `assignAt: ${src.size} elements at offset ${offset} do not fit a destination of ${dst.size} elements`,
    );
  }
  if (src.size === 0) return;
  copyBuffer(src.binding('assignAt').buffer, dst.binding('assignAt').buffer, src.size * 4, offset * 4);
}
