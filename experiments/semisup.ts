// Semi-supervised Fashion-MNIST (paper appendix A.1) on a small ConvLarge-like
// classifier: supervised only vs VAT vs ALR, over several seeds.
//
//   npx tsx experiments/semisup.ts --methods supervised,vat,alr --seeds 0,1,2 --out out/semisup
//
// Per class: --labeled labelled, --val-per-class validation, the rest unlabelled (labels unused).
// Loss: NLL(labelled) + λ·mean(alp) + λ_em·mean entropy(softmax f(x_ul)) (the last two for VAT/ALR):
//   VAT: alr preset VAT_BASELINE       K = 0, d_Y = KL, fixed ε = 8, d_X Euclidean
//   ALR: alr preset SEMI_SUPERVISED_ALR K = 0, d_Y = msd of logits, ε ~ U[1, 10], λ = 1
// both with f(x) held fixed (detached) and the search clamped to [-1, 1]. Not reproduced from
// semisup.py (alr/README.md, Deviations): the ε-window check that swaps many VAT perturbations for unit-norm
// noise, the NameError and the global d_Y. The search and x̂ passes run in train mode without
// BN running-stat updates (the reference's deepcopy).
//
// Writes to --out: <method>_seed<s>/{metrics.jsonl, checkpoint.safetensors, summary.json},
// results.json, results.md (table), accuracy.png, curves.png.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as E from '../engine/index.js';
import { Adam } from '../engine/index.js';
import { ConvClassifier, loadCheckpoint, saveCheckpoint, type ConvClassifierOptions } from '../nn/index.js';
import {
  adversarialLipschitzPenalty,
  Monitor,
  SEMI_SUPERVISED_ALR,
  VAT_BASELINE,
  type PenaltyOptions,
} from '../alr/index.js';
import { asCritic } from '../nn/index.js';
import { saveBars, saveLines } from './common/plot.js';
import {
  ensureDir,
  intArg,
  main,
  Metrics,
  numArg,
  NONNEG_ARG,
  program,
  Progress,
  writeJson,
  writeConfig,
} from './training/run.js';
import { metadataJson, resumeStep, stopIfNonFinite } from './training/guard.js';
import { Batcher, oneHot, type BatcherState } from './training/data/batches.js';
import { FASHION_MNIST_DIR, loadFashionMnist, subset, type ImageSet } from './training/data/images.js';
import { accuracy, nllLoss } from './fmnist_classifier.js';
import { writeFileSafe } from './training/files.js';

export const METHODS = ['supervised', 'vat', 'alr'] as const;
export type Method = (typeof METHODS)[number];

/** ConvLarge's layout at widths this machine can train (the full size is infeasible on a software GPU). */
export const SEMISUP_CLASSIFIER: ConvClassifierOptions = {
  inChannels: 1,
  numClasses: 10,
  widths: [16, 32, 32],
  convsPerStage: 1,
  dropout: 0.3,
};

export interface SemisupOptions {
  data: string;
  methods: Method[];
  seeds: number[];
  labeled: number;
  valPerClass: number;
  steps: number;
  labeledBatch: number;
  unlabeledBatch: number;
  lr: number;
  /** weight of the entropy term (λ_em) */
  entropyWeight: number;
  /** override λ of the VAT / ALR presets */
  lambda?: number;
  every: number;
  seed: number;
  out: string;
  resume: boolean;
  progress: boolean;
}

export const SEMISUP_DEFAULTS: Omit<SemisupOptions, 'out'> = {
  data: FASHION_MNIST_DIR,
  methods: [...METHODS],
  seeds: [0],
  labeled: 100,
  valPerClass: 100,
  steps: 400,
  labeledBatch: 32,
  unlabeledBatch: 64,
  lr: 1e-3,
  entropyWeight: 1,
  every: 50,
  seed: 0,
  resume: false,
  progress: true,
};

