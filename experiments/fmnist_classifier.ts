// A small Fashion-MNIST classifier trained with this engine: the feature extractor of the
// classifier-based cFID / cIS (image_metrics.ts). The recipe is this script; the weights are
// cached in --out (classifier.safetensors + classifier.json) and reused unless --retrain.
//
//   npx tsx experiments/fmnist_classifier.ts --out out/fmnist_classifier
//
// Writes: classifier.safetensors, classifier.json (architecture + accuracies), metrics.jsonl,
// curves.png, checkpoint.safetensors (resumable with --resume), summary.json.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as E from '../engine/index.js';
import { Monitor } from '../alr/index.js';
import { Adam } from '../engine/index.js';
import {
  ConvClassifier,
  loadCheckpoint,
  saveCheckpoint,
  type ConvClassifierOptions,
  type Module,
} from '../nn/index.js';
import { saveLines } from './common/plot.js';
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
import { Batcher, oneHot, toFloat, type BatcherState } from './training/data/batches.js';
import { FASHION_MNIST_DIR, loadFashionMnist, subset, type ImageSet } from './training/data/images.js';

/** The architecture used for cFID / cIS: ConvLarge's shape, narrow, one conv per stage. */
export const METRIC_CLASSIFIER: ConvClassifierOptions = {
  inChannels: 1,
  numClasses: 10,
  widths: [32, 48, 64],
  convsPerStage: 1,
  dropout: 0.1,
};

/** Negative log-likelihood of one-hot targets from logits, averaged over the batch. */
export function nllLoss(logits: E.Tensor, target: E.Tensor): E.Tensor {
  return E.neg(E.mean(E.sum(E.mul(E.logSoftmax(logits, -1), target), -1)));
}

export function setTraining(m: Module, on: boolean): void {
  for (const [, x] of m.namedModules()) x.training = on;
}

/** Accuracy of a classifier (eval mode) on a whole image set; one readback per chunk. */
export async function accuracy(clf: Module, set: ImageSet, chunk = 250): Promise<number> {
  setTraining(clf, false);
  let correct = 0;
  try {
    for (let off = 0; off < set.n; off += chunk) {
      const b = Math.min(chunk, set.n - off);
      const idx = Array.from({ length: b }, (_, i) => off + i);
      const logits = E.tidy(() =>
        E.noGrad(() => clf.forward(E.tensor(toFloat(set, idx, null), [b, set.c, set.h, set.w]))),
      );
      const v = await logits.toFloat32();
      logits.dispose();
      const k = v.length / b;
      for (let i = 0; i < b; i++) {
        let best = 0;
        for (let j = 1; j < k; j++) if (v[i * k + j] > v[i * k + best]) best = j;
        if (best === set.labels[off + i]) correct++;
      }
    }
  } finally {
    setTraining(clf, true);
  }
  return correct / set.n;
}

/** Splits a set into train / validation by class-balanced random choice of `valPerClass` per class. */
export function splitValidation(set: ImageSet, valPerClass: number, seed: number): { train: ImageSet; val: ImageSet } {
  const rng = new E.HostRng(seed);
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  rng.shuffle([...Array(set.n).keys()]).forEach((i) => byClass[set.labels[i]].push(i));
  const val = byClass.flatMap((c) => c.slice(0, valPerClass));
  const isVal = new Set(val);
  const train = [...Array(set.n).keys()].filter((i) => !isVal.has(i));
  return {
    train: subset(set, train),
    val: subset(
      set,
      val.sort((a, b) => a - b),
    ),
  };
}

/** Builds the classifier described by <dir>/classifier.json and loads <dir>/classifier.safetensors (eval use). */
export async function loadClassifier(dir: string): Promise<ConvClassifier> {
  const cfgFile = path.join(dir, 'classifier.json');
  const wFile = path.join(dir, 'classifier.safetensors');
  if (!fs.existsSync(cfgFile) || !fs.existsSync(wFile)) {
    throw new Error(
      `loadClassifier: ${dir} has no classifier.json / classifier.safetensors; train one with experiments/fmnist_classifier.ts --out ${dir}`,
    );
  }
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as { arch: ConvClassifierOptions };
  const clf = new ConvClassifier(cfg.arch);
  await loadCheckpoint(wFile, { modules: clf, rng: false });
  setTraining(clf, false);
  return clf;
}

