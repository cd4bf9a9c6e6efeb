// Image WGANs on real data: Fashion-MNIST (runs here) and CIFAR-10 (the paper's setting, for a
// real GPU), with a selectable Lipschitz regulariser (alp, gp, lp, sn, none) and critic
// normalisation (none, batch = WGAN-BN, layer).
//
//   npx tsx experiments/image_wgan.ts --config fmnist --reg alp --out out/fmnist_alp
//   npx tsx experiments/image_wgan.ts --config fmnist --norm batch --reg gp --out out/fmnist_bn_gp
//   npx tsx experiments/image_wgan.ts --config cifar10 --data /path/to/cifar-10-batches-bin --out out/cifar_alp
//   npx tsx experiments/image_wgan.ts --folder /path/to/images --size 32 --channels 3 --out out/folder_alp
//   npx tsx experiments/image_wgan.ts --config fmnist --size 32 --channels 3 --out out/cifar_shaped_alp
//
// --loss picks the GAN loss (wgan, hinge, standard, leastSquares), --penalty-norm the norm of ∇D
// in the GP / LP penalty (l2, linf, l1; not --norm, which picks the critic's normalisation), and
// --ema <decay> keeps an EMA of the generator's weights (updated inside the compiled iteration,
// checkpointed; ema* metrics, cFID / cIS and ema_samples_<iter>.png from the same z as the raw
// generator's).
//
// --folder trains on PNG / JPEG files under one folder per class (torchvision's ImageFolder
// layout), decoded, resized and centre-cropped by nn.readImageFolder, with the config's other
// settings (fmnist's sizes by default: --size 28 or 32; cifar10: 32).
// --channels 3 with --config fmnist repeats the grey image over three channels: with --size 32,
// a CIFAR-shaped input (no CIFAR-10 needed; the classifier metrics are one-channel only).
//
// Writes to --out: metrics.jsonl (every --every generator steps), samples_<iter>.png from a fixed
// z (every --sample-every), samples.png (latest), curves.png, summary.json, checkpoint.safetensors
// (resumable with --resume). With a trained classifier (experiments/fmnist_classifier.ts) it
// also reports the classifier-based cFID / cIS (see image_metrics.ts) every --eval-every.
//
// --config fmnist (sized for lavapipe, 2 cores): DIM 16, 28×28 (7 → 14 → 28 generator), critic
// batch 16 / generator batch 32, 5 critic steps, 1500 generator iterations, Adam 5e-4 with
// β = (0, 0.9) decaying linearly to 0 over the run (a short run needs a larger start lr than
// the paper's 2e-4 over 100k steps), ALP λ = 100, ξ = 10, ε ~ U[0.1, 10], k = 1, clip [-1, 1].
// Critics without batch norm share D([real; fake]) between the WGAN term and the penalty (same
// values, one pass less). Samples look like clothing from ~400 iterations on; see the README for
// the measured time per iteration.
//
// Generator BN when sampling (alr/README.md, Deviations): we use batch statistics (GP's choice; no running-stat
// updates), so samples do not depend on lagging running averages early in training.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as E from '../engine/index.js';
import { Adam } from '../engine/index.js';
import {
  Conv2d,
  Critic as CriticNet,
  EMA,
  Generator,
  Linear,
  loadCheckpoint,
  readImageFolder,
  spectralNorm,
  withoutStatUpdates,
  type Module,
  type Norm,
} from '../nn/index.js';
import {
  adversarialLipschitzPenalty,
  criticStepMonitors,
  gradNormAtInterpolates,
  uniformEps,
  wganAlpCriticLoss,
  WGAN_ALP_DEFAULTS,
} from '../alr/index.js';
import { asCritic } from '../nn/index.js';
import { imageGrid, saveLines, saveSamples } from './common/plot.js';
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
import { Batcher, toFloat, type BatcherState } from './training/data/batches.js';
import {
  repeatChannels,
  FASHION_MNIST_DIR,
  loadCifar10,
  loadFashionMnist,
  padTo,
  type ImageSet,
} from './training/data/images.js';
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
import { classifierOutputs, classifierScores, type ClassifierOutputs } from './image_metrics.js';
import { loadClassifier } from './fmnist_classifier.js';