/** Class-balanced split: `labeled` and `val` per class, the rest unlabelled (fixed by `seed`). */
export function semisupSplit(
  set: ImageSet,
  labeled: number,
  val: number,
  seed: number,
): { labeled: ImageSet; val: ImageSet; unlabeled: ImageSet } {
  const rng = new E.HostRng(seed);
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  rng.shuffle([...Array(set.n).keys()]).forEach((i) => byClass[set.labels[i]].push(i));
  for (const [c, idx] of byClass.entries()) {
    if (idx.length < labeled + val + 1)
      throw new Error(
        `semisup: class ${c} has ${idx.length} images, need ${labeled} labelled + ${val} validation + at least 1 unlabelled`,
      );
  }
  return {
    labeled: subset(
      set,
      byClass.flatMap((c) => c.slice(0, labeled)),
    ),
    val: subset(
      set,
      byClass.flatMap((c) => c.slice(labeled, labeled + val)),
    ),
    unlabeled: subset(
      set,
      byClass.flatMap((c) => c.slice(labeled + val)),
    ),
  };
}

export function presetFor(method: Method): PenaltyOptions | null {
  return method === 'vat' ? VAT_BASELINE : method === 'alr' ? SEMI_SUPERVISED_ALR : null;
}

/** Mean entropy of softmax(logits) over the batch. */
function meanEntropy(logits: E.Tensor): E.Tensor {
  const logP = E.logSoftmax(logits, -1);
  return E.neg(E.mean(E.sum(E.mul(E.exp(logP), logP), -1)));
}

export interface RunResult {
  method: Method;
  seed: number;
  valAccuracy: number;
  testAccuracy: number;
  bestValAccuracy: number;
  wallSeconds: number;
}

