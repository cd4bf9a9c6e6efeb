// Toy WGANs on WGAN-GP's 2-D datasets (8gaussians, 25gaussians, swissroll) with a selectable
// Lipschitz regulariser: ALP (the paper's), GP, LP, spectral norm, weight clipping or none.
//
//   npx tsx experiments/toy_wgan.ts --dataset 8gaussians --reg alp --iters 2000 --out out/toy
//   npx tsx experiments/toy_wgan.ts --reg lp --penalty-norm linf --loss hinge --ema 0.999 --out out/toy_lp
//
// --loss picks the GAN loss (wgan, hinge, standard, leastSquares), --penalty-norm the norm of ∇D
// in the GP / LP penalty (l2, linf, l1), and --ema <decay> keeps an EMA of the generator's weights
// (updated inside the compiled iteration, checkpointed, scored beside the raw generator: ema*
// metrics and ema_samples_<iter>.png, from the same z as the raw generator's).
//
// Writes to --out: metrics.jsonl (one row per --every generator steps), samples_<iter>.png
// (real and generated samples over the critic's contour lines), samples.png (the latest),
// curves.png, summary.json, and checkpoint.safetensors (resumable with --resume).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as E from '../engine/index.js';
import { Adam } from '../engine/index.js';
import { EMA, toyCritic, toyGenerator, type MLP } from '../nn/index.js';
import {
  adversarialLipschitzPenalty,
  clipWeights,
  criticStepMonitors,
  gradNormAtInterpolates,
  uniformEps,
  WGAN_ALP_DEFAULTS,
  wganAlpCriticLoss,
  type Critic,
} from '../alr/index.js';
import { asCritic } from '../nn/index.js';
import { toySampler, TOY_DATASETS, type ToyDataset } from './common/toy_data.js';
import { exactW1, modeCoverage } from './common/toy_metrics.js';
import { saveLines, saveSampleChart } from './common/plot.js';
import { scatterSpec } from './training/chart.js';
import {
  ensureDir,
  intArg,
  main,
  memoryFields,
  numArg,
  PROBE_ARG,
  NONNEG_ARG,
  program,
  writeJson,
  writeConfig,
} from './training/run.js';
import { requireFinite, stopIfNonFinite } from './training/guard.js';
import { plainCriticLoss, runWganLoop, type EvaluationContext } from './training/wgan_loop.js';
import {
  alpLossUnder,
  emaWarning,
  GAN_FLAG_DEFAULTS,
  ganFlagOptions,
  ganFlags,
  generatorLossUnder,
  gradPenaltyCriticLoss,
  type GanFlags,
} from './common/gan_options.js';

export const REGULARISERS = ['alp', 'gp', 'lp', 'sn', 'clip', 'none'] as const;
export type Regulariser = (typeof REGULARISERS)[number];

export interface ToyWganOptions extends GanFlags {
  dataset: ToyDataset;
  reg: Regulariser;
  /** generator iterations */
  iters: number;
  criticIters: number;
  batch: number;
  dim: number;
  /** penalty weight; default per regulariser (ALP 100 as the paper, GP/LP 0.1 as gan_toy.py) */
  lambda?: number;
  /** ALP: power iterations, ξ, ε range */
  k: number;
  xi: number;
  epsMin: number;
  epsMax: number;
  lr: number;
  every: number;
  seed: number;
  out: string;
  resume: boolean;
  progress: boolean;
  /** run every op eagerly instead of replaying the captured iteration (same results, slower) */
  eager?: boolean;
}

export const TOY_DEFAULTS: Omit<ToyWganOptions, 'out'> = {
  dataset: '8gaussians',
  reg: 'alp',
  iters: 2000,
  criticIters: 5,
  batch: 256,
  dim: 128,
  k: WGAN_ALP_DEFAULTS.k,
  xi: WGAN_ALP_DEFAULTS.xi,
  epsMin: WGAN_ALP_DEFAULTS.eps.min,
  epsMax: WGAN_ALP_DEFAULTS.eps.max,
  lr: 1e-4,
  every: 100,
  seed: 0,
  resume: false,
  progress: true,
  ...GAN_FLAG_DEFAULTS,
};

export function defaultLambda(reg: Regulariser): number {
  return reg === 'alp' ? 100 : 0.1;
}

const FRAME = { xMin: -3, xMax: 3, yMin: -3, yMax: 3 };
const GRID = 96;