export const IMAGE_REGULARISERS = ['alp', 'gp', 'lp', 'sn', 'none'] as const;
export type ImageRegulariser = (typeof IMAGE_REGULARISERS)[number];
export const NORMS = ['none', 'batch', 'layer'] as const;
export const CONFIGS = ['fmnist', 'cifar10'] as const;
export type ImageConfig = (typeof CONFIGS)[number];

export interface ImageWganOptions extends GanFlags {
  config: ImageConfig;
  /** data folder (IDX files for fmnist, binary batches for cifar10) */
  data: string;
  /** a folder of class folders of PNG / JPEG images to train on instead ('' = the config's data set) */
  folder: string;
  /**
   * channels: --folder images 1 (luminance) or 3 (RGB); fmnist 1, or 3 (the grey image repeated:
   * a CIFAR-shaped input with --size 32); default 1 for fmnist, 3 for cifar10
   */
  channels?: number;
  /** fmnist image size: 28, or 32 (zero-padded; 4 → 32 generator like CIFAR) */
  size: 28 | 32;
  reg: ImageRegulariser;
  norm: Norm;
  dim: number;
  zDim: number;
  /** generator iterations */
  iters: number;
  criticIters: number;
  /** critic batch (reals and fakes each) */
  batch: number;
  /** generator batch (GEN_BS_MULTIPLE = 2 in the references) */
  genBatch: number;
  lr: number;
  beta1: number;
  beta2: number;
  /** lr decays linearly to 0 over this many generator steps (paper: 100k) */
  decayIters: number;
  lambda?: number;
  k: number;
  xi: number;
  epsMin: number;
  epsMax: number;
  flip: boolean;
  every: number;
  sampleEvery: number;
  /** cFID / cIS every n iterations (0: only at the end); needs --classifier */
  evalEvery: number;
  evalSamples: number;
  /** folder with a trained fmnist classifier (classifier.safetensors); '' = none */
  classifier: string;
  /** load <out>/checkpoint.safetensors, write cFID / cIS to <out>/scores.json, no training */
  evalOnly?: boolean;
  seed: number;
  out: string;
  resume: boolean;
  progress: boolean;
  /** run every op eagerly instead of replaying the captured iteration (same results, slower) */
  eager?: boolean;
}

const COMMON = {
  zDim: 128,
  criticIters: 5,
  beta1: 0,
  beta2: 0.9,
  k: WGAN_ALP_DEFAULTS.k,
  xi: WGAN_ALP_DEFAULTS.xi,
  epsMin: WGAN_ALP_DEFAULTS.eps.min,
  epsMax: WGAN_ALP_DEFAULTS.eps.max,
  reg: 'alp' as ImageRegulariser,
  norm: 'none' as Norm,
  seed: 0,
  resume: false,
  progress: true,
  evalEvery: 0,
  classifier: '',
  folder: '',
  ...GAN_FLAG_DEFAULTS,
};

/** Per-config defaults. cifar10 is the paper's setting (alr/README.md, Setups); fmnist is sized for an hour on lavapipe. */
export const CONFIG_DEFAULTS: Record<ImageConfig, Omit<ImageWganOptions, 'out'>> = {
  cifar10: {
    ...COMMON,
    config: 'cifar10',
    data: 'data/cifar-10-batches-bin',
    size: 32,
    dim: 128,
    iters: 100_000,
    batch: 64,
    genBatch: 128,
    lr: 2e-4,
    decayIters: 100_000,
    flip: true,
    every: 100,
    sampleEvery: 1000,
    evalSamples: 0,
  },
  fmnist: {
    ...COMMON,
    config: 'fmnist',
    data: FASHION_MNIST_DIR,
    size: 28,
    dim: 16,
    iters: 1500,
    batch: 16,
    genBatch: 32,
    lr: 5e-4,
    decayIters: 1500,
    flip: false,
    every: 10,
    sampleEvery: 100,
    evalSamples: 2000,
  },
};

