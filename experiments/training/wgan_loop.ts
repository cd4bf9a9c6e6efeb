// The outer loop every WGAN experiment shares: resume from the checkpoint, run iterations (one
// submit each), and every `every` iterations read the logged scalars back, stop on a non-finite
// one, evaluate, write a metrics row and checkpoint. The script supplies what differs: the
// iteration itself, the evaluation, and the host state (data sampler) to checkpoint.
import fs from 'node:fs';
import path from 'node:path';
import * as E from '../../engine/index.js';
import { loadCheckpoint, saveCheckpoint, type Module } from '../../nn/index.js';
import { criticGanLoss, Monitor, type GanLoss } from '../../alr/index.js';
import { metadataJson, resumeStep, stopIfNonFinite } from './guard.js';
import { Metrics, Progress } from './run.js';

export interface EvaluationContext {
  /** this row's iteration (iterations count from 1) */
  iter: number;
  /** the mean of each logged scalar over the iterations since the last row (absent: NaN) */
  mean: (key: string) => number;
  /** seconds since the loop started */
  seconds: number;
  /** the run's last iteration */
  last: boolean;
  /** the checkpoint this row will write (for error messages) */
  checkpoint: string;
}

/** What runWganLoop needs from a script: its modules, optimisers, one iteration and an evaluation. */
export interface WganLoop {
  /** script name, for messages */
  name: string;
  /** the run's folder: metrics.jsonl and checkpoint.safetensors are written here */
  out: string;
  /** iterations in all (a resumed run continues up to this count) */
  iters: number;
  /** evaluate, write a metrics row and checkpoint every this many iterations (and after the last) */
  every: number;
  /** continue from out/checkpoint.safetensors where it exists */
  resume: boolean;
  /** a progress bar (or, off a terminal, a log line every 10 s) */
  progress: boolean;
  /** the progress bar's label */
  label: string;
  /** checkpointed modules: G, D and any others (an EMA of G) */
  modules: { G: Module; D: Module } & Record<string, Module>;
  optimizers: { G: E.Adam; D: E.Adam };
  /** host-side state saved with each checkpoint and restored on resume (sampler, batcher) */
  hostState: { key: string; get: () => unknown; set: (v: unknown) => void };
  /** the run's options, recorded in the checkpoint */
  options: object;
  /** one iteration's GPU work (iteration index from 0); returns the scalars to log for it */
  iteration: (iter: number) => Record<string, E.Tensor>;
  /** the metrics row of an evaluation (NaN entries are dropped); may write pictures */
  evaluate: (ctx: EvaluationContext) => Promise<Record<string, number>>;
  /** the progress bar's text after an evaluation */
  progressText: (row: Record<string, number>) => string;
}

export interface WganLoopResult {
  lastRow: Record<string, number>;
  wallSeconds: number;
  /** iterations this process ran (fewer than iters after a resume) */
  itersRun: number;
  /** every metrics row of the run, resumed parts included */
  rows: Record<string, number>[];
}

/**
 * The unregularised critic loss (none, clip, SN) and its logged scalars: mean D(fake) − mean D(real)
 * for 'wgan', or another GAN loss (`kind`); `wasserstein` is mean D(real) − mean D(fake) either way.
 */
export function plainCriticLoss(
  critic: { forward(x: E.Tensor): E.Tensor },
  real: E.Tensor,
  fake: E.Tensor,
  kind: GanLoss = 'wgan',
): { loss: E.Tensor; mon: Record<string, E.Tensor> } {
  // D(real) first: spectral norm's power iteration and batch norm see the calls in this order
  const dReal = critic.forward(real);
  const dFake = critic.forward(fake);
  const loss = criticGanLoss(kind, dReal, dFake);
  const wasserstein =
    kind === 'wgan'
      ? E.noGrad(() => E.neg(loss))
      : E.noGrad(() => E.sub(E.mean(E.detach(dReal)), E.mean(E.detach(dFake))));
  return { loss, mon: { wasserstein, criticLoss: E.detach(loss) } };
}

/**
 * Runs iterations [start, iters) of a WGAN: start is 0, or the checkpoint's step when resuming
 * (modules, optimisers and host state restored, metrics rows after it dropped). Each iteration is
 * one submit; every `every` iterations the logged scalars are read back, a non-finite one stops
 * the run with an error naming it, then evaluate() gives the metrics row and a checkpoint is saved.
 */
export async function runWganLoop(p: WganLoop): Promise<WganLoopResult> {
  const ckpt = path.join(p.out, 'checkpoint.safetensors');
  let start = 0;
  if (p.resume && fs.existsSync(ckpt)) {
    const { step, metadata } = await loadCheckpoint(ckpt, { modules: p.modules, optimizers: p.optimizers });
    start = resumeStep(step, p.iters, ckpt);
    p.hostState.set(metadataJson(metadata, p.hostState.key, ckpt));
    console.error(`resumed from ${ckpt} at iteration ${start}`);
  }
  const metrics = new Metrics(path.join(p.out, 'metrics.jsonl'), p.resume ? start : undefined);
  const monitor = new Monitor(1_000_000);
  const progress = new Progress(p.iters, p.progress, p.label);
  const t0 = performance.now();
  let lastRow: Record<string, number> = {};
  let itersRun = 0;
  try {
    for (let iter = start; iter < p.iters; iter++) {
      const mon = p.iteration(iter);
      monitor.push(mon, iter + 1); // copied into the GPU log; rows count iterations from 1
      E.dispose(mon);
      await E.endStep(); // one submit per iteration; lets Dawn recycle finished work
      itersRun++;
      const last = iter + 1 === p.iters;
      if ((iter + 1) % p.every !== 0 && !last) {
        progress.update(iter + 1);
        continue;
      }
      const logged = await monitor.flush();
      stopIfNonFinite(p.name, logged, iter + 1, ckpt);
      const mean = (key: string) => {
        const v = logged.map((r) => r[key]).filter((x) => x !== undefined);
        return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
      };
      const row = await p.evaluate({
        iter: iter + 1,
        mean,
        seconds: (performance.now() - t0) / 1000,
        last,
        checkpoint: ckpt,
      });
      for (const [key, v] of Object.entries(row)) if (Number.isNaN(v)) delete row[key]; // means of absent monitors
      metrics.write(row);
      lastRow = row;
      await saveCheckpoint(ckpt, {
        modules: p.modules,
        optimizers: p.optimizers,
        step: iter + 1,
        metadata: { [p.hostState.key]: JSON.stringify(p.hostState.get()), options: JSON.stringify(p.options) },
      });
      progress.update(iter + 1, p.progressText(row));
    }
  } finally {
    progress.stop();
    metrics.close();
    monitor.dispose();
  }
  return { lastRow, wallSeconds: (performance.now() - t0) / 1000, itersRun, rows: Metrics.read(metrics.file) };
}
