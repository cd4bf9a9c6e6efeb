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

import { read, write, type BufferDecl, type KernelDecl } from './kernel.js';

export type IndexMode = 'grid' | 'flat';
export type ReduceMode = 'group' | 'thread';
/** sum: out[b] = s·Σx; dot: out[b] = s·Σx·y; moments: out[b] = mean, out[B+b] = biased variance (s = 1/M);
 *  invstd: out[b] = rsqrt(variance + eps); bwd: out0[b] = Σg, out1[b] = Σ g·x̂ (x̂ from the
 *  saved statistics) */
export type ReduceKind = 'sum' | 'dot' | 'moments' | 'invstd' | 'bwd';

export const GRID_WG = 64;
export const REDUCE_WG = 64;

const vtype = (vec: boolean) => (vec ? 'vec4<f32>' : 'f32');
/** Sum of a vec4's lanes, or the scalar itself. */
const hsum = (vec: boolean, v: string) => (vec ? `dot(${v}, vec4<f32>(1.0))` : v);

/** Entry point of an elementwise kernel: the (vec4) element index `i` and the channel `b`. */
function elementwise(mode: IndexMode, params: string, buffers: BufferDecl[], body: string): KernelDecl {
  if (mode === 'grid') {
    return {
      params,
      buffers,
      workgroup: GRID_WG,
      builtins: ['gid', 'wid'],
      body: `
  if (gid.x >= u.D4) { return; }
  let b = wid.y;
  let i = (wid.z * u.B + b) * u.D4 + gid.x;
${body}`,
    };
  }
  return { params, buffers, guard: 'u.A * u.B * u.D4', body: `\n  let b = (i / u.D4) % u.B;\n${body}` };
}

/** y = (x - mean[b]) · rsqrt(var[b] + eps) · w[b] + bias[b]; mean and var may share a buffer (voff). */
export function normApplyKernel(mode: IndexMode, vec: boolean, hasW: boolean, hasBias: boolean): KernelDecl {
  const T = vtype(vec);
  const buffers = [
    read('x', T),
    read('mean'),
    read('vr'),
    ...(hasW ? [read('w')] : []),
    ...(hasBias ? [read('bias')] : []),
    write('out', T),
  ];
  return elementwise(
    mode,
    'A: u32, B: u32, D4: u32, voff: u32, eps: f32',
    buffers,
    `  let scale = inverseSqrt(vr[u.voff + b] + u.eps)${hasW ? ' * w[b]' : ''};
  out[i] = (x[i] - mean[b]) * scale${hasBias ? ' + bias[b]' : ''};`,
  );
}

/** y = x · w[b] + bias[b] (layer norm's affine with per-channel or elementwise parameters). */
export function affineKernel(mode: IndexMode, vec: boolean, hasW: boolean, hasBias: boolean): KernelDecl {
  const T = vtype(vec);
  const buffers = [read('x', T), ...(hasW ? [read('w')] : []), ...(hasBias ? [read('bias')] : []), write('out', T)];
  return elementwise(
    mode,
    'A: u32, B: u32, D4: u32',
    buffers,
    `  out[i] = x[i]${hasW ? ' * w[b]' : ''}${hasBias ? ' + bias[b]' : ''};`,
  );
}

/**
 * First-order input gradient of training-mode normalisation (statistics from the batch):
 * dx = w[b]·rsqrt(var+eps)·(g - Σg/M - x̂·Σgx̂/M), stats = [mean; var] as [2, B].
 */
export function normBackwardKernel(mode: IndexMode, vec: boolean, hasW: boolean): KernelDecl {
  const T = vtype(vec);
  const buffers = [
    read('x', T),
    read('stats'),
    read('g', T),
    read('sg'),
    read('sgx'),
    ...(hasW ? [read('w')] : []),
    write('out', T),
  ];
  return elementwise(
    mode,
    'A: u32, B: u32, D4: u32, inv_m: f32, eps: f32',
    buffers,
    `  let invstd = inverseSqrt(stats[u.B + b] + u.eps);
  let k = ${hasW ? 'w[b] * ' : ''}invstd;
  let c = sgx[b] * u.inv_m * invstd;
  let xhat_c = (x[i] - stats[b]) * c;
  out[i] = k * (g[i] - sg[b] * u.inv_m - xhat_c);`,
  );
}

/** out[a, b, d] = s · g[b]: the adjoint of the per-b sum. */
export function spreadKernel(mode: IndexMode, vec: boolean): KernelDecl {
  return elementwise(
    mode,
    'A: u32, B: u32, D4: u32, s: f32',
    [read('g'), write('out', vtype(vec))],
    `  out[i] = ${vtype(vec)}(g[b] * u.s);`,
  );
}

/** Running statistics, in place: r = (1-m)·r + m·batch (variance unbiased by `unbias`). */
export function runningUpdateKernel(): KernelDecl {
  return {
    params: 'B: u32, momentum: f32, unbias: f32',
    buffers: [read('stats'), write('rm'), write('rv')],
    workgroup: 64,
    builtins: ['gid'],
    body: `
  let b = gid.x;
  if (b >= u.B) { return; }
  rm[b] = (1.0 - u.momentum) * rm[b] + u.momentum * stats[b];
  rv[b] = (1.0 - u.momentum) * rv[b] + u.momentum * stats[u.B + b] * u.unbias;`,
  };
}

/**
 * Per-b reductions over A·D; see ReduceKind. In 'group' mode the workgroup's invocations split
 * each row of channel b, or, for rows shorter than the workgroup, walk the (a, d4) positions
 * with stride REDUCE_WG without dividing: the uniform (da, dd) = divmod(REDUCE_WG, D4)
 * advances a and d4.
 */
export function channelReduceKernel(kind: ReduceKind, mode: ReduceMode, vec: boolean): KernelDecl {
  const group = mode === 'group';
  const T = vtype(vec);
  const loop = (body: string) =>
    group
      ? `  if (u.D4 >= ${REDUCE_WG}u) {
    for (var a = 0u; a < u.A; a++) {
      let o = (a * u.B + b) * u.D4;
      for (var d4 = lx; d4 < u.D4; d4 += ${REDUCE_WG}u) { let k = o + d4; ${body} }
    }
  } else {
    var a = lx / u.D4;
    var d4 = lx % u.D4;
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
  const total = (v: string) => (group ? `wg_sum(${hsum(vec, v)}, lx)` : hsum(vec, v));
  const first = group ? 'lx == 0u' : 'true';
  const buffers =
    kind === 'bwd'
      ? [read('x', T), read('stats'), read('g', T), write('out0'), write('out1')]
      : kind === 'dot'
        ? [read('x', T), read('y', T), write('out')]
        : [read('x', T), write('out')];
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
  const params = 'A: u32, B: u32, D4: u32, s: f32, eps: f32, da: u32, dd: u32';
  if (!group) return { params, buffers, workgroup: 64, guard: 'u.B', body: `\n  let b = i;\n${body}` };
  return {
    params,
    buffers,
    workgroup: REDUCE_WG,
    builtins: ['wid', 'lid'],
    prelude: `var<workgroup> sh: array<f32, ${REDUCE_WG}>;
fn wg_sum(v: f32, lane: u32) -> f32 {
  sh[lane] = v;
  workgroupBarrier();
  for (var s = ${REDUCE_WG / 2}u; s > 0u; s >>= 1u) {
    if (lane < s) { sh[lane] += sh[lane + s]; }
    workgroupBarrier();
  }
  let r = sh[0];
  workgroupBarrier();
  return r;
}`,
    body: `
  let b = wid.x;
  let lx = lid.x;
${body}`,
  };
}
