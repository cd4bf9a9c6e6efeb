// Fused optimiser updates: one invocation per element (vec4 when the length allows), parameter
// and state updated in place.
import { flatIndex, mainSignature } from './common.js';

const arr = (vec: boolean) => (vec ? 'array<vec4<f32>>' : 'array<f32>');

/**
 * Adam (PyTorch semantics, L2 weight decay added to the gradient):
 * m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²; p -= step_size · m / (sqrt(v) / sqrt_bc2 + eps),
 * with step_size = lr / (1 - b1^t) and sqrt_bc2 = sqrt(1 - b2^t) from the host.
 */
export function adamWGSL(vec: boolean): string {
  const T = vec ? 'vec4<f32>' : 'f32';
  return `struct Params { n: u32, step_size: f32, b1: f32, b2: f32, eps: f32, wd: f32, sqrt_bc2: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> p: ${arr(vec)};
@group(0) @binding(2) var<storage, read> g: ${arr(vec)};
@group(0) @binding(3) var<storage, read_write> m: ${arr(vec)};
@group(0) @binding(4) var<storage, read_write> v: ${arr(vec)};
${mainSignature()} {
  ${flatIndex()}
  if (i >= u.n) { return; }
  let pi = p[i];
  var gi = g[i];
  if (u.wd != 0.0) { gi += u.wd * pi; }
  let mi = u.b1 * m[i] + (1.0 - u.b1) * gi;
  let vi = u.b2 * v[i] + (1.0 - u.b2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = pi - u.step_size * mi / (sqrt(vi) / ${T}(u.sqrt_bc2) + ${T}(u.eps));
}
`;
}

/** SGD with momentum (PyTorch: buf = momentum·buf + g, buf = g on the first step; p -= lr·buf). */
export function sgdWGSL(vec: boolean, momentum: boolean): string {
  return `struct Params { n: u32, lr: f32, momentum: f32, wd: f32, first: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> p: ${arr(vec)};
@group(0) @binding(2) var<storage, read> g: ${arr(vec)};
${momentum ? `@group(0) @binding(3) var<storage, read_write> buf: ${arr(vec)};` : ''}
${mainSignature()} {
  ${flatIndex()}
  if (i >= u.n) { return; }
  let pi = p[i];
  var d = g[i];
  if (u.wd != 0.0) { d += u.wd * pi; }
${
  momentum
    ? `  if (u.first == 0u) { d += u.momentum * buf[i]; }
  buf[i] = d;`
    : ''
}
  p[i] = pi - u.lr * d;
}
`;
}
