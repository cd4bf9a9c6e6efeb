// One critic step (loss, parameter gradients, Adam update) per regulariser: wall time (median
// after warm-up), dispatches and peak pooled memory. Spec §2-3 / paper §3.3: ALP with k = 1
// should cost about as much as GP or LP, without a second-order graph.
//
//   npx tsx bench/critic_steps.ts [--reps 3] [--batch 256] [--only mlp|resnet] [--resnet-batch 16]
import * as E from '../engine/index.js';
import * as A from '../alr/index.js';
import * as T from './conformance/toy_critics.js';
import { withoutStatUpdates, type Module } from '../nn/module.js';
import { toyCritic } from '../nn/toy.js';
import { Critic as ResidualCritic } from '../nn/wgan.js';
import { benchArgs, intFlag } from './cli.js';

/** nn's Module seen through alr's Critic interface. */
const fromModule = (m: Module): A.Critic => ({
  forward: (x) => m.forward(x),
  parameters: () => m.parameters(),
  withoutStatUpdates,
});

const args = benchArgs(
  'usage: npx tsx bench/critic_steps.ts [--reps 3] [--batch 256] [--only mlp|resnet] [--resnet-batch 16]',
  {
    reps: { type: 'string', default: '3' },
    batch: { type: 'string', default: '256' },
    only: { type: 'string', default: '' },
    'resnet-batch': { type: 'string', default: '16' },
  },
);
if (!['', 'mlp', 'resnet'].includes(args.only)) {
  console.error(`--only: expected mlp or resnet, got '${args.only}'`);
  process.exit(1);
}
const REPS = intFlag('reps', args.reps);
const WARMUP = 1;

type LossFn = (c: A.Critic, real: E.Tensor, fake: E.Tensor) => E.Tensor;
const methods: [string, LossFn][] = [
  ['none (WGAN)', (c, r, f) => A.criticGanLoss('wgan', A.criticScores(c, r, 'bench'), A.criticScores(c, f, 'bench'))],
  ['ALP k=0', (c, r, f) => A.wganAlpCriticLoss(c, r, f, { k: 0 }).loss],
  ['ALP k=1', (c, r, f) => A.wganAlpCriticLoss(c, r, f, { k: 1 }).loss],
  ['ALP k=1 shared D(x)', (c, r, f) => A.wganAlpCriticLoss(c, r, f, { k: 1, sharedForward: true }).loss],
  ['ALP k=5', (c, r, f) => A.wganAlpCriticLoss(c, r, f, { k: 5 }).loss],
  ['GP', (c, r, f) => A.wganGpCriticLoss(c, r, f, { penalty: 'gp' }).loss],
  ['LP', (c, r, f) => A.wganGpCriticLoss(c, r, f, { penalty: 'lp' }).loss],
];

interface Row {
  critic: string;
  method: string;
  ms: number;
  dispatches: number;
  peakMiB: number;
  secondOrder: number;
}

/**
 * Methods run round-robin (one step of each per round), so a machine shared with other work
 * slows them alike and the ratios stay meaningful.
 */
async function benchCritic(
  name: string,
  critic: A.Critic,
  real: E.Tensor,
  fake: E.Tensor,
  extra: [string, A.Critic][] = [],
): Promise<Row[]> {
  // every method gets the same critic; extra critics (e.g. spectrally normalised) run with no penalty
  const runs: [string, A.Critic, LossFn][] = [
    ...methods.map(([method, fn]): [string, A.Critic, LossFn] => [method, critic, fn]),
    ...extra.map(([method, c]): [string, A.Critic, LossFn] => [method, c, methods[0][1]]),
  ];
  const opts = runs.map(([, c]) => new E.Adam(c.parameters(), { lr: 1e-4, betas: [0.5, 0.9] }));
  const rows: Row[] = runs.map(([method]) => ({
    critic: name,
    method,
    ms: 0,
    dispatches: 0,
    peakMiB: 0,
    secondOrder: 0,
  }));
  const times: number[][] = runs.map(() => []);
  for (let round = 0; round < WARMUP + REPS; round++) {
    for (const [m, [, c, lossFn]] of runs.entries()) {
      E.resetPeakMemory();
      const d0 = E.counters.dispatches;
      const s0 = E.tapeStats.recordedDuringBackward;
      const t0 = performance.now();
      E.tidy(() => opts[m].step(E.grad(lossFn(c, real, fake), c.parameters())));
      await E.sync();
      if (round < WARMUP) continue; // compiles kernels, picks variants
      times[m].push(performance.now() - t0);
      rows[m].dispatches = E.counters.dispatches - d0;
      rows[m].secondOrder = E.tapeStats.recordedDuringBackward - s0;
      rows[m].peakMiB = Math.max(rows[m].peakMiB, E.memoryStats().peakBytesInUse / 2 ** 20);
    }
    console.error(`${name}: round ${round + 1}/${WARMUP + REPS}`);
  }
  rows.forEach((r, m) => (r.ms = times[m].sort((a, b) => a - b)[times[m].length >> 1]));
  opts.forEach((o) => o.dispose());
  return rows;
}

await E.initDevice();
const only = args.only;
const all: Row[] = [];
if (!only || only === 'mlp') {
  // the WGAN-GP toy critic (gan_toy.py): 2 -> 512 x3 -> 1, batch 256 reals + 256 fakes
  const B = intFlag('batch', args.batch);
  const critic = T.mlpCritic(T.randomDenseLayers([2, 512, 512, 512, 1], 1));
  E.manualSeed(2);
  const sn = fromModule(toyCritic(512, { spectralNorm: true }));
  all.push(
    ...(await benchCritic(`MLP 2-512x3-1, B=${B}`, critic, E.randNormal([B, 2]), E.randNormal([B, 2]), [
      ['SN (no penalty)', sn],
    ])),
  );
}
if (!only || only === 'resnet') {
  // nn's WGAN-GP residual critic at toy scale: DIM 32, 3x16x16 images in [-1, 1]
  const B = intFlag('resnet-batch', args['resnet-batch']);
  E.manualSeed(3);
  const critic = fromModule(new ResidualCritic({ dim: 32, inChannels: 3 }));
  const img = () => E.randUniform([B, 3, 16, 16], -1, 1);
  all.push(...(await benchCritic(`residual critic DIM 32, 16x16, B=${B}`, critic, img(), img())));
}

const gpOf = (critic: string) => all.find((r) => r.critic === critic && r.method === 'GP')!.ms;
console.log(
  `adapter: ${E.adapterName()}; median of ${REPS} steps after ${WARMUP} warm-up; one step = loss + parameter gradients + Adam\n`,
);
console.log('| critic | method | ms / step | × GP | dispatches | peak MiB | 2nd-order nodes |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of all) {
  console.log(
    `| ${r.critic} | ${r.method} | ${r.ms.toFixed(1)} | ${(r.ms / gpOf(r.critic)).toFixed(2)} | ${r.dispatches} | ${r.peakMiB.toFixed(1)} | ${r.secondOrder} |`,
  );
}
for (const c of [...new Set(all.map((r) => r.critic))]) {
  const alp = all.find((r) => r.critic === c && r.method === 'ALP k=1')!.ms;
  console.log(`\nALP(k=1) / GP time ratio, ${c}: ${(alp / gpOf(c)).toFixed(2)}`);
}
await E.releaseDevice();