/** Critic values on a GRID×GRID lattice over FRAME, row 0 at the top (for contour lines). */
function criticField(critic: Critic): E.Tensor {
  const pts = new Float32Array(2 * GRID * GRID);
  for (let i = 0; i < GRID; i++) {
    for (let j = 0; j < GRID; j++) {
      pts[2 * (i * GRID + j)] = FRAME.xMin + ((FRAME.xMax - FRAME.xMin) * j) / (GRID - 1);
      pts[2 * (i * GRID + j) + 1] = FRAME.yMax - ((FRAME.yMax - FRAME.yMin) * i) / (GRID - 1);
    }
  }
  return E.tidy(() => E.noGrad(() => critic.forward(E.tensor(pts, [GRID * GRID, 2]))));
}

export interface ToyWganSummary {
  dataset: ToyDataset;
  reg: Regulariser;
  lambda: number;
  iters: number;
  wallSeconds: number;
  final: Record<string, number>;
  picture: string;
}

export async function runToyWgan(o: ToyWganOptions): Promise<ToyWganSummary> {
  if (!(o.iters >= 1 && o.criticIters >= 1 && o.batch >= 2 && o.dim >= 1 && o.every >= 1)) {
    throw new Error(
      `toy_wgan: iters, critic-iters, dim and every must be >= 1 and batch >= 2 (got ${JSON.stringify(o)})`,
    );
  }
  const lambda = o.lambda ?? defaultLambda(o.reg);
  // λ in titles only where a penalty uses it (SN, clipping and none have no penalty)
  const penaltyText = ['alp', 'gp', 'lp'].includes(o.reg) ? ` λ=${lambda}` : '';
  ensureDir(o.out);
  writeConfig(o.out, o);
  E.manualSeed(o.seed);
  const sampler = toySampler(o.dataset, o.seed + 1);
  const G: MLP = toyGenerator(o.dim);
  const D: MLP = o.reg === 'sn' ? toySnCritic(o.dim) : toyCritic(o.dim);
  const critic = asCritic(D);
  const optG = new Adam(G.parameters(), { lr: o.lr, betas: [0.5, 0.9] });
  const optD = new Adam(D.parameters(), { lr: o.lr, betas: [0.5, 0.9] });
  const ema = o.ema !== undefined ? new EMA(G, { decay: o.ema }) : null;
  const emaNote = o.ema !== undefined ? emaWarning(o.ema, o.iters) : null;
  if (emaNote) console.warn(emaNote);
  const loss = o.loss ?? 'wgan';
  let picture = '';

  const criticStep = (real: E.Tensor) =>
    E.tidy(() => {
      const fake = E.noGrad(() => G.forward(E.randNormal([o.batch, 2])));
      let lossD: E.Tensor;
      let mon: Record<string, E.Tensor>;
      if (o.reg === 'alp') {
        const s = wganAlpCriticLoss(critic, real, fake, {
          lambda,
          k: o.k,
          xi: o.xi,
          eps: uniformEps(o.epsMin, o.epsMax),
        });
        lossD = alpLossUnder(loss, s);
        mon = criticStepMonitors(s);
      } else if (o.reg === 'gp' || o.reg === 'lp') {
        const s = gradPenaltyCriticLoss(critic, real, fake, { lambda, reg: o.reg, norm: o.penaltyNorm ?? 'l2', loss });
        lossD = s.loss;
        mon = { wasserstein: s.wasserstein, penaltyLoss: E.detach(s.penalty.loss), criticLoss: E.detach(lossD) };
      } else {
        ({ loss: lossD, mon } = plainCriticLoss(critic, real, fake, loss));
      }
      optD.step(E.grad(lossD, D.parameters()));
      if (o.reg === 'clip') clipWeights(D.parameters(), 0.01);
      return mon;
    });

  const generatorStep = () =>
    E.tidy(() => {
      const lossG = generatorLossUnder(loss, critic, G.forward(E.randNormal([o.batch, 2])));
      optG.step(E.grad(lossG, G.parameters()));
    });

  // one generator iteration (criticIters critic steps, one generator step), captured once and
  // replayed: the same kernels on the same buffers as the eager ops, so the same numbers
  const iteration = E.compile(
    (...reals: E.Tensor[]) => {
      let mon: Record<string, E.Tensor> = {};
      reals.forEach((real, c) => {
        const m = criticStep(real);
        if (c === reals.length - 1) mon = m;
        else E.dispose(m);
      });
      generatorStep();
      ema?.update(); // one fused GPU kernel, captured with the rest of the iteration
      return mon;
    },
    { enabled: !o.eager },
  );

  /** Diagnostics every `every` iterations: sample metrics on the host and a picture. */
  const evaluate = async ({ iter, mean, seconds, checkpoint }: EvaluationContext) => {
    const n = 256;
    const real = sampler.sample(n);
    const diag = E.tidy(() => {
      const r = E.tensor(real, [n, 2]);
      const z = E.randNormal([n, 2]);
      const fake = E.noGrad(() => G.forward(z));
      // the averaged generator on the same z: no extra draws, so the raw run is the run without --ema
      const fakeEma = ema ? E.noGrad(() => ema.module.forward(z)) : null;
      // the same ALP probe in every run, so violation counts compare across regularisers
      const alp = adversarialLipschitzPenalty(critic, E.concat([r, fake], 0), {
        lambda: 1,
        eps: uniformEps(o.epsMin, o.epsMax),
        xi: o.xi,
        k: o.k,
      });
      return {
        fake,
        fakeEma,
        gradNorm: gradNormAtInterpolates(critic, r, fake),
        probeViolations: alp.monitors.violations,
        probeRatioMean: alp.monitors.ratioMean,
        field: criticField(critic),
      };
    });
    const [fake, fakeEma, gradNorm, probeViolations, probeRatio, field] = await Promise.all([
      diag.fake.toFloat32(),
      diag.fakeEma ? diag.fakeEma.toFloat32() : null,
      diag.gradNorm.item(),
      diag.probeViolations.item(),
      diag.probeRatioMean.item(),
      diag.field.toFloat32(),
    ]);
    E.dispose(diag);
    requireFinite('toy_wgan', 'generated samples', fake, iter);
    if (fakeEma) requireFinite('toy_wgan', 'samples of the averaged generator', fakeEma, iter);
    const row: Record<string, number> = {
      step: iter,
      seconds,
      ...memoryFields(),
      wasserstein: mean('wasserstein'),
      criticLoss: mean('criticLoss'),
      penaltyLoss: mean('penaltyLoss'),
      violations: mean('violations'),
      ratioMean: mean('ratioMean'),
      w1: exactW1(real, fake),
      gradNormInterp: gradNorm,
      probeViolations,
      probeRatioMean: probeRatio,
    };
    if (sampler.modes) {
      const cov = modeCoverage(fake, sampler.modes);
      row.modesCovered = cov.covered;
      row.modesTotal = cov.total;
      row.fractionNear = cov.fractionNear;
    }
    if (fakeEma) {
      row.emaW1 = exactW1(real, fakeEma);
      if (sampler.modes) {
        const cov = modeCoverage(fakeEma, sampler.modes);
        row.emaModesCovered = cov.covered;
        row.emaFractionNear = cov.fractionNear;
      }
    }
    stopIfNonFinite(
      'toy_wgan',
      [{ step: iter, gradNormInterp: gradNorm, probeRatioMean: probeRatio }],
      iter,
      checkpoint,
    );
    const run = `${o.dataset} ${o.reg.toUpperCase()}${penaltyText}${loss !== 'wgan' ? ` ${loss}` : ''}`;
    const chart = (points: Float32Array, what: string, w1: number) =>
      scatterSpec(
        [
          { name: 'real', points: real, color: '#e08000' },
          { name: what, points, color: '#1f5fbf' },
        ],
        FRAME,
        // a grey field: the orange and blue points stay visible on every value
        {
          title: `${run} iter ${iter}  W1≈${w1.toFixed(3)}`,
          field: { values: field, n: GRID, title: 'critic D(x)', scheme: 'greys' },
        },
      );
    picture = await saveSampleChart(chart(fake, 'generated', row.w1), o.out, iter);
    if (fakeEma) await saveSampleChart(chart(fakeEma, `EMA ${o.ema} generator`, row.emaW1), o.out, iter, 'ema_samples');
    return row;
  };

  const {
    lastRow,
    wallSeconds,
    rows: all,
  } = await runWganLoop({
    name: 'toy_wgan',
    out: o.out,
    iters: o.iters,
    every: o.every,
    resume: o.resume,
    progress: o.progress,
    label: `${o.dataset}/${o.reg}`,
    modules: ema ? { G, D, ema } : { G, D },
    optimizers: { G: optG, D: optD },
    hostState: {
      key: 'sampler',
      get: () => sampler.state(),
      set: (v) => sampler.setState(v as ReturnType<typeof sampler.state>),
    },
    options: o,
    iteration: () => {
      // the data is uploaded outside the compiled iteration, in the order the steps use it
      const reals = Array.from({ length: o.criticIters }, () => E.tensor(sampler.sample(o.batch), [o.batch, 2]));
      const mon = iteration(...reals);
      E.dispose(reals);
      return mon;
    },
    evaluate,
    progressText: (row) => `W=${row.wasserstein?.toFixed(3)} W1=${row.w1.toFixed(3)}`,
  });
  const names: Record<string, string> = {
    wasserstein: 'critic W estimate',
    w1: 'sample W1',
    gradNormInterp: '‖∇D‖ at interpolates',
    ...(ema ? { emaW1: `sample W1, EMA ${o.ema}` } : {}),
  };
  await saveLines(
    path.join(o.out, 'curves.png'),
    Object.entries(names).map(([k, name]) => ({ name, x: all.map((r) => r.step), y: all.map((r) => r[k] ?? NaN) })),
    { title: `${o.dataset} ${o.reg.toUpperCase()}${penaltyText}: training curves`, yTitle: 'value' },
  );
  const summary: ToyWganSummary = {
    dataset: o.dataset,
    reg: o.reg,
    lambda,
    iters: o.iters,
    wallSeconds,
    final: lastRow,
    picture,
  };
  writeJson(path.join(o.out, 'summary.json'), summary);
  iteration.dispose();
  for (const m of [G, D]) m.dispose();
  ema?.dispose();
  optG.dispose();
  optD.dispose();
  return summary;
}

