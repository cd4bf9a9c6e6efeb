// conv2d forward / input-gradient / weight-gradient throughput per kernel variant, as a
// markdown table, at the WGAN residual critic's shapes (batch 64, 128 channels).
//   npx tsx bench/conv.ts [--full] [--reps N]
// On a CPU adapter (lavapipe) the 'tiled' kernels run at about 1 GFLOP/s, so by default they
// are timed only on the small workloads (1 rep); --full times everything.
// GFLOP/s counts the direct convolution's 2·N·O·Ho·Wo·C·kh·kw, also where the 3x3 layers run as
// Winograd (which does fewer). "CPU ms" is this process's CPU time per call: on a software
// adapter the shaders run on the process's own threads, so it stays meaningful when other jobs
// share the cores (with two idle cores, wall ≈ CPU / 2).
import os from 'node:os';
import {
  adapterName,
  deviceInfo,
  conv2d,
  conv2dInputGrad,
  conv2dWeightGrad,
  dispose,
  initDevice,
  randUniform,
  releaseDevice,
  sync,
  type Tensor,
} from '../engine/index.js';
import { isCpuAdapter, setOption } from '../engine/index.js';
import { benchArgs, intFlag } from './cli.js';

const USAGE = `usage: npx tsx bench/conv.ts [--full] [--reps N]`;

const args = benchArgs(USAGE, { full: { type: 'boolean', default: false }, reps: { type: 'string', default: '3' } });
const full = args.full;
const reps = intFlag('reps', args.reps);

interface Workload {
  name: string;
  x: number[];
  w: number[];
  padding: number;
}
const WORKLOADS: Workload[] = [
  { name: '3x3, 16x16', x: [64, 128, 16, 16], w: [128, 128, 3, 3], padding: 1 },
  { name: '3x3, 32x32', x: [64, 128, 32, 32], w: [128, 128, 3, 3], padding: 1 },
  { name: '3x3, 8x8', x: [64, 128, 8, 8], w: [128, 128, 3, 3], padding: 1 },
  { name: '1x1, 16x16', x: [64, 128, 16, 16], w: [128, 128, 1, 1], padding: 0 },
  { name: '1x1, 32x32', x: [64, 128, 32, 32], w: [128, 128, 1, 1], padding: 0 },
  { name: '3x3, 3→128, 32x32', x: [64, 3, 32, 32], w: [128, 3, 3, 3], padding: 1 },
];
const OPS = ['forward', 'input grad', 'weight grad'] as const;
const ENV = ['ALR_VARIANT_CONV2D', 'ALR_VARIANT_CONV2DINPUTGRAD', 'ALR_VARIANT_CONV2DWEIGHTGRAD'];
/** tiled kernels on a CPU adapter: only problems up to this many FLOPs unless --full */
const CPU_TILED_FLOPS = 1.5e9;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

await initDevice();
const cpuAdapter = isCpuAdapter();
console.log(`# conv2d, ${adapterName()}\n`);
console.log(
  `NCHW f32, stride 1; 3x3 layers with >= 8 channels run as Winograd F(4x4, 3x3); median of ${reps} runs after one ` +
    `warm-up (tiled on a CPU adapter: one run unless --full); ` +
    `load average at start ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores\n`,
);
console.log('| workload | op | variant | median ms | GFLOP/s | CPU ms |');
console.log('|---|---|---|---:|---:|---:|');
for (const wl of WORKLOADS) {
  const [N, , H, W] = wl.x;
  const [O, C, kh, kw] = wl.w;
  const opts = { padding: wl.padding };
  const Ho = H + 2 * wl.padding - kh + 1;
  const Wo = W + 2 * wl.padding - kw + 1;
  const flops = 2 * N * O * Ho * Wo * C * kh * kw;
  const x = randUniform(wl.x, -1, 1);
  const w = randUniform(wl.w, -0.1, 0.1);
  const gy = randUniform([N, O, Ho, Wo], -1, 1);
  const call: Record<(typeof OPS)[number], () => Tensor> = {
    forward: () => conv2d(x, w, null, opts),
    'input grad': () => conv2dInputGrad(gy, w, wl.x, opts),
    'weight grad': () => conv2dWeightGrad(x, gy, wl.w, opts),
  };
  for (const op of OPS) {
    for (const variant of ['register', 'tiled', ...(deviceInfo().subgroupSize ? ['subgroup'] : [])]) {
      if (variant === 'tiled' && cpuAdapter && !full && flops > CPU_TILED_FLOPS) {
        console.log(`| ${wl.name} | ${op} | ${variant} | skipped (--full) | | |`);
        continue;
      }
      // tune.ts reads these on every call; 'subgroup' (Winograd GEMMs only) is set globally so the
      // direct kernels, which lack it, keep their default
      for (const k of ENV) setOption(k, variant === 'subgroup' ? undefined : variant);
      setOption('ALR_VARIANT', variant === 'subgroup' ? variant : undefined);
      const n = variant === 'tiled' && cpuAdapter && !full ? 1 : reps;
      const wall: number[] = [];
      const cpu: number[] = [];
      for (let r = 0; r <= n; r++) {
        await sync();
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const out = call[op]();
        await sync();
        const t = performance.now() - t0;
        const cu = process.cpuUsage(c0);
        out.dispose();
        if (r === 0) continue; // warm-up: pipeline compilation
        wall.push(t);
        cpu.push((cu.user + cu.system) / 1000);
      }
      const ms = median(wall);
      console.log(
        `| ${wl.name} | ${op} | ${variant} | ${ms.toFixed(1)} | ${(flops / (ms * 1e6)).toFixed(2)} | ${median(cpu).toFixed(0)} |`,
      );
    }
  }
  dispose([x, w, gy]);
}
for (const k of [...ENV, 'ALR_VARIANT']) setOption(k, undefined);
await releaseDevice();