export interface ClassifierOptions {
  data: string;
  steps: number;
  batch: number;
  lr: number;
  valPerClass: number;
  /** limit the training set (0 = all) */
  limit: number;
  every: number;
  retrain: boolean;
  seed: number;
  out: string;
  resume: boolean;
  progress: boolean;
}

export const CLASSIFIER_DEFAULTS: Omit<ClassifierOptions, 'out'> = {
  data: FASHION_MNIST_DIR,
  steps: 1500,
  batch: 64,
  lr: 2e-3,
  valPerClass: 200,
  limit: 0,
  every: 250,
  retrain: false,
  seed: 0,
  resume: false,
  progress: true,
};

export interface ClassifierSummary {
  arch: ConvClassifierOptions;
  steps: number;
  valAccuracy: number;
  testAccuracy: number;
  wallSeconds: number;
  cached: boolean;
}

export async function runClassifier(o: ClassifierOptions): Promise<ClassifierSummary> {
  ensureDir(o.out);
  writeConfig(o.out, o);
  const cfgFile = path.join(o.out, 'classifier.json');
  if (!o.retrain && fs.existsSync(cfgFile) && fs.existsSync(path.join(o.out, 'classifier.safetensors'))) {
    const s = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as ClassifierSummary;
    return { ...s, cached: true };
  }
  E.manualSeed(o.seed);
  const t0 = performance.now();
  const all = loadFashionMnist(o.data, 'train');
  const test = loadFashionMnist(o.data, 'test');
  const split = splitValidation(all, Math.min(o.valPerClass, Math.floor(all.n / 20)), o.seed + 3);
  const train = o.limit > 0 ? subset(split.train, [...Array(Math.min(o.limit, split.train.n)).keys()]) : split.train;
  const batcher = new Batcher(train, { batch: o.batch, seed: o.seed + 1 });
  const clf = new ConvClassifier(METRIC_CLASSIFIER);
  const opt = new Adam(clf.parameters(), { lr: o.lr });
  const ckpt = path.join(o.out, 'checkpoint.safetensors');
  let start = 0;
  if (o.resume && fs.existsSync(ckpt)) {
    const r = await loadCheckpoint(ckpt, { modules: { C: clf }, optimizers: { C: opt } });
    start = resumeStep(r.step, o.steps, ckpt);
    batcher.setState(metadataJson<BatcherState>(r.metadata, 'batcher', ckpt));
    console.error(`resumed from ${ckpt} at step ${start}`);
  }
  const metrics = new Metrics(path.join(o.out, 'metrics.jsonl'), o.resume ? start : undefined);
  const progress = new Progress(o.steps, o.progress, 'classifier');
  const monitor = new Monitor(o.every);
  let valAccuracy = NaN;
  for (let step = start; step < o.steps; step++) {
    opt.lr = o.lr * 0.5 * (1 + Math.cos((Math.PI * step) / o.steps)); // cosine decay
    const loss = E.tidy(() => {
      const b = batcher.next();
      const l = nllLoss(clf.forward(b.x), oneHot(b.labels));
      opt.step(E.grad(l, clf.parameters()));
      return E.detach(l);
    });
    monitor.push({ trainLoss: loss }, step + 1);
    loss.dispose();
    await E.endStep(); // submit, bound the queue, let Dawn recycle finished work
    if ((step + 1) % o.every === 0 || step + 1 === o.steps) {
      const rows = await monitor.flush();
      stopIfNonFinite('fmnist_classifier', rows, step + 1, ckpt);
      const trainLoss = rows.reduce((a, r) => a + r.trainLoss, 0) / rows.length;
      valAccuracy = await accuracy(clf, split.val);
      const row = { step: step + 1, seconds: (performance.now() - t0) / 1000, trainLoss, valAccuracy };
      metrics.write(row);
      progress.update(step + 1, `loss=${trainLoss.toFixed(3)} val=${(100 * valAccuracy).toFixed(1)}%`);
      await saveCheckpoint(ckpt, {
        modules: { C: clf },
        optimizers: { C: opt },
        step: step + 1,
        metadata: { batcher: JSON.stringify(batcher.state()) },
      });
    } else progress.update(step + 1);
  }
  progress.stop();
  metrics.close();
  if (Number.isNaN(valAccuracy)) valAccuracy = await accuracy(clf, split.val);
  const testAccuracy = await accuracy(clf, test);
  await saveCheckpoint(path.join(o.out, 'classifier.safetensors'), { modules: clf, rng: false });
  const rows = Metrics.read(metrics.file);
  await saveLines(
    path.join(o.out, 'curves.png'),
    [
      { name: 'training loss', x: rows.map((r) => r.step), y: rows.map((r) => r.trainLoss) },
      { name: 'validation accuracy', x: rows.map((r) => r.step), y: rows.map((r) => r.valAccuracy) },
    ],
    { title: 'Fashion-MNIST metric classifier', xTitle: 'step', yTitle: 'loss / accuracy' },
  );
  const summary: ClassifierSummary = {
    arch: METRIC_CLASSIFIER,
    steps: o.steps,
    valAccuracy,
    testAccuracy,
    wallSeconds: (performance.now() - t0) / 1000,
    cached: false,
  };
  writeJson(cfgFile, summary);
  writeJson(path.join(o.out, 'summary.json'), summary);
  clf.dispose();
  opt.dispose();
  return summary;
}

