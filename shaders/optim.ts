// Fused optimiser updates: one invocation per element (vec4 when the length allows), parameter
// and state updated in place.
import { dimAt, read, write, WG, type KernelDecl } from './kernel.js';

const elem = (vec: boolean) => (vec ? 'vec4<f32>' : 'f32');

/**
 * Adam (PyTorch semantics, L2 weight decay added to the gradient; AdamW's decoupled decay as a
 * factor `keep` = 1 - lr·wd applied to p first, 1 otherwise) over `count` tensors in one
 * dispatch (a dispatch costs ~25 µs on lavapipe; a model has dozens of small tensors):
 * m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²; p -= step_size · m / (sqrt(v) / sqrt_bc2 + eps),
 * with step_size = lr / (1 - b1^t) and sqrt_bc2 = sqrt(1 - b2^t) from the host. Tensor j binds
 * p, g, m, v at 4j+1 .. 4j+4 (j < 8) and owns `counts[j]` invocations from `starts[j]`, a multiple of
 * the workgroup size: the choice of tensor is uniform per workgroup, so a software GPU runs one
 * branch instead of all of them under masks.
 */
export function adamKernel(vec: boolean, count = 1): KernelDecl {
  const T = vec ? 'vec4<f32>' : 'f32';
  const ts = [...Array(count).keys()];
  const at = (field: string, j: number) => dimAt(`u.${field}`, `${j}u`);
  const buffers = ts.flatMap((j) => [write(`p${j}`, T), read(`g${j}`, T), write(`m${j}`, T), write(`v${j}`, T)]);
  const branch = (j: number) => `{
    let k = i - ${at('starts', j)};
    if (k < ${at('counts', j)}) {
      let r = adam(p${j}[k], g${j}[k], m${j}[k], v${j}[k]);
      m${j}[k] = r.m;
      v${j}[k] = r.v;
      p${j}[k] = r.p;
    }
  }`;
  const chain = ts
    .map((j) => (j + 1 < count ? `if (first < ${at('starts', j + 1)}) ${branch(j)}` : branch(j)))
    .join(' else ');
  if (count > 8) throw new Error(`adam: at most 8 tensors per dispatch, got ${count}`);
  return {
    params:
      'step_size: f32, b1: f32, b2: f32, eps: f32, wd: f32, sqrt_bc2: f32, keep: f32, starts: array<vec4<u32>, 2>, counts: array<vec4<u32>, 2>',
    buffers,
    builtins: ['gid', 'wid', 'nwg'],
    prelude: `struct Moments { p: ${T}, m: ${T}, v: ${T} }
fn adam(p0: ${T}, g0: ${T}, m: ${T}, v: ${T}) -> Moments {
  var p = p0;
  if (u.keep != 1.0) { p = p0 * u.keep; }
  var g = g0;
  if (u.wd != 0.0) { g += u.wd * p; }
  let mi = u.b1 * m + (1.0 - u.b1) * g;
  let vi = u.b2 * v + (1.0 - u.b2) * g * g;
  return Moments(p - u.step_size * mi / (sqrt(vi) / ${T}(u.sqrt_bc2) + ${T}(u.eps)), mi, vi);
}`,
    body: `
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  let first = (wid.x + wid.y * nwg.x) * ${WG}u; // the workgroup's first index: uniform
  ${chain}`,
  };
}

/** SGD with momentum (PyTorch: buf = momentum·buf + g, buf = g on the first step; p -= lr·buf). */
export function sgdKernel(vec: boolean, momentum: boolean): KernelDecl {
  return {
    params: 'n: u32, lr: f32, momentum: f32, wd: f32, first: u32',
    buffers: [write('p', elem(vec)), read('g', elem(vec)), ...(momentum ? [write('buf', elem(vec))] : [])],
    guard: 'u.n',
    body: `
  let pi = p[i];
  var d = g[i];
  if (u.wd != 0.0) { d += u.wd * pi; }
${
  momentum
    ? `  if (u.first == 0u) { d += u.momentum * buf[i]; }
  buf[i] = d;`
    : ''
}
  p[i] = pi - u.lr * d;`,
  };
}
