// Embedding lookup (F.embedding): rows of a weight [n, d] picked by integer indices. Host
// indices go through indexSelect (checked on the host, deterministic scatter-add backward);
// indices already on the GPU (an i32 / u32 tensor, or f32 labels from a DataLoader) are gathered
// by a kernel, with the weight gradient as oneHot(indices)ᵀ · g (a matmul: differentiable again).
import { record } from '../autograd.js';
import { shapeStr, Tensor } from '../tensor.js';
import { dispatch, kernel, Params } from '../runtime.js';
import { embeddingGatherKernel, oneHotKernel, type IndexType } from '../../shaders/embedding.js';
import { indexSelect } from './gather.js';
import { groups1d } from './map.js';
import { matmul } from './matmul.js';
import { reshape } from './shape.js';

function checkIndexTensor(op: string, idx: Tensor): IndexType {
  if (idx.dtype !== 'i32' && idx.dtype !== 'u32' && idx.dtype !== 'f32')
    throw new Error(`${op}: indices must be i32, u32 or f32, got ${idx.dtype}`);
  return idx.dtype;
}

/**
 * One-hot rows of device indices: idx [...] -> [..., n] float32, 1 at each index (no row for
 * indices outside [0, n)). Records no gradient.
 */
export function oneHot(indices: Tensor, n: number): Tensor {
  const op = 'oneHot';
  const t = checkIndexTensor(op, indices);
  if (!(Number.isInteger(n) && n >= 1))
    throw new Error(`${op}: the number of classes must be an integer >= 1, got ${n}`);
  const out = Tensor.empty([...indices.shape, n]);
  if (out.size) {
    const b = [indices.binding(op), out.binding(op)];
    dispatch(kernel(op, `oneHot:${t}`, oneHotKernel(t)), b, new Params().u32(out.size, n), groups1d(out.size));
  }
  return out;
}

/**
 * weight [n, d] rows at `indices`: host integers (an array or typed array, checked to lie in
 * [0, n); output [k, d]) or a tensor of any shape on the GPU (i32, u32, or f32 holding integers;
 * output [...indices.shape, d]; indices outside [0, n) give zero rows, as they cannot be checked
 * without a readback). The gradient flows to the weight only.
 */
export function embedding(weight: Tensor, indices: Tensor | ArrayLike<number>): Tensor {
  const op = 'embedding';
  if (!(weight instanceof Tensor) || weight.rank !== 2 || weight.dtype !== 'f32') {
    throw new Error(
      `${op}: weight must be a float32 tensor [n, d], got ${weight instanceof Tensor ? `${weight.dtype} ${shapeStr(weight.shape)}` : typeof weight}`,
    );
  }
  const [n, d] = weight.shape;
  if (!(indices instanceof Tensor)) {
    if (indices == null || typeof indices !== 'object' || typeof (indices as ArrayLike<number>).length !== 'number') {
      throw new Error(
        `${op}: indices must be an array of integers or a tensor, got ${indices === null ? 'null' : typeof indices}`,
      );
    }
    return indexSelect(weight, 0, indices);
  }
  const t = checkIndexTensor(op, indices);
  const k = indices.size;
  const out = Tensor.empty([...indices.shape, d]);
  if (out.size) {
    const b = [weight.binding(op), indices.binding(op), out.binding(op)];
    dispatch(
      kernel(op, `embedding:${t}`, embeddingGatherKernel(t)),
      b,
      new Params().u32(out.size, d, n),
      groups1d(out.size),
    );
  }
  return record(out, op, [weight], (g) => [
    matmul(reshape(oneHot(indices, n), [k, n]), reshape(g, [k, d]), { transA: true }),
  ]);
}
