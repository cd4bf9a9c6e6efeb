// What the adapter allows at best, beside what the engine's GEMM gets and PyTorch's CPU matmul:
// the arithmetic ceiling of a kernel that only does fmas in registers (no kernel that also loads
// its operands can beat it), the cost of an empty dispatch by workgroup count, and the engine's
// GEMM at the toy critic's shape in a compiled step, beside PyTorch's matmul on one and two threads.
//   npx tsx bench/adapter_limits.ts [--reps 9]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import * as E from '../engine/index.js';
import { benchArgs, intFlag } from './cli.js';

const args = benchArgs('usage: npx tsx bench/adapter_limits.ts [--reps 9]', { reps: { type: 'string', default: '9' } });
const reps = intFlag('reps', args.reps);

await E.initDevice();
const dev = E.device();
const median = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1];

// --- raw kernels, dispatched back to back in one pass ---
const sink = dev.createBuffer({ size: 1 << 20, usage: GPUBufferUsage.STORAGE });
function rawKernel(code: string) {
  const module = dev.createShaderModule({ code });
  const pipeline = dev.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bindGroup = dev.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: sink } }],
  });
  return async (groups: number, n: number): Promise<number> => {
    const t0 = performance.now();
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < n; i++) {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(groups);
    }
    pass.end();
    dev.queue.submit([enc.finish()]);
    // the engine's wait: a bare await on a Dawn promise spins the main thread, and on a software
    // adapter that takes a core from the kernels (it halved this table's fma ceiling)
    await E.sync();
    return (performance.now() - t0) / n;
  };
}
async function timeRaw(run: (groups: number, n: number) => Promise<number>, groups: number, n: number) {
  await run(groups, 1);
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) ts.push(await run(groups, n));
  return median(ts);
}

// fma chains in registers, nothing loaded: lavapipe gives each lane's value its own vector
// register across 8 lanes (f32: one register, vec4: four), so the ceiling is the best of a few
// chain counts (too few leave the fma latency exposed, too many spill)
const ITERS = 1024;
function fmaCode(type: 'f32' | 'vec4<f32>', chains: number): string {
  const acc = Array.from({ length: chains }, (_, j) => `a${j}`);
  return `@group(0) @binding(0) var<storage, read_write> C: array<${type}>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m = ${type}(C[4096u]); let c = ${type}(C[4097u]);
${acc.map((a, j) => `  var ${a} = ${type}(f32(gid.x) + ${j}.0);`).join('\n')}
  for (var i = 0u; i < ${ITERS / 4}u; i++) {
${Array.from({ length: 4 }, () => acc.map((a) => `    ${a} = fma(${a}, m, c);`).join('\n')).join('\n')}
  }
  C[gid.x] = ${acc.join(' + ')};
}`;
}
const fmaGroups = 256;
const fmaShapes: ['f32' | 'vec4<f32>', number][] = [
  ['f32', 8],
  ['f32', 16],
  ['f32', 32],
  ['vec4<f32>', 4],
];
const fmaRates: string[] = [];
let fmaGflops = 0;
for (const [type, chains] of fmaShapes) {
  const ms = await timeRaw(rawKernel(fmaCode(type, chains)), fmaGroups, 2);
  const gflops = (2 * (type === 'f32' ? 1 : 4) * chains * ITERS * fmaGroups * 64) / ms / 1e6;
  fmaRates.push(`${chains} ${type}: ${gflops.toFixed(1)}`);
  fmaGflops = Math.max(fmaGflops, gflops);
}

const empty = (wg: number) =>
  rawKernel(`@group(0) @binding(0) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(${wg}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) { if (gid.x == 0xffffffffu) { C[0] = 1.0; } }`);
// 200 per submit, so the wait's short naps add little to each
const floor1 = await timeRaw(empty(8), 1, 200);
const floor64x8 = await timeRaw(empty(8), 64, 200);
const floor1024x64 = await timeRaw(empty(64), 1024, 200);

// --- the engine's GEMM at the toy critic's shape inside a compiled step: 12 chained products
// per replay (the kernel the tuner picked, its dispatch, no host work) ---
const M = 512;
const N = 128;
async function compiledChain(): Promise<number> {
  const x = E.keep(E.randUniform([M, 128], -1, 1));
  const w = E.keep(E.randUniform([128, N], -0.1, 0.1));
  const step = E.compile(() => {
    let y = x;
    for (let i = 0; i < 12; i++) y = E.matmul(y, w);
    return y;
  });
  const once = () => E.dispose(step() as E.Tensor);
  for (let i = 0; i < 12; i++) {
    once();
    await E.endStep();
  }
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    await E.sync();
    const t0 = performance.now();
    once();
    await E.sync();
    ts.push((performance.now() - t0) / 12);
  }
  step.dispose();
  E.dispose([x, w]);
  return median(ts);
}
const chained = await compiledChain();

// --- PyTorch's matmul at the same shape in its own process, on 1 and on 2 threads. OpenBLAS
// keeps its own thread pool, which torch.set_num_threads does not reach: without
// OPENBLAS_NUM_THREADS its "one thread" matmul runs on both cores ---
const PYTHON = '/usr/bin/python3';
const torchScript = (threads: number) => `
import time, torch
torch.set_num_threads(${threads})
a = torch.rand(${M}, 128); b = torch.rand(128, ${N})
for _ in range(20): a @ b
ts = []
for _ in range(${reps}):
    t0 = time.perf_counter()
    for _ in range(50): a @ b
    ts.append((time.perf_counter() - t0) / 50)
print(sorted(ts)[len(ts) // 2] * 1e3)`;
function torchMatmul(threads: number): number | string {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found (install Debian's python3 and python3-torch)`;
  const n = String(threads);
  const r = spawnSync(PYTHON, ['-c', torchScript(threads)], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n },
  });
  return r.status === 0 ? Number(r.stdout.trim()) : `PyTorch failed: ${r.stderr.trim().split('\n').pop()}`;
}
const torch = [torchMatmul(1), torchMatmul(2)];

const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
const gf = (ms: number) => `${((2 * M * 128 * N) / ms / 1e6).toFixed(1)} GFLOP/s`;
const peer = (t: number | string) => (typeof t === 'string' ? '—' : `${us(t)} (${gf(t)})`);
console.log(`adapter: ${E.adapterName()}; medians of ${reps}`);
console.log('| measurement | ours (WebGPU, both cores) | PyTorch CPU, 1 thread | PyTorch CPU, 2 threads |');
console.log('|---|---:|---:|---:|');
console.log(
  `| fma ceiling: register-only fma chains, no loads, no stores (best of ${fmaRates.join(', ')}) | ${fmaGflops.toFixed(1)} GFLOP/s | — | — |`,
);
console.log(`| empty dispatch, 1 workgroup | ${us(floor1)} | — | — |`);
console.log(`| empty dispatch, 64 workgroups of 8 (a toy GEMM's grid) | ${us(floor64x8)} | — | — |`);
console.log(`| empty dispatch, 1024 workgroups of 64 (a 64K-element map) | ${us(floor1024x64)} | — | — |`);
console.log(
  `| GEMM [512, 128] x [128, 128], 12 chained in a compiled step (per product) | ${us(chained)} (${gf(chained)}) | ${peer(torch[0])} | ${peer(torch[1])} |`,
);
for (const t of torch) if (typeof t === 'string') console.log(`PyTorch: ${t}`);
E.releaseDevice();
