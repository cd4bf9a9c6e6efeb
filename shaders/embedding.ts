// Embedding lookups by indices that live on the GPU (i32, u32, or f32 holding integers, as
// labels gathered by a DataLoader): rows of a weight [n, d], and the one-hot matrix whose
// transposed product with the output gradient is the weight's gradient (deterministic: no
// atomics). Indices outside [0, n) give zero rows and no gradient.
import { read, write, type KernelDecl } from './kernel.js';

export type IndexType = 'i32' | 'u32' | 'f32';

const row = (t: IndexType) =>
  t === 'f32' ? 'i32(round(idx[j]))' : t === 'u32' ? 'i32(min(idx[j], 2147483647u))' : 'idx[j]';

/** out[j, c] = w[idx[j], c]; one invocation per output element. */
export const embeddingGatherKernel = (t: IndexType) => (): KernelDecl => ({
  params: 'total: u32, d: u32, n: u32',
  buffers: [read('w'), read('idx', t), write('out')],
  guard: 'u.total',
  body: `
  let c = i % u.d;
  let j = i / u.d;
  let r = ${row(t)};
  let ok = r >= 0 && r < i32(u.n);
  let v = w[u32(clamp(r, 0, i32(u.n) - 1)) * u.d + c];
  out[i] = select(0.0, v, ok);`,
});

/** out[j, r] = 1 where idx[j] = r, else 0 ([k, n]). */
export const oneHotKernel = (t: IndexType) => (): KernelDecl => ({
  params: 'total: u32, n: u32',
  buffers: [read('idx', t), write('out')],
  guard: 'u.total',
  body: `
  let j = i / u.n;
  let r = ${row(t)};
  out[i] = select(0.0, 1.0, r == i32(i % u.n));`,
});