export function defaultImageLambda(reg: ImageRegulariser): number {
  return reg === 'alp' ? 100 : 10;
}

/**
 * Train set of the config: fmnist train (60k) at `size`, over `channels` (the grey image repeated);
 * CIFAR-10 train + test (as the ALR code).
 */
export function loadTrainSet(o: Pick<ImageWganOptions, 'config' | 'data' | 'size' | 'channels'>): ImageSet {
  if (o.config === 'cifar10') return loadCifar10(o.data, 'all');
  const grey = padTo(loadFashionMnist(o.data, 'train'), o.size);
  return o.channels === 3 ? repeatChannels(grey, 3) : grey;
}

/** The --folder images as an ImageSet (uint8 NCHW), resized and centre-cropped to --size. */
export async function loadFolderSet(
  o: Pick<ImageWganOptions, 'config' | 'folder' | 'size' | 'channels'>,
): Promise<ImageSet> {
  const channels = o.channels ?? (o.config === 'cifar10' ? 3 : 1);
  if (channels !== 1 && channels !== 3) throw new Error(`image_wgan: --channels must be 1 or 3, got ${channels}`);
  const d = await readImageFolder(o.folder, { size: o.size, channels });
  if (d.classes.length > 256)
    throw new Error(`image_wgan: ${o.folder} has ${d.classes.length} classes; at most 256 are supported`);
  return { images: d.pixels, labels: Uint8Array.from(d.targets), n: d.n, c: d.c, h: d.h, w: d.w };
}

function buildModels(o: ImageWganOptions, channels: number): { G: Generator; D: CriticNet } {
  const G = new Generator({
    dim: o.dim,
    zDim: o.zDim,
    outChannels: channels,
    startSize: o.size === 28 ? 7 : 4,
    upBlocks: o.size === 28 ? 2 : 3,
  });
  const D = new CriticNet({ dim: o.dim, inChannels: channels, norm: o.norm });
  if (o.reg === 'sn')
    for (const [, m] of D.namedModules()) if (m instanceof Conv2d || m instanceof Linear) spectralNorm(m);
  return { G, D };
}

export interface ImageWganSummary {
  config: ImageConfig;
  reg: ImageRegulariser;
  norm: Norm;
  lambda: number;
  iters: number;
  wallSeconds: number;
  secondsPerIter: number;
  final: Record<string, number>;
  samples: string;
}