/** The toy critic with spectral norm on every Linear. */
function toySnCritic(dim: number): MLP {
  return toyCritic(dim, { spectralNorm: true });
}

export function toyCli() {
  return ganFlags(
    program('toy_wgan', 'WGAN on a 2-D toy dataset with a selectable Lipschitz regulariser', 'out/toy_wgan')
      .option('--dataset <name>', `one of ${TOY_DATASETS.join(', ')}`, TOY_DEFAULTS.dataset)
      .option('--reg <name>', `regulariser: ${REGULARISERS.join(', ')}`, TOY_DEFAULTS.reg)
      .option('--iters <n>', 'generator iterations', (v) => intArg('--iters', v, 1), TOY_DEFAULTS.iters)
      .option(
        '--critic-iters <n>',
        'critic steps per generator step',
        (v) => intArg('--critic-iters', v, 1),
        TOY_DEFAULTS.criticIters,
      )
      .option('--batch <n>', 'batch size', (v) => intArg('--batch', v, 2), TOY_DEFAULTS.batch)
      .option(
        '--dim <n>',
        'hidden width of both MLPs (gan_toy.py uses 512)',
        (v) => intArg('--dim', v, 1),
        TOY_DEFAULTS.dim,
      )
      .option('--lambda <x>', 'penalty weight (default: ALP 100, GP/LP 0.1)', (v) => numArg('--lambda', v, NONNEG_ARG))
      .option('--k <n>', 'ALP power iterations', (v) => intArg('--k', v, 0), TOY_DEFAULTS.k)
      .option('--xi <x>', 'ALP search step ξ', (v) => numArg('--xi', v, PROBE_ARG), TOY_DEFAULTS.xi)
      .option(
        '--eps-min <x>',
        'ALP ε ~ U[eps-min, eps-max]',
        (v) => numArg('--eps-min', v, PROBE_ARG),
        TOY_DEFAULTS.epsMin,
      )
      .option(
        '--eps-max <x>',
        'ALP ε ~ U[eps-min, eps-max]',
        (v) => numArg('--eps-max', v, PROBE_ARG),
        TOY_DEFAULTS.epsMax,
      )
      .option('--lr <x>', 'Adam learning rate (β = 0.5, 0.9)', (v) => numArg('--lr', v, NONNEG_ARG), TOY_DEFAULTS.lr)
      .option(
        '--every <n>',
        'metrics, picture and checkpoint every n iterations',
        (v) => intArg('--every', v, 1),
        TOY_DEFAULTS.every,
      )
      .option('--resume', 'continue from <out>/checkpoint.safetensors if present', false)
      .option('--eager', 'run every op eagerly instead of replaying the compiled iteration (same results)', false),
  );
}

