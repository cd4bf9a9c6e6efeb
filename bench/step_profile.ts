// Where one critic step's time goes, pass by pass: each critic call and the parameter backward
// is a profiler section; per section, the GPU time of its forward and backward dispatches, the
// dispatch count and the kernels that dominate. Also the step's wall time unprofiled and the
// host time spent recording it (JavaScript, before the GPU starts on the single submit).
// bench/peers/torch_profile.py prints the same accounting for PyTorch.
//
//   npx tsx bench/step_profile.ts [--critic resnet|mlp] [--method alp|gp] [--half 8] [--reps 3]
//       [--log-steps]  each timed step's wall and CPU time     [--section 2]  one section's kernels
//       [--compiled]   the step as a compiled step (E.compile): fused kernels, replayed; a replay
//                      has no sections, so its profile is one table of kernels
import * as E from '../engine/index.js';
import * as A from '../alr/index.js';
import { toyCritic } from '../nn/toy.js';
import { Critic as ResidualCritic } from '../nn/wgan.js';
import { benchArgs, intFlag } from './cli.js';

const USAGE =
  'usage: npx tsx bench/step_profile.ts [--critic resnet|mlp] [--method alp|gp] [--half 8] [--reps 3] [--log-steps] [--section <prefix>] [--compiled]';
const args = benchArgs(USAGE, {
  critic: { type: 'string', default: 'resnet' },
  method: { type: 'string', default: 'alp' },
  half: { type: 'string', default: '8' },
  reps: { type: 'string', default: '3' },
  'log-steps': { type: 'boolean', default: false },
  section: { type: 'string', default: '' },
  compiled: { type: 'boolean', default: false },
});
function fail(msg: string): never {
  console.error(msg);
  process.exit(1);
}
if (!['resnet', 'mlp'].includes(args.critic)) fail(`--critic: expected resnet or mlp, got '${args.critic}'`);
if (!['alp', 'gp'].includes(args.method)) fail(`--method: expected alp or gp, got '${args.method}'`);
const HALF = intFlag('half', args.half);
const REPS = intFlag('reps', args.reps);

await E.initDevice();
E.manualSeed(0);
const resnet = args.critic === 'resnet';
// the toy experiments' critic and step (experiments/toy_wgan.ts): no shared D(x), no clipping
/** the MLP width of experiments/toy_wgan.ts's default run (--dim 128) */
const TOY_DIM = 128;
const net = resnet ? new ResidualCritic({ dim: 128 }) : toyCritic(TOY_DIM);
const inShape = resnet ? [HALF, 3, 32, 32] : [HALF, 2];
const real = E.keep(E.randUniform(inShape, -1, 1));
const fake = E.keep(E.randUniform(inShape, -1, 1));
const params = net.parameters();
const opt = new E.Adam(params, { lr: 1e-4, betas: [0, 0.9] });

// the order in which alr's losses call the critic (see alr/wgan.ts, alr/baselines.ts)
const CALLS = {
  alp: [...(resnet ? [] : ['D(real)', 'D(fake)']), 'D(x), x = [real; fake]', 'search: D(x + ξr) and ∇_r', 'D(x̂)'],
  gp: ['D(real)', 'D(fake)', 'D(x̃) and ∇_x̃ (recorded)'],
}[args.method as 'alp' | 'gp'];
let call = 0;
const critic: A.Critic = {
  parameters: () => net.parameters(),
  forward: (x) => {
    E.profileSection(`${call + 1}. ${CALLS[call] ?? `call ${call + 1}`}  [${x.shape[0]}]`);
    call++;
    return net.forward(x);
  },
};
// the bench's critic steps (bench/suites/ours.ts)
const loss = () =>
  args.method === 'gp'
    ? A.wganGpCriticLoss(critic, real, fake).loss
    : A.wganAlpCriticLoss(critic, real, fake, { clip: resnet ? [-1, 1] : null, sharedForward: resnet }).loss;

