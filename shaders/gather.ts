// Row gathers along one axis and their adjoint. The tensor is viewed as [outer, n, inner] around
// the axis; `idx` lists source rows (the host has checked them), and the adjoint sums, for each
// source row, the output rows that came from it, in increasing order: `starts`/`rows` are that
// inverse as CSR (no atomics, so the sums are deterministic).
import { flatIndex, mainSignature } from './common.js';

/** out[o, j, c] = x[o, idx[j], c]; one invocation per output element. */
export const gatherRowsWGSL = () => `struct Params { total: u32, k: u32, n: u32, inner: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${mainSignature()} {
  ${flatIndex()}
  if (i >= u.total) { return; }
  let c = i % u.inner;
  let j = (i / u.inner) % u.k;
  let o = i / (u.inner * u.k);
  out[i] = x[(o * u.n + idx[j]) * u.inner + c];
}
`;

/** dx[o, r, c] = Σ_{j : idx[j] = r} g[o, j, c], j ascending; one invocation per element of dx. */
export const scatterRowsWGSL = () => `struct Params { total: u32, k: u32, n: u32, inner: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> starts: array<u32>;
@group(0) @binding(3) var<storage, read> rows: array<u32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
${mainSignature()} {
  ${flatIndex()}
  if (i >= u.total) { return; }
  let c = i % u.inner;
  let r = (i / u.inner) % u.n;
  let o = i / (u.inner * u.n);
  var s = 0.0;
  for (var t = starts[r]; t < starts[r + 1u]; t++) {
    s += g[(o * u.k + rows[t]) * u.inner + c];
  }
  dx[i] = s;
}
`;
