// Wall time of one residual-critic forward + backward (parameter gradients) at the paper's
// size: DIM 128, batch 64, 32×32×3. Prints the median after warm-up, and the process CPU time
// (lavapipe runs in this process), which is less sensitive to other load on the machine.
//
//   npx tsx bench/critic_step.ts [--reps 3] [--batch 64] [--dim 128] [--warmup 1]
import * as E from '../engine/index.js';
import { Critic } from '../nn/index.js';
import { benchArgs, intFlag } from './cli.js';

const args = benchArgs('usage: npx tsx bench/critic_step.ts [--reps 3] [--warmup 1] [--batch 64] [--dim 128]', {
  reps: { type: 'string', default: '3' },
  warmup: { type: 'string', default: '1' },
  batch: { type: 'string', default: '64' },
  dim: { type: 'string', default: '128' },
});
const REPS = intFlag('reps', args.reps);
const WARMUP = intFlag('warmup', args.warmup, 0);
const B = intFlag('batch', args.batch);
const DIM = intFlag('dim', args.dim);

await E.initDevice();
E.manualSeed(0);
const critic = new Critic({ dim: DIM });
const x = E.randUniform([B, 3, 32, 32], -1, 1);
console.log(`critic DIM ${DIM}: ${critic.numParameters()} parameters, batch ${B}, adapter ${E.adapterName()}`);

const times: number[] = [];
const cpu: number[] = [];
for (let r = 0; r < WARMUP + REPS; r++) {
  await E.sync();
  const d0 = E.counters.dispatches;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const gs = E.tidy(() => E.grad(E.mean(critic.forward(x)), critic.parameters()));
  await E.sync();
  const ms = performance.now() - t0;
  const cu = process.cpuUsage(c0);
  const cms = (cu.user + cu.system) / 1000;
  E.dispose(gs);
  console.log(
    `${r < WARMUP ? 'warm-up' : 'run'} ${r}: ${ms.toFixed(0)} ms wall, ${cms.toFixed(0)} ms CPU, ${E.counters.dispatches - d0} dispatches`,
  );
  if (r >= WARMUP) {
    times.push(ms);
    cpu.push(cms);
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(
  `median forward+backward: ${median(times).toFixed(0)} ms wall, ${median(cpu).toFixed(0)} ms CPU (${REPS} runs)`,
);
critic.dispose();
x.dispose();
await E.releaseDevice();
