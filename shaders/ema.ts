// Exponential moving average of parameters: e ← e + w·(p − e), w = 1 − decay (torch's
// `ema.lerp_(p, 1 - decay)`), over `count` tensor pairs in one dispatch. Pair j binds e, p at
// 2j+1, 2j+2 and owns counts[j] invocations from starts[j], a multiple of the workgroup size, so
// the choice of pair is uniform per workgroup (as the Adam kernel; see shaders/optim.ts).
import { dimAt, read, write, WG, type KernelDecl } from './kernel.js';

export function emaKernel(vec: boolean, count: number): KernelDecl {
  if (count < 1 || count > 8) throw new Error(`ema: 1 to 8 tensors per dispatch, got ${count}`);
  const T = vec ? 'vec4<f32>' : 'f32';
  const ts = [...Array(count).keys()];
  const at = (field: string, j: number) => dimAt(`u.${field}`, `${j}u`);
  const branch = (j: number) => `{
    let k = i - ${at('starts', j)};
    if (k < ${at('counts', j)}) {
      let e = e${j}[k];
      e${j}[k] = e + ${T}(u.w) * (p${j}[k] - e);
    }
  }`;
  const chain = ts
    .map((j) => (j + 1 < count ? `if (first < ${at('starts', j + 1)}) ${branch(j)}` : branch(j)))
    .join(' else ');
  return {
    params: 'w: f32, starts: array<vec4<u32>, 2>, counts: array<vec4<u32>, 2>',
    buffers: ts.flatMap((j) => [write(`e${j}`, T), read(`p${j}`, T)]),
    builtins: ['gid', 'wid', 'nwg'],
    body: `
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  let first = (wid.x + wid.y * nwg.x) * ${WG}u; // the workgroup's first index: uniform
  ${chain}`,
  };
}