export async function runImageWgan(o: ImageWganOptions): Promise<ImageWganSummary> {
  if (
    !(
      o.iters >= 1 &&
      o.criticIters >= 1 &&
      o.batch >= 2 &&
      o.genBatch >= 1 &&
      o.dim >= 1 &&
      o.every >= 1 &&
      o.sampleEvery >= 1
    )
  ) {
    throw new Error(
      `image_wgan: iters, critic-iters, gen-batch, dim, every, sample-every must be >= 1 and batch >= 2 (got ${JSON.stringify(o)})`,
    );
  }
  if (o.config === 'fmnist' && o.size !== 28 && o.size !== 32)
    throw new Error(`image_wgan: --size must be 28 or 32, got ${o.size}`);
  const lambda = o.lambda ?? defaultImageLambda(o.reg);
  ensureDir(o.out);
  writeConfig(o.out, o);
  E.manualSeed(o.seed);
  if (o.folder && o.classifier)
    throw new Error('image_wgan: --classifier scores Fashion-MNIST samples; it cannot be used with --folder');
  if (o.classifier && o.config === 'fmnist' && o.channels === 3)
    throw new Error(
      'image_wgan: --classifier scores one-channel Fashion-MNIST samples; it cannot be used with --channels 3',
    );
  const train = o.folder ? await loadFolderSet(o) : loadTrainSet(o);
  const [C, H, W] = [train.c, train.h, train.w];
  const batcher = new Batcher(train, { batch: o.batch, seed: o.seed + 1, flip: o.flip });
  const { G, D } = buildModels(o, C);
  const critic = asCritic(D);
  const optG = new Adam(G.parameters(), { lr: o.lr, betas: [o.beta1, o.beta2] });
  const optD = new Adam(D.parameters(), { lr: o.lr, betas: [o.beta1, o.beta2] });
  const ema = o.ema !== undefined ? new EMA(G, { decay: o.ema }) : null;
  const emaNote = o.ema !== undefined ? emaWarning(o.ema, o.iters) : null;
  if (emaNote) console.warn(emaNote);
  const loss = o.loss ?? 'wgan';
  const modules: { G: Module; D: Module } & Record<string, Module> = ema ? { G, D, ema } : { G, D };
  const ckpt = path.join(o.out, 'checkpoint.safetensors');
  // a fixed z for the sample grids (host RNG: independent of training draws and of resuming)
  const nGrid = 64;
  const zHost = new Float32Array(nGrid * o.zDim);
  const zr = new E.HostRng(o.seed + 7);
  for (let i = 0; i < zHost.length; i++) zHost[i] = zr.normal();

  // cFID / cIS: a trained classifier and the real test images' features (computed once)
  const clf = o.classifier && o.config === 'fmnist' && o.evalSamples >= 2 ? await loadClassifier(o.classifier) : null;
  let realOut: ClassifierOutputs | null = null;
  const generate = (b: number, gen: Module = G) =>
    withoutStatUpdates(() => E.noGrad(() => gen.forward(E.randNormal([b, o.zDim]))));
  const toClassifierSize = (x: E.Tensor) => (x.shape[2] === 28 ? x : E.slice(E.slice(x, 2, 2, 30), 3, 2, 30));
  const evalClassifier = async (gen: Module = G): Promise<Record<string, number>> => {
    if (!clf) return {};
    if (!realOut) {
      const test = loadFashionMnist(o.data, 'test');
      const n = Math.min(o.evalSamples, test.n);
      realOut = await classifierOutputs(clf, n, 100, (b, off) =>
        E.tensor(toFloat(test, range(off, b), null), [b, 1, 28, 28]),
      );
    }
    const out = await classifierOutputs(clf, o.evalSamples, 100, (b) => toClassifierSize(generate(b, gen)));
    const s = classifierScores(realOut, out, 1);
    return { cFID: s.cFID, cIS: s.cIS };
  };
  /** cFID / cIS of G and, with --ema, of the averaged G on the same z (the RNG is rewound between them and ends as without --ema). */
  const evalBoth = async (): Promise<Record<string, number>> => {
    const before = E.getRngState();
    const raw = await evalClassifier(G);
    if (!ema || !clf) return raw;
    const after = E.getRngState();
    E.setRngState(before);
    const avg = await evalClassifier(ema.module);
    E.setRngState(after);
    return { ...raw, emaCFID: avg.cFID, emaCIS: avg.cIS };
  };

  if (o.evalOnly) {
    if (!clf)
      throw new Error('image_wgan: --eval-only needs --config fmnist, --classifier <dir> and --eval-samples >= 2');
    if (!fs.existsSync(ckpt)) throw new Error(`image_wgan: --eval-only: no checkpoint at ${ckpt}`);
    const { step } = await loadCheckpoint(ckpt, { modules, optimizers: { G: optG, D: optD }, rng: false });
    const scores: Record<string, number> = { step: step ?? 0, samples: o.evalSamples, ...(await evalBoth()) };
    // the floor for this classifier and sample count: real training images scored like samples
    const trainOut = await classifierOutputs(clf, Math.min(o.evalSamples, train.n), 100, (b, off) =>
      toClassifierSize(E.tensor(toFloat(train, range(off, b), null), [b, C, H, W])),
    );
    const floor = classifierScores(realOut!, trainOut, 1);
    Object.assign(scores, { realTrainCFID: floor.cFID, realTrainCIS: floor.cIS });
    writeJson(path.join(o.out, 'scores.json'), scores);
    for (const m of [G, D] as Module[]) m.dispose();
    ema?.dispose();
    clf.dispose();
    optG.dispose();
    optD.dispose();
    return {
      config: o.config,
      reg: o.reg,
      norm: o.norm,
      lambda,
      iters: scores.step,
      wallSeconds: 0,
      secondsPerIter: NaN,
      final: scores,
      samples: '',
    };
  }
  let samples = '';

  const criticStep = (real: E.Tensor) =>
    E.tidy(() => {
      const fake = E.noGrad(() => G.forward(E.randNormal([o.batch, o.zDim])));
      let lossD: E.Tensor;
      let mon: Record<string, E.Tensor>;
      if (o.reg === 'alp') {
        const s = wganAlpCriticLoss(critic, real, fake, {
          lambda,
          k: o.k,
          xi: o.xi,
          eps: uniformEps(o.epsMin, o.epsMax),
          clip: [-1, 1],
          form: 'one-sided',
          dY: 'abs',
          K: 1,
          // per-sample critics: the WGAN term reuses the penalty's D(x) (same values, one pass less)
          sharedForward: o.norm !== 'batch',
        });
        lossD = alpLossUnder(loss, s);
        mon = criticStepMonitors(s);
      } else if (o.reg === 'gp' || o.reg === 'lp') {
        const s = gradPenaltyCriticLoss(critic, real, fake, { lambda, reg: o.reg, norm: o.penaltyNorm ?? 'l2', loss });
        lossD = s.loss;
        mon = {
          wasserstein: s.wasserstein,
          penaltyLoss: E.detach(s.penalty.loss),
          criticLoss: E.detach(lossD),
          gradNormPenalty: E.noGrad(() => E.mean(s.penalty.gradNorm)),
        };
      } else {
        ({ loss: lossD, mon } = plainCriticLoss(critic, real, fake, loss));
      }
      optD.step(E.grad(lossD, D.parameters()));
      return mon;
    });

  const generatorStep = () =>
    E.tidy(() => {
      const lossG = generatorLossUnder(loss, critic, G.forward(E.randNormal([o.genBatch, o.zDim])));
      optG.step(E.grad(lossG, G.parameters()));
      return E.detach(lossG);
    });

  // one generator iteration, captured once and replayed (the eager ops' kernels, the same numbers)
  const iteration = E.compile(
    (...reals: E.Tensor[]) => {
      let logged: Record<string, E.Tensor> = {};
      reals.forEach((real, c) => {
        const mon = criticStep(real);
        if (c === reals.length - 1) logged = { ...mon, generatorLoss: generatorStep() };
        else E.dispose(mon);
      });
      ema?.update(); // one fused GPU kernel (and buffer copies), captured with the rest of the iteration
      return logged;
    },
    { enabled: !o.eager },
  );

  const evaluate = async ({ iter, mean, seconds, last, checkpoint }: EvaluationContext) => {
    const wantSamples = iter % o.sampleEvery === 0 || last;
    const wantScores = clf !== null && (last || (o.evalEvery > 0 && iter % o.evalEvery === 0));
    const diag = E.tidy(() => {
      const real = batcher.next().x;
      const fake = generate(o.batch);
      // the same ALP probe in every run, so violation counts compare across regularisers
      const alp = adversarialLipschitzPenalty(critic, E.concat([real, fake], 0), {
        lambda: 1,
        eps: uniformEps(o.epsMin, o.epsMax),
        xi: o.xi,
        k: o.k,
        clip: [-1, 1],
      });
      return {
        gradNorm: gradNormAtInterpolates(critic, real, fake),
        probeViolations: alp.monitors.violations,
        probeRatioMean: alp.monitors.ratioMean,
        grid: wantSamples
          ? withoutStatUpdates(() => E.noGrad(() => G.forward(E.tensor(zHost, [nGrid, o.zDim]))))
          : null,
        emaGrid:
          wantSamples && ema
            ? withoutStatUpdates(() => E.noGrad(() => ema.module.forward(E.tensor(zHost, [nGrid, o.zDim]))))
            : null,
      };
    });
    const [gradNorm, probeViolations, probeRatio, grid, emaGrid] = await Promise.all([
      diag.gradNorm.item(),
      diag.probeViolations.item(),
      diag.probeRatioMean.item(),
      diag.grid ? diag.grid.toFloat32() : null,
      diag.emaGrid ? diag.emaGrid.toFloat32() : null,
    ]);
    E.dispose(diag);
    stopIfNonFinite(
      'image_wgan',
      [{ step: iter, gradNormInterp: gradNorm, probeRatioMean: probeRatio }],
      iter,
      checkpoint,
    );
    if (grid) requireFinite('image_wgan', 'generated samples', grid, iter);
    if (emaGrid) requireFinite('image_wgan', 'samples of the averaged generator', emaGrid, iter);
    const avg = mean;
    const row: Record<string, number> = {
      step: iter,
      seconds,
      ...memoryFields(),
      lr: optG.lr,
      wasserstein: avg('wasserstein'),
      criticLoss: avg('criticLoss'),
      generatorLoss: avg('generatorLoss'),
      penaltyLoss: avg('penaltyLoss'),
      violations: avg('violations'),
      ratioMean: avg('ratioMean'),
      gradNormPenalty: avg('gradNormPenalty'),
      gradNormInterp: gradNorm,
      probeViolations,
      probeRatioMean: probeRatio,
      ...(wantScores ? await evalBoth() : {}),
    };
    if (grid) {
      samples = saveSamples(imageGrid(grid, nGrid, C, H, W, 8, 2), o.out, iter);
    }
    if (emaGrid) saveSamples(imageGrid(emaGrid, nGrid, C, H, W, 8, 2), o.out, iter, 'ema_samples');
    return row;
  };

  const {
    lastRow,
    wallSeconds,
    itersRun,
    rows: all,
  } = await runWganLoop({
    name: 'image_wgan',
    out: o.out,
    iters: o.iters,
    every: o.every,
    resume: o.resume,
    progress: o.progress,
    label: `${o.config}/${o.reg}/${o.norm}`,
    modules,
    optimizers: { G: optG, D: optD },
    hostState: { key: 'batcher', get: () => batcher.state(), set: (v) => batcher.setState(v as BatcherState) },
    options: o,
    iteration: (iter) => {
      // lr = lr0 · max(0, 1 - step / decayIters), step = generator updates so far
      const lr = o.lr * Math.max(0, 1 - iter / o.decayIters);
      optG.lr = lr;
      optD.lr = lr;
      // the batches are uploaded outside the compiled iteration, in the order the steps use them
      const reals = Array.from({ length: o.criticIters }, () => batcher.next().x);
      const logged = iteration(...reals);
      E.dispose(reals);
      return logged;
    },
    evaluate,
    progressText: (row) =>
      `W=${row.wasserstein?.toFixed(3)} viol=${row.probeViolations}${row.cFID !== undefined ? ` cFID=${row.cFID.toFixed(2)}` : ''}`,
  });
  const NAMES: Record<string, string> = {
    wasserstein: 'critic W estimate',
    criticLoss: 'critic loss',
    generatorLoss: 'generator loss',
    penaltyLoss: 'penalty (λ·term)',
    probeViolations: 'probe (fixed ALP search)',
    violations: 'training penalty',
    gradNormInterp: '‖∇D‖ at interpolates',
    gradNormPenalty: '‖∇D‖ in the GP/LP term',
    probeRatioMean: 'mean ALP quotient (probe)',
    cFID: 'cFID',
    cIS: 'cIS',
    emaCFID: `cFID, EMA ${o.ema}`,
    emaCIS: `cIS, EMA ${o.ema}`,
  };
  // only the metrics this run logged, each without the rows that lack it
  const series = (keys: string[]) =>
    keys
      .map((k) => {
        const rs = all.filter((r) => Number.isFinite(r[k]));
        return { name: NAMES[k], x: rs.map((r) => r.step), y: rs.map((r) => r[k]) };
      })
      .filter((s) => s.x.length);
  const run = `${o.config} ${o.reg.toUpperCase()}/${o.norm}`;
  await saveLines(
    path.join(o.out, 'curves.png'),
    series(['wasserstein', 'criticLoss', 'generatorLoss', 'penaltyLoss']),
    { title: `${run}: losses and W estimate`, yTitle: 'value' },
  );
  await saveLines(path.join(o.out, 'violations.png'), series(['probeViolations', 'violations']), {
    title: `${run}: ALP violations per batch (ratio > K)`,
    yTitle: 'samples',
  });
  await saveLines(path.join(o.out, 'gradnorm.png'), series(['gradNormInterp', 'gradNormPenalty', 'probeRatioMean']), {
    title: `${run}: ‖∇D‖ and the ALP quotient`,
    yTitle: 'value',
  });
  if (all.some((r) => r.cFID !== undefined)) {
    await saveLines(path.join(o.out, 'scores.png'), series(['cFID', 'cIS', 'emaCFID', 'emaCIS']), {
      title: `${run}: classifier-based cFID and cIS`,
      yTitle: 'score',
    });
  }
  const summary: ImageWganSummary = {
    config: o.config,
    reg: o.reg,
    norm: o.norm,
    lambda,
    iters: o.iters,
    wallSeconds,
    secondsPerIter: itersRun ? wallSeconds / itersRun : NaN,
    final: lastRow,
    samples,
  };
  writeJson(path.join(o.out, 'summary.json'), summary);
  iteration.dispose();
  for (const m of [G, D] as Module[]) m.dispose();
  ema?.dispose();
  clf?.dispose();
  optG.dispose();
  optD.dispose();
  return summary;
}

