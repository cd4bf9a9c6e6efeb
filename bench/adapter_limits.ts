// What the adapter allows at best, beside what the engine's GEMM gets and PyTorch's CPU matmul:
// the arithmetic ceiling of a kernel that only does fmas in registers (no kernel that also loads
// its operands can beat it), the cost of an empty dispatch by workgroup count, and the engine's
// GEMM at the toy critic's shape in a compiled step, beside PyTorch's one-thread matmul.
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
    await dev.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / n;
  };
}
async function timeRaw(run: (groups: number, n: number) => Promise<number>, groups: number, n: number) {
  await run(groups, 1);
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) ts.push(await run(groups, n));
  return median(ts);
}

// fma chains in registers: 32 vec4 accumulators per lane, 4 fmas each per loop iteration (the
// GEMM's own unrolling; one per iteration runs at half this rate on lavapipe), nothing loaded
const ACC = 32;
const ITERS = 512;
const fmaCode = `@group(0) @binding(0) var<storage, read_write> C: array<vec4<f32>>;
@compute @workgroup_size(8) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m = vec4<f32>(0.999); let c = vec4<f32>(0.001);
${Array.from({ length: ACC }, (_, j) => `  var a${j} = vec4<f32>(f32(gid.x) + ${j}.0);`).join('\n')}
  for (var i = 0u; i < ${ITERS}u; i++) {
${Array.from({ length: ACC }, (_, j) => `    a${j} = fma(a${j}, m, c); a${j} = fma(a${j}, m, c); a${j} = fma(a${j}, m, c); a${j} = fma(a${j}, m, c);`).join('\n')}
  }
  C[gid.x] = ${Array.from({ length: ACC }, (_, j) => `a${j}`).join(' + ')};
}`;
const fmaGroups = 256;
const fmaMs = await timeRaw(rawKernel(fmaCode), fmaGroups, 2);
const fmaGflops = (2 * 4 * 4 * ACC * ITERS * fmaGroups * 8) / fmaMs / 1e6;

const empty = (wg: number) =>
  rawKernel(`@group(0) @binding(0) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(${wg}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) { if (gid.x == 0xffffffffu) { C[0] = 1.0; } }`);
const floor1 = await timeRaw(empty(8), 1, 50);
const floor64x8 = await timeRaw(empty(8), 64, 50);
const floor1024x64 = await timeRaw(empty(64), 1024, 50);

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

// --- PyTorch's matmul at the same shape, one thread, in its own process ---
const PYTHON = '/usr/bin/python3';
const torchScript = `
import time, torch
torch.set_num_threads(1)
a = torch.rand(${M}, 128); b = torch.rand(128, ${N})
for _ in range(20): a @ b
ts = []
for _ in range(${reps}):
    t0 = time.perf_counter()
    for _ in range(50): a @ b
    ts.append((time.perf_counter() - t0) / 50)
print(sorted(ts)[len(ts) // 2] * 1e3)`;
let torch: number | string = `${PYTHON} not found (install Debian's python3 and python3-torch)`;
if (fs.existsSync(PYTHON)) {
  const r = spawnSync(PYTHON, ['-c', torchScript], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  torch = r.status === 0 ? Number(r.stdout.trim()) : `PyTorch failed: ${r.stderr.trim().split('\n').pop()}`;
}

const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
const gf = (ms: number) => `${((2 * M * 128 * N) / ms / 1e6).toFixed(1)} GFLOP/s`;
const peer = typeof torch === 'string' ? '—' : `${us(torch)} (${gf(torch)})`;
console.log(`adapter: ${E.adapterName()}; medians of ${reps}`);
console.log('| measurement | ours (WebGPU) | PyTorch CPU, 1 thread |');
console.log('|---|---:|---:|');
console.log(`| fma ceiling: register-only fma chains, no loads, no stores | ${fmaGflops.toFixed(1)} GFLOP/s | — |`);
console.log(`| empty dispatch, 1 workgroup | ${us(floor1)} | — |`);
console.log(`| empty dispatch, 64 workgroups of 8 (a toy GEMM's grid) | ${us(floor64x8)} | — |`);
console.log(`| empty dispatch, 1024 workgroups of 64 (a 64K-element map) | ${us(floor1024x64)} | — |`);
console.log(
  `| GEMM [512, 128] x [128, 128], 12 chained in a compiled step (per product) | ${us(chained)} (${gf(chained)}) | ${peer} |`,
);
if (typeof torch === 'string') console.log(`PyTorch: ${torch}`);
E.releaseDevice();