async function runOne(
  o: SemisupOptions,
  method: Method,
  seed: number,
  data: { labeled: ImageSet; val: ImageSet; unlabeled: ImageSet; test: ImageSet },
): Promise<RunResult> {
  const dir = ensureDir(path.join(o.out, `${method}_seed${seed}`));
  writeConfig(dir, { ...o, method, seed });
  const done = path.join(dir, 'summary.json');
  if (o.resume && fs.existsSync(done)) return JSON.parse(fs.readFileSync(done, 'utf8')) as RunResult;
  E.manualSeed(seed);
  const t0 = performance.now();
  const clf = new ConvClassifier(SEMISUP_CLASSIFIER);
  const critic = asCritic(clf);
  const opt = new Adam(clf.parameters(), { lr: o.lr });
  const lab = new Batcher(data.labeled, { batch: o.labeledBatch, seed: seed * 2 + 1 });
  const unl = new Batcher(data.unlabeled, { batch: o.unlabeledBatch, seed: seed * 2 + 2 });
  const preset = presetFor(method);
  const penaltyOpts = preset && { ...preset, ...(o.lambda !== undefined ? { lambda: o.lambda } : {}) };
  const ckpt = path.join(dir, 'checkpoint.safetensors');
  let start = 0;
  let best = 0;
  if (o.resume && fs.existsSync(ckpt)) {
    const r = await loadCheckpoint(ckpt, { modules: { C: clf }, optimizers: { C: opt } });
    start = resumeStep(r.step, o.steps, ckpt);
    lab.setState(metadataJson<BatcherState>(r.metadata, 'labeled', ckpt));
    unl.setState(metadataJson<BatcherState>(r.metadata, 'unlabeled', ckpt));
    best = Number(r.metadata.best ?? 0);
  }
  const metrics = new Metrics(path.join(dir, 'metrics.jsonl'), o.resume ? start : undefined);
  const progress = new Progress(o.steps, o.progress, `${method}/seed${seed}`);
  const monitor = new Monitor(o.every);
  let val = NaN;
  for (let step = start; step < o.steps; step++) {
    const parts = E.tidy(() => {
      const b = lab.next();
      const nll = nllLoss(clf.forward(b.x), oneHot(b.labels));
      let loss = nll;
      let pen: E.Tensor = E.zeros([]);
      let ent: E.Tensor = E.zeros([]);
      if (penaltyOpts) {
        const xu = unl.next().x;
        const logitsU = clf.forward(xu);
        ent = meanEntropy(logitsU);
        // f(x) = the main pass's logits, held fixed by the 'linear' form (detachClean)
        const alp = adversarialLipschitzPenalty(critic, xu, { ...penaltyOpts, clean: logitsU });
        pen = alp.loss;
        loss = E.add(E.add(nll, pen), E.mul(ent, o.entropyWeight));
      }
      opt.step(E.grad(loss, clf.parameters()));
      return E.noGrad(() => ({
        loss: E.detach(loss),
        nll: E.detach(nll),
        penalty: E.detach(pen),
        entropy: E.detach(ent),
      }));
    });
    monitor.push(parts, step + 1);
    E.dispose(parts);
    await E.endStep(); // submit, bound the queue, let Dawn recycle finished work
    if ((step + 1) % o.every === 0 || step + 1 === o.steps) {
      const rows = await monitor.flush();
      stopIfNonFinite(`semisup ${method} seed ${seed}`, rows, step + 1, ckpt);
      const avg = (k: string) => rows.reduce((a, r) => a + r[k], 0) / rows.length;
      const [loss, nll, penalty, entropy] = ['loss', 'nll', 'penalty', 'entropy'].map(avg);
      val = await accuracy(clf, data.val);
      best = Math.max(best, val);
      metrics.write({
        step: step + 1,
        seconds: (performance.now() - t0) / 1000,
        loss,
        nll,
        penalty,
        entropy,
        valAccuracy: val,
      });
      progress.update(step + 1, `nll=${nll.toFixed(3)} val=${(100 * val).toFixed(1)}%`);
      await saveCheckpoint(ckpt, {
        modules: { C: clf },
        optimizers: { C: opt },
        step: step + 1,
        metadata: { labeled: JSON.stringify(lab.state()), unlabeled: JSON.stringify(unl.state()), best: String(best) },
      });
    } else progress.update(step + 1);
  }
  progress.stop();
  metrics.close();
  if (Number.isNaN(val)) val = await accuracy(clf, data.val);
  const testAccuracy = await accuracy(clf, data.test);
  const result: RunResult = {
    method,
    seed,
    valAccuracy: val,
    testAccuracy,
    bestValAccuracy: Math.max(best, val),
    wallSeconds: (performance.now() - t0) / 1000,
  };
  writeJson(done, result);
  clf.dispose();
  opt.dispose();
  return result;
}

function meanStd(v: number[]): string {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const s = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, v.length - 1));
  return v.length > 1 ? `${(100 * m).toFixed(2)} ± ${(100 * s).toFixed(2)}` : (100 * m).toFixed(2);
}

export async function runSemisup(o: SemisupOptions): Promise<RunResult[]> {
  ensureDir(o.out);
  const train = loadFashionMnist(o.data, 'train');
  const test = loadFashionMnist(o.data, 'test');
  // one split for all runs (seed --seed), so methods and seeds share the labelled set
  const split = semisupSplit(train, o.labeled, o.valPerClass, o.seed + 11);
  const results: RunResult[] = [];
  for (const seed of o.seeds)
    for (const method of o.methods) results.push(await runOne(o, method, seed, { ...split, test }));
  writeJson(path.join(o.out, 'results.json'), { options: o, results });
  const table = [
    `| method | validation % | test % | runs |`,
    `|---|---|---|---|`,
    ...o.methods.map((m) => {
      const r = results.filter((x) => x.method === m);
      return `| ${m} | ${meanStd(r.map((x) => x.valAccuracy))} | ${meanStd(r.map((x) => x.testAccuracy))} | ${r.length} |`;
    }),
  ].join('\n');
  writeFileSafe(
    path.join(o.out, 'results.md'),
    `Fashion-MNIST, ${o.labeled} labels per class, ${o.steps} steps, seeds ${o.seeds.join(', ')}\n\n${table}\n`,
  );
  await saveBars(
    path.join(o.out, 'accuracy.png'),
    o.methods.map((m) => ({ name: m, values: results.filter((r) => r.method === m).map((r) => r.testAccuracy) })),
    {
      title: 'test accuracy (bars: mean over seeds, dots: seeds)',
      yTitle: 'test accuracy',
    },
  );
  const curves = o.methods.flatMap((m) =>
    o.seeds.map((s) => {
      const rows = Metrics.read(path.join(o.out, `${m}_seed${s}`, 'metrics.jsonl'));
      return { name: `${m}/${s}`, x: rows.map((r) => r.step), y: rows.map((r) => r.valAccuracy) };
    }),
  );
  await saveLines(path.join(o.out, 'curves.png'), curves, {
    title: 'validation accuracy (method/seed)',
    xTitle: 'step',
    yTitle: 'accuracy',
  });
  return results;
}

