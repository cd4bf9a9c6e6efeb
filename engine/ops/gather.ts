// indexSelect: rows of a tensor along one axis, picked by host indices (a data batch drawn from
// a data set that stays on the GPU, an embedding lookup). Its backward is the adjoint scatter-add
// (repeated indices sum), whose backward is indexSelect again: every order of derivative works.
import { record } from '../autograd.js';
import { normAxis } from '../shape_util.js';
import { shapeStr, Tensor } from '../tensor.js';
import { dispatch, kernel, Params } from '../runtime.js';
import { gatherRowsKernel, scatterRowsKernel } from '../../shaders/gather.js';
import { tensor } from './create.js';
import { checkF32, groups1d } from './map.js';

/** The selection on the GPU: the indices, and their inverse as CSR for the adjoint. */
interface Selection {
  idx: Tensor;
  starts: Tensor;
  rows: Tensor;
  n: number;
}

function selection(indices: ArrayLike<number>, n: number, op: string): Selection {
  const k = indices.length;
  const counts = new Uint32Array(n + 1);
  for (let j = 0; j < k; j++) {
    const r = indices[j];
    if (!(Number.isInteger(r) && r >= 0 && r < n))
      throw new Error(`${op}: index ${r} at position ${j} is out of range for an axis of size ${n}`);
    counts[r + 1]++;
  }
  for (let r = 0; r < n; r++) counts[r + 1] += counts[r];
  const fill = counts.slice(0, n);
  const rows = new Uint32Array(Math.max(1, k));
  for (let j = 0; j < k; j++) rows[fill[indices[j]]++] = j;
  return {
    idx: tensor(Uint32Array.from(k ? indices : [0]), [Math.max(1, k)], 'u32'),
    starts: tensor(counts, [n + 1], 'u32'),
    rows: tensor(rows, [rows.length], 'u32'),
    n,
  };
}

const view = (shape: readonly number[], axis: number) => ({
  outer: shape.slice(0, axis).reduce((a, b) => a * b, 1),
  inner: shape.slice(axis + 1).reduce((a, b) => a * b, 1),
});

function gatherRows(x: Tensor, axis: number, s: Selection, k: number): Tensor {
  const shape = [...x.shape];
  shape[axis] = k;
  const out = Tensor.empty(shape);
  const { inner } = view(x.shape, axis);
  if (out.size) {
    dispatch(
      kernel('indexSelect', 'indexSelect', gatherRowsKernel),
      [x.binding('indexSelect'), s.idx.binding('indexSelect'), out.binding('indexSelect')],
      new Params().u32(out.size, k, s.n, inner),
      groups1d(out.size),
    );
  }
  return record(out, 'indexSelect', [x], (g) => [scatterRows(g, axis, s, k)]);
}

function scatterRows(g: Tensor, axis: number, s: Selection, k: number): Tensor {
  const shape = [...g.shape];
  shape[axis] = s.n;
  const dx = Tensor.empty(shape);
  const { inner } = view(g.shape, axis);
  if (dx.size) {
    const b = [
      g.binding('indexSelectGrad'),
      s.starts.binding('indexSelectGrad'),
      s.rows.binding('indexSelectGrad'),
      dx.binding('indexSelectGrad'),
    ];
    dispatch(
      kernel('indexSelectGrad', 'indexSelectGrad', scatterRowsKernel),
      b,
      new Params().u32(dx.size, k, s.n, inner),
      groups1d(dx.size),
    );
  }
  return record(dx, 'indexSelectGrad', [g], (gg) => [gatherRows(gg, axis, s, k)]);
}

/**
 * The entries of x at `indices` along `axis` (torch.index_select): x [..., n, ...] ->
 * [..., indices.length, ...]. Indices are host integers in [0, n), checked here; repeats are
 * allowed (their gradients add up). The index tensors are intermediates of the call, released by
 * the enclosing tidy() like any op's.
 */
export function indexSelect(x: Tensor, axis: number, indices: ArrayLike<number>): Tensor {
  const op = 'indexSelect';
  checkF32(op, x);
  if (x.rank === 0) throw new Error(`${op}: x must have at least one axis, got ${shapeStr(x.shape)}`);
  const a = normAxis(op, axis, x.rank);
  return gatherRows(x, a, selection(indices, x.shape[a], op), indices.length);
}
