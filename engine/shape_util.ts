// Shape arithmetic shared by the ops: broadcasting, strides, axes.
import { shapeStr, type Shape } from './tensor.js';

export const MAX_RANK = 8;

export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** NumPy broadcasting of several shapes; `op` names the caller in the error. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = s.length - rank + i;
      const v = k >= 0 ? s[k] : 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) {
        throw new Error(
          `${op}: shapes ${shapes.map(shapeStr).join(' and ')} cannot be broadcast together (axis ${i}: ${d} vs ${v})`,
        );
      }
      d = v;
    }
    out.push(d);
  }
  return out;
}

/** Strides that read a contiguous `shape` as if it had the broadcast shape `to` (0 on broadcast axes). */
export function broadcastStrides(shape: Shape, to: Shape): number[] {
  const own = contiguousStrides(shape);
  const off = to.length - shape.length;
  return to.map((d, i) => (i < off || shape[i - off] === 1 ? 0 : own[i - off]));
}

/** Resolves a possibly negative axis; `op` names the caller in the error. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) {
    throw new Error(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return a;
}

/** Sorted, unique, non-negative axes; undefined means every axis. */
export function normAxes(op: string, axes: number | number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = (Array.isArray(axes) ? axes : [axes]).map((a) => normAxis(op, a, rank));
  const set = [...new Set(list)].sort((a, b) => a - b);
  if (set.length !== list.length) throw new Error(`${op}: repeated axis in [${list.join(', ')}]`);
  return set;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
