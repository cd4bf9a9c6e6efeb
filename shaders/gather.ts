// Row gathers along one axis and their adjoint. The tensor is viewed as [outer, n, inner] around
// the axis; `idx` lists source rows (the host has checked them), and the adjoint sums, for each
// source row, the output rows that came from it, in increasing order: `starts`/`rows` are that
// inverse as CSR (no atomics, so the sums are deterministic).
import { read, write, type KernelDecl } from './kernel.js';

const PARAMS = 'total: u32, k: u32, n: u32, inner: u32';

/** out[o, j, c] = x[o, idx[j], c]; one invocation per output element. */
export const gatherRowsKernel = (): KernelDecl => ({
  params: PARAMS,
  buffers: [read('x'), read('idx', 'u32'), write('out')],
  guard: 'u.total',
  body: `
  let c = i % u.inner;
  let j = (i / u.inner) % u.k;
  let o = i / (u.inner * u.k);
  out[i] = x[(o * u.n + idx[j]) * u.inner + c];`,
});

/** dx[o, r, c] = Σ_{j : idx[j] = r} g[o, j, c], j ascending; one invocation per element of dx. */
export const scatterRowsKernel = (): KernelDecl => ({
  params: PARAMS,
  buffers: [read('g'), read('starts', 'u32'), read('rows', 'u32'), write('dx')],
  guard: 'u.total',
  body: `
  let c = i % u.inner;
  let r = (i / u.inner) % u.n;
  let o = i / (u.inner * u.n);
  var s = 0.0;
  for (var t = starts[r]; t < starts[r + 1u]; t++) {
    s += g[(o * u.k + rows[t]) * u.inner + c];
  }
  dx[i] = s;`,
});
