// Square matmul throughput per kernel variant, as a markdown table.
//   npx tsx bench/matmul.ts [--full] [--reps N]
// --full adds 2048 (slow on lavapipe: the tiled kernel needs minutes there).
// "CPU ms" is this process's CPU time per call: on a software adapter (lavapipe) the shader
// runs on the process's own threads, so it stays meaningful when other jobs share the cores.
import os from 'node:os';
import {
  adapterName,
  deviceInfo,
  dispose,
  initDevice,
  matmul,
  randUniform,
  releaseDevice,
  setOption,
  sync,
  type Tensor,
} from '../engine/index.js';
import { benchArgs, intFlag } from './cli.js';

const USAGE = `usage: npx tsx bench/matmul.ts [--full] [--reps N]`;

const args = benchArgs(USAGE, { full: { type: 'boolean', default: false }, reps: { type: 'string', default: '5' } });
const full = args.full;
const reps = intFlag('reps', args.reps);
const sizes = full ? [256, 512, 1024, 2048] : [256, 512, 1024];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

await initDevice();
const variants = ['register', 'tiled', ...(deviceInfo().subgroupSize ? ['subgroup'] : [])];
console.log(`# matmul, ${adapterName()}\n`);
console.log(
  `median of ${reps} runs after one warm-up; f32, C = A·B, all matrices S×S; load average at start ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores\n`,
);
console.log('| S | variant | median ms | GFLOP/s | CPU ms |');
console.log('|---:|---|---:|---:|---:|');
for (const s of sizes) {
  const a = randUniform([s, s], -1, 1);
  const b = randUniform([s, s], -1, 1);
  for (const v of variants) {
    setOption('ALR_VARIANT_MATMUL', v); // the tuner reads it on every call
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r <= reps; r++) {
      await sync();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const c: Tensor = matmul(a, b);
      await sync();
      const t = performance.now() - t0;
      const cu = process.cpuUsage(c0);
      c.dispose();
      if (r === 0) continue; // warm-up: pipeline compilation
      wall.push(t);
      cpu.push((cu.user + cu.system) / 1000);
    }
    const ms = median(wall);
    const gflops = (2 * s ** 3) / (ms * 1e6);
    console.log(`| ${s} | ${v} | ${ms.toFixed(2)} | ${gflops.toFixed(2)} | ${median(cpu).toFixed(1)} |`);
  }
  dispose([a, b]);
}
setOption('ALR_VARIANT_MATMUL', undefined);
await releaseDevice();