export function semisupCli() {
  const d = SEMISUP_DEFAULTS;
  return program('semisup', 'Semi-supervised Fashion-MNIST: supervised vs VAT vs ALR over seeds', 'out/semisup')
    .option('--data <dir>', 'folder with the Fashion-MNIST IDX files', d.data)
    .option('--methods <list>', `comma-separated subset of ${METHODS.join(',')}`, d.methods.join(','))
    .option('--seeds <list>', 'comma-separated training seeds', '0')
    .option('--labeled <n>', 'labelled images per class', (v) => intArg('--labeled', v, 1), d.labeled)
    .option('--val-per-class <n>', 'validation images per class', (v) => intArg('--val-per-class', v, 1), d.valPerClass)
    .option('--steps <n>', 'training steps per run', (v) => intArg('--steps', v, 1), d.steps)
    .option('--labeled-batch <n>', 'labelled batch (paper 32)', (v) => intArg('--labeled-batch', v, 1), d.labeledBatch)
    .option(
      '--unlabeled-batch <n>',
      'unlabelled batch (paper 128)',
      (v) => intArg('--unlabeled-batch', v, 1),
      d.unlabeledBatch,
    )
    .option('--lr <x>', 'Adam lr, constant (paper 3e-4 for 200k steps)', (v) => numArg('--lr', v, NONNEG_ARG), d.lr)
    .option('--entropy-weight <x>', 'λ_em of the entropy term', (v) => numArg('--entropy-weight', v), d.entropyWeight)
    .option('--lambda <x>', "override the presets' λ (1)", (v) => numArg('--lambda', v, NONNEG_ARG))
    .option('--every <n>', 'validation + checkpoint every n steps', (v) => intArg('--every', v, 1), d.every)
    .option('--resume', 'continue unfinished runs from their checkpoints and reuse finished ones', false);
}

export function semisupOptions(opts: Record<string, unknown>): SemisupOptions {
  const methods = String(opts.methods)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const m of methods)
    if (!METHODS.includes(m as Method))
      throw new Error(`--methods: unknown method '${m}'; expected ${METHODS.join(', ')}`);
  const seeds = String(opts.seeds)
    .split(',')
    .map((s) => intArg('--seeds', s.trim(), 0));
  const o = {
    ...SEMISUP_DEFAULTS,
    ...(opts as Partial<SemisupOptions>),
    methods: methods as Method[],
    seeds,
  } as SemisupOptions;
  if (opts.lambda === undefined) delete o.lambda;
  if (opts.quick)
    Object.assign(o, {
      steps: Math.min(o.steps, 4),
      every: 2,
      labeled: Math.min(o.labeled, 4),
      valPerClass: Math.min(o.valPerClass, 2),
      labeledBatch: Math.min(o.labeledBatch, 8),
      unlabeledBatch: Math.min(o.unlabeledBatch, 8),
    });
  return o;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cli = semisupCli().parse();
  await main(async () => {
    const o = semisupOptions(cli.opts());
    await runSemisup(o);
    console.log(fs.readFileSync(path.join(o.out, 'results.md'), 'utf8'));
  });
}
