// Kernels for batch/layer normalisation. The input is viewed as [A, B, D] (contiguous) and
// statistics are taken per b over the A·D elements (batch norm: A=N, B=C, D=H·W; layer norm
// over trailing axes: A=1, B=N, D=C·H·W).
//
// Per-invocation overhead dominates on lavapipe, so when D % 4 == 0 the big tensors are read
// as vec4 (`vec`; the four lanes share one b) and D4 = D / 4 in the uniforms, else D4 = D.
// Elementwise kernels index in one of two ways, chosen per call:
//   'grid': workgroups (D4/64, B, A), so b and a come from workgroup ids (integer division
//           costs ~40% of an elementwise kernel on lavapipe);
//   'flat': one invocation per element (or vec4), b = (i / D4) % B, for short rows.
// Reductions run one workgroup per b ('group') or, when each b has few elements, one
// invocation per b without barriers ('thread').

export type IndexMode = 'grid' | 'flat';
export type ReduceMode = 'group' | 'thread';
/** sum: out[b] = s·Σx; dot: out[b] = s·Σx·y; moments: out[b] = mean, out[B+b] = biased variance (s = 1/M);
 *  invstd: out[b] = rsqrt(variance + eps); bwd: out0[b] = Σg, out1[b] = Σ g·x̂ (x̂ from the
 *  saved statistics) */
export type ReduceKind = 'sum' | 'dot' | 'moments' | 'invstd' | 'bwd';

export const GRID_WG = 64;
export const REDUCE_WG = 64;

const vtype = (vec: boolean) => (vec ? 'vec4<f32>' : 'f32');
/** A storage binding; `vec` makes it an array of vec4. */
const storage = (binding: number, name: string, opts: { write?: boolean; vec?: boolean } = {}) =>
  `@group(0) @binding(${binding}) var<storage, ${opts.write ? 'read_write' : 'read'}> ${name}: array<${vtype(!!opts.vec)}>;`;
/** Sum of a vec4's lanes, or the scalar itself. */
const hsum = (vec: boolean, v: string) => (vec ? `dot(${v}, vec4<f32>(1.0))` : v);

/** Entry point with the (vec4) element index `i` and the channel `b` for an elementwise kernel. */
function elementwiseMain(mode: IndexMode, body: string): string {
  if (mode === 'grid') {
    return `@compute @workgroup_size(${GRID_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  if (gid.x >= u.D4) { return; }
  let b = wid.y;
  let i = (wid.z * u.B + b) * u.D4 + gid.x;
${body}
}`;
  }
  return `@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.A * u.B * u.D4) { return; }
  let b = (i / u.D4) % u.B;
${body}
}`;
}

/** y = (x - mean[b]) · rsqrt(var[b] + eps) · w[b] + bias[b]; mean and var may share a buffer (voff). */
export function normApplyWGSL(mode: IndexMode, vec: boolean, hasW: boolean, hasBias: boolean): string {
  let n = 4;
  const decl = [storage(1, 'x', { vec }), storage(2, 'mean'), storage(3, 'vr')];
  if (hasW) decl.push(storage(n++, 'w'));
  if (hasBias) decl.push(storage(n++, 'bias'));
  decl.push(storage(n, 'out', { write: true, vec }));
  return `struct Params { A: u32, B: u32, D4: u32, voff: u32, eps: f32 }
@group(0) @binding(0) var<uniform> u: Params;
${decl.join('\n')}
${elementwiseMain(
  mode,
  `  let scale = inverseSqrt(vr[u.voff + b] + u.eps)${hasW ? ' * w[b]' : ''};
  out[i] = (x[i] - mean[b]) * scale${hasBias ? ' + bias[b]' : ''};`,
)}
`;
}

/** y = x · w[b] + bias[b] (layer norm's affine with per-channel or elementwise parameters). */
export function affineWGSL(mode: IndexMode, vec: boolean, hasW: boolean, hasBias: boolean): string {
  let n = 2;
  const decl = [storage(1, 'x', { vec })];
  if (hasW) decl.push(storage(n++, 'w'));
  if (hasBias) decl.push(storage(n++, 'bias'));
  decl.push(storage(n, 'out', { write: true, vec }));
  return `struct Params { A: u32, B: u32, D4: u32 }
@group(0) @binding(0) var<uniform> u: Params;
${decl.join('\n')}
${elementwiseMain(mode, `  out[i] = x[i]${hasW ? ' * w[b]' : ''}${hasBias ? ' + bias[b]' : ''};`)}
`;
}

/**
 * First-order input gradient of training-mode normalisation (statistics from the batch):
 * dx = w[b]·rsqrt(var+eps)·(g - Σg/M - x̂·Σgx̂/M), stats = [mean; var] as [2, B].
 */
export function normBackwardWGSL(mode: IndexMode, vec: boolean, hasW: boolean): string {
  const decl = [storage(1, 'x', { vec }), storage(2, 'stats'), storage(3, 'g', { vec }), storage(4, 'sg'), storage(5, 'sgx')];
  if (hasW) decl.push(storage(6, 'w'));
  decl.push(storage(hasW ? 7 : 6, 'out', { write: true, vec }));
  return `struct Params { A: u32, B: u32, D4: u32, inv_m: f32, eps: f32 }
@group(0) @binding(0) var<uniform> u: Params;
${decl.join('\n')}
${elementwiseMain(
  mode,
  `  let invstd = inverseSqrt(stats[u.B + b] + u.eps);
  let k = ${hasW ? 'w[b] * ' : ''}invstd;
  let c = sgx[b] * u.inv_m * invstd;
  let xhat_c = (x[i] - stats[b]) * c;
  out[i] = k * (g[i] - sg[b] * u.inv_m - xhat_c);`,
)}
`;
}