export function classifierCli() {
  const d = CLASSIFIER_DEFAULTS;
  return program(
    'fmnist_classifier',
    'Trains (once) the Fashion-MNIST classifier behind cFID / cIS',
    'out/fmnist_classifier',
  )
    .option('--data <dir>', 'folder with the Fashion-MNIST IDX files', d.data)
    .option('--steps <n>', 'training steps', (v) => intArg('--steps', v, 1), d.steps)
    .option('--batch <n>', 'batch size', (v) => intArg('--batch', v, 1), d.batch)
    .option('--lr <x>', 'Adam lr (cosine decay to 0)', (v) => numArg('--lr', v, NONNEG_ARG), d.lr)
    .option(
      '--val-per-class <n>',
      'validation images per class held out of train',
      (v) => intArg('--val-per-class', v, 1),
      d.valPerClass,
    )
    .option('--limit <n>', 'use only the first n training images (0 = all)', (v) => intArg('--limit', v, 0), d.limit)
    .option('--every <n>', 'validation + checkpoint every n steps', (v) => intArg('--every', v, 1), d.every)
    .option('--retrain', 'train even if <out>/classifier.safetensors exists', false)
    .option('--resume', 'continue from <out>/checkpoint.safetensors if present', false);
}

export function classifierOptions(opts: Record<string, unknown>): ClassifierOptions {
  const o = { ...CLASSIFIER_DEFAULTS, ...(opts as Partial<ClassifierOptions>) } as ClassifierOptions;
  if (opts.quick)
    Object.assign(o, {
      steps: Math.min(o.steps, 4),
      every: 2,
      batch: Math.min(o.batch, 16),
      valPerClass: Math.min(o.valPerClass, 2),
    });
  return o;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cli = classifierCli().parse();
  await main(async () => {
    const s = await runClassifier(classifierOptions(cli.opts()));
    console.log(
      `${s.cached ? 'cached' : 'trained'} classifier: validation ${(100 * s.valAccuracy).toFixed(2)}%, test ${(100 * s.testAccuracy).toFixed(2)}% (${s.wallSeconds.toFixed(1)} s)`,
    );
  });
}