function range(off: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => off + i);
}

export function imageCli() {
  const f = CONFIG_DEFAULTS.fmnist;
  return ganFlags(
    program(
      'image_wgan',
      'WGAN on Fashion-MNIST or CIFAR-10 with a selectable Lipschitz regulariser and critic normalisation',
      'out/image_wgan',
    ),
  )
    .option('--config <name>', `${CONFIGS.join(' | ')} (cifar10 = the paper's setting)`, 'fmnist')
    .option(
      '--data <dir>',
      `data folder (default: ${FASHION_MNIST_DIR} for fmnist, ${CONFIG_DEFAULTS.cifar10.data} for cifar10)`,
    )
    .option('--size <n>', 'fmnist image size: 28 or 32 (padded)', (v) => intArg('--size', v, 28))
    .option(
      '--folder <dir>',
      "train on PNG / JPEG files under <dir>/<class>/ (resized and centre-cropped to --size) instead of the config's data set",
      '',
    )
    .option(
      '--channels <n>',
      '1 or 3: --folder images grey or RGB, fmnist grey repeated over 3 (default 1; cifar10 3)',
      (v) => intArg('--channels', v, 1),
    )
    .option('--reg <name>', `regulariser: ${IMAGE_REGULARISERS.join(', ')}`, 'alp')
    .option('--norm <name>', `critic normalisation: ${NORMS.join(', ')} (batch = WGAN-BN)`, 'none')
    .option('--dim <n>', `channels of every block (fmnist ${f.dim}, cifar10 128)`, (v) => intArg('--dim', v, 1))
    .option('--iters <n>', `generator iterations (fmnist ${f.iters}, cifar10 100000)`, (v) => intArg('--iters', v, 1))
    .option('--critic-iters <n>', 'critic steps per generator step', (v) => intArg('--critic-iters', v, 1))
    .option('--batch <n>', `critic batch (fmnist ${f.batch}, cifar10 64)`, (v) => intArg('--batch', v, 2))
    .option('--gen-batch <n>', 'generator batch (default 2 × batch)', (v) => intArg('--gen-batch', v, 1))
    .option('--lr <x>', `Adam lr (fmnist ${f.lr}, cifar10 2e-4), β = (0, 0.9), linear decay to 0`, (v) =>
      numArg('--lr', v, NONNEG_ARG),
    )
    .option('--decay-iters <n>', 'lr reaches 0 after this many generator steps (default: iters; cifar10 100000)', (v) =>
      intArg('--decay-iters', v, 1),
    )
    .option('--lambda <x>', 'penalty weight (default: ALP 100, GP/LP 10)', (v) => numArg('--lambda', v, NONNEG_ARG))
    .option('--k <n>', 'ALP power iterations', (v) => intArg('--k', v, 0))
    .option('--xi <x>', 'ALP search step ξ', (v) => numArg('--xi', v, PROBE_ARG))
    .option('--eps-min <x>', 'ALP ε ~ U[eps-min, eps-max]', (v) => numArg('--eps-min', v, PROBE_ARG))
    .option('--eps-max <x>', 'ALP ε ~ U[eps-min, eps-max]', (v) => numArg('--eps-max', v, PROBE_ARG))
    .option('--no-flip', 'no random left-right flips (cifar10 flips by default, fmnist never)')
    .option('--every <n>', 'metrics + checkpoint every n iterations', (v) => intArg('--every', v, 1))
    .option('--sample-every <n>', 'sample grid every n iterations', (v) => intArg('--sample-every', v, 1))
    .option('--classifier <dir>', 'folder of a trained fmnist classifier (fmnist_classifier.ts) for cFID / cIS', '')
    .option('--eval-every <n>', 'cFID / cIS every n iterations (0: at the end only)', (v) =>
      intArg('--eval-every', v, 0),
    )
    .option('--eval-samples <n>', 'samples for cFID / cIS', (v) => intArg('--eval-samples', v, 2))
    .option(
      '--eval-only',
      'only compute cFID / cIS of <out>/checkpoint.safetensors (needs --classifier) into <out>/scores.json',
      false,
    )
    .option('--resume', 'continue from <out>/checkpoint.safetensors if present', false)
    .option('--eager', 'run every op eagerly instead of replaying the compiled iteration (same results)', false);
}