export function toyOptions(opts: Record<string, unknown>): ToyWganOptions {
  if (!TOY_DATASETS.includes(opts.dataset as ToyDataset))
    throw new Error(`--dataset: expected one of ${TOY_DATASETS.join(', ')}, got '${opts.dataset}'`);
  if (!REGULARISERS.includes(opts.reg as Regulariser))
    throw new Error(`--reg: expected one of ${REGULARISERS.join(', ')}, got '${opts.reg}'`);
  const flags = ganFlagOptions(opts, opts.reg as string);
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const o = { ...TOY_DEFAULTS, ...(given as Partial<ToyWganOptions>), ...flags } as ToyWganOptions;
  if (opts.quick)
    Object.assign(o, {
      iters: Math.min(o.iters, 20),
      every: 10,
      dim: Math.min(o.dim, 32),
      batch: Math.min(o.batch, 64),
    });
  return o;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cli = toyCli().parse();
  await main(async () => {
    const s = await runToyWgan(toyOptions(cli.opts()));
    console.log(
      `${s.dataset}/${s.reg}: ${s.iters} iterations in ${s.wallSeconds.toFixed(1)} s; final ${JSON.stringify(s.final)}`,
    );
    console.log(`picture: ${path.resolve(s.picture)}`);
  });
}