/** out[a, b, d] = s · g[b]: the adjoint of the per-b sum. */
export function spreadWGSL(mode: IndexMode, vec: boolean): string {
  return `struct Params { A: u32, B: u32, D4: u32, s: f32 }
@group(0) @binding(0) var<uniform> u: Params;
${storage(1, 'g')}
${storage(2, 'out', { write: true, vec })}
${elementwiseMain(mode, `  out[i] = ${vtype(vec)}(g[b] * u.s);`)}
`;
}

/** Running statistics, in place: r = (1-m)·r + m·batch (variance unbiased by `unbias`). */
export function runningUpdateWGSL(): string {
  return `struct Params { B: u32, momentum: f32, unbias: f32 }
@group(0) @binding(0) var<uniform> u: Params;
${storage(1, 'stats')}
${storage(2, 'rm', { write: true })}
${storage(3, 'rv', { write: true })}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.x;
  if (b >= u.B) { return; }
  rm[b] = (1.0 - u.momentum) * rm[b] + u.momentum * stats[b];
  rv[b] = (1.0 - u.momentum) * rv[b] + u.momentum * stats[u.B + b] * u.unbias;
}
`;
}

/**
 * Per-b reductions over A·D; see ReduceKind. In 'group' mode the workgroup's invocations split
 * each row of channel b, or, for rows shorter than the workgroup, walk the (a, d4) positions
 * with stride REDUCE_WG without dividing: the uniform (da, dd) = divmod(REDUCE_WG, D4)
 * advances a and d4.
 */
export function channelReduceWGSL(kind: ReduceKind, mode: ReduceMode, vec: boolean): string {
  const group = mode === 'group';
  const T = vtype(vec);
  const loop = (body: string) =>
    group
      ? `  if (u.D4 >= ${REDUCE_WG}u) {
    for (var a = 0u; a < u.A; a++) {
      let o = (a * u.B + b) * u.D4;
      for (var d4 = lid; d4 < u.D4; d4 += ${REDUCE_WG}u) { let k = o + d4; ${body} }
    }
  } else {
    var a = lid / u.D4;
    var d4 = lid % u.D4;
    while (a < u.A) {
      let k = (a * u.B + b) * u.D4 + d4;
      ${body}
      a += u.da;
      d4 += u.dd;
      if (d4 >= u.D4) { d4 -= u.D4; a++; }
    }
  }`
      : `  for (var a = 0u; a < u.A; a++) {
    let o = (a * u.B + b) * u.D4;
    for (var d4 = 0u; d4 < u.D4; d4++) { let k = o + d4; ${body} }
  }`;
  const total = (v: string) => (group ? `wg_sum(${hsum(vec, v)}, lid)` : hsum(vec, v));
  const first = group ? 'lid == 0u' : 'true';
  const decl =
    kind === 'bwd'
      ? [storage(1, 'x', { vec }), storage(2, 'stats'), storage(3, 'g', { vec }), storage(4, 'out0', { write: true }), storage(5, 'out1', { write: true })]
      : kind === 'dot'
        ? [storage(1, 'x', { vec }), storage(2, 'y', { vec }), storage(3, 'out', { write: true })]
        : [storage(1, 'x', { vec }), storage(2, 'out', { write: true })];
  let body: string;
  if (kind === 'sum' || kind === 'dot') {
    body = `  var acc = ${T}(0.0);
${loop(kind === 'sum' ? 'acc += x[k];' : 'acc += x[k] * y[k];')}
  let s = ${total('acc')};
  if (${first}) { out[b] = s * u.s; }`;
  } else if (kind === 'moments' || kind === 'invstd') {
    // two passes (mean, then centred squares): no cancellation for large means
    body = `  var acc = ${T}(0.0);
${loop('acc += x[k];')}
  let mean = ${total('acc')} * u.s;
  var acc2 = ${T}(0.0);
${loop('let t = x[k] - mean; acc2 += t * t;')}
  let vr = ${total('acc2')} * u.s;
  if (${first}) { ${kind === 'moments' ? 'out[b] = mean; out[u.B + b] = vr;' : 'out[b] = inverseSqrt(vr + u.eps);'} }`;
  } else {
    body = `  let mean = stats[b];
  let invstd = inverseSqrt(stats[u.B + b] + u.eps);
  var acc0 = ${T}(0.0);
  var acc1 = ${T}(0.0);
${loop('let gk = g[k]; acc0 += gk; acc1 += gk * (x[k] - mean);')}
  let s0 = ${total('acc0')};
  let s1 = ${total('acc1')} * invstd;
  if (${first}) { out0[b] = s0; out1[b] = s1; }`;
  }
  const entry = group
    ? `var<workgroup> sh: array<f32, ${REDUCE_WG}>;
fn wg_sum(v: f32, lid: u32) -> f32 {
  sh[lid] = v;
  workgroupBarrier();
  for (var s = ${REDUCE_WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { sh[lid] += sh[lid + s]; }
    workgroupBarrier();
  }
  let r = sh[0];
  workgroupBarrier();
  return r;
}
@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
  let b = wid.x;
  let lid = lidv.x;`
    : `@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = gid.x + gid.y * nwg.x * 64u;
  if (b >= u.B) { return; }`;
  return `struct Params { A: u32, B: u32, D4: u32, s: f32, eps: f32, da: u32, dd: u32 }
@group(0) @binding(0) var<uniform> u: Params;
${decl.join('\n')}
${entry}
${body}
}
`;
}