export function imageOptions(opts: Record<string, unknown>): ImageWganOptions {
  const config = opts.config as ImageConfig;
  if (!CONFIGS.includes(config))
    throw new Error(`--config: expected one of ${CONFIGS.join(', ')}, got '${opts.config}'`);
  if (!IMAGE_REGULARISERS.includes(opts.reg as ImageRegulariser))
    throw new Error(`--reg: expected one of ${IMAGE_REGULARISERS.join(', ')}, got '${opts.reg}'`);
  if (!NORMS.includes(opts.norm as Norm))
    throw new Error(`--norm: expected one of ${NORMS.join(', ')}, got '${opts.norm}'`);
  if (config === 'cifar10' && opts.size !== undefined && opts.size !== 32)
    throw new Error(`--size: cifar10 images are 32×32, got ${opts.size}`);
  const channelChoices = opts.folder || config === 'fmnist' ? [1, 3] : [3];
  if (opts.channels !== undefined && !channelChoices.includes(opts.channels as number))
    throw new Error(
      `--channels: expected ${channelChoices.join(' or ')} for ${opts.folder ? '--folder images' : config}, got ${opts.channels}`,
    );
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  if (opts.flip !== false) delete given.flip; // commander's default true must not override fmnist's false
  const o = { ...CONFIG_DEFAULTS[config], ...given, ...ganFlagOptions(opts, opts.reg as string) } as ImageWganOptions;
  if (given.genBatch === undefined) o.genBatch = 2 * o.batch;
  if (given.decayIters === undefined && config === 'fmnist') o.decayIters = o.iters;
  if (opts.quick) {
    Object.assign(o, {
      iters: Math.min(o.iters, 4),
      every: 2,
      sampleEvery: 2,
      dim: Math.min(o.dim, 8),
      batch: Math.min(o.batch, 8),
      criticIters: Math.min(o.criticIters, 2),
      evalSamples: Math.min(o.evalSamples, 40),
    });
    o.genBatch = Math.min(o.genBatch, 2 * o.batch);
    if (given.decayIters === undefined && config === 'fmnist') o.decayIters = o.iters;
  }
  return o;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cli = imageCli().parse();
  await main(async () => {
    const s = await runImageWgan(imageOptions(cli.opts()));
    if (cli.opts().evalOnly) return console.log(`scores: ${JSON.stringify(s.final)}`);
    console.log(
      `${s.config}/${s.reg}/${s.norm}: ${s.iters} iterations in ${s.wallSeconds.toFixed(1)} s (${s.secondsPerIter.toFixed(2)} s/iter); final ${JSON.stringify(s.final)}`,
    );
    if (s.samples) console.log(`samples: ${path.resolve(s.samples)}`);
  });
}