function eagerStep(): void {
  call = 0;
  E.tidy(() => {
    const l = loss();
    E.profileSection(`${CALLS.length + 1}. parameter backward`);
    const gs = E.grad(l, params);
    E.profileSection(`${CALLS.length + 2}. Adam`);
    opt.step(gs);
  });
}
const compiled = E.compile(eagerStep, { enabled: args.compiled });

function step(): { recordMs: number } {
  const t0 = performance.now();
  compiled();
  return { recordMs: performance.now() - t0 };
}

const walls: number[] = [];
const records: number[] = [];
for (let r = 0; r < 2 + REPS; r++) {
  await E.sync();
  const d0 = E.counters.dispatches;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const { recordMs } = step();
  await E.sync();
  if (r < 2) continue; // compiles, tunes
  walls.push(performance.now() - t0);
  records.push(recordMs);
  if (args['log-steps']) {
    const c = process.cpuUsage(c0);
    console.error(
      `step ${r - 1}: ${walls[walls.length - 1].toFixed(0)} ms, CPU ${((c.user + c.system) / 1000).toFixed(0)} ms`,
    );
  }
  if (r === 2) console.error(`${E.counters.dispatches - d0} dispatches per step`);
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
/** One line per kernel (backward ones marked): calls and ms. */
const byKernel = (rs: E.KernelTime[]) => E.groupProfile(rs, (r) => `${r.backward ? 'bwd ' : ''}${r.kernel}`);

E.startProfile();
step();
const rows = await E.stopProfile();
const gpu = rows.reduce((s, r) => s + r.totalMs, 0);

console.log(
  `## ${args.method.toUpperCase()} critic step${args.compiled ? ' (compiled)' : ''}, ${resnet ? 'residual critic DIM 128' : `MLP 2-${TOY_DIM}x3-1`}, B ${HALF}+${HALF}`,
);
if (args.compiled)
  console.log(
    `${compiled.stats.dispatches} dispatches per replay (${compiled.stats.recordedDispatches} recorded, ${compiled.stats.skippedDispatches} of them skipped: unread, constant or rebuilt by copies, ${compiled.fusion?.kernels.length ?? 0} fused kernels); fallback: ${compiled.fallbackReason ?? 'none'}; ${(compiled.stats.flops / 1e6).toFixed(1)} MFLOP in matrix products and convolutions, ${(compiled.stats.flops / median(walls) / 1e6).toFixed(1)} GFLOP/s over the median wall`,
  );
console.log(
  `adapter ${E.adapterName()}; wall ${median(walls).toFixed(1)} ms (median of ${REPS}), of which recording on the host ${median(records).toFixed(1)} ms; GPU ${gpu.toFixed(1)} ms (profiled run, one pass per dispatch)\n`,
);
console.log('| section | fwd ms | bwd ms | dispatches | main kernels (ms) |');
console.log('|---|---:|---:|---:|---|');
for (const s of [...new Set(rows.map((r) => r.section))].sort()) {
  const mine = rows.filter((r) => r.section === s);
  const f = mine.filter((r) => !r.backward).reduce((a, r) => a + r.totalMs, 0);
  const b = mine.filter((r) => r.backward).reduce((a, r) => a + r.totalMs, 0);
  const n = mine.reduce((a, r) => a + r.calls, 0);
  const top = byKernel(mine)
    .slice(0, 4)
    .map((k) => `${k.key} ×${k.calls} ${k.totalMs.toFixed(1)}`)
    .join(', ');
  console.log(`| ${s} | ${f.toFixed(1)} | ${b.toFixed(1)} | ${n} | ${top} |`);
}
console.log('\n' + E.formatProfile(rows).split('\n').slice(0, 14).join('\n'));
if (args.section) {
  const mine = byKernel(rows.filter((r) => r.section.startsWith(args.section)));
  console.log(
    `\nsection ${args.section}:\n` + mine.map((k) => `${k.key} ×${k.calls} ${k.totalMs.toFixed(2)}`).join('\n'),
  );
}
compiled.dispose();
opt.dispose();
net.dispose();
E.dispose([real, fake]);
await E.releaseDevice();
